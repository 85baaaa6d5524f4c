import { and, assign, emit, enqueueActions, not, raise, sendTo, setup } from "xstate";
import { computeBackoffDelay, computeRetryAfterDelay } from "./backoff.js";
import { MAX_TIMER_MS, resolveConfig } from "./config.js";
import { computeHealthScore, heartbeatAckTimeout, qualityOf, updateRtt } from "./health.js";
import {
  type CallbackName,
  type FaultReporter,
  guardClock,
  guardRandom,
  messageOf,
  monotonicNow,
  wallNow,
} from "./environment.js";
import {
  createQueue,
  drainMessages,
  earliestExpiry,
  EXPIRY_BATCH,
  pushMessage,
  queueSize,
  removeRequest,
  shrinkQueue,
  takeExpired,
} from "./queue.js";
import { createSocketActor } from "./socketActor.js";
import type {
  ConnectionConfig,
  ConnectionContext,
  ConnectionEvent,
  DropReason,
  EmittedEvent,
  ErrorInfo,
  NetworkStatus,
  QueuedMessage,
  ServiceEventMap,
  SocketCommand,
} from "./types.js";

/** What the chart needs from the outside world, injected so that any run can be replayed. */
export interface MachineEnvironment {
  /** Jitter source, a number in [0, 1); out-of-range values are clamped. @default Math.random */
  random?: () => number;
  /**
   * Wall clock in epoch ms, only for the times shown to people (`nextRetryAt`) and for
   * noticing a sleep. With `SimulatedClock`, pass `() => clock.now()`. @default Date.now
   */
  now?: () => number;
  /**
   * Monotonic clock in ms for every duration (heartbeat cadence, ack timeouts, queue TTLs,
   * holds): a wall-clock step must not stall or stretch them. @default `now` when it is
   * given (a simulated clock drives both), otherwise `performance.now`
   */
  monotonic?: () => number;
  /** Told when `random` or a clock throws or returns nonsense (once per function is enough). */
  onCallbackFault?: FaultReporter;
  /**
   * A backoff policy of your own, in place of the named `jitterStrategy` (as TanStack Query's
   * `retryDelay` or p-retry's options): ms to wait before the retry at this backoff step. A
   * server's `retryAfter` is still a floor; a throw or a value that is not a finite number
   * ≥ 0 falls back to the named strategy for that retry (and is reported).
   * @example retryDelay: (step) => Math.min(30_000, 500 * 2 ** step)
   */
  retryDelay?: RetryDelayPolicy;
}

/** What a {@link RetryDelayPolicy} is told about the retry it schedules. */
export interface RetryDelayContext {
  /** Retries started in this outage so far (the one being scheduled is `retries + 1`). */
  retries: number;
  /** Failed attempts in a row. */
  attempt: number;
  /** The previous delay this policy (or the strategy) returned, ms, or `null`. */
  lastDelay: number | null;
  /** The server's `retryAfter` of the last refusal, ms, or `null` (it is applied as a floor afterwards). */
  retryAfter: number | null;
  config: ConnectionConfig;
}

/**
 * A backoff policy: `step` is the backoff step (1 for the first retry; it keeps rising while
 * connections drop before `stablePeriod`, and resets after a stable one), `error` the last
 * failure. Returns ms.
 */
export type RetryDelayPolicy = (step: number, error: ErrorInfo | null, context: RetryDelayContext) => number;

/** Input of the machine: everything here ends up in context as plain data. */
export interface ConnectionMachineInput {
  /** The server, or the servers in order of preference (failover; the first is the primary). */
  url?: string | readonly string[];
  path?: string;
  /** Overrides of `DEFAULT_CONFIG`; validated. */
  config?: Partial<ConnectionConfig>;
  /** Whether the socket actor has a token provider to ask before each handshake. */
  hasTokenProvider?: boolean;
  /** Whether the environment has a `retryDelay` policy (shown as `jitterStrategy: "custom"`). */
  customBackoff?: boolean;
  network?: NetworkStatus;
}

const MESSAGE_DROP_TEXT: Record<DropReason, string> = {
  overflow: "the queue was full",
  expired: "its queueTtl ran out",
  disposed: "the service was disposed",
  volatile: "it was volatile and the socket was not connected",
  timeout: "its request timed out",
  unencodable: "Socket.IO could not encode it",
};

export function initialContext(input: ConnectionMachineInput): ConnectionContext {
  const urls = typeof input.url === "string" ? [input.url] : input.url?.length ? [...input.url] : ["http://127.0.0.1"];
  return {
    url: urls[0]!,
    urls,
    serverIndex: 0,
    serverFailures: 0,
    failingBack: false,
    failbackDeferred: false,
    moveProbeAt: null,
    probeRequested: false,
    sessionServer: null,
    callActive: false,
    plannedReturnAt: null,
    restarting: false,
    callQueue: createQueue(),
    retryWindowHint: null,
    path: input.path ?? "/socket.io/",
    config: resolveConfig(input.config),
    attempt: 0,
    connectAttempts: 0,
    retries: 0,
    backoffStep: 0,
    lastDelay: null,
    nextRetryDelay: null,
    nextRetryAt: null,
    retryAfterHint: null,
    lastError: null,
    network: input.network ?? "online",
    hasTokenProvider: input.hasTokenProvider ?? false,
    customBackoff: input.customBackoff ?? false,
    awaitingToken: false,
    authRefreshUsed: false,
    generation: 0,
    forceId: 0,
    forcedAttempt: false,
    socketId: null,
    recovered: false,
    recoveryWindow: null,
    lastAckAt: null,
    recoveryHoldUntil: null,
    connectedAt: null,
    consecutiveFailures: 0,
    heartbeatsAcked: false,
    heartbeatSeq: 0,
    heartbeatSentAt: null,
    pendingHeartbeats: [],
    serverHoldUntil: null,
    timerDue: null,
    probeAfterResume: false,
    latency: null,
    srtt: null,
    rttvar: null,
    queue: createQueue(),
    nextMessageId: 1,
  };
}

