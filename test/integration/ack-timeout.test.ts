import { describe, expect, it } from "vitest";
import { io } from "socket.io-client";
import { TcpProxy } from "../../lab/tcpProxy.js";
import { untilContext, waitForEvent, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

// Issue 10 item 2: with socketOptions.ackTimeout socket.io-client calls every ack callback as
// (err, ...args). Before the fix request() resolved with null, and the heartbeat took a timeout
// Error for an ack: a blackholed link stayed "connected, health 100".

const { cleanup, service, startServer } = integrationRig();

async function echoServer() {
  return startServer({
    onConnection: (socket) => {
      socket.on("echo", (value: unknown, ack: (response: unknown) => void) => ack(value));
      socket.on("ignore", () => {});
    },
  });
}

describe("socketOptions.ackTimeout", () => {
  it("request() resolves with the server's value, and rejects with a clear error when no ack comes in time", async () => {
    const server = await echoServer();
    const svc = service({ url: server.url, config: FAST_RETRY, socketOptions: { ackTimeout: 300 } });
    svc.connect();
    await waitForState(svc, "connected");
    expect(await svc.request("echo", { n: 1 })).toEqual({ n: 1 });
    await expect(svc.requestWith({ timeout: 5_000 }, "ignore", 1)).rejects.toThrow(
      /request "ignore" failed: the server did not ack within socketOptions\.ackTimeout \(300 ms\)/,
    );
    expect(svc.getStatus()).toMatchObject({ state: "connected", healthScore: 100 });
  });

  it("send(..., callback) gets exactly what plain io() gives: (null, value) on an ack, (Error) on a timeout", async () => {
    const server = await echoServer();
    const svc = service({ url: server.url, config: FAST_RETRY, socketOptions: { ackTimeout: 300 } });
    svc.connect();
    await waitForState(svc, "connected");
    const plain = cleanup.add(io(server.url, { forceNew: true, ackTimeout: 300, transports: ["websocket"] }), (socket) =>
      socket.disconnect(),
    );
    await new Promise<void>((resolve) => plain.once("connect", () => resolve()));

    const callbackArgs = (emit: (callback: (...args: unknown[]) => void) => void) =>
      new Promise<unknown[]>((resolve) => emit((...args) => resolve(args)));
    const ours = await callbackArgs((callback) => svc.send("echo", 7, callback));
    const theirs = await callbackArgs((callback) => plain.emit("echo", 7, callback));
    expect(ours).toEqual([null, 7]);
    expect(ours).toEqual(theirs);

    const oursLate = await callbackArgs((callback) => svc.send("ignore", 7, callback));
    const theirsLate = await callbackArgs((callback) => plain.emit("ignore", 7, callback));
    expect(theirsLate).toEqual([expect.any(Error)]);
    expect(oursLate).toEqual([expect.any(Error)]);
    expect((oursLate[0] as Error).message).toMatch(/ackTimeout/);
  });

  it("cannot fool the heartbeat: a blackholed link is still found within the documented bound", async () => {
    const server = await echoServer();
    const proxy = cleanup.add(await TcpProxy.start(server.port), (p) => p.close());
    const config = { ...FAST_RETRY, heartbeatInterval: 300, heartbeatTimeout: 200, minHeartbeatTimeout: 100, unhealthyThreshold: 2 };
    // An ackTimeout shorter than the heartbeat's own wait: its timeout Error must not count as an ack.
    const svc = service({ url: proxy.url, config, socketOptions: { ackTimeout: 50 } });
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, (context) => context.heartbeatsAcked);
    const blackholedAt = Date.now();
    proxy.blackhole();
    expect(await waitForEvent(svc, "connection:disconnected", { timeout: 5_000 })).toEqual({ reason: "heartbeat timeout" });
    const bound = config.heartbeatInterval + config.unhealthyThreshold * config.heartbeatTimeout;
    expect(Date.now() - blackholedAt).toBeLessThan(bound + 1_000);
  });

  it("a slow but live link under a short ackTimeout: the late heartbeat ack still counts, the link stays up", async () => {
    const server = await startServer({
      ackHeartbeats: false,
      onConnection: (socket) => socket.on("heartbeat", (ack: () => void) => void setTimeout(ack, 150)),
    });
    const svc = service({
      url: server.url,
      config: { ...FAST_RETRY, heartbeatInterval: 400, heartbeatTimeout: 1_000, healthCheckInterval: 300 },
      socketOptions: { ackTimeout: 50 },
    });
    svc.connect();
    await waitForState(svc, "connected");
    await untilContext(svc, (context) => context.heartbeatsAcked && context.heartbeatSeq >= 3);
    expect(svc.getStatus()).toMatchObject({ state: "connected", consecutiveFailures: 0 });
    expect(svc.getStatus().latency).toBeGreaterThanOrEqual(100);
  });
});

describe("socketOptions.retries", () => {
  it("is refused at creation, pointing at the package's own equivalents", () => {
    expect(() => service({ url: "http://127.0.0.1:1", socketOptions: { retries: 3 } })).toThrow(
      /socketOptions\.retries is refused \(got 3\).*Use instead:.*requestWith/s,
    );
  });
});
