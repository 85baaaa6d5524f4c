import { setTimeout as delay } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { LabServer, type LabServerOptions } from "../../lab/server.js";
import { TcpProxy } from "../../lab/tcpProxy.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import {
  createWebSocketService,
  type WebSocketService,
  type WebSocketServiceOptions,
} from "../../src/services/WebSocketService.js";
import { recordEvents, Tally, untilContext, waitForEvent, waitForEvents, waitForState } from "../support/events.js";

/**
 * notifyOffline / notifyOnline / notifyResume against a real Socket.IO server on 127.0.0.1.
 */

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function labServer(
  options: LabServerOptions = {},
): Promise<{ server: LabServer; beats: Tally }> {
  const beats = new Tally();
  const server = await LabServer.start({
    ...options,
    onConnection: (socket) => socket.on("heartbeat", () => beats.push(undefined)),
  });
  cleanups.push(() => server.close());
  return { server, beats };
}

function service(
  url: string,
  config: Partial<ConnectionConfig>,
  options: Partial<WebSocketServiceOptions> = {},
): WebSocketService {
  const created = createWebSocketService({ url, config, ...options });
  cleanups.push(() => created.dispose());
  return created;
}

async function connect(svc: WebSocketService): Promise<void> {
  svc.connect();
  await waitForState(svc, "connected");
}

/** Kills the server and waits until the service noticed and is backing off. */
async function killAndWaitForBackoff(svc: WebSocketService, server: LabServer): Promise<void> {
  const dropped = waitForEvent(svc, "connection:disconnected");
  await server.kill();
  await dropped;
  await waitForState(svc, "backingOff");
}

/**
 * Resting between heartbeats: the first probe was acked (or timed out on a server that never
 * acks). Until then a notification joins the probe in flight instead of sending another.
 */
const firstProbeSettled = (svc: WebSocketService) => untilContext(svc, (context) => context.timerDue !== null);

