import { describe, expect, it } from "vitest";
import { healthScoreOf } from "../../src/machine/connectionMachine.js";
import { DEFAULT_CONFIG } from "../../src/machine/config.js";
import { heartbeatAckTimeout } from "../../src/machine/health.js";
import type { ConnectionConfig, ConnectionMachineInput } from "../../src/index.js";
import { observeCommands, runFor, startChart } from "../support/fakeSocket.js";

type Chart = ReturnType<typeof startChart>;

const { heartbeatInterval, heartbeatTimeout, healthCheckInterval, unhealthyThreshold, minHeartbeatTimeout } =
  DEFAULT_CONFIG;
const HOUR = 3_600_000;

/**
 * The server's side of the heartbeat: it records every beat and, while `acking`, acks each
 * one `latency` ms later. Turning `acking` off also loses the acks still on their way.
 */
function heartbeatServer(chart: Chart, latency = 50) {
  const server = { acking: true, latency, beats: [] as { seq: number; at: number }[] };
  observeCommands(chart.socket, (command) => {
    if (command.type !== "heartbeat") return;
    server.beats.push({ seq: command.seq, at: chart.clock.now() });
    const { generation, seq } = command;
    if (!server.acking) return;
    chart.clock.setTimeout(() => {
      if (server.acking) chart.socket.report({ type: "socket.heartbeatAck", generation, seq });
    }, server.latency);
  });
  return server;
}

function startConnected(input: ConnectionMachineInput = {}, latency?: number) {
  const chart = startChart(input);
  const server = heartbeatServer(chart, latency);
  chart.actor.send({ type: "connect" });
  chart.socket.connect();
  return { chart, server };
}

/** Simulated time at which each event of `type` was emitted. */
function timesOf(chart: Chart, type: Parameters<Chart["emittedOf"]>[0]): number[] {
  const times: number[] = [];
  chart.actor.on(type, () => times.push(chart.clock.now()));
  return times;
}

const heartbeatRegion = (chart: Chart) =>
  (chart.actor.getSnapshot().value as { connected?: { heartbeat: string } }).connected?.heartbeat;