/**
 * The announcements of messages leaving the queue unsent: `message:dropped` for each, and
 * for a request the settlement that rejects its promise.
 */
export function dropAnnouncements(
  messages: readonly Pick<QueuedMessage, "event" | "args" | "ackId">[],
  reason: DropReason,
): EmittedEvent[] {
  return messages.flatMap((message): EmittedEvent[] => [
    { type: "message:dropped", event: message.event, reason, args: message.args },
    ...(message.ackId === undefined
      ? []
      : [
          {
            type: "request:settled" as const,
            ackId: message.ackId,
            error: { message: `"${message.event}" was dropped: ${MESSAGE_DROP_TEXT[reason]}` },
          },
        ]),
  ]);
}

/**
 * Slack after the server's ping window before a held retry: its timers and ours do not start
 * at the same instant, and a handshake that arrives a moment early gets a new session.
 */
const RECOVERY_MARGIN_MS = 1000;

/**
 * The longest a background check of the primary may take. A live server answers a bare GET in
 * a round trip; a proxy or load balancer that accepts the TCP connection and closes it without
 * an answer is only noticed at this timeout (fetch in Node reports nothing for a connection
 * closed before the response when it asked for `connection: close`).
 */
const FAILBACK_CHECK_TIMEOUT_MS = 5000;

/** A message on its way out: from `send`, or back from the socket actor as `socket.undelivered`. */
export type OutgoingMessage = Omit<Extract<ConnectionEvent, { type: "socket.undelivered" }>, "type">;

type OutgoingEvent = Extract<ConnectionEvent, { type: "send" | "socket.undelivered" }>;

/** The params of the actions and guards that handle an outgoing message. */
export function outgoingOf({ event }: { event: OutgoingEvent }): OutgoingMessage {
  return {
    event: event.event,
    args: event.args,
    ackId: event.ackId,
    ttl: event.ttl,
    volatile: event.volatile,
    priority: event.priority,
  };
}

type FailedEvent = Extract<ConnectionEvent, { type: "socket.connectFailed" }>;

/** The params of the actions that record or announce a failed handshake. */
export function failureOf({ event }: { event: FailedEvent }): FailureParams {
  return { error: event.error, retryAfter: event.retryAfter, retryWindow: event.retryWindow ?? null };
}

/** What the actions that record a failed handshake are told. */
export interface FailureParams {
  error: ErrorInfo;
  retryAfter: number | null;
  retryWindow: number | null;
}

type DrainEvent = Extract<ConnectionEvent, { type: "socket.drainNotice" }>;

/** The params of `recordPlannedRestart`: the server's announcement. */
export function drainOf({ event }: { event: DrainEvent }): { reconnectAfter: number; windowMs: number; slot: number | null } {
  return { reconnectAfter: event.reconnectAfter, windowMs: event.windowMs, slot: event.slot };
}

/** The next server in the list after `index` (wrapping around). */
function nextServer(context: ConnectionContext, index = context.serverIndex): number {
  return (index + 1) % context.urls.length;
}

/**
 * The move to server `index` of the list: the fields that say which server is in use (always
 * changed together) and the announcement of the move.
 */
function moveToServer(
  context: ConnectionContext,
  index: number,
  reason: ServiceEventMap["connection:server_changed"]["reason"],
): { fields: Pick<ConnectionContext, "serverIndex" | "url" | "serverFailures">; announcement: EmittedEvent } {
  const to = context.urls[index]!;
  return {
    fields: { serverIndex: index, url: to, serverFailures: 0 },
    announcement: { type: "connection:server_changed", from: context.url, to, reason },
  };
}

/**
 * Whether sends wait in the queue although a socket is connected: a heartbeat ack is overdue
 * (the link may be dead), or the link is being left for the primary. The chart's send guards
 * and the service's fast path both read this.
 */
export function holdsSends(context: Pick<ConnectionContext, "consecutiveFailures" | "moveProbeAt">): boolean {
  return context.consecutiveFailures > 0 || context.moveProbeAt !== null;
}

/** The heartbeat cadence in force: call mode's when a call is in progress and it is shorter. */
function heartbeatIntervalOf(context: ConnectionContext): number {
  return context.callActive
    ? Math.min(context.config.heartbeatInterval, context.config.callHeartbeatInterval)
    : context.config.heartbeatInterval;
}

/** Sends held while not connected, both queues (call signalling and the rest). */
export function heldMessages(context: Pick<ConnectionContext, "queue" | "callQueue">): number {
  return queueSize(context.queue) + queueSize(context.callQueue);
}

type SendEvent = Extract<ConnectionEvent, { type: "send" }>;

