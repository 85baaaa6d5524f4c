import fc from "fast-check";
import { createActor, createMachine, fromCallback, SimulatedClock, type Actor, type InspectionEvent } from "xstate";
import { backoffEnvelope } from "../../src/machine/backoff.js";
import { MAX_TIMER_MS } from "../../src/machine/config.js";
import { createConnectionMachine, type ConnectionMachine } from "../../src/machine/connectionMachine.js";
import type { CallbackName } from "../../src/machine/environment.js";
import { queuedMessages, queueSize } from "../../src/machine/queue.js";
import type { SocketActorInput } from "../../src/machine/socketActor.js";
import type {
  ConnectionConfig,
  ConnectionContext,
  ConnectionEvent,
  EmittedEvent,
  JitterStrategy,
  NetworkStatus,
  SocketCommand,
  SocketEvent,
  TopLevelState,
} from "../../src/machine/types.js";
import { mulberry32, withMathRandom } from "../../bench/lib/prng.js";
import { TOP_LEVEL_STATES } from "../../src/services/WebSocketService.js";
import { runFor } from "./fakeSocket.js";

/**
 * Property-based testing of the production chart: a harness that runs it on a
 * `SimulatedClock` with a fake socket actor that behaves like the real one where the chart can
 * tell (an emit on a socket that is not connected comes back as `socket.undelivered`, an
 * unencodable one as `socket.unencodable`, heartbeats and acks are answered only on a
 * connected socket, a close closes, delivery evidence is kept by the real actor's rule), the
 * steps fast-check draws (the service's commands, the socket's facts, time, and the faults of
 * issue 11: wall-clock steps, a `random` and a `now` that throw or return nonsense, bursts of
 * notifications, commands sent from inside event handlers), and the invariants checked after
 * every step. Every sequence ends with the faults stopped (`heal`): the chart must then be
 * connected within a bound and stay so. Every violation is collected, with a trace of the
 * last things that happened, and thrown after the step so that fast-check can shrink the
 * sequence.
 */

/** Why a connected socket goes away (Socket.IO's disconnect reasons). */
export const DISCONNECT_REASONS = [
  "io server disconnect",
  "io client disconnect",
  "ping timeout",
  "transport close",
  "transport error",
  "parse error",
] as const;

/** The kinds of `connect_error` the socket actor reports. */
export const FAILURES = ["transport", "timeout", "auth", "retryAfter", "authRetryAfter"] as const;

const STALE_FACTS = ["connected", "connectFailed", "tokenMissing", "awaitingToken", "disconnected", "message", "heartbeatAck", "unconfirmed"] as const;

/** The functions the service reports as `callback.failed` (the chart never calls them itself). */
export const SERVICE_CALLBACKS = ["inspect", "logger", "isAuthError", "auth", "ack", "onListenerError"] as const;

/** The events a `react` step can hang a command on. */
export const REACTION_TRIGGERS = [
  "connection:max_attempts_reached",
  "connection:disconnected",
  "connection:connected",
  "connection:failed",
  "connection:reconnecting",
  "connection:auth_required",
  "connection:resumed",
  "message:dropped",
  "callback:failed",
] as const;

/** What a handler sends from inside an emitted event (as an app's listener calls the service). */
export const REACTION_COMMANDS = ["forceReconnect", "disconnect", "connect", "send", "resume", "offline", "online", "authUpdated"] as const;

type Trigger = (typeof REACTION_TRIGGERS)[number];
type ReactionCommand = (typeof REACTION_COMMANDS)[number];

/** What apps write in their listeners (issue 11's examples first): drawn as often as every other pair together. */
const LISTENER_HABITS: readonly { on: Trigger; command: ReactionCommand }[] = [
  { on: "connection:max_attempts_reached", command: "forceReconnect" },
  { on: "connection:disconnected", command: "forceReconnect" },
  { on: "connection:disconnected", command: "disconnect" },
  { on: "connection:connected", command: "send" },
  { on: "connection:auth_required", command: "authUpdated" },
  { on: "connection:reconnecting", command: "online" },
];

const HOUR = 3_600_000;

/** The servers a setup with `servers: n` lists, the first n of these (the first is the primary). */
export const SERVER_URLS = ["https://s0.example", "https://s1.example", "https://s2.example"] as const;

/** The system's wall clock at simulated time 0 (`Date.now` reads this plus the simulated time in a sequence). */
export const WALL_EPOCH = 1_700_000_000_000;

/** One step of a sequence: a command of the service, a fact of the socket, time passing, or a fault. */
export type Action =
  | { kind: "connect" }
  | { kind: "disconnect" }
  /** With the next ticket (`id`), as forceReconnection() sends it. */
  | { kind: "forceReconnect" }
  /**
   * `poison`: Socket.IO cannot encode it (a throwing toJSON): the socket refuses it at the emit.
   * `call`: call signalling (`priority: "call"`), never dropped for overflow.
   */
  | {
      kind: "send";
      mode: "plain" | "volatile" | "callback" | "request";
      ttl?: number;
      timeout?: number;
      poison?: boolean;
      call?: boolean;
    }
  /** setCallActive(active). */
  | { kind: "call"; active: boolean }
  /** The server announces a planned restart (`softphone:drain`) on the connected socket. */
  | { kind: "drainNotice"; reconnectAfter: number; windowMs: number; slot: number | null }
  /** The answer to a background check of the primary (the socket actor's HTTP request). */
  | { kind: "probed"; ok: boolean }
  | { kind: "authUpdated" }
  | { kind: "online" }
  | { kind: "offline" }
  | { kind: "resume" }
  | { kind: "dispose" }
  | { kind: "connected" }
  | { kind: "connectFailed"; failure: (typeof FAILURES)[number]; retryAfter: number }
  | { kind: "tokenMissing" }
  | { kind: "awaitingToken"; awaiting: boolean }
  | { kind: "disconnected"; reason: (typeof DISCONNECT_REASONS)[number] }
  | { kind: "message" }
  /** An Engine.IO ping: a sign of life the chart does not see, only the socket actor. */
  | { kind: "ping" }
  | { kind: "heartbeatAck"; pick: "oldest" | "newest" }
  | { kind: "ack"; pick: "oldest" | "newest" }
  | { kind: "stale"; fact: (typeof STALE_FACTS)[number]; back: number }
  | { kind: "advance"; ms: number }
  | { kind: "sleep"; ms: number }
  /** The wall clock (`now`) is stepped (NTP, a person); the monotonic clock is not. */
  | { kind: "wallStep"; ms: number }
  /** `count` notifications in a row, `gap` ms apart (bindBrowserNetwork's visibilitychange + pageshow). */
  | { kind: "burst"; notification: "resume" | "offline" | "mixed"; count: number; gap: number }
  /** The service reports a fault of one of its callbacks. */
  | { kind: "callbackFailed"; callback: (typeof SERVICE_CALLBACKS)[number] }
  /** Arms a handler: the next `on` event sends `command` from inside the handler. */
  | { kind: "react"; on: Trigger; command: ReactionCommand };

/** A draw of a faulty `random`: a throw, or 1, -1, NaN. */
export type RandomFault = "throw" | "one" | "minusOne" | "nan";

/** The jitter source: a seeded generator, pinned at either end of [0, 1), or seeded with every `every`-th draw faulty. */
export type RandomSpec =
  | { mode: "seeded"; seed: number }
  | { mode: "lowest" }
  | { mode: "highest" }
  | { mode: "faulty"; seed: number; every: number; fault: RandomFault };

/** The user's wall clock (`now`): sane, or every `every`-th call NaN, Infinity or a throw. */
export interface WallSpec {
  fault: "none" | "nan" | "infinity" | "throw";
  every: number;
}

export interface ChartSetup {
  config: Partial<ConnectionConfig>;
  /** How many servers `url` lists (failover from 2 on). @default 1 */
  servers?: number;
  hasTokenProvider: boolean;
  network: NetworkStatus;
  random: RandomSpec;
  wall: WallSpec;
}

const RANDOM_FAULT_VALUES: Record<Exclude<RandomFault, "throw">, number> = { one: 1, minusOne: -1, nan: Number.NaN };

/** The user's `random`: `onFault` is told before a faulty draw; none once the faults stopped. */
function randomOf(spec: RandomSpec, onFault: () => void, healed: () => boolean): () => number {
  switch (spec.mode) {
    case "seeded":
      return mulberry32(spec.seed);
    case "lowest":
      return () => 0;
    case "highest":
      return () => 1 - Number.EPSILON;
    case "faulty": {
      const draw = mulberry32(spec.seed);
      let draws = 0;
      return () => {
        const value = draw();
        draws += 1;
        if (healed() || draws % spec.every !== 0) return value;
        onFault();
        if (spec.fault === "throw") throw new Error("entropy ran out");
        return RANDOM_FAULT_VALUES[spec.fault];
      };
    }
  }
}

/** Inclusive lower bound and upper bound (open unless the spread is zero) of a backoff draw. */
interface Bounds {
  lower: number;
  upper: number;
  open: boolean;
}

/** The bounds of `computeBackoffDelay(step, config, random, previous)` for any `random`. */
export function backoffBounds(step: number, config: ConnectionConfig, previous: number | null): Bounds {
  const envelope = backoffEnvelope(step, config);
  switch (config.jitterStrategy) {
    case "additive":
      return { lower: envelope, upper: envelope + config.jitterRange, open: config.jitterRange > 0 };
    case "full": {
      const floor = config.baseDelay / 2;
      return { lower: floor, upper: Math.max(floor, envelope), open: envelope > floor };
    }
    case "decorrelated": {
      const upper = Math.min(config.maxDelay, 3 * Math.max(config.baseDelay, previous ?? config.baseDelay));
      return { lower: config.baseDelay, upper: Math.max(config.baseDelay, upper), open: upper > config.baseDelay };
    }
  }
}

/** The bounds of any backoff draw of a strategy, whatever the step and the previous delay. */
function anyBackoffBounds(config: ConnectionConfig): Bounds {
  const lower = config.jitterStrategy === "full" ? config.baseDelay / 2 : Math.min(config.baseDelay, config.maxDelay);
  const upper = config.jitterStrategy === "additive" ? config.maxDelay + config.jitterRange : config.maxDelay;
  return { lower, upper: Math.max(lower, upper), open: false };
}

/** The largest whole-ms delay a `retryAfter` hint can produce (`computeRetryAfterDelay`, rounded up). */
function retryAfterCeiling(retryAfter: number, config: ConnectionConfig): number {
  return retryAfter + Math.max(retryAfter, config.jitterRange);
}

