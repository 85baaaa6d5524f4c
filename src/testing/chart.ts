import { type Actor, createActor } from "xstate";
import { type ConnectionMachine, type ConnectionMachineInput, createConnectionMachine } from "../machine/connectionMachine.js";
import type { ConnectionContext, EmittedEvent } from "../machine/types.js";
import { statusOf, type WebSocketStatus } from "../services/WebSocketService.js";
import { TestClock } from "./clock.js";
import { createFakeSocket, type FakeSocket } from "./fakeSocket.js";

/** Options of {@link startChart}. */
export interface StartChartOptions {
  /**
   * The jitter source. The default makes every delay known in advance.
   * @default () => 0.5
   */
  random?: () => number;
  /** Simulated time to start at, in ms. @default 0 */
  start?: number;
}

/** The connection chart running on a {@link TestClock} with a {@link FakeSocket}: see {@link startChart}. */
export interface ChartRig {
  /** The running actor of the production chart. */
  readonly actor: Actor<ConnectionMachine>;
  /** Its timers: `runFor`, `increment`, `set`. */
  readonly clock: TestClock;
  /** The socket, played by the test. */
  readonly socket: FakeSocket;
  /** Every event the chart emitted (`connection:*`, `message`, …), oldest first. */
  readonly emitted: EmittedEvent[];
  /** The emitted events of one type. */
  emittedOf<T extends EmittedEvent["type"]>(type: T): Extract<EmittedEvent, { type: T }>[];
  /** The top-level state: `"idle"`, `"connecting"`, `"connected"`, `"backingOff"`, `"authRequired"` or `"exhausted"`. */
  state(): WebSocketStatus["state"];
  /** What `service.getStatus()` would return for the chart as it is. */
  status(): WebSocketStatus;
  /** The chart's context (plain data). */
  context(): ConnectionContext;
  /** Jumps `ms` ahead at once, as a machine that slept: see {@link TestClock}. */
  advance(ms: number): void;
  /** Lets `ms` pass, each timer firing at its own due time: see {@link TestClock.runFor}. */
  runFor(ms: number): void;
}

/**
 * Starts the production connection chart on a {@link TestClock}, with a {@link FakeSocket} in
 * place of Socket.IO: no network, no real timers.
 *
 * @example
 * const chart = startChart({ config: { maxReconnectAttempts: 3 } });
 * chart.actor.send({ type: "connect" });
 * chart.socket.fail("server busy", { retryAfter: 5000 });
 * chart.runFor(5000);
 * chart.socket.connect();
 * expect(chart.state()).toBe("connected");
 */
export function startChart(input: ConnectionMachineInput = {}, options: StartChartOptions = {}): ChartRig {
  const clock = new TestClock();
  if (options.start) clock.set(options.start);
  const socket = createFakeSocket();
  const machine = createConnectionMachine({
    random: options.random ?? (() => 0.5),
    now: () => clock.now(),
  }).provide({ actors: { socket: socket.logic } });
  const actor = createActor(machine, { clock, input });
  const emitted: EmittedEvent[] = [];
  actor.on("*", (event) => {
    emitted.push(event);
  });
  actor.start();
  return {
    actor,
    clock,
    socket,
    emitted,
    emittedOf: <T extends EmittedEvent["type"]>(type: T) =>
      emitted.filter((event): event is Extract<EmittedEvent, { type: T }> => event.type === type),
    state: () => statusOf(actor.getSnapshot().value, actor.getSnapshot().context).state,
    status: () => statusOf(actor.getSnapshot().value, actor.getSnapshot().context),
    context: () => actor.getSnapshot().context,
    advance: (ms) => clock.increment(ms),
    runFor: (ms) => clock.runFor(ms),
  };
}
