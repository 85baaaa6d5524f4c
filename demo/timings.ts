import type { ConnectionConfig } from "../src/index.js";

/**
 * The demo's two sets of timings, chosen with `?timings=fast` in the page's URL. Both use
 * the seed's additive jitter so that the countdown shows the envelope growing.
 */
export const DEMO_TIMINGS = {
  /** Slow enough to watch: ten attempts, delays from 2 s up to 16 s. */
  demo: {
    maxReconnectAttempts: 10,
    baseDelay: 2_000,
    maxDelay: 16_000,
    jitterStrategy: "additive",
    jitterRange: 1_000,
    connectionTimeout: 5_000,
    heartbeatInterval: 2_000,
    heartbeatTimeout: 1_500,
    healthCheckInterval: 2_000,
    unhealthyThreshold: 2,
  },
  /** Every state within seconds: three attempts, delays from 0.5 s to 2 s; gives up about 4 s after "Kill server". */
  fast: {
    maxReconnectAttempts: 3,
    baseDelay: 500,
    maxDelay: 2_000,
    jitterStrategy: "additive",
    jitterRange: 250,
    connectionTimeout: 2_000,
    heartbeatInterval: 1_000,
    heartbeatTimeout: 800,
    healthCheckInterval: 1_000,
    unhealthyThreshold: 2,
  },
} as const satisfies Record<string, Partial<ConnectionConfig>>;

export type TimingsName = keyof typeof DEMO_TIMINGS;

/** The timings the page's URL asks for (`?timings=fast`); the demo ones otherwise. */
export function timingsFromUrl(search: string): TimingsName {
  return new URLSearchParams(search).get("timings") === "fast" ? "fast" : "demo";
}

/** One line for the page: what the timings in force do. */
export function describeTimings(name: TimingsName): string {
  const t = DEMO_TIMINGS[name];
  return (
    `${t.maxReconnectAttempts} attempts, retry delays ${t.baseDelay / 1000}–${t.maxDelay / 1000} s ` +
    `(+ up to ${t.jitterRange / 1000} s jitter), attempt timeout ${t.connectionTimeout / 1000} s`
  );
}
