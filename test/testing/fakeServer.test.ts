import net from "node:net";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { computeBackoffDelay, computeRetryAfterDelay, DEFAULT_CONFIG } from "../../src/index.js";
import type { ConnectionConfig, ServiceEventName } from "../../src/machine/types.js";
import { createWebSocketService, type WebSocketServiceOptions } from "../../src/services/WebSocketService.js";
import { createFakeServer, TestClock } from "../../src/testing/index.js";
import type { FakeServerOptions } from "../../src/testing/fakeServer.js";

/**
 * The fake Socket.IO server of `@softphone/websocket/testing` under the real service: every
 * control does what it says, and the service on top of it behaves as the integration tests
 * (test/integration/*, a real Socket.IO server on 127.0.0.1) find it does on a real one. No
 * network: every TCP connect of this process is counted, and must stay at zero.
 */

const tcpConnects = vi.spyOn(net.Socket.prototype, "connect");
afterAll(() => {
  expect(tcpConnects).not.toHaveBeenCalled();
});

/** The retry timings of the integration tests (test/support/integration.ts FAST_RETRY). */
/** The URL every rig's service is given (connection payloads name it as `server`). */
const SERVER = "https://softphone.example";

const FAST: Partial<ConnectionConfig> = { baseDelay: 60, maxDelay: 300, jitterRange: 40, connectionTimeout: 1000 };

const disposers: (() => void)[] = [];
afterEach(() => {
  for (const dispose of disposers.splice(0)) dispose();
});

/** A service on a fake server, both on one TestClock, with every service event recorded. */
function rig(options: Partial<WebSocketServiceOptions> = {}, serverOptions: Omit<FakeServerOptions, "clock"> = {}) {
  const clock = new TestClock();
  const server = createFakeServer({ clock, ...serverOptions });
  const service = createWebSocketService({
    url: SERVER,
    socketFactory: server.socketFactory,
    clock,
    now: () => clock.now(),
    random: () => 0.5,
    config: FAST,
    ...options,
  });
  disposers.push(() => service.dispose());
  const events: { name: ServiceEventName; payload: unknown; at: number }[] = [];
  const names: ServiceEventName[] = [
    "connection:connected",
    "connection:disconnected",
    "connection:failed",
    "connection:reconnecting",
    "connection:reconnected",
    "connection:auth_failed",
    "connection:auth_required",
    "connection:health_degraded",
    "connection:max_attempts_reached",
    "message",
  ];
  for (const name of names) service.on(name, (payload) => events.push({ name, payload, at: clock.now() }));
  const of = (name: ServiceEventName) => events.filter((event) => event.name === name).map((event) => event.payload);
  return { clock, server, service, events, of, names: () => events.map((event) => event.name) };
}

