import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BackoffConfig,
  backoffEnvelope,
  computeBackoffDelay,
  computeRetryAfterDelay,
} from "../../src/machine/backoff.js";
import { DEFAULT_CONFIG, JITTER_STRATEGIES } from "../../src/machine/config.js";
import type { JitterStrategy } from "../../src/machine/types.js";

const defaults = (jitterStrategy: JitterStrategy, overrides: Partial<BackoffConfig> = {}): BackoffConfig => ({
  baseDelay: DEFAULT_CONFIG.baseDelay,
  maxDelay: DEFAULT_CONFIG.maxDelay,
  backoffMultiplier: DEFAULT_CONFIG.backoffMultiplier,
  jitterRange: DEFAULT_CONFIG.jitterRange,
  jitterStrategy,
  ...overrides,
});

const always = (value: number) => () => value;

/** The seed's formula, written out literally. */
const seedFormula = (attempt: number, config: BackoffConfig, r: number) =>
  Math.min(config.baseDelay * config.backoffMultiplier ** (attempt - 1), config.maxDelay) + r * config.jitterRange;

describe("backoffEnvelope", () => {
  it.each([
    { attempt: 1, expected: 1000 },
    { attempt: 2, expected: 2000 },
    { attempt: 3, expected: 4000 },
    { attempt: 5, expected: 16000 },
    { attempt: 6, expected: 30000 },
    { attempt: 7, expected: 30000 },
    { attempt: 10_000, expected: 30000 },
    { attempt: Number.MAX_SAFE_INTEGER, expected: 30000 },
    { attempt: Infinity, expected: 30000 },
    { attempt: 2.9, expected: 2000 },
  ])("defaults, attempt $attempt -> $expected", ({ attempt, expected }) => {
    expect(backoffEnvelope(attempt, defaults("additive"))).toBe(expected);
  });

  it.each([
    { name: "multiplier 1", config: { backoffMultiplier: 1 }, attempt: 50, expected: 1000 },
    { name: "base = max", config: { baseDelay: 5000, maxDelay: 5000 }, attempt: 9, expected: 5000 },
    { name: "multiplier 3", config: { backoffMultiplier: 3 }, attempt: 3, expected: 9000 },
    { name: "multiplier 1.5", config: { backoffMultiplier: 1.5, baseDelay: 100 }, attempt: 3, expected: 225 },
    { name: "cap not a power", config: { baseDelay: 300, maxDelay: 1000 }, attempt: 3, expected: 1000 },
    {
      name: "multiplier a hair above 1 still reaches the cap",
      config: { baseDelay: 1, maxDelay: 6, backoffMultiplier: 1.000000000000001 },
      attempt: Number.MAX_SAFE_INTEGER,
      expected: 6,
    },
  ])("$name: attempt $attempt -> $expected", ({ config, attempt, expected }) => {
    expect(backoffEnvelope(attempt, defaults("additive", config))).toBe(expected);
  });
});

