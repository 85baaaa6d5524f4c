import { getShortestPaths } from "xstate/graph";
import {
  createEmptyActor,
  fromCallback,
  type ActorLogic,
  type AnyActorScope,
  type AnyStateNode,
  type AnyTransitionDefinition,
  type EventObject,
  type InspectionEvent,
  type SnapshotFrom,
} from "xstate";
import {
  createConnectionMachine,
  type ConnectionMachine,
  type ConnectionMachineInput,
} from "../machine/connectionMachine.js";
import { queueSize } from "../machine/queue.js";
import type { ConnectionConfig, ConnectionContext, ConnectionEvent } from "../machine/types.js";

/**
 * A test model of the production chart for path generation (xstate/graph) and replay.
 *
 * `xstate/graph` traverses logic through its pure `transition` function with a mock actor
 * scope, so the chart's timers (`after` and delayed `raise`) and its socket actor never run
 * there. This module wraps the production chart in an `ActorLogic` whose snapshot carries
 * the chart snapshot plus a model of the scheduler: the pending timers with their due times.
 * Time moves only through the model events `clock.next` (to the next due timer, as
 * `SimulatedClock.set` does) and `clock.sleep` (a jump far past `sleepThreshold`, as a laptop
 * lid would). Socket events are named without their generation or heartbeat sequence number;
 * both are filled in from the current context, so an event list means the same thing
 * whichever route reached a state.
 */

/** Small numbers keep the graph finite and small; distinct delays keep timer order readable. */
export const MODEL_CONFIG: Partial<ConnectionConfig> = Object.freeze({
  maxReconnectAttempts: 2,
  unhealthyThreshold: 2,
  maxQueueSize: 2,
  baseDelay: 100,
  maxDelay: 400,
  jitterRange: 100,
  connectionTimeout: 1000,
  heartbeatInterval: 2000,
  heartbeatTimeout: 500,
  minHeartbeatTimeout: 200,
  healthCheckInterval: 3000,
  stablePeriod: 2500,
  queueTtl: 1500,
  requestTimeout: 700,
  sleepThreshold: 10_000,
  // Call mode: a shorter cadence, and a cap below the spread of a retryAfter hint (450 ms with
  // random 0.5) so that a call starting while that retry waits draws it again.
  callHeartbeatInterval: 1200,
  callMaxDelay: 250,
  failoverAfter: 2,
  failbackInterval: 3500,
});

/** The servers of the project's own model: a primary and a backup, so that failover and fail-back are reachable. */
export const MODEL_SERVERS: readonly string[] = Object.freeze(["https://primary.example", "https://backup.example"]);

/** The planned restart the model's `socket.drainNotice` announces (come back in 300 + U[0, 200) ms). */
export const MODEL_DRAIN = Object.freeze({ reconnectAfter: 300, windowMs: 200 });

/**
 * The project's own model: every event, and a token provider declared so that both the one
 * refresh and its refusal are reachable.
 */
export const MODEL_INPUT: ConnectionMachineInput = Object.freeze({ config: MODEL_CONFIG, hasTokenProvider: true });

/**
 * How far `clock.sleep` moves time: far enough that every timer the chart can have pending
 * fires more than `sleepThreshold` late (20 s with {@link MODEL_CONFIG}).
 */
export function sleepFor(config: ConnectionConfig): number {
  const longest = Math.max(
    config.maxDelay + config.jitterRange,
    config.connectionTimeout,
    config.heartbeatInterval,
    config.healthCheckInterval,
    config.stablePeriod,
    config.failbackInterval,
    config.queueTtl,
    config.requestTimeout,
  );
  return config.sleepThreshold + Math.max(config.sleepThreshold, longest + 1);
}

const COMMANDS = [
  "connect",
  "disconnect",
  "forceReconnect",
  "dispose",
  "network.online",
  "network.offline",
  "power.resume",
  "auth.updated",
  "send",
  "send.volatile",
  "send.request",
  "call.start",
  "call.end",
] as const;
const HANDSHAKE_REPORTS = [
  "socket.connected",
  "socket.connectFailed",
  "socket.connectFailed.auth",
  "socket.connectFailed.retryAfter",
  "socket.tokenMissing",
  "socket.awaitingToken",
  "socket.disconnected",
  "socket.stale",
  "socket.started",
] as const;
const CONNECTION_REPORTS = [
  "socket.disconnected",
  "socket.disconnected.server",
  "socket.heartbeatAck",
  "socket.heartbeatAck.late",
  "socket.message",
  "socket.ack",
  "socket.stale",
  "socket.started",
  "socket.drainNotice",
  "socket.probed.up",
  "socket.probed.down",
] as const;
/**
 * Reports of a socket on its way out (an emit it could not deliver, sends it cannot vouch
 * for): offered while backing off, where the closed socket's last words arrive.
 */
