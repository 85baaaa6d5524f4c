import fc from "fast-check";
import { createActor, fromCallback, SimulatedClock, type Actor } from "xstate";
import { backoffEnvelope } from "../../src/machine/backoff.js";
import { MAX_TIMER_MS } from "../../src/machine/config.js";
import { createConnectionMachine, type ConnectionMachine } from "../../src/machine/connectionMachine.js";
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
import { mulberry32 } from "../../bench/lib/prng.js";
import { TOP_LEVEL_STATES } from "../../src/services/WebSocketService.js";
import { runFor } from "./fakeSocket.js";

/**
 * Property-based testing of the production chart: a harness that runs it on a
 * `SimulatedClock` with a fake socket actor that behaves like the real one where the chart can
 * tell (an emit on a socket that is not connected comes back as `socket.undelivered`, heartbeats
 * and acks are answered only on a connected socket, a close closes), the steps fast-check
 * draws (the service's commands, the socket's facts, time), and the invariants checked after
 * every step. Every violation is collected, with a trace of the last things that happened,
 * and thrown after the step so that fast-check can shrink the sequence.
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

/** One step of a sequence: a command of the service, a fact of the socket, or time passing. */
export type Action =
  | { kind: "connect" }
  | { kind: "disconnect" }
  | { kind: "forceReconnect" }
  | { kind: "send"; mode: "plain" | "volatile" | "callback" | "request"; ttl?: number; timeout?: number }
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
  | { kind: "heartbeatAck"; pick: "oldest" | "newest" }
  | { kind: "ack"; pick: "oldest" | "newest" }
  | { kind: "stale"; fact: (typeof STALE_FACTS)[number]; back: number }
  | { kind: "advance"; ms: number }
  | { kind: "sleep"; ms: number };

/** The jitter source: a seeded generator, or pinned at either end of [0, 1). */
export type RandomSpec = { mode: "seeded"; seed: number } | { mode: "lowest" } | { mode: "highest" };

export interface ChartSetup {
  config: Partial<ConnectionConfig>;
  hasTokenProvider: boolean;
  network: NetworkStatus;
  random: RandomSpec;
}

function randomOf(spec: RandomSpec): () => number {
  switch (spec.mode) {
    case "seeded":
      return mulberry32(spec.seed);
    case "lowest":
      return () => 0;
    case "highest":
      return () => 1 - Number.EPSILON;
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

/** Implementations swapped into the chart to break it on purpose. */
export type ChartMutation = Parameters<ConnectionMachine["provide"]>[0];

type ClockInternals = { timeouts: Map<number, unknown> };

interface MarkerRecord {
  marker: string;
  label: string;
  ackId?: number;
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
  /** As the real actor: "untilAlive" once the chart found no acks, "off" after a sign of life. */
  tracking: "on" | "untilAlive" | "off";
  lastHeartbeatSeq: number;
  unconfirmed: { marker: string; afterSeq: number }[];
}

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
  };
}

const TRACE_LENGTH = 60;

/**
 * The production chart with a fake socket, a simulated clock and the invariant checker. One
 * harness per sequence.
 */
export class ChartHarness {
  readonly clock = new SimulatedClock();
  readonly actor: Actor<ConnectionMachine>;
  readonly config: ConnectionConfig;
  readonly emitted: EmittedEvent[] = [];
  readonly commands: SocketCommand[] = [];
  readonly fake: FakeSocketState = {
    status: "closed",
    generation: 0,
    heartbeats: [],
    acks: [],
    tracking: "on",
    lastHeartbeatSeq: 0,
    unconfirmed: [],
  };
  /** What the service was told about the network last. */
  network: NetworkStatus;
  /** Inside a forceReconnect step, where one handshake may open while offline. */
  forcing = false;
  disposed = false;
  /** Live instances of the fake socket actor. */
  live = 0;
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
  /** The `retryAfter` of the failure being reported, while it is being processed. */
  private hintInFlight: number | null = null;
  private largestHint = 0;
  private lastReconnectingDelay: number | null = null;
  private emittedAtDispose = 0;
  private commandsAtDispose = 0;

