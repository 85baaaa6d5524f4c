import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  computeHealthScore,
  heartbeatAckTimeout,
  type HealthInput,
  LATENCY_DEGRADED_MS,
  LATENCY_FAILED_MS,
  qualityOf,
  signalQuality,
  updateRtt,
} from "../../src/machine/health.js";

describe("computeHealthScore", () => {
  it.each<{ name: string; input: HealthInput; expected: number }>([
    { name: "not connected", input: { connected: false }, expected: 0 },
    { name: "not connected, whatever the counters", input: { connected: false, consecutiveFailures: 0, latency: 5 }, expected: 0 },
    { name: "connected, nothing measured", input: { connected: true }, expected: 100 },
    { name: "connected, low latency", input: { connected: true, latency: 20, consecutiveFailures: 0, attempt: 0 }, expected: 100 },
    { name: "1 failure (degraded signal)", input: { connected: true, consecutiveFailures: 1 }, expected: 75 },
    { name: "2 failures (failed signal)", input: { connected: true, consecutiveFailures: 2 }, expected: 50 },
    { name: "3 failures", input: { connected: true, consecutiveFailures: 3 }, expected: 40 },
    { name: "10 failures: deductions are capped", input: { connected: true, consecutiveFailures: 10 }, expected: 40 },
    { name: "latency just below degraded", input: { connected: true, latency: LATENCY_DEGRADED_MS - 1 }, expected: 100 },
    { name: "latency at degraded", input: { connected: true, latency: LATENCY_DEGRADED_MS }, expected: 85 },
    { name: "latency just below failed", input: { connected: true, latency: LATENCY_FAILED_MS - 1 }, expected: 85 },
    { name: "latency at failed", input: { connected: true, latency: LATENCY_FAILED_MS }, expected: 70 },
    { name: "latency null", input: { connected: true, latency: null }, expected: 100 },
    { name: "5 attempts before", input: { connected: true, attempt: 5 }, expected: 100 },
    { name: "6 attempts before", input: { connected: true, attempt: 6 }, expected: 98 },
    { name: "10 attempts before", input: { connected: true, attempt: 10 }, expected: 90 },
    { name: "50 attempts before: capped", input: { connected: true, attempt: 50 }, expected: 90 },
    {
      name: "everything at once",
      input: { connected: true, consecutiveFailures: 3, latency: 3000, attempt: 20 },
      expected: 30,
    },
    { name: "1 failure and slow", input: { connected: true, consecutiveFailures: 1, latency: 2500 }, expected: 60 },
    { name: "negative counters count as 0", input: { connected: true, consecutiveFailures: -4, attempt: -3 }, expected: 100 },
  ])("$name -> $expected", ({ input, expected }) => {
    expect(computeHealthScore(input)).toBe(expected);
  });

  it("is an integer in [0, 100], and 0 exactly when not connected", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: -10, max: 1e6 }),
        fc.option(fc.double({ min: 0, max: 1e7, noNaN: true })),
        fc.integer({ min: -10, max: 1e6 }),
        (connected, consecutiveFailures, latency, attempt) => {
          const score = computeHealthScore({ connected, consecutiveFailures, latency, attempt });
          expect(Number.isInteger(score)).toBe(true);
          expect(score).toBeGreaterThanOrEqual(0);
          expect(score).toBeLessThanOrEqual(100);
          if (!connected) expect(score).toBe(0);
          else expect(score).toBeGreaterThanOrEqual(30);
        },
      ),
    );
  });

  it("never rises with more failures, more latency or more attempts", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 0, max: 100 }),
        (failures, latency, attempt) => {
          const base = computeHealthScore({ connected: true, consecutiveFailures: failures, latency, attempt });
          expect(computeHealthScore({ connected: true, consecutiveFailures: failures + 1, latency, attempt })).toBeLessThanOrEqual(base);
          expect(computeHealthScore({ connected: true, consecutiveFailures: failures, latency: latency + 100, attempt })).toBeLessThanOrEqual(base);
          expect(computeHealthScore({ connected: true, consecutiveFailures: failures, latency, attempt: attempt + 1 })).toBeLessThanOrEqual(base);
        },
      ),
    );
  });
});

