import { afterEach, describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import { createWebSocketService, type WebSocketService } from "../../src/services/WebSocketService.js";
import { recordEvents, Tally, waitForEvent, waitForState } from "../support/events.js";

/**
 * The send queue against a real Socket.IO server on 127.0.0.1: what the server receives,
 * in which order, how often, and what is announced as dropped.
 */

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Received {
  event: string;
  args: unknown[];
  socketId: string;
}

/**
 * A lab server that records every application event it receives (heartbeats and the
 * `fence` excepted) and answers `double` (ack x * 2) and `fence` (empty ack); `ignored`
 * is never acked.
 */
async function recordingServer(): Promise<{ server: LabServer; received: Tally<Received> }> {
  const received = new Tally<Received>();
  const server = await LabServer.start({
    onConnection: (socket) => {
      socket.onAny((event: string, ...args: unknown[]) => {
        if (event === "heartbeat" || event === "fence") return;
        received.push({ event, args: args.filter((arg) => typeof arg !== "function"), socketId: socket.id });
      });
      socket.on("double", (value: number, ack: (result: number) => void) => ack(value * 2));
      socket.on("fence", (ack: () => void) => ack());
    },
  });
  cleanups.push(() => server.close());
  return { server, received };
}

function service(url: string, config: Partial<ConnectionConfig> = {}): WebSocketService {
  const created = createWebSocketService({
    url,
    config: { baseDelay: 100, maxDelay: 100, heartbeatInterval: 5_000, ...config },
  });
  cleanups.push(() => created.dispose());
  return created;
}

async function killAndWaitForBackoff(svc: WebSocketService, server: LabServer): Promise<void> {
  const dropped = waitForEvent(svc, "connection:disconnected");
  await server.kill();
  await dropped;
  await waitForState(svc, "backingOff");
}

const payloads = (received: Tally<Received>) => received.values.map(({ event, args }) => [event, ...args]);

describe("held sends", () => {
  it("go out once each, in order, on reconnect, before a send made after connect", async () => {
    const { server, received } = await recordingServer();
    const svc = service(server.url);
    svc.connect();
    await waitForState(svc, "connected");
    await killAndWaitForBackoff(svc, server);
    for (let i = 1; i <= 3; i += 1) svc.send("msg", i);
    expect(svc.getStatus().queuedMessages).toBe(3);
    // The first send the application makes once connected: in the connected listener itself.
    const off = svc.on("connection:connected", () => svc.send("msg", 4));
    const dropped = recordEvents(svc, ["message:dropped"]);
    await server.restart();
    await received.waitFor(4);
    off();
    await svc.request("fence");
    expect(payloads(received)).toEqual([
      ["msg", 1],
      ["msg", 2],
      ["msg", 3],
      ["msg", 4],
    ]);
    expect(new Set(received.values.map((item) => item.socketId)).size).toBe(1);
    expect(svc.getStatus().queuedMessages).toBe(0);
    dropped.stop();
    expect(dropped.events).toEqual([]);
  });

  it("overflow drops the oldest, announced at once as 'overflow'; the rest is delivered", async () => {
    const { server, received } = await recordingServer();
    const svc = service(server.url, { maxQueueSize: 3 });
    const dropped = recordEvents(svc, ["message:dropped"]);
    for (let i = 1; i <= 5; i += 1) svc.send("msg", i);
    expect(dropped.of("message:dropped")).toEqual([
      expect.objectContaining({ event: "msg", reason: "overflow", args: [1] }),
      expect.objectContaining({ event: "msg", reason: "overflow", args: [2] }),
    ]);
    expect(svc.getStatus().queuedMessages).toBe(3);
    svc.connect();
    await received.waitFor(3);
    await svc.request("fence");
    expect(payloads(received)).toEqual([
      ["msg", 3],
      ["msg", 4],
      ["msg", 5],
    ]);
    dropped.stop();
    expect(dropped.events).toHaveLength(2);
  });

  it("expire on time (queueTtl), announced as 'expired' while still disconnected, with nothing else happening", async () => {
    const { server, received } = await recordingServer();
    const svc = service(server.url, { queueTtl: 200, baseDelay: 20_000, maxDelay: 20_000 });
    svc.connect();
    await waitForState(svc, "connected");
    await killAndWaitForBackoff(svc, server);
    const sentAt = Date.now();
    svc.send("stale", 1);
    const drop = await waitForEvent(svc, "message:dropped", { timeout: 3_000 });
    const elapsed = Date.now() - sentAt;
    expect(drop).toMatchObject({ event: "stale", reason: "expired", args: [1] });
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1_500);
    expect(svc.getStatus()).toMatchObject({ state: "backingOff", queuedMessages: 0 });
    // Never delivered afterwards.
    await server.restart();
    svc.notifyOnline();
    await waitForState(svc, "connected");
    await svc.request("fence");
    expect(received.count).toBe(0);
  });

  it("sendWith({ ttl }) expires sooner than queueTtl; the others stay queued", async () => {
    const { server, received } = await recordingServer();
    const svc = service(server.url, { queueTtl: 10_000 });
    const sentAt = Date.now();
    svc.send("keep", 1);
    svc.sendWith({ ttl: 150 }, "short", 2);
    svc.send("keep", 3);
    const drop = await waitForEvent(svc, "message:dropped", { timeout: 3_000 });
    const elapsed = Date.now() - sentAt;
    expect(drop).toMatchObject({ event: "short", reason: "expired", args: [2] });
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1_500);
    expect(svc.getStatus().queuedMessages).toBe(2);
    svc.connect();
    await received.waitFor(2);
    await svc.request("fence");
    expect(payloads(received)).toEqual([
      ["keep", 1],
      ["keep", 3],
    ]);
  });

  it("volatile: dropped (announced 'volatile') when not connected, delivered when connected", async () => {
    const { server, received } = await recordingServer();
    const svc = service(server.url);
    const dropped = recordEvents(svc, ["message:dropped"]);
    svc.sendWith({ volatile: true }, "position", 1);
    expect(dropped.of("message:dropped")).toEqual([expect.objectContaining({ event: "position", reason: "volatile" })]);
    expect(svc.getStatus().queuedMessages).toBe(0);
    svc.connect();
    await waitForState(svc, "connected");
    svc.sendWith({ volatile: true }, "position", 2);
    await received.waitFor(1);
    await svc.request("fence");
    expect(payloads(received)).toEqual([["position", 2]]);
    dropped.stop();
    expect(dropped.events).toHaveLength(1);
  });
});

