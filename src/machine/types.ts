import type { CallbackName } from "./environment.js";
import type { MessageQueue } from "./queue.js";

/**
 * How the random spread of a retry delay is drawn. See `docs/configuration.md`.
 *
 * - `"additive"`: the seed's formula, `min(base·mult^(n-1), max) + U[0, jitterRange)`.
 * - `"full"`: full jitter with a floor, `U[base/2, min(base·mult^(n-1), max))`.
 * - `"decorrelated"`: `min(max, U[base, 3·previous))`, the previous delay carried in context.
 */
export type JitterStrategy = "additive" | "full" | "decorrelated";

/** Every tunable of the connection. All keys are optional in `options.config`. */
export interface ConnectionConfig {
  /** Failed attempts in a row before the machine gives up (`exhausted`). @default 20 */
  maxReconnectAttempts: number;
  /** Milliseconds: the envelope of the first retry. @default 1000 */
  baseDelay: number;
  /** Milliseconds: the cap of the envelope. @default 30000 */
  maxDelay: number;
  /** Growth factor of the envelope per retry. @default 2 */
  backoffMultiplier: number;
  /** Milliseconds of random spread for `"additive"` (and the minimum spread of a `retryAfter` hint). @default 1000 */
  jitterRange: number;
  /** The jitter strategy in force (visible as `getStatus().jitterStrategy`). @default "full" */
  jitterStrategy: JitterStrategy;
  /** Milliseconds an attempt may take before it counts as failed. @default 15000 */
  connectionTimeout: number;
  /** Milliseconds between heartbeats while connected. @default 25000 */
  heartbeatInterval: number;
  /** Milliseconds a heartbeat may wait for its ack (upper clamp of the adaptive timeout). @default 5000 */
  heartbeatTimeout: number;
  /** Milliseconds: lower clamp of the adaptive heartbeat timeout. @default 1000 */
  minHeartbeatTimeout: number;
  /** Milliseconds between health checks while connected. @default 30000 */
  healthCheckInterval: number;
  /** Consecutive missed heartbeat acks that make a connection unhealthy (and drop it). @default 3 */
  unhealthyThreshold: number;
  /** Sends held while not connected; beyond it the oldest is dropped. @default 100 */
  maxQueueSize: number;
  /** Milliseconds a held send may wait before it is dropped. @default 30000 */
  queueTtl: number;
  /** Milliseconds `request()` waits for the server's ack by default. @default 10000 */
  requestTimeout: number;
  /**
   * Milliseconds a connection must stay up before the backoff envelope is reset.
   * A connection that drops sooner keeps the raised envelope (flap protection). @default 5000
   */
  stablePeriod: number;
  /**
   * Milliseconds a chart timer may fire late before the machine assumes it slept and
   * treats it as a resume. @default 15000
   */
  sleepThreshold: number;
  /** Reconnect after a server-initiated disconnect (`io server disconnect`) instead of going `idle`. @default false */
  reconnectOnServerDisconnect: boolean;
  /**
   * After the heartbeat finds a silent dead link on a server with Connection State Recovery,
   * hold the first retry until the server's own ping timeout has let the old socket go (the
   * last heartbeat ack + the server's pingInterval + pingTimeout): only then does the server
   * keep the session, so the next handshake restores it, as plain socket.io-client's would.
   * The hold can be long (Socket.IO's defaults: up to 45 s after the last ack), long enough
   * for queued sends to reach their queueTtl and requests their timeout, so it is opt-in.
   * `false`: retry at once, into a new session (resync on `recovered: false`). @default false
   */
  awaitSessionRecovery: boolean;
  /**
   * Call mode (`setCallActive(true)`): milliseconds between heartbeats while a call is in
   * progress, so that a dead link is found within this + `unhealthyThreshold` × the adaptive
   * ack timeout. The shorter of this and `heartbeatInterval` applies. @default 5000
   */
  callHeartbeatInterval: number;
  /**
   * Call mode: the cap of every retry delay while a call is in progress (a server's
   * `retryAfter` is still honoured). During a call reconnection never gives up. @default 5000
   */
  callMaxDelay: number;
  /**
   * With several servers (`url: [primary, backup, ...]`): consecutive failed attempts on the
   * server in use before the next one in the list is tried. An auth rejection never moves on
   * (it is the token, not the server). @default 2
   */
  failoverAfter: number;
  /**
   * With several servers, connected to a backup: milliseconds between background checks of the
   * primary (the first one `stablePeriod` after connecting). When the primary answers, the
   * service moves back to it (after the call ends, in call mode). @default 30000
   */
  failbackInterval: number;
  /**
   * The servers in `url` are nodes of one cluster sharing Socket.IO sessions (an adapter such
   * as `@socket.io/redis-streams-adapter`): a lost session is offered for recovery to whichever
   * node is tried next. `false`: it is offered only to the server that held it. @default false
   */
  sharedSessions: boolean;
}

