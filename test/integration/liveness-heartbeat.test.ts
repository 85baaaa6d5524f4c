import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import { createWebSocketService, type WebSocketService } from "../../src/services/WebSocketService.js";
import { recordEvents, Tally, waitForEvent, waitForEvents, waitForState } from "../support/events.js";

/**
 * Heartbeat, latency and health against real Socket.IO servers on 127.0.0.1: the lab
 * server (with and without heartbeat acks) and a bare `new Server()` with no handler at all.
 */

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// heartbeatTimeout <= heartbeatInterval: then a heartbeat goes out every interval even unanswered.
const FAST: Partial<ConnectionConfig> = { heartbeatInterval: 100, heartbeatTimeout: 100, healthCheckInterval: 150 };

function service(url: string, config: Partial<ConnectionConfig> = FAST): WebSocketService {
  const created = createWebSocketService({ url, config });
  cleanups.push(() => created.dispose());
  return created;
}

async function labServer(options: Parameters<typeof LabServer.start>[0] = {}): Promise<LabServer> {
  const server = await LabServer.start(options);
  cleanups.push(() => server.close());
  return server;
}

/** A Socket.IO v4 server with no middleware and no handler whatsoever. */
async function bareServer(): Promise<{ url: string; io: Server }> {
  const http = createServer();
  const io = new Server(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", () => resolve()));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        io.disconnectSockets(true);
        io.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, io };
}

/** Connects and checks that it stays healthy over `checks` health checks (several heartbeats each). */
async function expectHealthyOver(svc: WebSocketService, checks: number): Promise<void> {
  const recorder = recordEvents(svc, ["connection:health_degraded", "connection:disconnected"]);
  svc.connect();
  await waitForState(svc, "connected");
  const results = await waitForEvents(svc, "connection:health_check", checks);
  recorder.stop();
  for (const check of results) {
    expect(check).toMatchObject({ healthScore: 100, healthy: true, quality: "excellent" });
  }
  expect(recorder.events).toEqual([]);
  const status = svc.getStatus();
  expect(status).toMatchObject({ state: "connected", healthScore: 100, consecutiveFailures: 0 });
  expect(svc.getHealthScore()).toBe(100);
}

describe("a server that never acks heartbeats is not penalised", () => {
  it("lab server with ackHeartbeats:false: connected, health 100, no degraded, over many intervals", async () => {
    const beats = new Tally();
    const server = await labServer({
      ackHeartbeats: false,
      onConnection: (socket) => socket.on("heartbeat", () => beats.push(undefined)),
    });
    const svc = service(server.url);
    await expectHealthyOver(svc, 6);
    // 6 checks at 150 ms = 900 ms at 100 ms per heartbeat: the heartbeats did go out unanswered.
    expect(beats.count).toBeGreaterThanOrEqual(5);
    expect(svc.getStatus().latency).toBeNull();
    expect(server.connections).toBe(1);
  });

  it("a bare new Server() with no handlers at all: connected, health 100, no degraded", async () => {
    const { url, io } = await bareServer();
    const svc = service(url);
    await expectHealthyOver(svc, 6);
    expect(svc.getStatus().latency).toBeNull();
    expect(io.of("/").sockets.size).toBe(1);
  });
});