/** The longest a link may stay dead under the chart's heartbeat before it is dropped (docs/health.md). */
export function deadLinkBound(config: ConnectionConfig): number {
  return config.heartbeatInterval + config.unhealthyThreshold * config.heartbeatTimeout;
}

/** Implementations swapped into the chart to break it on purpose. */
export type ChartMutation = Parameters<ConnectionMachine["provide"]>[0];

/** The chart's config as written (states, transitions), for a breakage `machine.provide` cannot express. */
export type ChartConfig = ConnectionMachine["config"];

/** A chart broken on purpose: implementations swapped in, or a transition changed in its config. */
export interface ChartBreakage {
  provide?: ChartMutation | ((harness: ChartHarness) => ChartMutation);
  patch?: (config: ChartConfig) => ChartConfig;
}

type ClockInternals = { timeouts: Map<number, { start: number; timeout: number }> };

interface MarkerRecord {
  marker: string;
  label: string;
  ackId?: number;
  poison: boolean;
  call: boolean;
  delivered: number;
  dropped: number;
  unconfirmed: number;
  dropReasons: string[];
}

/** The fake socket's view of its one socket. */
interface FakeSocketState {
  status: "closed" | "handshaking" | "connected" | "failed";
  /** Generation of the last `open`. */
  generation: number;
  heartbeats: number[];
  acks: number[];
  /**
   * As the real actor: "off" only once two heartbeats in a row went unanswered (the chart says
   * so with `stopDeliveryTracking`) and the server showed signs of life (a ping, a message)
   * since the first of them; any probe ack turns it back on. (The real actor's confirmation
   * probe every 256 unconfirmed sends is not modelled: a sequence has at most 60 steps.)
   */
  tracking: "on" | "off";
  unanswered: number;
  aliveSinceUnanswered: boolean;
  lastHeartbeatSeq: number;
  unconfirmed: { marker: string; afterSeq: number }[];
}

function freshSocket(generation: number, status: FakeSocketState["status"]): FakeSocketState {
  return {
    status,
    generation,
    heartbeats: [],
    acks: [],
    tracking: "on",
    unanswered: 0,
    aliveSinceUnanswered: false,
    lastHeartbeatSeq: 0,
    unconfirmed: [],
  };
}

