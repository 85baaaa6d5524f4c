import type { ConnectionQuality } from "./types.js";

/** What {@link computeHealthScore} reads. Every field but `connected` is optional. */
export interface HealthInput {
  /** Whether a socket is connected now. Not connected scores 0. */
  connected: boolean;
  /** Liveness failures in a row (missed heartbeat acks). */
  consecutiveFailures?: number;
  /** Last heartbeat round trip in ms, or null when none was measured. */
  latency?: number | null;
  /** Failed attempts that preceded this connection. */
  attempt?: number;
}

/** Link quality from the heartbeat alone: the seed's "degraded/failed quality" deduction. */
export type SignalQuality = "good" | "degraded" | "failed";

/** Round trip (ms) from which the link counts as degraded, and as failed. */
export const LATENCY_DEGRADED_MS = 500;
export const LATENCY_FAILED_MS = 2000;

export function signalQuality(input: HealthInput): SignalQuality {
  const failures = input.consecutiveFailures ?? 0;
  const latency = input.latency ?? null;
  if (failures >= 2 || (latency !== null && latency >= LATENCY_FAILED_MS)) return "failed";
  if (failures === 1 || (latency !== null && latency >= LATENCY_DEGRADED_MS)) return "degraded";
  return "good";
}

/**
 * Pure: the health score, 0..100.
 *
 * | rule | deduction |
 * | --- | --- |
 * | not connected | score is 0 |
 * | base when connected | 100 |
 * | consecutive failures | 10 each, at most 30 |
 * | signal quality `degraded` (1 missed ack, or latency ≥ 500 ms) | 15 |
 * | signal quality `failed` (≥ 2 missed acks, or latency ≥ 2000 ms) | 30 |
 * | attempts above 5 before this connection | 2 each, at most 10 |
 */
export function computeHealthScore(input: HealthInput): number {
  if (!input.connected) return 0;
  const failures = Math.max(0, input.consecutiveFailures ?? 0);
  const attempts = Math.max(0, input.attempt ?? 0);
  let score = 100;
  score -= Math.min(failures * 10, 30);
  const quality = signalQuality(input);
  if (quality === "degraded") score -= 15;
  if (quality === "failed") score -= 30;
  score -= Math.min(Math.max(0, attempts - 5) * 2, 10);
  return Math.max(0, Math.min(100, Math.round(score)));
}

/**
 * The quality level of a score: `excellent` ≥ 90, `good` ≥ 70, `degraded` ≥ 40,
 * `poor` below, `disconnected` when not connected.
 */
export function qualityOf(score: number, connected: boolean): ConnectionQuality {
  if (!connected) return "disconnected";
  if (score >= 90) return "excellent";
  if (score >= 70) return "good";
  if (score >= 40) return "degraded";
  return "poor";
}

/**
 * The adaptive heartbeat timeout (TCP's RTO, RFC 6298): `srtt + 4·rttvar`, clamped to
 * `[floor, ceiling]`; `ceiling` before any round trip was measured.
 */
export function heartbeatAckTimeout(
  srtt: number | null,
  rttvar: number | null,
  floor: number,
  ceiling: number,
): number {
  if (srtt === null || rttvar === null) return ceiling;
  return Math.min(ceiling, Math.max(floor, srtt + 4 * rttvar));
}

/** One RFC 6298 update of the smoothed round trip and its deviation. */
export function updateRtt(
  srtt: number | null,
  rttvar: number | null,
  sample: number,
): { srtt: number; rttvar: number } {
  if (srtt === null || rttvar === null) return { srtt: sample, rttvar: sample / 2 };
  const nextVar = 0.75 * rttvar + 0.25 * Math.abs(srtt - sample);
  return { srtt: 0.875 * srtt + 0.125 * sample, rttvar: nextVar };
}
