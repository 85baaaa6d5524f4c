import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { io } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { TcpProxy } from "../../lab/tcpProxy.js";
import { Tally, untilContext, waitForEvent, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

/**
 * The HTTP long-polling transport, where WebSocket is not available: the fallback itself,
 * and the faults of the other tests on a polling-only connection (a polling session runs
 * over many short HTTP requests instead of one TCP stream).
 */

const { cleanup, service, startServer } = integrationRig();

const POLLING = { transports: ["polling" as const] };

/** Sockets whose Engine.IO connection is not closed. */
const notClosed = (sockets: ReturnType<typeof io>[]) =>
  sockets.filter((socket) => socket.io.engine !== undefined && socket.io.engine.readyState !== "closed").length;

/** A real Socket.IO server that offers polling only (as behind a proxy without WebSocket). */
async function pollingOnlyServer(received: Tally<string>) {
  const http = createServer();
  const server = new Server(http, { transports: ["polling"], pingInterval: 300, pingTimeout: 300 });
  server.on("connection", (socket) => {
    socket.on("heartbeat", (ack: () => void) => ack());
    socket.on("note", (text: string) => received.push(text));
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", () => resolve()));
  cleanup.add(server, (started) => new Promise<void>((resolve) => started.close(() => resolve())));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, server };
}

describe("the polling transport", () => {
  it("is the fallback: against a server without WebSocket the default options still connect, over polling", async () => {
    const received = new Tally<string>();
    const { url } = await pollingOnlyServer(received);
    const transports: string[] = [];
    const ws = service({
      url,
      config: FAST_RETRY,
      socketFactory: (target, options) => {
        const socket = io(target, options);
        socket.io.on("open", () => transports.push(socket.io.engine.transport.name));
        return socket;
      },
    });
    ws.send("note", "queued-before-connect");
    ws.connect();
    await waitForState(ws, "connected");
    await received.waitFor(1);
    expect(transports).toEqual(["polling"]);
    expect(received.values).toEqual(["queued-before-connect"]);
    await untilContext(ws, (context) => context.latency !== null);
    expect(ws.getStatus()).toMatchObject({ state: "connected", healthScore: 100 });
  });

  it("a server crash and restart: backingOff, then reconnected, the sends of the outage delivered once in order", async () => {
    const received = new Tally<string>();
    const server = await startServer({ onConnection: (socket) => socket.on("note", (text: string) => received.push(text)) });
    const ws = service({ url: server.url, config: FAST_RETRY, socketOptions: POLLING });
    ws.connect();
    await waitForState(ws, "connected");
    await server.kill();
    await waitForState(ws, "backingOff");
    ws.send("note", "one");
    ws.send("note", "two");
    await server.restart();
    await waitForEvent(ws, "connection:reconnected");
    await received.waitFor(2);
    expect(received.values).toEqual(["one", "two"]);
    expect(server.peakOpen).toBe(1);
  });

  it("a silent link is found by the heartbeat and replaced once the link is back", async () => {
    const server = await startServer({ pingInterval: 10_000, pingTimeout: 10_000 });
    const proxy = cleanup.add(await TcpProxy.start(server.port), (started) => started.close());
    const ws = service({
      url: proxy.url,
      socketOptions: POLLING,
      config: { ...FAST_RETRY, heartbeatInterval: 300, heartbeatTimeout: 300, minHeartbeatTimeout: 100, unhealthyThreshold: 2 },
    });
    ws.connect();
    await waitForState(ws, "connected");
    // Wait for the first acked heartbeat: from then on a missing ack means a dead link.
    await untilContext(ws, (context) => context.latency !== null);
    proxy.blackhole();
    const lost = await waitForEvent(ws, "connection:disconnected", { timeout: 5_000 });
    expect(lost.reason).toBe("heartbeat timeout");
    expect(ws.getStatus().lastError?.message).toMatch(/^connection lost: heartbeat timeout/);
    proxy.restore();
    await waitForEvent(ws, "connection:reconnected", { timeout: 10_000 });
    expect(ws.getStatus()).toMatchObject({ state: "connected", healthScore: 100 });
  });

  it("the client never holds two polling sockets, even when attempts time out against a hung server", async () => {
    const server = await startServer();
    server.holdHandshakes("forever");
    const sockets: ReturnType<typeof io>[] = [];
    let peak = 0;
    const ws = service({
      url: server.url,
      socketOptions: POLLING,
      config: { ...FAST_RETRY, connectionTimeout: 300, maxReconnectAttempts: 3 },
      socketFactory: (target, options) => {
        // Every earlier socket must be closed by now (its engine, which holds the HTTP requests).
        peak = Math.max(peak, notClosed(sockets) + 1);
        const socket = io(target, options);
        sockets.push(socket);
        return socket;
      },
    });
    ws.connect();
    await waitForState(ws, "exhausted", 10_000);
    expect(ws.getStatus().lastError).toEqual({ message: "connection timed out after 300 ms" });
    expect(sockets).toHaveLength(3);
    expect(peak).toBe(1);
    expect(notClosed(sockets)).toBe(0);
    expect(server.handshakes).toBeGreaterThanOrEqual(1);
  });
});
