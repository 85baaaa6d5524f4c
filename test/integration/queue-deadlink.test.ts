import { afterEach, describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import { TcpProxy } from "../../lab/tcpProxy.js";
import { createWebSocketService } from "../../src/services/WebSocketService.js";
import { createCleanup, recordEvents, Tally, waitForEvent, waitForState } from "../support/events.js";

/**
 * Sends around a link that dies silently (a real TCP proxy that stops forwarding): nothing
 * is lost without a message:dropped, and nothing arrives twice.
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

/** Resolves when the chart's context satisfies `predicate` (checked on every snapshot). */
function untilContext(svc: Service, predicate: (context: Context) => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (predicate(svc.actor.getSnapshot().context)) return resolve();
    const subscription = svc.actor.subscribe((snapshot) => {
      if (!predicate(snapshot.context)) return;
      subscription.unsubscribe();
      resolve();
    });
  });
}

const isSuspect = (context: Context) => context.consecutiveFailures > 0;
const hasAckedHeartbeat = (context: Context) => context.heartbeatsAcked && context.latency !== null;

describe("sends on a link that dies silently", () => {
  it("announces what was emitted into the dead link, holds what came after the first miss, delivers that once", async () => {
    const { proxy, svc, received } = await rig();
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, hasAckedHeartbeat);

    const drops = recordEvents(svc, ["message:dropped"]);
    proxy.blackhole();
    svc.send("note", "into-the-void");
    await untilContext(svc, isSuspect);
    svc.send("note", "held");
    expect(svc.getStatus().queuedMessages).toBe(1);

    await waitForEvent(svc, "connection:health_degraded");
    expect(drops.of("message:dropped")).toEqual([{ event: "note", reason: "unconfirmed", args: ["into-the-void"] }]);

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
    svc.send("note", "confirmed");
    await received.waitFor(1);
    expect(svc.actor.getSnapshot().context.unconfirmed).toHaveLength(1);
    await untilContext(svc, (context) => context.unconfirmed.length === 0);
    const drops = recordEvents(svc, ["message:dropped"]);
    const lost = waitForEvent(svc, "connection:disconnected");
    await server.kill();
    await lost;
    expect(drops.of("message:dropped")).toEqual([]);
    expect(received.values).toEqual(["confirmed"]);
  });
});