/** The fault kinds the generators produce, counted over a run. */
export const FAULT_KINDS = [
  "wall steps",
  "faulty random draws",
  "faulty now calls",
  "bursts",
  "burst notifications",
  "unencodable reports",
  "callback.failed events",
  "forceReconnect tickets",
  "forced opens while offline",
  "reactions fired",
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Counters over all the sequences of a run, to show what the generators reach. */
export interface Coverage {
  sequences: number;
  steps: number;
  states: Set<string>;
  reconnectingBy: Record<JitterStrategy, number>;
  delivered: number;
  dropped: Set<string>;
  unconfirmed: number;
  disconnectReasons: Set<string>;
  faults: Record<FaultKind, number>;
  /** "trigger → command" of each reaction fired. */
  reactions: Map<string, number>;
  /** Sequences healed (not disposed before the faults stopped), by the state the heal found. */
  healedFrom: Map<string, number>;
  /**
   * The longest simulated time from the faults stopping to `connected`: in all (a server's
   * retryAfter hold of weeks is waited out), and where no server hold was in force.
   */
  longestHeal: number;
  longestHealUnheld: number;
  /**
   * Dead links dropped by the heartbeat (after an accepted ack): in all, those with
   * notifications (resume, offline) arriving between the last ack and the drop, those dropped
   * in the middle of a burst, and the slowest as a share of the bound.
   */
  deadLinks: number;
  deadLinksNotified: number;
  deadLinksInBursts: number;
  slowestDetection: number;
  /** Retries scheduled during a call, and at a planned restart's moment. */
  callRetries: number;
  plannedReturns: number;
  /** The reasons of every `connection:server_changed` seen. */
  serverChanges: Set<string>;
}

export function emptyCoverage(): Coverage {
  return {
    sequences: 0,
    steps: 0,
    states: new Set(),
    reconnectingBy: { additive: 0, full: 0, decorrelated: 0 },
    delivered: 0,
    dropped: new Set(),
    unconfirmed: 0,
    disconnectReasons: new Set(),
    faults: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>,
    reactions: new Map(),
    healedFrom: new Map(),
    longestHeal: 0,
    longestHealUnheld: 0,
    deadLinks: 0,
    deadLinksNotified: 0,
    deadLinksInBursts: 0,
    slowestDetection: 0,
    callRetries: 0,
    plannedReturns: 0,
    serverChanges: new Set(),
  };
}

const TRACE_LENGTH = 60;

/** The service's rule for a forceReconnection() promise (WebSocketService#reconnectNow). */
interface Ticket {
  via: string;
  /** The chart has acted on it (`forceId` reached it). */
  acted: boolean;
  outcome: "pending" | "resolved" | "rejected";
}

function topOf(value: unknown): string {
  return typeof value === "string" ? value : Object.keys(value as object)[0]!;
}

/**
 * The production chart with a fake socket, a simulated clock and the invariant checker. One
 * harness per sequence; run it inside {@link runChartSequence}, which makes the system's
 * clock and `Math.random` (the fallbacks of a faulty `now` and `random`) replayable.
 */
export class ChartHarness {
  readonly clock = new SimulatedClock();
  readonly actor: Actor<ConnectionMachine>;
  readonly config: ConnectionConfig;
  readonly emitted: EmittedEvent[] = [];
  readonly commands: SocketCommand[] = [];
  readonly fake: FakeSocketState = freshSocket(0, "closed");
  /** What the chart was told about the network last (as of the events it has processed). */
  network: NetworkStatus;
  /** The user's wall clock (`now`) minus the system's: moved by wall steps. */
  wallOffset = 0;
  disposed = false;
  /** Live instances of the fake socket actor. */
  live = 0;
  /** dispose() was called: from here a call is ignored, as the service ignores it. */
  private closing = false;
  /** The faults stopped: random and now behave, no reaction is armed. */
  private healed = false;
  private sendBack: ((event: SocketEvent) => void) | null = null;
  private readonly markers = new Map<string, MarkerRecord>();
  private readonly violations: string[] = [];
  /** The ackIds of the requests the chart settled with an error. */
  private readonly failedRequests = new Set<number>();
  private readonly trace: string[] = [];
  private nextMarker = 1;
  private nextAckId = 1;
  private lastOpenGeneration = 0;
  /** The snapshot before the macrostep being processed (observers run after emitted events). */
  private previous: ConnectionContext;
  /** The root actor, once created (inspection events before that are its construction). */
  private root: unknown = null;
  /** The event that started the macrostep being processed; null between macrosteps. */
  private macrostepEvent: { type: string } | null = null;
  /** The `retryAfter` of the failure being reported, while it is being processed. */
  private hintInFlight: number | null = null;
  /**
   * A call was active at some point since the attempts were last reset (a connection, connect()):
   * then, and only then, attempts may have counted past maxReconnectAttempts.
   */
  private callSinceReset = false;
  /** How the last retry was scheduled: a backoff draw, a draw capped by a call, or the moment a planned restart fixed. */
  private lastScheduleKind: "backoff" | "planned" | "call" = "backoff";
  /** The top-level state before the macrostep being processed. */
  private previousTop = "idle";
  private largestHint = 0;
  private lastReconnectingDelay: number | null = null;
  private emittedAtDispose = 0;
  private commandsAtDispose = 0;
  /** Handlers armed by `react` steps, oldest first. */
  private readonly reactions: { on: Trigger; command: ReactionCommand }[] = [];
  private reactionsFired = 0;
  private nextTicket = 1;
  private readonly tickets = new Map<number, Ticket>();
  /** The user functions that misbehaved, and those whose fault was announced (once each, as the service does). */
  private readonly misbehaved = new Set<CallbackName>();
  private readonly reportedFaults = new Set<CallbackName>();
  private callbackFailedSent = 0;
  private callbackFailedEmitted = 0;
  private nowCalls = 0;
  /** The last heartbeat ack the chart accepted, on which connection: a dead link is timed from it. */
  private lastAcceptedAck: { generation: number; at: number } | null = null;
  /** The end of the last sleep (timers fire late by design): a dead link is timed from there at the latest. */
  private lastSleepEnd = -Infinity;
  /** Inside a burst step. */
  private bursting = false;
  /** When the chart last processed a notifyResume() or notifyOffline(). */
  private lastNotificationAt = -Infinity;
  /**
   * Sends emitted on a socket that was then lost (a drop the service did not cause, the drop
   * for missed heartbeats, or a forced reconnection) before a heartbeat ack confirmed them:
   * each is owed a `message:unconfirmed`, by the end of the step that lost the socket.
   * (A deliberate end, disconnect() or dispose(), closes gracefully and owes nothing.)
   */
  private readonly owed = new Map<string, string>();

  /**
   * @param breakage a chart broken on purpose (`machine.provide`, or a patched transition), to
   *   prove that an invariant fails when the chart is broken.
   */
  constructor(
    readonly setup: ChartSetup,
    private readonly coverage: Coverage,
    breakage: ChartBreakage = {},
  ) {
    this.network = setup.network;
    const socketLogic = fromCallback<SocketCommand, SocketActorInput, SocketEvent>(({ sendBack, receive }) => {
      this.live += 1;
      this.sendBack = sendBack;
      // As the real actor: it announces its start (a fresh chart is idle and ignores it).
      sendBack({ type: "socket.started" });
      receive((command) => this.onCommand(command));
      return () => {
        this.live -= 1;
        this.sendBack = null;
      };
    });
    const random = randomOf(
      setup.random,
      () => {
        this.misbehaved.add("random");
        this.coverage.faults["faulty random draws"] += 1;
      },
      () => this.healed,
    );
    let machine = createConnectionMachine({
      random,
      now: () => this.userNow(),
      monotonic: () => this.clock.now(),
      onCallbackFault: (callback, message) => this.onCallbackFault(callback, message),
    });
    if (breakage.patch) {
      machine = createMachine(breakage.patch(machine.config), machine.implementations) as unknown as ConnectionMachine;
    }
    const mutation = typeof breakage.provide === "function" ? breakage.provide(this) : breakage.provide;
    machine = machine.provide({ actors: { socket: socketLogic } }).provide(mutation ?? {});
    this.actor = createActor(machine, {
      clock: this.clock,
      input: {
        config: setup.config,
        hasTokenProvider: setup.hasTokenProvider,
        network: setup.network,
        ...((setup.servers ?? 1) > 1 ? { url: SERVER_URLS.slice(0, setup.servers) } : {}),
      },
      inspect: (event) => this.onInspect(event),
    });
    this.root = this.actor;
    this.actor.on("*", (event) => this.onEmitted(event as EmittedEvent));
    this.actor.subscribe({
      next: (snapshot) => {
        this.onSnapshot(snapshot);
        this.previous = snapshot.context;
        this.previousTop = topOf(snapshot.value);
        this.log(`  state ${JSON.stringify(snapshot.value)} attempt=${snapshot.context.attempt} queue=${queueSize(snapshot.context.queue)}`);
      },
      error: (error) => this.violate(`the actor failed: ${String(error)}`),
    });
    this.actor.start();
    this.previous = this.actor.getSnapshot().context;
    this.config = this.previous.config;
    this.coverage.sequences += 1;
  }

  /** The system's wall clock in a sequence (what `Date.now` returns there): never stepped. */
  systemWall(): number {
    return WALL_EPOCH + this.clock.now();
  }

  /** The `now` handed to the chart: the stepped wall clock, every `every`-th call faulty while the faults last. */
  private userNow(): number {
    const value = this.systemWall() + this.wallOffset;
    const { fault, every } = this.setup.wall;
    if (fault === "none" || this.healed) return value;
    this.nowCalls += 1;
    if (this.nowCalls % every !== 0) return value;
    this.misbehaved.add("now");
    this.coverage.faults["faulty now calls"] += 1;
    if (fault === "throw") throw new Error("clock unplugged");
    return fault === "nan" ? Number.NaN : Number.POSITIVE_INFINITY;
  }

  private log(line: string): void {
    this.trace.push(`[t=${this.clock.now()}] ${line}`);
    if (this.trace.length > TRACE_LENGTH) this.trace.shift();
  }

  private violate(message: string): void {
    this.violations.push(message);
    this.log(`!! ${message}`);
  }

  private record(marker: string): MarkerRecord | undefined {
    const record = this.markers.get(marker);
    if (!record) this.violate(`an event names marker ${marker}, which was never sent`);
    return record;
  }

  private markerOf(args: unknown[]): string | undefined {
    const first = args[0];
    return typeof first === "string" && first.startsWith("m") ? first : undefined;
  }

  private topState(): string {
    return topOf(this.actor.getSnapshot().value);
  }

  private isIn(value: object): boolean {
    return JSON.stringify(this.actor.getSnapshot().value) === JSON.stringify(value);
  }

  /** Tracks which event each macrostep of the chart processes, and what it was told about the network. */
  private onInspect(event: InspectionEvent): void {
    if (event.actorRef !== this.root) return;
    if (event.type === "@xstate.microstep" && this.macrostepEvent === null) {
      this.macrostepEvent = event.event;
      if (event.event.type === "network.online") this.network = "online";
      if (event.event.type === "network.offline") this.network = "offline";
      if (event.event.type === "network.offline" || event.event.type === "power.resume") this.lastNotificationAt = this.clock.now();
    } else if (event.type === "@xstate.snapshot") {
      this.macrostepEvent = null;
    }
  }

  /** After every macrostep: attempts while offline, forceReconnection()'s promises. */
  private onSnapshot(snapshot: ReturnType<Actor<ConnectionMachine>["getSnapshot"]>): void {
    const before = this.previous;
    const context = snapshot.context;
    if (before && before.network === "offline" && context.network === "offline" && context.attempt > before.attempt) {
      this.violate(`attempt counted while offline (${before.attempt} -> ${context.attempt}) on ${this.macrostepEvent?.type}`);
    }
    const state = topOf(snapshot.value);
    if (context.attempt === 0) this.callSinceReset = false;
    if (context.callActive) this.callSinceReset = true;
    // A planned restart's loss is not a failure: it counts no attempt.
    if (
      before &&
      this.previousTop === "connected" &&
      before.plannedReturnAt !== null &&
      this.macrostepEvent?.type === "socket.disconnected" &&
      (this.macrostepEvent as { generation?: number }).generation === before.generation &&
      context.attempt !== before.attempt
    ) {
      this.violate(`a planned restart's loss counted an attempt (${before.attempt} -> ${context.attempt})`);
    }
    if (state === "exhausted" && context.callActive) this.violate("exhausted during a call");
    if (context.url !== context.urls[context.serverIndex]) {
      this.violate(`url ${context.url} is not urls[${context.serverIndex}] (${context.urls.join(", ")})`);
    }
    for (const [id, ticket] of this.tickets) {
      if (ticket.outcome !== "pending") continue;
      if (snapshot.status !== "active") {
        ticket.outcome = "rejected";
        continue;
      }
      if (context.forceId < id) continue;
      if (!ticket.acted) {
        ticket.acted = true;
        // In a call a working link is kept (and probed): the ticket resolves on it.
        const keptInCall = state === "connected" && before !== undefined && before.callActive && before.consecutiveFailures === 0;
        // Its own attempt: a handshake in flight, opened for it (even offline) or joined.
        if (!keptInCall && JSON.stringify(snapshot.value) !== JSON.stringify({ connecting: "handshaking" })) {
          this.violate(`forceReconnect #${id} (${ticket.via}) was acted on in ${JSON.stringify(snapshot.value)}, with no handshake in flight`);
        }
      }
      if (state === "connected") ticket.outcome = "resolved";
      else if (state === "authRequired" || state === "exhausted" || state === "idle") ticket.outcome = "rejected";
      else if (state === "backingOff" && context.network === "offline") ticket.outcome = "rejected";
    }
  }

  /** As the service's fault reporter: each function announced once, nothing after dispose(). */
  private onCallbackFault(callback: CallbackName, message: string): void {
    if (!this.misbehaved.has(callback)) this.violate(`${callback} reported as faulty but it behaved: ${message}`);
    if (this.reportedFaults.has(callback) || this.closing) return;
    this.reportedFaults.add(callback);
    this.send({ type: "callback.failed", callback, message }, "fault reporter");
  }

  // --- the fake socket actor --------------------------------------------------------------

  private report(event: SocketEvent): void {
    if (!this.sendBack) throw new Error("the fake socket actor is not running");
    try {
      this.sendBack(event);
    } catch (error) {
      this.violate(`the chart threw on ${event.type}: ${String(error)}`);
    }
  }

  private onCommand(command: SocketCommand): void {
    this.commands.push(command);
    this.log(`  socket <- ${JSON.stringify(command)}`);
    if (this.disposed && this.actor.getSnapshot().status === "stopped") {
      this.violate(`the socket got ${command.type} after dispose`);
    }
    const fake = this.fake;
    switch (command.type) {
      case "open": {
        // The one exception: forceReconnection() tries once even offline (a person asked, and
        // the offline hint is often wrong): only in the macrostep that processes its event.
        const forced = this.macrostepEvent?.type === "forceReconnect";
        const offline = this.network === "offline" || this.actor.getSnapshot().context.network === "offline";
        if (offline && forced) this.coverage.faults["forced opens while offline"] += 1;
        if (!forced && this.network === "offline") {
          this.violate(`open (generation ${command.generation}) while offline, on ${this.macrostepEvent?.type}`);
        }
        if (!forced && this.actor.getSnapshot().context.network === "offline") {
          this.violate(`open (generation ${command.generation}) while context.network is offline, on ${this.macrostepEvent?.type}`);
        }
        if (command.generation <= this.lastOpenGeneration) {
          this.violate(`open generation ${command.generation} after ${this.lastOpenGeneration}`);
        }
        this.lastOpenGeneration = command.generation;
        {
          const context = this.actor.getSnapshot().context;
          if (command.url !== context.url) this.violate(`open to ${command.url}, the server in use is ${context.url}`);
          // The last session goes only to the server that holds it, unless the servers share sessions.
          if (command.offerSession && !(context.config.sharedSessions || context.sessionServer === command.url)) {
            this.violate(`session of ${context.sessionServer} offered to ${command.url}`);
          }
        }
        // A connected socket replaced (forceReconnection() on a link that may be dead: that is
        // when a person presses it): what it could not confirm is owed an announcement too.
        if (fake.status === "connected") {
          this.owe(`replaced by a forced reconnection (generation ${fake.generation})`);
          this.reportUnconfirmed(fake.generation);
        }
        Object.assign(fake, freshSocket(command.generation, "handshaking"));
        break;
      }
      case "close":
        if (command.announceUnconfirmed) {
          this.owe(`dropped for missed heartbeats (generation ${fake.generation})`);
          this.reportUnconfirmed(fake.generation);
        }
        this.loseSocket("closed");
        break;
      case "emit": {
        const marker = this.markerOf(command.args);
        if (fake.status !== "connected") {
          this.report({
            type: "socket.undelivered",
            event: command.event,
            args: command.args,
            ackId: command.ackId,
            ttl: command.ttl,
            volatile: command.volatile,
          });
          break;
        }
        const record = marker === undefined ? undefined : this.record(marker);
        if (record?.poison) {
          // As the real actor: the encoder throws at the emit, nothing is sent or remembered.
          this.coverage.faults["unencodable reports"] += 1;
          this.report({
            type: "socket.unencodable",
            event: command.event,
            args: command.args,
            ackId: command.ackId,
            message: `"${command.event}" cannot be encoded by Socket.IO: toJSON threw`,
          });
          break;
        }
        if (record && marker !== undefined) {
          record.delivered += 1;
          this.coverage.delivered += 1;
          if (command.ackId === undefined) {
            if (fake.tracking === "on") fake.unconfirmed.push({ marker, afterSeq: fake.lastHeartbeatSeq });
          } else {
            fake.acks.push(command.ackId);
          }
        }
        break;
      }
      case "probe": {
        const primary = this.actor.getSnapshot().context.urls[0];
        if (command.url !== primary) this.violate(`probe of ${command.url}, not of the primary ${primary}`);
        break;
      }
      case "stopDeliveryTracking":
        // As the real actor: a server that stays alive through two unanswered heartbeats does not ack them.
        fake.unanswered += 1;
        if (fake.unanswered >= 2 && fake.aliveSinceUnanswered && fake.tracking === "on") {
          fake.tracking = "off";
          fake.unconfirmed = [];
        }
        break;
      case "heartbeat":
        if (fake.status === "connected" && command.generation === fake.generation) {
          fake.heartbeats.push(command.seq);
          fake.lastHeartbeatSeq = command.seq;
        }
        break;
    }
  }

  /** A ping or a message: the server is alive (counts only after an unanswered heartbeat, as in the real actor). */
  private signOfLife(): void {
    if (this.fake.unanswered > 0) this.fake.aliveSinceUnanswered = true;
  }

  /** The sends the current socket could not prove delivered are owed an announcement. */
  private owe(why: string): void {
    for (const { marker } of this.fake.unconfirmed) this.owed.set(marker, why);
  }

  /** As the real actor's close for missed heartbeats: what its list holds, for the socket that was dropped. */
  private reportUnconfirmed(generation: number): void {
    if (this.fake.unconfirmed.length === 0) return;
    const messages = this.fake.unconfirmed.map(({ marker }) => ({ event: "note", args: [marker] }));
    this.fake.unconfirmed = [];
    this.report({ type: "socket.unconfirmed", generation, messages });
  }

  private loseSocket(status: FakeSocketState["status"]): void {
    this.fake.status = status;
    this.fake.heartbeats = [];
    this.fake.acks = [];
  }

  /** The server acks a heartbeat: a probe ack confirms what was sent before it and restarts tracking. */
  private ackHeartbeat(pick: "oldest" | "newest"): void {
    const fake = this.fake;
    const seq = pick === "oldest" ? fake.heartbeats.shift()! : fake.heartbeats.pop()!;
    fake.unconfirmed = fake.unconfirmed.filter((sent) => sent.afterSeq >= seq);
    fake.tracking = "on";
    fake.unanswered = 0;
    fake.aliveSinceUnanswered = false;
    const before = this.actor.getSnapshot().context;
    this.report({ type: "socket.heartbeatAck", generation: fake.generation, seq });
    const after = this.actor.getSnapshot().context;
    // Accepted (a round trip recorded) unless the chart ignored it: the dead-link clock restarts.
    if (after !== before && after.heartbeatsAcked) this.lastAcceptedAck = { generation: after.generation, at: this.clock.now() };
  }

  private ackRequest(pick: "oldest" | "newest"): void {
    const ackId = pick === "oldest" ? this.fake.acks.shift()! : this.fake.acks.pop()!;
    this.report({ type: "socket.ack", ackId, response: ["ok"] });
  }

  // --- emitted events ---------------------------------------------------------------------

  private onEmitted(event: EmittedEvent): void {
    this.emitted.push(event);
    this.log(`  emitted ${JSON.stringify(event)}`);
    try {
      this.account(event);
      this.react(event);
    } catch (error) {
      this.violate(`the handler of ${event.type} threw: ${String(error)}`);
    }
  }

  private account(event: EmittedEvent): void {
    switch (event.type) {
      case "message:dropped": {
        const marker = this.markerOf(event.args);
        if (marker === undefined) break;
        const record = this.record(marker);
        if (!record) break;
        record.dropped += 1;
        record.dropReasons.push(event.reason);
        this.coverage.dropped.add(event.reason);
        if (event.reason === "unencodable" && !record.poison) this.violate(`${marker} (${record.label}) dropped as unencodable`);
        if (event.reason === "overflow" && record.call) this.violate(`${marker} (${record.label}), call signalling, dropped for overflow`);
        break;
      }
      case "message:unconfirmed": {
        const marker = this.markerOf(event.args);
        if (marker === undefined) break;
        const record = this.record(marker);
        if (!record) break;
        record.unconfirmed += 1;
        this.coverage.unconfirmed += 1;
        if (record.delivered !== 1) this.violate(`${marker} announced unconfirmed but emitted ${record.delivered} times`);
        if (record.unconfirmed > 1) this.violate(`${marker} announced unconfirmed ${record.unconfirmed} times`);
        break;
      }
      case "request:settled":
        if (event.error) this.failedRequests.add(event.ackId);
        break;
      case "connection:reconnecting":
        this.checkReconnectingDelay(event.delay);
        break;
      case "connection:disconnected":
        this.coverage.disconnectReasons.add(event.reason);
        if (event.reason === "heartbeat timeout") this.checkDeadLinkDetection();
        break;
      case "callback:failed":
        this.callbackFailedEmitted += 1;
        break;
      case "connection:server_changed":
        this.coverage.serverChanges.add(event.reason);
        break;
      case "connection:max_attempts_reached":
        if (this.actor.getSnapshot().context.callActive || this.previous.callActive) {
          this.violate("gave up (max_attempts_reached) during a call");
        }
        break;
    }
  }

  /** A `connection:reconnecting` delay against its strategy's bounds (and the `retryAfter` floor). */
  private checkReconnectingDelay(delay: number): void {
    const context = this.actor.getSnapshot().context;
    const config = this.config;
    this.coverage.reconnectingBy[config.jitterStrategy] += 1;
    if (this.network === "offline") this.violate(`a retry scheduled while offline (delay ${delay})`);
    this.lastReconnectingDelay = delay;
    if (context.nextRetryDelay !== delay) {
      this.violate(`reconnecting delay ${delay} but context.nextRetryDelay ${context.nextRetryDelay}`);
    }
    // nextRetryAt is on the wall clock (shown to people): the user's, or the system's when `now` misbehaved.
    const walls = [this.systemWall() + this.wallOffset, ...(this.misbehaved.has("now") ? [this.systemWall()] : [])];
    if (context.nextRetryAt === null || !walls.some((wall) => context.nextRetryAt === wall + delay)) {
      this.violate(`nextRetryAt ${context.nextRetryAt} is not the wall clock (${walls.join(" or ")}) plus the delay ${delay}`);
    }
    if (delay > MAX_TIMER_MS) this.violate(`reconnecting delay ${delay} beyond the timer limit ${MAX_TIMER_MS}`);
    if (!Number.isInteger(delay) || delay < 0) this.violate(`reconnecting delay ${delay} is not whole ms ≥ 0`);
    const plannedAt = this.previous.plannedReturnAt;
    if (plannedAt !== null) {
      // A planned restart: the moment the notice fixed, whatever the backoff, and no step taken.
      this.lastScheduleKind = "planned";
      this.coverage.plannedReturns += 1;
      const expected = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(plannedAt - this.clock.now())));
      if (delay !== expected) this.violate(`a planned return scheduled in ${delay} ms, the notice fixed ${expected} ms`);
      if (context.backoffStep !== this.previous.backoffStep) {
        this.violate(`a planned return raised the backoff step (${this.previous.backoffStep} -> ${context.backoffStep})`);
      }
      return;
    }
    const step = context.backoffStep;
    if (!(Number.isInteger(step) && step >= 1)) this.violate(`backoffStep ${step} after scheduling a retry`);
    if (context.callActive) {
      this.lastScheduleKind = "call";
      this.coverage.callRetries += 1;
      this.checkCallDelay(delay);
      return;
    }
    this.lastScheduleKind = "backoff";
    const bounds = backoffBounds(step, config, this.previous.lastDelay);
    const where = `${config.jitterStrategy} step ${step} (previous ${this.previous.lastDelay})`;
    if (delay < Math.floor(bounds.lower)) this.violate(`reconnecting delay ${delay} below ${bounds.lower}, ${where}`);
    const hint = this.hintInFlight ?? this.previous.retryAfterHint;
    if (this.hintInFlight !== null && delay < Math.min(this.hintInFlight, MAX_TIMER_MS)) {
      this.violate(`reconnecting delay ${delay} below the server's retryAfter ${this.hintInFlight}`);
    }
    // The upper bound is open, but a random() within an ulp of 1 reaches it in floating point
    // (see clearOfOne in backoff.test.ts): pinned at the top, the bound is closed. A faulty 1
    // is clamped far enough below 1 that the bound stays open.
    const open = bounds.open && this.setup.random.mode !== "highest";
    const backoffFits = open ? delay < bounds.upper : delay <= bounds.upper;
    const hintFits = hint !== null && delay <= retryAfterCeiling(hint, config);
    if (!backoffFits && !hintFits) {
      this.violate(
        `reconnecting delay ${delay} above ${bounds.upper}${open ? " (open)" : ""}, ${where}` +
          (hint === null ? "" : `, retryAfter ${hint}`),
      );
    }
  }

  /**
   * A retry scheduled during a call: at most callMaxDelay, unless the server asked for longer
   * (its retryAfter, or what is left of its hold when a call redraws the retry), and never
   * before the server's retryAfter.
   */
  private checkCallDelay(delay: number): void {
    const config = this.config;
    const now = this.clock.now();
    const hint = this.hintInFlight ?? this.previous.retryAfterHint;
    const hold = this.previous.serverHoldUntil === null ? 0 : Math.max(0, Math.ceil(this.previous.serverHoldUntil - now));
    if (this.hintInFlight !== null && delay < Math.min(this.hintInFlight, MAX_TIMER_MS)) {
      this.violate(`reconnecting delay ${delay} below the server's retryAfter ${this.hintInFlight} (in a call)`);
    }
    const ceiling = Math.max(config.callMaxDelay, hint === null ? 0 : retryAfterCeiling(hint, config), hold);
    if (delay > ceiling) {
      this.violate(
        `reconnecting delay ${delay} in a call above callMaxDelay ${config.callMaxDelay}` +
          (hint === null && hold === 0 ? "" : ` (retryAfter ${hint}, hold ${hold})`),
      );
    }
  }

  /** When the current link stopped answering heartbeats, if the server did ack them on it. */
  private deadSince(): number | null {
    const context = this.actor.getSnapshot().context;
    const ack = this.lastAcceptedAck;
    if (!context.heartbeatsAcked || ack === null || ack.generation !== context.generation) return null;
    return Math.max(ack.at, this.lastSleepEnd);
  }

  /** A dead link dropped by the heartbeat: within the documented bound of its last accepted ack. */
  private checkDeadLinkDetection(): void {
    const since = this.deadSince();
    if (since === null) return;
    const took = this.clock.now() - since;
    const bound = deadLinkBound(this.config);
    this.coverage.deadLinks += 1;
    if (this.lastNotificationAt >= since) this.coverage.deadLinksNotified += 1;
    if (this.bursting) this.coverage.deadLinksInBursts += 1;
    this.coverage.slowestDetection = Math.max(this.coverage.slowestDetection, took / bound);
    if (took > bound + 1) this.violate(`a dead link was dropped ${took} ms after its last ack (bound ${bound} ms)`);
  }

  /** Fires the oldest handler armed for this event: its command is sent from inside the handler. */
  private react(event: EmittedEvent): void {
    if (this.closing || this.healed) return;
    const index = this.reactions.findIndex((reaction) => reaction.on === event.type);
    if (index < 0) return;
    const [{ on, command }] = this.reactions.splice(index, 1) as [{ on: Trigger; command: ReactionCommand }];
    this.reactionsFired += 1;
    this.coverage.faults["reactions fired"] += 1;
    const key = `${on} → ${command}`;
    this.coverage.reactions.set(key, (this.coverage.reactions.get(key) ?? 0) + 1);
    const via = `from ${on}`;
    switch (command) {
      case "forceReconnect":
        this.forceReconnect(via);
        break;
      case "send":
        this.sendMarker({ kind: "send", mode: "plain" }, via);
        break;
      case "connect":
      case "disconnect":
        this.send({ type: command }, via);
        break;
      case "resume":
        this.send({ type: "power.resume" }, via);
        break;
      case "offline":
      case "online":
        this.send({ type: `network.${command}` }, via);
        break;
      case "authUpdated":
        this.send({ type: "auth.updated" }, via);
        break;
    }
  }

  // --- steps ------------------------------------------------------------------------------

  /** Whether a step can happen now (a socket fact needs a socket in the right state). */
  canRun(action: Action): boolean {
    if (this.disposed) return action.kind === "advance" || action.kind === "sleep" || action.kind === "wallStep";
    const fake = this.fake;
    switch (action.kind) {
      case "connected":
      case "connectFailed":
      case "tokenMissing":
      case "awaitingToken":
        return fake.status === "handshaking";
      case "disconnected":
        return fake.status === "handshaking" || fake.status === "connected";
      case "message":
      case "ping":
      case "drainNotice":
        return fake.status === "connected";
      case "heartbeatAck":
        return fake.status === "connected" && fake.heartbeats.length > 0;
      case "ack":
        return fake.status === "connected" && fake.acks.length > 0;
      case "stale":
        return fake.generation - action.back >= 1;
      default:
        return true;
    }
  }

  /**
   * Sends to the chart as the service does. From inside a handler it waits in the actor's
   * mailbox until the current macrostep ends; either way nothing may escape `actor.send`.
   */
  private send(event: ConnectionEvent, via?: string): void {
    this.log(`chart <- ${JSON.stringify(event)}${via === undefined ? "" : ` (${via})`}`);
    if (event.type === "callback.failed") this.callbackFailedSent += 1;
    try {
      this.actor.send(event);
    } catch (error) {
      this.violate(`actor.send(${event.type}) threw: ${String(error)}`);
    }
  }

  /** forceReconnection(): a ticket the chart records once it acts on it. */
  private forceReconnect(via: string): void {
    const id = this.nextTicket++;
    this.tickets.set(id, { via, acted: false, outcome: "pending" });
    this.coverage.faults["forceReconnect tickets"] += 1;
    this.send({ type: "forceReconnect", id }, via);
  }

  private sendMarker(action: Extract<Action, { kind: "send" }>, via?: string): void {
    const marker = `m${this.nextMarker++}`;
    const ackId = action.mode === "callback" || action.mode === "request" ? this.nextAckId++ : undefined;
    const poison = action.poison === true;
    this.markers.set(marker, {
      marker,
      label: describeAction(action) + (via === undefined ? "" : ` ${via}`),
      ...(ackId === undefined ? {} : { ackId }),
      poison,
      call: action.call === true,
      delivered: 0,
      dropped: 0,
      unconfirmed: 0,
      dropReasons: [],
    });
    this.send(
      {
        type: "send",
        event: "note",
        // Data only (the chart's context is printable): the fake socket refuses it at the emit.
        args: poison ? [marker, { toJSON: "throws" }] : [marker],
        ...(ackId === undefined ? {} : { ackId }),
        ...(action.ttl === undefined ? {} : { ttl: action.ttl }),
        ...(action.mode === "volatile" ? { volatile: true } : {}),
        ...(action.mode === "request" ? { timeout: action.timeout } : {}),
        ...(action.call ? { priority: "call" as const } : {}),
      },
      via,
    );
  }

  run(action: Action): void {
    this.coverage.steps += 1;
    this.log(`STEP ${describeAction(action)}`);
    const fake = this.fake;
    const generation = fake.generation;
    switch (action.kind) {
      case "connect":
      case "disconnect":
        this.send({ type: action.kind });
        break;
      case "forceReconnect":
        this.forceReconnect("step");
        break;
      case "send":
        this.sendMarker(action);
        break;
      case "authUpdated":
        // The token stays with the socket actor: the event says only that the credentials changed.
        this.send({ type: "auth.updated" });
        break;
      case "online":
        this.send({ type: "network.online" });
        break;
      case "offline":
        this.send({ type: "network.offline" });
        break;
      case "resume":
        this.send({ type: "power.resume" });
        break;
      case "dispose":
        this.dispose();
        break;
      case "connected":
        fake.status = "connected";
        this.report({ type: "socket.connected", generation, socketId: `socket-${generation}`, recovered: false });
        break;
      case "connectFailed": {
        const authRejected = action.failure === "auth" || action.failure === "authRetryAfter";
        const retryAfter = action.failure === "retryAfter" || action.failure === "authRetryAfter" ? action.retryAfter : null;
        const message = { transport: "xhr poll error", timeout: "timeout", auth: "unauthorized" }[
          action.failure === "retryAfter" ? "transport" : action.failure === "authRetryAfter" ? "auth" : action.failure
        ];
        this.loseSocket("failed");
        this.hintInFlight = retryAfter;
        if (retryAfter !== null) this.largestHint = Math.max(this.largestHint, retryAfter);
        try {
          this.report({ type: "socket.connectFailed", generation, error: { message }, authRejected, retryAfter });
        } finally {
          this.hintInFlight = null;
        }
        break;
      }
      case "tokenMissing":
        this.loseSocket("failed");
        this.report({ type: "socket.tokenMissing", generation, reason: "token provider returned no token" });
        break;
      case "awaitingToken":
        this.report({ type: "socket.awaitingToken", generation, awaiting: action.awaiting });
        break;
      case "disconnected": {
        // As the real actor's "disconnect" handler: what it could not confirm is taken first (a
        // handler may open the next socket while the loss is reported), reported after the loss.
        if (fake.status === "connected") this.owe(`lost with "${action.reason}" (generation ${generation})`);
        const lost = fake.unconfirmed.map(({ marker }) => ({ event: "note", args: [marker] }));
        fake.unconfirmed = [];
        this.loseSocket("failed");
        this.report({ type: "socket.disconnected", generation, reason: action.reason });
        if (lost.length > 0) this.report({ type: "socket.unconfirmed", generation, messages: lost });
        break;
      }
      case "message":
        this.signOfLife();
        this.report({ type: "socket.message", generation, event: "news", args: ["hello"] });
        break;
      case "ping":
        this.signOfLife();
        break;
      case "heartbeatAck":
        this.ackHeartbeat(action.pick);
        break;
      case "ack":
        this.ackRequest(action.pick);
        break;
      case "stale":
        this.runStale(action.fact, generation - action.back);
        break;
      case "advance":
        runFor(this.clock, action.ms);
        break;
      case "sleep":
        // Set first: the timers overdue after the sleep fire inside increment(), at its end.
        this.lastSleepEnd = this.clock.now() + action.ms;
        this.clock.increment(action.ms);
        break;
      case "wallStep":
        this.wallOffset += action.ms;
        this.coverage.faults["wall steps"] += 1;
        break;
      case "burst":
        this.coverage.faults.bursts += 1;
        this.bursting = true;
        for (let index = 0; index < action.count && !this.disposed; index++) {
          const offline = action.notification === "offline" || (action.notification === "mixed" && index % 3 === 0);
          this.send({ type: offline ? "network.offline" : "power.resume" });
          this.coverage.faults["burst notifications"] += 1;
          if (action.gap > 0) runFor(this.clock, action.gap);
        }
        this.bursting = false;
        break;
      case "callbackFailed":
        this.runCallbackFailed(action.callback);
        break;
      case "call":
        this.send({ type: "call.set", active: action.active });
        break;
      case "drainNotice":
        this.report({
          type: "socket.drainNotice",
          generation,
          reconnectAfter: action.reconnectAfter,
          windowMs: action.windowMs,
          slot: action.slot,
        });
        break;
      case "probed":
        this.report({ type: "socket.probed", url: this.actor.getSnapshot().context.urls[0]!, ok: action.ok });
        break;
      case "react":
        this.reactions.push({ on: action.on, command: action.command });
        if (this.reactions.length > 3) this.reactions.shift();
        break;
    }
    this.checkInvariants(describeAction(action));
  }

  /** A fault the service reports: announced as callback:failed, and nothing else changes. */
  private runCallbackFailed(callback: (typeof SERVICE_CALLBACKS)[number]): void {
    const before = this.actor.getSnapshot();
    const emittedBefore = this.emitted.length;
    const commandsBefore = this.commands.length;
    const reactionsBefore = this.reactionsFired;
    const message = `the ${callback} callback threw: boom`;
    this.coverage.faults["callback.failed events"] += 1;
    this.send({ type: "callback.failed", callback, message });
    const after = this.actor.getSnapshot();
    const announced = this.emitted.slice(emittedBefore);
    if (JSON.stringify(announced[0]) !== JSON.stringify({ type: "callback:failed", callback, message })) {
      this.violate(`callback.failed (${callback}) was announced as ${JSON.stringify(announced[0])}`);
    }
    if (this.reactionsFired !== reactionsBefore) return; // a handler sent a command: things may change
    if (JSON.stringify(after.value) !== JSON.stringify(before.value) || JSON.stringify(after.context) !== JSON.stringify(before.context)) {
      this.violate(`callback.failed (${callback}) changed the chart`);
    }
    if (announced.length !== 1) this.violate(`callback.failed (${callback}) emitted ${announced.length} events`);
    if (this.commands.length !== commandsBefore) this.violate(`callback.failed (${callback}) commanded the socket`);
  }

  /** A late fact of an older socket: the chart must ignore it entirely. */
  private runStale(fact: (typeof STALE_FACTS)[number], generation: number): void {
    const before = this.actor.getSnapshot();
    const emittedBefore = this.emitted.length;
    const commandsBefore = this.commands.length;
    const event: SocketEvent = {
      connected: { type: "socket.connected", generation, socketId: "stale" },
      connectFailed: { type: "socket.connectFailed", generation, error: { message: "stale" }, authRejected: true, retryAfter: 5 },
      tokenMissing: { type: "socket.tokenMissing", generation, reason: "stale" },
      awaitingToken: { type: "socket.awaitingToken", generation, awaiting: true },
      disconnected: { type: "socket.disconnected", generation, reason: "transport close" },
      message: { type: "socket.message", generation, event: "news", args: ["stale"] },
      heartbeatAck: { type: "socket.heartbeatAck", generation, seq: 1 },
      unconfirmed: { type: "socket.unconfirmed", generation, messages: [{ event: "note", args: ["stale"] }] },
    }[fact] as SocketEvent;
    this.report(event);
    const after = this.actor.getSnapshot();
    if (JSON.stringify(after.value) !== JSON.stringify(before.value)) {
      this.violate(`a stale ${event.type} moved the chart from ${JSON.stringify(before.value)} to ${JSON.stringify(after.value)}`);
    }
    if (JSON.stringify(after.context) !== JSON.stringify(before.context)) {
      this.violate(`a stale ${event.type} changed the context`);
    }
    const emitted = this.emitted.slice(emittedBefore);
    // Unconfirmed sends of an older socket are still facts about sends that may be lost: they
    // may be announced (and must be, when a handler opened the next socket first: see `owed`).
    const announcedOnly =
      event.type === "socket.unconfirmed" &&
      emitted.length === event.messages.length &&
      emitted.every((announced, index) => announced.type === "message:unconfirmed" && announced.args === event.messages[index]!.args);
    if (emitted.length > 0 && !announcedOnly) this.violate(`a stale ${event.type} emitted events`);
    if (this.commands.length !== commandsBefore) this.violate(`a stale ${event.type} commanded the socket`);
  }

  /** The earliest pending timer of the clock (Infinity when none). */
  private nextTimerDue(): number {
    let next = Infinity;
    for (const { start, timeout } of (this.clock as unknown as ClockInternals).timeouts.values()) next = Math.min(next, start + timeout);
    return next;
  }

  /** Every heartbeat and request the server owes, acked now. */
  private ackEverything(): void {
    while (this.fake.status === "connected" && this.fake.heartbeats.length > 0) this.ackHeartbeat("oldest");
    while (this.fake.status === "connected" && this.fake.acks.length > 0) this.ackRequest("oldest");
  }

  /**
   * The faults stop, as at the end of the fault run: the network is back, `random` and `now`
   * behave, no handler reacts, the socket connects at once and the server acks everything.
   * The app does what it would (connect() from idle or exhausted, a new token from
   * authRequired). The chart must be connected by the time its announced retry is due (at
   * once from anywhere else), stay connected through a quiet stretch, and send what it held.
   */
  heal(): void {
    if (this.closing) return;
    this.healed = true;
    this.reactions.length = 0;
    this.log("HEAL: the faults stop");
    const started = this.clock.now();
    const from = JSON.stringify(this.actor.getSnapshot().value);
    const held = this.actor.getSnapshot().context.serverHoldUntil !== null;
    if (this.network === "offline") this.send({ type: "network.online" }, "heal");
    const timerDue = this.actor.getSnapshot().context.timerDue;
    const deadline = this.isIn({ backingOff: "waiting" }) && timerDue !== null ? Math.max(started, timerDue.monotonic) : started;
    const remedied = new Set<string>();
    for (let round = 0; this.topState() !== "connected"; round++) {
      const state = this.topState();
      if (round > 10) {
        this.violate(`not connected after ${round} rounds of healing (${JSON.stringify(this.actor.getSnapshot().value)})`);
        break;
      }
      if (state === "connecting" && this.fake.status === "handshaking") {
        this.fake.status = "connected";
        this.report({ type: "socket.connected", generation: this.fake.generation, socketId: `socket-${this.fake.generation}`, recovered: false });
      } else if (state === "idle" || state === "exhausted" || state === "authRequired") {
        if (remedied.has(state)) {
          this.violate(`back in ${state} after the app's remedy, with no fault left`);
          break;
        }
        remedied.add(state);
        this.send({ type: state === "authRequired" ? "auth.updated" : "connect" }, "the app, healing");
      } else if (this.isIn({ backingOff: "waiting" })) {
        const due = this.actor.getSnapshot().context.timerDue?.monotonic ?? this.clock.now();
        runFor(this.clock, Math.max(0, due - this.clock.now()));
      } else {
        this.violate(`stuck in ${JSON.stringify(this.actor.getSnapshot().value)} with the network online and the socket working`);
        break;
      }
      if (this.clock.now() > deadline) {
        this.violate(`not connected ${this.clock.now() - started} ms after the faults stopped (bound ${deadline - started} ms)`);
        break;
      }
    }
    const took = this.clock.now() - started;
    this.coverage.longestHeal = Math.max(this.coverage.longestHeal, took);
    if (!held) this.coverage.longestHealUnheld = Math.max(this.coverage.longestHealUnheld, took);
    this.coverage.healedFrom.set(from, (this.coverage.healedFrom.get(from) ?? 0) + 1);
    this.checkInvariants("heal: connecting");

    // Healthy: acks flow, nothing drops, and what was held goes out.
    const config = this.config;
    const quiet = 2 * Math.max(config.heartbeatInterval + config.heartbeatTimeout, config.healthCheckInterval, config.stablePeriod);
    const end = this.clock.now() + quiet;
    for (let guard = 0; guard < 100_000 && this.clock.now() < end; guard++) {
      // A healthy server also takes new handshakes: a move back to the primary opens one.
      if (this.topState() === "connecting" && this.fake.status === "handshaking") {
        this.fake.status = "connected";
        this.report({ type: "socket.connected", generation: this.fake.generation, socketId: `socket-${this.fake.generation}`, recovered: false });
      }
      this.ackEverything();
      runFor(this.clock, Math.min(end, this.nextTimerDue()) - this.clock.now());
    }
    this.ackEverything();
    if (this.topState() !== "connected") {
      this.violate(`healthy, yet ${JSON.stringify(this.actor.getSnapshot().value)} after ${quiet} ms of acked heartbeats`);
    }
    const stillQueued = queueSize(this.actor.getSnapshot().context.queue) + queueSize(this.actor.getSnapshot().context.callQueue);
    if (stillQueued > 0) this.violate(`${stillQueued} messages still queued after ${quiet} ms on a healthy connection`);
    for (const [id, ticket] of this.tickets) {
      if (ticket.outcome === "pending") this.violate(`forceReconnect #${id} (${ticket.via}) never settled`);
    }
    this.checkInvariants("heal: healthy");
  }

  /** As `WebSocketService.dispose()`: the chart drops and announces, then the actor stops. */
  dispose(): void {
    if (this.disposed) return;
    this.closing = true;
    const { queue, callQueue } = this.actor.getSnapshot().context;
    const queued = [...queuedMessages(callQueue), ...queuedMessages(queue)].map((message) => this.markerOf(message.args));
    this.send({ type: "dispose" });
    this.disposed = true;
    this.actor.stop();
    for (const marker of queued) {
      const record = marker === undefined ? undefined : this.markers.get(marker);
      if (record && !record.dropReasons.includes("disposed")) {
        this.violate(`${marker} was queued at dispose but not announced as disposed`);
      }
    }
    this.emittedAtDispose = this.emitted.length;
    this.commandsAtDispose = this.commands.length;
  }

  // --- invariants -------------------------------------------------------------------------

  /** Every invariant, after every step; throws with the trace when one is broken. */
  checkInvariants(step: string): void {
    const snapshot = this.actor.getSnapshot();
    const context = snapshot.context;
    const value = snapshot.value;
    const state = typeof value === "string" ? value : Object.keys(value)[0];
    const config = this.config;
    const now = this.clock.now();

    // The actor never fails: active until dispose.
    if (!this.disposed && snapshot.status !== "active") this.violate(`actor status ${snapshot.status} before dispose`);

    // At most one socket actor alive, none after dispose.
    if (this.live > 1) this.violate(`${this.live} socket actors alive`);
    if (this.disposed && this.live !== 0) this.violate(`${this.live} socket actors alive after dispose`);
    if (!this.disposed && this.live !== 1) this.violate(`${this.live} socket actors alive while running`);

    // State is one of the six.
    if (typeof state !== "string" || !TOP_LEVEL_STATES.includes(state as TopLevelState) || (typeof value !== "string" && Object.keys(value).length !== 1)) {
      this.violate(`state ${JSON.stringify(value)} is not one of the six`);
    } else {
      this.coverage.states.add(state);
    }

    // Attempts: past maxReconnectAttempts only when a call kept the retries going.
    if (context.attempt > config.maxReconnectAttempts && !this.callSinceReset) {
      this.violate(`attempt ${context.attempt} > maxReconnectAttempts ${config.maxReconnectAttempts}`);
    }
    if (state === "exhausted" && context.attempt !== config.maxReconnectAttempts && !(this.callSinceReset && context.attempt > config.maxReconnectAttempts)) {
      this.violate(`exhausted with attempt ${context.attempt} of ${config.maxReconnectAttempts}`);
    }
    if (state === "exhausted" && context.callActive) this.violate("exhausted during a call");

    // Network: the chart believes what it was told.
    if (context.network !== this.network) this.violate(`context.network ${context.network}, told ${this.network}`);

    // Retry delay within its strategy's bounds (the largest retryAfter hint widens the top).
    if (context.nextRetryDelay !== null) {
      const bounds = anyBackoffBounds(config);
      const ceiling = Math.max(bounds.upper, this.largestHint > 0 ? retryAfterCeiling(this.largestHint, config) : 0);
      // A planned return or a call's cap may come sooner than any draw (checked when scheduled).
      const lower = this.lastScheduleKind === "backoff" ? Math.floor(bounds.lower) : 0;
      const upper = this.lastScheduleKind === "planned" ? MAX_TIMER_MS : ceiling;
      if (context.nextRetryDelay < lower || context.nextRetryDelay > upper) {
        this.violate(`nextRetryDelay ${context.nextRetryDelay} outside [${bounds.lower}, ${ceiling}]`);
      }
      if (context.nextRetryDelay !== this.lastReconnectingDelay) {
        this.violate(`nextRetryDelay ${context.nextRetryDelay} was never announced (last ${this.lastReconnectingDelay})`);
      }
    }
    const waiting = JSON.stringify(value) === JSON.stringify({ backingOff: "waiting" });
    if (!this.disposed && waiting && context.nextRetryDelay === null) this.violate("waiting for a retry without a delay");
    // The retry timer fires when due on the monotonic clock, whatever the wall clock does: waiting, it is not overdue.
    // (A planned return whose moment has passed is due at once: a timer of no delay, not yet run.)
    const dueNow = context.timerDue !== null && context.timerDue.monotonic === now && context.nextRetryDelay === 0;
    if (!this.disposed && waiting && !dueNow && (context.timerDue === null || context.timerDue.monotonic <= now)) {
      this.violate(`waiting for a retry due at ${JSON.stringify(context.timerDue)} (monotonic), now ${now}`);
    }

    // The socket agrees with the state.
    if (!this.disposed) {
      const fake = this.fake;
      if (["idle", "backingOff", "authRequired", "exhausted"].includes(state as string)) {
        if (fake.status === "handshaking" || fake.status === "connected") this.violate(`a socket is ${fake.status} in ${state}`);
      }
      if (state === "connected" && !(fake.status === "connected" && fake.generation === context.generation)) {
        this.violate(`connected, but the socket is ${fake.status} (generation ${fake.generation} vs ${context.generation})`);
      }
      if (state === "connecting" && !(fake.status === "handshaking" && fake.generation === context.generation)) {
        this.violate(`connecting, but the socket is ${fake.status} (generation ${fake.generation} vs ${context.generation})`);
      }
    }

    // A dead link is dropped within the bound, however many notifications arrive meanwhile.
    if (!this.disposed && state === "connected") {
      const since = this.deadSince();
      const bound = deadLinkBound(config);
      if (since !== null && now - since > bound + 1) {
        this.violate(`a dead link is still connected ${now - since} ms after its last ack (bound ${bound} ms)`);
      }
    }

    // Every forceReconnect was acted on by the time its send returned.
    if (!this.closing) {
      const lastTicket = this.nextTicket - 1;
      if (context.forceId !== lastTicket) this.violate(`forceId ${context.forceId} after forceReconnect #${lastTicket}`);
    }

    // Faults of the functions handed in: each announced once, every callback.failed announced.
    for (const callback of this.misbehaved) {
      if (!this.reportedFaults.has(callback) && !this.closing) this.violate(`${callback} misbehaved but was never reported`);
    }
    if (this.callbackFailedEmitted !== this.callbackFailedSent) {
      this.violate(`${this.callbackFailedSent} callback.failed events, ${this.callbackFailedEmitted} callback:failed announced`);
    }

    // A send on a socket that was lost unconfirmed is announced, whatever a handler did meanwhile.
    for (const [marker, why] of this.owed) {
      const record = this.markers.get(marker);
      if (record && record.unconfirmed === 0) {
        this.violate(`${marker} (${record.label}) was emitted on a socket ${why} before a heartbeat ack confirmed it, and never announced as unconfirmed`);
      }
    }
    this.owed.clear();

    // Queue: bounded, nothing past its expiry, and every send accounted for exactly once. Call
    // signalling waits apart, unbounded by maxQueueSize, and takes its room from the rest.
    const ordinary = queuedMessages(context.queue);
    const calls = queuedMessages(context.callQueue);
    const held = [...calls, ...ordinary];
    if (ordinary.length !== queueSize(context.queue) || calls.length !== queueSize(context.callQueue)) {
      this.violate(`the queues hold ${ordinary.length} + ${calls.length} messages but say ${queueSize(context.queue)} + ${queueSize(context.callQueue)}`);
    }
    if (ordinary.length > Math.max(0, config.maxQueueSize - calls.length)) {
      this.violate(`queue of ${ordinary.length} beside ${calls.length} call messages > maxQueueSize ${config.maxQueueSize}`);
    }
    for (const message of calls) {
      const record = this.markers.get(this.markerOf(message.args) ?? "");
      if (record && !record.call) this.violate(`${record.marker} (${record.label}) is in the call queue`);
    }
    const queued = new Map<string, number>();
    for (const message of held) {
      if (!this.disposed && message.expiresAt <= now) {
        this.violate(`queued ${JSON.stringify(message.args)} expired at ${message.expiresAt}, now ${now}`);
      }
      const marker = this.markerOf(message.args);
      if (marker !== undefined) queued.set(marker, (queued.get(marker) ?? 0) + 1);
    }
    if (this.disposed && held.length > 0) this.violate(`${held.length} messages queued after dispose`);
    for (const record of this.markers.values()) {
      const inQueue = queued.get(record.marker) ?? 0;
      if (record.delivered > 1) this.violate(`${record.marker} (${record.label}) emitted ${record.delivered} times`);
      if (record.dropped > 1) {
        this.violate(`${record.marker} (${record.label}) announced dropped ${record.dropped} times: ${record.dropReasons.join(", ")}`);
      }
      if (record.dropped > 0 && record.ackId !== undefined && !this.failedRequests.has(record.ackId)) {
        this.violate(`${record.marker} (${record.label}) was dropped, but its request was not settled with an error`);
      }
      if (record.delivered + record.dropped + inQueue !== 1) {
        this.violate(
          `${record.marker} (${record.label}): emitted ${record.delivered}, dropped ${record.dropped} ` +
            `(${record.dropReasons.join(", ")}), queued ${inQueue}; expected exactly one`,
        );
      }
    }

    // After dispose: stopped, no timer, no socket, silence.
    if (this.disposed) {
      if (snapshot.status !== "stopped") this.violate(`actor status ${snapshot.status} after dispose`);
      const timers = (this.clock as unknown as ClockInternals).timeouts.size;
      if (timers !== 0) this.violate(`${timers} timers pending after dispose`);
      if (this.emitted.length !== this.emittedAtDispose) this.violate("events emitted after dispose");
      if (this.commands.length !== this.commandsAtDispose) this.violate("socket commands after dispose");
    }

    if (this.violations.length > 0) {
      const message = [
        `invariant broken after step ${step}:`,
        ...this.violations.map((violation) => `  - ${violation}`),
        "trace (most recent last):",
        ...this.trace.map((line) => `  ${line}`),
      ].join("\n");
      this.violations.length = 0;
      throw new Error(message);
    }
  }
}