describe("handshakes", () => {
  it("are accepted by default, at once: connect() returns connected, with the auth payload seen by the server", () => {
    const { server, service, of } = rig({ auth: { token: "good-token-7c2", device: "desk" } });
    service.connect();
    expect(service.getStatus()).toMatchObject({ state: "connected", socketId: "fake-1", recovered: false });
    expect(of("connection:connected")).toEqual([{ socketId: "fake-1", recovered: false, server: SERVER }]);
    expect(server.handshakes).toBe(1);
    expect(server.openSockets).toBe(1);
    expect(server.connections).toEqual([
      { id: "fake-1", auth: { token: "good-token-7c2", device: "desk" }, state: "connected", recovered: false, silent: false, closeReason: null },
    ]);
  });

  it("refuseNext refuses the next one only, with its message and data", () => {
    const { clock, server, service, of } = rig();
    server.refuseNext("server busy", { retryAfter: 500, code: "SHED" });
    service.connect();
    expect(service.getStatus().state).toBe("backingOff");
    expect(of("connection:failed")).toEqual([{ attempt: 1, error: { message: "server busy", data: { retryAfter: 500, code: "SHED" } }, server: SERVER }]);
    clock.runFor(service.getStatus().nextRetryDelay!);
    expect(service.getStatus().state).toBe("connected");
    expect(server.handshakes).toBe(2);
    expect(server.connections.map((connection) => connection.state)).toEqual(["refused", "connected"]);
  });

  it('"hold" keeps them waiting for accept() or refuse(), oldest first; the chart\'s timeout closes a held one', () => {
    const { clock, server, service, of } = rig();
    server.answerHandshakes("hold");
    expect(() => server.accept()).toThrow(/no handshake is held/);
    service.connect();
    expect(service.getStatus().state).toBe("connecting");
    expect(server.openSockets).toBe(1);
    server.refuse("not now");
    expect(of("connection:failed")).toEqual([{ attempt: 1, error: { message: "not now" }, server: SERVER }]);
    clock.runFor(service.getStatus().nextRetryDelay!);
    expect(service.getStatus().state).toBe("connecting");
    server.accept();
    expect(service.getStatus().state).toBe("connected");

    server.drop();
    clock.runFor(service.getStatus().nextRetryDelay!);
    expect(service.getStatus().state).toBe("connecting");
    clock.runFor(FAST.connectionTimeout!);
    expect(service.getStatus().lastError).toEqual({ message: "connection timed out after 1000 ms" });
    expect(server.openSockets).toBe(0);
    expect(server.connections.at(-1)).toMatchObject({ state: "closed", closeReason: "forced close" });
    expect(() => server.accept()).toThrow(/no handshake is held/);
  });

  it('"unreachable" fails every attempt with a transport error, and nothing reaches the server', () => {
    const { server, service, of } = rig({ config: { ...FAST, maxReconnectAttempts: 2 } });
    server.answerHandshakes("unreachable");
    service.connect();
    expect(of("connection:failed")).toEqual([{ attempt: 1, error: { message: "xhr poll error" }, server: SERVER }]);
    expect(server.handshakes).toBe(0);
    expect(server.connections).toEqual([]);
  });

  it("{ refuse, data } refuses every one until the policy changes", () => {
    const { clock, server, service } = rig({ config: { ...FAST, maxReconnectAttempts: 3 } });
    server.answerHandshakes({ refuse: "maintenance", data: { retryAfter: 100 } });
    service.connect();
    clock.runFor(10_000);
    expect(service.getStatus()).toMatchObject({ state: "exhausted", attempt: 3 });
    expect(server.handshakes).toBe(3);
    server.answerHandshakes("accept");
    service.connect();
    expect(service.getStatus().state).toBe("connected");
  });
});

