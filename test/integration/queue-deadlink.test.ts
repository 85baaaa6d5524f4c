import { afterEach, describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import { TcpProxy } from "../../lab/tcpProxy.js";
import { io } from "socket.io-client";
import { createWebSocketService } from "../../src/services/WebSocketService.js";
import { createCleanup, eventually, recordEvents, Tally, untilContext, waitForEvent, waitForState } from "../support/events.js";

/**
 * Sends around a link that dies (silently, through a real TCP proxy that stops forwarding,
 * or with a crash): nothing is lost without an announcement, and nothing arrives twice.
 */

const cleanup = createCleanup();
afterEach(() => cleanup.run());

async function rig() {
  const received = new Tally<string>();
  const server = cleanup.add(
    await LabServer.start({
      onConnection: (socket) => {
        socket.on("note", (text: string) => received.push(text));
      },
    }),
    (s) => s.close(),
  );
  const proxy = cleanup.add(await TcpProxy.start(server.port), (p) => p.close());
  const svc = cleanup.add(
    createWebSocketService({
      url: proxy.url,
      config: {
        heartbeatInterval: 300,
        heartbeatTimeout: 300,
        minHeartbeatTimeout: 100,
        unhealthyThreshold: 3,
        baseDelay: 50,
        maxDelay: 100,
        connectionTimeout: 500,
      },
    }),
    (s) => s.dispose(),
  );
  return { server, proxy, svc, received };
}

type Service = ReturnType<typeof createWebSocketService>;
type Context = ReturnType<Service["actor"]["getSnapshot"]>["context"];

const isSuspect = (context: Context) => context.consecutiveFailures > 0;
const hasAckedHeartbeat = (context: Context) => context.heartbeatsAcked && context.latency !== null;

describe("sends on a link that dies silently", () => {
  it("announces as unconfirmed what was emitted into the dead link, holds what came after the first miss, delivers that once", async () => {
    const { proxy, svc, received } = await rig();
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, hasAckedHeartbeat);

    const drops = recordEvents(svc, ["message:dropped", "message:unconfirmed"]);
    proxy.blackhole();
    svc.send("note", "into-the-void");
    await untilContext(svc, isSuspect);
    svc.send("note", "held");
    expect(svc.getStatus().queuedMessages).toBe(1);

    await waitForEvent(svc, "connection:health_degraded");
    expect(drops.of("message:unconfirmed")).toEqual([
      { event: "note", args: ["into-the-void"], reason: expect.stringMatching(/heartbeat/) },
    ]);
    expect(drops.of("message:dropped")).toEqual([]);

    proxy.restore();
    await waitForState(svc, "connected");
    svc.send("note", "after");
    await received.waitFor(2);
    expect(received.values).toEqual(["held", "after"]);
    expect(svc.getStatus().queuedMessages).toBe(0);
  });

  it("a heartbeat acked after a send confirms it: a later drop announces nothing", async () => {
    const { server, svc, received } = await rig();
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, hasAckedHeartbeat);
    const seqAtSend = svc.actor.getSnapshot().context.heartbeatSeq;
    svc.send("note", "confirmed");
    await received.waitFor(1);
    // The next heartbeat goes out after the send; its ack proves the send arrived.
    await untilContext(svc, (context) => context.heartbeatSeq > seqAtSend && context.pendingHeartbeats.length === 0);
    const drops = recordEvents(svc, ["message:dropped", "message:unconfirmed"]);
    const lost = waitForEvent(svc, "connection:disconnected");
    await server.kill();
    await lost;
    expect(drops.events).toEqual([]);
    expect(received.values).toEqual(["confirmed"]);
  });

  it("a send no heartbeat has confirmed yet is announced as unconfirmed when the server crashes under it", async () => {
    const { server, svc, received } = await rig();
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, hasAckedHeartbeat);
    const drops = recordEvents(svc, ["message:dropped", "message:unconfirmed"]);
    svc.send("note", "in-flight");
    await received.waitFor(1);
    const lost = waitForEvent(svc, "connection:disconnected");
    await server.kill();
    await lost;
    expect(drops.of("message:unconfirmed")).toEqual([
      { event: "note", args: ["in-flight"], reason: expect.stringMatching(/heartbeat/) },
    ]);
  });
});