/**
 * One sequence as the property runs it: the steps, then the faults stop (`heal`), then
 * dispose and a minute of silence. The system's clock (`Date.now`, a faulty `now`'s stand-in)
 * and `Math.random` (a faulty `random`'s) are seeded from the setup meanwhile, so that a
 * shrunk counterexample replays exactly.
 */
export function runChartSequence(
  setup: ChartSetup,
  steps: Iterable<fc.Command<ChartHarness, ChartHarness>>,
  coverage: Coverage,
  breakage?: ChartBreakage,
): void {
  const seed = "seed" in setup.random ? setup.random.seed : 0;
  const systemNow = Date.now;
  let harness: ChartHarness | null = null;
  Date.now = () => harness?.systemWall() ?? WALL_EPOCH;
  try {
    withMathRandom(mulberry32(seed ^ 0x5eed), () => {
      const running = new ChartHarness(setup, coverage, breakage);
      harness = running;
      fc.modelRun(() => ({ model: running, real: running }), steps);
      running.heal();
      running.run({ kind: "dispose" });
      running.run({ kind: "advance", ms: 60_000 });
    });
  } finally {
    Date.now = systemNow;
  }
}

export function describeAction(action: Action): string {
  switch (action.kind) {
    case "send": {
      const options = [
        action.mode === "plain" ? undefined : action.mode,
        action.ttl === undefined ? undefined : `ttl ${action.ttl}`,
        action.timeout === undefined ? undefined : `timeout ${action.timeout}`,
        action.poison ? "unencodable" : undefined,
        action.call ? "call" : undefined,
      ].filter(Boolean);
      return `send(${options.join(", ")})`;
    }
    case "connectFailed":
      return action.failure === "retryAfter" || action.failure === "authRetryAfter"
        ? `connectFailed(${action.failure} ${action.retryAfter})`
        : `connectFailed(${action.failure})`;
    case "disconnected":
      return `disconnected("${action.reason}")`;
    case "heartbeatAck":
    case "ack":
      return `${action.kind}(${action.pick})`;
    case "awaitingToken":
      return `awaitingToken(${action.awaiting})`;
    case "stale":
      return `stale ${action.fact}(generation -${action.back})`;
    case "advance":
      return `advance(${action.ms} ms)`;
    case "sleep":
      return `sleep(${action.ms} ms)`;
    case "wallStep":
      return `wallStep(${action.ms > 0 ? "+" : ""}${action.ms} ms)`;
    case "burst":
      return `burst(${action.count} × ${action.notification}, ${action.gap} ms apart)`;
    case "callbackFailed":
      return `callbackFailed(${action.callback})`;
    case "react":
      return `react(${action.on} → ${action.command})`;
    case "call":
      return `call(${action.active ? "start" : "end"})`;
    case "drainNotice":
      return `drainNotice(${action.reconnectAfter} + ${action.slot === null ? `U[0, ${action.windowMs})` : `slot ${action.slot}`})`;
    case "probed":
      return `probed(${action.ok ? "up" : "down"})`;
    default:
      return action.kind;
  }
}

