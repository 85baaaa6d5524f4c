import { createActor, SimulatedClock } from "xstate";
import { describe, expect, it } from "vitest";
import { createConnectionMachine, type MachineEnvironment } from "../../src/machine/connectionMachine.js";
import type { CallbackName } from "../../src/machine/environment.js";
import type { ConnectionConfig, EmittedEvent, SocketCommand } from "../../src/machine/types.js";
import { createFakeSocket, runFor } from "../support/fakeSocket.js";

// Issue 11: faults that used to wedge or kill the chart. Each test failed before its fix.

const HOUR = 3_600_000;

/** The production chart on a SimulatedClock, with the environment (clocks, random) under test control. */
function chartWith(environment: (clock: SimulatedClock) => MachineEnvironment, config: Partial<ConnectionConfig> = {}) {
  const clock = new SimulatedClock();
  const socket = createFakeSocket();
  const faults: { callback: CallbackName; message: string }[] = [];
  const machine = createConnectionMachine({
    onCallbackFault: (callback, message) => faults.push({ callback, message }),
    ...environment(clock),
  }).provide({ actors: { socket: socket.logic } });
  const actor = createActor(machine, { clock, input: { config } });
  const emitted: EmittedEvent[] = [];
  actor.on("*", (event) => void emitted.push(event as EmittedEvent));
  actor.start();
  const topState = () => {
    const value = actor.getSnapshot().value;
    return typeof value === "string" ? value : Object.keys(value)[0];
  };
  const heartbeats = () => socket.commands.filter((command: SocketCommand) => command.type === "heartbeat").length;
  return { clock, socket, actor, emitted, faults, topState, heartbeats, context: () => actor.getSnapshot().context };
}

const LIVENESS: Partial<ConnectionConfig> = {
  heartbeatInterval: 25_000,
  heartbeatTimeout: 5_000,
  minHeartbeatTimeout: 1_000,
  unhealthyThreshold: 3,
};

describe("a burst of notifyResume() / notifyOffline() on a dead link", () => {
  it.each(["power.resume", "network.offline"] as const)(
    "%s every 200 ms (faster than the ack timeout) cannot hide the dead link: it drops within the documented bound",
    (type) => {
      const chart = chartWith((clock) => ({ random: () => 0.5, now: () => clock.now() }), LIVENESS);
      chart.actor.send({ type: "connect" });
      chart.socket.connect();
      chart.socket.ackHeartbeat(); // the server acks: from here on a silent loss must be found
      const deadAt = chart.clock.now();
      // The link dies: no more acks. The app (bindBrowserNetwork, a flaky OS) fires notifications.
      const bound =
        LIVENESS.heartbeatInterval! + LIVENESS.unhealthyThreshold! * LIVENESS.heartbeatTimeout! + 1_000;
      let droppedAt: number | null = null;
      for (let elapsed = 0; elapsed < 4 * bound && droppedAt === null; elapsed += 200) {
        chart.actor.send({ type });
        runFor(chart.clock, 200);
        if (chart.topState() !== "connected") droppedAt = chart.clock.now();
      }
      expect(droppedAt).not.toBeNull();
      expect(droppedAt! - deadAt).toBeLessThanOrEqual(bound);
      expect(chart.emitted.filter((event) => event.type === "connection:disconnected")).toEqual([
        { type: "connection:disconnected", reason: "heartbeat timeout" },
      ]);
    },
  );

  it("a notification while resting still probes at once; one during the probe joins it", () => {
    const chart = chartWith((clock) => ({ random: () => 0.5, now: () => clock.now() }), LIVENESS);
    chart.actor.send({ type: "connect" });
    chart.socket.connect();
    chart.socket.ackHeartbeat();
    expect(chart.heartbeats()).toBe(1);
    chart.actor.send({ type: "power.resume" });
    expect(chart.heartbeats()).toBe(2);
    chart.actor.send({ type: "power.resume" });
    chart.actor.send({ type: "network.offline" });
    expect(chart.heartbeats()).toBe(2);
    expect(chart.context().network).toBe("offline");
  });
});

