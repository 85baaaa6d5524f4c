import { describe, expect, it } from "vitest";
import type { ConnectionMachineInput, SocketCommand } from "../../src/index.js";
import { EXPIRY_BATCH, queuedMessages } from "../../src/machine/queue.js";
import { runFor, startChart } from "../support/fakeSocket.js";

type Chart = ReturnType<typeof startChart>;

/** The chart's queue, oldest first. */
const queued = (chart: Chart) => queuedMessages(chart.context().queue);

const HOUR = 3_600_000;

const send = (chart: Chart, event: string, args: unknown[] = [], extra: { ttl?: number; volatile?: boolean; ackId?: number; timeout?: number } = {}) =>
  chart.actor.send({ type: "send", event, args, ...extra });

const emits = (chart: Chart) =>
  chart.socket.commands.filter((command): command is Extract<SocketCommand, { type: "emit" }> => command.type === "emit");

function startConnected(input: ConnectionMachineInput = {}) {
  const chart = startChart(input);
  chart.actor.send({ type: "connect" });
  chart.socket.connect();
  return chart;
}

describe("sending while connected", () => {
  it("emits at once, nothing queued", () => {
    const chart = startConnected();
    send(chart, "chat", ["hi", 1]);
    expect(emits(chart)).toEqual([
      { type: "emit", event: "chat", args: ["hi", 1], ackId: undefined, ttl: undefined, volatile: undefined },
    ]);
    expect(queued(chart)).toEqual([]);
  });

  it("a volatile send is emitted too", () => {
    const chart = startConnected();
    send(chart, "cursor", [3], { volatile: true });
    expect(emits(chart)).toEqual([{ type: "emit", event: "cursor", args: [3], ackId: undefined, ttl: undefined, volatile: true }]);
    expect(chart.emittedOf("message:dropped")).toEqual([]);
  });
});

describe("an emit the socket actor hands back (its socket was gone)", () => {
  it("is queued again with its own ttl, and flushed on the next connection", () => {
    const chart = startConnected({ config: { queueTtl: 10_000 } });
    chart.socket.report({ type: "socket.undelivered", event: "note", args: [1], ttl: 2_000 });
    expect(queued(chart)).toEqual([expect.objectContaining({ event: "note", args: [1], expiresAt: chart.clock.now() + 2_000 })]);
    chart.socket.drop();
    runFor(chart.clock, 2_000);
    expect(chart.emittedOf("message:dropped")).toEqual([{ type: "message:dropped", event: "note", reason: "expired", args: [1] }]);
  });

  it("a volatile one is dropped, not queued", () => {
    const chart = startConnected();
    chart.socket.report({ type: "socket.undelivered", event: "cursor", args: [3], volatile: true });
    expect(queued(chart)).toEqual([]);
    expect(chart.emittedOf("message:dropped")).toEqual([{ type: "message:dropped", event: "cursor", reason: "volatile", args: [3] }]);
  });
});

describe("delivery evidence", () => {
  it("a heartbeat timeout on a server that never acked stops the actor's delivery tracking", () => {
    const chart = startConnected({ config: { heartbeatTimeout: 1_000 } });
    expect(chart.socket.commands.some((command) => command.type === "stopDeliveryTracking")).toBe(false);
    chart.advance(1_000);
    expect(chart.socket.commands.filter((command) => command.type === "stopDeliveryTracking")).toHaveLength(1);
  });

  it("a lost socket's unconfirmed sends are announced as message:unconfirmed, not as dropped", () => {
    const chart = startConnected();
    chart.socket.report({
      type: "socket.unconfirmed",
      generation: chart.socket.lastOpen().generation,
      messages: [{ event: "note", args: ["a"] }],
    });
    expect(chart.emittedOf("message:unconfirmed")).toEqual([
      { type: "message:unconfirmed", event: "note", args: ["a"], reason: expect.stringContaining("heartbeat") },
    ]);
    expect(chart.emittedOf("message:dropped")).toEqual([]);
  });
});

