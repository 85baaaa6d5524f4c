import type { AnyActorRef, InspectionEvent, Observer, SnapshotFrom } from "xstate";
import type { ConnectionMachine } from "../machine/connectionMachine.js";
import { resolveConfig } from "../machine/config.js";
import type { ConnectionConfig, EmittedEvent } from "../machine/types.js";
import type { WebSocketService, WebSocketServiceOptions, WebSocketStatus } from "../services/WebSocketService.js";
import { startChart } from "./chart.js";
import { TestClock } from "./clock.js";
import { createFakeServer, type FakeServer } from "./fakeServer.js";
import {
  ALL_EVENTS,
  type ChartModel,
  concreteEvent,
  createChartModel,
  type GeneratedPath,
  generatePaths as generateModelPaths,
  MODEL_CONFIG,
  MODEL_DRAIN,
  type ModelEventType,
  SERVICE_EVENTS,
  sleepFor,
  transitionId,
} from "./model.js";

/**
 * One thing that happens on a path. Commands of the app: `connect`, `disconnect`,
 * `forceReconnect`, `dispose`, `network.online`, `network.offline`, `power.resume`,
 * `auth.updated` (a new token), `send`, `send.volatile`, `send.request`. What the server or
 * the socket does: `socket.connected` (the handshake is accepted), `socket.connectFailed`
 * (refused or unreachable), `socket.connectFailed.auth` (the token is refused),
 * `socket.connectFailed.retryAfter` (refused with a `retryAfter` of 300 ms),
 * `socket.disconnected` (the transport closed), `socket.disconnected.server` (`io server
 * disconnect`), `socket.heartbeatAck` (the last heartbeat is acked), `socket.heartbeatAck.late`
 * (the one before it is), `socket.message` (the server pushes `news`), `socket.drainNotice` (the
 * server announces a planned restart: come back in 300 + U[0, 200) ms), `call.start` and
 * `call.end` (`setCallActive`), `socket.probed.up` and `socket.probed.down` (the background check
 * of the primary answered, or not: the bare chart only), and a few only the
 * bare chart can be given. Time: `clock.next` (to the next timer's due time), `clock.sleep`
 * (a jump far past `sleepThreshold`, as a laptop lid).
 */
export type PathEvent = ModelEventType;

/** The state value of the connection chart (`"idle"`, `{ connecting: "handshaking" }`, …). */
export type ChartStateValue = SnapshotFrom<ConnectionMachine>["value"];

/** One step of a {@link ReconnectionPath}: an event, and what the chart does on it. */
export interface PathStep {
  event: PathEvent;
  expect: {
    /** The top-level state after the step. */
    state: WebSocketStatus["state"];
    /** The whole state value after the step. */
    value: ChartStateValue;
    /** Simulated ms since the start, after the step. */
    time: number;
    /** The event types the chart emits on this step, in order. */
    emitted: EmittedEvent["type"][];
  };
}

/** A path through the connection chart from a fresh start: plain data, printable and serialisable. */
export interface ReconnectionPath {
  /** The events, in words: `connect > socket.connectFailed.retryAfter > clock.next > …`. */
  description: string;
  /** The config overrides the path was generated on (replays use the same). */
  config: Readonly<Partial<ConnectionConfig>>;
  /** Whether the chart was told that a token provider exists. */
  tokenProvider: boolean;
  /** The servers the chart was given, when several (failover): the replay on the chart gives it the same. */
  servers?: readonly string[];
  steps: readonly PathStep[];
}

