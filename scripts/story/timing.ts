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
 * silent-link detection bound, retry delays (mean and highest of the strategy) and the
 * observation windows. An estimate for the reader, not a limit.
 */
export function estimateStoryDuration(config: ConnectionConfig, quietMs: number): { typicalMs: number; atMostMs: number } {
  const detection = config.heartbeatInterval + config.unhealthyThreshold * config.heartbeatTimeout;
  const fixed =
    2 * config.heartbeatInterval + // chapter 3: two acks before the link is cut (chapter 1's first one is at once)
    quietMs * 3; // chapters 4, 6 and 7 watch for quietMs each
  const retries = (bound: "mean" | "high") =>
    sumDelays(3, config, bound) + // chapter 2: two failed retries and the one that reconnects
    sumDelays(1, config, bound) + // chapter 3: the retry after the detection
    sumDelays(2, config, bound) + // chapter 5: one failed retry and the one that reconnects
    sumDelays(1, config, bound) + // chapter 6: the retry that meets the refusal
    sumDelays(config.maxReconnectAttempts, config, bound); // chapter 7: every retry until exhausted
  return {
    typicalMs: Math.round(fixed + detection * 0.6 + retries("mean")),
    atMostMs: Math.round(fixed + detection + retries("high")),
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