/** `{ message, data? }`: errors are kept as printable data. */
export interface ErrorInfo {
  message: string;
  /**
   * What the server attached to a handshake refusal (the middleware's `err.data`: codes,
   * reasons, `retryAfter`), as plain JSON-like data with any held token redacted.
   */
  data?: unknown;
}

export type NetworkStatus = "online" | "offline";

/** Names of the connection quality levels (see `docs/health.md`). */
export type ConnectionQuality = "excellent" | "good" | "degraded" | "poor" | "disconnected";

/** A send held while not connected. Data only: ack callbacks live with the socket actor's owner. */
export interface QueuedMessage {
  id: number;
  event: string;
  args: unknown[];
  /** Monotonic ms (the chart's duration clock, not the wall clock). */
  queuedAt: number;
  /** Monotonic ms after which it is dropped (`queueTtl`, or its own shorter `ttl`). */
  expiresAt: number;
  /** Set for `request()`: the id under which the ack is awaited. */
  ackId?: number;
  /** `"call"`: call signalling (hang-up, transfer), flushed before the rest and never dropped for overflow. */
  priority?: MessagePriority;
}

/**
 * `"call"` marks call signalling: queued apart, sent before everything else on reconnect, and
 * never the message overflow drops. Anything else is ordinary traffic.
 */
export type MessagePriority = "call";