/** Options of {@link generateReconnectionPaths}. */
export interface ReconnectionPathOptions {
  /**
   * Config overrides, on top of small defaults (2 attempts, a threshold of 2 missed
   * heartbeats, a queue of 2, delays of a few hundred ms). Counters bound the graph:
   * `maxReconnectAttempts`, `unhealthyThreshold` and `maxQueueSize` multiply the paths;
   * durations only move the times.
   * @default { maxReconnectAttempts: 2, unhealthyThreshold: 2, maxQueueSize: 2, … }
   */
  config?: Partial<ConnectionConfig>;
  /**
   * The events paths may use: `"service"`, what a service on the fake server can be made to
   * do (replays on both targets); `"all"`, every event the bare chart takes (replays on the
   * chart only); or a list of {@link PathEvent}s.
   * @default "service"
   */
  events?: "service" | "all" | readonly PathEvent[];
  /**
   * Whether the chart is told that a token provider exists (one refresh after a refused token).
   * Replays on a service need `false`: a provider answers on its own.
   * @default false
   */
  tokenProvider?: boolean;
  /** Paths longer than this many steps are left out. @default Infinity */
  maxDepth?: number;
  /**
   * At most this many paths: those that take the most chart transitions and emit the most
   * event types not seen yet come first, so that a few paths still cover what they can.
   * @default Infinity
   */
  maxPaths?: number;
}

/** Small numbers keep the graph small; distinct delays keep the order of timers readable. */
const PATH_CONFIG: Readonly<Partial<ConnectionConfig>> = MODEL_CONFIG;

/** A generated path in plain data, with its model trace. */
export function toReconnectionPath(model: ChartModel, path: GeneratedPath, config: Readonly<Partial<ConnectionConfig>>): ReconnectionPath {
  const trace = path.trace;
  const { url } = model.options.input;
  return {
    description: path.events.map((event) => event.type).join(" > "),
    config,
    tokenProvider: model.options.input.hasTokenProvider === true,
    ...(typeof url === "object" && url.length > 1 ? { servers: [...url] } : {}),
    steps: path.events.map((event, index) => {
      const snapshot = trace[index]!;
      const value = snapshot.chart.value;
      return {
        event: event.type,
        expect: {
          state: (typeof value === "string" ? value : Object.keys(value)[0]) as WebSocketStatus["state"],
          value,
          time: snapshot.now,
          emitted: [...snapshot.emitted] as EmittedEvent["type"][],
        },
      };
    }),
  };
}

/** Paths in the order that takes the most new transitions and event types first (greedy), the rest after. */
function byCoverage(paths: GeneratedPath[]): GeneratedPath[] {
  const takes = paths.map(
    (path) => new Set(path.trace.flatMap((snapshot) => [...snapshot.taken, ...snapshot.emitted.map((type) => `emits ${type}`)])),
  );
  const covered = new Set<string>();
  const left = paths.map((_, index) => index);
  const ordered: GeneratedPath[] = [];
  for (;;) {
    let best = -1;
    let bestGain = 0;
    for (const index of left) {
      let gain = 0;
      for (const id of takes[index]!) if (!covered.has(id)) gain += 1;
      if (gain > bestGain) {
        best = index;
        bestGain = gain;
      }
    }
    if (best === -1) break;
    ordered.push(paths[best]!);
    for (const id of takes[best]!) covered.add(id);
    left.splice(left.indexOf(best), 1);
  }
  return [...ordered, ...left.map((index) => paths[index]!)];
}

/**
 * Paths through the real connection chart, generated with `xstate/graph`: one shortest path
 * to every state the chart can be in (its state value plus what its guards read: attempts,
 * missed heartbeats, queue length, pending timers), and one more for every transition those
 * do not take and every event type they do not emit. The graph is finite: socket generations, heartbeat numbers and request ids are
 * left out of the states, and times only order the timers.
 *
 * Each path is plain data: replay it with {@link replayPath} on the chart or on your service,
 * and assert your UI or logic at every step.
 *
 * @example
 * const paths = generateReconnectionPaths({ config: { maxReconnectAttempts: 3 }, maxDepth: 8 });
 * it.each(paths.map((path) => [path.description, path] as const))("%s", (_, path) => {
 *   replayPath(path, { onStep: ({ status }) => expect(present(status).label).not.toBe("") });
 * });
 */