describe("the wall clock steps; durations run on the monotonic clock", () => {
  /** A wall clock that a test can step (NTP, a person changing the time), beside the simulated monotonic one. */
  function steppedWall(clock: SimulatedClock) {
    const wall = { offset: 1_700_000_000_000 };
    return { wall, environment: { random: () => 0.5, now: () => clock.now() + wall.offset, monotonic: () => clock.now() } };
  }

  it.each([
    ["back an hour", -HOUR],
    ["forward an hour", HOUR],
  ])("%s: heartbeats keep their cadence and the link stays up", (_label, step) => {
    let wall!: { offset: number };
    const chart = chartWith((clock) => {
      const stepped = steppedWall(clock);
      wall = stepped.wall;
      return stepped.environment;
    }, LIVENESS);
    chart.actor.send({ type: "connect" });
    chart.socket.connect();
    chart.socket.ackHeartbeat();
    wall.offset += step;
    for (let beat = 2; beat <= 6; beat++) {
      runFor(chart.clock, LIVENESS.heartbeatInterval!);
      expect(chart.heartbeats()).toBe(beat);
      chart.socket.ackHeartbeat();
    }
    expect(chart.topState()).toBe("connected");
    expect(chart.context().consecutiveFailures).toBe(0);
  });

  it("back an hour: a queued message still expires after its queueTtl", () => {
    let wall!: { offset: number };
    const chart = chartWith(
      (clock) => {
        const stepped = steppedWall(clock);
        wall = stepped.wall;
        return stepped.environment;
      },
      { queueTtl: 30_000 },
    );
    chart.actor.send({ type: "send", event: "note", args: [1] });
    wall.offset -= HOUR;
    runFor(chart.clock, 30_000);
    expect(chart.emitted).toContainEqual({ type: "message:dropped", event: "note", reason: "expired", args: [1] });
  });

  it("nextRetryAt stays on the wall clock (shown to people), the retry itself on the monotonic one", () => {
    let wall!: { offset: number };
    const chart = chartWith((clock) => {
      const stepped = steppedWall(clock);
      wall = stepped.wall;
      return stepped.environment;
    });
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    const { nextRetryAt, nextRetryDelay } = chart.context();
    expect(nextRetryAt).toBe(chart.clock.now() + wall.offset + nextRetryDelay!);
    const opens = chart.socket.opens();
    wall.offset -= HOUR;
    runFor(chart.clock, nextRetryDelay!);
    expect(chart.socket.opens()).toBe(opens + 1);
  });
});

describe("user-supplied random and clocks that misbehave", () => {
  it.each([
    ["returns 1", () => 1],
    ["returns -3", () => -3],
    ["returns NaN", () => Number.NaN],
    ["throws", () => {
      throw new Error("entropy ran out");
    }],
  ])("random %s: the retry is still scheduled inside the strategy's bounds, reported once", (_label, random) => {
    const chart = chartWith(() => ({ random }), { baseDelay: 1_000, maxDelay: 30_000 });
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    expect(chart.topState()).toBe("backingOff");
    const delay = chart.context().nextRetryDelay!;
    expect(delay).toBeGreaterThanOrEqual(500);
    expect(delay).toBeLessThan(1_000);
    runFor(chart.clock, delay);
    chart.socket.fail();
    expect(chart.topState()).toBe("backingOff");
    expect(chart.faults.map((fault) => fault.callback)).toEqual(["random", "random"]);
  });

  it("a now() that returns NaN: the system clock stands in, no timer fires in a loop", () => {
    const chart = chartWith((clock) => ({ random: () => 0.5, now: () => Number.NaN, monotonic: () => clock.now() }), LIVENESS);
    chart.actor.send({ type: "connect" });
    chart.socket.connect();
    chart.socket.ackHeartbeat();
    for (let second = 0; second < 60; second++) {
      runFor(chart.clock, 1_000);
      if (chart.context().timerDue === null) chart.socket.ackHeartbeat();
    }
    // Two more heartbeats in a minute (25 s cadence), not hundreds.
    expect(chart.heartbeats()).toBe(3);
    expect(chart.topState()).toBe("connected");
    expect(chart.faults.length).toBeGreaterThan(0);
    expect(new Set(chart.faults.map((fault) => fault.callback))).toEqual(new Set(["now"]));
  });

  it("a monotonic clock that throws: the system's monotonic clock stands in", () => {
    const chart = chartWith(() => ({
      random: () => 0.5,
      monotonic: () => {
        throw new Error("clock unplugged");
      },
    }));
    chart.actor.send({ type: "send", event: "note", args: [1] });
    expect(chart.context().nextMessageId).toBeGreaterThan(1);
    expect(chart.faults[0]).toMatchObject({ callback: "clock", message: expect.stringContaining("clock unplugged") });
    chart.actor.send({ type: "dispose" });
  });
});

