import { describe, expect, it } from "vitest";
import { createAdmissionControl, type AdmissionDecision } from "../../src/server/index.js";
import type { AdmissionRefusedError } from "../../src/server/index.js";
import { seededRandom } from "./support.js";

/** A clock the test moves by hand. */
function manualClock(start = 0) {
  let time = start;
  return {
    now: () => time,
    set: (to: number) => {
      time = to;
    },
  };
}

type Refusal = Extract<AdmissionDecision, { admitted: false }>;

function refused(decision: AdmissionDecision): Refusal {
  if (decision.admitted) throw new Error("expected a refusal");
  return decision;
}

describe("createAdmissionControl: options", () => {
  it.each([
    [{}, /perSecond must be a finite number > 0, got undefined/],
    [{ perSecond: 0 }, /perSecond must be a finite number > 0, got 0/],
    [{ perSecond: -5 }, /perSecond must be a finite number > 0, got -5/],
    [{ perSecond: Number.NaN }, /perSecond must be a finite number > 0, got NaN/],
    [{ perSecond: Number.POSITIVE_INFINITY }, /perSecond .* got Infinity/],
    [{ perSecond: "10" }, /perSecond must be a finite number > 0, got "10"/],
    [{ perSecond: 10, burst: 0 }, /burst must be an integer >= 1, got 0/],
    [{ perSecond: 10, burst: 1.5 }, /burst must be an integer >= 1, got 1.5/],
    [{ perSecond: 5000, burst: 1 }, /burst must be at least perSecond \/ 1000 \(5\).*got 1/],
    [{ perSecond: 10, burst: 1, marginMs: 100 }, /marginMs must be >= 0 and < the slot length \(100 ms\), got 100/],
    [{ perSecond: 10, marginMs: -1 }, /marginMs .* got -1/],
    [{ perSecond: 10, exact: "yes" }, /exact must be a boolean, got "yes"/],
    [{ perSecond: 10, now: 5 }, /now must be a function returning ms, got 5/],
    [{ perSecond: 10, persecond: 10 }, /unknown option "persecond"/],
  ])("%j throws a TypeError naming the option and the value", (options, message) => {
    expect(() => createAdmissionControl(options as never)).toThrow(TypeError);
    expect(() => createAdmissionControl(options as never)).toThrow(message);
  });

  it.each([null, undefined, 10, "fast", [10]])("options %j (not an object) throw a TypeError", (options) => {
    expect(() => createAdmissionControl(options as never)).toThrow(/createAdmissionControl: options must be an object/);
  });

  it("defaults: a burst of a tenth of the rate (at least 1), so slots of about 100 ms", () => {
    const clock = manualClock();
    expect(createAdmissionControl({ perSecond: 50, now: clock.now }).stats()).toMatchObject({ burst: 5, slotMs: 100 });
    expect(createAdmissionControl({ perSecond: 3, now: clock.now }).stats()).toMatchObject({ burst: 1 });
    expect(createAdmissionControl({ perSecond: 3, now: clock.now }).stats().slotMs).toBeCloseTo(333.33, 1);
    expect(createAdmissionControl({ perSecond: 0.5, now: clock.now }).stats()).toMatchObject({ burst: 1, slotMs: 2000 });
  });
});

