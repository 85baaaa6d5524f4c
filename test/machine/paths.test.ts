import { describe, expect, it } from "vitest";
import type { AnyTransitionDefinition } from "xstate";
import {
  chartStateIds,
  chartTransitions,
  type ChartModel,
  createChartModel,
  FAILOVER_MODEL,
  generatePaths,
  MODEL_CONFIG,
  type GeneratedPath,
} from "../../src/testing/model.js";
import { replayObserved, toReconnectionPath, type ObservedStep } from "../../src/testing/paths.js";

/**
 * Model-based test of the production chart. `xstate/graph` builds the graph of a model of the
 * chart (the real `transition` function plus a model of its timers, see src/testing/model.ts),
 * every generated path is replayed against a freshly started real chart (fake socket,
 * TestClock) by the replay that `@softphone/websocket/testing` publishes, step by step, and
 * the transitions the replays take are counted against every transition the chart defines.
 * This is the full alphabet (token provider, late socket reports, requests, call mode, planned
 * restarts) on one server, plus the failover model (two servers, the events that lead to
 * failover and fail-back); the published default, what a service can be made to do, is checked
 * in test/testing/paths.test.ts.
 */

const model = createChartModel();
const failover = createChartModel(FAILOVER_MODEL);
const stateIds = chartStateIds(model.machine);
const transitions = chartTransitions(model.machine);
const generated = generatePaths(model);
const generatedFailover = generatePaths(failover);
/** Every generated path with the model it was generated on. */
const runs: { model: ChartModel; path: GeneratedPath }[] = [
  ...generated.paths.map((path) => ({ model, path })),
  ...generatedFailover.paths.map((path) => ({ model: failover, path })),
];
const paths = runs.map((run) => run.path);
const stepCount = paths.reduce((sum, path) => sum + path.events.length, 0);

function guardText(guard: unknown): string {
  if (guard === undefined) return "";
  if (typeof guard === "string") return guard;
  if (typeof guard === "object" && guard !== null && "type" in guard) return String(guard.type);
  if (typeof guard === "function") {
    const inner = (guard as { guards?: unknown[] }).guards ?? [];
    return `${guard.name}(${inner.map(guardText).join(", ")})`;
  }
  return String(guard);
}

function describeTransition(id: string, transition: AnyTransitionDefinition | undefined): string {
  if (!transition) return id;
  const targets = transition.target?.map((target) => `#${target.id}`).join(", ") ?? "(no target)";
  const guard = guardText(transition.guard);
  return `${id} -> ${targets}${guard ? ` [${guard}]` : ""}`;
}

interface Mismatch {
  path: string;
  step: number;
  what: string;
  model: unknown;
  real: unknown;
}

interface Outcome {
  covered: Map<string, number>;
  mismatches: Mismatch[];
}

let outcome: Outcome | undefined;

/** Replays every path once (both tests read the result). */
function replayAll(): Outcome {
  if (outcome) return outcome;
  const covered = new Map<string, number>();
  const mismatches: Mismatch[] = [];
  const label = (path: GeneratedPath) => path.events.map((event) => event.type).join(" > ");
  for (const { model, path } of runs) {
    const trace = path.trace;
    const replayed = toReconnectionPath(model, path, model.options.input.config ?? MODEL_CONFIG);
    // The replay checks state value, clock and emitted events against the path itself; a
    // difference is listed here rather than thrown, so that the first few can be shown.
    const real: ObservedStep[] = replayObserved(replayed, {}, {
      onMismatch: (message) => mismatches.push({ path: label(path), step: -1, what: "replay", model: message, real: null }),
    });
    real.forEach((step, index) => {
      const expected = trace[index]!;
      const checks: [string, unknown, unknown][] = [
        ["state value (generator)", path.expectedValues[index], step.value],
        ["state value (model)", expected.chart.value, step.value],
        ["clock", expected.now, step.now],
        ["emitted events", expected.emitted, step.emitted.map((event) => event.type)],
        ["transitions taken", expected.taken, step.taken],
      ];
      for (const [what, modelSide, realSide] of checks) {
        if (JSON.stringify(modelSide) !== JSON.stringify(realSide)) {
          mismatches.push({ path: label(path), step: index + 1, what, model: modelSide, real: realSide });
        }
      }
      for (const id of step.taken) covered.set(id, (covered.get(id) ?? 0) + 1);
    });
    const end = trace.at(-1);
    if (end && model.serialize(end) !== path.expectedKey) {
      mismatches.push({
        path: label(path),
        step: path.events.length,
        what: "abstract state",
        model: path.expectedKey,
        real: model.serialize(end),
      });
    }
  }
  outcome = { covered, mismatches };
  return outcome;
}

describe("paths generated from the connection chart", () => {
  it(`finds ${generated.abstractStates} + ${generatedFailover.abstractStates} abstract states over the chart's ${stateIds.length} state nodes and ${transitions.size} transitions`, () => {
    // Sanity of the enumeration itself: every state node is in the walk, every transition once.
    expect(stateIds).toContain("connection.connected.heartbeat.beating");
    expect(stateIds).toContain("connection.connected.stability.stable.awaitingCallEnd");
    expect(transitions.size).toBeGreaterThan(80);
    expect(generated.abstractStates).toBeGreaterThan(stateIds.length);
    expect(generatedFailover.abstractStates).toBeGreaterThan(stateIds.length);
    // The failover model's replays run on two servers; the full model's on one.
    expect(toReconnectionPath(failover, generatedFailover.paths[0]!, MODEL_CONFIG).servers).toEqual(FAILOVER_MODEL.input.url);
    expect(toReconnectionPath(model, generated.paths[0]!, MODEL_CONFIG).servers).toBeUndefined();
  });

  it(`replays all ${paths.length} generated paths (${stepCount} steps) on the real chart, step for step as the model says`, () => {
    const { mismatches } = replayAll();
    expect(
      mismatches.slice(0, 5),
      `${mismatches.length} replayed steps differ from the model; first ones listed`,
    ).toEqual([]);
    // About 10 s alone; call mode doubled the graph, and the machine is shared with other runs.
  }, 90_000);

  it(`takes every one of the chart's ${transitions.size} transitions in the replays`, () => {
    const { covered } = replayAll();
    const unknown = [...covered.keys()].filter((id) => !transitions.has(id));
    expect(unknown, "the replays took transitions the enumeration does not know").toEqual([]);
    const missing = [...transitions.keys()].filter((id) => !covered.has(id));
    console.log(
      `[paths] state nodes ${stateIds.length}, abstract states ${generated.abstractStates} + ${generatedFailover.abstractStates} (two servers), ` +
        `transitions ${transitions.size}, paths ${paths.length} ` +
        `(${paths.filter((path) => path.kind === "state").length} shortest + ` +
        `${paths.filter((path) => path.kind === "transition").length} top-up, ${stepCount} steps), ` +
        `covered ${transitions.size - missing.length}/${transitions.size}`,
    );
    expect(
      missing.map((id) => describeTransition(id, transitions.get(id))),
      `${missing.length} of ${transitions.size} transitions were never taken by a replayed path`,
    ).toEqual([]);
  });
});
