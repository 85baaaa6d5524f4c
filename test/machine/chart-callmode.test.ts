import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/machine/config.js";
import type { ConnectionMachineInput } from "../../src/machine/connectionMachine.js";
import type { SocketCommand } from "../../src/machine/types.js";
import { runFor, startChart } from "../support/fakeSocket.js";

/**
 * Call mode (`call.set`, the service's setCallActive): a shorter heartbeat, never exhausted,
 * every retry capped at callMaxDelay (a server's retryAfter still a floor), a probe on online,
 * a forced reconnection that keeps a working link, and call signalling queued apart. On the
 * production chart with a fake socket and simulated time; random is 0.5 unless said otherwise.
 */

type Chart = ReturnType<typeof startChart>;

const { heartbeatInterval, callHeartbeatInterval, callMaxDelay, minHeartbeatTimeout } = DEFAULT_CONFIG;

function connected(input: ConnectionMachineInput = {}, options: Parameters<typeof startChart>[1] = {}): Chart {
  const chart = startChart(input, options);
  chart.actor.send({ type: "connect" });
  chart.socket.connect();
  return chart;
}

const heartbeats = (chart: Chart) => chart.socket.commands.filter((command) => command.type === "heartbeat").length;
const heartbeatRegion = (chart: Chart) =>
  (chart.actor.getSnapshot().value as { connected?: { heartbeat: string } }).connected?.heartbeat;
const setCall = (chart: Chart, active: boolean) => chart.actor.send({ type: "call.set", active });

/** Lets the pending retry timer run out (the chart then opens the next socket). */
function waitForRetry(chart: Chart): void {
  const delay = chart.context().nextRetryDelay;
  if (delay === null) throw new Error("no retry is scheduled");
  runFor(chart.clock, delay);
}

describe("heartbeat cadence", () => {
  it("a call shortens the rest, measured from the last heartbeat; its end lengthens it again; the link is kept throughout", () => {
    const chart = connected();
    chart.socket.ackHeartbeat();
    expect(heartbeatRegion(chart)).toBe("resting");
    runFor(chart.clock, 1000);
    setCall(chart, true);
    expect(chart.status()).toMatchObject({ state: "connected", callActive: true });
    // The first beat went out at 0: the next is due at callHeartbeatInterval, not 1000 later.
    runFor(chart.clock, callHeartbeatInterval - 1000 - 1);
    expect(heartbeats(chart)).toBe(1);
    runFor(chart.clock, 1);
    expect(heartbeats(chart)).toBe(2);
    chart.socket.ackHeartbeat();
    runFor(chart.clock, callHeartbeatInterval);
    expect(heartbeats(chart)).toBe(3);
    chart.socket.ackHeartbeat();

    runFor(chart.clock, 1000);
    setCall(chart, false);
    // The last beat went out at 2 · callHeartbeatInterval: the next at that + heartbeatInterval.
    const lastBeat = 2 * callHeartbeatInterval;
    runFor(chart.clock, lastBeat + heartbeatInterval - chart.clock.now() - 1);
    expect(heartbeats(chart)).toBe(3);
    runFor(chart.clock, 1);
    expect(heartbeats(chart)).toBe(4);

    expect(chart.socket.opens()).toBe(1);
    expect(chart.emittedOf("connection:disconnected")).toEqual([]);
    expect(chart.state()).toBe("connected");
  });

  it("a call whose rest is already over beats at once; a longer callHeartbeatInterval than heartbeatInterval changes nothing", () => {
    const chart = connected();
    chart.socket.ackHeartbeat();
    runFor(chart.clock, callHeartbeatInterval + 500);
    setCall(chart, true);
    // Due already: a timer of no delay, which fires as soon as the clock runs.
    expect(heartbeats(chart)).toBe(1);
    runFor(chart.clock, 0);
    expect(heartbeats(chart)).toBe(2);

    const slow = connected({ config: { heartbeatInterval: 2000, callHeartbeatInterval: 9000 } });
    slow.socket.ackHeartbeat();
    setCall(slow, true);
    runFor(slow.clock, 2000);
    expect(heartbeats(slow)).toBe(2);
  });
});

