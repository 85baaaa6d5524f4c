import { describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import { SilentListener, unusedPort } from "../../lab/tcpProxy.js";
import { createWebSocketService } from "../../src/services/WebSocketService.js";
import {
  activeResources,
  eventually,
  recordEvents,
  referenceRetryLoop,
  waitForEvent,
  waitForState,
} from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

const { cleanup, service } = integrationRig();

const fast = { ...FAST_RETRY, heartbeatInterval: 200, healthCheckInterval: 300 };

/** Closes once, whether the test or the cleanup gets there first. */
function closeOnce(close: () => Promise<void>) {
  let closing: Promise<void> | null = null;
  return () => (closing ??= close());
}

async function startServer(options: Parameters<typeof LabServer.start>[0] = {}) {
  const server = await LabServer.start(options);
  const close = closeOnce(() => server.close());
  cleanup.add(close, (run) => run());
  return { server, close };
}

/**
 * A bare vitest worker holds only its IPC pipes (ignored by `activeResources`) and, for a few
 * hundred ms after a test starts, one runner timer of its own: hence `eventually`. Anything
 * else after dispose and close is ours, and a leak.
 */
const expectNothingLeft = () => eventually(() => expect(activeResources()).toEqual([]), 5000);

describe("dispose()", () => {
  it("while backing off: queued sends dropped as disposed, pending requests rejected, nothing left behind", async () => {
    const { server, close } = await startServer();
    const ws = service({ url: server.url, config: fast });
    ws.connect();
    await waitForState(ws, "connected");
    const retry = waitForEvent(ws, "connection:reconnecting");
    await server.kill();
    await retry;

    ws.send("one", 1);
    ws.send("two", 2);
    const pending = ws.request("three", 3);
    const log = recordEvents(ws, ["message:dropped", "connection:disconnected"]);
    ws.dispose();

    expect(log.of("message:dropped")).toEqual([
      { event: "one", reason: "disposed", args: [1] },
      { event: "two", reason: "disposed", args: [2] },
      { event: "three", reason: "disposed", args: [3] },
    ]);
    await expect(pending).rejects.toThrow(/dispose/);
    expect(ws.getStatus()).toMatchObject({
      state: "idle",
      disposed: true,
      isConnected: false,
      queuedMessages: 0,
      nextRetryAt: null,
    });

    // Later calls are no-ops.
    await server.restart();
    ws.connect();
    ws.notifyOnline();
    ws.notifyResume();
    ws.setAuthToken("late");
    ws.send("late", 1);
    ws.disconnect();
    ws.dispose();
    const late = ws.on("connection:connected", () => {
      throw new Error("a disposed service has no listeners");
    });
    late();
    await expect(ws.forceReconnection()).rejects.toBeInstanceOf(Error);
    await expect(ws.request("late")).rejects.toBeInstanceOf(Error);
    expect(ws.getStatus()).toMatchObject({ state: "idle", disposed: true, queuedMessages: 0 });
    expect(server.handshakes).toBe(1);

    await close();
    await expectNothingLeft();
    expect(server.handshakes).toBe(1);
  });

  it("while connected: the server sees the socket close, and the process holds nothing of ours", async () => {
    const { server, close } = await startServer();
    const ws = service({ url: server.url, config: fast });
    ws.connect();
    await waitForState(ws, "connected");
    // Let a heartbeat round trip and a health check happen, so their timers exist.
    await waitForEvent(ws, "connection:health_check");
    expect(ws.getStatus().latency).toEqual(expect.any(Number));

    const log = recordEvents(ws, ["connection:disconnected"]);
    ws.dispose();
    expect(log.of("connection:disconnected")).toEqual([{ reason: "disposed" }]);
    await eventually(() => expect(server.openSockets()).toBe(0));
    expect(server.connections).toBe(1);

    await close();
    await expectNothingLeft();
  });

  it("while a handshake hangs on a silent server: nothing left behind", async () => {
    const listener = await SilentListener.start();
    const closeListener = closeOnce(() => listener.close());
    cleanup.add(closeListener, (run) => run());
    const ws = service({ url: listener.url, config: { ...fast, connectionTimeout: 5000 } });
    ws.connect();
    await eventually(() => expect(listener.accepted).toBeGreaterThanOrEqual(1));
    expect(ws.getStatus().state).toBe("connecting");
    ws.dispose();
    await closeListener();
    await expectNothingLeft();
  });

  it("while the token provider is still busy: the late token opens no socket", async () => {
    const { server, close } = await startServer({ tokens: ["good"] });
    let give: (token: string) => void = () => {};
    let asked = 0;
    const ws = service({
      url: server.url,
      auth: () => {
        asked += 1;
        return new Promise<string>((resolve) => {
          give = resolve;
        });
      },
      config: fast,
    });
    ws.connect();
    await eventually(() => expect(asked).toBe(1));
    ws.dispose();
    give("good");
    // A handshake would have reached the server within a retry's time.
    await referenceRetryLoop(fast, 2);
    expect(server.handshakes).toBe(0);
    await close();
    await expectNothingLeft();
  });
});

describe("dispose() from inside a listener", () => {
  it("still announces every queued send as dropped, then releases everything", async () => {
    const port = await unusedPort();
    const ws = createWebSocketService({ url: `http://127.0.0.1:${port}`, config: { connectionTimeout: 1000, baseDelay: 50, maxDelay: 100 } });
    const dropped: unknown[] = [];
    ws.on("message:dropped", (payload) => dropped.push(payload));
    ws.send("note", "one");
    ws.send("note", "two");
    const disposedInside = new Promise<void>((resolve) => {
      ws.on("connection:failed", () => {
        ws.dispose();
        resolve();
      });
    });
    ws.connect();
    await disposedInside;
    expect(ws.getStatus().disposed).toBe(true);
    // The chart finishes its step, announces, then the service lets go.
    await Promise.resolve();
    expect(dropped).toEqual([
      { event: "note", reason: "disposed", args: ["one"] },
      { event: "note", reason: "disposed", args: ["two"] },
    ]);
    expect(ws.getStatus().queuedMessages).toBe(0);
    expect(ws.actor.getSnapshot().status).toBe("stopped");
  });

  it("from a snapshot subscriber too", async () => {
    const ws = createWebSocketService({ url: "http://127.0.0.1:1" });
    const dropped: unknown[] = [];
    ws.on("message:dropped", (payload) => dropped.push(payload));
    ws.send("note", "queued");
    const subscription = ws.actor.subscribe(() => {
      subscription.unsubscribe();
      ws.dispose();
    });
    ws.notifyOffline();
    await Promise.resolve();
    expect(dropped).toEqual([{ event: "note", reason: "disposed", args: ["queued"] }]);
    expect(ws.actor.getSnapshot().status).toBe("stopped");
  });
});