export function generateReconnectionPaths(options: ReconnectionPathOptions = {}): ReconnectionPath[] {
  const { events = "service", tokenProvider = false, maxDepth = Infinity, maxPaths = Infinity } = options;
  const alphabet = events === "service" ? SERVICE_EVENTS : events === "all" ? ALL_EVENTS : events;
  const unknown = alphabet.filter((type) => !ALL_EVENTS.includes(type));
  if (unknown.length > 0) {
    throw new TypeError(`generateReconnectionPaths: unknown events ${unknown.map((type) => JSON.stringify(type)).join(", ")}`);
  }
  const config = Object.freeze({ ...PATH_CONFIG, ...options.config });
  const model = createChartModel({ input: { config, hasTokenProvider: tokenProvider }, events: alphabet });
  const generated = generateModelPaths(model).paths.filter((path) => path.events.length > 0 && path.events.length <= maxDepth);
  const chosen = Number.isFinite(maxPaths) ? byCoverage(generated).slice(0, maxPaths) : generated;
  return chosen.map((path) => toReconnectionPath(model, path, config));
}

/** What {@link replayPath} tells `onStep` after each step. */
export interface ReplayedStep {
  /** The step, as generated. */
  step: PathStep;
  /** Its index in the path (0 for the first). */
  index: number;
  /** The status after the step, as `service.getStatus()` returns it. */
  status: WebSocketStatus;
  /** The events emitted during the step (what `service.on(…)` listeners got), oldest first. */
  emitted: EmittedEvent[];
}

/** Options of {@link replayPath}. */
export interface ReplayOptions {
  /**
   * Replays on a service of yours instead of the bare chart: called once with the options to
   * create it with (a fake server's `socketFactory`, a {@link TestClock} and `now`, `random`,
   * the path's `config`). Add your own (a `logger`, listeners) but do not replace those, nor
   * pass `auth`. Return the service; the replay disposes of it at the end.
   * @example service: (options) => createWebSocketService({ ...options, logger })
   * @default undefined (the chart alone, with a fake socket)
   */
  service?: (options: WebSocketServiceOptions) => WebSocketService;
  /**
   * Your assertion, called after every step with the status and the events of that step.
   * @example onStep: ({ status, emitted }) => expect(present(status, emitted).banner).toBeDefined()
   */
  onStep?: (replayed: ReplayedStep) => void;
}

/** What one replayed step did on the target, for the checks and the project's coverage test. */
export interface ObservedStep {
  value: ChartStateValue;
  now: number;
  emitted: EmittedEvent[];
  taken: string[];
  status: WebSocketStatus;
}

/** The hooks the project's own tests use beside the public options. */
export interface ReplayHooks {
  /** Inspection events of the replayed chart (transitions taken). */
  inspect?: (event: InspectionEvent) => void;
  /** Called on a step that does not do what the path says; the default throws. */
  onMismatch?: (message: string) => void;
}

/** Drives one target (the chart rig, or a service on the fake server) step by step. */
interface Target {
  /** The chart's actor (its inspection events are the ones counted). */
  actor: AnyActorRef;
  apply(event: PathEvent, time: number): void;
  observe(): { value: ChartStateValue; now: number; status: WebSocketStatus };
  emitted: EmittedEvent[];
  stop(): void;
}

/** The URL the replayed service is given (the fake server answers any). */
const SERVICE_URL = "https://softphone.example";