describe("the queue while not connected", () => {
  it("holds sends as data, in order, with their expiry", () => {
    const chart = startChart();
    chart.advance(100);
    send(chart, "a", [1]);
    chart.advance(50);
    send(chart, "b", [{ x: 2 }]);
    expect(queued(chart)).toEqual([
      { id: 1, event: "a", args: [1], queuedAt: 100, expiresAt: 30_100 },
      { id: 2, event: "b", args: [{ x: 2 }], queuedAt: 150, expiresAt: 30_150 },
    ]);
    expect(emits(chart)).toEqual([]);
    expect(chart.emitted).toEqual([]);
  });

  it("queues in every state but connected", () => {
    const chart = startChart({ config: { maxReconnectAttempts: 2 } });
    send(chart, "in-idle");
    chart.actor.send({ type: "connect" });
    send(chart, "in-connecting");
    chart.socket.fail();
    send(chart, "in-backingOff");
    runFor(chart.clock, chart.context().nextRetryDelay ?? 0);
    chart.socket.fail();
    expect(chart.state()).toBe("exhausted");
    send(chart, "in-exhausted");
    expect(queued(chart).map((message) => message.event)).toEqual([
      "in-idle",
      "in-connecting",
      "in-backingOff",
      "in-exhausted",
    ]);
  });

  it("overflow drops the oldest and announces it at once", () => {
    const chart = startChart({ config: { maxQueueSize: 2 } });
    send(chart, "a", [1]);
    send(chart, "b", [2]);
    expect(chart.emitted).toEqual([]);
    send(chart, "c", [3]);
    expect(queued(chart).map((message) => message.event)).toEqual(["b", "c"]);
    expect(chart.emitted).toEqual([{ type: "message:dropped", event: "a", reason: "overflow", args: [1] }]);
    send(chart, "d", [4]);
    expect(queued(chart).map((message) => message.event)).toEqual(["c", "d"]);
    expect(chart.emittedOf("message:dropped").map((dropped) => dropped.event)).toEqual(["a", "b"]);
  });

  it("maxQueueSize 0 drops every send as overflow", () => {
    const chart = startChart({ config: { maxQueueSize: 0 } });
    send(chart, "a", [1]);
    expect(queued(chart)).toEqual([]);
    expect(chart.emitted).toEqual([{ type: "message:dropped", event: "a", reason: "overflow", args: [1] }]);
  });

  it("each message expires exactly at its queueTtl, with no other event", () => {
    const chart = startChart({ config: { queueTtl: 30_000 } });
    send(chart, "a", [1]);
    chart.advance(10_000);
    send(chart, "b", [2]);
    runFor(chart.clock, 19_999);
    expect(queued(chart)).toHaveLength(2);
    expect(chart.emitted).toEqual([]);
    runFor(chart.clock, 1);
    expect(chart.emitted).toEqual([{ type: "message:dropped", event: "a", reason: "expired", args: [1] }]);
    expect(queued(chart).map((message) => message.event)).toEqual(["b"]);
    runFor(chart.clock, 9_999);
    expect(chart.emitted).toHaveLength(1);
    runFor(chart.clock, 1);
    expect(chart.emitted.at(-1)).toEqual({ type: "message:dropped", event: "b", reason: "expired", args: [2] });
    expect(queued(chart)).toEqual([]);
    runFor(chart.clock, HOUR);
    expect(chart.emitted).toHaveLength(2);
  });

  it(`more than ${EXPIRY_BATCH} expiring at once: all announced in queue order, at most ${EXPIRY_BATCH} per step`, () => {
    const count = 2 * EXPIRY_BATCH + 123;
    const chart = startChart({ config: { maxQueueSize: count, queueTtl: 1000 } });
    for (let i = 0; i < count; i++) send(chart, "note", [i]);
    // XState runs a step's effects (each announcement is one) off an array that costs quadratic
    // time when it grows large: the chart announces in batches, one step each.
    let announcedBefore = 0;
    let largestStep = 0;
    chart.actor.subscribe(() => {
      largestStep = Math.max(largestStep, chart.emitted.length - announcedBefore);
      announcedBefore = chart.emitted.length;
    });
    runFor(chart.clock, 999);
    expect(chart.emitted).toEqual([]);
    runFor(chart.clock, 1);
    expect(chart.emittedOf("message:dropped").map((dropped) => [dropped.reason, dropped.args[0]])).toEqual(
      Array.from({ length: count }, (_, i) => ["expired", i]),
    );
    expect(largestStep).toBe(EXPIRY_BATCH);
    expect(queued(chart)).toEqual([]);
    expect(chart.clock.now()).toBe(1000);
  });

  it("a per-message ttl shortens the wait (never beyond queueTtl)", () => {
    const chart = startChart({ config: { queueTtl: 30_000 } });
    send(chart, "long", [], {});
    send(chart, "short", [], { ttl: 1000 });
    send(chart, "capped", [], { ttl: 60_000 });
    expect(queued(chart).map((message) => message.expiresAt)).toEqual([30_000, 1000, 30_000]);
    runFor(chart.clock, 999);
    expect(chart.emitted).toEqual([]);
    runFor(chart.clock, 1);
    expect(chart.emitted).toEqual([{ type: "message:dropped", event: "short", reason: "expired", args: [] }]);
    runFor(chart.clock, 29_000);
    expect(chart.emittedOf("message:dropped").map((dropped) => dropped.event)).toEqual(["short", "long", "capped"]);
  });

  it("a volatile send is dropped, not queued", () => {
    const chart = startChart();
    send(chart, "cursor", [1, 2], { volatile: true });
    expect(queued(chart)).toEqual([]);
    expect(chart.emitted).toEqual([{ type: "message:dropped", event: "cursor", reason: "volatile", args: [1, 2] }]);
  });

  it("is flushed in order on connect, before the first heartbeat, and its expiry timer goes", () => {
    const chart = startChart();
    send(chart, "a", [1]);
    send(chart, "b", [2]);
    chart.actor.send({ type: "connect" });
    send(chart, "c", [3]);
    chart.advance(5000);
    chart.socket.connect();
    const afterOpen = chart.socket.commands.slice(chart.socket.commands.findIndex((command) => command.type === "open") + 1);
    expect(afterOpen).toEqual([
      { type: "emit", event: "a", args: [1], ackId: undefined },
      { type: "emit", event: "b", args: [2], ackId: undefined },
      { type: "emit", event: "c", args: [3], ackId: undefined },
      { type: "heartbeat", generation: 1, seq: 1 },
    ]);
    expect(queued(chart)).toEqual([]);
    runFor(chart.clock, HOUR);
    expect(chart.emittedOf("message:dropped")).toEqual([]);
    expect(emits(chart)).toHaveLength(3);
  });

  it("survives failed attempts; what expired meanwhile is announced and not sent", () => {
    const chart = startChart({ config: { queueTtl: 2000 } });
    chart.actor.send({ type: "connect" });
    send(chart, "old");
    chart.socket.fail();
    runFor(chart.clock, 750);
    chart.socket.fail();
    expect(chart.context().nextRetryAt).toBe(2000);
    runFor(chart.clock, 250);
    send(chart, "new");
    runFor(chart.clock, 1000);
    expect(chart.state()).toBe("connecting");
    expect(chart.emittedOf("message:dropped")).toEqual([{ type: "message:dropped", event: "old", reason: "expired", args: [] }]);
    chart.socket.connect();
    expect(emits(chart).map((command) => command.event)).toEqual(["new"]);
  });

  it("disconnect() keeps the queue for a later connect()", () => {
    const chart = startChart();
    send(chart, "kept");
    chart.actor.send({ type: "connect" });
    chart.actor.send({ type: "disconnect" });
    expect(queued(chart)).toHaveLength(1);
    chart.actor.send({ type: "connect" });
    chart.socket.connect();
    expect(emits(chart).map((command) => command.event)).toEqual(["kept"]);
  });
});

