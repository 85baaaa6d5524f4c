import type { Server, Socket } from "socket.io";
import { DRAIN_EVENT, DRAIN_PROTOCOL_VERSION, type DrainNotice } from "./protocol.js";
import { booleanOption, checkOptions, describeValue, fail, numberOption } from "./validate.js";

/** Options of {@link drainServer}. Durations in ms. */
export interface DrainOptions {
  /** Width of the window the clients spread their return over: a finite number >= 0. */
  windowMs: number;
  /**
   * How long after receiving the notice a client may come back at the earliest (the expected
   * downtime, for a restart).
   * @default graceMs (as soon as its connection is closed)
   */
  reconnectAfterMs?: number;
  /** Time between the notice and the close, so that the notice is delivered first. @default 100 */
  graceMs?: number;
  /**
   * Assign each connection its own moment: the i-th of n gets `slot = floor(i * windowMs / n)`,
   * spreading them evenly over the window, instead of each drawing one at random. Even slots
   * keep every second of the window at the same load, random moments do not (bench:drain: with
   * admission control, 1.00× its rate against 2.09×); `false` for clients that should pick.
   * @default true
   */
  slots?: boolean;
  /** Free text sent in the notice (e.g. "deploy 2.4.1"), for the clients' logs. */
  reason?: string;
  /** After every connection is closed, close the server too (`io.close()`). @default false */
  close?: boolean;
  /**
   * A connection whose transport has not closed this long after the close began (its send
   * buffer does not drain: a dead or stalled client) is closed with its buffer discarded.
   * @default 5000
   */
  forceAfterMs?: number;
}

/** What {@link drainServer} resolves with. */
export interface DrainResult {
  /** Sockets sent the notice (one per namespace a connection has joined), late arrivals included. */
  notified: number;
  /** Engine.IO connections closed. */
  connections: number;
}

type AnyServer = Server<any, any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- any event maps: a typed server is accepted too
type AnySocket = Socket<any, any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- as above
type Connection = AnySocket["conn"];

const WHERE = "drainServer";
const KNOWN = ["windowMs", "reconnectAfterMs", "graceMs", "slots", "reason", "close", "forceAfterMs"] as const;

interface Settings {
  windowMs: number;
  reconnectAfter: number;
  graceMs: number;
  slots: boolean;
  reason: string | undefined;
  close: boolean;
  forceAfterMs: number;
}

function readOptions(options: DrainOptions): Settings {
  const given = checkOptions(WHERE, options, KNOWN);
  const atLeastZero = (value: number) => value >= 0;
  const rule = "a finite number >= 0";
  const windowMs = numberOption(WHERE, "windowMs", given.windowMs, rule, atLeastZero);
  const graceMs = numberOption(WHERE, "graceMs", given.graceMs, rule, atLeastZero, 100);
  const reconnectAfter = numberOption(WHERE, "reconnectAfterMs", given.reconnectAfterMs, rule, atLeastZero, graceMs);
  const forceAfterMs = numberOption(WHERE, "forceAfterMs", given.forceAfterMs, rule, atLeastZero, 5000);
  if (given.reason !== undefined && typeof given.reason !== "string") fail(WHERE, "reason", "a string", given.reason);
  return {
    windowMs,
    reconnectAfter,
    graceMs,
    slots: booleanOption(WHERE, "slots", given.slots, true),
    reason: given.reason as string | undefined,
    close: booleanOption(WHERE, "close", given.close, false),
    forceAfterMs,
  };
}

function isServer(io: unknown): io is AnyServer {
  return typeof io === "object" && io !== null && (io as { _nsps?: unknown })._nsps instanceof Map;
}

/**
 * Prepares a planned restart: tells every connected client when and over what window to come
 * back (the {@link DRAIN_EVENT} notice), then, `graceMs` later, closes every connection so that
 * each Socket.IO session stays recoverable under Connection State Recovery: the Engine.IO
 * connection is closed (`socket.conn.close()`), which Socket.IO records as the disconnect
 * reason `"forced close"`, one of those that store the session (a namespace disconnect,
 * `socket.disconnect()`, would discard it and tell socket.io-client not to reconnect).
 *
 * Sockets that connect while the drain runs get the notice too (without a slot) and are
 * closed `graceMs` later. Clients that do not know the notice see an ordinary transport close
 * and reconnect on their own.
 *
 * @returns a Promise that resolves once every connection is closed (and, with `close: true`,
 *   the server too).
 * @example
 * process.on("SIGTERM", async () => {
 *   await drainServer(io, { reconnectAfterMs: 5_000, windowMs: 30_000, close: true });
 *   process.exit(0);
 * });
 * @throws TypeError naming the option and the value, for an unknown option or a bad value, or
 *   when `io` is not a Socket.IO v4 server.
 */
