import { createActor, fromCallback, SimulatedClock } from "xstate";
import { createConnectionMachine, type ConnectionMachineInput } from "../../src/machine/connectionMachine.js";
import type { SocketActorInput } from "../../src/machine/socketActor.js";
import type { EmittedEvent, SocketCommand, SocketEvent } from "../../src/machine/types.js";

type OpenCommand = Extract<SocketCommand, { type: "open" }>;

/**
 * A stand-in for the socket actor in the chart's unit tests: it records every command the
 * chart sends and lets the test play the socket's part (connect, fail, drop, ack).
 */
export function createFakeSocket() {
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
    if (!sendBack) throw new Error("the fake socket actor is not running");
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
    connect: (socketId = `socket-${generation()}`, recovered = false) =>
      report({ type: "socket.connected", generation: generation(), socketId, recovered }),
    fail: (message = "xhr poll error", extra: { authRejected?: boolean; retryAfter?: number | null } = {}) =>
      report({
        type: "socket.connectFailed",
        generation: generation(),
        error: { message },
        authRejected: extra.authRejected ?? false,
        retryAfter: extra.retryAfter ?? null,
      }),
    tokenMissing: (reason = "no auth token available") =>
      report({ type: "socket.tokenMissing", generation: generation(), reason }),
    awaitingToken: (awaiting = true) => report({ type: "socket.awaitingToken", generation: generation(), awaiting }),
    drop: (reason = "transport close") => report({ type: "socket.disconnected", generation: generation(), reason }),
    message: (event: string, ...args: unknown[]) =>
      report({ type: "socket.message", generation: generation(), event, args }),
    ackHeartbeat: (seq?: number) => {
      const beat = commands.filter((command) => command.type === "heartbeat").at(-1);
      if (!beat || beat.type !== "heartbeat") throw new Error("no heartbeat was sent");
      report({ type: "socket.heartbeatAck", generation: beat.generation, seq: seq ?? beat.seq });
    },
    ack: (ackId: number, ...response: unknown[]) => report({ type: "socket.ack", ackId, response }),
    report,
  };
}

export type FakeSocket = ReturnType<typeof createFakeSocket>;

/**
 * Starts the production chart on a `SimulatedClock` with a fake socket. `random` defaults
 * to 0.5 so that every delay is known.
 */
export function startChart(input: ConnectionMachineInput = {}, options: { random?: () => number; start?: number } = {}) {
  const clock = new SimulatedClock();
  if (options.start) clock.set(options.start);
  const socket = createFakeSocket();
  const machine = createConnectionMachine({
    random: options.random ?? (() => 0.5),
    now: () => clock.now(),
  }).provide({ actors: { socket: socket.logic } });
  const actor = createActor(machine, { clock, input });
  const emitted: EmittedEvent[] = [];
  actor.on("*", (event) => {
    emitted.push(event as EmittedEvent);
  });
  actor.start();
  const state = () => {
    const value = actor.getSnapshot().value;
    return typeof value === "string" ? value : Object.keys(value)[0];
  };
  return {
    actor,
    clock,
    socket,
    emitted,
    state,
    context: () => actor.getSnapshot().context,
    /** Advances simulated time by `ms`. */
    advance: (ms: number) => clock.increment(ms),
    emittedOf: <T extends EmittedEvent["type"]>(type: T) =>
      emitted.filter((event): event is Extract<EmittedEvent, { type: T }> => event.type === type),
  };
}

type ClockInternals = { timeouts: Map<number, { start: number; timeout: number }> };

/**
 * Advances a `SimulatedClock` by `ms` the way real time passes: each timer fires at its own
 * due time, so timers it starts run too. (`clock.increment(ms)` fires everything due at the
 * end time, which is how a sleeping machine looks.)
 */
export function runFor(clock: SimulatedClock, ms: number): void {
  const end = clock.now() + ms;
  const timeouts = (clock as unknown as ClockInternals).timeouts;
  for (let guard = 0; guard < 1_000_000; guard++) {
    let next = Infinity;
    for (const { start, timeout } of timeouts.values()) next = Math.min(next, start + timeout);
    if (next > end) {
      clock.set(end);
      return;
    }
    clock.set(Math.max(next, clock.now()));
  }
  throw new Error("runFor: timers keep firing without time passing");
}

/** Calls `listener` with each command the chart sends to `socket`, when it is sent. */
export function observeCommands(socket: FakeSocket, listener: (command: SocketCommand) => void): void {
  const { commands } = socket;
  const push = commands.push.bind(commands);
  commands.push = (...items: SocketCommand[]) => {
    const length = push(...items);
    for (const item of items) listener(item);
    return length;
  };
}