describe("heartbeat schedule", () => {
  it("the first beat goes out at connect, then one every heartbeatInterval", () => {
    const { chart, server } = startConnected({}, 50);
    runFor(chart.clock, 10 * heartbeatInterval);
    expect(server.beats.map((beat) => beat.at)).toEqual(Array.from({ length: 11 }, (_, i) => i * heartbeatInterval));
    expect(server.beats.map((beat) => beat.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(chart.socket.commands.filter((command) => command.type === "heartbeat").every((command) => command.generation === 1)).toBe(true);
  });

  it("an ack measures latency and the smoothed round trip, and the beat rests until the next one", () => {
    const { chart } = startConnected({}, 80);
    runFor(chart.clock, 80);
    expect(heartbeatRegion(chart)).toBe("resting");
    expect(chart.context()).toMatchObject({ latency: 80, srtt: 80, rttvar: 40, heartbeatsAcked: true, consecutiveFailures: 0 });
    expect(chart.context().timerDue?.monotonic).toBe(heartbeatInterval);
  });

  it("a server that never acks is never penalised: connected, health 100, over many intervals", () => {
    const { chart, server } = startConnected();
    server.acking = false;
    runFor(chart.clock, 20 * healthCheckInterval);
    expect(chart.state()).toBe("connected");
    expect(chart.context()).toMatchObject({ consecutiveFailures: 0, heartbeatsAcked: false, latency: null });
    expect(healthScoreOf(chart.context(), true)).toBe(100);
    const checks = chart.emittedOf("connection:health_check");
    expect(checks).toHaveLength(20);
    for (const check of checks) {
      expect(check).toEqual({ type: "connection:health_check", healthScore: 100, healthy: true, quality: "excellent", latency: null });
    }
    expect(chart.emittedOf("connection:health_degraded")).toEqual([]);
    expect(chart.emittedOf("connection:disconnected")).toEqual([]);
    const gaps = server.beats.slice(1).map((beat, i) => beat.at - server.beats[i]!.at);
    expect(gaps.length).toBeGreaterThanOrEqual(20);
    for (const gap of gaps) expect(gap).toBe(heartbeatInterval);
  });

  it("before any ack the wait is heartbeatTimeout, and an unacked beat just rests", () => {
    const { chart, server } = startConnected();
    server.acking = false;
    runFor(chart.clock, heartbeatTimeout - 1);
    expect(heartbeatRegion(chart)).toBe("beating");
    runFor(chart.clock, 1);
    expect(heartbeatRegion(chart)).toBe("resting");
    expect(chart.context().consecutiveFailures).toBe(0);
  });
});

describe("adaptive ack timeout", () => {
  it.each([
    { latency: 400, expected: 1200, why: "srtt + 4·rttvar = 400 + 4·200" },
    { latency: 10, expected: minHeartbeatTimeout, why: "a fast link is clamped to minHeartbeatTimeout" },
    { latency: 3000, expected: heartbeatTimeout, why: "a slow link is clamped to heartbeatTimeout" },
  ])("after one $latency ms sample the next miss is noticed after $expected ms ($why)", ({ latency, expected }) => {
    const { chart, server } = startConnected({}, latency);
    runFor(chart.clock, latency);
    server.acking = false;
    runFor(chart.clock, heartbeatInterval - latency);
    const sentAt = server.beats.at(-1)!.at;
    expect(sentAt).toBe(heartbeatInterval);
    runFor(chart.clock, expected - 1);
    expect(chart.context().consecutiveFailures).toBe(0);
    expect(server.beats).toHaveLength(2);
    runFor(chart.clock, 1);
    expect(chart.context().consecutiveFailures).toBe(1);
    // Suspect: a probe goes out at once instead of waiting a whole interval.
    expect(server.beats.at(-1)).toEqual({ seq: 3, at: sentAt + expected });
  });

  it("shrinks with low latency down to the floor, and follows the RTO of the measured samples", () => {
    const { chart, server } = startConnected({}, 10);
    const timeouts: number[] = [];
    for (let i = 0; i < 6; i++) {
      runFor(chart.clock, heartbeatInterval);
      const { srtt, rttvar } = chart.context();
      timeouts.push(heartbeatAckTimeout(srtt, rttvar, minHeartbeatTimeout, heartbeatTimeout));
    }
    expect(timeouts.every((timeout) => timeout === minHeartbeatTimeout)).toBe(true);
    expect(chart.context().srtt).toBeCloseTo(10, 6);
    server.acking = false;
    // The beat sent at this very moment is the one that goes unanswered.
    const sentAt = server.beats.at(-1)!.at;
    expect(sentAt).toBe(chart.clock.now());
    runFor(chart.clock, minHeartbeatTimeout - 1);
    expect(chart.context().consecutiveFailures).toBe(0);
    runFor(chart.clock, 1);
    expect(chart.context().consecutiveFailures).toBe(1);
  });

  it("an ack of the probe clears the suspicion", () => {
    const { chart, server } = startConnected({}, 400);
    runFor(chart.clock, 400);
    server.acking = false;
    runFor(chart.clock, heartbeatInterval - 400 + 1200);
    expect(chart.context().consecutiveFailures).toBe(1);
    chart.socket.ackHeartbeat();
    expect(heartbeatRegion(chart)).toBe("resting");
    expect(chart.context().consecutiveFailures).toBe(0);
  });

  it("a late ack of an earlier beat still waiting is a true round trip: it clears the suspicion", () => {
    const { chart, server } = startConnected({}, 400);
    runFor(chart.clock, 400);
    server.acking = false;
    runFor(chart.clock, heartbeatInterval - 400 + 1200);
    const probe = server.beats.at(-1)!;
    expect(probe).toEqual({ seq: 3, at: heartbeatInterval + 1200 });
    runFor(chart.clock, 300);
    chart.socket.report({ type: "socket.heartbeatAck", generation: 1, seq: 2 });
    expect(heartbeatRegion(chart)).toBe("resting");
    expect(chart.context()).toMatchObject({ consecutiveFailures: 0, latency: 1500 });
  });

  it("an ack of a beat from an older connection is ignored", () => {
    const { chart } = startConnected({}, 10);
    chart.actor.send({ type: "forceReconnect" });
    chart.socket.connect();
    const seq = chart.context().heartbeatSeq;
    chart.socket.report({ type: "socket.heartbeatAck", generation: 1, seq });
    expect(heartbeatRegion(chart)).toBe("beating");
    expect(chart.context().heartbeatsAcked).toBe(false);
  });
});

describe("dead link detection", () => {
  it("unhealthyThreshold misses in a row: health_degraded, disconnected 'heartbeat timeout', backingOff", () => {
    const { chart, server } = startConnected({}, 20);
    runFor(chart.clock, 20);
    server.acking = false;
    runFor(chart.clock, heartbeatInterval - 20 + 2 * minHeartbeatTimeout);
    expect(chart.state()).toBe("connected");
    expect(chart.context().consecutiveFailures).toBe(2);
    runFor(chart.clock, minHeartbeatTimeout);
    expect(chart.actor.getSnapshot().value).toEqual({ backingOff: "waiting" });
    expect(chart.emitted.slice(1)).toEqual([
      { type: "connection:health_degraded", healthScore: 40, consecutiveFailures: unhealthyThreshold },
      { type: "connection:disconnected", reason: "heartbeat timeout" },
      { type: "connection:reconnecting", attempt: 1, delay: 750, server: "http://127.0.0.1" },
    ]);
    expect(chart.context()).toMatchObject({
      attempt: 0,
      socketId: null,
      lastError: {
        message: `connection lost: heartbeat timeout (no heartbeat ack ${unhealthyThreshold} times in a row)`,
      },
    });
    expect(chart.socket.commands.at(-1)).toEqual({ type: "close" });
    runFor(chart.clock, 750);
    chart.socket.connect();
    expect(chart.emittedOf("connection:reconnected")).toEqual([
      { type: "connection:reconnected", attempts: 1, recovered: false },
    ]);
  });

  it("unhealthyThreshold 1: the first miss drops the connection", () => {
    const { chart, server } = startConnected({ config: { unhealthyThreshold: 1 } }, 20);
    runFor(chart.clock, 20);
    server.acking = false;
    runFor(chart.clock, heartbeatInterval - 20 + minHeartbeatTimeout);
    expect(chart.state()).toBe("backingOff");
    expect(server.beats).toHaveLength(2);
  });

  const bound = heartbeatInterval + unhealthyThreshold * heartbeatTimeout;
  const scenarios = [5, 300, 1500, 4000].flatMap((latency) =>
    [
      { where: "just after an ack", offset: latency + 1 },
      { where: "mid rest", offset: 12_345 },
      { where: "just before the next beat", offset: heartbeatInterval - 1 },
      { where: "while an ack is on its way", offset: Math.floor(latency / 2) },
    ].map((scenario) => ({ latency, ...scenario })),
  );

  it.each(scenarios)(
    `latency $latency ms, link lost $where: noticed within heartbeatInterval + unhealthyThreshold·heartbeatTimeout (${bound} ms)`,
    ({ latency, offset }) => {
      const { chart, server } = startConnected({}, latency);
      const detected = timesOf(chart, "connection:disconnected");
      runFor(chart.clock, 3 * heartbeatInterval);
      const lastBeat = server.beats.at(-1)!.at;
      runFor(chart.clock, lastBeat + offset - chart.clock.now());
      expect(chart.state()).toBe("connected");
      server.acking = false;
      const lostAt = chart.clock.now();
      runFor(chart.clock, bound + 1);
      expect(chart.state()).not.toBe("connected");
      expect(detected).toHaveLength(1);
      expect(detected[0]! - lostAt).toBeLessThanOrEqual(bound);
      expect(detected[0]! - lostAt).toBeGreaterThan(0);
      expect(chart.emittedOf("connection:disconnected")).toEqual([{ type: "connection:disconnected", reason: "heartbeat timeout" }]);
    },
  );

  it("worst case: slow samples hold the timeout at its ceiling, then a fast ack and the link dies", () => {
    const { chart, server } = startConnected({}, 3000);
    const detected = timesOf(chart, "connection:disconnected");
    runFor(chart.clock, 2 * heartbeatInterval - 1);
    server.latency = 1;
    runFor(chart.clock, 2);
    const { srtt, rttvar, latency } = chart.context();
    expect(latency).toBe(1);
    expect(heartbeatAckTimeout(srtt, rttvar, minHeartbeatTimeout, heartbeatTimeout)).toBe(heartbeatTimeout);
    server.acking = false;
    const lostAt = chart.clock.now();
    runFor(chart.clock, bound + 1);
    expect(detected).toEqual([lostAt - 1 + heartbeatInterval + unhealthyThreshold * heartbeatTimeout]);
    expect(detected[0]! - lostAt).toBe(bound - 1);
  });
});

describe("health checks", () => {
  it("every healthCheckInterval while connected, with score, quality and latency; none once disconnected", () => {
    const { chart } = startConnected({}, 600);
    runFor(chart.clock, healthCheckInterval - 1);
    expect(chart.emittedOf("connection:health_check")).toEqual([]);
    runFor(chart.clock, 1);
    const expected = { type: "connection:health_check", healthScore: 85, healthy: true, quality: "good", latency: 600 };
    expect(chart.emittedOf("connection:health_check")).toEqual([expected]);
    runFor(chart.clock, healthCheckInterval);
    expect(chart.emittedOf("connection:health_check")).toEqual([expected, expected]);
    chart.socket.drop();
    runFor(chart.clock, 500);
    chart.actor.send({ type: "disconnect" });
    runFor(chart.clock, 10 * healthCheckInterval);
    expect(chart.emittedOf("connection:health_check")).toHaveLength(2);
  });

  it("reports the failures of a suspect link", () => {
    const { chart, server } = startConnected({ config: { healthCheckInterval: heartbeatInterval + 1500 } }, 20);
    runFor(chart.clock, 20);
    server.acking = false;
    runFor(chart.clock, heartbeatInterval + 1500 - 20);
    expect(chart.emittedOf("connection:health_check")).toEqual([
      { type: "connection:health_check", healthScore: 75, healthy: true, quality: "good", latency: 20 },
    ]);
  });
});

describe("offline / online", () => {
  function backingOff(config: Partial<ConnectionConfig> = {}) {
    const chart = startChart({ config });
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    return chart;
  }

  it("offline while waiting to retry: waitingForNetwork, no timer, nothing opened or counted", () => {
    const chart = backingOff();
    chart.actor.send({ type: "network.offline" });
    expect(chart.actor.getSnapshot().value).toEqual({ backingOff: "waitingForNetwork" });
    expect(chart.context()).toMatchObject({ network: "offline", attempt: 1, nextRetryAt: null, nextRetryDelay: null });
    const emitted = chart.emitted.length;
    runFor(chart.clock, 24 * HOUR);
    expect(chart.socket.opens()).toBe(1);
    expect(chart.context().attempt).toBe(1);
    expect(chart.emitted.length).toBe(emitted);
  });

  it("online from waitingForNetwork: connecting at once", () => {
    const chart = backingOff();
    chart.actor.send({ type: "network.offline" });
    runFor(chart.clock, HOUR);
    chart.actor.send({ type: "network.online" });
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.context()).toMatchObject({ network: "online", attempt: 1, retries: 1 });
    expect(chart.socket.opens()).toBe(2);
  });

  it("online from backingOff.waiting: connecting at once, whatever the remaining delay", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail("busy", { retryAfter: 600_000 });
    expect(chart.context().nextRetryDelay).toBeGreaterThanOrEqual(600_000);
    chart.actor.send({ type: "network.online" });
    expect(chart.state()).toBe("connecting");
    expect(chart.socket.opens()).toBe(2);
    expect(chart.context()).toMatchObject({ nextRetryAt: null, nextRetryDelay: null });
  });

  it("online from exhausted: connecting at once with the counter at 0", () => {
    const chart = backingOff({ maxReconnectAttempts: 2 });
    runFor(chart.clock, chart.context().nextRetryDelay ?? 0);
    chart.socket.fail();
    expect(chart.state()).toBe("exhausted");
    chart.actor.send({ type: "network.online" });
    expect(chart.state()).toBe("connecting");
    expect(chart.context()).toMatchObject({ attempt: 0, retries: 0, backoffStep: 0 });
    expect(chart.socket.opens()).toBe(3);
  });

  it("connect() while offline opens nothing until online", () => {
    const chart = startChart();
    chart.actor.send({ type: "network.offline" });
    chart.actor.send({ type: "connect" });
    expect(chart.actor.getSnapshot().value).toEqual({ backingOff: "waitingForNetwork" });
    runFor(chart.clock, HOUR);
    expect(chart.socket.opens()).toBe(0);
    expect(chart.context().attempt).toBe(0);
    chart.actor.send({ type: "network.online" });
    expect(chart.socket.opens()).toBe(1);
  });

  it("a failure while offline is not counted and waits for the network", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 1 } });
    chart.actor.send({ type: "connect" });
    chart.actor.send({ type: "network.offline" });
    chart.socket.fail("net::ERR_INTERNET_DISCONNECTED");
    expect(chart.actor.getSnapshot().value).toEqual({ backingOff: "waitingForNetwork" });
    expect(chart.context()).toMatchObject({ attempt: 0, lastError: { message: "net::ERR_INTERNET_DISCONNECTED" } });
    expect(chart.emittedOf("connection:max_attempts_reached")).toEqual([]);
  });

  it("offline or online in idle only records the network", () => {
    const chart = startChart();
    chart.actor.send({ type: "network.offline" });
    expect(chart.context().network).toBe("offline");
    chart.actor.send({ type: "network.online" });
    expect(chart.context().network).toBe("online");
    expect(chart.state()).toBe("idle");
    expect(chart.socket.opens()).toBe(0);
  });

  it("offline while connected probes the link at once and leaves the other timers alone", () => {
    const { chart, server } = startConnected({}, 20);
    chart.actor.send({ type: "connect" });
    runFor(chart.clock, 4000);
    chart.actor.send({ type: "network.offline" });
    expect(chart.state()).toBe("connected");
    expect(chart.context().network).toBe("offline");
    expect(server.beats.map((beat) => beat.at)).toEqual([0, 4000]);
    // The stability and health timers keep their schedule.
    runFor(chart.clock, DEFAULT_CONFIG.stablePeriod - 4000);
    expect(chart.actor.getSnapshot().value).toMatchObject({ connected: { stability: { stable: "onPrimary" } } });
    runFor(chart.clock, healthCheckInterval - DEFAULT_CONFIG.stablePeriod);
    expect(chart.emittedOf("connection:health_check")).toHaveLength(1);
  });
});

