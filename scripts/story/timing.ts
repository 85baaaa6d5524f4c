import { backoffEnvelope } from "../../src/machine/backoff.js";
import type { ConnectionConfig } from "../../src/machine/types.js";

/**
 * Where a retry delay comes from, in words for the log: the envelope of its backoff step and
 * the range the jitter strategy draws from. With "full" jitter a later delay can be shorter
 * than an earlier one (1259 ms, then 235 ms): each is drawn anew below a growing envelope.
 */
export function delaySource(step: number, config: ConnectionConfig): string {
  const envelope = Math.round(backoffEnvelope(step, config));
  switch (config.jitterStrategy) {
    case "additive":
      return `envelope ${envelope} ms + jitter [0, ${config.jitterRange})`;
    case "full":
      return `drawn from [${config.baseDelay / 2}, ${envelope}), envelope ${envelope} ms`;
    case "decorrelated":
      return `drawn from [${config.baseDelay}, min(${config.maxDelay}, 3 × previous)]`;
    default:
      return `envelope ${envelope} ms`;
  }
}

/** The lowest, mean and highest delay of retry number `step` under the strategy in force. */
function delayBounds(step: number, config: ConnectionConfig): { low: number; mean: number; high: number } {
  const envelope = backoffEnvelope(step, config);
  switch (config.jitterStrategy) {
    case "additive":
      return { low: envelope, mean: envelope + config.jitterRange / 2, high: envelope + config.jitterRange };
    case "full": {
      const low = Math.min(config.baseDelay / 2, envelope);
      return { low, mean: (low + envelope) / 2, high: envelope };
    }
    default:
      return { low: config.baseDelay, mean: (config.baseDelay + config.maxDelay) / 2, high: config.maxDelay };
  }
}

/** Sum over retries 1..count of one bound. */
function sumDelays(count: number, config: ConnectionConfig, bound: "mean" | "high"): number {
  let total = 0;
  for (let step = 1; step <= count; step += 1) total += delayBounds(step, config)[bound];
  return total;
}

/**
 * How long the story takes with `config`, from what its chapters wait for: heartbeats, the
 * silent-link detection bounds, retry delays (mean and highest of the strategy), the checks
 * of the primary, the planned restart's window and the observation windows. An estimate for
 * the reader, not a limit. `drainWindowMs`: the planned restart's window.
 */
export function estimateStoryDuration(
  config: ConnectionConfig,
  quietMs: number,
  drainWindowMs = 2000,
): { typicalMs: number; atMostMs: number } {
  const misses = config.unhealthyThreshold * config.heartbeatTimeout;
  const detection = config.heartbeatInterval + misses;
  const callCadence = Math.min(config.heartbeatInterval, config.callHeartbeatInterval);
  const callDetection = callCadence + misses;
  const fixed =
    2 * config.heartbeatInterval + // chapter 3: two acks before the link is cut (chapter 1's first one is at once)
    quietMs * 3 + // chapters 4, 6 and 7 watch for quietMs each
    // chapter 7: two heartbeats before the call, four and three acks in it, two after it
    4 * config.heartbeatInterval +
    5 * callCadence +
    // chapter 8: the watch while the primary is down, then the check that finds it back
    config.stablePeriod +
    1.5 * config.failbackInterval +
    // chapter 9: the fail-back after the restart
    config.stablePeriod;
  // Call retries are capped at callMaxDelay.
  const callRetry = (bound: "mean" | "high") => Math.min(config.callMaxDelay, sumDelays(1, config, bound));
  const retries = (bound: "mean" | "high") =>
    sumDelays(3 + 2 * config.failoverAfter - 2, config, bound) + // chapter 2: two failures on the primary, failoverAfter on the dead backup, the one that reconnects
    sumDelays(1, config, bound) + // chapter 3: the retry after the detection
    sumDelays(2, config, bound) + // chapter 5: one failed retry and the one that reconnects
    sumDelays(1, config, bound) + // chapter 6: the retry that meets the refusal
    2 * callRetry(bound) + // chapter 7: the retries after the blackhole and after the short outage
    sumDelays(config.failoverAfter + 1, config, bound) + // chapter 8: failoverAfter failures, then the backup
    sumDelays(config.maxReconnectAttempts, config, bound); // chapter 10: every retry until exhausted
  return {
    typicalMs: Math.round(
      fixed + (detection + callDetection) * 0.6 + retries("mean") + config.failbackInterval / 2 + drainWindowMs / 2,
    ),
    atMostMs: Math.round(
      fixed + detection + callDetection + retries("high") + config.connectionTimeout + config.failbackInterval + drainWindowMs,
    ),
  };
}

/** "12 s", "4 min 10 s". */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/** An estimate, rounded as a person would say it: "11 s", "6 min". */
export function formatEstimate(ms: number): string {
  return ms < 90_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}
