import { DEFAULT_CONFIG } from "./config.js";
import type { ConnectionConfig } from "./types.js";

/** The part of the configuration the backoff reads. */
export type BackoffConfig = Pick<
  ConnectionConfig,
  "baseDelay" | "maxDelay" | "backoffMultiplier" | "jitterRange" | "jitterStrategy"
>;

/**
 * The envelope `min(baseDelay · backoffMultiplier^(attempt-1), maxDelay)`.
 * Computed literally, as the seed does: for attempt 10,000 (or Infinity) the power overflows
 * to `Infinity` and the cap gives `maxDelay`, never `Infinity` or `NaN`. (Clamping the
 * exponent at a logarithm's estimate of the cap could stop one rounding error short of it.)
 */
export function backoffEnvelope(attempt: number, config: BackoffConfig): number {
  const { baseDelay, maxDelay, backoffMultiplier } = config;
  const steps = Math.max(0, Math.floor(attempt) - 1);
  // 1 ** Infinity is NaN; above 1 the power is finite or Infinity, and min() caps both.
  if (backoffMultiplier <= 1) return Math.min(baseDelay, maxDelay);
  return Math.min(baseDelay * backoffMultiplier ** steps, maxDelay);
}

/** The keys of `config` whose value is not undefined (so that they do not mask a default). */
function definedOnly<T extends object>(config: T): Partial<T> {
  return Object.fromEntries(Object.entries(config ?? {}).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function checkAttempt(attempt: number): void {
  if (typeof attempt !== "number" || Number.isNaN(attempt) || attempt < 1) {
    throw new TypeError(`attempt must be a number of at least 1, got ${String(attempt)}`);
  }
}

function draw(random: () => number): number {
  const r = random();
  if (!(r >= 0 && r < 1)) {
    throw new RangeError(`random() must return a number in [0, 1), got ${String(r)}`);
  }
  return r;
}

/**
 * Pure: the delay in ms before retry number `attempt` (1-based).
 *
 * | strategy | delay | bounds |
 * | --- | --- | --- |
 * | `additive` (seed) | `envelope + random·jitterRange` | `[envelope, envelope + jitterRange)` |
 * | `full` | `base/2 + random·(envelope − base/2)` | `[base/2, envelope)`, `= base/2` when envelope is `base/2` |
 * | `decorrelated` | `min(max, base + random·(3·previous − base))` | `[base, maxDelay]` |
 *
 * `previousDelay` is only read by `"decorrelated"` (it defaults to `baseDelay`). Keys missing
 * from `config` take their `DEFAULT_CONFIG` value (so the strategy defaults to the one in force
 * by default, `"full"`).
 *
 * @example computeBackoffDelay(3, { ...DEFAULT_CONFIG, jitterStrategy: "additive" }, () => 0) // 4000
 */
export function computeBackoffDelay(
  attempt: number,
  partialConfig: Partial<BackoffConfig>,
  random: () => number = Math.random,
  previousDelay?: number | null,
): number {
  checkAttempt(attempt);
  const config: BackoffConfig = { ...DEFAULT_CONFIG, ...definedOnly(partialConfig) };
  const envelope = backoffEnvelope(attempt, config);
  switch (config.jitterStrategy) {
    case "additive":
      return envelope + draw(random) * config.jitterRange;
    case "full": {
      const floor = config.baseDelay / 2;
      return floor + draw(random) * Math.max(0, envelope - floor);
    }
    case "decorrelated": {
      const previous = Math.max(config.baseDelay, previousDelay ?? config.baseDelay);
      const upper = Math.min(config.maxDelay, previous * 3);
      return Math.min(config.maxDelay, config.baseDelay + draw(random) * Math.max(0, upper - config.baseDelay));
    }
    default:
      throw new TypeError(`unknown jitterStrategy ${JSON.stringify(config.jitterStrategy)}`);
  }
}

/**
 * Pure: the delay honouring a server's `retryAfter` hint (ms), a minimum wait.
 *
 * - With `retryWindow` (the refusal's `data.retryWindow`, ms ≥ 0): the server already spread
 *   its clients, so the client comes back at a moment uniform in
 *   `[retryAfter, retryAfter + retryWindow)`; `0` means "this exact time was assigned to you".
 * - Without it (a server that sends the same bare constant to everyone): spread over a window
 *   of `max(retryAfter, jitterRange)` after it, so that the clients given the same hint do
 *   not come back together.
 */
export function computeRetryAfterDelay(
  retryAfter: number,
  config: Pick<ConnectionConfig, "jitterRange">,
  random: () => number = Math.random,
  retryWindow?: number | null,
): number {
  if (typeof retryWindow === "number" && Number.isFinite(retryWindow) && retryWindow >= 0) {
    return retryWindow === 0 ? retryAfter : retryAfter + draw(random) * retryWindow;
  }
  const window = Math.max(retryAfter, config.jitterRange);
  return retryAfter + draw(random) * window;
}
