import { describe, expect, it } from "vitest";
import type { InspectionEvent } from "xstate";
import { createWebSocketService } from "../../src/services/WebSocketService.js";
import { generateReconnectionPaths, replayPath, type ReconnectionPath } from "../../src/testing/index.js";
import { chartTransitions, createChartModel, FAILOVER_MODEL, generatePaths } from "../../src/testing/model.js";
import { replayObserved, toReconnectionPath } from "../../src/testing/paths.js";

/**
 * The published path generation and replay, on its default alphabet (what a service on the
 * fake server can be made to do): every path replays step for step on the bare chart and on a
 * real service over the fake server, and between them they take every chart transition that
 * alphabet can reach. (test/machine/paths.test.ts covers the full alphabet on the chart.)
 */

const paths = generateReconnectionPaths();
const transitions = chartTransitions(createChartModel().machine);
const service = (options: Parameters<typeof createWebSocketService>[0]) => createWebSocketService(options);

/** Transitions taken by replaying `list` (on a service when `onService`). */
function replayAll(list: readonly ReconnectionPath[], onService: boolean) {
  const taken = new Set<string>();
  const mismatches: string[] = [];
  for (const path of list) {
    const steps = replayObserved(path, onService ? { service } : {}, { onMismatch: (message) => mismatches.push(message) });
    for (const step of steps) step.taken.forEach((id) => taken.add(id));
  }
  return { taken, mismatches };
}

/** What the model says the paths take (the replays must take the same). */
function modelTaken(): Set<string> {
  const model = createChartModel({
    input: { config: paths[0]!.config, hasTokenProvider: false },
    events: [...new Set(paths.flatMap((path) => path.steps.map((step) => step.event)))],
  });
  const taken = new Set<string>();
  for (const path of paths) {
    for (const snapshot of model.simulate(path.steps.map((step) => ({ type: step.event })))) {
      snapshot.taken.forEach((id) => taken.add(id));
    }
  }
  return taken;
}