/** The machine's context: plain data you could print. */
export interface ConnectionContext {
  /** The server in use or being tried (http(s) or ws(s)): `urls[serverIndex]`. */
  url: string;
  /** Every server, in order of preference (the first is the primary). */
  urls: string[];
  /** Index in `urls` of the server in use. */
  serverIndex: number;
  /** Failed attempts in a row on the server in use (failover after `failoverAfter`). */
  serverFailures: number;
  /** The attempt in progress moves back to the primary: a failure there returns to a backup at once. */
  failingBack: boolean;
  /**
   * A move back to the primary failed (it answered the check but refused the handshake): the
   * next check waits a whole `failbackInterval`, so that a working backup is not dropped every
   * `stablePeriod`. Cleared once connected to the primary.
   */
  failbackDeferred: boolean;
  /** Monotonic ms of the heartbeat sent before a move back to the primary (its ack confirms the sends on the backup). */
  moveProbeAt: number | null;
  /** A probe was asked for while one was in flight: another goes out as soon as that one settles. */
  probeRequested: boolean;
  /** The server that holds the last session (its URL), offered for recovery; null when none. */
  sessionServer: string | null;
  /** A call is in progress (`setCallActive(true)`): call mode's rules apply. */
  callActive: boolean;
  /**
   * The server announced a planned restart (`softphone:drain`): monotonic ms at which this
   * client comes back (its moment in the server's window), until the link goes and the retry is
   * scheduled for then.
   */
  plannedReturnAt: number | null;
  /** The server announced a restart and the connection has not come back since. */
  restarting: boolean;
  /** Call-priority sends held while not connected (sent before `queue`, never dropped for overflow). */
  callQueue: MessageQueue;
  /** Socket.IO path. */
  path: string;
  config: ConnectionConfig;
  /** Failed attempts in a row; 0 once connected. */
  attempt: number;
  /** Failed attempts that preceded the current connection (read by the health score). */
  connectAttempts: number;
  /** Retries started in the current outage (for `connection:reconnected`). */
  retries: number;
  /** Index of the backoff envelope (raised per retry, reset after `stablePeriod` connected). */
  backoffStep: number;
  /** The last delay drawn (input of `"decorrelated"`), ms. */
  lastDelay: number | null;
  nextRetryDelay: number | null;
  /** Epoch ms (wall clock) of the next retry, for people; durations use the monotonic clock. */
  nextRetryAt: number | null;
  /** `retryAfter` hint of the last rejection, ms, consumed by the next schedule. */
  retryAfterHint: number | null;
  /**
   * `retryWindow` of the last rejection, ms: the width of the window after `retryAfter` that
   * the server spread its clients over (0: it assigned this client exactly `retryAfter`).
   */
  retryWindowHint: number | null;
  lastError: ErrorInfo | null;
  network: NetworkStatus;
  /**
   * Whether the socket actor has a token provider. The token itself never enters the chart:
   * context and events are printable and inspectable, so it stays with the socket actor.
   */
  hasTokenProvider: boolean;
  /** Whether a `retryDelay` policy of the app's replaces the named strategy. */
  customBackoff: boolean;
  /** The current attempt is waiting for the token provider (for the timeout's message). */
  awaitingToken: boolean;
  /** The one refresh through the provider after a rejection has been used. */
  authRefreshUsed: boolean;
  /** The `id` of the last `forceReconnect` the chart acted on (forceReconnection's promises wait for theirs). */
  forceId: number;
  /** The next handshake was asked for by a person: it is tried even while the network is reported offline. */
  forcedAttempt: boolean;
  /** Increments with every socket the chart opens; stale socket events carry an older one. */
  generation: number;
  socketId: string | null;
  /** The server restored the previous session on this connection (Connection State Recovery). */
  recovered: boolean;
  /** With Connection State Recovery on this connection: the server's ping window (ms), else null. */
  recoveryWindow: number | null;
  /** Monotonic ms of the last heartbeat ack on this connection (the link's last proof of life). */
  lastAckAt: number | null;
  /** Monotonic ms before which a retry would find the server still holding the lost socket. */
  recoveryHoldUntil: number | null;
  connectedAt: number | null;
  /** Liveness failures in a row on this connection (missed heartbeat acks). */
  consecutiveFailures: number;
  /** Whether this server acked a heartbeat on this connection. */
  heartbeatsAcked: boolean;
  heartbeatSeq: number;
  heartbeatSentAt: number | null;
  /** Heartbeats awaiting their ack on this connection (each probe has its own seq, so any ack is an unambiguous round trip). */
  pendingHeartbeats: { seq: number; sentAt: number }[];
  /** Monotonic ms before which the server asked us (retryAfter) not to come back. */
  serverHoldUntil: number | null;
  /**
   * When the rest before the next heartbeat, or the wait before the next retry, ends, on both
   * clocks (null while a probe is in flight, or nothing waits): a timer that fires much later
   * than this means the machine slept (see `sleepThreshold`).
   */
  timerDue: { monotonic: number; wall: number } | null;
  /** The next heartbeat is a probe after a wake: it waits only `minHeartbeatTimeout`. */
  probeAfterResume: boolean;
  latency: number | null;
  /** Smoothed round trip and its deviation (RFC 6298), ms. */
  srtt: number | null;
  rttvar: number | null;
  /**
   * Sends held while not connected, oldest first: read it with `queuedMessages(queue)` and
   * `queueSize(queue)` from `queue.ts` (a view of a shared log, O(log n) per change).
   */
  queue: MessageQueue;
  nextMessageId: number;
}