describe("signalQuality", () => {
  it.each<{ input: HealthInput; expected: ReturnType<typeof signalQuality> }>([
    { input: { connected: true }, expected: "good" },
    { input: { connected: true, consecutiveFailures: 1 }, expected: "degraded" },
    { input: { connected: true, consecutiveFailures: 2 }, expected: "failed" },
    { input: { connected: true, latency: 499 }, expected: "good" },
    { input: { connected: true, latency: 500 }, expected: "degraded" },
    { input: { connected: true, latency: 2000 }, expected: "failed" },
    { input: { connected: true, consecutiveFailures: 1, latency: 2000 }, expected: "failed" },
  ])("$input -> $expected", ({ input, expected }) => {
    expect(signalQuality(input)).toBe(expected);
  });
});

describe("qualityOf", () => {
  it.each([
    { score: 100, connected: true, expected: "excellent" },
    { score: 90, connected: true, expected: "excellent" },
    { score: 89, connected: true, expected: "good" },
    { score: 70, connected: true, expected: "good" },
    { score: 69, connected: true, expected: "degraded" },
    { score: 40, connected: true, expected: "degraded" },
    { score: 39, connected: true, expected: "poor" },
    { score: 0, connected: true, expected: "poor" },
    { score: 100, connected: false, expected: "disconnected" },
    { score: 0, connected: false, expected: "disconnected" },
  ])("score $score, connected $connected -> $expected", ({ score, connected, expected }) => {
    expect(qualityOf(score, connected)).toBe(expected);
  });
});

describe("heartbeatAckTimeout (RTO)", () => {
  it.each([
    { srtt: null, rttvar: null, expected: 5000, why: "nothing measured: the ceiling" },
    { srtt: 10, rttvar: null, expected: 5000, why: "half measured: the ceiling" },
    { srtt: 10, rttvar: 5, expected: 1000, why: "fast link: the floor" },
    { srtt: 1000, rttvar: 500, expected: 3000, why: "srtt + 4·rttvar" },
    { srtt: 3000, rttvar: 1000, expected: 5000, why: "slow link: the ceiling" },
    { srtt: 0, rttvar: 0, expected: 1000, why: "zero round trip: the floor" },
  ])("srtt $srtt, rttvar $rttvar -> $expected ($why)", ({ srtt, rttvar, expected }) => {
    expect(heartbeatAckTimeout(srtt, rttvar, 1000, 5000)).toBe(expected);
  });

  it("stays within [floor, ceiling]", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        (srtt, rttvar, floor, extra) => {
          const timeout = heartbeatAckTimeout(srtt, rttvar, floor, floor + extra);
          expect(timeout).toBeGreaterThanOrEqual(floor);
          expect(timeout).toBeLessThanOrEqual(floor + extra);
        },
      ),
    );
  });
});

describe("updateRtt (RFC 6298)", () => {
  it.each([
    { srtt: null, rttvar: null, sample: 100, expected: { srtt: 100, rttvar: 50 } },
    { srtt: 100, rttvar: 50, sample: 200, expected: { srtt: 112.5, rttvar: 62.5 } },
    { srtt: 100, rttvar: 50, sample: 100, expected: { srtt: 100, rttvar: 37.5 } },
    { srtt: 200, rttvar: 0, sample: 40, expected: { srtt: 180, rttvar: 40 } },
  ])("srtt $srtt, rttvar $rttvar, sample $sample", ({ srtt, rttvar, sample, expected }) => {
    expect(updateRtt(srtt, rttvar, sample)).toEqual(expected);
  });

  it("converges to a steady round trip and its deviation to 0", () => {
    let state: { srtt: number | null; rttvar: number | null } = { srtt: null, rttvar: null };
    for (let i = 0; i < 200; i++) state = updateRtt(state.srtt, state.rttvar, 20);
    expect(state.srtt).toBeCloseTo(20, 6);
    expect(state.rttvar).toBeCloseTo(0, 6);
  });
});
