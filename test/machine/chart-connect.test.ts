import { describe, expect, it } from "vitest";
import { computeBackoffDelay } from "../../src/machine/backoff.js";
import { DEFAULT_CONFIG, JITTER_STRATEGIES, resolveConfig } from "../../src/machine/config.js";
import type { ConnectionConfig, ConnectionMachineInput } from "../../src/index.js";
import { createActor } from "xstate";
import { createConnectionMachine } from "../../src/machine/connectionMachine.js";
import { createQueue } from "../../src/machine/queue.js";
import { createFakeSocket, runFor, startChart } from "../support/fakeSocket.js";

type Chart = ReturnType<typeof startChart>;

const HOUR = 3_600_000;

/** A repeatable jitter source: the same seed gives the same sequence. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function connected(input: ConnectionMachineInput = {}, options: Parameters<typeof startChart>[1] = {}): Chart {
  const chart = startChart(input, options);
  chart.actor.send({ type: "connect" });
  chart.socket.connect();
  return chart;
}

/** Lets the pending retry timer run out (the chart then opens the next socket). */
function waitForRetry(chart: Chart): void {
  const delay = chart.context().nextRetryDelay;
  if (delay === null) throw new Error("no retry is scheduled");
  runFor(chart.clock, delay);
}

describe("idle", () => {
  it("starts idle with a fresh context and holds no socket", () => {
    const chart = startChart();
    expect(chart.actor.getSnapshot().value).toBe("idle");
    expect(chart.context()).toMatchObject({
      url: "http://127.0.0.1",
      path: "/socket.io/",
      config: DEFAULT_CONFIG,
      attempt: 0,
      retries: 0,
      backoffStep: 0,
      nextRetryDelay: null,
      nextRetryAt: null,
      lastError: null,
      network: "online",
      awaitingToken: false,
      generation: 0,
      queue: createQueue(),
    });
    // Idle ends deliberately: the server is told, so it keeps no session to recover.
    expect(chart.socket.commands).toEqual([{ type: "close", graceful: true }]);
    expect(chart.emitted).toEqual([]);
    runFor(chart.clock, HOUR);
    expect(chart.socket.opens()).toBe(0);
  });

  it("takes url, path, network and config from its input", () => {
    const chart = startChart({
      url: "wss://example.test",
      path: "/rt/",
      network: "offline",
      config: { baseDelay: 10, maxDelay: 20 },
    });
    expect(chart.context()).toMatchObject({
      url: "wss://example.test",
      path: "/rt/",
      network: "offline",
      config: resolveConfig({ baseDelay: 10, maxDelay: 20 }),
    });
  });

  it("an invalid config stops the actor with the TypeError", () => {
    const socket = createFakeSocket();
    const actor = createActor(createConnectionMachine().provide({ actors: { socket: socket.logic } }), {
      input: { config: { maxDelay: 1 } },
    });
    const errors: unknown[] = [];
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.start();
    expect(actor.getSnapshot().status).toBe("error");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TypeError);
    expect(String(errors[0])).toContain("config.maxDelay");
    expect(socket.opens()).toBe(0);
  });

  it("connect -> connecting.handshaking with one open command (generation 1)", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.socket.commands.slice(1)).toEqual([expect.objectContaining({ type: "open", generation: 1 })]);
    expect(chart.context().generation).toBe(1);
  });
});

