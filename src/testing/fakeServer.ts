import type { Socket } from "socket.io-client";
import { DRAIN_EVENT, type SocketFactory, type SocketIoOptions } from "../machine/socketActor.js";
import type { Clock } from "../services/WebSocketService.js";

/** Why a connection ends, in Socket.IO's words (the `disconnect` reason the client sees). */
export type FakeDropReason = "transport close" | "transport error" | "io server disconnect" | "ping timeout" | (string & {});

/** How the fake server answers handshakes: see {@link FakeServer.answerHandshakes}. */
export type HandshakePolicy = "accept" | "hold" | "unreachable" | { refuse: string; data?: unknown };

/**
 * A server-side event listener: the client's arguments, then an ack function when the client
 * asked for one. Typed loosely, as Socket.IO's own `socket.on` is.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FakeServerListener = (...args: any[]) => void;

/** One connection as the server sees it (a copy: reading it changes nothing). */
export interface FakeConnection {
  /** The socket id, once the handshake was accepted. */
  id: string | null;
  /** The handshake `auth` payload (the token is in `auth.token` when the app uses one). */
  auth: Record<string, unknown>;
  /** `waiting`: handshake held (see `"hold"`); `refused`: answered with an error; `closed`: ended. */
  state: "waiting" | "connected" | "refused" | "closed";
  /** The server restored the previous session (with `recovery: true`). */
  recovered: boolean;
  /** The link went silent (`goSilent()`): nothing crosses it any more, either way. */
  silent: boolean;
  /**
   * Why it ended, as the client saw it: `"io client disconnect"` (a goodbye), `"forced close"`
   * (the client dropped its transport), a {@link FakeDropReason}, or the refusal's message.
   */
  closeReason: string | null;
}

/** A client emit the server received. */
export interface ReceivedEmit {
  event: string;
  /** The arguments as they crossed the wire (a decoded copy, as a real server gets them). */
  args: unknown[];
  /** The id of the socket it came on. */
  socketId: string;
  /** Acks it, when the client asked for an ack and nobody acked it yet; `null` otherwise. */
  ack: ((...response: unknown[]) => void) | null;
}

/** Options of {@link createFakeServer}. */
export interface FakeServerOptions {
  /**
   * The timers of the fake (Engine.IO pings, `latency`, ack timeouts of `socketOptions.ackTimeout`):
   * give it the service's clock, e.g. a {@link TestClock}. Without one there are no pings and
   * no latency, and ack timeouts use the global `setTimeout`.
   * @default undefined
   */
  clock?: Clock;
  /** Ms between a client emit and its ack arriving (heartbeats too: the latency the service measures). Needs `clock`. @default 0 */
  latency?: number;
  /**
   * Engine.IO's ping cadence and the client's patience (Socket.IO server defaults). With a
   * `clock`, the server pings every connection, and a client that hears no ping for
   * `pingInterval + pingTimeout` drops it with `"ping timeout"` (a silent link, for one).
   * @default { pingInterval: 25000, pingTimeout: 20000 }
   */
  engine?: { pingInterval: number; pingTimeout: number };
  /**
   * Connection State Recovery: a session lost without a goodbye (a drop, not `disconnect()`
   * nor `"io server disconnect"`) is restored by the next handshake that offers it, with the
   * events pushed meanwhile. @default false
   */
  recovery?: boolean;
}

/**
 * A Socket.IO server that lives in the test: hand its `socketFactory` to
 * `createWebSocketService` and play the server's part. No network, no real timers.
 *
 * It answers at once, inside the call that caused it: `service.connect()` returns connected,
 * and a `server.drop()` has been seen by the service when it returns. Only a token provider
 * (asked before each handshake) makes the service itself wait for a microtask.
 */