describe("connections", () => {
  it("drop() ends them with the reason given; transport close is retried", () => {
    const { clock, server, service, of } = rig();
    service.connect();
    server.drop("transport close");
    expect(of("connection:disconnected")).toEqual([{ reason: "transport close" }]);
    expect(server.openSockets).toBe(0);
    expect(server.connections[0]).toMatchObject({ state: "closed", closeReason: "transport close" });
    expect(service.getStatus().state).toBe("backingOff");
    clock.runFor(service.getStatus().nextRetryDelay!);
    expect(of("connection:reconnected")).toEqual([{ attempts: 1, recovered: false }]);
  });

  it("push() delivers to connected clients as the wire would (a decoded copy)", () => {
    const { server, service, of } = rig();
    server.push("news", { id: 1 });
    service.connect();
    const when = new Date(0);
    const bytes = new Uint8Array([1, 2, 3]);
    server.push("news", { id: 2, when, bytes }, [undefined]);
    expect(of("message")).toEqual([{ event: "news", args: [{ id: 2, when: "1970-01-01T00:00:00.000Z", bytes }, [null]] }]);
    const [message] = of("message") as { args: [{ bytes: Uint8Array }] }[];
    expect(message!.args[0].bytes).not.toBe(bytes);
    expect(() => server.push("bad", { n: 1n })).toThrow(TypeError);
  });

  it("on() handles client emits with acks, off() leaves them unanswered; received lists them all", async () => {
    const { clock, server, service } = rig();
    server.on("lookup", (id, ack) => ack({ id, name: "Ada" }));
    service.connect();
    await expect(service.request("lookup", 7)).resolves.toEqual({ id: 7, name: "Ada" });
    server.off("lookup");
    const ignored = service.requestWith({ timeout: 500 }, "lookup", 8);
    const outcome = expect(ignored).rejects.toThrow(/timed out/);
    clock.runFor(500);
    await outcome;
    service.send("note", "plain");
    const lookups = server.received.filter((emit) => emit.event !== "heartbeat");
    expect(lookups.map(({ event, args, socketId }) => ({ event, args, socketId }))).toEqual([
      { event: "lookup", args: [7], socketId: "fake-1" },
      { event: "lookup", args: [8], socketId: "fake-1" },
      { event: "note", args: ["plain"], socketId: "fake-1" },
    ]);
    // The ignored one can still be acked by hand, but its request gave up: nothing happens.
    expect(lookups[1]!.ack).toEqual(expect.any(Function));
    expect(lookups[0]!.ack).toBeNull();
    expect(lookups[2]!.ack).toBeNull();
  });

  it("socketOptions.ackTimeout is honoured: an unanswered emit gets socket.io-client's timeout error", () => {
    const { clock, server, service } = rig({ socketOptions: { ackTimeout: 1000 } });
    server.off("save");
    service.connect();
    const calls: unknown[][] = [];
    service.send("save", { id: 1 }, (...args: unknown[]) => calls.push(args));
    clock.runFor(999);
    expect(calls).toEqual([]);
    clock.runFor(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]![0]).toBeInstanceOf(Error);
  });

  it("latency delays every ack: the service measures it; an ack still on its way dies with its connection", () => {
    const { clock, server, service } = rig({ config: { ...FAST, heartbeatInterval: 1000 } }, { latency: 40 });
    service.connect();
    expect(service.getStatus().latency).toBeNull();
    clock.runFor(40);
    expect(service.getStatus().latency).toBe(40);
    clock.runFor(960);
    service.dispose();
    expect(server.openSockets).toBe(0);
    expect(clock.nextTimerAt()).toBeNull();
  });

  it("what the app cannot encode throws at send, as with socket.io-client", () => {
    const { service } = rig();
    service.connect();
    expect(() => service.send("bad", { n: 1n })).toThrow(TypeError);
  });

  it("drain() announces a planned restart: the service comes back at its moment in the window, no failure counted", () => {
    const { clock, server, service, events, of } = rig({ random: () => 0.25 });
    const restarting: unknown[] = [];
    service.on("connection:restarting", (payload) => restarting.push(payload));
    service.connect();
    server.drain({ reconnectAfter: 1000, windowMs: 400 });
    // 1000 + 0.25 · 400: the notice is received, the links stay open until the server closes them.
    expect(restarting).toEqual([{ server: SERVER, delay: 1100, windowMs: 400 }]);
    expect(service.getStatus()).toMatchObject({ state: "connected", restarting: true });
    expect(of("message")).toEqual([]);

    server.drop("transport close");
    expect(service.getStatus()).toMatchObject({ state: "backingOff", attempt: 0, nextRetryDelay: 1100, restarting: true });
    clock.runFor(1099);
    expect(server.handshakes).toBe(1);
    clock.runFor(1);
    expect(server.handshakes).toBe(2);
    expect(service.getStatus()).toMatchObject({ state: "connected", restarting: false });
    expect(events.filter((event) => event.name === "connection:failed")).toEqual([]);

    // An exact slot: reconnectAfter + slot, whatever random draws.
    restarting.length = 0;
    server.drain({ reconnectAfter: 500, windowMs: 400, slot: 30 });
    expect(restarting).toEqual([{ server: SERVER, delay: 530, windowMs: 400 }]);
  });

  it("recovery: a dropped session comes back recovered with the same id and what was pushed meanwhile; a goodbye ends it", () => {
    const { clock, server, service, of } = rig({}, { recovery: true });
    service.connect();
    server.drop("transport close");
    server.push("missed", 1);
    clock.runFor(service.getStatus().nextRetryDelay!);
    expect(of("connection:reconnected")).toEqual([{ attempts: 1, recovered: true }]);
    expect(of("connection:connected")).toEqual([
      { socketId: "fake-1", recovered: false, server: SERVER },
      { socketId: "fake-1", recovered: true, server: SERVER },
    ]);
    expect(of("message")).toEqual([{ event: "missed", args: [1] }]);

    service.disconnect();
    service.connect();
    expect(service.getStatus()).toMatchObject({ recovered: false, socketId: "fake-3" });
  });

  it("never more than one open socket, however often a reconnection is forced; none left after dispose", () => {
    const { clock, server, service } = rig();
    server.answerHandshakes("hold");
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      void service.forceReconnection();
      peak = Math.max(peak, server.openSockets);
      if (i % 3 === 0) server.accept();
      peak = Math.max(peak, server.openSockets);
    }
    expect(peak).toBe(1);
    service.dispose();
    expect(server.openSockets).toBe(0);
    expect(clock.nextTimerAt()).toBeNull();
  });
});