/** The params of `scheduleRequestTimeout`: a send that is a request with a timeout starts its timer. */
export function requestOf({ event }: { event: SendEvent }): { ackId?: number; timeout?: number } {
  return { ackId: event.ackId, timeout: event.timeout };
}

/** The health score of a context (0 unless connected). */
export function healthScoreOf(context: ConnectionContext, connected: boolean): number {
  return computeHealthScore({
    connected,
    consecutiveFailures: context.consecutiveFailures,
    latency: context.latency,
    attempt: context.connectAttempts,
  });
}

/**
 * The chart's implementations, named in `setup()` so that the chart (connectionMachine.ts)
 * references every action, guard and delay by name, and a test can swap any of them with
 * `machine.provide(...)`. The functions an app hands in are guarded here.
 */
export function setupConnection(environment: MachineEnvironment = {}) {
  const report: FaultReporter = environment.onCallbackFault ?? (() => {});
  const random = guardRandom(environment.random ?? Math.random, report);
  const now = environment.now ? guardClock(environment.now, wallNow, "now", report) : wallNow;
  const monotonic = environment.monotonic
    ? guardClock(environment.monotonic, monotonicNow, "clock", report)
    : environment.now
      ? guardClock(environment.now, monotonicNow, "now", report)
      : monotonicNow;

  /** The app's own policy's delay, or null to use the named strategy (none given, or it misbehaved). */
  const policyDelay = (step: number, context: ConnectionContext): number | null => {
    const policy = environment.retryDelay;
    if (!policy) return null;
    let delay: unknown;
    try {
      delay = policy(step, context.lastError, {
        retries: context.retries,
        attempt: context.attempt,
        lastDelay: context.lastDelay,
        retryAfter: context.retryAfterHint,
        config: context.config,
      });
    } catch (error) {
      report("retryDelay", `retryDelay threw: ${messageOf(error)}; the ${context.config.jitterStrategy} strategy decided`);
      return null;
    }
    if (typeof delay === "number" && Number.isFinite(delay) && delay >= 0) return Math.min(delay, MAX_TIMER_MS);
    report("retryDelay", `retryDelay returned ${String(delay)}, not a finite number of ms ≥ 0; the ${context.config.jitterStrategy} strategy decided`);
    return null;
  };

  /**
   * How late the timer in `timerDue` fired. Both clocks are read: a suspended machine stops
   * the monotonic clock on Linux and macOS (timers then fire late only in wall time), while a
   * wall-clock step alone moves only the wall reading (a forward step then costs one early
   * probe, nothing more; a backward step reads as "on time").
   */
  const sleptFor = (context: ConnectionContext): number => {
    const due = context.timerDue;
    if (due === null) return 0;
    return Math.max(0, monotonic() - due.monotonic, now() - due.wall);
  };

  return setup({
    types: {
      context: {} as ConnectionContext,
      events: {} as ConnectionEvent,
      input: {} as ConnectionMachineInput,
      emitted: {} as EmittedEvent,
    },
    actors: {
      socket: createSocketActor(),
    },
    delays: {
      connectTimeout: ({ context }) => context.config.connectionTimeout,
      retryDelay: ({ context }) => context.nextRetryDelay ?? 0,
      // The cadence is anchored to the send, so that time spent waiting for an ack (the whole
      // ack timeout with a server that never acks) does not stretch the interval.
      untilNextHeartbeat: ({ context }) =>
        Math.max(0, (context.heartbeatSentAt ?? monotonic()) + heartbeatIntervalOf(context) - monotonic()),
      heartbeatAckTimeout: ({ context }) =>
        context.probeAfterResume
          ? context.config.minHeartbeatTimeout
          : heartbeatAckTimeout(
              context.srtt,
              context.rttvar,
              context.config.minHeartbeatTimeout,
              context.config.heartbeatTimeout,
            ),
      healthCheckInterval: ({ context }) => context.config.healthCheckInterval,
      stablePeriod: ({ context }) => context.config.stablePeriod,
      // Raised only while something is queued, so the earliest expiry is there (O(1), a heap's top).
      untilQueueExpiry: ({ context }) => {
        const earliest = Math.min(earliestExpiry(context.queue) ?? Infinity, earliestExpiry(context.callQueue) ?? Infinity);
        return Math.max(0, (Number.isFinite(earliest) ? earliest : monotonic()) - monotonic());
      },
      failbackInterval: ({ context }) => context.config.failbackInterval,
      // Room for a probe already in flight and the one after it.
      confirmBeforeMove: ({ context }) => context.config.heartbeatTimeout,
      // Reads the event: the delayed raise that uses it is enqueued by scheduleRequestTimeout, and
      // xstate resolves an enqueued action's delay without that action's params.
      requestTimeout: ({ event }) => (event.type === "send" && event.timeout) || 0,
    },
    guards: {
      isCurrentSocket: ({ context, event }) => "generation" in event && event.generation === context.generation,
      // These two read the event: they are combined with and(), which does not type dynamic params.
      isAuthRejection: ({ event }) => event.type === "socket.connectFailed" && event.authRejected,
      canRefreshToken: ({ context }) => context.hasTokenProvider && !context.authRefreshUsed,
      isOffline: ({ context }) => context.network === "offline",
      // A person asked for this attempt (forceReconnection): the offline hint is often wrong,
      // so it is tried once anyway.
      isWaitingForNetwork: ({ context }) => context.network === "offline" && !context.forcedAttempt,
      // During a call reconnection never gives up: the counter keeps counting, exhausted waits.
      hasAttemptsLeft: ({ context }) => context.callActive || context.attempt + 1 < context.config.maxReconnectAttempts,
      isCallActive: ({ context }) => context.callActive,
      isCallStarted: ({ event }) => event.type === "call.set" && event.active,
      // A call started while the retry waits longer than call mode allows: schedule it again.
      isCallStartBeyondCap: ({ context, event }) =>
        event.type === "call.set" &&
        event.active &&
        context.timerDue !== null &&
        context.timerDue.monotonic - monotonic() > context.config.callMaxDelay,
      // In call mode a forced reconnection keeps a link that shows no sign of trouble.
      isCallOnWorkingLink: ({ context }) => context.callActive && context.consecutiveFailures === 0,
      isOnBackup: ({ context }) => context.urls.length > 1 && context.serverIndex !== 0,
      hasFailbackDeferred: ({ context }) => context.failbackDeferred,
      isMovingBack: ({ context }) => context.failingBack,
      // The ack of a heartbeat sent after the move began: it covers every send made on this link.
      isLinkConfirmedForMove: ({ context }) =>
        context.moveProbeAt !== null &&
        context.heartbeatSentAt !== null &&
        context.heartbeatSentAt >= context.moveProbeAt &&
        context.pendingHeartbeats.length === 0 &&
        context.lastAckAt !== null &&
        context.lastAckAt >= context.heartbeatSentAt,
      isProbeRequested: ({ context }) => context.probeRequested,
      isPrimaryAnswer: ({ context, event }) => event.type === "socket.probed" && event.ok && event.url === context.urls[0],
      isPlannedRestart: ({ context }) => context.plannedReturnAt !== null,
      isServerDisconnect: ({ event }) =>
        event.type === "socket.disconnected" && event.reason === "io server disconnect",
      reconnectsOnServerDisconnect: ({ context }) => context.config.reconnectOnServerDisconnect,
      isVolatileSend: (_, params: OutgoingMessage) => params.volatile === true,
      isPendingHeartbeat: ({ context }, params: { generation: number; seq: number }) =>
        params.generation === context.generation && context.pendingHeartbeats.some((beat) => beat.seq === params.seq),
      isLinkSuspect: ({ context }) => context.consecutiveFailures > 0,
      isLeavingLink: ({ context }) => context.moveProbeAt !== null,
      isHeldByServer: ({ context }) => context.serverHoldUntil !== null && monotonic() < context.serverHoldUntil,
      isServerAckingHeartbeats: ({ context }) => context.heartbeatsAcked,
      isLastToleratedMiss: ({ context }) => context.consecutiveFailures + 1 >= context.config.unhealthyThreshold,
      hasSlept: ({ context }) => sleptFor(context) > context.config.sleepThreshold,
      // Combined guards, named so that the machine's JSON and the inspector show what each
      // branch of a handshake failure or a loss decides.
      isRefreshableAuthRejection: and(["isCurrentSocket", "isAuthRejection", "canRefreshToken"]),
      isFinalAuthRejection: and(["isCurrentSocket", "isAuthRejection"]),
      isFailureWhileOffline: and(["isCurrentSocket", "isOffline"]),
      isFailureWithAttemptsLeft: and(["isCurrentSocket", "hasAttemptsLeft"]),
      isFailedMoveBack: and(["isCurrentSocket", "isMovingBack"]),
      isFinalServerDisconnect: and(["isCurrentSocket", "isServerDisconnect", not("reconnectsOnServerDisconnect")]),
      isPlannedRestartLoss: and(["isCurrentSocket", "isPlannedRestart"]),
      isFailbackDeferred: and(["isOnBackup", "hasFailbackDeferred"]),
      isServerSilentOnHeartbeats: not("isServerAckingHeartbeats"),
    },
    actions: {
      openSocket: enqueueActions(({ context, enqueue }) => {
        const generation = context.generation + 1;
        enqueue.assign({ generation, socketId: null, awaitingToken: false, forcedAttempt: false });
        enqueue.sendTo("socket", {
          type: "open",
          generation,
          url: context.url,
          // Only the server that holds the session can restore it, unless the servers share
          // sessions (one cluster behind an adapter): then any of them can.
          offerSession: context.sessionServer !== null && (context.config.sharedSessions || context.sessionServer === context.url),
        } satisfies SocketCommand);
      }),
      closeSocket: sendTo("socket", { type: "close" } satisfies SocketCommand),
      // A deliberate end: the server is told, and forgets the session (no recovery offered).
      endSocket: sendTo("socket", { type: "close", graceful: true } satisfies SocketCommand),
      resetAttempts: assign({
        attempt: 0,
        retries: 0,
        backoffStep: 0,
        lastDelay: null,
        retryAfterHint: null,
        retryWindowHint: null,
        authRefreshUsed: false,
      }),
      resetBackoff: assign({ backoffStep: 0, lastDelay: null }),
      // A person asked for this attempt: a planned return the server announced no longer applies.
      markForced: assign(({ context }, params: { id: number | undefined }) => ({
        forceId: params.id ?? context.forceId,
        forcedAttempt: true,
        plannedReturnAt: null,
        restarting: false,
      })),
      // Joining the attempt in flight: its outcome is the caller's; no new attempt is forced.
      recordForceTicket: assign(({ context }, params: { id: number | undefined }) => ({
        forceId: params.id ?? context.forceId,
      })),
      countRetry: assign({ retries: ({ context }) => context.retries + 1 }),
      recordFailure: assign(({ context }, params: FailureParams) => ({
        attempt: context.attempt + 1,
        lastError: params.error,
        retryAfterHint: params.retryAfter,
        retryWindowHint: params.retryWindow,
      })),
      recordUncountedFailure: assign((_, params: FailureParams) => ({
        lastError: params.error,
        retryAfterHint: params.retryAfter,
        retryWindowHint: params.retryWindow,
      })),
      emitFailed: emit(({ context }, params: { error: ErrorInfo }) => ({
        type: "connection:failed" as const,
        attempt: Math.max(context.attempt, 1),
        error: params.error,
        server: context.url,
      })),
      // After failoverAfter failures in a row on one server (or one failure of a move back to
      // the primary), the next attempt goes to the next server in the list.
      countServerFailure: enqueueActions(({ context, enqueue }) => {
        const failures = context.serverFailures + 1;
        if (context.urls.length < 2 || (!context.failingBack && failures < context.config.failoverAfter)) {
          enqueue.assign({ serverFailures: failures });
          return;
        }
        const move = moveToServer(context, nextServer(context), "failover");
        enqueue.assign({
          ...move.fields,
          failingBack: false,
          // A refused move back: the primary's hold is about the primary, not about the backup
          // the service just left working; the return there waits for the backoff alone, and
          // the next move back for a whole failbackInterval.
          ...(context.failingBack ? { retryAfterHint: null, retryWindowHint: null, failbackDeferred: true } : {}),
        });
        enqueue.emit(move.announcement);
      }),
      startFailback: enqueueActions(({ context, enqueue }) => {
        const move = moveToServer(context, 0, "failback");
        enqueue.assign({ ...move.fields, failingBack: true, moveProbeAt: null });
        enqueue.emit({ type: "connection:disconnected", reason: "moving back to the primary server" });
        enqueue.emit(move.announcement);
      }),
      probePrimary: sendTo("socket", ({ context }) => ({
        type: "probe" as const,
        url: context.urls[0]!,
        timeout: Math.min(context.config.connectionTimeout, FAILBACK_CHECK_TIMEOUT_MS),
      }) satisfies SocketCommand),
      setCallActive: assign((_, params: { active: boolean }) => ({ callActive: params.active })),
      // The retry is drawn again at the same backoff step (scheduleRetry raises the step); what is
      // left of a hold the server asked for stays a floor, exactly.
      repeatBackoffStep: assign(({ context }) => {
        const held = context.serverHoldUntil === null ? 0 : Math.ceil(context.serverHoldUntil - monotonic());
        return {
          backoffStep: Math.max(0, context.backoffStep - 1),
          ...(held > 0 ? { retryAfterHint: held, retryWindowHint: 0 } : {}),
        };
      }),
      raiseLinkProbe: raise({ type: "link.probe" as const }),
      markMoveProbe: assign(() => ({ moveProbeAt: monotonic() })),
      requestProbe: assign({ probeRequested: true }),
      clearProbeRequest: assign({ probeRequested: false }),
      recordPlannedRestart: enqueueActions(
        ({ context, enqueue }, params: { reconnectAfter: number; windowMs: number; slot: number | null }) => {
          const spread = params.slot === null ? random() * params.windowMs : Math.min(params.slot, params.windowMs);
          const planned = params.reconnectAfter + spread;
          // In a call the link matters more than the spread: come back within callMaxDelay.
          const delay = Math.ceil(context.callActive ? Math.min(planned, context.config.callMaxDelay) : planned);
          enqueue.assign({ plannedReturnAt: monotonic() + delay, restarting: true });
          enqueue.emit({
            type: "connection:restarting",
            server: context.urls.length > 1 ? context.urls[nextServer(context)]! : context.url,
            delay,
            windowMs: params.windowMs,
          });
        },
      ),
      // The announced restart took the link: to the next server when there are several (its
      // session follows when they share sessions), and no failure is counted.
      recordPlannedLoss: enqueueActions(({ context, enqueue }, params: { reason: string }) => {
        enqueue.assign({ lastError: { message: `the server is restarting (${params.reason})` } });
        if (context.urls.length < 2) return;
        const move = moveToServer(context, nextServer(context), "drain");
        enqueue.assign({ ...move.fields, failingBack: false });
        enqueue.emit(move.announcement);
      }),
      forgetPlannedRestart: assign({ plannedReturnAt: null, restarting: false }),
      raiseConnectTimeout: raise(({ context }) => ({
        type: "socket.connectFailed" as const,
        generation: context.generation,
        error: {
          message: context.awaitingToken
            ? `token provider did not answer within ${context.config.connectionTimeout} ms`
            : `connection timed out after ${context.config.connectionTimeout} ms`,
        },
        authRejected: false,
        retryAfter: null,
      })),
      raiseHandshakeLost: raise(({ context }, params: { reason: string }) => ({
        type: "socket.connectFailed" as const,
        generation: context.generation,
        error: { message: `disconnected during the handshake (${params.reason})` },
        authRejected: false,
        retryAfter: null,
      })),
      recordAuthRejection: assign((_, params: { error: ErrorInfo }) => ({ lastError: params.error })),
      useTokenRefresh: assign({ authRefreshUsed: true }),
      emitAuthFailed: emit((_, params: { error: ErrorInfo }) => ({ type: "connection:auth_failed" as const, error: params.error })),
      emitAuthRequired: emit({ type: "connection:auth_required" as const }),
      recordMissingToken: assign((_, params: { reason: string }) => ({ lastError: { message: params.reason } })),
      setAwaitingToken: assign((_, params: { awaiting: boolean }) => ({ awaitingToken: params.awaiting })),
      resetTokenRefresh: assign({ authRefreshUsed: false }),
      scheduleRetry: assign(({ context }) => {
        if (context.plannedReturnAt !== null) {
          // A planned restart: the moment this client picked in the server's window. Not a
          // failure, so the backoff envelope does not grow.
          const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(context.plannedReturnAt - monotonic())));
          return {
            nextRetryDelay: delay,
            nextRetryAt: now() + delay,
            timerDue: { monotonic: monotonic() + delay, wall: now() + delay },
            plannedReturnAt: null,
            retryAfterHint: null,
            retryWindowHint: null,
            recoveryHoldUntil: null,
            serverHoldUntil: null,
          };
        }
        const step = context.backoffStep + 1;
        const drawn = policyDelay(step, context) ?? computeBackoffDelay(step, context.config, random, context.lastDelay);
        // In a call the backoff (and the recovery hold) are capped; a server's retryAfter stays a floor.
        const cap = context.callActive ? context.config.callMaxDelay : Infinity;
        const backoff = Math.min(drawn, cap);
        const hinted =
          context.retryAfterHint === null
            ? 0
            : computeRetryAfterDelay(context.retryAfterHint, context.config, random, context.retryWindowHint);
        // Whole ms that stay inside each bound: the backoff rounds down (its upper bound is open),
        // the server's hint rounds up (it is a floor).
        // Capped at the timer limit: a server's retryAfter of weeks must not overflow setTimeout.
        const held = context.recoveryHoldUntil === null ? 0 : Math.min(cap, context.recoveryHoldUntil - monotonic());
        // A refusal with a retryWindow names the moment the server keeps a place for (admission
        // control's promised slot): the backoff must not push the retry past it into someone
        // else's slot. Without a window the hint stays a floor under the backoff.
        const promised = context.retryAfterHint !== null && context.retryWindowHint !== null;
        const delay = Math.min(
          MAX_TIMER_MS,
          Math.max(promised ? 0 : Math.floor(backoff), Math.ceil(hinted), Math.ceil(held)),
        );
        return {
          backoffStep: step,
          lastDelay: drawn,
          nextRetryDelay: delay,
          nextRetryAt: now() + delay,
          timerDue: { monotonic: monotonic() + delay, wall: now() + delay },
          retryAfterHint: null,
          retryWindowHint: null,
          recoveryHoldUntil: null,
          serverHoldUntil: context.retryAfterHint === null ? null : monotonic() + context.retryAfterHint,
        };
      }),
      clearRetrySchedule: assign({ nextRetryDelay: null, nextRetryAt: null, timerDue: null }),
      emitReconnecting: emit(({ context }) => ({
        type: "connection:reconnecting" as const,
        attempt: context.retries + 1,
        delay: context.nextRetryDelay ?? 0,
        server: context.url,
      })),
      emitMaxAttemptsReached: emit(({ context }) => ({
        type: "connection:max_attempts_reached" as const,
        attempts: context.attempt,
      })),
      setConnected: assign(
        ({ context }, params: { socketId: string; recovered: boolean; recoverableWithin: number | null }) => ({
        socketId: params.socketId,
        recovered: params.recovered,
        sessionServer: context.url,
        serverFailures: 0,
        failingBack: false,
        failbackDeferred: context.serverIndex === 0 ? false : context.failbackDeferred,
        plannedReturnAt: null,
        restarting: false,
        recoveryWindow: params.recoverableWithin,
        lastAckAt: null,
        recoveryHoldUntil: null,
        connectedAt: monotonic(),
        connectAttempts: context.attempt,
        attempt: 0,
        lastError: null,
        authRefreshUsed: false,
        consecutiveFailures: 0,
        heartbeatsAcked: false,
        latency: null,
        srtt: null,
        rttvar: null,
        probeAfterResume: false,
        pendingHeartbeats: [],
        serverHoldUntil: null,
        nextRetryAt: null,
        nextRetryDelay: null,
      })),
      emitConnected: emit(({ context }) => ({
        type: "connection:connected" as const,
        socketId: context.socketId ?? "",
        recovered: context.recovered,
        server: context.url,
      })),
      emitReconnected: enqueueActions(({ context, enqueue }) => {
        if (context.retries > 0) {
          enqueue.emit({ type: "connection:reconnected", attempts: context.retries, recovered: context.recovered });
        }
        enqueue.assign({ retries: 0 });
      }),
      clearConnection: assign({
        socketId: null,
        recovered: false,
        connectedAt: null,
        timerDue: null,
        moveProbeAt: null,
        probeRequested: false,
      }),
      emitDisconnected: emit((_, params: { reason: string }) => ({
        type: "connection:disconnected" as const,
        reason: params.reason,
      })),
      setOnline: assign({ network: "online" as const }),
      setOffline: assign({ network: "offline" as const }),
      sendHeartbeat: enqueueActions(({ context, enqueue }) => {
        const seq = context.heartbeatSeq + 1;
        const sentAt = monotonic();
        enqueue.assign({
          heartbeatSeq: seq,
          heartbeatSentAt: sentAt,
          // Probing: no rest timer is due until the probe settles.
          timerDue: null,
          pendingHeartbeats: [...context.pendingHeartbeats, { seq, sentAt }].slice(-(context.config.unhealthyThreshold + 1)),
        });
        enqueue.sendTo("socket", {
          type: "heartbeat",
          generation: context.generation,
          seq,
        } satisfies SocketCommand);
      }),
      // A late ack of an earlier probe is still a true round trip: it raises the timeout when the
      // link got slower, instead of probing a slow but live link to death.
      recordHeartbeatAck: assign(({ context }, params: { seq: number }) => {
        const acked = context.pendingHeartbeats.find((beat) => beat.seq === params.seq);
        const sample = Math.max(0, monotonic() - (acked?.sentAt ?? monotonic()));
        const rtt = updateRtt(context.srtt, context.rttvar, sample);
        return {
          latency: Math.round(sample),
          srtt: rtt.srtt,
          rttvar: rtt.rttvar,
          heartbeatsAcked: true,
          consecutiveFailures: 0,
          probeAfterResume: false,
          pendingHeartbeats: [],
          lastAckAt: monotonic(),
        };
      }),
      announceUnconfirmed: enqueueActions(({ enqueue }, params: { messages: { event: string; args: unknown[] }[] }) => {
        for (const sent of params.messages) {
          enqueue.emit({
            type: "message:unconfirmed",
            event: sent.event,
            args: sent.args,
            reason: "the link was lost before a heartbeat ack confirmed it arrived",
          });
        }
      }),
      stopDeliveryTracking: sendTo("socket", { type: "stopDeliveryTracking" } satisfies SocketCommand),
      closeDeadSocket: sendTo("socket", { type: "close", announceUnconfirmed: true } satisfies SocketCommand),
      recordMissedHeartbeat: assign({
        consecutiveFailures: ({ context }) => context.consecutiveFailures + 1,
      }),
      clearResumeProbe: assign({ probeAfterResume: false }),
      markResumeProbe: assign({ probeAfterResume: true }),
      scheduleNextHeartbeat: assign(({ context }) => {
        const due = (context.heartbeatSentAt ?? monotonic()) + heartbeatIntervalOf(context);
        return { timerDue: { monotonic: due, wall: now() + (due - monotonic()) } };
      }),
      emitResumed: emit(({ context }) => ({
        type: "connection:resumed" as const,
        sleptFor: context.timerDue === null ? null : sleptFor(context),
      })),
      emitHealthDegraded: emit(({ context }) => {
        const consecutiveFailures = context.consecutiveFailures;
        return {
          type: "connection:health_degraded" as const,
          healthScore: healthScoreOf(context, true),
          consecutiveFailures,
        };
      }),
      recordHeartbeatLoss: assign(({ context }) => ({
        lastError: {
          message: `connection lost: heartbeat timeout (no heartbeat ack ${context.consecutiveFailures} times in a row)`,
        },
        // The server cannot hear our close across a dead link: it keeps the old socket until its
        // own ping timeout, and stores the session only then. A retry before that would get a
        // new session where plain socket.io-client, as slow to notice as the server, recovers.
        recoveryHoldUntil:
          context.config.awaitSessionRecovery && context.recoveryWindow !== null && context.lastAckAt !== null
            ? context.lastAckAt + context.recoveryWindow + RECOVERY_MARGIN_MS
            : null,
      })),
      recordConnectionLoss: assign((_, params: { reason: string }) => ({
        lastError: { message: `connection lost: ${params.reason}` },
      })),
      emitHealthCheck: emit(({ context }) => {
        const healthScore = healthScoreOf(context, true);
        return {
          type: "connection:health_check" as const,
          healthScore,
          healthy: context.consecutiveFailures < context.config.unhealthyThreshold && healthScore >= 40,
          quality: qualityOf(healthScore, true),
          latency: context.latency,
        };
      }),
      emitMessage: emit((_, params: { event: string; args: unknown[] }) => ({
        type: "message" as const,
        event: params.event,
        args: params.args,
      })),
      emitToSocket: sendTo("socket", (_, params: OutgoingMessage) => {
        const { event, args, ackId, ttl, volatile, priority } = params;
        return { type: "emit", event, args, ackId, ttl, volatile, priority } satisfies SocketCommand;
      }),
      enqueueMessage: enqueueActions(({ context, enqueue }, params: OutgoingMessage) => {
        const { ttl } = params;
        const queuedAt = monotonic();
        const message: QueuedMessage = {
          id: context.nextMessageId,
          event: params.event,
          args: params.args,
          queuedAt,
          expiresAt: queuedAt + Math.min(ttl ?? context.config.queueTtl, context.config.queueTtl),
          ...(params.ackId === undefined ? {} : { ackId: params.ackId }),
          ...(params.priority === undefined ? {} : { priority: params.priority }),
        };
        if (params.priority === "call") {
          // Call signalling is never what overflow drops: it waits apart, bounded by its TTL,
          // and takes its room from the ordinary queue.
          const { queue: callQueue } = pushMessage(context.callQueue, message, Infinity);
          const { queue, dropped } = shrinkQueue(context.queue, context.config.maxQueueSize - queueSize(callQueue));
          enqueue.assign({ callQueue, queue, nextMessageId: context.nextMessageId + 1 });
          for (const announcement of dropAnnouncements(dropped, "overflow")) enqueue.emit(announcement);
          return;
        }
        // O(log n), not a copy of the queue: pushMessage extends the log in place, and the
        // previous snapshot's queue stays as it was (a view of an older version, see queue.ts).
        const room = Math.max(0, context.config.maxQueueSize - queueSize(context.callQueue));
        const { queue, dropped } = pushMessage(context.queue, message, room);
        enqueue.assign({ queue, nextMessageId: context.nextMessageId + 1 });
        for (const announcement of dropAnnouncements(dropped, "overflow")) enqueue.emit(announcement);
      }),
      dropVolatile: enqueueActions(({ enqueue }, params: OutgoingMessage) => {
        for (const announcement of dropAnnouncements([params], "volatile")) enqueue.emit(announcement);
      }),
      scheduleQueueExpiry: enqueueActions(({ context, enqueue }) => {
        enqueue.cancel("queueExpiry");
        if (heldMessages(context) > 0) {
          enqueue.raise({ type: "queue.expire" }, { id: "queueExpiry", delay: "untilQueueExpiry" });
        }
      }),
      expireQueuedMessages: enqueueActions(({ context, enqueue }) => {
        // In batches: scheduleQueueExpiry re-arms at once for the rest, in a step of its own.
        const at = monotonic();
        const calls = takeExpired(context.callQueue, at, EXPIRY_BATCH);
        const { queue, expired } = takeExpired(context.queue, at, EXPIRY_BATCH - calls.expired.length);
        if (expired.length + calls.expired.length === 0) return;
        enqueue.assign({ queue, callQueue: calls.queue });
        for (const announcement of dropAnnouncements([...calls.expired, ...expired], "expired")) enqueue.emit(announcement);
      }),
      flushQueue: enqueueActions(({ context, enqueue }) => {
        // Held for the next connection: this link is being left (a move back to the primary).
        if (context.moveProbeAt !== null) return;
        enqueue.cancel("queueExpiry");
        // Call signalling first (a hang-up before the presence updates), each part in order.
        const calls = drainMessages(context.callQueue);
        const { queue, messages } = drainMessages(context.queue);
        if (messages.length + calls.messages.length === 0) return;
        for (const message of [...calls.messages, ...messages]) {
          enqueue.sendTo("socket", {
            type: "emit",
            event: message.event,
            args: message.args,
            ackId: message.ackId,
            priority: message.priority,
          } satisfies SocketCommand);
        }
        enqueue.assign({ queue, callQueue: calls.queue });
      }),
      dropQueue: enqueueActions(({ context, enqueue }) => {
        enqueue.cancel("queueExpiry");
        const calls = drainMessages(context.callQueue);
        const { queue, messages } = drainMessages(context.queue);
        if (messages.length + calls.messages.length === 0) return;
        for (const announcement of dropAnnouncements([...calls.messages, ...messages], "disposed")) enqueue.emit(announcement);
        enqueue.assign({ queue, callQueue: calls.queue });
      }),
      scheduleRequestTimeout: enqueueActions(({ enqueue }, params: { ackId?: number; timeout?: number }) => {
        if (params.ackId === undefined || !params.timeout) return;
        enqueue.raise(
          { type: "request.timeout", ackId: params.ackId },
          { id: `request-${params.ackId}`, delay: "requestTimeout" },
        );
      }),
      settleRequest: enqueueActions(
        ({ enqueue }, params: { ackId: number; response?: unknown[]; error?: ErrorInfo }) => {
          enqueue.cancel(`request-${params.ackId}`);
          enqueue.emit(
            params.error
              ? { type: "request:settled", ackId: params.ackId, error: params.error }
              : { type: "request:settled", ackId: params.ackId, response: params.response ?? [] },
          );
        },
      ),
      dropUnencodable: enqueueActions(({ enqueue }, params: OutgoingMessage) => {
        if (params.ackId !== undefined) enqueue.cancel(`request-${params.ackId}`);
        for (const announcement of dropAnnouncements([params], "unencodable")) enqueue.emit(announcement);
      }),
      emitCallbackFailed: emit((_, params: { callback: CallbackName; message: string }) => ({
        type: "callback:failed" as const,
        callback: params.callback,
        message: params.message,
      })),
      expireRequest: enqueueActions(({ context, enqueue }, params: { ackId: number }) => {
        const calls = removeRequest(context.callQueue, params.ackId);
        const { queue, removed } = calls.removed ? { queue: context.queue, removed: calls.removed } : removeRequest(context.queue, params.ackId);
        if (removed) {
          enqueue.assign({ queue, callQueue: calls.queue });
          enqueue.emit({ type: "message:dropped", event: removed.event, reason: "timeout", args: removed.args });
        }
        enqueue.emit({
          type: "request:settled",
          ackId: params.ackId,
          error: { message: "request timed out waiting for the server's ack" },
        });
      }),
    },
  });
}