describe("createAdmissionControl: the rate", () => {
  it("admits at most perSecond in each second and perSecond + burst in any sliding second, under a flood", () => {
    const clock = manualClock();
    const admission = createAdmissionControl({ perSecond: 20, burst: 4, now: clock.now });
    const admittedAt: number[] = [];
    // One handshake every 2 ms for 10 s: 250 a second against 20.
    for (let time = 0; time < 10_000; time += 2) {
      clock.set(time);
      if (admission.decide().admitted) admittedAt.push(time);
    }
    for (let second = 0; second < 10; second += 1) {
      const inSecond = admittedAt.filter((time) => time >= second * 1000 && time < (second + 1) * 1000).length;
      expect(inSecond, `second ${second}`).toBe(20);
    }
    for (const start of admittedAt) {
      const window = admittedAt.filter((time) => time >= start && time < start + 1000).length;
      expect(window).toBeLessThanOrEqual(20 + 4);
    }
    expect(admission.stats()).toMatchObject({ admitted: 200, refused: 5000 - 200 });
  });

  it("admits a burst at once and nothing more in the same slot", () => {
    const clock = manualClock(1000);
    const admission = createAdmissionControl({ perSecond: 10, burst: 3, now: clock.now });
    const verdicts = Array.from({ length: 5 }, () => admission.decide().admitted);
    expect(verdicts).toEqual([true, true, true, false, false]);
  });

  it("a fractional rate: 0.5 per second admits one handshake every 2 s", () => {
    const clock = manualClock();
    const admission = createAdmissionControl({ perSecond: 0.5, now: clock.now });
    const admittedAt: number[] = [];
    for (let time = 0; time < 10_000; time += 100) {
      clock.set(time);
      if (admission.decide().admitted) admittedAt.push(time);
    }
    expect(admittedAt).toEqual([0, 2000, 4000, 6000, 8000]);
  });
});

