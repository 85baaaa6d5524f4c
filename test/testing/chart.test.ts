import { describe, expect, it } from "vitest";
import { createActor, SimulatedClock } from "xstate";
import { connectionMachine } from "../../src/machine/connectionMachine.js";
import { createFakeSocket, startChart, TestClock } from "../../src/testing/index.js";

describe("TestClock", () => {
  it("is a SimulatedClock whose runFor fires each timer at its own due time, the timers it starts too", () => {
    const clock = new TestClock();
    expect(clock).toBeInstanceOf(SimulatedClock);
    const fired: [string, number][] = [];
    const every = (name: string, ms: number) => {
      clock.setTimeout(() => {
        fired.push([name, clock.now()]);
        every(name, ms);
      }, ms);
    };
    every("a", 300);
    clock.setTimeout(() => fired.push(["once", clock.now()]), 500);
    const cancelled = clock.setTimeout(() => fired.push(["cancelled", clock.now()]), 100);
    clock.clearTimeout(cancelled);
    expect(clock.nextTimerAt()).toBe(300);
    clock.runFor(1000);
    expect(fired).toEqual([
      ["a", 300],
      ["once", 500],
      ["a", 600],
      ["a", 900],
    ]);
    expect(clock.now()).toBe(1000);
    expect(clock.nextTimerAt()).toBe(1200);
  });

  it("increment jumps and fires what is due at the end, late (a machine that slept)", () => {
    const clock = new TestClock();
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 300);
    clock.setTimeout(() => fired.push(clock.now()), 700);
    clock.increment(1000);
    expect(fired).toEqual([1000, 1000]);
    expect(clock.nextTimerAt()).toBeNull();
  });

  it("refuses a negative run, and a timer re-arming with no delay cannot hang it", () => {
    const clock = new TestClock();
    expect(() => clock.runFor(-1)).toThrow(TypeError);
    const spin = () => clock.setTimeout(spin, 0);
    spin();
    expect(() => clock.runFor(10)).toThrow(/keeps re-arming/);
  });
});

describe("startChart", () => {
  it("runs the production chart with a fake socket (the doc's example)", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 3 } });
    chart.actor.send({ type: "connect" });
    chart.socket.fail("server busy", { retryAfter: 5000, data: { retryAfter: 5000 } });
    expect(chart.state()).toBe("backingOff");
    expect(chart.status().lastError).toEqual({ message: "server busy", data: { retryAfter: 5000 } });
    chart.runFor(chart.status().nextRetryDelay ?? 0);
    expect(chart.socket.opens()).toBe(2);
    chart.socket.connect({ recovered: false });
    expect(chart.emittedOf("connection:reconnected")).toEqual([{ type: "connection:reconnected", attempts: 1, recovered: false }]);
    expect(chart.socket.commands.filter((command) => command.type === "heartbeat")).toHaveLength(1);
    chart.socket.connect({ socketId: "ignored" });
    chart.socket.drop("transport close");
    expect(chart.emittedOf("connection:disconnected")).toEqual([{ type: "connection:disconnected", reason: "transport close" }]);
  });

  it("the fake socket reports recovered, messages and acks to the chart", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.connect({ socketId: "s-1", recovered: true });
    expect(chart.status()).toMatchObject({ state: "connected", socketId: "s-1", recovered: true });
    chart.socket.message("news", 1);
    chart.socket.ackHeartbeat();
    expect(chart.emittedOf("message")).toEqual([{ type: "message", event: "news", args: [1] }]);
    expect(chart.status().latency).toBe(0);
    chart.actor.send({ type: "send", event: "lookup", args: [], ackId: 9, timeout: 1000 });
    chart.socket.ack(9, "ok");
    expect(chart.emittedOf("request:settled")).toEqual([{ type: "request:settled", ackId: 9, response: ["ok"] }]);
  });

  it("createFakeSocket serves a machine started by the app itself", () => {
    const socket = createFakeSocket();
    expect(() => socket.connect()).toThrow(/never opened a socket/);
    expect(() => socket.report({ type: "socket.started" })).toThrow(/not running/);
    const actor = createActor(connectionMachine.provide({ actors: { socket: socket.logic } }), { input: {} }).start();
    actor.send({ type: "connect" });
    expect(socket.lastOpen()).toEqual(expect.objectContaining({ type: "open", generation: 1 }));
    socket.fail("Unauthorized", { authRejected: true });
    expect(actor.getSnapshot().value).toBe("authRequired");
    actor.stop();
  });
});