function chartTarget(path: ReconnectionPath, sleep: number, inspect: ReplayHooks["inspect"]): Target {
  const chart = startChart({
    config: path.config,
    hasTokenProvider: path.tokenProvider,
    ...(path.servers ? { url: path.servers } : {}),
  });
  const subscription = inspect ? chart.actor.system.inspect(inspect) : null;
  let nextAckId = 1;
  return {
    actor: chart.actor,
    emitted: chart.emitted,
    apply(event, time) {
      if (event === "clock.next") {
        chart.clock.set(time);
      } else if (event === "clock.sleep") {
        chart.advance(sleep);
      } else {
        const concrete = concreteEvent(event, chart.context(), nextAckId);
        if (event === "send.request") nextAckId += 1;
        if (concrete?.type.startsWith("socket.")) {
          chart.socket.report(concrete as Parameters<typeof chart.socket.report>[0]);
        } else if (concrete) {
          chart.actor.send(concrete);
        }
      }
    },
    observe: () => ({ value: chart.actor.getSnapshot().value, now: chart.clock.now(), status: chart.status() }),
    stop() {
      subscription?.unsubscribe();
      chart.actor.stop();
    },
  };
}

function serviceTarget(
  path: ReconnectionPath,
  sleep: number,
  create: NonNullable<ReplayOptions["service"]>,
  inspect: ReplayHooks["inspect"],
): Target {
  if (path.servers && path.servers.length > 1) {
    // On a backup the service checks the primary over HTTP, which no fake answers.
    throw new TypeError(`replayPath: "${path.description}" was generated with several servers; a service replay needs one`);
  }
  const unplayable = [...new Set(path.steps.map((step) => step.event))].filter((event) => !SERVICE_EVENTS.includes(event));
  if (unplayable.length > 0) {
    throw new TypeError(
      `replayPath: a service cannot be made to do ${unplayable.map((event) => JSON.stringify(event)).join(", ")}; generate with events: "service" to replay on a service`,
    );
  }
  if (path.tokenProvider) {
    throw new TypeError(`replayPath: "${path.description}" was generated with tokenProvider: true; a service replay needs paths generated without it`);
  }
  const clock = new TestClock();
  // Every answer waits for the path to give it: handshakes and heartbeat acks are held.
  const server: FakeServer = createFakeServer();
  server.answerHandshakes("hold");
  server.off("heartbeat");
  const observer: Observer<InspectionEvent> | undefined = inspect ? { next: inspect } : undefined;
  const service = create({
    url: SERVICE_URL,
    socketFactory: server.socketFactory,
    clock,
    now: () => clock.now(),
    random: () => 0.5,
    config: { ...path.config },
    ...(observer ? { inspect: observer } : {}),
  });
  const emitted: EmittedEvent[] = [];
  const subscription = service.actor.on("*", (event) => {
    emitted.push(event);
  });
  let tokens = 0;
  const ackHeartbeat = (fromEnd: number) => {
    const beats = server.received.filter((received) => received.event === "heartbeat");
    beats.at(-fromEnd)?.ack?.();
  };
  const play: Record<string, () => void> = {
    connect: () => service.connect(),
    disconnect: () => service.disconnect(),
    forceReconnect: () => void service.forceReconnection(),
    "network.online": () => service.notifyOnline(),
    "network.offline": () => service.notifyOffline(),
    "power.resume": () => service.notifyResume(),
    "auth.updated": () => service.setAuthToken(`token-${(tokens += 1)}`),
    send: () => service.send("chat", "hello"),
    "send.volatile": () => service.sendWith({ volatile: true }, "typing"),
    "send.request": () => {
      const timeout = service.actor.getSnapshot().context.config.requestTimeout;
      service.requestWith({ timeout }, "lookup", 1).catch(() => {});
    },
    "socket.connected": () => server.accept(),
    "socket.connectFailed": () => server.refuse("xhr poll error"),
    "socket.connectFailed.auth": () => server.refuse("invalid token"),
    "socket.connectFailed.retryAfter": () => server.refuse("server busy", { retryAfter: 300 }),
    "socket.disconnected": () => server.drop("transport close"),
    "socket.disconnected.server": () => server.drop("io server disconnect"),
    "socket.heartbeatAck": () => ackHeartbeat(1),
    "socket.heartbeatAck.late": () => ackHeartbeat(2),
    "socket.message": () => server.push("news", 1),
    "socket.drainNotice": () => server.drain(MODEL_DRAIN),
    "call.start": () => service.setCallActive(true),
    "call.end": () => service.setCallActive(false),
  };
  return {
    actor: service.actor,
    emitted,
    apply(event, time) {
      if (event === "clock.next") clock.set(time);
      else if (event === "clock.sleep") clock.increment(sleep);
      else play[event]!();
    },
    observe: () => ({ value: service.actor.getSnapshot().value, now: clock.now(), status: service.getStatus() }),
    stop() {
      subscription.unsubscribe();
      service.dispose();
    },
  };
}

