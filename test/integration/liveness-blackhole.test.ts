import { afterEach, describe, expect, it } from "vitest";
import { LabServer, type LabServerOptions } from "../../lab/server.js";
import { TcpProxy } from "../../lab/tcpProxy.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import { createWebSocketService, type WebSocketService } from "../../src/services/WebSocketService.js";
import { recordEvents, Tally, waitForEvent, waitForState } from "../support/events.js";

/**
 * Dead-link detection: a real Socket.IO server behind a real TCP proxy on 127.0.0.1 that
 * stops forwarding without closing anything (packets dropped, no FIN/RST).
 */

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Rig {
  server: LabServer;
  proxy: TcpProxy;
  svc: WebSocketService;
  beats: Tally;
}

async function rig(config: Partial<ConnectionConfig>, serverOptions: LabServerOptions = {}): Promise<Rig> {
  const beats = new Tally();
  const server = await LabServer.start({
    ...serverOptions,
    onConnection: (socket) => socket.on("heartbeat", () => beats.push(undefined)),
  });
  cleanups.push(() => server.close());
  const proxy = await TcpProxy.start(server.port);
  cleanups.push(() => proxy.close());
  const svc = createWebSocketService({
    url: proxy.url,
    config: { baseDelay: 100, maxDelay: 200, connectionTimeout: 500, ...config },
  });
  cleanups.push(() => svc.dispose());
  return { server, proxy, svc, beats };
}

/** Connects and waits until `count` heartbeats reached the server and one ack came back. */
async function connectWithAckedHeartbeats({ svc, beats }: Rig, count: number): Promise<void> {
  svc.connect();
  await waitForState(svc, "connected");
  await beats.waitFor(count);
  if (svc.getStatus().latency === null) {
    await waitForEvent(svc, "connection:health_check", { filter: (check) => check.latency !== null });
  }
  expect(svc.getStatus().latency).not.toBeNull();
}

