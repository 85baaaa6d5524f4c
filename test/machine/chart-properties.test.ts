/**
 * Property-based tests of the production chart (issue 6): random sequences of the service's
 * commands, the socket's facts and clock advances, with every invariant checked after every
 * step (see test/support/chartProperties.ts for the harness, the generators and the checks).
 *
 * Sizes: `npm test` runs a quick count; `npm run test:long` (SOFTPHONE_TEST_LONG=1) runs
 * 10,000 sequences of up to 60 steps.
 *
 * A failure prints the seed, the path and the shrunk counterexample: the configuration, then
 * the steps in order (e.g. `connect,connectFailed(retryAfter 12),advance(300 ms),...`) with a
 * `replayPath` comment, and the error names the broken invariant with a trace of the last
 * things the chart did. To replay exactly that counterexample:
 *
 *   CHART_SEED=<seed> CHART_PATH="<path>" CHART_REPLAY_PATH="<replayPath>" \
 *     npx vitest run test/machine/chart-properties.test.ts
 *
 * (fast-check then starts from the shrunk case and runs only it).
 */
import fc from "fast-check";
import { assign, enqueueActions } from "xstate";
import { describe, expect, it } from "vitest";
import { computeBackoffDelay } from "../../src/machine/backoff.js";
import { createQueue, queuedMessages } from "../../src/machine/queue.js";
import type { SocketCommand } from "../../src/machine/types.js";
import {
  ChartHarness,
  emptyCoverage,
  sequenceArbitrary,
  setupArbitrary,
  type ChartMutation,
} from "../support/chartProperties.js";
import { LONG_RUN, scaled } from "../support/scale.js";

const replay = {
  seed: process.env.CHART_SEED === undefined ? undefined : Number(process.env.CHART_SEED),
  path: process.env.CHART_PATH,
  replayPath: process.env.CHART_REPLAY_PATH,
};

const NUM_RUNS = scaled(1_000, 10_000);
const MAX_STEPS = 60;

/** The property: any setup, any sequence, then dispose and a minute of silence. */
function chartProperty(mutation?: ChartMutation | ((harness: ChartHarness) => ChartMutation), coverage = emptyCoverage()) {
  return fc.property(setupArbitrary, sequenceArbitrary(MAX_STEPS, replay.replayPath), (setup, steps) => {
    const harness = new ChartHarness(setup, coverage, mutation);
    fc.modelRun(() => ({ model: harness, real: harness }), steps);
    // Every sequence ends as a service does: disposed, after which time passes in silence.
    harness.run({ kind: "dispose" });
    harness.run({ kind: "advance", ms: 60_000 });
  });
}

describe("the chart under random commands, socket facts and time", () => {
  it(`keeps every invariant after every step (${NUM_RUNS} sequences of up to ${MAX_STEPS} steps)`, () => {
    const coverage = emptyCoverage();
    const started = performance.now();
    fc.assert(
      chartProperty(undefined, coverage),
      {
        numRuns: NUM_RUNS,
        ...(replay.seed === undefined ? {} : { seed: replay.seed }),
        ...(replay.path === undefined ? {} : { path: replay.path, endOnFailure: true }),
      },
    );
    if (LONG_RUN || process.env.CHART_STATS === "1") {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        `chart properties: ${coverage.sequences} sequences, ${coverage.steps} steps in ${seconds} s; ` +
          `states ${[...coverage.states].join(", ")}; reconnecting by strategy ${JSON.stringify(coverage.reconnectingBy)}; ` +
          `delivered ${coverage.delivered}, dropped reasons ${[...coverage.dropped].join(", ")}, unconfirmed ${coverage.unconfirmed}; ` +
          `disconnect reasons ${[...coverage.disconnectReasons].join(", ")}`,
      );
    }
    if (replay.path !== undefined) return;
    // The generators reach every state, every strategy's retries and every way out of the queue.
    expect([...coverage.states].sort()).toEqual(["authRequired", "backingOff", "connected", "connecting", "exhausted", "idle"]);
    expect(coverage.reconnectingBy.additive).toBeGreaterThan(0);
    expect(coverage.reconnectingBy.full).toBeGreaterThan(0);
    expect(coverage.reconnectingBy.decorrelated).toBeGreaterThan(0);
    expect(coverage.delivered).toBeGreaterThan(0);
    expect([...coverage.dropped].sort()).toEqual(["disposed", "expired", "overflow", "timeout", "volatile"]);
    expect(coverage.unconfirmed).toBeGreaterThan(0);
    expect(coverage.disconnectReasons).toContain("heartbeat timeout");
  });
});

