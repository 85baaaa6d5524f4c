import type { Socket as ServerSocket } from "socket.io";
import { describe, expect, it } from "vitest";
import type { LabServerOptions } from "../../lab/server.js";
import { TcpProxy, type TcpProxyOptions } from "../../lab/tcpProxy.js";
import { DEFAULT_CONFIG } from "../../src/machine/config.js";
import type { TopLevelState } from "../../src/machine/types.js";
import type { WebSocketService } from "../../src/services/WebSocketService.js";
import { recordEvents, Tally, untilContext, waitForEvent, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

/**
 * Call mode (issue 14 part 1) against real Socket.IO servers on 127.0.0.1: the heartbeat
 * cadence of a call, a reconnection that never gives up during one, forced reconnections that
 * keep a working link, call signalling that jumps the queue and is never what overflow drops.
 */

const { cleanup, service, startServer } = integrationRig();

/** What a server saw: heartbeats (by socket id) and application events (fence excepted), in order. */
interface Seen {
  beats: Tally<string>;
  received: Tally<unknown[]>;
}

/** A lab server that records heartbeats and events, and acks `fence` (a round trip to order checks after). */
async function recordingServer(options: LabServerOptions = {}) {
  const seen: Seen = { beats: new Tally<string>(), received: new Tally<unknown[]>() };
  const server = await startServer({
    ...options,
    onConnection: (socket: ServerSocket) => {
      socket.on("heartbeat", () => seen.beats.push(socket.id));
      socket.on("fence", (ack: () => void) => ack());
      socket.onAny((event: string, ...args: unknown[]) => {
        if (event === "heartbeat" || event === "fence") return;
        seen.received.push([event, ...args.filter((arg) => typeof arg !== "function")]);
      });
    },
  });
  return { server, ...seen };
}

async function proxyTo(port: number, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  return cleanup.add(await TcpProxy.start(port, 0, options), (proxy) => proxy.close());
}

/** Resolves once the heartbeat numbered `seq` (or a later one) was acked and none is pending. */
function untilAcked(ws: WebSocketService, seq: number, timeout = 10_000): Promise<void> {
  return untilContext(
    ws,
    (context) => context.heartbeatSeq >= seq && context.pendingHeartbeats.length === 0 && context.lastAckAt !== null,
    timeout,
  );
}

/** Every top-level state the service passes through from now on. */
function watchStates(ws: WebSocketService) {
  const seen = new Set<TopLevelState>([ws.getStatus().state]);
  const subscription = ws.actor.subscribe(() => seen.add(ws.getStatus().state));
  return { seen, stop: () => subscription.unsubscribe() };
}

describe("dead-link detection in a call", () => {
  it(
    "with the DEFAULT config a blackhole is detected within callHeartbeatInterval + unhealthyThreshold × minHeartbeatTimeout",
    { timeout: 45_000 },
    async () => {
      const { server, beats } = await recordingServer();
      const proxy = await proxyTo(server.port);
      const ws = service({ url: proxy.url });
      ws.connect();
      await waitForState(ws, "connected");
      ws.setCallActive(true);
      expect(ws.getStatus().callActive).toBe(true);
      // The heartbeat sent on connecting, then one at the call's cadence (the default 25 s would time this out).
      await beats.waitFor(2, 15_000);
      await untilAcked(ws, 2);
      const spacing = beats.items[1]!.at - beats.items[0]!.at;
      expect(spacing).toBeLessThan(DEFAULT_CONFIG.heartbeatInterval / 2);

      // Blackholed right after an ack: the worst case, a whole call interval before the next heartbeat.
      const recorder = recordEvents(ws, ["connection:health_degraded", "connection:disconnected"]);
      const dropped = waitForEvent(ws, "connection:disconnected", { timeout: 25_000 });
      const blackholedAt = Date.now();
      proxy.blackhole();
      const { reason } = await dropped;
      const elapsed = Date.now() - blackholedAt;
      recorder.stop();
      const goal =
        DEFAULT_CONFIG.callHeartbeatInterval + DEFAULT_CONFIG.unhealthyThreshold * DEFAULT_CONFIG.minHeartbeatTimeout;
      console.log(
        `call mode, default config: heartbeats ${spacing} ms apart in the call; blackhole detected after ${elapsed} ms ` +
          `(goal ${goal} ms = ${DEFAULT_CONFIG.callHeartbeatInterval} + ${DEFAULT_CONFIG.unhealthyThreshold} × ${DEFAULT_CONFIG.minHeartbeatTimeout})`,
      );
      expect(reason).toBe("heartbeat timeout");
      expect(recorder.events.map((event) => event.name)).toEqual(["connection:health_degraded", "connection:disconnected"]);
      expect(elapsed).toBeLessThanOrEqual(12_000);
      // Three misses of at least the floor each: not before.
      expect(elapsed).toBeGreaterThanOrEqual(DEFAULT_CONFIG.unhealthyThreshold * DEFAULT_CONFIG.minHeartbeatTimeout - 50);
      // The call goes on trying: reconnecting, not idle or exhausted.
      expect(["backingOff", "connecting"]).toContain(ws.getStatus().state);
      expect(ws.getStatus().callActive).toBe(true);
    },
  );
});

describe("reconnection during a call", () => {
  it("never ends in exhausted against a dead server; delays stay within callMaxDelay; after the call the next failure exhausts", async () => {
    // Without the cap, "full" jitter draws from [200, 400) and up: every delay ≤ 150 is the cap at work.
    const config = { ...FAST_RETRY, baseDelay: 400, maxDelay: 4_000, maxReconnectAttempts: 2, callMaxDelay: 150 };
    const server = await startServer();
    const ws = service({ url: server.url, config });
    ws.connect();
    await waitForState(ws, "connected");
    ws.setCallActive(true);
    const states = watchStates(ws);
    const log = recordEvents(ws, ["connection:failed", "connection:reconnecting", "connection:max_attempts_reached"]);

    const fifth = waitForEvent(ws, "connection:failed", { filter: ({ attempt }) => attempt >= 5 });
    await server.kill();
    await fifth;
    expect(states.seen.has("exhausted")).toBe(false);
    expect(log.of("connection:max_attempts_reached")).toEqual([]);
    expect(log.of("connection:failed").map(({ attempt }) => attempt)).toEqual([1, 2, 3, 4, 5]);
    expect(ws.getStatus().attempt).toBeGreaterThan(config.maxReconnectAttempts);
    const delays = log.of("connection:reconnecting").map(({ delay }) => delay);
    expect(delays.length).toBeGreaterThanOrEqual(5);
    for (const delay of delays) expect(delay).toBeLessThanOrEqual(config.callMaxDelay);

    const failuresInCall = log.of("connection:failed").length;
    const exhausted = waitForEvent(ws, "connection:max_attempts_reached");
    ws.setCallActive(false);
    const { attempts } = await exhausted;
    log.stop();
    states.stop();
    expect(ws.getStatus()).toMatchObject({ state: "exhausted", callActive: false });
    // The next failure after the call ended, and only that one, ended it.
    expect(log.of("connection:failed")).toHaveLength(failuresInCall + 1);
    expect(attempts).toBe(failuresInCall + 1);
    expect(server.handshakes).toBe(1);
  });
});

describe("forceReconnection() in a call", () => {
  it("on a working link keeps it: same socket, no new connection, the promise resolves and the link is probed at once", async () => {
    const { server, beats } = await recordingServer();
    const ws = service({ url: server.url, config: FAST_RETRY });
    ws.connect();
    await waitForState(ws, "connected");
    ws.setCallActive(true);
    await untilAcked(ws, 1);
    const { socketId } = ws.getStatus();
    const log = recordEvents(ws, ["connection:disconnected", "connection:connected"]);
    const beatsBefore = beats.count;

    const started = Date.now();
    await ws.forceReconnection();
    // The probe: the next call heartbeat is seconds away (callHeartbeatInterval 5000).
    await beats.waitFor(beatsBefore + 1, 2_000);
    const probedAfter = Date.now() - started;
    await untilAcked(ws, 2);
    log.stop();

    expect(probedAfter).toBeLessThan(DEFAULT_CONFIG.callHeartbeatInterval / 2);
    expect(beats.values.at(-1)).toBe(socketId);
    expect(ws.getStatus()).toMatchObject({ state: "connected", socketId, consecutiveFailures: 0 });
    expect(log.events).toEqual([]);
    expect(server.connections).toBe(1);
    expect(server.handshakes).toBe(1);
  });

  it("on a suspect link (a heartbeat ack overdue) replaces it at once", async () => {
    const { server, beats } = await recordingServer();
    // The old path stays dead after restore(); new connections get through.
    const proxy = await proxyTo(server.port, { deadAfterDrop: true });
    // Many tolerated misses: the heartbeat alone would not drop the link during the test.
    const config = { ...FAST_RETRY, callHeartbeatInterval: 300, heartbeatTimeout: 300, unhealthyThreshold: 20 };
    const ws = service({ url: proxy.url, config });
    ws.connect();
    await waitForState(ws, "connected");
    ws.setCallActive(true);
    await beats.waitFor(1);
    await untilAcked(ws, 1);
    const { socketId } = ws.getStatus();

    proxy.blackhole();
    await untilContext(ws, (context) => context.consecutiveFailures >= 1, 5_000);
    proxy.restore();
    const dropped = waitForEvent(ws, "connection:disconnected");
    const connected = waitForEvent(ws, "connection:connected");
    await ws.forceReconnection();
    expect(await dropped).toEqual({ reason: "forced reconnection" });
    const { socketId: replacement } = await connected;
    expect(replacement).not.toBe(socketId);
    expect(ws.getStatus()).toMatchObject({ state: "connected", socketId: replacement, callActive: true });
    expect(server.connections).toBe(2);
  });

  it("on a dead link not yet suspected: the immediate probe finds it, long before the call cadence would", async () => {
    const { server, beats } = await recordingServer();
    const proxy = await proxyTo(server.port);
    // Probe ack timeout 200 ms × 3 misses ≈ 600 ms; the cadence alone would take 3000 ms + that.
    const config = { ...FAST_RETRY, callHeartbeatInterval: 3_000, heartbeatTimeout: 200, unhealthyThreshold: 3 };
    const ws = service({ url: proxy.url, config });
    ws.connect();
    await waitForState(ws, "connected");
    ws.setCallActive(true);
    await beats.waitFor(1);
    await untilAcked(ws, 1);
    const { socketId } = ws.getStatus();

    const dropped = waitForEvent(ws, "connection:disconnected", { timeout: 10_000 });
    const blackholedAt = Date.now();
    proxy.blackhole();
    await ws.forceReconnection();
    // Kept, not replaced: the chart trusted the link until the probe.
    expect(ws.getStatus()).toMatchObject({ state: "connected", socketId });
    const { reason } = await dropped;
    const elapsed = Date.now() - blackholedAt;
    expect(reason).toBe("heartbeat timeout");
    expect(elapsed).toBeLessThan(config.callHeartbeatInterval - 1_000);

    const reconnected = waitForEvent(ws, "connection:connected");
    proxy.restore();
    expect((await reconnected).socketId).not.toBe(socketId);
    expect(server.connections).toBe(2);
  });
});

describe("the end of a call", () => {
  it("returns to the normal cadence without a reconnection", async () => {
    const { server, beats } = await recordingServer();
    const config = { ...FAST_RETRY, heartbeatInterval: 1_500, callHeartbeatInterval: 150 };
    const ws = service({ url: server.url, config });
    ws.connect();
    await waitForState(ws, "connected");
    const { socketId } = ws.getStatus();
    const log = recordEvents(ws, ["connection:disconnected", "connection:connected"]);
    ws.setCallActive(true);
    await beats.waitFor(5);
    await untilAcked(ws, 5);
    ws.setCallActive(false);
    const endedAt = beats.count;
    await beats.waitFor(endedAt + 2, 5_000);
    log.stop();

    const at = beats.items.map((item) => item.at);
    const gaps = at.slice(1).map((time, i) => time - at[i]!);
    // In the call (after the first, which followed the connect heartbeat by up to one call interval).
    for (const gap of gaps.slice(1, endedAt - 1)) expect(gap).toBeLessThan(config.heartbeatInterval / 2);
    // After it: the normal interval, measured from the last heartbeat of the call.
    for (const gap of gaps.slice(endedAt - 1)) expect(gap).toBeGreaterThan(config.heartbeatInterval * 0.8);
    expect(new Set(beats.values)).toEqual(new Set([socketId]));
    expect(ws.getStatus()).toMatchObject({ state: "connected", socketId, callActive: false });
    expect(log.events).toEqual([]);
    expect(server.connections).toBe(1);
  });
});

describe("call signalling (sendWith({ priority: 'call' }))", () => {
  async function outage(ws: WebSocketService, kill: () => Promise<void>) {
    ws.connect();
    await waitForState(ws, "connected");
    const dropped = waitForEvent(ws, "connection:disconnected");
    await kill();
    await dropped;
  }

  it("queued during an outage goes out before the ordinary sends queued earlier", async () => {
    const { server, received } = await recordingServer();
    const ws = service({ url: server.url, config: FAST_RETRY });
    await outage(ws, () => server.kill());
    const dropped = recordEvents(ws, ["message:dropped"]);
    ws.send("presence", 1);
    ws.send("presence", 2);
    ws.sendWith({ priority: "call" }, "hangup", "call-1");
    ws.send("presence", 3);
    expect(ws.getStatus().queuedMessages).toBe(4);

    await server.restart();
    await received.waitFor(4);
    await ws.request("fence");
    dropped.stop();
    expect(received.values).toEqual([
      ["hangup", "call-1"],
      ["presence", 1],
      ["presence", 2],
      ["presence", 3],
    ]);
    expect(dropped.events).toEqual([]);
    expect(ws.getStatus().queuedMessages).toBe(0);
  });

  it("a full queue of ordinary sends plus more sends never drops the call message", async () => {
    const { server, received } = await recordingServer();
    const ws = service({ url: server.url, config: { ...FAST_RETRY, maxQueueSize: 3 } });
    await outage(ws, () => server.kill());
    const dropped = recordEvents(ws, ["message:dropped"]);
    for (let i = 1; i <= 3; i += 1) ws.send("presence", i);
    ws.sendWith({ priority: "call" }, "hangup", "call-1");
    ws.send("presence", 4);
    ws.send("presence", 5);
    expect(ws.getStatus().queuedMessages).toBe(3);
    expect(dropped.of("message:dropped")).toEqual([
      { event: "presence", reason: "overflow", args: [1] },
      { event: "presence", reason: "overflow", args: [2] },
      { event: "presence", reason: "overflow", args: [3] },
    ]);

    await server.restart();
    await received.waitFor(3);
    await ws.request("fence");
    dropped.stop();
    expect(received.values).toEqual([
      ["hangup", "call-1"],
      ["presence", 4],
      ["presence", 5],
    ]);
    expect(dropped.events).toHaveLength(3);
  });
});

describe("notifyOnline()", () => {
  it("while connected in a call probes the link at once; outside a call it sends nothing", async () => {
    const { server, beats } = await recordingServer();
    const ws = service({ url: server.url, config: FAST_RETRY });
    ws.connect();
    await waitForState(ws, "connected");
    ws.setCallActive(true);
    await untilAcked(ws, 1);

    const before = beats.count;
    const notifiedAt = Date.now();
    ws.notifyOnline();
    await beats.waitFor(before + 1, 2_000);
    // The call cadence would have sent the next one 5 s after the last.
    expect(Date.now() - notifiedAt).toBeLessThan(DEFAULT_CONFIG.callHeartbeatInterval / 2);
    await untilAcked(ws, 2);

    ws.setCallActive(false);
    const outsideCall = beats.count;
    ws.notifyOnline();
    // A heartbeat sent at once would reach the server before this round trip does.
    await ws.request("fence");
    expect(beats.count).toBe(outsideCall);
    expect(ws.getStatus()).toMatchObject({ state: "connected", network: "online" });
    expect(server.connections).toBe(1);
  });
});