/** Events the socket actor sends back to the chart. */
export type SocketEvent =
  /**
   * The socket actor started, holding no socket. Only a chart that believes in one (a
   * restarted or restored actor in `connecting` or `connected`) acts on it.
   */
  | { type: "socket.started" }
  /** `recovered`: the server restored the previous session (Connection State Recovery). */
  /**
   * `recovered`: the server restored the previous session (Connection State Recovery).
   * `recoverableWithin`: with recovery on, the server's ping window (pingInterval + pingTimeout,
   * ms): how long after the link's last sign of life it keeps the old socket before it stores
   * the session; `null` without recovery.
   */
  | { type: "socket.connected"; generation: number; socketId: string; recovered: boolean; recoverableWithin?: number | null }
  | {
      type: "socket.connectFailed";
      generation: number;
      error: ErrorInfo;
      authRejected: boolean;
      retryAfter: number | null;
      /** The refusal's `data.retryWindow` (ms), when it gave one. */
      retryWindow?: number | null;
    }
  /**
   * The server announced a planned restart (the `softphone:drain` event, see docs/server.md):
   * come back `reconnectAfter` ms from now, at a moment in the `windowMs` after it, or at
   * exactly `reconnectAfter + slot` when the server assigned a slot.
   */
  | { type: "socket.drainNotice"; generation: number; reconnectAfter: number; windowMs: number; slot: number | null }
  /** A background check of a server (fail-back to the primary): `ok` when it answered. */
  | { type: "socket.probed"; url: string; ok: boolean; error?: string }
  /** No usable token: the provider gave nothing or a non-string (`reason` says which, never the value). */
  | { type: "socket.tokenMissing"; generation: number; reason: string }
  /** The attempt is waiting for the token provider (`awaiting: true`), or its answer came. */
  | { type: "socket.awaitingToken"; generation: number; awaiting: boolean }
  | { type: "socket.disconnected"; generation: number; reason: string }
  | { type: "socket.message"; generation: number; event: string; args: unknown[] }
  | { type: "socket.heartbeatAck"; generation: number; seq: number }
  /** The server acked a send (`response`), or the ack will never come (`error`: timed out, socket lost). */
  | { type: "socket.ack"; ackId: number; response?: unknown[]; error?: ErrorInfo }
  /** Socket.IO could not encode a send (a BigInt, a cycle, a throwing toJSON): it was not sent. */
  | { type: "socket.unencodable"; event: string; args: unknown[]; ackId?: number; message: string }
  /** A function the app handed in threw or returned nonsense; the connection went on without it. */
  | { type: "callback.failed"; callback: CallbackName; message: string }
  /** An emit reached the actor when its socket was no longer connected: queue it again. */
  | {
      type: "socket.undelivered";
      event: string;
      args: unknown[];
      ackId?: number;
      ttl?: number;
      volatile?: boolean;
      priority?: MessagePriority;
    }
  /**
   * Sends emitted after the last acked heartbeat on a socket that was then lost: nothing
   * proves they arrived (announced as `message:unconfirmed`, never resent).
   */
  | { type: "socket.unconfirmed"; generation: number; messages: { event: string; args: unknown[] }[] };

/** Commands and notifications the chart accepts from the service. */
export type CommandEvent =
  | { type: "connect" }
  | { type: "disconnect" }
  /** `id`: the caller's ticket, recorded in `forceId` once the chart has acted on it. */
  | { type: "forceReconnect"; id?: number }
  | {
      type: "send";
      event: string;
      args: unknown[];
      ttl?: number;
      volatile?: boolean;
      ackId?: number;
      timeout?: number;
      priority?: MessagePriority;
    }
  /** A call started or ended (`setCallActive`). */
  | { type: "call.set"; active: boolean }
  /** A new token is in the socket actor's credentials (the event does not carry it). */
  | { type: "auth.updated" }
  | { type: "network.online" }
  | { type: "network.offline" }
  | { type: "power.resume" }
  | { type: "dispose" };

/** Events the chart raises to itself on a timer. */
export type InternalEvent =
  | { type: "queue.expire" }
  | { type: "request.timeout"; ackId: number }
  /** Probe the link now (a forced reconnection in call mode keeps a working link, after checking it). */
  | { type: "link.probe" };

