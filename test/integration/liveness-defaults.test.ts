import { afterEach, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import { TcpProxy } from "../../lab/tcpProxy.js";
import { DEFAULT_CONFIG } from "../../src/machine/config.js";
import { createWebSocketService, type WebSocketService } from "../../src/services/WebSocketService.js";
import { eventually, recordEvents, Tally, waitForEvent, waitForState } from "../support/events.js";

/**
 * Dead-link detection with the DEFAULT configuration (heartbeat every 25 s, ack timeout
 * 5 s, 3 misses): one long run, in its own file so that it runs beside the others.
 */

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it("with the default config, a blackhole after the first acked heartbeat is detected within 25 s + 3 × 5 s", { timeout: 75_000 }, async () => {
  const beats = new Tally();
  const server = await LabServer.start({ onConnection: (socket) => socket.on("heartbeat", () => beats.push(undefined)) });
  cleanups.push(() => server.close());
  const proxy = await TcpProxy.start(server.port);
  cleanups.push(() => proxy.close());
  const svc: WebSocketService = createWebSocketService({ url: proxy.url });
  cleanups.push(() => svc.dispose());

  svc.connect();
  await waitForState(svc, "connected");
  await beats.waitFor(1);
  // An ack has no event of its own: it shows as a measured latency.
  await eventually(() => expect(svc.getStatus().latency).not.toBeNull(), 5_000);

  const recorder = recordEvents(svc, ["connection:health_degraded", "connection:disconnected"]);
  const bound = DEFAULT_CONFIG.heartbeatInterval + DEFAULT_CONFIG.unhealthyThreshold * DEFAULT_CONFIG.heartbeatTimeout;
  const dropped = waitForEvent(svc, "connection:disconnected", { timeout: bound + 10_000 });
  const blackholedAt = Date.now();
  proxy.blackhole();
  const { reason } = await dropped;
  const elapsed = Date.now() - blackholedAt;
  console.log(
    `default config: blackhole detected after ${elapsed} ms (bound ${bound} ms = ` +
      `${DEFAULT_CONFIG.heartbeatInterval} + ${DEFAULT_CONFIG.unhealthyThreshold} × ${DEFAULT_CONFIG.heartbeatTimeout})`,
  );
  expect(reason).toBe("heartbeat timeout");
  expect(recorder.events.map((event) => event.name)).toEqual(["connection:health_degraded", "connection:disconnected"]);
  expect(elapsed).toBeLessThanOrEqual(bound + 2_000);
  // Not before the next heartbeat was due: the link was quiet, not dead, until then.
  expect(elapsed).toBeGreaterThanOrEqual(DEFAULT_CONFIG.heartbeatInterval - 2_000);

  const reconnected = waitForEvent(svc, "connection:connected", { timeout: 20_000 });
  const restoredAt = Date.now();
  proxy.restore();
  await reconnected;
  console.log(`default config: connected again ${Date.now() - restoredAt} ms after the link was restored`);
  recorder.stop();
  expect(svc.getStatus()).toMatchObject({ state: "connected", attempt: 0 });
});