describe("createAdmissionControl: promises to refused clients", () => {
  it("tells each refused client a later slot with room: windows inside one slot, never more than burst per slot, in order", () => {
    const clock = manualClock(50);
    const admission = createAdmissionControl({ perSecond: 10, burst: 2, now: clock.now }); // slots of 200 ms
    const promises: { from: number; to: number }[] = [];
    for (let index = 0; index < 40; index += 1) {
      clock.set(50 + index); // 40 handshakes within 40 ms
      const decision = admission.decide();
      if (decision.admitted) continue;
      expect(decision.retryAfter).toBeGreaterThan(0);
      expect(decision.retryWindow).toBeGreaterThan(0);
      promises.push({ from: clock.now() + decision.retryAfter, to: clock.now() + decision.retryAfter + decision.retryWindow });
    }
    expect(promises).toHaveLength(38);
    const perSlot = new Map<number, number>();
    for (const { from, to } of promises) {
      const slot = Math.floor(from / 200);
      expect(Math.floor((to - 1) / 200), `window [${from}, ${to}) within one slot`).toBe(slot);
      expect(slot).toBeGreaterThanOrEqual(1);
      perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
    }
    expect(Math.max(...perSlot.values())).toBe(2);
    expect([...perSlot.keys()]).toEqual(Array.from({ length: 19 }, (_, index) => index + 1));
    // Later refusals never get an earlier window.
    const starts = promises.map(({ from }) => from);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(admission.stats()).toMatchObject({ refused: 38, backlog: 38 });
  });

  it("keeps marginMs of each slot out of the windows", () => {
    const clock = manualClock(0);
    const admission = createAdmissionControl({ perSecond: 10, burst: 1, marginMs: 30, now: clock.now });
    admission.decide();
    const refusal = refused(admission.decide());
    expect(refusal).toEqual({ admitted: false, retryAfter: 100, retryWindow: 70 });
  });

  it("exact: each refused client gets its own moment, spread evenly through its slot (retryWindow 0)", () => {
    const clock = manualClock(0);
    const admission = createAdmissionControl({ perSecond: 40, burst: 4, exact: true, marginMs: 20, now: clock.now });
    for (let index = 0; index < 4; index += 1) admission.decide();
    const moments = Array.from({ length: 8 }, () => refused(admission.decide()));
    expect(moments.every(({ retryWindow }) => retryWindow === 0)).toBe(true);
    // Slots of 100 ms, 80 ms usable: quarters of 20 ms, each client in the middle of its own.
    expect(moments.map(({ retryAfter }) => retryAfter)).toEqual([110, 130, 150, 170, 210, 230, 250, 270]);
  });

  /**
   * A storm run in time order: `clients` first handshakes at moments drawn from [0, waveMs), then
   * each refused client comes back at a moment drawn from its window, as often as it is refused.
   */
  function storm(options: { exact: boolean; clients: number; waveMs: number; seed: number }) {
    const clock = manualClock(0);
    const admission = createAdmissionControl({ perSecond: 50, burst: 5, exact: options.exact, now: clock.now });
    const random = seededRandom(options.seed);
    const pending = Array.from({ length: options.clients }, (_, client) => ({ time: Math.floor(random() * options.waveMs), client }));
    const refusals = new Array<number>(options.clients).fill(0);
    let admitted = 0;
    while (pending.length > 0) {
      pending.sort((a, b) => a.time - b.time);
      const arrival = pending.shift()!;
      clock.set(arrival.time);
      const decision = admission.decide();
      if (decision.admitted) {
        admitted += 1;
        continue;
      }
      refusals[arrival.client] = (refusals[arrival.client] ?? 0) + 1;
      pending.push({ time: arrival.time + decision.retryAfter + Math.floor(random() * decision.retryWindow), client: arrival.client });
    }
    return { admitted, refusals, end: clock.now(), backlog: admission.stats().backlog };
  }

  it.each([false, true])("every client that comes back in its window is admitted (exact: %s, seeded)", (exact) => {
    // 500 clients in the same 100-ms slot, a hundred times its capacity, then only returns.
    const run = storm({ exact, clients: 500, waveMs: 100, seed: exact ? 7 : 42 });
    expect(run.admitted).toBe(500);
    expect(Math.max(...run.refusals), "refused again on return").toBe(1);
    // 500 at 50/s: all in by about 10 s, no capacity lost to the accounting.
    expect(run.end).toBeLessThan(10_000);
    expect(run.backlog).toBe(0);
  });

  it("newcomers still arriving in a promised slot can take its places: those promised are booked again, once", () => {
    // The first wave lasts 300 ms (slots 0-2): the promises for slots 1 and 2 (10 places)
    // compete with the wave's own first handshakes. See docs/server.md, "what it cannot know".
    const run = storm({ exact: false, clients: 500, waveMs: 300, seed: 3 });
    expect(run.admitted).toBe(500);
    const refusedAgain = run.refusals.filter((count) => count > 1).length;
    expect(refusedAgain).toBeGreaterThan(0);
    expect(refusedAgain).toBeLessThanOrEqual(10);
    expect(Math.max(...run.refusals)).toBe(2);
  });

  it("a newcomer takes an unpromised place; once the slot is used up, later arrivals are booked behind", () => {
    const clock = manualClock(0);
    const admission = createAdmissionControl({ perSecond: 10, burst: 2, now: clock.now }); // slots of 200 ms
    admission.decide();
    admission.decide();
    const first = refused(admission.decide()); // slot 1, first place
    expect(first.retryAfter).toBe(200);
    clock.set(210);
    expect(admission.decide().admitted).toBe(true); // a newcomer: the unpromised place
    clock.set(230);
    expect(admission.decide().admitted).toBe(true); // the promised client
    clock.set(250);
    const late = refused(admission.decide()); // another newcomer: slot 2
    expect(late.retryAfter).toBe(150);
    expect(admission.stats().backlog).toBe(1);
  });
});