describe("requests", () => {
  it("request() resolves with the server's ack, also when it was queued while disconnected", async () => {
    const { server } = await recordingServer();
    const svc = service(server.url);
    const queued = svc.request<number>("double", 4);
    svc.connect();
    await expect(queued).resolves.toBe(8);
    await expect(svc.request<number>("double", 21)).resolves.toBe(42);
  });

  it("requestWith({ timeout }) to an event the server never acks rejects with an Error on time", async () => {
    const { server, received } = await recordingServer();
    const svc = service(server.url);
    svc.connect();
    await waitForState(svc, "connected");
    const startedAt = Date.now();
    const error = await svc.requestWith({ timeout: 200 }, "ignored", 1).then(
      () => null,
      (reason: unknown) => reason,
    );
    const elapsed = Date.now() - startedAt;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/ignored/);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1_500);
    await received.waitFor(1);
    expect(payloads(received)).toEqual([["ignored", 1]]);
    expect(svc.getStatus().state).toBe("connected");
  });

  it("a queued request that times out is dropped ('timeout') and never delivered later", async () => {
    const { server, received } = await recordingServer();
    const svc = service(server.url);
    const drop = waitForEvent(svc, "message:dropped");
    await expect(svc.requestWith({ timeout: 150 }, "double", 1)).rejects.toBeInstanceOf(Error);
    expect(await drop).toMatchObject({ event: "double", reason: "timeout" });
    expect(svc.getStatus().queuedMessages).toBe(0);
    svc.connect();
    await waitForState(svc, "connected");
    await svc.request("fence");
    expect(received.count).toBe(0);
  });
});

describe("dispose", () => {
  it("drops what is left, announced as 'disposed' in order, and rejects pending requests", async () => {
    const { server, received } = await recordingServer();
    const svc = service(server.url);
    const dropped = recordEvents(svc, ["message:dropped"]);
    svc.send("left", 1);
    svc.send("left", 2);
    const pending = svc.request("double", 3);
    svc.dispose();
    await expect(pending).rejects.toBeInstanceOf(Error);
    expect(dropped.of("message:dropped")).toEqual([
      expect.objectContaining({ event: "left", reason: "disposed", args: [1] }),
      expect.objectContaining({ event: "left", reason: "disposed", args: [2] }),
      expect.objectContaining({ event: "double", reason: "disposed", args: [3] }),
    ]);
    expect(svc.getStatus()).toMatchObject({ queuedMessages: 0, disposed: true, state: "idle" });
    expect(received.count).toBe(0);
    expect(server.handshakes).toBe(0);
  });
});

describe("across a forced reconnection", () => {
  it("nothing is delivered twice and nothing is lost", async () => {
    const { server, received } = await recordingServer();
    const svc = service(server.url);
    svc.connect();
    await waitForState(svc, "connected");
    const dropped = recordEvents(svc, ["message:dropped"]);
    // Emitted on the old socket just before it is closed: still delivered (Engine.IO drains on close).
    for (let i = 1; i <= 3; i += 1) svc.send("before", i);
    const forced = svc.forceReconnection();
    // Sent while the new attempt is in flight: held, then flushed once.
    for (let i = 1; i <= 3; i += 1) svc.send("during", i);
    expect(svc.getStatus().queuedMessages).toBe(3);
    await forced;
    for (let i = 1; i <= 3; i += 1) svc.send("after", i);
    await received.waitFor(9);
    await svc.request("fence");
    // A second forced reconnection with nothing queued re-sends nothing.
    await svc.forceReconnection();
    await svc.request("fence");
    expect(payloads(received)).toEqual([
      ["before", 1],
      ["before", 2],
      ["before", 3],
      ["during", 1],
      ["during", 2],
      ["during", 3],
      ["after", 1],
      ["after", 2],
      ["after", 3],
    ]);
    expect(server.connections).toBe(3);
    expect(server.peakOpen).toBe(1);
    dropped.stop();
    expect(dropped.events).toEqual([]);
  });

  it("a queue flushed on a connection that then drops is not flushed again on the next one", async () => {
    const { server, received } = await recordingServer();
    const svc = service(server.url);
    svc.connect();
    await waitForState(svc, "connected");
    await killAndWaitForBackoff(svc, server);
    for (let i = 1; i <= 3; i += 1) svc.send("held", i);
    await server.restart();
    await received.waitFor(3);
    await svc.request("fence");
    await killAndWaitForBackoff(svc, server);
    await server.restart();
    await waitForState(svc, "connected");
    await svc.request("fence");
    expect(payloads(received)).toEqual([
      ["held", 1],
      ["held", 2],
      ["held", 3],
    ]);
  });
});