describe("requests (sends with an ack)", () => {
  it("connected: emitted with its ackId; the ack settles it and cancels its timeout", () => {
    const chart = startConnected();
    send(chart, "get", [1], { ackId: 7, timeout: 1000 });
    expect(emits(chart)).toEqual([{ type: "emit", event: "get", args: [1], ackId: 7 }]);
    runFor(chart.clock, 500);
    chart.socket.ack(7, "result", 2);
    expect(chart.emittedOf("request:settled")).toEqual([{ type: "request:settled", ackId: 7, response: ["result", 2] }]);
    runFor(chart.clock, HOUR);
    expect(chart.emittedOf("request:settled")).toHaveLength(1);
  });

  it("connected: no ack within its timeout settles it with an error, exactly at the timeout", () => {
    const chart = startConnected();
    send(chart, "get", [], { ackId: 1, timeout: 1000 });
    runFor(chart.clock, 999);
    expect(chart.emittedOf("request:settled")).toEqual([]);
    runFor(chart.clock, 1);
    expect(chart.emittedOf("request:settled")).toEqual([
      { type: "request:settled", ackId: 1, error: { message: expect.stringContaining("timed out") } },
    ]);
  });

  it("queued: timing out removes it from the queue and announces the drop", () => {
    const chart = startChart();
    send(chart, "get", ["q"], { ackId: 3, timeout: 2000 });
    send(chart, "plain");
    runFor(chart.clock, 2000);
    expect(queued(chart).map((message) => message.event)).toEqual(["plain"]);
    expect(chart.emitted).toEqual([
      { type: "message:dropped", event: "get", reason: "timeout", args: ["q"] },
      { type: "request:settled", ackId: 3, error: { message: expect.stringContaining("timed out") } },
    ]);
  });

  it("queued, then flushed on connect: the ack settles it", () => {
    const chart = startChart();
    send(chart, "get", [], { ackId: 4, timeout: 10_000 });
    expect(queued(chart)[0]).toMatchObject({ event: "get", ackId: 4 });
    chart.actor.send({ type: "connect" });
    runFor(chart.clock, 3000);
    chart.socket.connect();
    expect(emits(chart)).toEqual([{ type: "emit", event: "get", args: [], ackId: 4 }]);
    chart.socket.ack(4, "ok");
    runFor(chart.clock, HOUR);
    expect(chart.emittedOf("request:settled")).toEqual([{ type: "request:settled", ackId: 4, response: ["ok"] }]);
  });

  it("queued, then dropped by overflow or expiry: settled with an error", () => {
    const chart = startChart({ config: { maxQueueSize: 1, queueTtl: 1000 } });
    send(chart, "first", [], { ackId: 1, timeout: 10_000 });
    send(chart, "second", [], { ackId: 2, timeout: 10_000 });
    runFor(chart.clock, 1000);
    expect(chart.emitted).toEqual([
      { type: "message:dropped", event: "first", reason: "overflow", args: [] },
      { type: "request:settled", ackId: 1, error: { message: expect.stringContaining("queue was full") } },
      { type: "message:dropped", event: "second", reason: "expired", args: [] },
      { type: "request:settled", ackId: 2, error: { message: expect.stringContaining("queueTtl") } },
    ]);
  });
});

describe("dispose", () => {
  it("drops what is queued, in order, with reason 'disposed', and goes idle", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    send(chart, "a", [1]);
    send(chart, "b", [2]);
    chart.actor.send({ type: "dispose" });
    expect(chart.state()).toBe("idle");
    expect(queued(chart)).toEqual([]);
    expect(chart.emitted).toEqual([
      { type: "message:dropped", event: "a", reason: "disposed", args: [1] },
      { type: "message:dropped", event: "b", reason: "disposed", args: [2] },
    ]);
    expect(chart.socket.commands.at(-1)).toEqual({ type: "close", graceful: true });
    runFor(chart.clock, HOUR);
    expect(chart.emitted).toHaveLength(2);
    expect(chart.socket.opens()).toBe(1);
  });

  it("while connected: disconnected { reason: 'disposed' }", () => {
    const chart = startConnected();
    chart.actor.send({ type: "dispose" });
    expect(chart.state()).toBe("idle");
    expect(chart.emitted.at(-1)).toEqual({ type: "connection:disconnected", reason: "disposed" });
  });
});
