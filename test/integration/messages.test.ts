import { describe, expect, it } from "vitest";
import type { Socket } from "socket.io";
import { LabServer } from "../../lab/server.js";
import type { ListenerErrorSource } from "../../src/services/WebSocketService.js";
import { recordEvents, waitForEvent, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

const { cleanup, service } = integrationRig();

const fast = FAST_RETRY;

/**
 * A server that records every event it receives (heartbeats aside) and answers `echo`
 * with an ack carrying its arguments.
 */
async function recordingServer() {
  const received: { event: string; args: unknown[]; socket: string }[] = [];
  const server = cleanup.add(
    await LabServer.start({
      onConnection: (socket: Socket) => {
        socket.onAny((event: string, ...args: unknown[]) => {
          if (event === "heartbeat") return;
          const ack = typeof args.at(-1) === "function" ? (args.pop() as (...reply: unknown[]) => void) : null;
          received.push({ event, args, socket: socket.id });
          if (event === "echo") ack?.({ echoed: args });
        });
      },
    }),
    (started) => started.close(),
  );
  return { server, received };
}

describe("send() and request()", () => {
  it("sends made while idle are queued and delivered once each, in order, after connect", async () => {
    const { server, received } = await recordingServer();
    const ws = service({ url: server.url, config: fast });
    ws.send("first", 1);
    ws.send("second", { two: 2 });
    ws.send("third", "3", [3]);
    expect(ws.getStatus().queuedMessages).toBe(3);
    // Queued too: its ack is the barrier after which everything sent before it has arrived.
    const barrier = ws.request("echo", "barrier");
    expect(received).toEqual([]);

    ws.connect();
    expect(await barrier).toEqual({ echoed: ["barrier"] });
    expect(ws.getStatus().queuedMessages).toBe(0);
    expect(await ws.request("echo", "after")).toEqual({ echoed: ["after"] });
    expect(received.map(({ event, args }) => ({ event, args }))).toEqual([
      { event: "first", args: [1] },
      { event: "second", args: [{ two: 2 }] },
      { event: "third", args: ["3", [3]] },
      { event: "echo", args: ["barrier"] },
      { event: "echo", args: ["after"] },
    ]);
    expect(server.connections).toBe(1);
  });

  it("sends made while backing off after a crash are delivered on the new connection", async () => {
    const { server, received } = await recordingServer();
    const ws = service({ url: server.url, config: fast });
    ws.connect();
    await waitForState(ws, "connected");
    ws.send("before", 0);
    expect(await ws.request("echo", "sync")).toEqual({ echoed: ["sync"] });
    const firstSocket = received[0]!.socket;

    const retry = waitForEvent(ws, "connection:reconnecting");
    await server.kill();
    await retry;
    for (let index = 1; index <= 5; index++) ws.send("during", index);
    const barrier = ws.request("echo", "barrier");
    expect(ws.getStatus().queuedMessages).toBe(6);

    const reconnected = waitForEvent(ws, "connection:reconnected");
    await server.restart();
    await reconnected;
    await barrier;
    const afterCrash = received.filter(({ socket }) => socket !== firstSocket);
    expect(afterCrash.map(({ event, args }) => [event, ...args])).toEqual([
      ["during", 1],
      ["during", 2],
      ["during", 3],
      ["during", 4],
      ["during", 5],
      ["echo", "barrier"],
    ]);
    expect(received.filter(({ event }) => event === "before")).toHaveLength(1);
  });

  it("request() resolves with the server's ack; send() with a callback gets it too", async () => {
    const { server } = await recordingServer();
    const ws = service({ url: server.url, config: fast });
    ws.connect();
    await waitForState(ws, "connected");
    await expect(ws.request("echo", 1, "two", { three: 3 })).resolves.toEqual({ echoed: [1, "two", { three: 3 }] });
    const acked = new Promise<unknown[]>((resolve) => ws.send("echo", "cb", (...reply: unknown[]) => resolve(reply)));
    expect(await acked).toEqual([{ echoed: ["cb"] }]);
  });

  it("request() rejects when the server never acks within its timeout", async () => {
    const { server } = await recordingServer();
    const ws = service({ url: server.url, config: fast });
    ws.connect();
    await waitForState(ws, "connected");
    await expect(ws.requestWith({ timeout: 200 }, "no-ack")).rejects.toThrow(/no-ack/);
    expect(ws.getStatus().state).toBe("connected");
  });
});

describe("listeners", () => {
  it("a listener that throws breaks neither the service nor the other listeners", async () => {
    const { server } = await recordingServer();
    const reported: { error: unknown; name: ListenerErrorSource }[] = [];
    const ws = service({
      url: server.url,
      config: fast,
      onListenerError: (error, name) => reported.push({ error, name }),
    });
    const boom = new Error("listener exploded");
    const calls: string[] = [];
    ws.on("connection:connected", () => calls.push("before"));
    ws.on("connection:connected", () => {
      calls.push("thrower");
      throw boom;
    });
    ws.on("connection:connected", () => calls.push("after"));
    ws.on("message", () => {
      throw new Error("message listener exploded");
    });
    const messages = recordEvents(ws, ["message"]);

    ws.connect();
    await waitForState(ws, "connected");
    expect(calls).toEqual(["before", "thrower", "after"]);
    expect(reported).toEqual([{ error: boom, name: "connection:connected" }]);

    const news = waitForEvent(ws, "message", { filter: ({ event }) => event === "news" });
    server.io.emit("news", 1);
    await news;
    expect(messages.of("message")).toEqual([{ event: "news", args: [1] }]);
    expect(reported.at(-1)).toMatchObject({ name: "message", error: { message: "message listener exploded" } });

    // Still working: requests, status and reconnection.
    expect(await ws.request("echo", "ok")).toEqual({ echoed: ["ok"] });
    await ws.forceReconnection();
    expect(calls).toEqual(["before", "thrower", "after", "before", "thrower", "after"]);
    expect(ws.getStatus()).toMatchObject({ state: "connected", healthScore: 100 });
    messages.stop();
  });

  it("off() and the returned unsubscribe stop delivery", async () => {
    const { server } = await recordingServer();
    const ws = service({ url: server.url, config: fast });
    const seen: string[] = [];
    const viaOff = () => seen.push("off");
    const unsubscribe = ws.on("connection:connected", () => seen.push("unsubscribe"));
    ws.on("connection:connected", viaOff);
    ws.on("connection:connected", () => seen.push("kept"));
    unsubscribe();
    ws.off("connection:connected", viaOff);
    ws.connect();
    await waitForState(ws, "connected");
    expect(seen).toEqual(["kept"]);
  });
});