/** One step as a fast-check command: skipped when it cannot happen, printed by its description. */
export class Step implements fc.Command<ChartHarness, ChartHarness> {
  constructor(readonly action: Action) {}
  check(harness: Readonly<ChartHarness>): boolean {
    return harness.canRun(this.action);
  }
  run(_model: ChartHarness, harness: ChartHarness): void {
    harness.run(this.action);
  }
  toString(): string {
    return describeAction(this.action);
  }
}

// --- generators -----------------------------------------------------------------------------

/** Small configurations, so that every limit is reached within a few dozen steps. */
export const setupArbitrary: fc.Arbitrary<ChartSetup> = fc
  .record({
    jitterStrategy: fc.constantFrom<JitterStrategy>("additive", "full", "decorrelated"),
    maxReconnectAttempts: fc.integer({ min: 1, max: 5 }),
    baseDelay: fc.integer({ min: 10, max: 500 }),
    maxFactor: fc.constantFrom(1, 2, 4, 10),
    backoffMultiplier: fc.constantFrom(1, 1.5, 2, 3),
    jitterRange: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 500 })),
    connectionTimeout: fc.integer({ min: 100, max: 3000 }),
    heartbeatInterval: fc.integer({ min: 100, max: 3000 }),
    heartbeatTimeout: fc.integer({ min: 50, max: 1000 }),
    minFraction: fc.constantFrom(0.1, 0.5, 1),
    healthCheckInterval: fc.integer({ min: 500, max: 5000 }),
    unhealthyThreshold: fc.integer({ min: 1, max: 3 }),
    maxQueueSize: fc.integer({ min: 0, max: 4 }),
    queueTtl: fc.integer({ min: 50, max: 5000 }),
    stablePeriod: fc.integer({ min: 0, max: 3000 }),
    sleepThreshold: fc.integer({ min: 500, max: 10_000 }),
    reconnectOnServerDisconnect: fc.boolean(),
    callHeartbeatInterval: fc.integer({ min: 50, max: 3000 }),
    callMaxDelay: fc.integer({ min: 1, max: 3000 }),
    failoverAfter: fc.integer({ min: 1, max: 3 }),
    failbackInterval: fc.integer({ min: 100, max: 5000 }),
    sharedSessions: fc.boolean(),
    servers: fc.constantFrom(1, 1, 2, 3),
    hasTokenProvider: fc.boolean(),
    network: fc.constantFrom<NetworkStatus>("online", "online", "offline"),
    random: fc.oneof(
      { weight: 4, arbitrary: fc.record({ mode: fc.constant("seeded" as const), seed: fc.integer() }) },
      { weight: 1, arbitrary: fc.constant({ mode: "lowest" as const }) },
      { weight: 1, arbitrary: fc.constant({ mode: "highest" as const }) },
      {
        weight: 2,
        arbitrary: fc.record({
          mode: fc.constant("faulty" as const),
          seed: fc.integer(),
          every: fc.integer({ min: 1, max: 4 }),
          fault: fc.constantFrom<RandomFault>("throw", "one", "minusOne", "nan"),
        }),
      },
    ),
    wall: fc.oneof(
      { weight: 3, arbitrary: fc.constant<WallSpec>({ fault: "none", every: 1 }) },
      {
        weight: 1,
        arbitrary: fc.record({ fault: fc.constantFrom("nan" as const, "infinity" as const, "throw" as const), every: fc.integer({ min: 1, max: 5 }) }),
      },
    ),
  })
  .map(({ maxFactor, minFraction, hasTokenProvider, network, random, wall, servers, ...rest }) => ({
    config: {
      jitterStrategy: rest.jitterStrategy,
      maxReconnectAttempts: rest.maxReconnectAttempts,
      baseDelay: rest.baseDelay,
      maxDelay: rest.baseDelay * maxFactor,
      backoffMultiplier: rest.backoffMultiplier,
      jitterRange: rest.jitterRange,
      connectionTimeout: rest.connectionTimeout,
      heartbeatInterval: rest.heartbeatInterval,
      heartbeatTimeout: rest.heartbeatTimeout,
      minHeartbeatTimeout: Math.max(1, Math.round(rest.heartbeatTimeout * minFraction)),
      healthCheckInterval: rest.healthCheckInterval,
      unhealthyThreshold: rest.unhealthyThreshold,
      maxQueueSize: rest.maxQueueSize,
      queueTtl: rest.queueTtl,
      stablePeriod: rest.stablePeriod,
      sleepThreshold: rest.sleepThreshold,
      reconnectOnServerDisconnect: rest.reconnectOnServerDisconnect,
      callHeartbeatInterval: rest.callHeartbeatInterval,
      callMaxDelay: rest.callMaxDelay,
      failoverAfter: rest.failoverAfter,
      failbackInterval: rest.failbackInterval,
      sharedSessions: rest.sharedSessions,
    },
    servers,
    hasTokenProvider,
    network,
    random,
    wall,
  }));