describe("connecting -> connected", () => {
  it("records the socket, resets the counter, emits connection:connected and beats at once", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.advance(120);
    chart.socket.connect("sid-1");
    expect(chart.actor.getSnapshot().value).toEqual({
      connected: { heartbeat: "beating", health: "watching", stability: "settling" },
    });
    expect(chart.context()).toMatchObject({
      socketId: "sid-1",
      connectedAt: 120,
      attempt: 0,
      retries: 0,
      lastError: null,
      nextRetryAt: null,
      nextRetryDelay: null,
      consecutiveFailures: 0,
      heartbeatSeq: 1,
      heartbeatSentAt: 120,
    });
    expect(chart.emitted).toEqual([{ type: "connection:connected", socketId: "sid-1", recovered: false, server: "http://127.0.0.1" }]);
    expect(chart.socket.commands.at(-1)).toEqual({ type: "heartbeat", generation: 1, seq: 1 });
  });

  it("the connection timeout cannot fire once connected", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.advance(DEFAULT_CONFIG.connectionTimeout - 1);
    chart.socket.connect();
    runFor(chart.clock, 2 * DEFAULT_CONFIG.connectionTimeout);
    expect(chart.state()).toBe("connected");
    expect(chart.emittedOf("connection:failed")).toEqual([]);
  });

  it("emits every server event as message { event, args }", () => {
    const chart = connected();
    chart.socket.message("chat", { text: "hi" }, 2);
    chart.socket.message("ping");
    expect(chart.emittedOf("message")).toEqual([
      { type: "message", event: "chat", args: [{ text: "hi" }, 2] },
      { type: "message", event: "ping", args: [] },
    ]);
  });
});

describe("a failed attempt -> backingOff", () => {
  it("counts the failure, emits connection:failed, schedules a retry and emits connection:reconnecting", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.advance(1000);
    chart.socket.fail("xhr poll error");
    expect(chart.actor.getSnapshot().value).toEqual({ backingOff: "waiting" });
    // "full" with random 0.5: base/2 + 0.5·(1000 − base/2).
    expect(chart.context()).toMatchObject({
      attempt: 1,
      retries: 0,
      backoffStep: 1,
      lastError: { message: "xhr poll error" },
      nextRetryDelay: 750,
      nextRetryAt: 1750,
    });
    expect(chart.emitted).toEqual([
      { type: "connection:failed", attempt: 1, error: { message: "xhr poll error" }, server: "http://127.0.0.1" },
      { type: "connection:reconnecting", attempt: 1, delay: 750, server: "http://127.0.0.1" },
    ]);
    expect(chart.socket.commands.at(-1)).toEqual({ type: "close" });
  });

  it("opens the next socket exactly when the delay runs out", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    runFor(chart.clock, 749);
    expect(chart.state()).toBe("backingOff");
    expect(chart.socket.opens()).toBe(1);
    runFor(chart.clock, 1);
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.socket.lastOpen()).toEqual(expect.objectContaining({ type: "open", generation: 2 }));
    expect(chart.context()).toMatchObject({ attempt: 1, retries: 1, nextRetryDelay: null, nextRetryAt: null });
  });

  it("the connection timeout counts as a failed attempt", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    runFor(chart.clock, DEFAULT_CONFIG.connectionTimeout - 1);
    expect(chart.state()).toBe("connecting");
    runFor(chart.clock, 1);
    expect(chart.state()).toBe("backingOff");
    const error = { message: `connection timed out after ${DEFAULT_CONFIG.connectionTimeout} ms` };
    expect(chart.context()).toMatchObject({ attempt: 1, lastError: error });
    expect(chart.emittedOf("connection:failed")).toEqual([{ type: "connection:failed", attempt: 1, error, server: "http://127.0.0.1" }]);
  });

  it("a disconnect reported while still connecting counts as a failure", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.drop("transport error");
    expect(chart.state()).toBe("backingOff");
    expect(chart.context().attempt).toBe(1);
    expect(chart.emittedOf("connection:failed")).toEqual([
      { type: "connection:failed", attempt: 1, error: { message: expect.stringContaining("transport error") }, server: "http://127.0.0.1" },
    ]);
  });

  it("connected again after retries: the counter is 0 and connection:reconnected tells how many retries", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    waitForRetry(chart);
    chart.socket.fail();
    waitForRetry(chart);
    expect(chart.context()).toMatchObject({ attempt: 2, retries: 2 });
    chart.socket.connect("again");
    expect(chart.context()).toMatchObject({ attempt: 0, retries: 0, connectAttempts: 2, lastError: null });
    expect(chart.emitted.slice(-2)).toEqual([
      { type: "connection:connected", socketId: "again", recovered: false, server: "http://127.0.0.1" },
      { type: "connection:reconnected", attempts: 2, recovered: false },
    ]);
    expect(chart.emittedOf("connection:reconnecting").map((event) => event.attempt)).toEqual([1, 2]);
  });

  it.each(JITTER_STRATEGIES)("%s: every retry delay is computeBackoffDelay for the injected random", (jitterStrategy) => {
    const config = { jitterStrategy, maxReconnectAttempts: 15 } satisfies Partial<ConnectionConfig>;
    const chart = startChart({ config }, { random: seededRandom(42) });
    const replay = seededRandom(42);
    const resolved = resolveConfig(config);
    chart.actor.send({ type: "connect" });
    let previous: number | null = null;
    for (let step = 1; step < 15; step++) {
      chart.socket.fail();
      const backoff = computeBackoffDelay(step, resolved, replay, previous);
      previous = backoff;
      const expected = Math.floor(backoff);
      expect(chart.context()).toMatchObject({ backoffStep: step, nextRetryDelay: expected });
      expect(chart.context().nextRetryAt).toBe(chart.clock.now() + expected);
      expect(chart.emittedOf("connection:reconnecting").at(-1)).toEqual({
        type: "connection:reconnecting",
        attempt: step,
        delay: expected,
        server: "http://127.0.0.1",
      });
      const opens = chart.socket.opens();
      runFor(chart.clock, expected - 1);
      expect(chart.socket.opens()).toBe(opens);
      runFor(chart.clock, 1);
      expect(chart.socket.opens()).toBe(opens + 1);
    }
  });

  it("additive with random 0 gives the seed's bare envelope: 1000, 2000, 4000, ..., 30000", () => {
    const chart = startChart({ config: { jitterStrategy: "additive", jitterRange: 1000 } }, { random: () => 0 });
    chart.actor.send({ type: "connect" });
    for (let i = 0; i < 8; i++) {
      chart.socket.fail();
      waitForRetry(chart);
    }
    expect(chart.emittedOf("connection:reconnecting").map((event) => event.delay)).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
  });
});