  /**
   * @param mutation implementations swapped into the chart (`machine.provide`), to prove that
   *   an invariant fails when the chart is broken.
   */
  constructor(
    readonly setup: ChartSetup,
    private readonly coverage: Coverage,
    mutation?: ChartMutation | ((harness: ChartHarness) => ChartMutation),
  ) {
    this.network = setup.network;
    const socketLogic = fromCallback<SocketCommand, SocketActorInput, SocketEvent>(({ sendBack, receive }) => {
      this.live += 1;
      this.sendBack = sendBack;
      receive((command) => this.onCommand(command));
      return () => {
        this.live -= 1;
        this.sendBack = null;
      };
    });
    const random = randomOf(setup.random);
    const machine = createConnectionMachine({
      random: () => {
        const r = random();
        if (!(r >= 0 && r < 1)) this.violate(`random() gave ${r}`);
        return r;
      },
      now: () => this.clock.now(),
    })
      .provide({ actors: { socket: socketLogic } })
      .provide((typeof mutation === "function" ? mutation(this) : mutation) ?? {});
    this.actor = createActor(machine, {
      clock: this.clock,
      input: { config: setup.config, hasTokenProvider: setup.hasTokenProvider, network: setup.network },
    });
    this.actor.on("*", (event) => this.onEmitted(event as EmittedEvent));
    this.actor.subscribe({
      next: (snapshot) => {
        this.previous = snapshot.context;
        this.log(`  state ${JSON.stringify(snapshot.value)} attempt=${snapshot.context.attempt} queue=${queueSize(snapshot.context.queue)}`);
      },
      error: (error) => this.violate(`the actor failed: ${String(error)}`),
    });
    this.actor.start();
    this.previous = this.actor.getSnapshot().context;
    this.config = this.previous.config;
    this.coverage.sequences += 1;
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

  // --- the fake socket actor --------------------------------------------------------------

  private report(event: SocketEvent): void {
    if (!this.sendBack) throw new Error("the fake socket actor is not running");
    this.sendBack(event);
  }

  private onCommand(command: SocketCommand): void {
    this.commands.push(command);
    this.log(`  socket <- ${JSON.stringify(command)}`);
    if (this.disposed && this.actor.getSnapshot().status === "stopped") {
      this.violate(`the socket got ${command.type} after dispose`);
    }
    const fake = this.fake;
    switch (command.type) {
      case "open":
        // The one exception: forceReconnection() tries once even offline (a person asked, and
        // the offline hint is often wrong), in the step that asked for it.
        if (this.network === "offline" && !this.forcing) this.violate(`open (generation ${command.generation}) while offline`);
        if (this.actor.getSnapshot().context.network === "offline" && !this.forcing) {
          this.violate(`open (generation ${command.generation}) while context.network is offline`);
        }
        if (command.generation <= this.lastOpenGeneration) {
          this.violate(`open generation ${command.generation} after ${this.lastOpenGeneration}`);
        }
        this.lastOpenGeneration = command.generation;
        Object.assign(fake, {
          status: "handshaking",
          generation: command.generation,
          heartbeats: [],
          acks: [],
          tracking: "on",
          lastHeartbeatSeq: 0,
          unconfirmed: [],
        } satisfies FakeSocketState);
        break;
      case "close":
        if (command.announceUnconfirmed) this.reportUnconfirmed();
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
        if (marker !== undefined) {
          const record = this.record(marker);
          if (record) {
            record.delivered += 1;
            this.coverage.delivered += 1;
          }
          if (command.ackId === undefined) {
            if (fake.tracking !== "off") fake.unconfirmed.push({ marker, afterSeq: fake.lastHeartbeatSeq });
          } else {
            fake.acks.push(command.ackId);
          }
        }
        break;
      }
      case "stopDeliveryTracking":
        if (fake.tracking === "on") fake.tracking = "untilAlive";
        break;
      case "heartbeat":
        if (fake.status === "connected" && command.generation === fake.generation) {
          fake.heartbeats.push(command.seq);
          fake.lastHeartbeatSeq = command.seq;
        }
        break;
    }
  }

  private reportUnconfirmed(): void {
    if (this.fake.unconfirmed.length === 0) return;
    const messages = this.fake.unconfirmed.map(({ marker }) => ({ event: "note", args: [marker] }));
    this.fake.unconfirmed = [];
    this.report({ type: "socket.unconfirmed", generation: this.fake.generation, messages });
  }

  private loseSocket(status: FakeSocketState["status"]): void {
    this.fake.status = status;
    this.fake.heartbeats = [];
    this.fake.acks = [];
  }

  // --- emitted events ---------------------------------------------------------------------