describe("requests whose socket is lost", () => {
  it("reject at once when the socket that carried them is lost; a queued one waits for the next connection", async () => {
    const { server, svc } = await rig();
    // The server swallows "slow" without acking, so the request waits for its ack.
    server.io.on("connection", (socket) => socket.on("slow", () => {}));
    server.io.on("connection", (socket) => socket.on("fast", (ack: (reply: string) => void) => ack("ok")));
    svc.connect();
    await waitForState(svc, "connected");
    const started = Date.now();
    const inFlight = svc.requestWith({ timeout: 10_000 }, "slow");
    const failed = expect(inFlight).rejects.toThrow(/connection was lost before the ack arrived \(transport (close|error)\)/);
    await server.kill();
    await failed;
    expect(Date.now() - started).toBeLessThan(5_000);

    const queued = svc.requestWith({ timeout: 10_000 }, "fast");
    expect(svc.getStatus().queuedMessages).toBe(1);
    await server.restart();
    await expect(queued).resolves.toBe("ok");
  });
});

/** A socket factory that hands each socket's Engine.IO pings (server -> client) to `pings`. */
function countingPings(pings: Tally) {
  return (url: string, options: Parameters<typeof io>[1]) => {
    const socket = io(url, options);
    socket.io.on("ping", () => pings.push(undefined));
    return socket;
  };
}

/** The chart has given up waiting for the first ack (it is resting until the next heartbeat). */
const restingAfterFirstBeat = (context: Context) => context.heartbeatSeq === 1 && context.timerDue !== null;