export interface FakeServer {
  /** Pass it to `createWebSocketService({ url, socketFactory })`. */
  readonly socketFactory: SocketFactory;
  /**
   * How every handshake from now on is answered: `"accept"` (default); `"hold"` (no answer
   * until {@link accept} or {@link refuse}: a slow or hung server); `"unreachable"` (fails
   * at once with `"xhr poll error"` and never reaches the server); `{ refuse, data }` (a
   * middleware's `next(err)`, with `err.data`).
   */
  answerHandshakes(policy: HandshakePolicy): void;
  /**
   * Refuses the next handshake only, whatever the policy: `message` is the error's message,
   * `data` its `data` (e.g. `{ retryAfter: 5000 }`, or an auth code).
   */
  refuseNext(message: string, data?: unknown): void;
  /** Accepts the oldest held handshake. @throws when none is held */
  accept(): void;
  /** Refuses the oldest held handshake. @throws when none is held */
  refuse(message: string, data?: unknown): void;
  /**
   * Ends every connection (held handshakes too) with `reason`, as the client would see it:
   * `"transport close"` (default), `"io server disconnect"`, `"ping timeout"`, …
   */
  drop(reason?: FakeDropReason): void;
  /**
   * The links open now go silent (packets lost, no FIN): no acks, no pushes, no pings, and
   * what the client emits never arrives. The client notices only through its own timeouts.
   * New handshakes are answered as usual.
   */
  goSilent(): void;
  /** Sends `event` to every connected client (kept for a lost session with `recovery`). */
  push(event: string, ...args: unknown[]): void;
  /**
   * Announces a planned restart to every connected client, as `drainServer` does: the
   * `softphone:drain` notice (`version: 1`), come back `reconnectAfter` ms from now at a moment
   * in the `windowMs` after it, or at exactly `reconnectAfter + slot`. The links stay open:
   * close them with {@link drop} (a real drain closes them with `"transport close"`).
   * @example server.drain({ reconnectAfter: 2000, windowMs: 10_000 }); server.drop();
   */
  drain(notice: { reconnectAfter: number; windowMs: number; slot?: number }): void;
  /**
   * Handles a client event, as `socket.on(event, listener)` on a real server: the listener
   * gets the arguments, then an ack function when the client asked for one. Leaving it
   * uncalled ignores the emit. `heartbeat` is acked by default; `off("heartbeat")` makes a
   * server that does not ack it.
   * @example server.on("lookup", (id, ack) => ack({ id, name: "Ada" }))
   */
  on(event: string, listener: FakeServerListener): void;
  /** Removes the listener of `event`: its emits are received and left unanswered. */
  off(event: string): void;
  /** Handshakes that reached the server (accepted, refused or held). */
  readonly handshakes: number;
  /** Connections open now (connected or held), as seen by the clients. */
  readonly openSockets: number;
  /** Every connection so far, oldest first. */
  readonly connections: readonly FakeConnection[];
  /** Every client emit the server received, oldest first (heartbeats included). */
  readonly received: readonly ReceivedEmit[];
}

type Listener = (...args: unknown[]) => void;
type AckCallback = ((...args: unknown[]) => void) & { withError?: boolean };

/** Socket.IO refuses to emit these. */
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

const DEFAULT_ENGINE = { pingInterval: 25_000, pingTimeout: 20_000 };