describe("computeBackoffDelay: exact values", () => {
  it.each([
    { strategy: "additive", attempt: 1, r: 0, expected: 1000 },
    { strategy: "additive", attempt: 1, r: 0.5, expected: 1500 },
    { strategy: "additive", attempt: 3, r: 0, expected: 4000 },
    { strategy: "additive", attempt: 3, r: 0.5, expected: 4500 },
    { strategy: "additive", attempt: 6, r: 0.25, expected: 30250 },
    { strategy: "additive", attempt: 10_000, r: 0, expected: 30000 },
    { strategy: "additive", attempt: Number.MAX_SAFE_INTEGER, r: 0.5, expected: 30500 },
    { strategy: "full", attempt: 1, r: 0, expected: 500 },
    { strategy: "full", attempt: 1, r: 0.5, expected: 750 },
    { strategy: "full", attempt: 2, r: 0.5, expected: 1250 },
    { strategy: "full", attempt: 3, r: 0.5, expected: 2250 },
    { strategy: "full", attempt: 10, r: 0, expected: 500 },
    { strategy: "full", attempt: 10, r: 0.5, expected: 15250 },
    { strategy: "full", attempt: 10_000, r: 0.5, expected: 15250 },
    { strategy: "decorrelated", attempt: 1, r: 0, expected: 1000 },
    { strategy: "decorrelated", attempt: 1, r: 0.5, expected: 2000 },
    { strategy: "decorrelated", attempt: 7, r: 0.5, expected: 2000 },
  ] as const)("$strategy, attempt $attempt, random $r -> $expected", ({ strategy, attempt, r, expected }) => {
    expect(computeBackoffDelay(attempt, defaults(strategy), always(r))).toBe(expected);
  });

  it.each([
    { previous: null, r: 0.5, expected: 2000 },
    { previous: 500, r: 0.5, expected: 2000 },
    { previous: 5000, r: 0.5, expected: 8000 },
    { previous: 5000, r: 0, expected: 1000 },
    { previous: 20000, r: 0.5, expected: 15500 },
    { previous: 1e12, r: 0.5, expected: 15500 },
  ])("decorrelated reads the previous delay: previous $previous, random $r -> $expected", ({ previous, r, expected }) => {
    expect(computeBackoffDelay(4, defaults("decorrelated"), always(r), previous)).toBe(expected);
  });

  it("ignores previousDelay for the other strategies", () => {
    expect(computeBackoffDelay(2, defaults("additive"), always(0), 99_999)).toBe(2000);
    expect(computeBackoffDelay(2, defaults("full"), always(0), 99_999)).toBe(500);
  });

  it("uses Math.random by default", () => {
    for (let i = 0; i < 100; i++) {
      const delay = computeBackoffDelay(1, defaults("additive"));
      expect(delay).toBeGreaterThanOrEqual(1000);
      expect(delay).toBeLessThan(2000);
    }
  });

  it.each([0, -1, 0.5, NaN, -Infinity])("attempt %s throws a TypeError", (attempt) => {
    expect(() => computeBackoffDelay(attempt, defaults("additive"), always(0))).toThrow(TypeError);
  });

  it("an unknown strategy throws a TypeError naming it", () => {
    const config = { ...defaults("additive"), jitterStrategy: "exponential" as JitterStrategy };
    expect(() => computeBackoffDelay(1, config, always(0))).toThrow(/exponential/);
  });

  it.each(JITTER_STRATEGIES.flatMap((strategy) => [1, 1.5, -0.1, NaN, Infinity, -Infinity].map((r) => ({ strategy, r }))))(
    "$strategy: random() = $r throws a RangeError",
    ({ strategy, r }) => {
      expect(() => computeBackoffDelay(3, defaults(strategy), always(r))).toThrow(RangeError);
    },
  );
});

/** A backoff configuration the validator accepts. */
const configArb = (strategy: JitterStrategy) =>
  fc
    .record({
      baseDelay: fc.integer({ min: 1, max: 100_000 }),
      extra: fc.integer({ min: 0, max: 10_000_000 }),
      backoffMultiplier: fc.double({ min: 1, max: 10, noNaN: true }),
      jitterRange: fc.integer({ min: 0, max: 100_000 }),
    })
    .map(({ baseDelay, extra, backoffMultiplier, jitterRange }) => ({
      baseDelay,
      maxDelay: baseDelay + extra,
      backoffMultiplier,
      jitterRange,
      jitterStrategy: strategy,
    }));

const randomArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const attemptArb = fc.oneof(
  fc.integer({ min: 1, max: 1_000_000_000 }),
  fc.constantFrom(1, 2, 10_000, Number.MAX_SAFE_INTEGER),
);

/**
 * Whether `random()` is far enough below 1 for a half-open bound to survive floating point:
 * `x + r·w` with `r = 1 - 2^-53` (a value `Math.random` can return) rounds to `x + w`.
 */
const clearOfOne = (r: number) => r <= 1 - 2 ** -20;

/** The documented bounds of each strategy (see the table on computeBackoffDelay). */
function expectWithinBounds(delay: number, attempt: number, config: BackoffConfig, r: number, previous: number | null): void {
  expect(Number.isFinite(delay)).toBe(true);
  const envelope = backoffEnvelope(attempt, config);
  switch (config.jitterStrategy) {
    case "additive":
      expect(delay).toBeGreaterThanOrEqual(envelope);
      expect(delay).toBeLessThanOrEqual(envelope + config.jitterRange);
      if (config.jitterRange > 0 && clearOfOne(r)) expect(delay).toBeLessThan(envelope + config.jitterRange);
      expect(delay).toBeLessThanOrEqual(config.maxDelay + config.jitterRange);
      break;
    case "full":
      expect(delay).toBeGreaterThanOrEqual(config.baseDelay / 2);
      expect(delay).toBeLessThanOrEqual(envelope);
      if (clearOfOne(r)) expect(delay).toBeLessThan(envelope);
      expect(delay).toBeLessThanOrEqual(config.maxDelay);
      break;
    case "decorrelated": {
      const previousDelay = Math.max(config.baseDelay, previous ?? config.baseDelay);
      expect(delay).toBeGreaterThanOrEqual(config.baseDelay);
      expect(delay).toBeLessThanOrEqual(config.maxDelay);
      expect(delay).toBeLessThanOrEqual(3 * previousDelay);
      break;
    }
  }
}