describe("offline", () => {
  it("while backing off: no attempt is made or counted until notifyOnline, which connects at once", async () => {
    const { server } = await labServer();
    const svc = service(server.url, { baseDelay: 100, maxDelay: 100, jitterStrategy: "additive", jitterRange: 50 });
    await connect(svc);
    await killAndWaitForBackoff(svc, server);
    svc.notifyOffline();
    const offline = svc.getStatus();
    expect(offline).toMatchObject({ state: "backingOff", network: "offline", nextRetryAt: null, nextRetryDelay: null });

    // The server is back, but the service was told the network is not: it must not try.
    await server.restart();
    const handshakes = server.handshakes;
    const recorder = recordEvents(svc, ["connection:failed", "connection:reconnecting", "connection:connected"]);
    // A window of 8 retry delays in which nothing may happen (an absence has no event to await).
    await delay(800);
    recorder.stop();
    expect(recorder.events).toEqual([]);
    expect(server.handshakes).toBe(handshakes);
    expect(svc.getStatus()).toMatchObject({
      state: "backingOff",
      attempt: offline.attempt,
      network: "offline",
      nextRetryAt: null,
    });

    const onlineAt = Date.now();
    svc.notifyOnline();
    expect(svc.getStatus().state).toBe("connecting");
    expect(svc.getStatus().network).toBe("online");
    await waitForState(svc, "connected");
    const elapsed = Date.now() - onlineAt;
    console.log(`notifyOnline -> connected (from backingOff, offline): ${elapsed} ms`);
    expect(elapsed).toBeLessThan(2_000);
    expect(server.handshakes).toBe(handshakes + 1);
    expect(svc.getStatus().attempt).toBe(0);
  });

  it("a link lost while offline waits for the network without scheduling or counting anything", async () => {
    const { server } = await labServer();
    const svc = service(server.url, { baseDelay: 100, maxDelay: 100 });
    await connect(svc);
    svc.notifyOffline();
    const recorder = recordEvents(svc, ["connection:failed", "connection:reconnecting"]);
    await killAndWaitForBackoff(svc, server);
    expect(svc.getStatus()).toMatchObject({ state: "backingOff", attempt: 0, nextRetryAt: null, network: "offline" });
    await server.restart();
    await delay(500);
    expect(recorder.events).toEqual([]);
    expect(server.handshakes).toBe(1);
    svc.notifyOnline();
    await waitForState(svc, "connected", 2_000);
    recorder.stop();
  });

  it("while connected: the link is probed at once (a heartbeat goes out), not dropped", async () => {
    const { server, beats } = await labServer();
    const svc = service(server.url, { heartbeatInterval: 10_000, healthCheckInterval: 150 });
    await connect(svc);
    await beats.waitFor(1);
    await firstProbeSettled(svc);
    const recorder = recordEvents(svc, ["connection:disconnected", "connection:health_degraded"]);
    const offlineAt = Date.now();
    svc.notifyOffline();
    await beats.waitFor(2, 2_000);
    // At once, not 10 s later at the next regular heartbeat.
    expect(beats.items[1]!.at - offlineAt).toBeLessThan(1_000);
    expect(svc.getStatus()).toMatchObject({ state: "connected", network: "offline" });
    // The probe is acked: the connection stays up and healthy over several health checks.
    const checks = await waitForEvents(svc, "connection:health_check", 3);
    for (const check of checks) expect(check).toMatchObject({ healthScore: 100, healthy: true });
    recorder.stop();
    expect(recorder.events).toEqual([]);
    expect(svc.getStatus()).toMatchObject({ state: "connected", consecutiveFailures: 0 });
    expect(server.connections).toBe(1);
  });

  it("while connected to a server that never acks: the probe is not held against it", async () => {
    const { server, beats } = await labServer({ ackHeartbeats: false });
    const svc = service(server.url, { heartbeatInterval: 10_000, heartbeatTimeout: 100, healthCheckInterval: 150 });
    await connect(svc);
    await beats.waitFor(1);
    await firstProbeSettled(svc);
    const recorder = recordEvents(svc, ["connection:disconnected", "connection:health_degraded"]);
    svc.notifyOffline();
    await beats.waitFor(2, 2_000);
    const checks = await waitForEvents(svc, "connection:health_check", 4);
    for (const check of checks) expect(check).toMatchObject({ healthScore: 100, healthy: true });
    recorder.stop();
    expect(recorder.events).toEqual([]);
    expect(svc.getStatus().state).toBe("connected");
  });

  it("flapping offline/online never opens a second socket and ends connected", async () => {
    const { server } = await labServer();
    const svc = service(server.url, { baseDelay: 5_000, maxDelay: 5_000, heartbeatInterval: 10_000 });
    await connect(svc);
    for (let i = 0; i < 20; i += 1) {
      svc.notifyOffline();
      svc.notifyOnline();
    }
    expect(svc.getStatus().state).toBe("connected");
    await killAndWaitForBackoff(svc, server);
    await server.restart();
    for (let i = 0; i < 20; i += 1) {
      svc.notifyOffline();
      svc.notifyOnline();
    }
    await waitForState(svc, "connected", 3_000);
    expect(server.peakOpen).toBe(1);
    expect(server.openSockets()).toBe(1);
    expect(server.handshakes).toBe(2);
  });
});

describe("online", () => {
  it("from backingOff: an attempt at once, whatever the remaining delay", async () => {
    const { server } = await labServer();
    const svc = service(server.url, { baseDelay: 20_000, maxDelay: 20_000, jitterStrategy: "additive" });
    await connect(svc);
    await killAndWaitForBackoff(svc, server);
    expect(svc.getStatus().nextRetryDelay).toBeGreaterThanOrEqual(20_000);
    await server.restart();
    const onlineAt = Date.now();
    svc.notifyOnline();
    expect(svc.getStatus().state).toBe("connecting");
    await waitForState(svc, "connected", 3_000);
    console.log(`notifyOnline -> connected (from backingOff, 20 s left): ${Date.now() - onlineAt} ms`);
  });

  it("from exhausted: an attempt at once", async () => {
    const { server } = await labServer();
    await server.kill();
    const svc = service(server.url, { maxReconnectAttempts: 1, baseDelay: 100, maxDelay: 100 });
    const exhausted = waitForEvent(svc, "connection:max_attempts_reached");
    svc.connect();
    await exhausted;
    expect(svc.getStatus()).toMatchObject({ state: "exhausted", attempt: 1 });
    await server.restart();
    expect(server.handshakes).toBe(0);
    const onlineAt = Date.now();
    svc.notifyOnline();
    expect(svc.getStatus().state).toBe("connecting");
    await waitForState(svc, "connected", 3_000);
    console.log(`notifyOnline -> connected (from exhausted): ${Date.now() - onlineAt} ms`);
    expect(server.handshakes).toBe(1);
    expect(svc.getStatus().attempt).toBe(0);
  });
});