describe("exhausted", () => {
  it("after exactly maxReconnectAttempts failures from connect(), then nothing until told", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 4 } });
    chart.actor.send({ type: "connect" });
    for (let failure = 1; failure <= 3; failure++) {
      chart.socket.fail(`failure ${failure}`);
      expect(chart.state()).toBe("backingOff");
      expect(chart.context().attempt).toBe(failure);
      waitForRetry(chart);
    }
    chart.socket.fail("failure 4");
    expect(chart.state()).toBe("exhausted");
    expect(chart.context()).toMatchObject({
      attempt: 4,
      nextRetryAt: null,
      nextRetryDelay: null,
      lastError: { message: "failure 4" },
    });
    expect(chart.emittedOf("connection:failed").map((event) => event.attempt)).toEqual([1, 2, 3, 4]);
    expect(chart.emittedOf("connection:reconnecting")).toHaveLength(3);
    expect(chart.emitted.at(-1)).toEqual({ type: "connection:max_attempts_reached", attempts: 4 });
    expect(chart.socket.commands.at(-1)).toEqual({ type: "close" });
    runFor(chart.clock, 24 * HOUR);
    expect(chart.socket.opens()).toBe(4);
    expect(chart.state()).toBe("exhausted");
  });

  it("after exactly maxReconnectAttempts failed retries following a drop", () => {
    const chart = connected({ config: { maxReconnectAttempts: 4 } });
    chart.advance(10_000);
    chart.socket.drop("transport close");
    expect(chart.state()).toBe("backingOff");
    expect(chart.context().attempt).toBe(0);
    for (let failure = 1; failure <= 4; failure++) {
      waitForRetry(chart);
      chart.socket.fail();
      expect(chart.context().attempt).toBe(failure);
    }
    expect(chart.state()).toBe("exhausted");
    expect(chart.emittedOf("connection:max_attempts_reached")).toEqual([
      { type: "connection:max_attempts_reached", attempts: 4 },
    ]);
    expect(chart.socket.opens()).toBe(5);
  });

  it("maxReconnectAttempts 1: the first failure exhausts", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 1 } });
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    expect(chart.state()).toBe("exhausted");
    expect(chart.emittedOf("connection:reconnecting")).toEqual([]);
  });

  it("connect() starts over with the counter at 0", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 1 } });
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    chart.actor.send({ type: "connect" });
    expect(chart.state()).toBe("connecting");
    expect(chart.context()).toMatchObject({ attempt: 0, retries: 0, backoffStep: 0 });
    expect(chart.socket.lastOpen().generation).toBe(2);
  });
});