describe("computeBackoffDelay: properties", () => {
  it.each(JITTER_STRATEGIES)("%s: finite and within its bounds for any attempt in [1, 1e9]", (strategy) => {
    fc.assert(
      fc.property(
        attemptArb,
        configArb(strategy),
        randomArb,
        fc.option(fc.double({ min: 0, max: 1e9, noNaN: true })),
        (attempt, config, r, previous) => {
          const delay = computeBackoffDelay(attempt, config, always(r), previous);
          expectWithinBounds(delay, attempt, config, r, previous);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it.each(JITTER_STRATEGIES.flatMap((strategy) => [10_000, Number.MAX_SAFE_INTEGER, 1e9, Infinity].map((attempt) => ({ strategy, attempt }))))(
    "$strategy: attempt $attempt with the defaults stays finite and capped",
    ({ strategy, attempt }) => {
      for (const r of [0, 0.5, 1 - Number.EPSILON]) {
        const config = defaults(strategy);
        const delay = computeBackoffDelay(attempt, config, always(r), config.maxDelay);
        expectWithinBounds(delay, attempt, config, r, config.maxDelay);
        expect(delay).toBeLessThanOrEqual(config.maxDelay + config.jitterRange);
      }
    },
  );

  it("additive is exactly the seed formula min(base·mult^(n-1), max) + random·jitterRange", () => {
    fc.assert(
      fc.property(attemptArb, configArb("additive"), randomArb, (attempt, config, r) => {
        expect(computeBackoffDelay(attempt, config, always(r))).toBe(seedFormula(attempt, config, r));
      }),
      { numRuns: 3000 },
    );
  });

  it("additive equals the seed formula on the default configuration for the first 40 attempts", () => {
    for (let attempt = 1; attempt <= 40; attempt++) {
      for (const r of [0, 0.3, 0.999]) {
        expect(computeBackoffDelay(attempt, defaults("additive"), always(r))).toBe(
          seedFormula(attempt, defaults("additive"), r),
        );
      }
    }
  });

  it("the envelope never decreases with the attempt", () => {
    fc.assert(
      fc.property(configArb("additive"), fc.integer({ min: 1, max: 1_000_000 }), (config, attempt) => {
        expect(backoffEnvelope(attempt + 1, config)).toBeGreaterThanOrEqual(backoffEnvelope(attempt, config));
      }),
    );
  });

  it("random() outside [0, 1) throws a RangeError for every strategy", () => {
    const outside = fc.oneof(
      fc.double({ min: 1, noNaN: true }),
      fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
      fc.constantFrom(NaN, Infinity, -Infinity, 1),
    );
    fc.assert(
      fc.property(fc.constantFrom(...JITTER_STRATEGIES), attemptArb, outside, (strategy, attempt, r) => {
        expect(() => computeBackoffDelay(attempt, defaults(strategy), always(r))).toThrow(RangeError);
      }),
    );
  });
});

describe("computeRetryAfterDelay", () => {
  it.each([
    { retryAfter: 5000, jitterRange: 1000, r: 0, expected: 5000 },
    { retryAfter: 5000, jitterRange: 1000, r: 0.5, expected: 7500 },
    { retryAfter: 200, jitterRange: 1000, r: 0.5, expected: 700 },
    { retryAfter: 0, jitterRange: 1000, r: 0.25, expected: 250 },
    { retryAfter: 0, jitterRange: 0, r: 0.9, expected: 0 },
  ])("retryAfter $retryAfter, jitterRange $jitterRange, random $r -> $expected", ({ retryAfter, jitterRange, r, expected }) => {
    expect(computeRetryAfterDelay(retryAfter, { jitterRange }, always(r))).toBe(expected);
  });

  it("is at least retryAfter and below retryAfter + max(retryAfter, jitterRange)", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 1_000_000_000 }), fc.double({ min: 0, max: 1e7, noNaN: true })),
        fc.integer({ min: 0, max: 100_000 }),
        randomArb,
        (retryAfter, jitterRange, r) => {
          const delay = computeRetryAfterDelay(retryAfter, { jitterRange }, always(r));
          const window = Math.max(retryAfter, jitterRange);
          expect(delay).toBeGreaterThanOrEqual(retryAfter);
          expect(delay).toBeLessThanOrEqual(retryAfter + window);
          if (window > 0 && clearOfOne(r)) expect(delay).toBeLessThan(retryAfter + window);
          if (window === 0) expect(delay).toBe(retryAfter);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("spreads clients given the same hint", () => {
    const delays = [0, 0.25, 0.5, 0.75].map((r) => computeRetryAfterDelay(10_000, { jitterRange: 1000 }, always(r)));
    expect(new Set(delays).size).toBe(4);
    expect(Math.max(...delays) - Math.min(...delays)).toBe(7500);
  });

  it.each([1, -0.5, NaN])("random() = %s throws a RangeError", (r) => {
    expect(() => computeRetryAfterDelay(1000, { jitterRange: 1000 }, always(r))).toThrow(RangeError);
  });
});

describe("computeRetryAfterDelay with a retryWindow", () => {
  it.each([
    { retryAfter: 5000, retryWindow: 2000, r: 0, expected: 5000 },
    { retryAfter: 5000, retryWindow: 2000, r: 0.5, expected: 6000 },
    { retryAfter: 5000, retryWindow: 2000, r: 0.75, expected: 6500 },
    // Narrower than jitterRange and than retryAfter: the server's window, not the old spread.
    { retryAfter: 5000, retryWindow: 100, r: 0.5, expected: 5050 },
    { retryAfter: 0, retryWindow: 400, r: 0.25, expected: 100 },
  ])(
    "retryAfter $retryAfter, retryWindow $retryWindow, random $r -> $expected",
    ({ retryAfter, retryWindow, r, expected }) => {
      expect(computeRetryAfterDelay(retryAfter, { jitterRange: 1000 }, always(r), retryWindow)).toBe(expected);
    },
  );

  it("0 is an assigned moment: exactly retryAfter, and random is not drawn", () => {
    let draws = 0;
    const random = () => {
      draws += 1;
      return 0.9;
    };
    expect(computeRetryAfterDelay(5000, { jitterRange: 1000 }, random, 0)).toBe(5000);
    expect(draws).toBe(0);
  });

  it.each<{ retryWindow: number | null | undefined }>([
    { retryWindow: null },
    { retryWindow: undefined },
    { retryWindow: -1 },
    { retryWindow: NaN },
    { retryWindow: Infinity },
  ])("$retryWindow is no window: the spread of max(retryAfter, jitterRange) stays", ({ retryWindow }) => {
    expect(computeRetryAfterDelay(5000, { jitterRange: 1000 }, always(0.5), retryWindow)).toBe(7500);
    expect(computeRetryAfterDelay(200, { jitterRange: 1000 }, always(0.5), retryWindow)).toBe(700);
  });

  it("is in [retryAfter, retryAfter + retryWindow), whatever jitterRange", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        randomArb,
        (retryAfter, retryWindow, jitterRange, r) => {
          const delay = computeRetryAfterDelay(retryAfter, { jitterRange }, always(r), retryWindow);
          expect(delay).toBeGreaterThanOrEqual(retryAfter);
          expect(delay).toBeLessThanOrEqual(retryAfter + retryWindow);
          if (clearOfOne(r)) expect(delay).toBeLessThan(retryAfter + retryWindow);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("a faulty random still throws with a window (the chart falls back), but not for an exact moment", () => {
    expect(() => computeRetryAfterDelay(1000, { jitterRange: 1000 }, always(1), 500)).toThrow(RangeError);
    expect(computeRetryAfterDelay(1000, { jitterRange: 1000 }, always(1), 0)).toBe(1000);
  });
});

describe("computeBackoffDelay with a partial config", () => {
  it("takes DEFAULT_CONFIG for the missing keys (and for keys given as undefined)", () => {
    expect(computeBackoffDelay(3, { jitterStrategy: "additive" }, () => 0)).toBe(4000);
    expect(computeBackoffDelay(3, { jitterStrategy: "additive", baseDelay: undefined }, () => 0.5)).toBe(4500);
    // The default strategy, "full": [baseDelay / 2, envelope).
    expect(computeBackoffDelay(1, {}, () => 0)).toBe(500);
    expect(computeBackoffDelay(30, { maxDelay: 10_000 }, () => 0.5)).toBe(5250);
  });
});
