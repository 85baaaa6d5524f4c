import type { SimulatedClock } from "xstate";
import type { ConnectionMachineInput } from "../../src/machine/connectionMachine.js";
import type { SocketCommand } from "../../src/machine/types.js";
import { TestClock } from "../../src/testing/clock.js";
import {
  createFakeSocket as createPublishedFakeSocket,
  startChart as startPublishedChart,
  type ChartRig,
  type FakeSocket as PublishedFakeSocket,
} from "../../src/testing/index.js";

/**
 * The chart's fake socket and simulated-clock rig live in `src/testing` (published as
 * `@softphone/websocket/testing`); this module keeps the forms the project's chart tests
 * were written with: `connect(socketId, recovered)`, and `runFor(clock, ms)` for any
 * `SimulatedClock`.
 */
export type FakeSocket = Omit<PublishedFakeSocket, "connect"> & {
  /** The handshake succeeded (`socketId` defaults to `socket-<generation>`). */
  connect(socketId?: string, recovered?: boolean): void;
};

function withPositionalConnect(socket: PublishedFakeSocket): FakeSocket {
  return { ...socket, connect: (socketId, recovered) => socket.connect({ socketId, recovered }) };
}

/** A stand-in for the socket actor in the chart's unit tests: see `src/testing/fakeSocket.ts`. */
export function createFakeSocket(): FakeSocket {
  return withPositionalConnect(createPublishedFakeSocket());
}

/** The production chart on a `TestClock` with a fake socket; `random` defaults to 0.5. */
export function startChart(
  input: ConnectionMachineInput = {},
  options: { random?: () => number; start?: number } = {},
): Omit<ChartRig, "socket"> & { socket: FakeSocket } {
  const chart = startPublishedChart(input, options);
  return { ...chart, socket: withPositionalConnect(chart.socket) };
}

type ClockInternals = { timeouts: Map<number, { start: number; timeout: number }> };

/**
 * Advances a `SimulatedClock` by `ms` the way real time passes: each timer fires at its own
 * due time, so timers it starts run too. (`clock.increment(ms)` fires everything due at the
 * end time, which is how a sleeping machine looks.) A `TestClock` does it itself; a plain
 * `SimulatedClock` is read through its private timer list.
 */
export function runFor(clock: SimulatedClock, ms: number): void {
  if (clock instanceof TestClock) {
    clock.runFor(ms);
    return;
  }
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
export function observeCommands(socket: Pick<FakeSocket, "commands">, listener: (command: SocketCommand) => void): void {
  const { commands } = socket;
  const push = commands.push.bind(commands);
  commands.push = (...items: SocketCommand[]) => {
    const length = push(...items);
    for (const item of items) listener(item);
    return length;
  };
}