const AFTERMATH_REPORTS = [
  "socket.undelivered",
  "socket.undelivered.volatile",
  "socket.unconfirmed",
  "socket.unencodable",
  "callback.failed",
] as const;
const CLOCK = ["clock.next", "clock.sleep"] as const;

export type ModelEventType =
  | (typeof COMMANDS)[number]
  | (typeof HANDSHAKE_REPORTS)[number]
  | (typeof CONNECTION_REPORTS)[number]
  | (typeof AFTERMATH_REPORTS)[number]
  | (typeof CLOCK)[number];

/** Every event of the model's alphabet. */
export const ALL_EVENTS: readonly ModelEventType[] = Object.freeze([
  ...new Set<ModelEventType>([...COMMANDS, ...HANDSHAKE_REPORTS, ...CONNECTION_REPORTS, ...AFTERMATH_REPORTS, ...CLOCK]),
]);

/**
 * The events a service built on the fake server can be made to do, each by a method of the
 * service or a control of the server: no token provider events (a provider answers on its own),
 * no reports of a socket already closed (the socket actor drops them), no `dispose` (it ends
 * the service), and no requests: a request in flight on a lost socket is settled by the
 * socket itself at once (socket.io-client's error-first ack), which the model does not play.
 * Nor the answers to a background check of the primary (fail-back): the socket actor makes
 * that HTTP request itself.
 */
export const SERVICE_EVENTS: readonly ModelEventType[] = Object.freeze(
  ALL_EVENTS.filter(
    (type) =>
      !(AFTERMATH_REPORTS as readonly string[]).includes(type) &&
      ![
        "dispose",
        "send.request",
        // The socket actor checks a server with an HTTP request of its own: no fake answers it.
        "socket.probed.up",
        "socket.probed.down",
        "socket.ack",
        "socket.tokenMissing",
        "socket.awaitingToken",
        "socket.stale",
        "socket.started",
      ].includes(type),
  ),
);

/** An event of the model's alphabet: a command, a socket report or a move of the clock. */
export interface ModelEvent {
  type: ModelEventType;
}

type ChartSnapshot = SnapshotFrom<ConnectionMachine>;

/** A pending delayed event, as the xstate scheduler holds it. */
export interface Timer {
  id: string;
  event: EventObject;
  dueAt: number;
  /** Scheduling order: ties on `dueAt` fire in this order (as `SimulatedClock` does). */
  seq: number;
}

export interface ModelSnapshot {
  status: "active";
  output: undefined;
  error: undefined;
  chart: ChartSnapshot;
  now: number;
  timers: readonly Timer[];
  nextSeq: number;
  /** The ackId the next `send.request` uses (the replay counts the same way). */
  nextAckId: number;
  /** What the model event that led here did: emitted event types, chart transitions taken. */
  emitted: readonly string[];
  taken: readonly string[];
}

/** Where a chart transition is defined: `source state id | event type | branch index`. */
export function transitionId(transition: AnyTransitionDefinition): string | null {
  const source = transition.source;
  if (transition.eventType === "") {
    return `${source.id}|always|${source.always?.indexOf(transition) ?? -1}`;
  }
  const branches = source.transitions.get(transition.eventType);
  // Initial transitions are not listed on their node: they are not events' transitions.
  if (!branches?.includes(transition)) return null;
  return `${source.id}|${transition.eventType}|${branches.indexOf(transition)}`;
}

function collectTransitions(node: AnyStateNode, out: Map<string, AnyTransitionDefinition>): void {
  for (const branches of node.transitions.values()) {
    for (const transition of branches) {
      const id = transitionId(transition);
      if (id) out.set(id, transition);
    }
  }
  for (const transition of node.always ?? []) {
    const id = transitionId(transition);
    if (id) out.set(id, transition);
  }
  for (const child of Object.values(node.states)) collectTransitions(child, out);
}

/** Every transition of a chart, one per guarded branch, read from the definition itself. */
export function chartTransitions(machine: ConnectionMachine): Map<string, AnyTransitionDefinition> {
  const out = new Map<string, AnyTransitionDefinition>();
  collectTransitions(machine.root, out);
  return out;
}