describe("resume", () => {
  it("while connected: a heartbeat goes out at once and a healthy link stays up", async () => {
    const { server, beats } = await labServer();
    const svc = service(server.url, { heartbeatInterval: 10_000, healthCheckInterval: 150 });
    await connect(svc);
    await beats.waitFor(1);
    await firstProbeSettled(svc);
    const recorder = recordEvents(svc, ["connection:disconnected", "connection:health_degraded"]);
    const resumedAt = Date.now();
    svc.notifyResume();
    await beats.waitFor(2, 2_000);
    expect(beats.items[1]!.at - resumedAt).toBeLessThan(1_000);
    await waitForEvents(svc, "connection:health_check", 3);
    recorder.stop();
    expect(recorder.events).toEqual([]);
    expect(svc.getStatus()).toMatchObject({ state: "connected", healthScore: 100 });
    expect(server.connections).toBe(1);
  });

  it("on a dead link: probes with the short timeout, drops, and the new handshake asks the provider for a fresh token", async () => {
    const { server } = await labServer({ tokens: ["token-1", "token-2", "token-3"] });
    const proxy = await TcpProxy.start(server.port);
    cleanups.push(() => proxy.close());
    let calls = 0;
    const provider = () => `token-${++calls}`;
    const config = {
      heartbeatInterval: 20_000,
      heartbeatTimeout: 5_000,
      minHeartbeatTimeout: 150,
      unhealthyThreshold: 3,
      baseDelay: 100,
      maxDelay: 100,
      connectionTimeout: 500,
      healthCheckInterval: 100,
    };
    const svc = service(proxy.url, config, { auth: provider });
    await connect(svc);
    // Only a link whose heartbeats were acked can be found dead by heartbeats.
    await waitForEvent(svc, "connection:health_check", { filter: (check) => check.latency !== null });
    expect(calls).toBe(1);
    expect(server.seenTokens).toEqual(["token-1"]);

    const dropped = waitForEvent(svc, "connection:disconnected", { timeout: 10_000 });
    proxy.blackhole();
    const resumedAt = Date.now();
    svc.notifyResume();
    const { reason } = await dropped;
    const elapsed = Date.now() - resumedAt;
    console.log(`notifyResume on a dead link: dropped after ${elapsed} ms (${reason})`);
    expect(reason).toBe("heartbeat timeout");
    // Three short probes, not the 20 s interval nor the 5 s ceiling.
    expect(elapsed).toBeLessThan(config.unhealthyThreshold * config.minHeartbeatTimeout + 1_500);

    const reconnected = waitForEvent(svc, "connection:connected", { timeout: 10_000 });
    proxy.restore();
    await reconnected;
    expect(calls).toBeGreaterThanOrEqual(2);
    // Every handshake that reached the server carried a token fetched just for it.
    expect(server.seenTokens.at(-1)).toBe(`token-${calls}`);
    expect(new Set(server.seenTokens).size).toBe(server.seenTokens.length);
  });

  it("while backing off: an attempt at once, with a fresh token from the provider", async () => {
    const { server } = await labServer({ tokens: ["token-1", "token-2"] });
    let calls = 0;
    const svc = service(server.url, { baseDelay: 20_000, maxDelay: 20_000 }, { auth: () => `token-${++calls}` });
    await connect(svc);
    await killAndWaitForBackoff(svc, server);
    await server.restart();
    const resumedAt = Date.now();
    svc.notifyResume();
    await waitForState(svc, "connected", 3_000);
    expect(Date.now() - resumedAt).toBeLessThan(3_000);
    expect(calls).toBe(2);
    expect(server.seenTokens).toEqual(["token-1", "token-2"]);
  });
});