describe("silence", () => {
  it("goSilent(): nothing crosses the link either way, and new handshakes are answered", () => {
    const { clock, server, service, of } = rig({ config: { ...FAST, heartbeatInterval: 1000, heartbeatTimeout: 500, unhealthyThreshold: 3 } });
    service.connect();
    server.goSilent();
    expect(server.connections[0]!.silent).toBe(true);
    const before = server.received.length;
    service.send("lost", 1);
    server.push("lost", 2);
    expect(server.received.length).toBe(before);
    expect(of("message")).toEqual([]);
    clock.runFor(10_000);
    expect(service.getStatus().state).toBe("connected");
    expect(server.connections.at(-1)!.silent).toBe(false);
  });

  it("a server that does not ack heartbeats (off) is not penalised; a silent link then drops by Engine.IO's ping timeout", () => {
    // Mirrors liveness-heartbeat.test.ts and the never-acking case of liveness-blackhole.test.ts.
    const config = { ...FAST, heartbeatInterval: 50, heartbeatTimeout: 50, unhealthyThreshold: 3, healthCheckInterval: 100 };
    const { clock, server, service, of, events } = rig({ config }, { engine: { pingInterval: 200, pingTimeout: 200 } });
    server.off("heartbeat");
    service.connect();
    clock.runFor(5_000);
    expect(service.getStatus()).toMatchObject({ state: "connected", healthScore: 100, latency: null });
    expect(of("connection:health_degraded")).toEqual([]);
    const silentAt = clock.now();
    server.goSilent();
    clock.runFor(1_000);
    expect(of("connection:disconnected")).toEqual([{ reason: "ping timeout" }]);
    const droppedAt = events.find((event) => event.name === "connection:disconnected")!.at;
    // The last ping came at most one interval before the silence: dropped within interval + timeout.
    expect(droppedAt - silentAt).toBeGreaterThan(200);
    expect(droppedAt - silentAt).toBeLessThanOrEqual(200 + 200);
    expect(of("connection:health_degraded")).toEqual([]);
    expect(service.getStatus().state).toBe("connected");
  });
});