function isBinary(value: unknown): value is ArrayBuffer | ArrayBufferView {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/** %TypedArray%.prototype.slice: a copy of the same kind (a Buffer stays a Buffer). */
const sliceTypedArray = Object.getPrototypeOf(Uint8Array.prototype).slice as (this: ArrayBufferView) => ArrayBufferView;

function copyBinary(value: ArrayBuffer | ArrayBufferView): ArrayBuffer | ArrayBufferView {
  if (value instanceof ArrayBuffer) return value.slice(0);
  if (value instanceof DataView) return new DataView(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  return sliceTypedArray.call(value);
}

/**
 * The arguments as they come out of the other end: encoded as Socket.IO's parser does (JSON,
 * binary kept apart), then decoded. Throws where the parser throws (a BigInt, a cycle).
 */
function transmit(args: unknown[]): unknown[] {
  const binaries: unknown[] = [];
  const text = JSON.stringify(args, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    if (isBinary(raw)) {
      binaries.push(copyBinary(raw));
      return { _placeholder: true, num: binaries.length - 1 };
    }
    return value;
  });
  return JSON.parse(text, (_key, value: unknown) => {
    const placeholder = value as { _placeholder?: unknown; num?: unknown } | null;
    return placeholder && typeof placeholder === "object" && placeholder._placeholder === true && typeof placeholder.num === "number"
      ? binaries[placeholder.num]
      : value;
  }) as unknown[];
}

/** The default `heartbeat` handler: acks with no arguments. */
function ackAtOnce(...args: unknown[]): void {
  const ack = args.at(-1);
  if (typeof ack === "function") (ack as () => void)();
}

/** Listener lists by event, as component-emitter keeps them (duplicates allowed). */
class Listeners {
  readonly #byEvent = new Map<string, Listener[]>();
  on(event: string, listener: Listener): void {
    this.#byEvent.set(event, [...(this.#byEvent.get(event) ?? []), listener]);
  }
  off(event?: string, listener?: Listener): void {
    if (event === undefined) this.#byEvent.clear();
    else if (listener === undefined) this.#byEvent.delete(event);
    else {
      const list = this.#byEvent.get(event) ?? [];
      const at = list.indexOf(listener);
      if (at !== -1) this.#byEvent.set(event, [...list.slice(0, at), ...list.slice(at + 1)]);
    }
  }
  emit(event: string, ...args: unknown[]): void {
    for (const listener of this.#byEvent.get(event) ?? []) listener(...args);
  }
}

interface Session {
  pid: string;
  /** The socket id, which a recovered session keeps. */
  sid: string;
  /** Events pushed while the session waited to be recovered. */
  missed: { event: string; args: unknown[] }[];
}

/**
 * Creates a {@link FakeServer}: the server side of Socket.IO for a service under test, and the
 * fake client sockets its `socketFactory` returns.
 *
 * @example
 * const clock = new TestClock();
 * const server = createFakeServer({ clock });
 * const service = createWebSocketService({
 *   url: "https://softphone.example",
 *   socketFactory: server.socketFactory,
 *   clock,
 *   now: () => clock.now(),
 * });
 * server.refuseNext("server busy", { retryAfter: 5000 });
 * service.connect(); // backingOff, for at least 5 s
 */
export function createFakeServer(options: FakeServerOptions = {}): FakeServer {
  const { clock, latency = 0, recovery = false } = options;
  const engine = options.engine ?? DEFAULT_ENGINE;
  if (latency > 0 && !clock) throw new TypeError("createFakeServer: latency needs a clock (the service's, e.g. a TestClock)");
  const timers: Clock = clock ?? {
    setTimeout: (fn: () => void, ms: number) => globalThis.setTimeout(fn, ms),
    clearTimeout: (id: unknown) => globalThis.clearTimeout(id as ReturnType<typeof globalThis.setTimeout>),
  };

  let policy: HandshakePolicy = "accept";
  const scripted: { message: string; data?: unknown }[] = [];
  const held: FakeClientSocket[] = [];
  const clients: FakeClientSocket[] = [];
  const received: ReceivedEmit[] = [];
  const handlers = new Map<string, FakeServerListener>([["heartbeat", ackAtOnce]]);
  /** Sessions lost without a goodbye, by pid (Connection State Recovery). */
  const sessions = new Map<string, Session>();
  let handshakes = 0;
  let nextSocketId = 1;

  class FakeManager {
    readonly listeners = new Listeners();
    readonly engine = { close: () => this.owner.lose("forced close") };
    constructor(readonly owner: FakeClientSocket) {}
    on(event: string, listener: Listener): this {
      this.listeners.on(event, listener);
      return this;
    }
    off(event?: string, listener?: Listener): this {
      this.listeners.off(event, listener);
      return this;
    }
    removeAllListeners(event?: string): this {
      this.listeners.off(event);
      return this;
    }
  }

  class FakeClientSocket {
    id: string | undefined = undefined;
    connected = false;
    recovered = false;
    // socket.io-client's session fields, which the service's socket actor reads and seeds.
    _pid: string | undefined = undefined;
    _lastOffset: string | undefined = undefined;
    readonly io: FakeManager;
    readonly #listeners = new Listeners();
    #any: Listener[] = [];
    #flags: { timeout?: number } = {};
    readonly #acks = new Map<number, AckCallback>();
    #nextAckId = 0;
    #sendBuffer: { event: string; args: unknown[]; ackId?: number }[] = [];
    #record: FakeConnection | null = null;
    #session: Session | null = null;
    #pingTimer: unknown = null;
    #pingTimeoutTimer: unknown = null;
    /** Acks on their way back (with `latency`), cancelled if the connection ends first. */
    readonly #acksInFlight = new Set<unknown>();
    #opened = false;

    constructor(readonly options: SocketIoOptions) {
      this.io = new FakeManager(this);
    }

    get disconnected(): boolean {
      return !this.connected;
    }

    get record(): FakeConnection | null {
      return this.#record;
    }

    on(event: string, listener: Listener): this {
      this.#listeners.on(event, listener);
      return this;
    }
    off(event?: string, listener?: Listener): this {
      this.#listeners.off(event, listener);
      return this;
    }
    removeAllListeners(event?: string): this {
      this.#listeners.off(event);
      return this;
    }
    onAny(listener: Listener): this {
      this.#any = [...this.#any, listener];
      return this;
    }
    offAny(listener?: Listener): this {
      this.#any = listener ? this.#any.filter((any) => any !== listener) : [];
      return this;
    }
    timeout(ms: number): this {
      this.#flags.timeout = ms;
      return this;
    }

    open(): this {
      return this.connect();
    }

    connect(): this {
      if (this.connected || this.#opened) return this;
      this.#opened = true;
      if (policy === "unreachable") {
        this.#opened = false;
        this.#listeners.emit("connect_error", Object.assign(new Error("xhr poll error"), { type: "TransportError" }));
        return this;
      }
      handshakes += 1;
      const auth = { ...((this.options.auth as Record<string, unknown> | undefined) ?? {}) };
      this.#record = { id: null, auth, state: "waiting", recovered: false, silent: false, closeReason: null };
      clients.push(this);
      const refusal = scripted.shift() ?? (typeof policy === "object" ? { message: policy.refuse, data: policy.data } : null);
      if (refusal) this.refuse(refusal.message, refusal.data);
      else if (policy === "hold") held.push(this);
      else this.accept();
      return this;
    }

    /** The server accepts the handshake: a session (recovered when offered and kept), then `connect`. */
    accept(): void {
      const record = this.#record;
      if (!record || record.state !== "waiting") return;
      const offered = this._pid === undefined ? undefined : sessions.get(this._pid);
      const restored = recovery && offered !== undefined;
      if (offered) sessions.delete(offered.pid);
      const session: Session = restored ? offered : { pid: `pid-${nextSocketId}`, sid: `fake-${nextSocketId}`, missed: [] };
      nextSocketId += 1;
      this.#session = recovery ? session : null;
      const id = session.sid;
      record.id = id;
      record.state = "connected";
      record.recovered = restored;
      this.id = id;
      this.recovered = restored;
      this._pid = recovery ? session.pid : undefined;
      this.connected = true;
      // As socket.io-client: missed events and buffered emits first, then `connect`.
      const missed = session.missed.splice(0);
      for (const { event, args } of missed) this.deliver(event, args);
      for (const packet of this.#sendBuffer.splice(0)) this.#send(packet.event, packet.args, packet.ackId);
      this.#schedulePing();
      this.#resetPingTimeout();
      this.#listeners.emit("connect");
    }

    /** The server refuses the handshake: `connect_error` with `message` and `data`. */
    refuse(message: string, data?: unknown): void {
      const record = this.#record;
      if (!record || record.state !== "waiting") return;
      record.state = "refused";
      record.closeReason = message;
      this.#opened = false;
      const error = Object.assign(new Error(message), data === undefined ? {} : { data });
      this.#listeners.emit("connect_error", error);
    }

    emit(event: string, ...args: unknown[]): this {
      if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`);
      const flags = this.#flags;
      this.#flags = {};
      const last = args.at(-1);
      let ackId: number | undefined;
      if (typeof last === "function") {
        args = args.slice(0, -1);
        ackId = this.#nextAckId++;
        this.#registerAck(ackId, last as AckCallback, flags.timeout ?? this.options.ackTimeout);
      }
      // Encoded now, as socket.io-client does at emit: what it cannot encode throws here.
      const wire = transmit(args);
      if (this.connected) this.#send(event, wire, ackId);
      else this.#sendBuffer.push({ event, args: wire, ackId });
      return this;
    }

    #registerAck(ackId: number, ack: AckCallback, timeout: number | undefined): void {
      if (timeout === undefined) {
        this.#acks.set(ackId, ack);
        return;
      }
      const timer = timers.setTimeout(() => {
        this.#acks.delete(ackId);
        this.#sendBuffer = this.#sendBuffer.filter((packet) => packet.ackId !== ackId);
        ack(new Error("operation has timed out"));
      }, timeout);
      const wrapped: AckCallback = (...response) => {
        timers.clearTimeout(timer);
        ack(...response);
      };
      wrapped.withError = true;
      this.#acks.set(ackId, wrapped);
    }

    /** The packet reaches the server (unless the link is silent). */
    #send(event: string, args: unknown[], ackId: number | undefined): void {
      const record = this.#record;
      if (!record || record.silent || record.state !== "connected") return;
      let acked = false;
      const ack =
        ackId === undefined
          ? null
          : (...response: unknown[]) => {
              if (acked) return;
              acked = true;
              entry.ack = null;
              const wire = transmit(response);
              if (latency > 0) {
                const timer = timers.setTimeout(() => {
                  this.#acksInFlight.delete(timer);
                  this.#onAck(ackId, wire);
                }, latency);
                this.#acksInFlight.add(timer);
              } else {
                this.#onAck(ackId, wire);
              }
            };
      const entry: ReceivedEmit = { event, args, socketId: record.id ?? "", ack };
      received.push(entry);
      const handler = handlers.get(event);
      if (handler) handler(...args, ...(ack ? [ack] : []));
    }

    /** An ack packet from the server arrives (unless the link went silent or closed meanwhile). */
    #onAck(ackId: number, response: unknown[]): void {
      if (!this.connected || this.#record?.silent) return;
      const ack = this.#acks.get(ackId);
      if (!ack) return;
      this.#acks.delete(ackId);
      if (ack.withError) ack(null, ...response);
      else ack(...response);
    }

    /** A server event arrives. */
    deliver(event: string, args: unknown[]): void {
      const wire = transmit(args);
      for (const listener of this.#any) listener(event, ...wire);
      this.#listeners.emit(event, ...wire);
    }

    /** The link is silent from now on. */
    silence(): void {
      if (this.#record && this.#record.state === "connected") this.#record.silent = true;
    }

    #schedulePing(): void {
      if (!clock) return;
      this.#pingTimer = timers.setTimeout(() => {
        if (!this.connected) return;
        if (!this.#record?.silent) {
          this.#resetPingTimeout();
          this.io.listeners.emit("ping");
        }
        this.#schedulePing();
      }, engine.pingInterval);
    }

    #resetPingTimeout(): void {
      if (!clock) return;
      if (this.#pingTimeoutTimer !== null) timers.clearTimeout(this.#pingTimeoutTimer);
      this.#pingTimeoutTimer = timers.setTimeout(() => this.lose("ping timeout"), engine.pingInterval + engine.pingTimeout);
    }

    #stopTimers(): void {
      for (const timer of this.#acksInFlight) timers.clearTimeout(timer);
      this.#acksInFlight.clear();
      if (this.#pingTimer !== null) timers.clearTimeout(this.#pingTimer);
      if (this.#pingTimeoutTimer !== null) timers.clearTimeout(this.#pingTimeoutTimer);
      this.#pingTimer = null;
      this.#pingTimeoutTimer = null;
    }

    /**
     * The connection ends. `keepSession`: lost rather than ended on purpose, so that a server
     * with recovery keeps the session for the next handshake.
     */
    #close(reason: string, keepSession: boolean, description?: string): void {
      const record = this.#record;
      const wasOpen = record !== null && (record.state === "connected" || record.state === "waiting");
      this.#opened = false;
      this.#stopTimers();
      const at = held.indexOf(this);
      if (at !== -1) held.splice(at, 1);
      if (record && wasOpen) {
        record.state = "closed";
        record.closeReason = reason;
      }
      if (this.#session) {
        if (keepSession && recovery) sessions.set(this.#session.pid, this.#session);
        this.#session = null;
      }
      if (!wasOpen) return;
      this.connected = false;
      this.id = undefined;
      this.#listeners.emit("disconnect", reason, description);
      // As socket.io-client: acks still waiting are told (error-first ones), the rest forgotten.
      for (const [ackId, ack] of [...this.#acks]) {
        if (this.#sendBuffer.some((packet) => packet.ackId === ackId)) continue;
        this.#acks.delete(ackId);
        if (ack.withError) ack(new Error("socket has been disconnected"));
      }
    }

    /** Lost without a goodbye: the transport closed, a ping timed out, the client closed its engine. */
    lose(reason: string, description?: string): void {
      this.#close(reason, true, description);
    }

    /** Ended on purpose by the server (`io server disconnect`): no session is kept. */
    kick(): void {
      this.#close("io server disconnect", false);
    }

    disconnect(): this {
      // A goodbye reaches the server only from a connected socket; it discards the session.
      if (this.connected) this.#close("io client disconnect", false);
      else this.#close("io client disconnect", true);
      return this;
    }

    close(): this {
      return this.disconnect();
    }
  }

  const open = () => clients.filter((client) => client.record?.state === "connected" || client.record?.state === "waiting");
  const oldestHeld = (method: string): FakeClientSocket => {
    const client = held[0];
    if (!client) throw new Error(`server.${method}(): no handshake is held (answerHandshakes("hold") holds them)`);
    return client;
  };

  return {
    socketFactory: (_url, socketOptions) => new FakeClientSocket(socketOptions) as unknown as Socket,
    answerHandshakes: (next) => {
      policy = next;
    },
    refuseNext: (message, data) => {
      scripted.push({ message, data });
    },
    accept: () => {
      const client = oldestHeld("accept");
      held.shift();
      client.accept();
    },
    refuse: (message, data) => {
      const client = oldestHeld("refuse");
      held.shift();
      client.refuse(message, data);
    },
    drop: (reason = "transport close") => {
      for (const client of open()) {
        if (reason === "io server disconnect") client.kick();
        else client.lose(reason);
      }
    },
    goSilent: () => {
      for (const client of open()) client.silence();
    },
    push: (event, ...args) => {
      transmit(args); // what cannot be encoded throws here, as io.emit() does
      for (const client of open()) {
        if (client.connected && !client.record?.silent) client.deliver(event, args);
      }
      for (const session of sessions.values()) session.missed.push({ event, args });
    },
    drain: ({ reconnectAfter, windowMs, slot }) => {
      const notice = { version: 1, reconnectAfter, windowMs, ...(slot === undefined ? {} : { slot }) };
      // Not kept for lost sessions: a notice is about the links open now.
      for (const client of open()) {
        if (client.connected && !client.record?.silent) client.deliver(DRAIN_EVENT, [notice]);
      }
    },
    on: (event, listener) => {
      handlers.set(event, listener);
    },
    off: (event) => {
      handlers.delete(event);
    },
    get handshakes() {
      return handshakes;
    },
    get openSockets() {
      return open().length;
    },
    get connections() {
      return clients.flatMap((client) => (client.record ? [{ ...client.record, auth: { ...client.record.auth } }] : []));
    },
    get received() {
      return [...received];
    },
  };
}