describe("createAdmissionControl: promises lapse", () => {
  it("a promise holds its place only until its slot ends: clients that never return leak nothing", () => {
    const clock = manualClock(0);
    const admission = createAdmissionControl({ perSecond: 10, burst: 2, now: clock.now }); // slots of 200 ms
    for (let index = 0; index < 22; index += 1) admission.decide(); // 2 admitted, 20 promised over slots 1..10
    expect(admission.stats()).toMatchObject({ backlog: 20, backlogMs: 2200 });
    clock.set(1000); // slot 5: slots 1..4 are gone, their 8 promises with them
    expect(admission.stats()).toMatchObject({ backlog: 12 });
    clock.set(2200); // past slot 10: nobody came back
    expect(admission.stats()).toMatchObject({ backlog: 0, backlogMs: 0 });
    expect(admission.decide().admitted).toBe(true);
    expect(admission.decide().admitted).toBe(true);
    // The next refusal goes to the very next slot, not behind the lapsed promises.
    expect(refused(admission.decide()).retryAfter).toBe(200);
  });

  it("the current slot's promises are counted until taken", () => {
    const clock = manualClock(0);
    const admission = createAdmissionControl({ perSecond: 10, burst: 2, now: clock.now });
    for (let index = 0; index < 4; index += 1) admission.decide(); // 2 promised for slot 1
    clock.set(200);
    expect(admission.stats().backlog).toBe(2);
    admission.decide();
    expect(admission.stats().backlog).toBe(1);
    admission.decide();
    expect(admission.stats()).toMatchObject({ backlog: 0, admitted: 4, refused: 2 });
  });

  it("a clock that steps back is taken as no time passing", () => {
    const clock = manualClock(500);
    const admission = createAdmissionControl({ perSecond: 10, burst: 1, now: clock.now });
    expect(admission.decide().admitted).toBe(true);
    clock.set(0);
    const refusal = refused(admission.decide());
    expect(refusal.retryAfter).toBe(100); // the next slot after 500, measured from 500
  });

  it("a clock that throws or returns nonsense never throws out of the middleware: the last good reading stands", () => {
    let reading: () => number = () => 500;
    const admission = createAdmissionControl({ perSecond: 10, burst: 1, now: () => reading() });
    expect(admission.decide().admitted).toBe(true);
    reading = () => {
      throw new Error("clock broke");
    };
    const calls: (AdmissionRefusedError | undefined)[] = [];
    expect(() => admission({}, (error) => calls.push(error))).not.toThrow();
    // Still 500: the slot is full, and the refusal promises the next one.
    expect(calls[0]?.data).toMatchObject({ retryAfter: 100 });
    reading = () => Number.NaN;
    // Still 500; the next promise is the slot after the one just promised.
    expect(refused(admission.decide()).retryAfter).toBe(200);
    reading = () => 600;
    expect(admission.decide().admitted).toBe(true);
  });
});

describe("createAdmissionControl: the middleware", () => {
  it("calls next() to admit and next(error) to refuse, with message and data for the client", () => {
    const clock = manualClock(0);
    const admission = createAdmissionControl({ perSecond: 10, burst: 1, now: clock.now });
    const calls: (AdmissionRefusedError | undefined)[] = [];
    admission({}, (error) => calls.push(error));
    admission({}, (error) => calls.push(error));
    expect(calls[0]).toBeUndefined();
    const error = calls[1]!;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe("server busy: retry after 100 ms (within 80 ms)");
    expect(error.data).toEqual({ retryAfter: 100, retryWindow: 80, reason: "admission" });
  });

  it("says 'retry after' alone for an exact moment", () => {
    const clock = manualClock(0);
    const admission = createAdmissionControl({ perSecond: 10, burst: 1, exact: true, now: clock.now });
    const errors: (AdmissionRefusedError | undefined)[] = [];
    admission({}, () => {});
    admission({}, (error) => errors.push(error));
    expect(errors[0]?.message).toBe("server busy: retry after 140 ms");
    expect(errors[0]?.data).toEqual({ retryAfter: 140, retryWindow: 0, reason: "admission" });
  });

  it("uses performance.now by default", () => {
    const admission = createAdmissionControl({ perSecond: 1000, burst: 1 });
    const before = performance.now();
    admission.decide();
    const decision = refused(admission.decide());
    // Slots of 1 ms: the refusal points into the next millisecond or so, not at some epoch.
    expect(decision.retryAfter).toBeLessThanOrEqual(Math.ceil(performance.now() - before) + 2);
  });
});
