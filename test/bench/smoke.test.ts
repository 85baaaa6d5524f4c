// A tiny run of each benchmark so that they keep working; the numbers are not asserted
// beyond sanity (benchmarks are not timed tests). Plus the bundle-size budget.
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/machine/config.js";
import { runOverhead } from "../../bench/overhead.js";
import { meanUs, timeOfflineSends } from "../../bench/queue.js";
import { runRealStorm } from "../../bench/real-storm.js";
import { measureBundleSize, SIZE_BUDGET_BYTES } from "../../bench/size.js";
import { goalCheck, runStormScenario, stormMatrix } from "../../bench/storm.js";
import { runDrainScenario } from "../../bench/drain.js";
import { StormClock } from "../../bench/lib/stormClock.js";

describe("bench smoke", () => {
  it("StormClock fires timers in due order and honours clearTimeout", () => {
    const clock = new StormClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("b"), 20);
    const cleared = clock.setTimeout(() => fired.push("x"), 5);
    clock.setTimeout(() => {
      fired.push("a");
      clock.setTimeout(() => fired.push("c"), 15);
    }, 10);
    clock.clearTimeout(cleared);
    clock.increment(24);
    expect(fired).toEqual(["a", "b"]);
    expect(clock.now()).toBe(24);
    clock.increment(1);
    expect(fired).toEqual(["a", "b", "c"]);
  });

  it("storm: every strategy brings a small crowd back through the production chart", async () => {
    const scenarios = stormMatrix(100, undefined, 3).filter((s) => s.downMs === 5000 && s.capacity === 5);
    expect(scenarios).toHaveLength(8); // 4 strategies × with/without hint
    for (const scenario of scenarios) {
      const result = await runStormScenario(scenario);
      expect(result.notBack).toBe(0);
      expect(result.attemptsPerClient).toBeGreaterThanOrEqual(1);
      expect(result.peak).toBeLessThanOrEqual(100 * 3);
      expect(result.t100).not.toBeNull();
      expect(result.t99!).toBeGreaterThanOrEqual(result.floorS * 0.9);
    }
    // The same seed gives the same run.
    const again = await runStormScenario(scenarios[0]!);
    const first = await runStormScenario(scenarios[0]!);
    expect({ ...again, wallMs: 0 }).toEqual({ ...first, wallMs: 0 });
    expect(goalCheck([], DEFAULT_CONFIG.jitterStrategy)).toEqual([]);
  });

  it("drain: a planned restart brings a small crowd back in the announced window; socket.io-client by its backoff", async () => {
    const base = { n: 200, capacity: 10, downMs: 2000, mode: "drain", refusal: "window", seed: 2 } as const;
    for (const admission of ["open", "control"] as const) {
      const ours = await runDrainScenario({ ...base, admission, client: "ours" });
      expect(ours.notBack).toBe(0);
      expect(ours.t99OverFloor!).toBeGreaterThanOrEqual(0.8);
      expect(ours.t99OverFloor!).toBeLessThanOrEqual(1.5);
      const plain = await runDrainScenario({ ...base, admission, client: "socket.io" });
      expect(plain.notBack).toBe(0);
      expect(plain.peakAttemptsOverC).toBeGreaterThan(ours.peakAttemptsOverC);
    }
    const slots = await runDrainScenario({ ...base, admission: "control", client: "ours", slots: true });
    expect(slots.refused).toBe(0);
    expect(slots.attemptsPerClient).toBe(1);
  });

  it("real storm: a few real clients of each kind come back after a restart", async () => {
    for (const hint of [false, true]) {
      const result = await runRealStorm({ clients: 8, downMs: 300, capacity: 4, hint, limitMs: 15_000, settleMs: 0 });
      for (const side of result.sides) {
        expect(side.back).toBe(side.clients);
        expect(side.handshakes).toBeGreaterThanOrEqual(side.clients);
      }
    }
  }, 60_000);

  it("overhead: measures throughput, idle memory and cycles", async () => {
    const result = await runOverhead({ messages: 200, rounds: 1, idleServices: 3, cycles: 20, samples: 4 });
    expect(result.throughput.ratio).toBeGreaterThan(0);
    expect(result.cycles.samples).toHaveLength(4);
    expect(result.cycles.samples.at(-1)!.handles).toBeLessThanOrEqual(result.cycles.samples[0]!.handles + 2);
  }, 60_000);

  it("queue: the per-send cost stays flat while 20,000 offline sends queue up (issue 11)", () => {
    timeOfflineSends(2_000, 2_000); // warm-up: the first sends of a process pay for the JIT
    const started = performance.now();
    const durations = timeOfflineSends(20_000, 20_000);
    const elapsedMs = performance.now() - started;
    // Each window of 2,000 sends as the median of 10 block means: GC and compaction stay in
    // the means, while a stall of the shared machine lands in one block only.
    const windowUs = (from: number) => {
      const blocks = Array.from({ length: 10 }, (_, i) => meanUs(durations, from + i * 200, 200));
      return blocks.sort((a, b) => a - b)[5]!;
    };
    const first = windowUs(0);
    const last = windowUs(18_000);
    expect(last, `first 2,000 sends ${first.toFixed(1)} µs each, last 2,000 ${last.toFixed(1)} µs`).toBeLessThanOrEqual(3 * first);
    expect(elapsedMs).toBeLessThan(15_000);
  }, 60_000);

  it(`bundle: min+gzip beyond the peers stays within ${SIZE_BUDGET_BYTES} B`, async () => {
    const size = await measureBundleSize();
    expect(size.gzip).toBeGreaterThan(1000);
    expect(size.gzip).toBeLessThanOrEqual(SIZE_BUDGET_BYTES);
  });
});