describe("never exhausted in a call", () => {
  it("attempts keep counting past maxReconnectAttempts; once the call ends, the next failure exhausts", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 2 } });
    chart.actor.send({ type: "connect" });
    setCall(chart, true);
    for (let failure = 1; failure <= 5; failure++) {
      chart.socket.fail(`failure ${failure}`);
      expect(chart.state()).toBe("backingOff");
      expect(chart.context().attempt).toBe(failure);
      waitForRetry(chart);
    }
    expect(chart.emittedOf("connection:max_attempts_reached")).toEqual([]);
    expect(chart.emittedOf("connection:failed").map((event) => event.attempt)).toEqual([1, 2, 3, 4, 5]);

    setCall(chart, false);
    expect(chart.state()).toBe("connecting");
    chart.socket.fail("failure 6");
    expect(chart.state()).toBe("exhausted");
    expect(chart.emittedOf("connection:max_attempts_reached")).toEqual([{ type: "connection:max_attempts_reached", attempts: 6 }]);
  });

  it("a call starting in exhausted connects at once; one starting elsewhere opens nothing by itself", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 1 } });
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    expect(chart.state()).toBe("exhausted");
    setCall(chart, true);
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.socket.opens()).toBe(2);
    expect(chart.context()).toMatchObject({ callActive: true, retries: 1 });

    const idle = startChart();
    setCall(idle, true);
    expect(idle.state()).toBe("idle");
    expect(idle.socket.opens()).toBe(0);
    expect(idle.context().callActive).toBe(true);
  });

  it("a call ending in exhausted leaves it there", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 1 } });
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    setCall(chart, false);
    expect(chart.state()).toBe("exhausted");
    expect(chart.socket.opens()).toBe(1);
  });
});

describe("retry delays in a call", () => {
  it("every delay is the strategy's draw capped at callMaxDelay", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 20 } }, { random: () => 0.99 });
    chart.actor.send({ type: "connect" });
    setCall(chart, true);
    for (let failure = 1; failure <= 10; failure++) {
      chart.socket.fail();
      waitForRetry(chart);
    }
    const delays = chart.emittedOf("connection:reconnecting").map((event) => event.delay);
    // full jitter with 0.99: 995, then 1985, 3965, and the cap from the fourth on.
    expect(delays).toEqual([995, 1985, 3965, ...Array<number>(7).fill(callMaxDelay)]);
  });

  it("without a call the same draws run up to maxDelay", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 20 } }, { random: () => 0.99 });
    chart.actor.send({ type: "connect" });
    for (let failure = 1; failure <= 6; failure++) {
      chart.socket.fail();
      waitForRetry(chart);
    }
    expect(Math.max(...chart.emittedOf("connection:reconnecting").map((event) => event.delay))).toBeGreaterThan(callMaxDelay);
  });

  it("a server's retryAfter stays a floor above the cap (spread, or exactly at its assigned moment)", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    setCall(chart, true);
    chart.socket.fail("server busy", { retryAfter: 8000 });
    // 8000 + 0.5 · max(8000, jitterRange)
    expect(chart.context().nextRetryDelay).toBe(12_000);
    waitForRetry(chart);
    chart.socket.fail("server busy", { retryAfter: 8000, retryWindow: 0 });
    expect(chart.context().nextRetryDelay).toBe(8000);
  });

  it("a call starting while the retry waits longer than callMaxDelay draws it again, capped", () => {
    const chart = startChart({ config: { baseDelay: 20_000, maxDelay: 30_000 } });
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    // full: 10 000 + 0.5 · (20 000 − 10 000)
    expect(chart.context().nextRetryDelay).toBe(15_000);
    runFor(chart.clock, 1000);
    setCall(chart, true);
    expect(chart.emittedOf("connection:reconnecting").map((event) => event.delay)).toEqual([15_000, callMaxDelay]);
    // Drawn again at the same step, not the next one.
    expect(chart.context()).toMatchObject({ backoffStep: 1, nextRetryDelay: callMaxDelay, nextRetryAt: 1000 + callMaxDelay });
    runFor(chart.clock, callMaxDelay - 1);
    expect(chart.socket.opens()).toBe(1);
    runFor(chart.clock, 1);
    expect(chart.socket.opens()).toBe(2);
  });

  it("... keeping what is left of the server's hold, exactly", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail("server busy", { retryAfter: 8000 });
    expect(chart.context().nextRetryDelay).toBe(12_000);
    runFor(chart.clock, 1000);
    setCall(chart, true);
    // The hold ends 8000 after the refusal: 7000 from now, no later.
    expect(chart.context().nextRetryDelay).toBe(7000);
    runFor(chart.clock, 6999);
    expect(chart.socket.opens()).toBe(1);
    runFor(chart.clock, 1);
    expect(chart.socket.opens()).toBe(2);
  });

  it("a call starting while the retry is due within callMaxDelay leaves it alone", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    setCall(chart, true);
    expect(chart.emittedOf("connection:reconnecting")).toHaveLength(1);
    expect(chart.context().nextRetryDelay).toBe(750);
  });
});

describe("network.online while connected", () => {
  it("in a call: probes at once with minHeartbeatTimeout; a miss makes the link suspect", () => {
    const chart = connected();
    chart.socket.ackHeartbeat();
    setCall(chart, true);
    runFor(chart.clock, 1000);
    chart.actor.send({ type: "network.online" });
    expect(heartbeatRegion(chart)).toBe("beating");
    expect(heartbeats(chart)).toBe(2);
    expect(chart.context().probeAfterResume).toBe(true);
    runFor(chart.clock, minHeartbeatTimeout - 1);
    expect(chart.context().consecutiveFailures).toBe(0);
    runFor(chart.clock, 1);
    expect(chart.context().consecutiveFailures).toBe(1);
  });

  it("outside a call: only records the network", () => {
    const chart = connected();
    chart.socket.ackHeartbeat();
    chart.actor.send({ type: "network.online" });
    expect(heartbeatRegion(chart)).toBe("resting");
    expect(heartbeats(chart)).toBe(1);
    expect(chart.context().network).toBe("online");
  });
});