/** Every state node id of a chart (the root included). */
export function chartStateIds(machine: ConnectionMachine): string[] {
  const ids: string[] = [];
  const walk = (node: AnyStateNode) => {
    ids.push(node.id);
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(machine.root);
  return ids;
}

/** The real chart event a model event stands for, in the given context (`null` for clock moves). */
export function concreteEvent(type: ModelEventType, context: ConnectionContext, ackId: number): ConnectionEvent | null {
  const generation = context.generation;
  switch (type) {
    case "clock.next":
    case "clock.sleep":
      return null;
    case "auth.updated":
      return { type };
    case "send":
      return { type: "send", event: "chat", args: ["hello"] };
    case "send.volatile":
      return { type: "send", event: "typing", args: [], volatile: true };
    case "send.request":
      return { type: "send", event: "lookup", args: [1], ackId, timeout: context.config.requestTimeout };
    case "socket.connected":
      return { type, generation, socketId: `socket-${generation}`, recovered: false };
    case "socket.connectFailed":
      return { type, generation, error: { message: "xhr poll error" }, authRejected: false, retryAfter: null };
    case "socket.connectFailed.auth":
      return {
        type: "socket.connectFailed",
        generation,
        error: { message: "invalid token" },
        authRejected: true,
        retryAfter: null,
      };
    case "socket.connectFailed.retryAfter":
      return {
        type: "socket.connectFailed",
        generation,
        // As the socket actor reports a refusal whose err.data is { retryAfter: 300 }.
        error: { message: "server busy", data: { retryAfter: 300 } },
        authRejected: false,
        retryAfter: 300,
      };
    case "socket.tokenMissing":
      return { type, generation, reason: "token provider returned no token" };
    case "socket.awaitingToken":
      return { type, generation, awaiting: true };
    case "socket.disconnected":
      return { type, generation, reason: "transport close" };
    case "socket.disconnected.server":
      return { type: "socket.disconnected", generation, reason: "io server disconnect" };
    case "socket.stale":
      // A late report of the socket before this one: the chart must ignore it.
      return { type: "socket.disconnected", generation: generation - 1, reason: "transport close" };
    case "socket.heartbeatAck":
      return { type, generation, seq: context.heartbeatSeq };
    case "socket.heartbeatAck.late":
      return { type: "socket.heartbeatAck", generation, seq: context.heartbeatSeq - 1 };
    case "socket.message":
      return { type, generation, event: "news", args: [1] };
    case "socket.ack":
      return { type, ackId: ackId - 1, response: ["ok"] };
    case "socket.undelivered":
      return { type, event: "chat", args: ["undelivered"] };
    case "socket.undelivered.volatile":
      return { type: "socket.undelivered", event: "cursor", args: ["undelivered"], volatile: true };
    case "socket.unconfirmed":
      return { type, generation, messages: [{ event: "chat", args: ["unconfirmed"] }] };
    case "socket.unencodable":
      return { type, event: "chat", args: ["unencodable"], message: "cannot encode" };
    case "callback.failed":
      return { type, callback: "random", message: "random() returned 1, outside [0, 1); clamped" };
    case "socket.started":
      return { type };
    case "call.start":
    case "call.end":
      return { type: "call.set", active: type === "call.start" };
    case "socket.drainNotice":
      return { type, generation, ...MODEL_DRAIN, slot: null };
    case "socket.probed.up":
    case "socket.probed.down":
      // The answer to the background check of the primary (the first server).
      return { type: "socket.probed", url: context.urls[0]!, ok: type === "socket.probed.up" };
    default:
      return { type };
  }
}

/** Top-level state name of a chart snapshot. */
export function topLevelOf(snapshot: ChartSnapshot): string {
  const value = snapshot.value;
  return typeof value === "string" ? value : (Object.keys(value)[0] ?? "");
}

/** What a model is built on. */
export interface ModelOptions {
  /** The chart's input: its config (small numbers keep the graph small) and whether a token provider is declared. */
  input: ConnectionMachineInput;
  /** The events paths may use. */
  events: readonly ModelEventType[];
}

/** The project's own model: every event over {@link MODEL_INPUT}. */
export const FULL_MODEL: ModelOptions = Object.freeze({ input: MODEL_INPUT, events: ALL_EVENTS });

/**
 * Two servers ({@link MODEL_SERVERS}): failover, the background check of the primary once
 * stable on the backup, the move back (after the call in call mode) and its failure. Over the
 * events that lead there, not the whole alphabet: with every event, two servers and call mode
 * multiply into more than 5,000 abstract states, and what the rest of the alphabet does does not
 * depend on the server in use (the full model takes it on one).
 */
export const FAILOVER_MODEL: ModelOptions = Object.freeze({
  // The wait before a move back (heartbeatTimeout) shorter than two probes after a wake
  // (2 × minHeartbeatTimeout), so that it can run out before the link is dropped.
  input: Object.freeze({ config: Object.freeze({ ...MODEL_CONFIG, heartbeatTimeout: 300 }), url: MODEL_SERVERS }),
  events: Object.freeze<ModelEventType[]>([
    "connect",
    // A send while the backup is being left is held for the primary.
    "send",
    "call.start",
    "call.end",
    "socket.connected",
    "socket.connectFailed",
    "socket.disconnected",
    "socket.drainNotice",
    "socket.heartbeatAck",
    "socket.probed.up",
    "socket.probed.down",
    "clock.next",
  ]),
});

/** The model: the production chart plus a scheduler model, as logic for xstate/graph. */
export interface ChartModel {
  /** What it was built on. */
  options: ModelOptions;
  /** The config in force (the input's overrides on the defaults). */
  config: ConnectionConfig;
  /** How far `clock.sleep` moves the clock. */
  sleepFor: number;
  /** The production chart (with an inert socket actor) the model steps through. */
  machine: ConnectionMachine;
  logic: ActorLogic<ModelSnapshot, ModelEvent, undefined>;
  initial: () => ModelSnapshot;
  transition: (snapshot: ModelSnapshot, event: ModelEvent) => ModelSnapshot;
  eventsFor: (snapshot: ModelSnapshot) => ModelEvent[];
  serialize: (snapshot: ModelSnapshot) => string;
  simulate: (events: readonly ModelEvent[]) => ModelSnapshot[];
}

export function createChartModel(options: ModelOptions = FULL_MODEL): ChartModel {
  const allowed = new Set(options.events);
  let clockNow = 0;
  const machine = createConnectionMachine({ random: () => 0.5, now: () => clockNow }).provide({
    actors: { socket: fromCallback(() => () => undefined) },
  });

  interface Sink {
    scheduled: { kind: "schedule" | "cancel"; id: string; event?: EventObject; delay?: number }[];
    emitted: string[];
    taken: string[];
  }
  let sink: Sink = { scheduled: [], emitted: [], taken: [] };

  const host = createEmptyActor();
  host.system.inspect((inspection: InspectionEvent) => {
    if (inspection.type !== "@xstate.microstep") return;
    for (const transition of inspection._transitions) {
      const id = transitionId(transition);
      if (id) sink.taken.push(id);
    }
  });
  // The scope xstate/graph would pass has no scheduler: this one records what the chart
  // schedules, cancels and emits, and executes nothing else.
  const scope = {
    self: host,
    id: "model",
    sessionId: "model",
    logger: () => undefined,
    defer: () => undefined,
    emit: () => undefined,
    system: host.system,
    stopChild: () => undefined,
    actionExecutor: (action: { type: string; params?: unknown }) => {
      const params = (action.params ?? {}) as { id?: string; event?: EventObject; delay?: unknown; sendId?: string };
      if (action.type === "xstate.raise" && typeof params.delay === "number" && params.event) {
        sink.scheduled.push({ kind: "schedule", id: params.id ?? "anonymous", event: params.event, delay: params.delay });
      } else if (action.type === "xstate.cancel" && params.sendId !== undefined) {
        sink.scheduled.push({ kind: "cancel", id: params.sendId });
      } else if (action.type === "xstate.emit" && params.event) {
        sink.emitted.push(params.event.type);
      }
    },
  } as unknown as AnyActorScope;

  interface Draft {
    chart: ChartSnapshot;
    now: number;
    timers: Timer[];
    nextSeq: number;
    nextAckId: number;
    emitted: string[];
    taken: string[];
  }

  const applyScheduling = (draft: Draft) => {
    for (const effect of sink.scheduled) {
      if (effect.kind === "cancel") {
        draft.timers = draft.timers.filter((timer) => timer.id !== effect.id);
        continue;
      }
      // xstate's scheduler would keep the older timer running under a lost id.
      if (draft.timers.some((timer) => timer.id === effect.id)) {
        throw new Error(`the chart scheduled "${effect.id}" while one with that id was pending`);
      }
      draft.timers.push({ id: effect.id, event: effect.event!, dueAt: draft.now + effect.delay!, seq: draft.nextSeq++ });
    }
  };

  const deliver = (draft: Draft, event: EventObject) => {
    clockNow = draft.now;
    sink = { scheduled: [], emitted: draft.emitted, taken: draft.taken };
    draft.chart = machine.transition(draft.chart, event as ConnectionEvent, scope);
    applyScheduling(draft);
  };

  /** Fires every timer due by `draft.now`, earliest first, like `SimulatedClock`'s flush. */
  const flush = (draft: Draft) => {
    for (;;) {
      const due = draft.timers
        .filter((timer) => timer.dueAt <= draft.now)
        .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)[0];
      if (!due) return;
      draft.timers = draft.timers.filter((timer) => timer !== due);
      deliver(draft, due.event);
    }
  };

  const initial = (): ModelSnapshot => {
    clockNow = 0;
    sink = { scheduled: [], emitted: [], taken: [] };
    const draft: Draft = {
      chart: machine.getInitialSnapshot(scope, options.input) as ChartSnapshot,
      now: 0,
      timers: [],
      nextSeq: 0,
      nextAckId: 1,
      emitted: [],
      taken: [],
    };
    applyScheduling(draft);
    return { status: "active", output: undefined, error: undefined, ...draft, emitted: [], taken: [] };
  };
  const config = initial().chart.context.config;
  const sleep = sleepFor(config);

  const transition = (snapshot: ModelSnapshot, event: ModelEvent): ModelSnapshot => {
    const draft: Draft = {
      chart: snapshot.chart,
      now: snapshot.now,
      timers: [...snapshot.timers],
      nextSeq: snapshot.nextSeq,
      nextAckId: snapshot.nextAckId,
      emitted: [],
      taken: [],
    };
    if (event.type === "clock.next") {
      const next = Math.min(...draft.timers.map((timer) => timer.dueAt));
      if (!Number.isFinite(next)) throw new Error("clock.next with no pending timer");
      draft.now = next;
      flush(draft);
    } else if (event.type === "clock.sleep") {
      draft.now += sleep;
      flush(draft);
    } else {
      const concrete = concreteEvent(event.type, draft.chart.context, draft.nextAckId);
      if (event.type === "send.request") draft.nextAckId += 1;
      if (concrete) deliver(draft, concrete);
    }
    return { status: "active", output: undefined, error: undefined, ...draft };
  };

  /** The model events that make sense in a state (socket reports only while a socket is up). */
  const eventsFor = (snapshot: ModelSnapshot): ModelEvent[] => {
    const top = topLevelOf(snapshot.chart);
    // One request in flight at a time keeps the timers (and the graph) bounded.
    const requestPending = snapshot.timers.some((timer) => timer.id.startsWith("request-"));
    const types: ModelEventType[] = COMMANDS.filter((type) => type !== "send.request" || !requestPending);
    if (top === "connecting") types.push(...HANDSHAKE_REPORTS);
    if (top === "connected") {
      types.push(...CONNECTION_REPORTS.filter((type) => type !== "socket.ack" || snapshot.nextAckId > 1));
    }
    if (top === "backingOff") types.push(...AFTERMATH_REPORTS);
    if (snapshot.timers.length > 0) types.push(...CLOCK);
    return types.filter((type) => allowed.has(type)).map((type) => ({ type }));
  };

  /** Pending timers in firing order, named without their per-request suffix. */
  const timerOrder = (snapshot: ModelSnapshot) =>
    [...snapshot.timers]
      .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)
      .map((timer) => (timer.id.startsWith("request-") ? "request" : timer.id.replace(/^xstate\.after\./, "")));

  /**
   * The abstract state the graph is built on: the state value, every context field a guard
   * reads (bounded by the small config), the queue length and the order of pending timers.
   * Unbounded data (times, generation, sequence numbers, retries, backoff step) is left out;
   * a path is a list of model events, replayed from the start, so nothing is lost by that.
   */
  const serialize = (snapshot: ModelSnapshot): string => {
    const context = snapshot.chart.context;
    const top = topLevelOf(snapshot.chart);
    // Each field only where a guard can still read it: leaving the state resets it anyway.
    const retrying = top === "connecting" || top === "backingOff";
    const { config } = context;
    // In a call attempts keep counting without bound; from maxReconnectAttempts - 1 on, every
    // guard decides alike (the next failure exhausts once the call ends).
    const attempt = Math.min(context.attempt, config.maxReconnectAttempts - 1);
    return JSON.stringify([
      snapshot.chart.value,
      context.network,
      queueSize(context.queue),
      context.callActive,
      context.urls.length > 1 ? [context.serverIndex, context.failbackDeferred] : null,
      retrying ? [attempt, context.authRefreshUsed] : null,
      // With one server the failures on it are counted but never read (nowhere to fail over to).
      retrying && context.urls.length > 1 ? [context.serverFailures, context.failingBack] : null,
      top === "backingOff"
        ? [
            context.serverHoldUntil !== null && snapshot.now < context.serverHoldUntil,
            context.timerDue !== null && context.timerDue.monotonic - snapshot.now > config.callMaxDelay,
          ]
        : null,
      top === "connected"
        ? [
            context.heartbeatsAcked,
            context.consecutiveFailures,
            context.probeAfterResume,
            context.pendingHeartbeats.length,
            context.plannedReturnAt !== null,
            context.probeRequested,
            context.moveProbeAt !== null,
          ]
        : null,
      timerOrder(snapshot),
    ]);
  };

  const logic: ActorLogic<ModelSnapshot, ModelEvent, undefined> = {
    transition,
    getInitialSnapshot: initial,
    getPersistedSnapshot: (snapshot) => snapshot,
  };

  /** Runs an event list through the model from the start; one snapshot per event. */
  const simulate = (events: readonly ModelEvent[]): ModelSnapshot[] => {
    const trace: ModelSnapshot[] = [];
    let snapshot = initial();
    for (const event of events) {
      snapshot = transition(snapshot, event);
      trace.push(snapshot);
    }
    return trace;
  };

  return { options, config, sleepFor: sleep, machine, logic, initial, transition, eventsFor, serialize, simulate };
}