describe("generateReconnectionPaths()", () => {
  it("gives plain data: JSON round trips it, and every path starts from a fresh chart", () => {
    expect(paths.length).toBeGreaterThan(100);
    expect(JSON.parse(JSON.stringify(paths))).toEqual(paths);
    for (const path of paths) {
      expect(path.description).toBe(path.steps.map((step) => step.event).join(" > "));
      expect(path.tokenProvider).toBe(false);
    }
    expect(paths.find((path) => path.description === "connect > socket.connectFailed.retryAfter")?.steps).toEqual([
      { event: "connect", expect: { state: "connecting", value: { connecting: "handshaking" }, time: 0, emitted: [] } },
      {
        event: "socket.connectFailed.retryAfter",
        expect: {
          state: "backingOff",
          value: { backingOff: "waiting" },
          time: 0,
          emitted: ["connection:failed", "connection:reconnecting"],
        },
      },
    ]);
  });

  it("replays on the chart and on a service over the fake server, step for step as generated", () => {
    const onChart = replayAll(paths, false);
    const onService = replayAll(paths, true);
    expect(onChart.mismatches.slice(0, 5)).toEqual([]);
    expect(onService.mismatches.slice(0, 5)).toEqual([]);

    const expected = modelTaken();
    expect([...expected].filter((id) => !onChart.taken.has(id))).toEqual([]);
    // A send on a healthy connection is emitted by the service's fast path, not by a chart
    // transition: those two (a volatile send, and the last branch, a plain one) are the only
    // ones a service replay does not take.
    const sends = [...transitions.keys()].filter((id) => id.startsWith("connection.connected|send|"));
    expect([...expected].filter((id) => !onService.taken.has(id)).sort()).toEqual([sends[0], sends.at(-1)]);
    // Only what a service cannot be made to do is left: token providers, late reports of a
    // closed socket, requests and their acks, the socket actor restarting, dispose; and, on
    // one server, the whole fail-back (a backup, the check of the primary over HTTP, the
    // move back and the sends held while the backup is left).
    const heldWhileLeaving = [...transitions].find(
      ([id, transition]) => id.startsWith("connection.connected|send|") && transition.guard === "isLeavingLink",
    )?.[0];
    expect(heldWhileLeaving).toBeDefined();
    expect([...transitions.keys()].filter((id) => !expected.has(id)).sort()).toEqual([
      "connection.connected.stability.stable.awaitingCallEnd|always|0",
      "connection.connected.stability.stable.checkingServer|always|0",
      "connection.connected.stability.stable.checkingServer|always|1",
      "connection.connected.stability.stable.confirmingBeforeMove|always|0",
      "connection.connected.stability.stable.confirmingBeforeMove|xstate.after.confirmBeforeMove.connection.connected.stability.stable.confirmingBeforeMove|0",
      "connection.connected.stability.stable.primaryAnswered|always|0",
      "connection.connected.stability.stable.primaryAnswered|always|1",
      "connection.connected.stability.stable.primaryAnswered|always|2",
      "connection.connected.stability.stable.probingPrimary|socket.probed|0",
      "connection.connected.stability.stable.probingPrimary|socket.probed|1",
      "connection.connected.stability.stable.waitingToProbe|xstate.after.failbackInterval.connection.connected.stability.stable.waitingToProbe|0",
      "connection.connected|dispose|0",
      heldWhileLeaving,
      "connection.connected|socket.started|0",
      "connection.connecting|socket.awaitingToken|0",
      "connection.connecting|socket.connectFailed|0",
      // A failed move back to the primary: part of the fail-back.
      "connection.connecting|socket.connectFailed|3",
      "connection.connecting|socket.started|0",
      "connection.connecting|socket.tokenMissing|0",
      "connection|callback.failed|0",
      "connection|dispose|0",
      "connection|request.timeout|0",
      "connection|socket.ack|0",
      "connection|socket.unconfirmed|0",
      "connection|socket.undelivered|0",
      "connection|socket.undelivered|1",
      "connection|socket.unencodable|0",
    ]);
  });

  it("maxPaths keeps the paths that take the most transitions: 40 take all the full set takes", () => {
    const few = generateReconnectionPaths({ maxPaths: 40 });
    expect(few).toHaveLength(40);
    expect(replayAll(few, false).taken).toEqual(replayAll(paths, false).taken);
  });

  it("maxDepth drops longer paths; events narrows the alphabet; config changes the chart the paths run on", () => {
    const short = generateReconnectionPaths({ maxDepth: 3 });
    expect(short.length).toBeGreaterThan(0);
    expect(Math.max(...short.map((path) => path.steps.length))).toBe(3);

    const narrow = generateReconnectionPaths({ events: ["connect", "socket.connected", "socket.disconnected", "clock.next"] });
    const used = new Set(narrow.flatMap((path) => path.steps.map((step) => step.event)));
    expect([...used].sort()).toEqual(["clock.next", "connect", "socket.connected", "socket.disconnected"]);

    const patient = generateReconnectionPaths({ config: { maxReconnectAttempts: 4 }, events: ["connect", "socket.connectFailed", "clock.next"] });
    const longest = patient.find((path) => path.steps.at(-1)!.expect.state === "exhausted")!;
    expect(longest.steps.filter((step) => step.event === "socket.connectFailed")).toHaveLength(4);
    replayPath(longest, { service });

    expect(() => generateReconnectionPaths({ events: ["connect", "nope" as never] })).toThrow(/unknown events "nope"/);
  });

  it('"all" adds what only the bare chart can be given; a service replay refuses those paths, and token-provider ones', () => {
    const all = generateReconnectionPaths({ events: "all", tokenProvider: true, maxDepth: 3 });
    const restarted = all.find((path) => path.steps.some((step) => step.event === "socket.started"))!;
    expect(() => replayPath(restarted)).not.toThrow();
    expect(() => replayPath(restarted, { service })).toThrow(/a service cannot be made to do .*"socket.started"/);
    const plain = all.find((path) => path.steps.every((step) => step.event === "connect" || step.event === "socket.connected"))!;
    expect(() => replayPath(plain, { service })).toThrow(/tokenProvider: true/);
  });
});