describe("retryAfter hint", () => {
  it("the next delay is retryAfter spread by max(retryAfter, jitterRange), when that is above the backoff", () => {
    const chart = startChart({}, { random: () => 0.5 });
    chart.actor.send({ type: "connect" });
    chart.socket.fail("server busy", { retryAfter: 10_000 });
    expect(chart.context()).toMatchObject({ nextRetryDelay: 15_000, retryAfterHint: null, backoffStep: 1 });
    expect(chart.emittedOf("connection:reconnecting")).toEqual([
      { type: "connection:reconnecting", attempt: 1, delay: 15_000, server: "http://127.0.0.1" },
    ]);
    runFor(chart.clock, 14_999);
    expect(chart.socket.opens()).toBe(1);
    runFor(chart.clock, 1);
    expect(chart.socket.opens()).toBe(2);
    // The hint is consumed: the next failure without one is plain backoff (step 2).
    chart.socket.fail();
    expect(chart.context().nextRetryDelay).toBe(1250);
  });

  it("draws the backoff first, then the hint's spread", () => {
    const values = [0.2, 0.9];
    const chart = startChart({}, { random: () => values.shift() ?? 0 });
    chart.actor.send({ type: "connect" });
    chart.socket.fail("busy", { retryAfter: 10_000 });
    expect(chart.context().nextRetryDelay).toBe(19_000);
  });

  it("a hint below the backoff leaves the backoff", () => {
    const chart = startChart({}, { random: () => 0.5 });
    chart.actor.send({ type: "connect" });
    chart.socket.fail("busy", { retryAfter: 100 });
    // max(750, 100 + 0.5·max(100, 1000)) = 750
    expect(chart.context().nextRetryDelay).toBe(750);
  });

  it("clients given the same hint do not come back together, and none comes back early", () => {
    const delays = [0.01, 0.3, 0.6, 0.99].map((r) => {
      const chart = startChart({}, { random: () => r });
      chart.actor.send({ type: "connect" });
      chart.socket.fail("busy", { retryAfter: 5000 });
      return chart.context().nextRetryDelay ?? 0;
    });
    expect(new Set(delays).size).toBe(4);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(5000);
      expect(delay).toBeLessThanOrEqual(10_000);
    }
  });
});