describe("a link that dies before the first heartbeat ack", () => {
  it("looks like a server that never acks, yet its sends are announced when Engine.IO's ping timeout drops it", async () => {
    const received = new Tally<string>();
    const server = cleanup.add(
      await LabServer.start({
        pingInterval: 400,
        pingTimeout: 300,
        onConnection: (socket) => socket.on("note", (text: string) => received.push(text)),
      }),
      (s) => s.close(),
    );
    const proxy = cleanup.add(await TcpProxy.start(server.port), (p) => p.close());
    const svc = cleanup.add(
      createWebSocketService({
        url: proxy.url,
        config: { heartbeatInterval: 5_000, heartbeatTimeout: 200, baseDelay: 50, maxDelay: 100, connectionTimeout: 500 },
      }),
      (s) => s.dispose(),
    );
    const announced = recordEvents(svc, ["message:unconfirmed", "message:dropped", "connection:disconnected"]);
    // The first heartbeat goes out as the connection comes up: the blackhole takes it, and its ack.
    svc.on("connection:connected", () => proxy.blackhole());
    svc.connect();
    await waitForState(svc, "connected");
    svc.send("note", "after-the-handshake");
    // No ack ever on this connection: taken for a server that does not ack, not dropped for it...
    await untilContext(svc, restingAfterFirstBeat);
    expect(svc.getStatus().state).toBe("connected");
    // ...but no ping gets through either, so the send stays remembered until Engine.IO gives up.
    await waitForEvent(svc, "message:unconfirmed", { timeout: 5_000 });
    expect(announced.of("connection:disconnected")).toEqual([{ reason: "ping timeout" }]);
    expect(announced.of("message:unconfirmed")).toEqual([
      { event: "note", args: ["after-the-handshake"], reason: expect.any(String) },
    ]);
    expect(announced.of("message:dropped")).toEqual([]);
    expect(received.count).toBe(0);
  });

  it("a server that is alive but does not ack: once two heartbeats in a row went unanswered with pings between, nothing more is remembered", async () => {
    const server = cleanup.add(await LabServer.start({ ackHeartbeats: false, pingInterval: 150, pingTimeout: 5_000 }), (s) =>
      s.close(),
    );
    const pings = new Tally();
    const svc = cleanup.add(
      createWebSocketService({
        url: server.url,
        socketFactory: countingPings(pings),
        config: { heartbeatInterval: 400, heartbeatTimeout: 100, baseDelay: 50, maxDelay: 100 },
      }),
      (s) => s.dispose(),
    );
    const announced = recordEvents(svc, ["message:unconfirmed", "connection:disconnected"]);
    svc.connect();
    await waitForState(svc, "connected");
    // Beat 1 unanswered, pings, beat 2 unanswered: that server does not ack.
    await untilContext(svc, (context) => context.heartbeatSeq === 2 && context.timerDue !== null);
    expect(pings.count).toBeGreaterThan(0);
    svc.send("note", "to-a-live-server");
    await server.kill();
    await waitForEvent(svc, "connection:disconnected");
    expect(announced.of("connection:disconnected")).toEqual([{ reason: "transport close" }]);
    expect(announced.of("message:unconfirmed")).toEqual([]);
  });

  it("a server whose first ack is slower than heartbeatTimeout, with a ping before it: sends on a link that then dies are all announced", async () => {
    // Issue 11.7: one slow ack is no proof that a server never acks. Before the fix, the
    // ping after the missed ack stopped delivery tracking, and all 50 sends vanished unannounced.
    const received = new Tally<string>();
    const server = cleanup.add(
      await LabServer.start({
        ackHeartbeats: false,
        pingInterval: 100,
        pingTimeout: 400,
        onConnection: (socket) => {
          socket.on("note", (text: string) => received.push(text));
          // Acks every heartbeat, 600 ms late (heartbeatTimeout is 150).
          socket.on("heartbeat", (ack: () => void) => void setTimeout(ack, 600));
        },
      }),
      (s) => s.close(),
    );
    const proxy = cleanup.add(await TcpProxy.start(server.port), (p) => p.close());
    const pings = new Tally();
    const svc = cleanup.add(
      createWebSocketService({
        url: proxy.url,
        socketFactory: countingPings(pings),
        config: { heartbeatInterval: 5_000, heartbeatTimeout: 150, minHeartbeatTimeout: 150, baseDelay: 50, maxDelay: 100 },
      }),
      (s) => s.dispose(),
    );
    const announced = recordEvents(svc, ["message:unconfirmed", "connection:disconnected"]);
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, restingAfterFirstBeat); // the first ack is overdue
    await pings.waitFor(pings.count + 1); // and the server showed it is alive
    const sends = Array.from({ length: 50 }, (_, index) => `slow-${index}`);
    proxy.blackhole(); // the link dies under the sends, before the late ack can come back
    for (const text of sends) svc.send("note", text);
    await waitForEvent(svc, "connection:disconnected", { timeout: 5_000 });
    await eventually(() => expect(announced.of("message:unconfirmed")).toHaveLength(50));
    expect(announced.of("message:unconfirmed").map((sent) => sent.args[0])).toEqual(sends);
    expect(received.count).toBe(0);
  });

  it("the same server, lost before any ping followed the missed ack: the send is announced", async () => {
    const server = cleanup.add(await LabServer.start({ ackHeartbeats: false, pingInterval: 5_000, pingTimeout: 5_000 }), (s) =>
      s.close(),
    );
    const svc = cleanup.add(
      createWebSocketService({
        url: server.url,
        config: { heartbeatInterval: 5_000, heartbeatTimeout: 100, baseDelay: 50, maxDelay: 100 },
      }),
      (s) => s.dispose(),
    );
    const announced = recordEvents(svc, ["message:unconfirmed"]);
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, restingAfterFirstBeat);
    svc.send("note", "before-any-ping");
    await server.kill();
    await waitForEvent(svc, "message:unconfirmed");
    expect(announced.of("message:unconfirmed")).toEqual([
      { event: "note", args: ["before-any-ping"], reason: expect.any(String) },
    ]);
  });
});
