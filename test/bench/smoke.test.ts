// A tiny run of each benchmark so that they keep working; the numbers are not asserted
// beyond sanity (benchmarks are not timed tests). Plus the bundle-size budget.
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/machine/config.js";
import { runOverhead } from "../../bench/overhead.js";
import { runRealStorm } from "../../bench/real-storm.js";
import { measureBundleSize, SIZE_BUDGET_BYTES } from "../../bench/size.js";
import { goalCheck, runStormScenario, stormMatrix } from "../../bench/storm.js";
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

  it(`bundle: min+gzip beyond the peers stays within ${SIZE_BUDGET_BYTES} B`, async () => {
    const size = await measureBundleSize();
    expect(size.gzip).toBeGreaterThan(1000);
    expect(size.gzip).toBeLessThanOrEqual(SIZE_BUDGET_BYTES);
  });
});