describe("resume and sleep detection", () => {
  it("resume while connected probes at once with the short timeout", () => {
    const { chart, server } = startConnected({}, 1500);
    runFor(chart.clock, 1500);
    // RTO after one 1500 ms sample: 1500 + 4·750 = 4500; the wake probe waits only 1000.
    server.acking = false;
    runFor(chart.clock, 10_000 - 1500);
    chart.actor.send({ type: "power.resume" });
    expect(server.beats.at(-1)!.at).toBe(10_000);
    expect(chart.context().probeAfterResume).toBe(true);
    runFor(chart.clock, minHeartbeatTimeout - 1);
    expect(chart.context().consecutiveFailures).toBe(0);
    runFor(chart.clock, 1);
    expect(chart.context().consecutiveFailures).toBe(1);
    const lost = timesOf(chart, "connection:disconnected");
    runFor(chart.clock, 2 * minHeartbeatTimeout);
    expect(lost).toEqual([10_000 + unhealthyThreshold * minHeartbeatTimeout]);
    expect(chart.state()).toBe("backingOff");
  });

  it("resume while connected to a server that never acks costs nothing", () => {
    const { chart, server } = startConnected();
    server.acking = false;
    runFor(chart.clock, 10_000);
    chart.actor.send({ type: "power.resume" });
    runFor(chart.clock, HOUR);
    expect(chart.state()).toBe("connected");
    expect(chart.context().consecutiveFailures).toBe(0);
  });

  it("resume while backing off: connecting now", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    chart.actor.send({ type: "power.resume" });
    expect(chart.state()).toBe("connecting");
    expect(chart.context()).toMatchObject({ retries: 1, attempt: 1, nextRetryAt: null });
    expect(chart.socket.opens()).toBe(2);
  });

  it("resume while the server asked to stay away (retryAfter) keeps waiting", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail("busy", { retryAfter: 60_000 });
    runFor(chart.clock, 10_000);
    chart.actor.send({ type: "power.resume" });
    expect(chart.state()).toBe("backingOff");
    expect(chart.socket.opens()).toBe(1);
  });

  it("resume while offline waits for the network", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    chart.actor.send({ type: "network.offline" });
    chart.actor.send({ type: "power.resume" });
    expect(chart.actor.getSnapshot().value).toEqual({ backingOff: "waitingForNetwork" });
    expect(chart.socket.opens()).toBe(1);
  });

  it.each(["idle", "connecting", "exhausted", "authRequired"])("resume in %s changes nothing", (from) => {
    const chart = startChart({ config: { maxReconnectAttempts: 1 } });
    if (from !== "idle") chart.actor.send({ type: "connect" });
    if (from === "exhausted") chart.socket.fail();
    if (from === "authRequired") chart.socket.fail("Unauthorized", { authRejected: true });
    const before = chart.actor.getSnapshot();
    chart.actor.send({ type: "power.resume" });
    expect(chart.actor.getSnapshot().value).toEqual(before.value);
    expect(chart.context()).toEqual(before.context);
  });

  it("a retry timer that fires more than sleepThreshold late emits connection:resumed and retries", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    expect(chart.context().nextRetryAt).toBe(750);
    chart.clock.increment(750 + DEFAULT_CONFIG.sleepThreshold + 1);
    expect(chart.emittedOf("connection:resumed")).toEqual([
      { type: "connection:resumed", sleptFor: DEFAULT_CONFIG.sleepThreshold + 1 },
    ]);
    expect(chart.state()).toBe("connecting");
  });

  it("a retry timer late by sleepThreshold or less is not a sleep", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    chart.clock.increment(750 + DEFAULT_CONFIG.sleepThreshold);
    expect(chart.emittedOf("connection:resumed")).toEqual([]);
    expect(chart.state()).toBe("connecting");
  });

  it("a resting heartbeat that fires late emits connection:resumed and probes with the short timeout", () => {
    const { chart, server } = startConnected({}, 50);
    runFor(chart.clock, 50);
    server.acking = false;
    chart.clock.increment(heartbeatInterval + DEFAULT_CONFIG.sleepThreshold + 100);
    expect(chart.emittedOf("connection:resumed")).toEqual([
      { type: "connection:resumed", sleptFor: DEFAULT_CONFIG.sleepThreshold + 150 },
    ]);
    expect(chart.context().probeAfterResume).toBe(true);
    expect(server.beats).toHaveLength(2);
    expect(chart.state()).toBe("connected");
  });
});