describe("disconnect()", () => {
  const setups: Record<string, (chart: Chart) => void> = {
    connecting: (chart) => chart.actor.send({ type: "connect" }),
    connected: (chart) => {
      chart.actor.send({ type: "connect" });
      chart.socket.connect();
    },
    backingOff: (chart) => {
      chart.actor.send({ type: "connect" });
      chart.socket.fail();
    },
    authRequired: (chart) => {
      chart.actor.send({ type: "connect" });
      chart.socket.fail("Unauthorized", { authRejected: true });
    },
    exhausted: (chart) => {
      chart.actor.send({ type: "connect" });
      chart.socket.fail();
      waitForRetry(chart);
      chart.socket.fail();
    },
  };

  it.each(Object.keys(setups))("from %s: idle, socket closed, no timer left", (from) => {
    const chart = startChart({ config: { maxReconnectAttempts: 2 } });
    setups[from]!(chart);
    expect(chart.state()).toBe(from);
    const opens = chart.socket.opens();
    chart.actor.send({ type: "disconnect" });
    expect(chart.actor.getSnapshot().value).toBe("idle");
    expect(chart.socket.commands.at(-1)).toEqual({ type: "close", graceful: true });
    expect(chart.context()).toMatchObject({ nextRetryAt: null, nextRetryDelay: null });
    const emitted = chart.emitted.length;
    runFor(chart.clock, 24 * HOUR);
    expect(chart.socket.opens()).toBe(opens);
    expect(chart.state()).toBe("idle");
    expect(chart.emitted.length).toBe(emitted);
  });

  it("from connected emits connection:disconnected { reason: 'io client disconnect' }", () => {
    const chart = connected();
    chart.actor.send({ type: "disconnect" });
    expect(chart.emitted.at(-1)).toEqual({ type: "connection:disconnected", reason: "io client disconnect" });
    expect(chart.context()).toMatchObject({ socketId: null, connectedAt: null });
  });

  it("connect() elsewhere than idle/exhausted has no effect", () => {
    for (const from of ["connecting", "connected", "backingOff", "authRequired"]) {
      const chart = startChart();
      setups[from]!(chart);
      const before = chart.actor.getSnapshot();
      chart.actor.send({ type: "connect" });
      expect(chart.actor.getSnapshot().value).toEqual(before.value);
      expect(chart.context()).toEqual(before.context);
    }
  });
});

describe("server disconnect", () => {
  it("'io server disconnect' -> idle, not retried", () => {
    const chart = connected();
    chart.socket.drop("io server disconnect");
    expect(chart.actor.getSnapshot().value).toBe("idle");
    expect(chart.emitted.slice(1)).toEqual([{ type: "connection:disconnected", reason: "io server disconnect" }]);
    runFor(chart.clock, 24 * HOUR);
    expect(chart.socket.opens()).toBe(1);
  });

  it("-> backingOff with reconnectOnServerDisconnect", () => {
    const chart = connected({ config: { reconnectOnServerDisconnect: true } });
    chart.socket.drop("io server disconnect");
    expect(chart.state()).toBe("backingOff");
    expect(chart.emitted.slice(1)).toEqual([
      { type: "connection:disconnected", reason: "io server disconnect" },
      { type: "connection:reconnecting", attempt: 1, delay: 750, server: "http://127.0.0.1" },
    ]);
    waitForRetry(chart);
    expect(chart.socket.opens()).toBe(2);
  });

  it("any other reason -> backingOff, the counter untouched", () => {
    for (const reason of ["transport close", "ping timeout", "transport error"]) {
      const chart = connected();
      chart.socket.drop(reason);
      expect(chart.state()).toBe("backingOff");
      expect(chart.context()).toMatchObject({ attempt: 0, retries: 0, socketId: null });
      expect(chart.emittedOf("connection:disconnected")).toEqual([{ type: "connection:disconnected", reason }]);
      expect(chart.emittedOf("connection:failed")).toEqual([]);
    }
  });
});