describe("socket reports the chart must survive", () => {
  it("an unencodable queued send: dropped and announced as unencodable, a request rejected, the chart goes on", () => {
    const chart = chartWith((clock) => ({ random: () => 0.5, now: () => clock.now() }));
    chart.actor.send({ type: "send", event: "bad", args: [{ toJSON: "x" }], ackId: 7, timeout: 5_000 });
    chart.actor.send({ type: "connect" });
    chart.socket.connect();
    chart.socket.report({ type: "socket.unencodable", event: "bad", args: [{ toJSON: "x" }], ackId: 7, message: "boom" });
    expect(chart.emitted).toContainEqual({ type: "message:dropped", event: "bad", reason: "unencodable", args: [{ toJSON: "x" }] });
    expect(chart.emitted).toContainEqual({
      type: "request:settled",
      ackId: 7,
      error: { message: '"bad" was dropped: Socket.IO could not encode it' },
    });
    // Its timeout was cancelled: no second settlement later.
    runFor(chart.clock, 10_000);
    expect(chart.emitted.filter((event) => event.type === "request:settled")).toHaveLength(1);
    expect(chart.topState()).toBe("connected");
  });

  it("callback.failed becomes the public callback:failed event", () => {
    const chart = chartWith(() => ({ random: () => 0.5 }));
    chart.actor.send({ type: "callback.failed", callback: "inspect", message: "the inspect observer threw: x" });
    expect(chart.emitted).toEqual([{ type: "callback:failed", callback: "inspect", message: "the inspect observer threw: x" }]);
  });
});

describe("forceReconnect while the network is reported offline", () => {
  it("tries once (a person asked) and, failing, waits for the network without counting", () => {
    const chart = chartWith((clock) => ({ random: () => 0.5, now: () => clock.now() }));
    chart.actor.send({ type: "network.offline" });
    chart.actor.send({ type: "connect" });
    expect(chart.socket.opens()).toBe(0);
    chart.actor.send({ type: "forceReconnect", id: 1 });
    expect(chart.socket.opens()).toBe(1);
    expect(chart.context()).toMatchObject({ forceId: 1, forcedAttempt: false });
    chart.socket.fail();
    expect(chart.actor.getSnapshot().value).toEqual({ backingOff: "waitingForNetwork" });
    expect(chart.context().attempt).toBe(0);
    runFor(chart.clock, HOUR);
    expect(chart.socket.opens()).toBe(1);
  });
});