describe("a silent loss on a link whose heartbeats were acked", () => {
  it("is detected within heartbeatInterval + unhealthyThreshold × heartbeatTimeout, then reconnects once restored", async () => {
    const config = { heartbeatInterval: 1_000, heartbeatTimeout: 500, unhealthyThreshold: 3, healthCheckInterval: 200 };
    const setup = await rig(config);
    const { svc, proxy, server } = setup;
    await connectWithAckedHeartbeats(setup, 2);
    const recorder = recordEvents(svc, ["connection:health_degraded", "connection:disconnected"]);

    const degraded = waitForEvent(svc, "connection:health_degraded", { timeout: 15_000 });
    const dropped = waitForEvent(svc, "connection:disconnected", { timeout: 15_000 });
    const blackholedAt = Date.now();
    proxy.blackhole();
    const degradation = await degraded;
    const degradedAt = Date.now();
    const { reason } = await dropped;
    const droppedAt = Date.now();

    const bound = config.heartbeatInterval + config.unhealthyThreshold * config.heartbeatTimeout;
    console.log(
      `blackhole detection (interval 1000, timeout 500, threshold 3): health_degraded after ${degradedAt - blackholedAt} ms, ` +
        `disconnected after ${droppedAt - blackholedAt} ms (bound ${bound} ms)`,
    );
    expect(reason).toBe("heartbeat timeout");
    expect(degradation.consecutiveFailures).toBe(config.unhealthyThreshold);
    expect(degradation.healthScore).toBeLessThan(100);
    expect(droppedAt - blackholedAt).toBeLessThanOrEqual(bound + 1_000);
    // health_degraded comes first, then the drop, and only one of each.
    expect(recorder.events.map((event) => event.name)).toEqual([
      "connection:health_degraded",
      "connection:disconnected",
    ]);
    const status = svc.getStatus();
    expect(["backingOff", "connecting"]).toContain(status.state);
    expect(status.healthScore).toBe(0);
    expect(status.lastError?.message).toMatch(/heartbeat/);

    const connectionsBefore = server.connections;
    const reconnected = waitForEvent(svc, "connection:connected", { timeout: 10_000 });
    const restoredAt = Date.now();
    proxy.restore();
    await reconnected;
    console.log(`blackhole restored: connected again after ${Date.now() - restoredAt} ms`);
    expect(server.connections).toBe(connectionsBefore + 1);
    expect(svc.getStatus()).toMatchObject({ state: "connected", attempt: 0, consecutiveFailures: 0 });
    recorder.stop();
  });

  it("the ack timeout adapts to the measured round trip: on loopback a loss is found long before the ceiling", async () => {
    // Ceiling 3000 ms, floor 150 ms: with a round trip of a few ms, each miss costs the floor.
    const config = { heartbeatInterval: 500, heartbeatTimeout: 3_000, minHeartbeatTimeout: 150, unhealthyThreshold: 3 };
    const setup = await rig({ ...config, healthCheckInterval: 200 });
    const { svc, proxy, beats } = setup;
    await connectWithAckedHeartbeats(setup, 3);
    const dropped = waitForEvent(svc, "connection:disconnected", { timeout: 15_000 });
    const beatsBefore = beats.count;
    const blackholedAt = Date.now();
    proxy.blackhole();
    const { reason } = await dropped;
    const elapsed = Date.now() - blackholedAt;
    console.log(`adaptive timeout: blackhole detected after ${elapsed} ms (ceiling bound ${500 + 3 * 3_000} ms)`);
    expect(reason).toBe("heartbeat timeout");
    expect(elapsed).toBeLessThanOrEqual(config.heartbeatInterval + config.unhealthyThreshold * config.minHeartbeatTimeout + 1_000);
    expect(elapsed).toBeLessThan(config.heartbeatInterval + config.unhealthyThreshold * config.heartbeatTimeout);
    // Nothing reached the server through the blackhole.
    expect(beats.count).toBe(beatsBefore);
  });

  it("a missed ack makes the link suspect: the probes that follow go out at short spacing, not an interval apart", async () => {
    const config = { heartbeatInterval: 2_000, heartbeatTimeout: 300, unhealthyThreshold: 3, healthCheckInterval: 200 };
    const setup = await rig(config);
    const { svc, proxy } = setup;
    await connectWithAckedHeartbeats(setup, 1);
    // Through the blackhole nothing reaches the server: count the heartbeats the chart sends.
    const probesAt: number[] = [];
    let lastSeq = svc.actor.getSnapshot().context.heartbeatSeq;
    const sub = svc.actor.subscribe((snapshot) => {
      if (snapshot.context.heartbeatSeq === lastSeq) return;
      lastSeq = snapshot.context.heartbeatSeq;
      probesAt.push(Date.now());
    });
    const dropped = waitForEvent(svc, "connection:disconnected", { timeout: 15_000 });
    proxy.blackhole();
    await dropped;
    sub.unsubscribe();
    // The regular heartbeat, then (threshold - 1) probes right after each miss.
    expect(probesAt.length).toBe(config.unhealthyThreshold);
    const spacing = probesAt.slice(1).map((at, i) => at - probesAt[i]!);
    for (const gap of spacing) expect(gap).toBeLessThan(config.heartbeatInterval / 2);
  });
});

describe("a silent loss on a link whose server never acks heartbeats", () => {
  it("is not counted against heartbeats; Engine.IO's ping timeout drops it ('ping timeout')", async () => {
    // Heartbeat misses would be counted within 50 + 3 × 50 ms if they counted at all.
    const config = { heartbeatInterval: 50, heartbeatTimeout: 50, unhealthyThreshold: 3, healthCheckInterval: 100 };
    const setup = await rig(config, { ackHeartbeats: false, pingInterval: 200, pingTimeout: 200 });
    const { svc, proxy, beats } = setup;
    svc.connect();
    await waitForState(svc, "connected");
    await beats.waitFor(4);
    expect(svc.getStatus().latency).toBeNull();
    const recorder = recordEvents(svc, ["connection:health_degraded", "connection:disconnected"]);
    const dropped = waitForEvent(svc, "connection:disconnected", { timeout: 10_000 });
    const blackholedAt = Date.now();
    proxy.blackhole();
    const { reason } = await dropped;
    const elapsed = Date.now() - blackholedAt;
    console.log(`never-acking server: blackhole dropped by Engine.IO after ${elapsed} ms (${reason})`);
    expect(reason).toBe("ping timeout");
    expect(elapsed).toBeLessThan(200 + 200 + 1_500);
    expect(recorder.of("connection:health_degraded")).toEqual([]);

    const reconnected = waitForEvent(svc, "connection:connected", { timeout: 10_000 });
    proxy.restore();
    await reconnected;
    recorder.stop();
    expect(svc.getStatus().state).toBe("connected");
  });
});
