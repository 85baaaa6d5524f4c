import { describe, expect, it } from "vitest";
import { io } from "socket.io-client";
import { TcpProxy } from "../../lab/tcpProxy.js";
import type { CallbackName } from "../../src/machine/environment.js";
import type { WebSocketService } from "../../src/services/WebSocketService.js";
import { eventually, recordEvents, Tally, untilContext, waitForEvent, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

// Issue 11, against a real Socket.IO server: no caller, callback, payload or clock can wedge or
// kill the connection. Each case was reproduced before its fix (a process exit, or a chart stuck
// in a state that no longer matched the socket).

const { cleanup, service, startServer } = integrationRig();

/** A lab server that records every "note" it receives. */
async function notesServer() {
  const received = new Tally<unknown>();
  const server = await startServer({ onConnection: (socket) => socket.on("note", (value: unknown) => received.push(value)) });
  return { server, received };
}

/** The callback faults a service announced. */
function faultsOf(svc: WebSocketService) {
  const faults: { callback: CallbackName; message: string }[] = [];
  svc.on("callback:failed", (fault) => faults.push(fault));
  return faults;
}

/** The service goes on: a crash sends it backing off, a restart brings it back, sends arrive. */
async function livesOn(svc: WebSocketService, server: Awaited<ReturnType<typeof notesServer>>["server"], received: Tally<unknown>) {
  await server.kill();
  await waitForState(svc, "backingOff");
  await server.restart();
  await waitForState(svc, "connected");
  const before = received.count;
  svc.send("note", "still-alive");
  await received.waitFor(before + 1);
  expect(received.values.at(-1)).toBe("still-alive");
}

describe("an unencodable send", () => {
  it("queued while offline: refused at send() with a TypeError naming the culprit, as plain io() refuses it at emit", async () => {
    const { server, received } = await notesServer();
    const svc = service({ url: server.url, config: FAST_RETRY });
    expect(() => svc.send("note", { id: 10n })).toThrow(/send: "note" cannot be encoded.*args\[0\]\.id is a BigInt/);
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    expect(() => svc.send("note", "ok", cyclic)).toThrow(/args\[1\]\.self refers back to one of its parents/);
    expect(() => svc.request("note", { id: 10n })).toThrow(TypeError);
    expect(svc.getStatus().queuedMessages).toBe(0);

    // The reference: plain socket.io-client throws at the emit too.
    const plain = cleanup.add(io(server.url, { forceNew: true, transports: ["websocket"] }), (socket) => socket.disconnect());
    await new Promise<void>((resolve) => plain.once("connect", () => resolve()));
    expect(() => plain.emit("note", { id: 10n })).toThrow(/BigInt/);

    svc.connect();
    await waitForState(svc, "connected");
    // On the fast path (connected) the refusal is the same.
    expect(() => svc.send("note", { id: 10n })).toThrow(/cannot be encoded by Socket\.IO.*BigInt/);
    await livesOn(svc, server, received);
  });

  it("one Socket.IO only fails at the flush (a throwing toJSON): dropped and announced as unencodable, the rest delivered, the chart alive", async () => {
    const { server, received } = await notesServer();
    const svc = service({ url: server.url, config: FAST_RETRY });
    const log = recordEvents(svc, ["message:dropped"]);
    const poisoned = {
      toJSON() {
        throw new Error("cannot serialise this");
      },
    };
    svc.send("note", "before");
    svc.send("note", poisoned);
    const request = svc.request("note", poisoned);
    svc.send("note", "after");
    svc.connect();
    await waitForState(svc, "connected");
    await expect(request).rejects.toThrow(/dropped: Socket\.IO could not encode it/);
    await received.waitFor(2);
    expect(received.values).toEqual(["before", "after"]);
    expect(log.of("message:dropped").map(({ event, reason }) => ({ event, reason }))).toEqual([
      { event: "note", reason: "unencodable" },
      { event: "note", reason: "unencodable" },
    ]);
    await livesOn(svc, server, received);
  });
});

describe("functions the app hands in", () => {
  it("an inspect observer that throws: connected all the same, reported once as callback:failed", async () => {
    const { server, received } = await notesServer();
    let calls = 0;
    const svc = service({
      url: server.url,
      config: FAST_RETRY,
      inspect: () => {
        calls += 1;
        throw new Error("inspector crashed");
      },
    });
    const faults = faultsOf(svc);
    svc.connect();
    await waitForState(svc, "connected");
    expect(calls).toBeGreaterThan(1);
    expect(faults).toEqual([{ callback: "inspect", message: "the inspect observer threw: inspector crashed" }]);
    await livesOn(svc, server, received);
    expect(faults).toHaveLength(1);
  });

  it("random returning 1: retries still happen, inside the bounds, reported once", async () => {
    const { server, received } = await notesServer();
    const svc = service({ url: server.url, config: FAST_RETRY, random: () => 1 });
    const faults = faultsOf(svc);
    svc.connect();
    await waitForState(svc, "connected");
    await server.kill();
    const { delay } = await waitForEvent(svc, "connection:reconnecting");
    expect(delay).toBeLessThan(FAST_RETRY.baseDelay!);
    await server.restart();
    await waitForState(svc, "connected");
    expect(faults.map((fault) => fault.callback)).toEqual(["random"]);
    await livesOn(svc, server, received);
  });

  it("isAuthError that throws: the default classifier decides, the connection goes on", async () => {
    const server = await startServer({ tokens: ["good"] });
    const svc = service({
      url: server.url,
      auth: { token: "bad" },
      config: FAST_RETRY,
      isAuthError: () => {
        throw new Error("classifier bug");
      },
    });
    const faults = faultsOf(svc);
    svc.connect();
    await waitForState(svc, "authRequired");
    expect(faults).toEqual([{ callback: "isAuthError", message: expect.stringContaining("classifier bug") }]);
    svc.setAuthToken("good");
    await waitForState(svc, "connected");
  });

  it("an ack callback that throws, a logger that throws, an onListenerError that throws: the connection goes on", async () => {
    const server = await startServer({ onConnection: (socket) => socket.on("echo", (value: unknown, ack: (v: unknown) => void) => ack(value)) });
    const svc = service({
      url: server.url,
      config: FAST_RETRY,
      logger: () => {
        throw new Error("log sink full");
      },
      onListenerError: () => {
        throw new Error("error reporter broken");
      },
    });
    const faults = faultsOf(svc);
    svc.on("connection:connected", () => {
      throw new Error("listener bug");
    });
    svc.connect();
    await waitForState(svc, "connected");
    const acked = new Promise<unknown>((resolve) => {
      svc.send("echo", 41, (value: unknown) => {
        resolve(value);
        throw new Error("ack handler bug");
      });
    });
    expect(await acked).toBe(41);
    expect(await svc.request("echo", 42)).toBe(42);
    await eventually(() => expect(new Set(faults.map((fault) => fault.callback))).toEqual(new Set(["logger", "onListenerError", "ack"])));
    expect(svc.getStatus()).toMatchObject({ state: "connected", healthScore: 100 });
  });

  it("a clock whose setTimeout and clearTimeout throw: the system's timers stand in, connected, reported once", async () => {
    const { server, received } = await notesServer();
    const svc = service({
      url: server.url,
      config: { ...FAST_RETRY, heartbeatInterval: 100, heartbeatTimeout: 100, minHeartbeatTimeout: 50 },
      clock: {
        setTimeout: () => {
          throw new Error("timer wheel jammed");
        },
        clearTimeout: () => {
          throw new Error("timer wheel jammed");
        },
      },
    });
    const faults = faultsOf(svc);
    svc.connect();
    await waitForState(svc, "connected");
    // Heartbeats run on the stand-in timers.
    const seq = svc.actor.getSnapshot().context.heartbeatSeq;
    await untilContext(svc, (context) => context.heartbeatSeq >= seq + 2, 3_000);
    expect(faults).toEqual([{ callback: "clock", message: expect.stringContaining("timer wheel jammed") }]);
    await livesOn(svc, server, received);
  });

  it("a wall clock (now) stepped back an hour: heartbeats keep going, a queued send still expires on time", async () => {
    const { server } = await notesServer();
    const wall = { offset: 0 };
    const svc = service({
      url: server.url,
      config: { ...FAST_RETRY, heartbeatInterval: 100, heartbeatTimeout: 100, minHeartbeatTimeout: 50, queueTtl: 300 },
      now: () => Date.now() + wall.offset,
    });
    const log = recordEvents(svc, ["message:dropped"]);
    svc.connect();
    await waitForState(svc, "connected");
    const seq = svc.actor.getSnapshot().context.heartbeatSeq;
    wall.offset = -3_600_000;
    await untilContext(svc, (context) => context.heartbeatSeq >= seq + 3, 3_000);
    svc.disconnect();
    svc.send("note", "waits");
    await waitForEvent(svc, "message:dropped", { timeout: 3_000 });
    expect(log.of("message:dropped")).toEqual([{ event: "note", reason: "expired", args: ["waits"] }]);
  });
});

describe("forceReconnection()", () => {
  it("called from a connection:max_attempts_reached listener: settles on its own attempt (connected), not on the state it was called in", async () => {
    const { server } = await notesServer();
    const svc = service({ url: server.url, config: { ...FAST_RETRY, maxReconnectAttempts: 2 } });
    svc.connect();
    await waitForState(svc, "connected");
    await server.kill();
    // Wrapped: resolving with the promise itself would adopt it.
    const outcome = new Promise<{ reconnected: Promise<void> }>((resolve) => {
      svc.on("connection:max_attempts_reached", () => {
        void server.restart();
        resolve({ reconnected: svc.forceReconnection() });
      });
    });
    await expect((await outcome).reconnected).resolves.toBeUndefined();
    expect(svc.getStatus().state).toBe("connected");
  });

  it("replacing a live socket: the next handshake waits (bounded) for the server to see the old one go, never two on the server", async () => {
    const { server } = await notesServer();
    const svc = service({ url: server.url, config: FAST_RETRY });
    svc.connect();
    await waitForState(svc, "connected");
    for (let round = 0; round < 10; round++) await svc.forceReconnection();
    expect(server.peakOpen).toBe(1);
    expect(server.openSockets()).toBe(1);
  });

  it("called from a connection:disconnected listener: resolves once connected again", async () => {
    const { server } = await notesServer();
    const svc = service({ url: server.url, config: FAST_RETRY });
    svc.connect();
    await waitForState(svc, "connected");
    const outcome = new Promise<{ reconnected: Promise<void> }>((resolve) => {
      svc.on("connection:disconnected", () => resolve({ reconnected: svc.forceReconnection() }));
    });
    server.kickAll();
    await expect((await outcome).reconnected).resolves.toBeUndefined();
    expect(svc.getStatus().state).toBe("connected");
  });

  it("while the network is reported offline: tries once now; resolves when the server answers", async () => {
    const { server } = await notesServer();
    const svc = service({ url: server.url, config: FAST_RETRY });
    svc.notifyOffline();
    svc.connect();
    expect(svc.getStatus()).toMatchObject({ state: "backingOff", network: "offline" });
    await expect(svc.forceReconnection()).resolves.toBeUndefined();
    expect(server.handshakes).toBe(1);
  });

  it("while the network is reported offline and the server is down: one try, then it settles (rejects) instead of waiting for 'online'", async () => {
    const { server } = await notesServer();
    await server.kill();
    const svc = service({ url: server.url, config: FAST_RETRY });
    svc.notifyOffline();
    svc.connect();
    await expect(svc.forceReconnection()).rejects.toThrow(/network is reported offline/);
    expect(svc.getStatus()).toMatchObject({ state: "backingOff", network: "offline", attempt: 0 });
  });
});

describe("no send lost without a word", () => {
  it("a listener that forces a reconnection on connection:disconnected does not swallow the lost link's unconfirmed sends", async () => {
    const { server, received } = await notesServer();
    const svc = service({ url: server.url, config: { ...FAST_RETRY, heartbeatInterval: 10_000 } });
    const log = recordEvents(svc, ["message:unconfirmed"]);
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, (context) => context.heartbeatsAcked);
    svc.on("connection:disconnected", () => void svc.forceReconnection().catch(() => {}));
    const sends = ["a", "b", "c"];
    for (const text of sends) svc.send("note", text);
    await server.kill();
    await eventually(() => {
      const accounted = new Set([...received.values, ...log.of("message:unconfirmed").map((sent) => sent.args[0])]);
      expect(accounted).toEqual(new Set(sends));
    });
    // Before the fix: the forced socket cleared the memory first, or the report was dropped as stale.
    expect(log.of("message:unconfirmed").length + received.count).toBeGreaterThanOrEqual(sends.length);
  });

  it("sends on a silent link that forceReconnection() replaces before the heartbeat finds it: each delivered or announced", async () => {
    const received = new Tally<string>();
    const server = await startServer({ onConnection: (socket) => socket.on("note", (text: string) => received.push(text)) });
    const proxy = cleanup.add(await TcpProxy.start(server.port), (p) => p.close());
    const svc = service({ url: proxy.url, config: { ...FAST_RETRY, heartbeatInterval: 10_000 } });
    const log = recordEvents(svc, ["message:unconfirmed"]);
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, (context) => context.heartbeatsAcked);
    proxy.blackhole();
    const sends = ["x1", "x2", "x3"];
    for (const text of sends) svc.send("note", text);
    proxy.restore();
    // A person presses Reconnect: the old socket goes before any heartbeat could vouch for the sends.
    await svc.forceReconnection();
    await eventually(() => {
      const accounted = new Set([...received.values, ...log.of("message:unconfirmed").map((sent) => sent.args[0] as string)]);
      expect(accounted).toEqual(new Set(sends));
    });
    expect(log.of("message:unconfirmed").map((sent) => sent.args[0])).toEqual(sends);
  });

  it("3,000 sends right after the link went silent: every one delivered or announced, none twice", async () => {
    const received = new Tally<string>();
    const server = await startServer({ onConnection: (socket) => socket.on("note", (text: string) => received.push(text)) });
    const proxy = cleanup.add(await TcpProxy.start(server.port), (p) => p.close());
    const svc = service({
      url: proxy.url,
      config: { ...FAST_RETRY, heartbeatInterval: 300, heartbeatTimeout: 300, minHeartbeatTimeout: 100, unhealthyThreshold: 2 },
    });
    const log = recordEvents(svc, ["message:unconfirmed", "message:dropped"]);
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, (context) => context.heartbeatsAcked);
    proxy.blackhole();
    const sends = Array.from({ length: 3_000 }, (_, index) => `silent-${index}`);
    for (const text of sends) svc.send("note", text);
    await waitForEvent(svc, "connection:disconnected", { timeout: 5_000 });
    proxy.restore();
    await waitForState(svc, "connected");
    await eventually(() => {
      const accounted = [
        ...received.values,
        ...log.of("message:unconfirmed").map((sent) => sent.args[0] as string),
        ...log.of("message:dropped").map((sent) => sent.args[0] as string),
      ];
      expect(new Set(accounted)).toEqual(new Set(sends));
    });
    expect(new Set(received.values).size).toBe(received.count);
    expect(log.of("message:unconfirmed").length).toBeGreaterThan(1_000);
  });
});