describe("forceReconnect", () => {
  const setups: Record<string, (chart: Chart) => void> = {
    idle: () => {},
    connected: (chart) => {
      chart.actor.send({ type: "connect" });
      chart.socket.connect();
    },
    backingOff: (chart) => {
      chart.actor.send({ type: "connect" });
      chart.socket.fail();
      waitForRetry(chart);
      chart.socket.fail();
    },
    authRequired: (chart) => {
      chart.actor.send({ type: "connect" });
      chart.socket.fail("Unauthorized", { authRejected: true });
    },
    exhausted: (chart) => {
      chart.actor.send({ type: "connect" });
      chart.socket.fail();
      waitForRetry(chart);
      chart.socket.fail();
      waitForRetry(chart);
      chart.socket.fail();
    },
  };

  it.each(Object.keys(setups))("from %s: connecting now with one new socket and the counters reset", (from) => {
    const chart = startChart({ config: { maxReconnectAttempts: 3 } });
    setups[from]!(chart);
    expect(chart.state()).toBe(from);
    const opens = chart.socket.opens();
    const generation = chart.context().generation;
    chart.actor.send({ type: "forceReconnect" });
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.socket.opens()).toBe(opens + 1);
    expect(chart.socket.lastOpen().generation).toBe(generation + 1);
    expect(chart.context()).toMatchObject({
      attempt: 0,
      retries: 0,
      backoffStep: 0,
      lastDelay: null,
      nextRetryAt: null,
      nextRetryDelay: null,
      authRefreshUsed: false,
    });
  });

  it("from connected emits connection:disconnected { reason: 'forced reconnection' }", () => {
    const chart = connected();
    chart.actor.send({ type: "forceReconnect" });
    expect(chart.emitted.at(-1)).toEqual({ type: "connection:disconnected", reason: "forced reconnection" });
    chart.socket.connect("new");
    expect(chart.emitted.at(-1)).toEqual({ type: "connection:connected", socketId: "new", recovered: false, server: "http://127.0.0.1" });
  });

  it("while connecting joins the attempt in flight: counters reset, no second open", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    waitForRetry(chart);
    chart.socket.fail();
    waitForRetry(chart);
    expect(chart.context()).toMatchObject({ attempt: 2, retries: 2, backoffStep: 2 });
    const opens = chart.socket.opens();
    chart.actor.send({ type: "forceReconnect" });
    expect(chart.socket.opens()).toBe(opens);
    expect(chart.context()).toMatchObject({ attempt: 0, retries: 0, backoffStep: 0 });
    chart.socket.fail();
    expect(chart.context()).toMatchObject({ attempt: 1, nextRetryDelay: 750 });
  });

  it("many at once open one socket", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    for (let i = 0; i < 10; i++) chart.actor.send({ type: "forceReconnect" });
    expect(chart.socket.opens()).toBe(2);
    chart.socket.connect();
    expect(chart.state()).toBe("connected");
  });
});

describe("stale socket events", () => {
  it("events of an older generation are ignored in every state", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    waitForRetry(chart);
    expect(chart.socket.lastOpen().generation).toBe(2);
    const stale = 1;
    const before = chart.actor.getSnapshot();
    chart.socket.report({ type: "socket.connected", generation: stale, socketId: "old", recovered: false });
    chart.socket.report({
      type: "socket.connectFailed",
      generation: stale,
      error: { message: "old" },
      authRejected: true,
      retryAfter: 60_000,
    });
    chart.socket.report({ type: "socket.tokenMissing", generation: stale, reason: "old" });
    chart.socket.report({ type: "socket.awaitingToken", generation: stale, awaiting: true });
    chart.socket.report({ type: "socket.disconnected", generation: stale, reason: "transport close" });
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.context()).toEqual(before.context);

    chart.socket.connect("current");
    const emitted = chart.emitted.length;
    chart.socket.report({ type: "socket.disconnected", generation: stale, reason: "io server disconnect" });
    chart.socket.report({ type: "socket.message", generation: stale, event: "old", args: [] });
    chart.socket.report({ type: "socket.heartbeatAck", generation: stale, seq: 1 });
    expect(chart.state()).toBe("connected");
    expect(chart.context().socketId).toBe("current");
    expect(chart.emitted.length).toBe(emitted);
    expect(chart.actor.getSnapshot().value).toMatchObject({ connected: { heartbeat: "beating" } });
  });

  it("a socket event after disconnect() changes nothing", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.actor.send({ type: "disconnect" });
    chart.socket.connect();
    chart.socket.fail();
    expect(chart.state()).toBe("idle");
    expect(chart.emitted).toEqual([]);
  });
});