  private onEmitted(event: EmittedEvent): void {
    this.emitted.push(event);
    this.log(`  emitted ${JSON.stringify(event)}`);
    switch (event.type) {
      case "message:dropped": {
        const marker = this.markerOf(event.args);
        if (marker === undefined) break;
        const record = this.record(marker);
        if (!record) break;
        record.dropped += 1;
        record.dropReasons.push(event.reason);
        this.coverage.dropped.add(event.reason);
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
    const step = context.backoffStep;
    if (!(Number.isInteger(step) && step >= 1)) this.violate(`backoffStep ${step} after scheduling a retry`);
    const bounds = backoffBounds(step, config, this.previous.lastDelay);
    const where = `${config.jitterStrategy} step ${step} (previous ${this.previous.lastDelay})`;
    if (!Number.isInteger(delay)) this.violate(`reconnecting delay ${delay} is not whole ms`);
    if (delay < Math.floor(bounds.lower)) this.violate(`reconnecting delay ${delay} below ${bounds.lower}, ${where}`);
    const hint = this.hintInFlight ?? this.previous.retryAfterHint;
    if (delay > MAX_TIMER_MS) this.violate(`reconnecting delay ${delay} beyond the timer limit ${MAX_TIMER_MS}`);
    if (this.hintInFlight !== null && delay < Math.min(this.hintInFlight, MAX_TIMER_MS)) {
      this.violate(`reconnecting delay ${delay} below the server's retryAfter ${this.hintInFlight}`);
    }
    // The upper bound is open, but a random() within an ulp of 1 reaches it in floating point
    // (see clearOfOne in backoff.test.ts): pinned at the top, the bound is closed.
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

  // --- steps ------------------------------------------------------------------------------

  /** Whether a step can happen now (a socket fact needs a socket in the right state). */
  canRun(action: Action): boolean {
    if (this.disposed) return action.kind === "advance" || action.kind === "sleep";
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

  private send(event: ConnectionEvent): void {
    this.log(`chart <- ${JSON.stringify(event)}`);
    this.actor.send(event);
  }

  run(action: Action): void {
    this.coverage.steps += 1;
    const attemptBefore = this.disposed ? 0 : this.actor.getSnapshot().context.attempt;
    const offlineThroughout = this.network === "offline" && action.kind !== "online";
    this.log(`STEP ${describeAction(action)}`);
    const fake = this.fake;
    const generation = fake.generation;
    switch (action.kind) {
      case "connect":
      case "disconnect":
        this.send({ type: action.kind });
        break;
      case "forceReconnect":
        this.forcing = true;
        try {
          this.send({ type: action.kind });
        } finally {
          this.forcing = false;
        }
        break;
      case "send": {
        const marker = `m${this.nextMarker++}`;
        const ackId = action.mode === "callback" || action.mode === "request" ? this.nextAckId++ : undefined;
        this.markers.set(marker, {
          marker,
          label: describeAction(action),
          ...(ackId === undefined ? {} : { ackId }),
          delivered: 0,
          dropped: 0,
          unconfirmed: 0,
          dropReasons: [],
        });
        this.send({
          type: "send",
          event: "note",
          args: [marker],
          ...(ackId === undefined ? {} : { ackId }),
          ...(action.ttl === undefined ? {} : { ttl: action.ttl }),
          ...(action.mode === "volatile" ? { volatile: true } : {}),
          ...(action.mode === "request" ? { timeout: action.timeout } : {}),
        });
        break;
      }
      case "authUpdated":
        // The token stays with the socket actor: the event says only that the credentials changed.
        this.send({ type: "auth.updated" });
        break;
      case "online":
        this.network = "online";
        this.send({ type: "network.online" });
        break;
      case "offline":
        this.network = "offline";
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
      case "disconnected":
        this.loseSocket("failed");
        this.report({ type: "socket.disconnected", generation, reason: action.reason });
        this.reportUnconfirmed();
        break;
      case "message":
        // A sign of life from a server the chart found not acking: stop remembering.
        if (fake.tracking === "untilAlive") {
          fake.tracking = "off";
          fake.unconfirmed = [];
        }
        this.report({ type: "socket.message", generation, event: "news", args: ["hello"] });
        break;
      case "heartbeatAck": {
        const seq = action.pick === "oldest" ? fake.heartbeats.shift()! : fake.heartbeats.pop()!;
        fake.unconfirmed = fake.unconfirmed.filter((sent) => sent.afterSeq >= seq);
        fake.tracking = "on";
        this.report({ type: "socket.heartbeatAck", generation, seq });
        break;
      }
      case "ack": {
        const ackId = action.pick === "oldest" ? fake.acks.shift()! : fake.acks.pop()!;
        this.report({ type: "socket.ack", ackId, response: ["ok"] });
        break;
      }
      case "stale":
        this.runStale(action.fact, generation - action.back);
        break;
      case "advance":
        runFor(this.clock, action.ms);
        break;
      case "sleep":
        this.clock.increment(action.ms);
        break;
    }
    if (offlineThroughout && !this.disposed && this.actor.getSnapshot().context.attempt > attemptBefore) {
      this.violate(`attempt counted while offline (${attemptBefore} -> ${this.actor.getSnapshot().context.attempt})`);
    }
    this.checkInvariants(describeAction(action));
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
    if (this.emitted.length !== emittedBefore) this.violate(`a stale ${event.type} emitted events`);
    if (this.commands.length !== commandsBefore) this.violate(`a stale ${event.type} commanded the socket`);
  }

  /** As `WebSocketService.dispose()`: the chart drops and announces, then the actor stops. */
  dispose(): void {
    if (this.disposed) return;
    const queued = queuedMessages(this.actor.getSnapshot().context.queue).map((message) => this.markerOf(message.args));
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

    // Attempts.
    if (context.attempt > config.maxReconnectAttempts) {
      this.violate(`attempt ${context.attempt} > maxReconnectAttempts ${config.maxReconnectAttempts}`);
    }
    if (state === "exhausted" && context.attempt !== config.maxReconnectAttempts) {
      this.violate(`exhausted with attempt ${context.attempt} of ${config.maxReconnectAttempts}`);
    }

    // Network: the chart believes what it was told.
    if (context.network !== this.network) this.violate(`context.network ${context.network}, told ${this.network}`);

    // Retry delay within its strategy's bounds (the largest retryAfter hint widens the top).
    if (context.nextRetryDelay !== null) {
      const bounds = anyBackoffBounds(config);
      const ceiling = Math.max(bounds.upper, this.largestHint > 0 ? retryAfterCeiling(this.largestHint, config) : 0);
      if (context.nextRetryDelay < Math.floor(bounds.lower) || context.nextRetryDelay > ceiling) {
        this.violate(`nextRetryDelay ${context.nextRetryDelay} outside [${bounds.lower}, ${ceiling}]`);
      }
      if (context.nextRetryDelay !== this.lastReconnectingDelay) {
        this.violate(`nextRetryDelay ${context.nextRetryDelay} was never announced (last ${this.lastReconnectingDelay})`);
      }
    }
    if (!this.disposed && JSON.stringify(value) === JSON.stringify({ backingOff: "waiting" }) && context.nextRetryDelay === null) {
      this.violate("waiting for a retry without a delay");
    }
    // The retry timer fires when due: waiting, it is not overdue.
    if (!this.disposed && JSON.stringify(value) === JSON.stringify({ backingOff: "waiting" })) {
      if (context.nextRetryAt === null || context.nextRetryAt <= now) {
        this.violate(`waiting for a retry due at ${context.nextRetryAt}, now ${now}`);
      }
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

    // Queue: bounded, nothing past its expiry, and every send accounted for exactly once.
    const held = queuedMessages(context.queue);
    if (held.length !== queueSize(context.queue)) {
      this.violate(`the queue holds ${held.length} messages but says ${queueSize(context.queue)}`);
    }
    if (held.length > config.maxQueueSize) {
      this.violate(`queue of ${held.length} > maxQueueSize ${config.maxQueueSize}`);
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

export function describeAction(action: Action): string {
  switch (action.kind) {
    case "send": {
      const options = [
        action.mode === "plain" ? undefined : action.mode,
        action.ttl === undefined ? undefined : `ttl ${action.ttl}`,
        action.timeout === undefined ? undefined : `timeout ${action.timeout}`,
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
    hasTokenProvider: fc.boolean(),
    network: fc.constantFrom<NetworkStatus>("online", "online", "offline"),
    random: fc.oneof(
      { weight: 4, arbitrary: fc.record({ mode: fc.constant("seeded" as const), seed: fc.integer() }) },
      { weight: 1, arbitrary: fc.constant({ mode: "lowest" as const }) },
      { weight: 1, arbitrary: fc.constant({ mode: "highest" as const }) },
    ),
  })
  .map(({ maxFactor, minFraction, hasTokenProvider, network, random, ...rest }) => ({
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
    },
    hasTokenProvider,
    network,
    random,
  }));

const simple = (kind: "connect" | "disconnect" | "forceReconnect" | "authUpdated" | "online" | "offline" | "resume" | "dispose") =>
  fc.constant({ kind } as Action);
const pick = fc.constantFrom("oldest" as const, "newest" as const);

/** One step, weighted so that most sequences connect, fail, queue, retry and expire. */
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
      })
      .map(({ mode, ttl, timeout }): Action => ({
        kind: "send",
        mode,
        ...(ttl === undefined ? {} : { ttl }),
        ...(mode === "request" ? { timeout } : {}),
      })),
  },
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
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant("advance" as const),
      ms: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 300, max: 6000 })),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("sleep" as const), ms: fc.integer({ min: 1000, max: 60_000 }) }) },
);

/** Sequences of 0 to `maxCommands` steps, shrinkable, printed one step per command. */
export function sequenceArbitrary(maxCommands: number, replayPath?: string) {
  return fc.commands([actionArbitrary.map((action) => new Step(action), (step) => (step as Step).action)], {
    maxCommands,
    size: "max",
    ...(replayPath === undefined ? {} : { replayPath }),
  });
}