export type ConnectionEvent = SocketEvent | CommandEvent | InternalEvent;

/** Commands the chart sends to the socket actor. */
export type SocketCommand =
  /**
   * `url`: the server to connect to. `offerSession`: offer the last session for recovery (it
   * was held by this server, or the servers share sessions).
   */
  | { type: "open"; generation: number; url?: string; offerSession?: boolean }
  /** Check in the background whether `url` answers (fail-back to the primary); no socket is opened. */
  | { type: "probe"; url: string; timeout: number }
  /**
   * `graceful`: a deliberate end (disconnect, dispose): the server is told and forgets the
   * session. Otherwise only the transport is dropped, so that a server with Connection State
   * Recovery keeps the session for the next handshake to restore.
   */
  | { type: "close"; announceUnconfirmed?: boolean; graceful?: boolean }
  | { type: "emit"; event: string; args: unknown[]; ackId?: number; ttl?: number; volatile?: boolean; priority?: MessagePriority }
  /** The server never acked a heartbeat on this socket: there is no delivery evidence to keep. */
  | { type: "stopDeliveryTracking" }
  | { type: "heartbeat"; generation: number; seq: number };

export type DropReason = "overflow" | "expired" | "disposed" | "volatile" | "timeout" | "unencodable";

/** The public events of the service, by name, with their payloads. */
export interface ServiceEventMap {
  /** `server`: the URL of the server now in use. */
  "connection:connected": { socketId: string; recovered: boolean; server: string };
  "connection:disconnected": { reason: string };
  /** `server`: the URL the attempt went to. */
  "connection:failed": { attempt: number; error: ErrorInfo; server: string };
  /** `server`: the URL the retry will go to. */
  "connection:reconnecting": { attempt: number; delay: number; server: string };
  /**
   * The service moved to another server: `"failover"` after `failoverAfter` failures on
   * `from`, `"failback"` when the primary answered again, `"drain"` when `from` announced a
   * planned restart.
   */
  "connection:server_changed": { from: string; to: string; reason: "failover" | "failback" | "drain" };
  /**
   * The server announced a planned restart (`drainServer`): the connection will close and this
   * client comes back in `delay` ms (its moment in the server's window), to `server`. Not a
   * failure: no attempt is counted for it.
   */
  "connection:restarting": { server: string; delay: number; windowMs: number };
  "connection:reconnected": { attempts: number; recovered: boolean };
  "connection:max_attempts_reached": { attempts: number };
  "connection:auth_required": object;
  "connection:auth_failed": { error: ErrorInfo };
  "connection:health_degraded": { healthScore: number; consecutiveFailures: number };
  "connection:health_check": { healthScore: number; healthy: boolean; quality: ConnectionQuality; latency: number | null };
  "connection:resumed": { sleptFor: number | null };
  message: { event: string; args: unknown[] };
  "message:dropped": { event: string; reason: DropReason; args: unknown[] };
  /**
   * A send emitted on a link that was then lost before a heartbeat ack proved it arrived: it
   * may or may not have reached the server. Not resent (that could deliver it twice).
   */
  "message:unconfirmed": { event: string; args: unknown[]; reason: string };
  /**
   * A function the app handed in (`random`, `now`, `clock`, `inspect`, `logger`, `isAuthError`,
   * the token provider `auth`, an ack callback, `onListenerError`) threw or returned nonsense.
   * Announced once per function; the connection goes on with a safe replacement.
   */
  "callback:failed": { callback: CallbackName; message: string };
  /** Internal: a `request()` got its ack, or gave up. */
  "request:settled": { ackId: number; response?: unknown[]; error?: ErrorInfo };
}

export type ServiceEventName = keyof ServiceEventMap;

/** The events the machine emits (`actor.on(type, ...)`). */
export type EmittedEvent = {
  [K in ServiceEventName]: { type: K } & ServiceEventMap[K];
}[ServiceEventName];

export type { TopLevelState } from "./status.js";