/** A generated test path: model events from the initial state, and what the generator expects. */
export interface GeneratedPath {
  /** Why the path exists: `state` (shortest path to an abstract state) or `transition` (top-up). */
  kind: "state" | "transition";
  events: ModelEvent[];
  /** Abstract state the generator says the path ends in. */
  expectedKey: string;
  /** State value the generator says each step reaches. */
  expectedValues: unknown[];
  /** The model run along the events from the start: one snapshot per event. */
  trace: ModelSnapshot[];
}

/**
 * Paths over the model's graph: `getShortestPaths` gives one shortest path to every abstract
 * state; a chart transition that no such path takes, or an event type no such path emits
 * (`connection:reconnected` is emitted on the way into a state a fresh connect reaches first),
 * gets a top-up path: the shortest path to a state that offers it plus the event that does it.
 */
export function generatePaths(model: ChartModel) {
  const shortest = getShortestPaths(model.logic, {
    fromState: model.initial(),
    events: model.eventsFor,
    serializeState: (snapshot) => model.serialize(snapshot),
    serializeEvent: (event) => event.type,
  });
  // alterPath puts an `xstate.init` step first: the events proper start at index 1.
  const paths: GeneratedPath[] = shortest.map((path) => {
    const events = path.steps.slice(1).map((step) => step.event);
    return {
      kind: "state",
      events,
      expectedKey: model.serialize(path.state),
      expectedValues: path.steps.slice(1).map((step) => step.state.chart.value),
      // Run again rather than read from the steps: a step's snapshot is the first one the
      // traversal met with the same abstract state, possibly by another route (other times).
      trace: model.simulate(events),
    };
  });

  const taken = new Set<string>();
  const emitted = new Set<string>();
  for (const path of paths) {
    for (const snapshot of path.trace) {
      snapshot.taken.forEach((id) => taken.add(id));
      snapshot.emitted.forEach((type) => emitted.add(type));
    }
  }
  paths.slice().forEach((path) => {
    const end = path.trace.at(-1) ?? model.initial();
    for (const event of model.eventsFor(end)) {
      const next = model.transition(end, event);
      if (next.taken.every((id) => taken.has(id)) && next.emitted.every((type) => emitted.has(type))) continue;
      next.taken.forEach((id) => taken.add(id));
      next.emitted.forEach((type) => emitted.add(type));
      paths.push({
        kind: "transition",
        events: [...path.events, event],
        expectedKey: model.serialize(next),
        expectedValues: [...path.expectedValues, next.chart.value],
        trace: [...path.trace, next],
      });
    }
  });
  return { abstractStates: shortest.length, paths, modelTaken: taken };
}
