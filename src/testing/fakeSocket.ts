import { fromCallback } from "xstate";
import type { createSocketActor, SocketActorInput } from "../machine/socketActor.js";
import type { SocketCommand, SocketEvent } from "../machine/types.js";

type OpenCommand = Extract<SocketCommand, { type: "open" }>;
type HeartbeatCommand = Extract<SocketCommand, { type: "heartbeat" }>;

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
   * `retryAfter`: the server's hint in ms; `data`: what the server attached to the refusal.
   */
  fail(message?: string, options?: { authRejected?: boolean; retryAfter?: number | null; data?: unknown }): void;
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

  return {
    logic,
    commands,
    lastOpen,
    opens: () => commands.filter((command) => command.type === "open").length,
    connect: ({ socketId = `socket-${generation()}`, recovered = false } = {}) =>
      report({ type: "socket.connected", generation: generation(), socketId, recovered }),
    fail: (message = "xhr poll error", { authRejected = false, retryAfter = null, data } = {}) =>
      report({
        type: "socket.connectFailed",
        generation: generation(),
        error: data === undefined ? { message } : { message, data },
        authRejected,
        retryAfter,
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
    report,
  };
}