const simple = (kind: "connect" | "disconnect" | "forceReconnect" | "authUpdated" | "online" | "offline" | "resume" | "dispose" | "ping") =>
  fc.constant({ kind } as Action);
const pick = fc.constantFrom("oldest" as const, "newest" as const);

/** Time as it passes: each timer at its due time. */
const advanceArbitrary: fc.Arbitrary<Action> = fc.record({
  kind: fc.constant("advance" as const),
  ms: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 300, max: 6000 })),
});

/** Bursts of notifications, often faster than any ack timeout. */
const burstArbitrary: fc.Arbitrary<Action> = fc.record({
  kind: fc.constant("burst" as const),
  notification: fc.constantFrom("resume" as const, "offline" as const, "mixed" as const),
  count: fc.integer({ min: 10, max: 50 }),
  gap: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 100 })),
});

/** One step, weighted so that most sequences connect, fail, queue, retry and expire, and meet the faults. */
export const actionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  // The service's commands.
  { weight: 6, arbitrary: simple("connect") },
  { weight: 2, arbitrary: simple("disconnect") },
  { weight: 2, arbitrary: simple("forceReconnect") },
  { weight: 2, arbitrary: simple("authUpdated") },
  { weight: 3, arbitrary: simple("online") },
  { weight: 3, arbitrary: simple("offline") },
  { weight: 2, arbitrary: simple("resume") },
  {
    weight: 8,
    arbitrary: fc
      .record({
        mode: fc.constantFrom("plain" as const, "plain" as const, "volatile" as const, "callback" as const, "request" as const),
        ttl: fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
        timeout: fc.integer({ min: 50, max: 3000 }),
        // Now and then a payload Socket.IO cannot encode (found only at the emit).
        poison: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
        call: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      })
      .map(({ mode, ttl, timeout, poison, call }): Action => ({
        kind: "send",
        mode,
        ...(ttl === undefined ? {} : { ttl }),
        ...(mode === "request" ? { timeout } : {}),
        ...(poison ? { poison } : {}),
        ...(call ? { call } : {}),
      })),
  },
  // Call mode, planned restarts, and the answers to the checks of the primary.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("call" as const), active: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("drainNotice" as const),
      reconnectAfter: fc.integer({ min: 0, max: 3000 }),
      windowMs: fc.integer({ min: 0, max: 3000 }),
      slot: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: null }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("probed" as const), ok: fc.boolean() }) },
  // Rare: only time passes after it (every sequence is disposed at its end anyway).
  { weight: 1, arbitrary: simple("dispose") },
  // The socket's facts.
  { weight: 8, arbitrary: fc.constant({ kind: "connected" } as Action) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("connectFailed" as const),
      failure: fc.constantFrom(...FAILURES),
      // Now and then a hint beyond setTimeout's limit (weeks): the delay must be capped, not overflow.
      retryAfter: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 3000 }) }, { weight: 1, arbitrary: fc.constant(3e9) }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "tokenMissing" } as Action) },
  // The token provider is asked (and then answers, or hangs until the connect timeout).
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("awaitingToken" as const), awaiting: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("disconnected" as const), reason: fc.constantFrom(...DISCONNECT_REASONS) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "message" } as Action) },
  { weight: 1, arbitrary: simple("ping") },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("heartbeatAck" as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("ack" as const), pick }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("stale" as const),
      fact: fc.constantFrom(...STALE_FACTS),
      back: fc.integer({ min: 1, max: 2 }),
    }),
  },
  // Time: as it passes (each timer at its due time), and a sleep (everything due fires at the end).
  { weight: 10, arbitrary: advanceArbitrary },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("sleep" as const), ms: fc.integer({ min: 1000, max: 60_000 }) }) },
  // Issue 11's faults: the wall clock stepped (an hour, or a few seconds) either way.
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("wallStep" as const),
      ms: fc.oneof(fc.constantFrom(HOUR, -HOUR), fc.integer({ min: -20_000, max: 20_000 })),
    }),
  },
  { weight: 2, arbitrary: burstArbitrary },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("callbackFailed" as const), callback: fc.constantFrom(...SERVICE_CALLBACKS) }) },
  // Commands from inside handlers: what apps write, or any pair.
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.constantFrom(...LISTENER_HABITS),
        fc.record({ on: fc.constantFrom(...REACTION_TRIGGERS), command: fc.constantFrom(...REACTION_COMMANDS) }),
      )
      .map(({ on, command }): Action => ({ kind: "react", on, command })),
  },
);

