import { describe, expect, it } from "vitest";
import { TcpProxy } from "../../lab/tcpProxy.js";
import { eventually, recordEvents, untilContext, waitForEvent, waitForState } from "../support/events.js";
import { eventWithStatus, markerServer, synced } from "../support/faults.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

/**
 * Fault matrix, server and link side (issue 6): each fault played by a real Socket.IO server
 * on 127.0.0.1 or a real TCP proxy in front of it. Every row checks the event, the state and
 * lastError the fault leaves, and that every send made around it is delivered once or
 * announced, never silently lost.
 */

const { cleanup, service, startServer } = integrationRig();

describe("fault matrix: the server and the link", () => {
  it("crash in the middle of the handshake: connection:failed (attempt 1), backingOff, a lastError naming the cause; after a restart the sends made meanwhile arrive once, in order", async () => {
    const { server, received } = await markerServer(startServer);
    server.holdHandshakes("forever");
    const ws = service({ url: server.url, config: FAST_RETRY });
    const failed = eventWithStatus(ws, "connection:failed");
    ws.connect();
    await server.waitForHandshakes(1);
    expect(ws.getStatus().state).toBe("connecting");
    expect(server.heldHandshakes).toBe(1);

    await server.kill();
    const { payload, status } = await failed;
    console.log(`crash mid-handshake: lastError ${JSON.stringify(status.lastError)}`);
    expect(payload.attempt).toBe(1);
    expect(status.state).toBe("backingOff");
    expect(status.lastError).toEqual(payload.error);
    // The client saw its transport close under it: the text says so, not just "error".
    expect(payload.error.message).toMatch(/transport close/);
    expect(server.connections).toBe(0);

    for (const marker of ["m1", "m2", "m3"]) ws.send("marker", marker);
    expect(ws.getStatus().queuedMessages).toBe(3);
    server.holdHandshakes(null);
    const connected = waitForEvent(ws, "connection:connected");
    await server.restart();
    await connected;
    await synced(ws);
    expect(received.values).toEqual(["m1", "m2", "m3"]);
    expect(ws.getStatus()).toMatchObject({ state: "connected", attempt: 0, lastError: null, queuedMessages: 0 });
    expect(server.connections).toBe(1);
  });

  it("handshake slower than connectionTimeout: 'connection timed out after 500 ms', backingOff, never two sockets; once the server is fast, queued sends arrive once", async () => {
    const { server, received } = await markerServer(startServer);
    server.holdHandshakes(1_500);
    const ws = service({ url: server.url, config: { ...FAST_RETRY, connectionTimeout: 500 } });
    ws.send("marker", "q1");
    const failed = eventWithStatus(ws, "connection:failed");
    ws.connect();
    const { payload, status } = await failed;
    expect(payload).toEqual({ attempt: 1, error: { message: "connection timed out after 500 ms" }, server: expect.any(String) });
    expect(status).toMatchObject({
      state: "backingOff",
      lastError: { message: "connection timed out after 500 ms" },
      queuedMessages: 1,
    });
    // The client's own bound decided it (the message says so), not the server's answer.
    expect(server.handshakes).toBe(1);
    expect(server.connections).toBe(0);

    ws.send("marker", "q2");
    server.holdHandshakes(null);
    await waitForEvent(ws, "connection:connected");
    // The timed-out handshake is let on by the server later: it must not become a second socket.
    await eventually(() => expect(server.heldHandshakes).toBe(0), 5_000);
    await synced(ws);
    expect(received.values).toEqual(["q1", "q2"]);
    expect(server.connections).toBe(1);
    expect(server.peakOpen).toBe(1);
    expect(server.openSockets()).toBe(1);
  });

  it("silent link (blackhole): disconnected 'heartbeat timeout', lastError 'connection lost: heartbeat timeout', backingOff; reconnects once restored; every send delivered or announced", async () => {
    const { server, received } = await markerServer(startServer);
    const proxy = cleanup.add(await TcpProxy.start(server.port), (started) => started.close());
    const ws = service({
      url: proxy.url,
      config: {
        ...FAST_RETRY,
        connectionTimeout: 500,
        heartbeatInterval: 300,
        heartbeatTimeout: 200,
        minHeartbeatTimeout: 100,
        unhealthyThreshold: 2,
      },
    });
    const announced = recordEvents(ws, ["message:unconfirmed", "message:dropped"]);
    ws.connect();
    await waitForState(ws, "connected");
    await untilContext(ws, (context) => context.heartbeatsAcked && context.latency !== null);
    ws.send("marker", "before");
    await received.waitFor(1);

    const lost = eventWithStatus(ws, "connection:disconnected");
    proxy.blackhole();
    ws.send("marker", "dead-1");
    ws.send("marker", "dead-2");
    const { payload, status } = await lost;
    expect(payload).toEqual({ reason: "heartbeat timeout" });
    expect(status.state).toBe("backingOff");
    expect(status.lastError).toEqual({ message: "connection lost: heartbeat timeout (no heartbeat ack 2 times in a row)" });

    ws.send("marker", "down-1");
    const connectionsBefore = server.connections;
    const reconnected = waitForEvent(ws, "connection:connected");
    proxy.restore();
    await reconnected;
    await synced(ws);
    expect(server.connections).toBe(connectionsBefore + 1);

    const markers = ["before", "dead-1", "dead-2", "down-1"];
    const announcedMarkers = [...announced.of("message:unconfirmed"), ...announced.of("message:dropped")]
      .filter((message) => message.event === "marker")
      .map((message) => message.args[0] as string);
    console.log(
      `silent link: delivered ${JSON.stringify(received.values)}, announced ${JSON.stringify(announcedMarkers)}`,
    );
    for (const marker of markers) {
      const delivered = received.values.filter((value) => value === marker).length;
      const heard = announcedMarkers.filter((value) => value === marker).length;
      expect({ marker, atMostOnce: delivered <= 1, accountedFor: delivered + heard >= 1 }).toEqual({
        marker,
        atMostOnce: true,
        accountedFor: true,
      });
    }
    // Nothing but these markers was delivered, and what was held while down arrived.
    expect(received.values.every((value) => markers.includes(value))).toBe(true);
    expect(received.values.filter((value) => value === "before" || value === "down-1")).toEqual(["before", "down-1"]);
    announced.stop();
  });

  it.each([
    ["weeks (3e9 ms, beyond the timer limit)", 3e9, 2_147_483_647],
    ["a string", "soon", null],
    ["negative", -5, null],
  ])("malformed retryAfter in a refusal (%s): a delay that is a real wait, never a hot loop", async (_label, retryAfter, expected) => {
    const { server } = await markerServer(startServer);
    server.io.use((_socket, next) => {
      const error = new Error("server busy") as Error & { data?: unknown };
      error.data = { retryAfter };
      next(error);
    });
    const ws = service({ url: server.url, config: { ...FAST_RETRY, jitterStrategy: "additive", baseDelay: 200, maxDelay: 400, jitterRange: 1 } });
    ws.send("marker", "kept");
    const reconnecting = waitForEvent(ws, "connection:reconnecting");
    ws.connect();
    const { delay } = await reconnecting;
    if (expected === null) {
      // Not a usable hint: ignored, the backoff alone decides (additive: 200 + jitter < 1 ms).
      expect(delay).toBe(200);
    } else {
      // setTimeout would fire a delay above 2^31 - 1 ms after 1 ms: capped at the limit instead.
      expect(delay).toBe(expected);
      expect(ws.getStatus().nextRetryDelay).toBe(expected);
    }
    // Whatever the hint, the next handshake is not before the delay: nothing hammers the server.
    const handshakes = server.handshakes;
    await new Promise((resolve) => setTimeout(resolve, Math.min(delay, 150)));
    expect(server.handshakes).toBe(handshakes);
    expect(ws.getStatus()).toMatchObject({ state: "backingOff", queuedMessages: 1 });
  });

  it("malformed packet from the server: disconnected 'parse error', lastError 'connection lost: parse error', backingOff, then connected again; a send made meanwhile arrives once", async () => {
    const { server, received } = await markerServer(startServer);
    const ws = service({ url: server.url, config: FAST_RETRY });
    ws.connect();
    await waitForState(ws, "connected");

    const lost = eventWithStatus(ws, "connection:disconnected");
    // "9" is no Socket.IO packet type: socket.io-client's decoder throws.
    expect(server.writeRaw('9["not a socket.io packet"]')).toBe(1);
    const { payload, status } = await lost;
    expect(payload).toEqual({ reason: "parse error" });
    expect(status.state).toBe("backingOff");
    expect(status.lastError).toEqual({ message: "connection lost: parse error" });

    ws.send("marker", "after-parse-error");
    expect(ws.getStatus().queuedMessages).toBe(1);
    await waitForEvent(ws, "connection:connected");
    await synced(ws);
    expect(received.values).toEqual(["after-parse-error"]);
    expect(server.connections).toBe(2);
    expect(ws.getStatus()).toMatchObject({ state: "connected", lastError: null });
  });

  it("enormous payloads (a 16 MiB string, objects nested 1000 and 100,000 deep): each delivered intact as one message, still connected, healthScore 100, heartbeats still acked after them", async () => {
    const { server } = await markerServer(startServer);
    const ws = service({
      url: server.url,
      // A floor of 1 s on the ack timeout: parsing megabytes blocks this process (server and
      // client share it) for a while, and a heartbeat timer fires before the ack is read.
      config: { ...FAST_RETRY, heartbeatInterval: 300, heartbeatTimeout: 3_000, minHeartbeatTimeout: 1_000 },
    });
    const messages = recordEvents(ws, ["message", "connection:disconnected"]);
    ws.connect();
    await waitForState(ws, "connected");

    // Multi-byte characters too: the string must survive UTF-8 framing, not only ASCII.
    const unit = "0123456789abcdef-é€😀\n";
    const big = unit.repeat(Math.ceil((16 * 1024 * 1024) / unit.length)).slice(0, 16 * 1024 * 1024);
    const depth = 1_000;
    let deep: unknown = { leaf: "bottom" };
    for (let level = depth; level > 0; level -= 1) deep = { level, child: deep };

    // Socket.IO's own encoder overflows its stack from about 5,000 levels (its binary scan
    // recurses), so the deepest one is written as a raw packet, as a server in another
    // language could send it.
    const deeperDepth = 100_000;
    const deeper = `2["deeper",${'{"c":'.repeat(deeperDepth)}"bottom"${"}".repeat(deeperDepth)}]`;

    const lastArrived = waitForEvent(ws, "message", { filter: (message) => message.event === "deeper", timeout: 15_000 });
    server.io.emit("big", big);
    server.io.emit("deep", deep);
    expect(server.writeRaw(deeper)).toBe(1);
    await lastArrived;
    const seqAfterPayloads = ws.actor.getSnapshot().context.heartbeatSeq;

    const bigs = messages.of("message").filter((message) => message.event === "big");
    expect(bigs.length).toBe(1);
    expect(bigs[0]!.args.length).toBe(1);
    const received = bigs[0]!.args[0] as string;
    expect(received.length).toBe(big.length);
    expect(received === big).toBe(true);

    const deeps = messages.of("message").filter((message) => message.event === "deep");
    expect(deeps.length).toBe(1);
    let node = deeps[0]!.args[0] as { level?: number; child?: unknown; leaf?: string };
    for (let level = 1; level <= depth; level += 1) {
      expect(node.level).toBe(level);
      node = node.child as typeof node;
    }
    expect(node).toEqual({ leaf: "bottom" });

    const deepers = messages.of("message").filter((message) => message.event === "deeper");
    expect(deepers.length).toBe(1);
    let levels = 0;
    let cursor = deepers[0]!.args[0];
    while (typeof cursor === "object" && cursor !== null && "c" in cursor) {
      cursor = cursor.c;
      levels += 1;
    }
    expect({ levels, cursor }).toEqual({ levels: deeperDepth, cursor: "bottom" });

    // Two heartbeats sent after the payloads, and none outstanding: the ack of the last came back.
    await untilContext(
      ws,
      (context) => context.heartbeatSeq >= seqAfterPayloads + 2 && context.pendingHeartbeats.length === 0,
    );
    expect(ws.getStatus()).toMatchObject({ state: "connected", healthScore: 100, consecutiveFailures: 0 });
    expect(messages.of("connection:disconnected")).toEqual([]);
    expect(server.connections).toBe(1);
    messages.stop();
  });
});