export function drainServer(io: AnyServer, options: DrainOptions): Promise<DrainResult> {
  if (!isServer(io)) throw new TypeError(`${WHERE}: io must be a Socket.IO v4 Server, got ${describeValue(io)}`);
  const settings = readOptions(options);
  return new Drain(io, settings).run();
}

/** One drain: the notices, the closes and what is still open. */
class Drain {
  readonly #io: AnyServer;
  readonly #settings: Settings;
  /** Connections not yet seen closed, with their force-close timer once the close began. */
  readonly #open = new Map<Connection, ReturnType<typeof setTimeout> | null>();
  readonly #closed = new Set<Connection>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #namespaces: { nsp: ReturnType<AnyServer["of"]>; listener: (socket: AnySocket) => void }[] = [];
  #notified = 0;
  #done: (() => void) | null = null;

  constructor(io: AnyServer, settings: Settings) {
    this.#io = io;
    this.#settings = settings;
  }

  async run(): Promise<DrainResult> {
    const byConnection = new Map<Connection, AnySocket[]>();
    for (const nsp of this.#io._nsps.values()) {
      for (const socket of nsp.sockets.values()) {
        const sockets = byConnection.get(socket.conn) ?? [];
        sockets.push(socket);
        byConnection.set(socket.conn, sockets);
      }
    }
    const finished = new Promise<void>((resolve) => {
      this.#done = resolve;
    });
    const count = byConnection.size;
    let index = 0;
    for (const [connection, sockets] of byConnection) {
      const slot = this.#settings.slots ? (count === 0 ? 0 : Math.floor((index * this.#settings.windowMs) / count)) : undefined;
      this.#notify(connection, sockets, slot);
      index += 1;
    }
    for (const nsp of this.#io._nsps.values()) {
      const listener = (socket: AnySocket) => this.#admitLate(socket);
      nsp.on("connection", listener);
      this.#namespaces.push({ nsp, listener });
    }
    this.#later(this.#settings.graceMs, () => {
      for (const connection of byConnection.keys()) this.#close(connection);
    });
    this.#settleIfDone();
    await finished;
    for (const { nsp, listener } of this.#namespaces) nsp.off("connection", listener);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#settings.close) await new Promise<void>((resolve) => void this.#io.close(() => resolve()));
    return { notified: this.#notified, connections: this.#closed.size };
  }

  #notify(connection: Connection, sockets: AnySocket[], slot: number | undefined): void {
    const notice: DrainNotice = {
      version: DRAIN_PROTOCOL_VERSION,
      reconnectAfter: this.#settings.reconnectAfter,
      windowMs: this.#settings.windowMs,
    };
    if (slot !== undefined) notice.slot = slot;
    if (this.#settings.reason !== undefined) notice.reason = this.#settings.reason;
    if (!this.#open.has(connection) && !this.#closed.has(connection)) {
      this.#open.set(connection, null);
      connection.once("close", () => this.#onClosed(connection));
    }
    for (const socket of sockets) {
      socket.emit(DRAIN_EVENT, notice);
      this.#notified += 1;
    }
  }

  #admitLate(socket: AnySocket): void {
    if (this.#done === null) return;
    const known = this.#open.has(socket.conn) || this.#closed.has(socket.conn);
    this.#notify(socket.conn, [socket], undefined);
    if (!known) this.#later(this.#settings.graceMs, () => this.#close(socket.conn));
  }

  /** Closes the transport once what is queued on it (the notice) is flushed; forced later if it never is. */
  #close(connection: Connection): void {
    if (!this.#open.has(connection) || this.#open.get(connection) !== null) return;
    this.#open.set(
      connection,
      this.#later(this.#settings.forceAfterMs, () => connection.close(true)),
    );
    connection.close();
  }

  #onClosed(connection: Connection): void {
    const timer = this.#open.get(connection);
    if (timer !== undefined && timer !== null) {
      clearTimeout(timer);
      this.#timers.delete(timer);
    }
    this.#open.delete(connection);
    this.#closed.add(connection);
    this.#settleIfDone();
  }

  #settleIfDone(): void {
    if (this.#open.size > 0 || this.#done === null) return;
    const done = this.#done;
    this.#done = null;
    done();
  }

  #later(ms: number, action: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      action();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }
}