describe("the new features in the paths", () => {
  it("call mode and planned restarts are in the service alphabet and replay on a service; the primary's checks are not", () => {
    const used = new Set(paths.flatMap((path) => path.steps.map((step) => step.event)));
    expect(used).toContain("call.start");
    expect(used).toContain("call.end");
    expect(used).toContain("socket.drainNotice");
    expect(used).not.toContain("socket.probed.up");
    expect(used).not.toContain("socket.probed.down");
    // A notice, then the server closes the link: back at 300 + 0.5 · 200 ms, no failure counted.
    const restart = generateReconnectionPaths({
      events: ["connect", "socket.connected", "socket.drainNotice", "socket.disconnected", "clock.next"],
    }).find((path) => path.description === "connect > socket.connected > socket.drainNotice > socket.disconnected")!;
    const [, , notice, loss] = replayPath(restart, { service });
    expect(notice!.emitted).toEqual([{ type: "connection:restarting", server: expect.any(String), delay: 400, windowMs: 200 }]);
    expect(loss!.status).toMatchObject({ state: "backingOff", attempt: 0, nextRetryDelay: 400, restarting: true });
  });

  it("a path generated on two servers replays on the chart with both, and a service replay refuses it", () => {
    const model = createChartModel(FAILOVER_MODEL);
    // The primary answered its check on the backup: the move back starts.
    const generated = generatePaths(model).paths.find(
      (path) => path.events.at(-1)?.type === "socket.probed.up" && JSON.stringify(path.expectedValues.at(-1)) === '{"connecting":"handshaking"}',
    )!;
    const path = toReconnectionPath(model, generated, FAILOVER_MODEL.input.config!);
    expect(path.servers).toEqual(["https://primary.example", "https://backup.example"]);
    const last = replayPath(path).at(-1)!;
    expect(last.status.server).toBe("https://primary.example");
    expect(last.emitted.map((event) => event.type)).toEqual(["connection:disconnected", "connection:server_changed"]);
    expect(() => replayPath(path, { service })).toThrow(/generated with several servers/);
  });
});

describe("replayPath()", () => {
  // A failure, then a connection: the path that reaches connection:reconnected.
  const path = paths.find((candidate) => candidate.steps.some((step) => step.expect.emitted.includes("connection:reconnected")))!;
  const refused = paths.find((candidate) => candidate.description === "connect > socket.connectFailed.retryAfter")!;

  it("calls onStep after every step with the status and that step's events, on either target", () => {
    const expected = path.steps.map((step, index) => `${index}:${step.event}:${step.expect.state}:${step.expect.emitted.join(",")}`);
    expect(expected.at(-1)).toMatch(/connection:reconnected/);
    for (const options of [{}, { service }]) {
      const seen: string[] = [];
      const replayed = replayPath(path, {
        ...options,
        onStep: ({ step, index, status, emitted }) => {
          seen.push(`${index}:${step.event}:${status.state}:${emitted.map((event) => event.type).join(",")}`);
        },
      });
      expect(seen).toEqual(expected);
      expect(replayed).toHaveLength(path.steps.length);
      expect(replayed.at(-1)!.emitted.at(-1)).toEqual({ type: "connection:reconnected", attempts: 1, recovered: false });

      const [, failed] = replayPath(refused, options);
      expect(failed!.emitted[0]).toEqual({ type: "connection:failed", attempt: 1, error: { message: "server busy", data: { retryAfter: 300 } }, server: expect.any(String) });
      // Simulated time is the wall clock too: the retry is due at 0 + its delay, at least the hint.
      const { nextRetryDelay, nextRetryAt } = failed!.status;
      expect(nextRetryDelay).toBeGreaterThanOrEqual(300);
      expect(nextRetryAt).toBe(nextRetryDelay);
    }
  });

  it("throws, naming the step, when the target does not do what the path says", () => {
    const tampered: ReconnectionPath = {
      ...path,
      steps: path.steps.map((step, index) => (index === 2 ? { ...step, expect: { ...step.expect, time: step.expect.time + 1 } } : step)),
    };
    expect(path.steps[2]!.event).toBe("network.online");
    expect(() => replayPath(tampered)).toThrow(/step 3 \(network\.online\): expected the time 1, it is 0/);
    const quiet: ReconnectionPath = {
      ...path,
      steps: path.steps.map((step, index) => (index === 1 ? { ...step, expect: { ...step.expect, emitted: [] } } : step)),
    };
    expect(() => replayPath(quiet, { service })).toThrow(/step 2 \(socket\.connectFailed\): expected the events \[\], got \["connection:failed","connection:reconnecting"\]/);
    const wrongState: ReconnectionPath = {
      ...path,
      steps: [{ ...path.steps[0]!, expect: { ...path.steps[0]!.expect, value: "idle", state: "idle" } }],
    };
    expect(() => replayPath(wrongState, { service })).toThrow(/step 1 \(connect\): expected the chart in "idle", it is in \{"connecting":"handshaking"\}/);
  });

  it("lets the app's service factory add its own options, and disposes of the service at the end", () => {
    const inspected: InspectionEvent[] = [];
    let created: ReturnType<typeof createWebSocketService> | undefined;
    replayPath(path, {
      service: (options) => {
        created = createWebSocketService({ ...options, inspect: (event) => inspected.push(event) });
        return created;
      },
    });
    expect(inspected.length).toBeGreaterThan(0);
    expect(created?.disposed).toBe(true);
  });
});