/**
 * Each invariant bites: with one piece of the chart broken on purpose (swapped in with
 * `machine.provide`, src/ untouched), the property fails, shrinks, and names the invariant.
 */
describe("the property fails against a broken chart", () => {
  const mutants: { name: string; mutation: ChartMutation | ((harness: ChartHarness) => ChartMutation); expected: RegExp }[] = [
    {
      name: "retries never run out (hasAttemptsLeft always true)",
      mutation: { guards: { hasAttemptsLeft: () => true } },
      expected: /attempt \d+ > maxReconnectAttempts \d+/,
    },
    {
      name: "dispose drops the queue without announcing it",
      mutation: { actions: { dropQueue: assign({ queue: createQueue() }) } },
      expected: /queued at dispose but not announced as disposed/,
    },
    {
      name: "the network check is skipped (isOffline always false)",
      mutation: { guards: { isOffline: () => false } },
      // Either invariant can trip first: the open itself, or the failure of that attempt counted.
      expected: /open \(generation \d+\) while offline|attempt counted while offline/,
    },
    {
      name: "the retry schedule ignores the server's retryAfter",
      mutation: (harness) => ({
        actions: {
          scheduleRetry: assign(({ context }) => {
            const step = context.backoffStep + 1;
            const backoff = computeBackoffDelay(step, context.config, () => 0.5, context.lastDelay);
            const delay = Math.floor(backoff);
            const now = harness.clock.now();
            return { backoffStep: step, lastDelay: backoff, nextRetryDelay: delay, nextRetryAt: now + delay, retryAfterHint: null };
          }),
        },
      }),
      expected: /below the server's retryAfter/,
    },
    {
      name: "the flush emits the queue but keeps it",
      mutation: {
        actions: {
          flushQueue: enqueueActions(({ context, enqueue }) => {
            for (const { event, args, ackId } of queuedMessages(context.queue)) {
              enqueue.sendTo("socket", { type: "emit", event, args, ackId } satisfies SocketCommand);
            }
          }),
        },
      },
      expected: /emitted 2 times|expected exactly one/,
    },
    {
      name: "a timer escapes the chart (a raw clock timer started at dispose)",
      mutation: (harness) => ({
        actions: {
          dropQueue: enqueueActions(({ context, enqueue }) => {
            enqueue.cancel("queueExpiry");
            for (const { event, args, ackId } of queuedMessages(context.queue)) {
              enqueue.emit({ type: "message:dropped", event, reason: "disposed", args });
              if (ackId !== undefined) enqueue.emit({ type: "request:settled", ackId, error: { message: "dropped" } });
            }
            enqueue.assign({ queue: createQueue() });
            enqueue(() => harness.clock.setTimeout(() => {}, 1_000));
          }),
        },
      }),
      expected: /1 timers pending after dispose/,
    },
    {
      name: "stale socket events are taken for current ones",
      mutation: { guards: { isCurrentSocket: () => true } },
      expected: /a stale socket\.\w+ (moved the chart|changed the context|emitted events|commanded the socket)/,
    },
  ];

  for (const { name, mutation, expected } of mutants) {
    it(name, () => {
      // A fixed seed: this test is about the checker, not about exploring the chart.
      const details = fc.check(chartProperty(mutation), { numRuns: 2_000, seed: 6 });
      const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      if (process.env.CHART_STATS === "1") console.log(`--- ${name}\n${fc.defaultReportMessage(details)}\n${error}`);
      expect(details.failed).toBe(true);
      expect(error).toMatch(expected);
    });
  }
});
