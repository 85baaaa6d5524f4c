import type { ConnectionQuality, NetworkStatus, TopLevelState } from "../machine/types.js";
import { defaultErrorLabels, type ErrorKind } from "./describeError.js";

/**
 * Every string `<WebSocketStatus>` shows, for translations. Words are strings; texts with a
 * number are functions, so a language can put the number where it belongs and choose its
 * plural (`(n) => n === 1 ? "1 Versuch" : \`${n} Versuche\``). A translation typed
 * `StatusLabels` is checked for completeness by the compiler; the `labels` prop also takes
 * any part of it and keeps the English defaults for the rest.
 */
export interface StatusLabels extends Readonly<Record<TopLevelState, string>> {
  /** `backingOff` while the network is reported offline: nothing is tried until it is back. */
  readonly waitingForNetwork: string;
  /** `connected` while the network is reported offline: the link is being probed. */
  readonly connectedOffline: string;
  /** Not connected after the server announced a planned restart (`status.restarting`): coming back on schedule. */
  readonly restarting: string;
  /** Beside the state while a call is in progress (`status.callActive`). */
  readonly inCall: string;
  /** Term of `status.server`, the server in use (several with failover). */
  readonly serverTerm: string;
  /** The level of the health score (`status.quality`). */
  readonly quality: Readonly<Record<ConnectionQuality, string>>;
  /** The last error in plain words, per {@link ErrorKind} (see `describeError`). */
  readonly errors: Readonly<Record<ErrorKind, string>>;
  /** The last error when a busy server's `retryAfter` holds the next attempt back. */
  readonly serverBusyRetry: (seconds: number) => string;
  /** The title (tooltip) of the compact health figure. */
  readonly healthTitle: string;
  /** The health figure: `percent` 0..100. */
  readonly healthValue: (percent: number) => string;
  /** The health figure with its quality word, in the details. */
  readonly healthWithQuality: (percent: number, quality: string) => string;
  readonly healthTerm: string;
  readonly latencyTerm: string;
  /** The last heartbeat round trip, on a live connection. */
  readonly latencyValue: (ms: number) => string;
  /** The last round trip measured, shown after the connection was lost. */
  readonly latencyStale: (ms: number) => string;
  readonly latencyNone: string;
  /** Term of `status.attempt`: failed attempts in a row (see `docs/events.md`). */
  readonly attemptTerm: string;
  /** `failed` attempts in a row out of the `max` allowed before giving up. */
  readonly attemptValue: (failed: number, max: number) => string;
  readonly countdownTerm: string;
  /** The time left before the next attempt, in whole seconds (at least 1). */
  readonly countdown: (seconds: number) => string;
  /** The next attempt is due. */
  readonly countdownNow: string;
  /** No attempt is scheduled: the network is reported offline. */
  readonly countdownOffline: string;
  readonly errorTerm: string;
  readonly errorNone: string;
  readonly networkTerm: string;
  readonly network: Readonly<Record<NetworkStatus, string>>;
  /** The button's text; its accessible name. */
  readonly reconnect: string;
  /** The button's text while `forceReconnection()` is pending. */
  readonly reconnecting: string;
  /** In `authRequired` when no `authAction` is given: what the person should do. */
  readonly authHint: string;
  /** In `exhausted`: what happened and what happens next; `failed` = attempts that failed in a row. */
  readonly exhaustedHint: (failed: number) => string;
}

/** The `labels` prop: any part of {@link StatusLabels}; the groups may be partial too. */
export type StatusLabelOverrides = Partial<Omit<StatusLabels, "quality" | "errors" | "network">> & {
  quality?: Partial<StatusLabels["quality"]>;
  errors?: Partial<StatusLabels["errors"]>;
  network?: Partial<StatusLabels["network"]>;
};

const seconds = (n: number): string => `${n} s`;

/** The English labels: the defaults, and the starting point of a translation. Deeply frozen. */
export const defaultStatusLabels: StatusLabels = Object.freeze({
  idle: "Idle",
  connecting: "Connecting",
  connected: "Connected",
  backingOff: "Waiting to retry",
  authRequired: "Signed out",
  exhausted: "Gave up reconnecting",
  waitingForNetwork: "Waiting for network",
  connectedOffline: "Connected (system reports offline)",
  restarting: "Server restarting",
  inCall: "In a call",
  serverTerm: "Server",
  quality: Object.freeze({
    excellent: "excellent",
    good: "good",
    degraded: "degraded",
    poor: "poor",
    disconnected: "disconnected",
  }),
  errors: defaultErrorLabels,
  serverBusyRetry: (n: number) => `Server busy, retrying in ${seconds(n)}`,
  healthTitle: "Connection health",
  healthValue: (percent: number) => `${percent}%`,
  healthWithQuality: (percent: number, quality: string) => `${percent}% (${quality})`,
  healthTerm: "Health",
  latencyTerm: "Latency",
  latencyValue: (ms: number) => `${ms} ms`,
  latencyStale: (ms: number) => `${ms} ms (last measured)`,
  latencyNone: "not measured",
  attemptTerm: "Failed attempts",
  attemptValue: (failed: number, max: number) => `${failed}/${max}`,
  countdownTerm: "Next attempt",
  countdown: (n: number) => `in ${seconds(n)}`,
  countdownNow: "now",
  countdownOffline: "when the network is back",
  errorTerm: "Last error",
  errorNone: "none",
  networkTerm: "Network",
  network: Object.freeze({ online: "online", offline: "offline" }),
  reconnect: "Reconnect",
  reconnecting: "Reconnecting…",
  authHint: "Sign in again to reconnect.",
  exhaustedHint: (failed: number) =>
    `Stopped after ${failed} failed ${failed === 1 ? "attempt" : "attempts"} in a row. ` +
    "Nothing more is tried until you press Reconnect or the network comes back.",
});

/** `defaultStatusLabels` with `overrides` on top (the groups merged one level deep). */
export function resolveStatusLabels(overrides: StatusLabelOverrides | undefined): StatusLabels {
  if (!overrides) return defaultStatusLabels;
  const { quality, errors, network, ...flat } = overrides;
  return {
    ...defaultStatusLabels,
    ...definedOnly(flat),
    quality: { ...defaultStatusLabels.quality, ...definedOnly(quality) },
    errors: { ...defaultStatusLabels.errors, ...definedOnly(errors) },
    network: { ...defaultStatusLabels.network, ...definedOnly(network) },
  };
}

/** The keys whose value is not undefined, so that `{ idle: undefined }` keeps the default. */
function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  if (!value) return {};
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