describe("the service on the fake server behaves as on a real one", () => {
  it("connect: the contract's status fields, health 100, a measured latency (connection.test.ts)", () => {
    const { clock, server, service } = rig({ config: { ...FAST, heartbeatInterval: 100, healthCheckInterval: 300 } });
    expect(service.getStatus()).toMatchObject({ state: "idle", isConnected: false, healthScore: 0, attempt: 0 });
    service.connect();
    expect(service.getStatus()).toMatchObject({
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
      socketId: "fake-1",
    });
    clock.runFor(300);
    expect(service.getStatus()).toMatchObject({ latency: 0, healthScore: 100 });
    expect(server.openSockets).toBe(1);
  });

  it("auth refusal with a static token: authRequired at once, one handshake, no retry loop; a new token resumes (auth.test.ts)", () => {
    const { clock, server, service, of } = rig({ auth: { token: "bad-token-1f9" } });
    server.refuseNext("handshake refused", { status: 401 });
    service.connect();
    expect(service.getStatus().state).toBe("authRequired");
    expect(of("connection:auth_failed")).toEqual([{ error: { message: "handshake refused", data: { status: 401 } } }]);
    expect(of("connection:auth_required")).toEqual([{}]);
    expect(of("connection:failed")).toEqual([]);
    expect(service.getStatus().lastError).toEqual({ message: "handshake refused", data: { status: 401 } });
    clock.runFor(3 * FAST.maxDelay! + 3 * FAST.connectionTimeout!);
    expect(of("connection:reconnecting")).toEqual([]);
    expect(server.handshakes).toBe(1);

    service.setAuthToken("good-token-7c2");
    expect(service.getStatus()).toMatchObject({ state: "connected", attempt: 0, lastError: null, healthScore: 100 });
    expect(server.connections.map((connection) => connection.auth.token)).toEqual(["bad-token-1f9", "good-token-7c2"]);
  });

  it("retryAfter: the next attempt waits max(backoff, spread hint), then reconnected { attempts: 1 } (retry.test.ts)", () => {
    const r = 0.3;
    const { clock, server, service, of, events } = rig({ random: () => r });
    server.answerHandshakes({ refuse: "server busy", data: { retryAfter: 800 } });
    service.connect();
    const resolved = { ...DEFAULT_CONFIG, ...FAST };
    const expected = Math.round(Math.max(computeBackoffDelay(1, resolved, () => r), computeRetryAfterDelay(800, resolved, () => r)));
    expect(of("connection:failed")).toEqual([{ attempt: 1, error: { message: "server busy", data: { retryAfter: 800 } }, server: SERVER }]);
    expect(of("connection:reconnecting")).toEqual([{ attempt: 1, delay: expected, server: SERVER }]);
    expect(expected).toBeGreaterThanOrEqual(800);
    expect(service.getStatus()).toMatchObject({ state: "backingOff", nextRetryDelay: expected });

    server.answerHandshakes("accept");
    clock.runFor(expected - 1);
    expect(service.getStatus().state).toBe("backingOff");
    clock.runFor(1);
    expect(of("connection:reconnected")).toEqual([{ attempts: 1, recovered: false }]);
    expect(events.find((event) => event.name === "connection:reconnected")!.at).toBe(expected);
    expect(service.getStatus()).toMatchObject({ state: "connected", attempt: 0 });
  });

  it("drop by the server: io server disconnect goes idle and is not retried; connect() starts again (connection.test.ts)", () => {
    const { clock, server, service, of } = rig();
    service.connect();
    server.drop("io server disconnect");
    expect(of("connection:disconnected")).toEqual([{ reason: "io server disconnect" }]);
    clock.runFor(3 * FAST.maxDelay! + 3 * FAST.connectionTimeout!);
    expect(of("connection:reconnecting")).toEqual([]);
    expect(service.getStatus()).toMatchObject({ state: "idle", attempt: 0, nextRetryAt: null });
    expect(server.handshakes).toBe(1);
    service.connect();
    expect(service.getStatus().state).toBe("connected");
    expect(server.handshakes).toBe(2);
  });

  it("silent link: detected within heartbeatInterval + unhealthyThreshold × heartbeatTimeout, then reconnects (liveness-blackhole.test.ts)", () => {
    const config = { ...FAST, heartbeatInterval: 1_000, heartbeatTimeout: 500, unhealthyThreshold: 3, healthCheckInterval: 200 };
    const { clock, server, service, of, names, events } = rig({ config });
    service.connect();
    clock.runFor(2_000);
    expect(service.getStatus().latency).not.toBeNull();
    const silentAt = clock.now();
    const seen = names().length;
    server.goSilent();
    const bound = config.heartbeatInterval + config.unhealthyThreshold * config.heartbeatTimeout;
    clock.runFor(bound);
    expect(names().slice(seen)).toEqual(["connection:health_degraded", "connection:disconnected", "connection:reconnecting"]);
    const [degradation] = of("connection:health_degraded") as { consecutiveFailures: number; healthScore: number }[];
    expect(degradation).toMatchObject({ consecutiveFailures: 3 });
    expect(degradation!.healthScore).toBeLessThan(100);
    expect(of("connection:disconnected")).toEqual([{ reason: "heartbeat timeout" }]);
    expect(events.find((event) => event.name === "connection:disconnected")!.at - silentAt).toBeLessThanOrEqual(bound);
    expect(service.getStatus()).toMatchObject({ state: "backingOff", healthScore: 0, lastError: { message: expect.stringMatching(/heartbeat/) } });
    expect(server.openSockets).toBe(0);

    clock.runFor(service.getStatus().nextRetryDelay!);
    expect(names().slice(seen + 3)).toEqual(["connection:connected", "connection:reconnected"]);
    expect(service.getStatus()).toMatchObject({ state: "connected", attempt: 0, consecutiveFailures: 0 });
    expect(server.openSockets).toBe(1);
  });
});
