import { fromCallback } from "xstate";
import type { createSocketActor, SocketActorInput } from "../machine/socketActor.js";
import type { SocketCommand, SocketEvent } from "../machine/types.js";

type OpenCommand = Extract<SocketCommand, { type: "open" }>;
type HeartbeatCommand = Extract<SocketCommand, { type: "heartbeat" }>;
type ProbeCommand = Extract<SocketCommand, { type: "probe" }>;

/** A planned restart as the server announces it (`softphone:drain`, see docs/server.md). */
export interface DrainNotice {
  /** Ms from now before the client may come back. */
  reconnectAfter: number;
  /** Ms after `reconnectAfter` the server spreads its clients over. */
  windowMs: number;
  /** The moment in the window the server assigned this client (ms after `reconnectAfter`). */
  slot?: number | null;
}

/**
 * The socket actor's part, played by a test: what the chart commands is recorded, and each
 * method reports one thing a socket does, for the socket the chart opened last.
 */
export interface FakeSocket {
  /** The actor logic to give the chart: `connectionMachine.provide({ actors: { socket: fake.logic } })`. */
  readonly logic: ReturnType<typeof createSocketActor>;
  /** Every command the chart sent (`open`, `close`, `emit`, `heartbeat`, …), oldest first. */
  readonly commands: SocketCommand[];
  /** The last `open` command. @throws when the chart never opened a socket */
  lastOpen(): OpenCommand;
  /** How many sockets the chart opened. */
  opens(): number;
  /** The handshake succeeded. `recovered`: the server restored the previous session. */
  connect(options?: { socketId?: string; recovered?: boolean }): void;
  /**
   * The handshake failed (`connect_error`). `authRejected`: the classifier found a bad token;
   * `retryAfter`: the server's hint in ms; `retryWindow`: the window after it the server spread
   * its clients over (0: exactly `retryAfter`); `data`: what the server attached to the refusal.
   */
  fail(
    message?: string,
    options?: { authRejected?: boolean; retryAfter?: number | null; retryWindow?: number | null; data?: unknown },
  ): void;
  /** No usable token for the handshake (the token provider gave nothing). */
  tokenMissing(reason?: string): void;
  /** The attempt waits for the token provider (`true`), or its answer came (`false`). */
  awaitingToken(awaiting?: boolean): void;
  /** The socket was lost: `"transport close"`, `"io server disconnect"`, `"ping timeout"`, … */
  drop(reason?: string): void;
  /** The server sent `event` with `args`. */
  message(event: string, ...args: unknown[]): void;
  /** The server acked the last heartbeat (or the one numbered `seq`). @throws when no heartbeat was sent */
  ackHeartbeat(seq?: number): void;
  /** The server acked the request `ackId` with `response`. */
  ack(ackId: number, ...response: unknown[]): void;
  /** The server announced a planned restart (`softphone:drain`) on the current socket. */
  drainNotice(notice: DrainNotice): void;
  /** The last `probe` command (a background check of a server). @throws when the chart sent none */
  lastProbe(): ProbeCommand;
  /** How many `probe` commands the chart sent. */
  probes(): number;
  /**
   * The answer to a background check: `ok` when the server answered, for `url` (the last
   * probed one by default). The real actor checks with an HTTP request; here the test decides.
   */
  probeResult(ok: boolean, url?: string): void;
  /** Reports any socket event as it is, e.g. one of an older socket (`generation`) that must be ignored. */
  report(event: SocketEvent): void;
}

/**
 * A stand-in for the chart's socket actor: it records every command the chart sends and lets
 * the test play the socket (connect, fail, drop, messages, acks). `startChart` uses one.
 *
 * @example
 * const socket = createFakeSocket();
 * const actor = createActor(connectionMachine.provide({ actors: { socket: socket.logic } })).start();
 * actor.send({ type: "connect" });
 * socket.fail("server busy", { retryAfter: 5000 }); // now backingOff
 */
export function createFakeSocket(): FakeSocket {
  const commands: SocketCommand[] = [];
  let sendBack: ((event: SocketEvent) => void) | null = null;
  const logic = fromCallback<SocketCommand, SocketActorInput, SocketEvent>(({ sendBack: report, receive }) => {
    sendBack = report;
    receive((command) => {
      commands.push(command);
    });
    return () => {
      sendBack = null;
    };
  });

  const report = (event: SocketEvent) => {
    if (!sendBack) throw new Error("the fake socket actor is not running (start the chart first)");
    sendBack(event);
  };
  const lastOpen = (): OpenCommand => {
    const open = commands.filter((command): command is OpenCommand => command.type === "open").at(-1);
    if (!open) throw new Error("the chart never opened a socket");
    return open;
  };
  const generation = () => lastOpen().generation;
  const lastProbe = (): ProbeCommand => {
    const probe = commands.filter((command): command is ProbeCommand => command.type === "probe").at(-1);
    if (!probe) throw new Error("the chart never probed a server");
    return probe;
  };

  return {
    logic,
    commands,
    lastOpen,
    opens: () => commands.filter((command) => command.type === "open").length,
    connect: ({ socketId = `socket-${generation()}`, recovered = false } = {}) =>
      report({ type: "socket.connected", generation: generation(), socketId, recovered }),
    fail: (message = "xhr poll error", { authRejected = false, retryAfter = null, retryWindow, data } = {}) =>
      report({
        type: "socket.connectFailed",
        generation: generation(),
        error: data === undefined ? { message } : { message, data },
        authRejected,
        retryAfter,
        ...(retryWindow === undefined ? {} : { retryWindow }),
      }),
    tokenMissing: (reason = "no auth token available") =>
      report({ type: "socket.tokenMissing", generation: generation(), reason }),
    awaitingToken: (awaiting = true) => report({ type: "socket.awaitingToken", generation: generation(), awaiting }),
    drop: (reason = "transport close") => report({ type: "socket.disconnected", generation: generation(), reason }),
    message: (event, ...args) => report({ type: "socket.message", generation: generation(), event, args }),
    ackHeartbeat: (seq) => {
      const beat = commands.filter((command): command is HeartbeatCommand => command.type === "heartbeat").at(-1);
      if (!beat) throw new Error("the chart sent no heartbeat");
      report({ type: "socket.heartbeatAck", generation: beat.generation, seq: seq ?? beat.seq });
    },
    ack: (ackId, ...response) => report({ type: "socket.ack", ackId, response }),
    drainNotice: ({ reconnectAfter, windowMs, slot = null }) =>
      report({ type: "socket.drainNotice", generation: generation(), reconnectAfter, windowMs, slot }),
    lastProbe,
    probes: () => commands.filter((command) => command.type === "probe").length,
    probeResult: (ok, url) =>
      report({
        type: "socket.probed",
        url: url ?? lastProbe().url,
        ok,
        ...(ok ? {} : { error: "the server did not answer" }),
      }),
    report,
  };
}