describe("flap protection", () => {
  function connectAfterTwoFailures() {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    runFor(chart.clock, chart.context().nextRetryDelay ?? 0);
    chart.socket.fail();
    runFor(chart.clock, chart.context().nextRetryDelay ?? 0);
    chart.socket.connect();
    return chart;
  }

  it("a connection that drops before stablePeriod keeps the raised envelope", () => {
    const chart = connectAfterTwoFailures();
    expect(chart.context()).toMatchObject({ attempt: 0, backoffStep: 2 });
    runFor(chart.clock, DEFAULT_CONFIG.stablePeriod - 1);
    expect(chart.actor.getSnapshot().value).toMatchObject({ connected: { stability: "settling" } });
    chart.socket.drop();
    // "full", random 0.5, step 3: 500 + 0.5·(4000 − 500)
    expect(chart.context()).toMatchObject({ backoffStep: 3, nextRetryDelay: 2250 });
  });

  it("after stablePeriod connected the envelope is reset", () => {
    const chart = connectAfterTwoFailures();
    runFor(chart.clock, DEFAULT_CONFIG.stablePeriod);
    expect(chart.actor.getSnapshot().value).toMatchObject({ connected: { stability: { stable: "onPrimary" } } });
    expect(chart.context()).toMatchObject({ backoffStep: 0, lastDelay: null });
    chart.socket.drop();
    expect(chart.context()).toMatchObject({ backoffStep: 1, nextRetryDelay: 750 });
  });
});
