import type { SnapshotFrom } from "xstate";
import { type ConnectionMachine, healthScoreOf } from "./connectionMachine.js";
import { heldMessages } from "./implementations.js";
import { qualityOf } from "./health.js";
import type { ConnectionContext, ConnectionQuality, ErrorInfo, JitterStrategy, NetworkStatus } from "./types.js";

/** The chart's state value, as XState infers it from the chart itself. */
export type ConnectionStateValue = SnapshotFrom<ConnectionMachine>["value"];

/**
 * The top-level states, derived from the chart: a state added there appears here, and every
 * `Record<TopLevelState, …>` that must handle it (labels, this module's list) stops compiling
 * until it does.
 */
export type TopLevelState = ConnectionStateValue extends infer V ? (V extends string ? V : keyof V) : never;

/** Every top-level state, in the contract's order; the `satisfies` keeps it in step with the chart. */
export const TOP_LEVEL_STATES: readonly TopLevelState[] = Object.freeze(
  Object.keys({
    idle: true,
    connecting: true,
    connected: true,
    backingOff: true,
    authRequired: true,
    exhausted: true,
  } satisfies Record<TopLevelState, true>) as TopLevelState[],
);

/** The plain snapshot `getStatus()` returns. */
export interface WebSocketStatus {
  state: TopLevelState;
  isConnected: boolean;
  /** Failed attempts in a row (0 once connected). */
  attempt: number;
  maxAttempts: number;
  /** Epoch ms (wall clock) of the scheduled retry, for people; `null` when none is scheduled. */
  nextRetryAt: number | null;
  nextRetryDelay: number | null;
  healthScore: number;
  quality: ConnectionQuality;
  consecutiveFailures: number;
  latency: number | null;
  lastError: ErrorInfo | null;
  network: NetworkStatus;
  /** The strategy in force; `"custom"` when a `retryDelay` policy of the app's decides. */
  jitterStrategy: JitterStrategy | "custom";
  socketId: string | null;
  /** The server restored the previous session on this connection (Connection State Recovery); false when not connected. */
  recovered: boolean;
  queuedMessages: number;
  disposed: boolean;
  /** A call is in progress (`setCallActive(true)`): call mode's rules apply. */
  callActive: boolean;
  /** The URL of the server in use, or being tried (one of `url`'s, the first being the primary). */
  server: string;
  /** The server announced a planned restart and the connection has not come back since. */
  restarting: boolean;
}

/** The top-level state of a snapshot value (`"connecting"` for `{ connecting: "handshaking" }`). */
export function topLevelState(value: ConnectionStateValue): TopLevelState {
  return (typeof value === "string" ? value : Object.keys(value)[0]) as TopLevelState;
}

/** Derives the public status from the chart's state and context: the one place it is computed. */
export function statusOf(value: ConnectionStateValue, context: ConnectionContext, disposed = false): WebSocketStatus {
  const state = topLevelState(value);
  const isConnected = state === "connected";
  const healthScore = healthScoreOf(context, isConnected);
  return {
    state,
    isConnected,
    attempt: context.attempt,
    maxAttempts: context.config.maxReconnectAttempts,
    nextRetryAt: context.nextRetryAt,
    nextRetryDelay: context.nextRetryDelay,
    healthScore,
    quality: qualityOf(healthScore, isConnected),
    consecutiveFailures: context.consecutiveFailures,
    latency: context.latency,
    lastError: context.lastError,
    network: context.network,
    jitterStrategy: context.customBackoff ? "custom" : context.config.jitterStrategy,
    socketId: isConnected ? context.socketId : null,
    recovered: isConnected && context.recovered,
    queuedMessages: heldMessages(context),
    disposed,
    callActive: context.callActive,
    server: context.url,
    restarting: context.restarting,
  };
}