describe("forceReconnect in a call", () => {
  it("on a working link keeps it, records the ticket and probes it at once", () => {
    const chart = connected();
    chart.socket.ackHeartbeat();
    setCall(chart, true);
    chart.actor.send({ type: "forceReconnect", id: 7 });
    expect(chart.state()).toBe("connected");
    expect(chart.context()).toMatchObject({ forceId: 7, socketId: "socket-1", probeAfterResume: true });
    expect(chart.socket.opens()).toBe(1);
    expect(chart.socket.commands.at(-1)).toEqual({ type: "heartbeat", generation: 1, seq: 2 });
    expect(chart.emittedOf("connection:disconnected")).toEqual([]);
  });

  it("while its probe is in flight, the probe is that probe: no second heartbeat", () => {
    const chart = connected();
    setCall(chart, true);
    chart.actor.send({ type: "forceReconnect", id: 1 });
    expect(chart.context().forceId).toBe(1);
    expect(heartbeats(chart)).toBe(1);
    expect(chart.socket.opens()).toBe(1);
  });

  it("on a suspect link (a missed ack) replaces it", () => {
    const chart = connected();
    chart.socket.ackHeartbeat();
    setCall(chart, true);
    // The next beat at callHeartbeatInterval; acked at once before, its timeout is the floor.
    runFor(chart.clock, callHeartbeatInterval + minHeartbeatTimeout);
    expect(chart.context().consecutiveFailures).toBe(1);
    chart.actor.send({ type: "forceReconnect", id: 3 });
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.context().forceId).toBe(3);
    expect(chart.socket.opens()).toBe(2);
    expect(chart.emittedOf("connection:disconnected")).toEqual([{ type: "connection:disconnected", reason: "forced reconnection" }]);
  });

  it("outside a call a working link is replaced as before", () => {
    const chart = connected();
    chart.socket.ackHeartbeat();
    chart.actor.send({ type: "forceReconnect", id: 1 });
    expect(chart.state()).toBe("connecting");
    expect(chart.socket.opens()).toBe(2);
  });
});

describe("call-priority messages", () => {
  const send = (chart: Chart, event: string, priority?: "call", ttl?: number) =>
    chart.actor.send({ type: "send", event, args: [event], ...(priority ? { priority } : {}), ...(ttl ? { ttl } : {}) });
  const emits = (chart: Chart) =>
    chart.socket.commands
      .filter((command): command is Extract<SocketCommand, { type: "emit" }> => command.type === "emit")
      .map((command) => command.event);

  it("are flushed before the ordinary queue, each in its order", () => {
    const chart = startChart();
    send(chart, "presence-1");
    send(chart, "hangup", "call");
    send(chart, "presence-2");
    send(chart, "transfer", "call");
    expect(chart.status().queuedMessages).toBe(4);
    chart.actor.send({ type: "connect" });
    chart.socket.connect();
    expect(emits(chart)).toEqual(["hangup", "transfer", "presence-1", "presence-2"]);
    expect(chart.status().queuedMessages).toBe(0);
  });

  it("are never dropped for overflow: they take the ordinary queue's room, oldest ordinary first", () => {
    const chart = startChart({ config: { maxQueueSize: 3 } });
    send(chart, "p1");
    send(chart, "p2");
    send(chart, "c1", "call");
    expect(chart.emittedOf("message:dropped")).toEqual([]);
    send(chart, "p3");
    send(chart, "c2", "call");
    send(chart, "c3", "call");
    send(chart, "c4", "call");
    expect(chart.emittedOf("message:dropped").map((event) => [event.event, event.reason])).toEqual([
      ["p1", "overflow"],
      ["p2", "overflow"],
      ["p3", "overflow"],
    ]);
    // More call messages than maxQueueSize: all kept, and no room at all for the rest.
    expect(chart.status().queuedMessages).toBe(4);
    send(chart, "p4");
    expect(chart.emittedOf("message:dropped").at(-1)).toMatchObject({ event: "p4", reason: "overflow" });
    chart.actor.send({ type: "connect" });
    chart.socket.connect();
    expect(emits(chart)).toEqual(["c1", "c2", "c3", "c4"]);
  });

  it("still expire at their ttl", () => {
    const chart = startChart();
    send(chart, "hangup", "call", 100);
    runFor(chart.clock, 99);
    expect(chart.status().queuedMessages).toBe(1);
    runFor(chart.clock, 1);
    expect(chart.emittedOf("message:dropped")).toEqual([{ type: "message:dropped", event: "hangup", reason: "expired", args: ["hangup"] }]);
    expect(chart.status().queuedMessages).toBe(0);
  });
});