describe("the socket actor started again under the chart (issue 12: restart-safe)", () => {
  const started = () => chartWith((clock) => ({ random: () => 0.5, now: () => clock.now() }));

  it("idle, backing off: nothing to do (no socket is believed in)", () => {
    const chart = started();
    chart.socket.report({ type: "socket.started" });
    expect(chart.topState()).toBe("idle");
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    const opens = chart.socket.opens();
    chart.socket.report({ type: "socket.started" });
    expect(chart.topState()).toBe("backingOff");
    expect(chart.socket.opens()).toBe(opens);
  });

  it("connecting: a new socket at once (the one it waited for is gone)", () => {
    const chart = started();
    chart.actor.send({ type: "connect" });
    const generation = chart.socket.lastOpen().generation;
    chart.socket.report({ type: "socket.started" });
    expect(chart.socket.lastOpen().generation).toBe(generation + 1);
    expect(chart.context().attempt).toBe(0);
  });

  it("connected: says so (connection:disconnected 'socket actor restarted') and connects again", () => {
    const chart = started();
    chart.actor.send({ type: "connect" });
    chart.socket.connect();
    const generation = chart.socket.lastOpen().generation;
    chart.socket.report({ type: "socket.started" });
    expect(chart.topState()).toBe("connecting");
    expect(chart.socket.lastOpen().generation).toBe(generation + 1);
    expect(chart.emitted.at(-1)).toEqual({ type: "connection:disconnected", reason: "socket actor restarted" });
    expect(chart.context().lastError).toEqual({ message: "connection lost: socket actor restarted" });
  });
});

describe("a backoff policy of the app's own (retryDelay)", () => {
  it("decides the delay from the backoff step, the last error and the context; a server's retryAfter stays a floor", () => {
    const calls: { step: number; error: string | undefined; retries: number }[] = [];
    const chart = chartWith(() => ({
      random: () => 0.5,
      retryDelay: (step, error, context) => {
        calls.push({ step, error: error?.message, retries: context.retries });
        return 100 * step;
      },
    }));
    chart.actor.send({ type: "connect" });
    chart.socket.fail("refused");
    expect(chart.context().nextRetryDelay).toBe(100);
    runFor(chart.clock, 100);
    chart.socket.fail("still refused", { retryAfter: 5_000 });
    expect(chart.context().nextRetryDelay).toBeGreaterThanOrEqual(5_000);
    expect(calls).toEqual([
      { step: 1, error: "refused", retries: 0 },
      { step: 2, error: "still refused", retries: 1 },
    ]);
    expect(chart.faults).toEqual([]);
  });

  it.each([
    ["throws", () => {
      throw new Error("policy bug");
    }],
    ["returns NaN", () => Number.NaN],
    ["returns -5", () => -5],
  ])("that %s: the named strategy decides that retry, reported", (_label, retryDelay) => {
    const chart = chartWith(() => ({ random: () => 0.5, retryDelay }), { baseDelay: 1_000 });
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    expect(chart.topState()).toBe("backingOff");
    expect(chart.context().nextRetryDelay).toBe(750); // "full" at random 0.5: 500 + 0.5 × 500
    expect(chart.faults.map((fault) => fault.callback)).toEqual(["retryDelay"]);
  });
});

describe("awaitSessionRecovery: the first retry after a heartbeat-found loss waits for the server to let go", () => {
  const config = { ...LIVENESS, unhealthyThreshold: 1, baseDelay: 100, maxDelay: 100 };

  it.each<[boolean, number | null, string]>([
    [true, 45_000, "holds it until the last ack + the server's ping window + 1 s"],
    [false, 45_000, "does not hold it (the default)"],
    [true, null, "does not hold it when the server has no recovery (no ping window reported)"],
  ])("awaitSessionRecovery %s, window %s: %s", (awaitSessionRecovery, recoverableWithin) => {
    const chart = chartWith((clock) => ({ random: () => 0.5, now: () => clock.now() }), { ...config, awaitSessionRecovery });
    chart.actor.send({ type: "connect" });
    chart.socket.report({
      type: "socket.connected",
      generation: chart.socket.lastOpen().generation,
      socketId: "s1",
      recovered: false,
      recoverableWithin,
    });
    chart.socket.ackHeartbeat();
    const ackedAt = chart.clock.now();
    for (let step = 0; step < 600 && chart.topState() === "connected"; step++) runFor(chart.clock, 100);
    expect(chart.topState()).toBe("backingOff");
    const retryAt = chart.clock.now() + chart.context().nextRetryDelay!;
    if (awaitSessionRecovery && recoverableWithin !== null) {
      expect(retryAt).toBe(ackedAt + recoverableWithin + 1_000);
    } else {
      expect(chart.context().nextRetryDelay).toBeLessThan(100);
    }
  });
});
