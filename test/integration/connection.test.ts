import { afterEach, describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import { SilentListener, unusedPort } from "../../lab/tcpProxy.js";
import { DEFAULT_CONFIG, computeBackoffDelay } from "../../src/index.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import { createWebSocketService, type WebSocketServiceOptions } from "../../src/services/WebSocketService.js";
import {
  createCleanup,
  eventually,
  eventsDuring,
  recordEvents,
  referenceRetryLoop,
  waitForEvent,
  waitForState,
} from "../support/events.js";

const cleanup = createCleanup();
afterEach(() => cleanup.run());

const startServer = async (options: Parameters<typeof LabServer.start>[0] = {}) =>
  cleanup.add(await LabServer.start(options), (server) => server.close());

const service = (options: WebSocketServiceOptions) =>
  cleanup.add(createWebSocketService(options), (created) => created.dispose());

/** Jitter sources that replay a fixed cycle of values, so every delay can be recomputed. */
function cycle(values: readonly number[]) {
  let index = 0;
  return () => values[index++ % values.length]!;
}

const fast: Partial<ConnectionConfig> = {
  baseDelay: 60,
  maxDelay: 300,
  jitterRange: 40,
  connectionTimeout: 1000,
};

describe("connected to a plain Socket.IO server", () => {
  it("reports connected with the contract's status fields and health 100", async () => {
    const server = await startServer();
    const ws = service({ url: server.url, config: fast });
    expect(ws.getStatus()).toMatchObject({ state: "idle", isConnected: false, healthScore: 0, attempt: 0 });

    const connected = waitForEvent(ws, "connection:connected");
    ws.connect();
    const { socketId } = await connected;

    expect(socketId).toEqual(expect.any(String));
    expect(socketId.length).toBeGreaterThan(0);
    const status = ws.getStatus();
    expect(status).toMatchObject({
      state: "connected",
      isConnected: true,
      attempt: 0,
      maxAttempts: DEFAULT_CONFIG.maxReconnectAttempts,
      nextRetryAt: null,
      nextRetryDelay: null,
      healthScore: 100,
      quality: "excellent",
      consecutiveFailures: 0,
      lastError: null,
      network: "online",
      jitterStrategy: DEFAULT_CONFIG.jitterStrategy,
      socketId,
    });
    expect(status.latency === null || typeof status.latency === "number").toBe(true);
    expect(ws.getHealthScore()).toBe(100);
    expect(server.connections).toBe(1);
    expect(server.openSockets()).toBe(1);
  });

  it("measures the heartbeat round trip as latency and keeps health 100", async () => {
    const server = await startServer();
    const ws = service({ url: server.url, config: { ...fast, heartbeatInterval: 100, healthCheckInterval: 300 } });
    ws.connect();
    await waitForState(ws, "connected");
    // The first health check comes after three heartbeat intervals.
    const check = await waitForEvent(ws, "connection:health_check");
    expect(check).toMatchObject({ healthScore: 100, healthy: true });
    const status = ws.getStatus();
    expect(status.latency).toEqual(expect.any(Number));
    expect(status.latency).toBeGreaterThanOrEqual(0);
    expect(status).toMatchObject({ state: "connected", healthScore: 100, consecutiveFailures: 0 });
  }, 10_000);

  it("delivers every server event as message { event, args }, in order", async () => {
    const server = await startServer({
      onConnection: (socket) => {
        socket.emit("welcome", "hi", 1);
        socket.on("ping-me", () => {
          socket.emit("news", { id: 1 }, [2, 3]);
          socket.emit("empty");
          socket.emit("news", { id: 2 });
        });
      },
    });
    const ws = service({ url: server.url, config: fast });
    const messages = recordEvents(ws, ["message"]);
    const welcome = waitForEvent(ws, "message", { filter: ({ event }) => event === "welcome" });
    ws.connect();
    expect(await welcome).toEqual({ event: "welcome", args: ["hi", 1] });

    const last = waitForEvent(ws, "message", { filter: ({ event, args }) => event === "news" && args.length === 1 });
    ws.send("ping-me");
    await last;
    expect(messages.of("message")).toEqual([
      { event: "welcome", args: ["hi", 1] },
      { event: "news", args: [{ id: 1 }, [2, 3]] },
      { event: "empty", args: [] },
      { event: "news", args: [{ id: 2 }] },
    ]);

    const broadcast = waitForEvent(ws, "message", { filter: ({ event }) => event === "broadcast" });
    server.io.emit("broadcast", "to all");
    expect(await broadcast).toEqual({ event: "broadcast", args: ["to all"] });
  });

  it("connects to a ws:// URL as well", async () => {
    const server = await startServer();
    const ws = service({ url: server.url.replace("http:", "ws:"), config: fast });
    ws.connect();
    await waitForState(ws, "connected");
    expect(server.connections).toBe(1);
  });
});

describe("server killed and restarted on the same port", () => {
  for (const strategy of ["additive", "default"] as const) {
    it(`retries with the ${strategy} strategy's delays, then reconnects with attempt back to 0`, async () => {
      const server = await startServer();
      const config: Partial<ConnectionConfig> =
        strategy === "additive" ? { ...fast, jitterStrategy: "additive" } : { ...fast };
      const values = [0.1, 0.7, 0.4, 0.95, 0.25];
      const ws = service({ url: server.url, config, random: cycle(values) });
      ws.connect();
      await waitForState(ws, "connected");
      expect(ws.getStatus().jitterStrategy).toBe(strategy === "additive" ? "additive" : DEFAULT_CONFIG.jitterStrategy);

      const log = recordEvents(ws, [
        "connection:disconnected",
        "connection:failed",
        "connection:reconnecting",
        "connection:reconnected",
        "connection:connected",
      ]);
      const thirdRetry = waitForEvent(ws, "connection:reconnecting", { filter: ({ attempt }) => attempt === 3 });
      await server.kill();
      await thirdRetry;
      expect(ws.getStatus().state).toBe("backingOff");
      expect(ws.getStatus().attempt).toBeGreaterThanOrEqual(2);
      expect(ws.getStatus().nextRetryDelay).toEqual(expect.any(Number));
      expect(ws.getStatus().nextRetryAt).toEqual(expect.any(Number));

      const reconnected = waitForEvent(ws, "connection:reconnected");
      await server.restart();
      const { attempts } = await reconnected;
      log.stop();

      const resolved = { ...DEFAULT_CONFIG, ...config };
      const retries = log.of("connection:reconnecting");
      expect(retries.length).toBe(attempts);
      retries.forEach(({ attempt, delay }, index) => {
        expect(attempt).toBe(index + 1);
        // The only draws of `random` are the retry delays: draw n is values[n % length].
        const r = values[index % values.length]!;
        expect(delay).toBe(Math.round(computeBackoffDelay(index + 1, resolved, () => r)));
      });
      // "transport error" when a polling request was in flight as the server died.
      expect(log.events[0]).toMatchObject({
        name: "connection:disconnected",
        payload: { reason: expect.stringMatching(/^transport (close|error)$/) },
      });
      // Every retry but the last one failed (the port was closed), each counted.
      const failures = log.of("connection:failed");
      expect(failures.map((failure) => failure.attempt)).toEqual(
        Array.from({ length: attempts - 1 }, (_, index) => index + 1),
      );
      const status = ws.getStatus();
      expect(status).toMatchObject({ state: "connected", attempt: 0, nextRetryAt: null, lastError: null });
      expect(server.connections).toBe(2);
      expect(server.openSockets()).toBe(1);
    });
  }
});

describe("connection refused", () => {
  const config: Partial<ConnectionConfig> = { ...fast, maxReconnectAttempts: 3 };

  /** A refused port, and a LabServer started on it later. */
  async function refusedPort() {
    const port = await unusedPort();
    return { url: `http://127.0.0.1:${port}`, listen: () => startServer({ port }) };
  }

  async function exhaust(ws: ReturnType<typeof service>) {
    const log = recordEvents(ws, ["connection:failed", "connection:reconnecting", "connection:max_attempts_reached"]);
    const exhausted = waitForEvent(ws, "connection:max_attempts_reached");
    return {
      log,
      done: exhausted.then((payload) => {
        log.stop();
        return payload;
      }),
    };
  }

  it("counts failures and is exhausted after exactly maxReconnectAttempts in a row; then tries nothing more", async () => {
    const refused = await refusedPort();
    const ws = service({ url: refused.url, config });
    const { log, done } = await exhaust(ws);
    ws.connect();
    expect(await done).toEqual({ attempts: 3 });

    expect(log.of("connection:failed").map((failure) => failure.attempt)).toEqual([1, 2, 3]);
    for (const failure of log.of("connection:failed")) expect(failure.error.message).toEqual(expect.any(String));
    expect(log.of("connection:reconnecting").map((retry) => retry.attempt)).toEqual([1, 2]);
    expect(ws.getStatus()).toMatchObject({
      state: "exhausted",
      attempt: 3,
      maxAttempts: 3,
      isConnected: false,
      healthScore: 0,
      nextRetryAt: null,
      nextRetryDelay: null,
    });
    expect(ws.getStatus().lastError?.message).toEqual(expect.any(String));

    // A retry loop with the same backoff runs three more delays; nothing may happen meanwhile.
    const quiet = await eventsDuring(
      ws,
      ["connection:failed", "connection:reconnecting", "connection:connected"],
      referenceRetryLoop(config, 3),
    );
    expect(quiet.events).toEqual([]);
    expect(ws.getStatus().state).toBe("exhausted");

    const server = await refused.listen();
    // Now listening: still no handshake until told.
    await referenceRetryLoop(config, 1);
    expect(server.handshakes).toBe(0);
    ws.connect();
    await waitForState(ws, "connected");
    expect(server.handshakes).toBe(1);
    expect(ws.getStatus().attempt).toBe(0);
  });

  for (const method of ["connect", "forceReconnection", "notifyOnline"] as const) {
    it(`${method}() starts again from exhausted with the counter at 0`, async () => {
      const refused = await refusedPort();
      const ws = service({ url: refused.url, config });
      const first = await exhaust(ws);
      ws.connect();
      await first.done;

      // Still refused: a whole new round of maxReconnectAttempts failures, counted from 1.
      const second = await exhaust(ws);
      const outcome = method === "forceReconnection" ? ws.forceReconnection() : (ws[method](), undefined);
      expect(ws.getStatus().state).not.toBe("exhausted");
      if (outcome) await expect(outcome).rejects.toThrow(/exhausted/);
      expect(await second.done).toEqual({ attempts: 3 });
      expect(second.log.of("connection:failed").map((failure) => failure.attempt)).toEqual([1, 2, 3]);

      const server = await refused.listen();
      if (method === "forceReconnection") await ws.forceReconnection();
      else ws[method]();
      await waitForState(ws, "connected");
      expect(ws.getStatus().attempt).toBe(0);
      expect(server.handshakes).toBe(1);
    });
  }
});

describe("a server that accepts TCP and never answers", () => {
  it("fails the attempt by connectionTimeout with a message naming the timeout", async () => {
    const listener = cleanup.add(await SilentListener.start(), (silent) => silent.close());
    const ws = service({ url: listener.url, config: { ...fast, connectionTimeout: 300, maxReconnectAttempts: 2 } });
    const failed = waitForEvent(ws, "connection:failed");
    const started = Date.now();
    ws.connect();
    const { attempt, error } = await failed;
    const elapsed = Date.now() - started;
    expect(attempt).toBe(1);
    expect(error.message).toMatch(/time(d)?[\s_-]?out/i);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
    expect(listener.accepted).toBeGreaterThanOrEqual(1);
    expect(ws.getStatus().lastError?.message).toMatch(/time(d)?[\s_-]?out/i);
    await waitForEvent(ws, "connection:max_attempts_reached");
  });

  it("a timed-out attempt closes its own TCP connection: a hung server never collects one per attempt", async () => {
    const listener = cleanup.add(await SilentListener.start(), (silent) => silent.close());
    const ws = service({ url: listener.url, config: { ...fast, connectionTimeout: 200, maxReconnectAttempts: 4 } });
    const exhausted = waitForEvent(ws, "connection:max_attempts_reached");
    ws.connect();
    await exhausted;
    expect(listener.accepted).toBeGreaterThanOrEqual(4);
    await eventually(() => expect(listener.openConnections()).toBe(0));
  });
});

describe("server-initiated disconnect", () => {
  it("goes idle and is not retried", async () => {
    const server = await startServer();
    const ws = service({ url: server.url, config: fast });
    ws.connect();
    await waitForState(ws, "connected");

    const disconnected = waitForEvent(ws, "connection:disconnected");
    server.kickAll();
    expect(await disconnected).toEqual({ reason: "io server disconnect" });
    await waitForState(ws, "idle");

    const quiet = await eventsDuring(
      ws,
      ["connection:reconnecting", "connection:failed", "connection:connected"],
      referenceRetryLoop(fast, 3),
    );
    expect(quiet.events).toEqual([]);
    expect(ws.getStatus()).toMatchObject({ state: "idle", attempt: 0, nextRetryAt: null });
    expect(server.handshakes).toBe(1);

    ws.connect();
    await waitForState(ws, "connected");
    expect(server.handshakes).toBe(2);
  });

  it("reconnects with config.reconnectOnServerDisconnect", async () => {
    const server = await startServer();
    const ws = service({ url: server.url, config: { ...fast, reconnectOnServerDisconnect: true } });
    ws.connect();
    await waitForState(ws, "connected");

    const log = recordEvents(ws, ["connection:disconnected", "connection:reconnecting"]);
    const reconnected = waitForEvent(ws, "connection:reconnected");
    server.kickAll();
    expect(await reconnected).toEqual({ attempts: 1, recovered: false });
    expect(log.of("connection:disconnected")).toEqual([{ reason: "io server disconnect" }]);
    expect(log.of("connection:reconnecting")).toEqual([{ attempt: 1, delay: expect.any(Number), server: server.url }]);
    expect(ws.getStatus()).toMatchObject({ state: "connected", attempt: 0 });
    expect(server.connections).toBe(2);
    expect(server.openSockets()).toBe(1);
  });
});