/**
 * The heartbeat's part of the alphabet: a link acked, then left silent under bursts and time.
 * For a broken heartbeat a dead link hidden by a burst needs an ack followed by a burst fast and
 * long enough to span the bound; in the whole alphabet that takes thousands of sequences.
 */
export const livenessActionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: simple("connect") },
  { weight: 2, arbitrary: fc.constant({ kind: "connected" } as Action) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("heartbeatAck" as const), pick }) },
  { weight: 3, arbitrary: burstArbitrary },
  { weight: 2, arbitrary: advanceArbitrary },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("disconnected" as const), reason: fc.constantFrom(...DISCONNECT_REASONS) }) },
);

/**
 * Several servers' part of the alphabet: failures that fail over, connections that last past
 * stablePeriod, the primary's checks answered, calls that hold the move back, planned restarts.
 * In the whole alphabet a move back needs a backup, a stable connection and an answer in a row.
 */
export const failoverActionArbitrary: fc.Arbitrary<Action> = fc.oneof(
  { weight: 2, arbitrary: simple("connect") },
  { weight: 1, arbitrary: simple("forceReconnect") },
  { weight: 3, arbitrary: fc.constant({ kind: "connected" } as Action) },
  { weight: 3, arbitrary: fc.constant({ kind: "connectFailed", failure: "transport", retryAfter: 0 } as Action) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("disconnected" as const), reason: fc.constantFrom(...DISCONNECT_REASONS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("heartbeatAck" as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("probed" as const), ok: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("call" as const), active: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("drainNotice" as const),
      reconnectAfter: fc.integer({ min: 0, max: 3000 }),
      windowMs: fc.integer({ min: 0, max: 3000 }),
      slot: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: null }),
    }),
  },
  { weight: 4, arbitrary: advanceArbitrary },
);

/** Setups with two or three servers. */
export const failoverSetupArbitrary: fc.Arbitrary<ChartSetup> = fc
  .tuple(setupArbitrary, fc.constantFrom(2, 3))
  .map(([setup, servers]) => ({ ...setup, servers }));

/** Sequences of 0 to `maxCommands` steps (of `actions`, the whole alphabet by default), shrinkable, printed one step per command. */
export function sequenceArbitrary(maxCommands: number, replayPath?: string, actions: fc.Arbitrary<Action> = actionArbitrary) {
  return fc.commands([actions.map((action) => new Step(action), (step) => (step as Step).action)], {
    maxCommands,
    size: "max",
    ...(replayPath === undefined ? {} : { replayPath }),
  });
}