describe("a server that acks heartbeats", () => {
  it("the first heartbeat goes out as soon as the connection is up, then one per interval", async () => {
    const beats = new Tally();
    const server = await labServer({ onConnection: (socket) => socket.on("heartbeat", () => beats.push(undefined)) });
    const svc = service(server.url, { heartbeatInterval: 300, healthCheckInterval: 60_000 });
    const connected = waitForEvent(svc, "connection:connected");
    svc.connect();
    await connected;
    const connectedAt = Date.now();
    await beats.waitFor(1);
    // Right after connect, not one interval later.
    expect(beats.items[0]!.at - connectedAt).toBeLessThan(250);
    await beats.waitFor(4);
    const gaps = beats.items.slice(1).map((item, i) => item.at - beats.items[i]!.at);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(250);
      expect(gap).toBeLessThan(1_500);
    }
  });

  it("an acked heartbeat gives a latency in ms (a number >= 0) and health stays 100", async () => {
    const server = await labServer();
    const svc = service(server.url);
    expect(svc.getStatus().latency).toBeNull();
    svc.connect();
    const check = await waitForEvent(svc, "connection:health_check", { filter: (payload) => payload.latency !== null });
    expect(check.latency).toBeGreaterThanOrEqual(0);
    expect(check.latency).toBeLessThan(1_000);
    const { latency, healthScore, quality, consecutiveFailures } = svc.getStatus();
    expect(typeof latency).toBe("number");
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(healthScore).toBe(100);
    expect(quality).toBe("excellent");
    expect(consecutiveFailures).toBe(0);
  });

  it("a slow but steady acker (250 ms) is never taken for dead: the ack timeout adapts to it", async () => {
    const beats = new Tally();
    const server = await labServer({
      ackHeartbeats: false,
      onConnection: (socket) =>
        socket.on("heartbeat", (ack: () => void) => {
          beats.push(undefined);
          setTimeout(ack, 250);
        }),
    });
    const svc = service(server.url, {
      heartbeatInterval: 100,
      heartbeatTimeout: 2_000,
      minHeartbeatTimeout: 50,
      healthCheckInterval: 200,
    });
    const recorder = recordEvents(svc, ["connection:health_degraded", "connection:disconnected"]);
    svc.connect();
    await waitForState(svc, "connected");
    const startedAt = Date.now();
    const checks = await waitForEvents(svc, "connection:health_check", 10);
    const elapsed = Date.now() - startedAt;
    recorder.stop();
    expect(recorder.events).toEqual([]);
    for (const check of checks) expect(check.healthy).toBe(true);
    expect(svc.getStatus().latency).toBeGreaterThanOrEqual(240);
    // One heartbeat per max(interval, round trip) ≈ 250 ms; a probe storm would send one every 50 ms.
    console.log(`slow acker: ${beats.count} heartbeats in ${elapsed} ms, consecutiveFailures ${svc.getStatus().consecutiveFailures}`);
    expect(beats.count).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 3);
  });
});

describe("health checks", () => {
  it("carry healthScore, healthy and quality every healthCheckInterval; getHealthScore() is 0 when not connected", async () => {
    const server = await labServer();
    const svc = service(server.url, { heartbeatInterval: 100, healthCheckInterval: 150, baseDelay: 5_000, maxDelay: 5_000 });
    expect(svc.getHealthScore()).toBe(0);
    expect(svc.getStatus()).toMatchObject({ healthScore: 0, quality: "disconnected", isConnected: false });
    svc.connect();
    await waitForState(svc, "connected");
    const startedAt = Date.now();
    const checks = await waitForEvents(svc, "connection:health_check", 4);
    const elapsed = Date.now() - startedAt;
    for (const check of checks) {
      expect(check).toEqual(expect.objectContaining({ healthScore: 100, healthy: true, quality: "excellent" }));
    }
    // 4 checks at 150 ms: not much faster, and not far slower.
    expect(elapsed).toBeGreaterThanOrEqual(4 * 150 - 50);
    expect(elapsed).toBeLessThan(4 * 150 + 1_500);
    expect(svc.getHealthScore()).toBe(svc.getStatus().healthScore);

    const dropped = waitForEvent(svc, "connection:disconnected");
    await server.kill();
    await dropped;
    expect(svc.getStatus().state).toBe("backingOff");
    expect(svc.getHealthScore()).toBe(0);
    expect(svc.getStatus()).toMatchObject({ healthScore: 0, quality: "disconnected" });
    // No health check while not connected.
    const late = recordEvents(svc, ["connection:health_check"]);
    svc.disconnect();
    expect(svc.getHealthScore()).toBe(0);
    late.stop();
    expect(late.events).toEqual([]);
  });
});