/**
 * Replays a path step by step and checks that the target does what the path says. For the
 * project's tests; apps use {@link replayPath}.
 */
export function replayObserved(path: ReconnectionPath, options: ReplayOptions = {}, hooks: ReplayHooks = {}): ObservedStep[] {
  const sleep = sleepFor(resolveConfig(path.config));
  let taken: string[] = [];
  let chartActor: AnyActorRef | null = null;
  const inspect = (event: InspectionEvent) => {
    hooks.inspect?.(event);
    if (event.type !== "@xstate.microstep" || event.actorRef !== chartActor) return;
    for (const transition of event._transitions) {
      const id = transitionId(transition);
      if (id) taken.push(id);
    }
  };
  const target = options.service ? serviceTarget(path, sleep, options.service, inspect) : chartTarget(path, sleep, inspect);
  chartActor = target.actor;
  const mismatch = hooks.onMismatch ?? ((message: string) => {
    throw new Error(message);
  });
  const observed: ObservedStep[] = [];
  try {
    path.steps.forEach((step, index) => {
      taken = [];
      const before = target.emitted.length;
      target.apply(step.event, step.expect.time);
      const { value, now, status } = target.observe();
      const emitted = target.emitted.slice(before);
      observed.push({ value, now, emitted, taken, status });
      const where = `"${path.description}", step ${index + 1} (${step.event})`;
      const types = emitted.map((event) => event.type).filter((type) => !(options.service && type === "message:unconfirmed"));
      if (JSON.stringify(value) !== JSON.stringify(step.expect.value)) {
        mismatch(`${where}: expected the chart in ${JSON.stringify(step.expect.value)}, it is in ${JSON.stringify(value)}`);
      } else if (now !== step.expect.time) {
        mismatch(`${where}: expected the time ${step.expect.time}, it is ${now}`);
      } else if (JSON.stringify(types) !== JSON.stringify(step.expect.emitted)) {
        mismatch(`${where}: expected the events ${JSON.stringify(step.expect.emitted)}, got ${JSON.stringify(types)}`);
      }
      options.onStep?.({ step, index, status, emitted });
    });
  } finally {
    target.stop();
  }
  return observed;
}

/**
 * Replays a generated path from a fresh start, step by step, on the bare chart (a fake
 * socket; the default) or on a service of yours built on a fake server, and calls `onStep`
 * with the status and the emitted events after each step: put your assertion there. Throws
 * when the target does not do what the path says (the chart's state, the time, the events).
 * Synchronous: no network, no real timers; simulated time only moves on `clock.*` steps.
 *
 * @example
 * for (const path of generateReconnectionPaths()) {
 *   replayPath(path, {
 *     service: (options) => createWebSocketService(options),
 *     onStep: ({ status, emitted }) => expect(present(status, emitted)).toMatchObject({ tone: expect.any(String) }),
 *   });
 * }
 */
export function replayPath(path: ReconnectionPath, options: ReplayOptions = {}): ReplayedStep[] {
  const replayed: ReplayedStep[] = [];
  replayObserved(path, {
    ...options,
    onStep: (step) => {
      replayed.push(step);
      options.onStep?.(step);
    },
  });
  return replayed;
}
