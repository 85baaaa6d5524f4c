import { describe, expect, it } from "vitest";
import { SilentListener, unusedPort } from "../../lab/tcpProxy.js";
import { eventually, recordEvents, waitForEvent, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

const { cleanup, service, startServer } = integrationRig();

const fast = FAST_RETRY;

/** Settles every promise and sorts the outcomes. */
async function outcomes(promises: Promise<void>[]) {
  const settled = await Promise.allSettled(promises);
  return {
    fulfilled: settled.filter((result) => result.status === "fulfilled").length,
    errors: settled.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : [])),
  };
}

describe("forceReconnection()", () => {
  it("50 concurrent calls while connected: all resolve, one new socket, never two open at once", async () => {
    const server = await startServer();
    const ws = service({ url: server.url, config: fast });
    ws.connect();
    await waitForState(ws, "connected");
    const before = ws.getStatus().socketId;
    const log = recordEvents(ws, ["connection:connected", "connection:disconnected"]);

    const result = await outcomes(Array.from({ length: 50 }, () => ws.forceReconnection()));
    log.stop();

    expect(result).toEqual({ fulfilled: 50, errors: [] });
    expect(ws.getStatus()).toMatchObject({ state: "connected", attempt: 0 });
    expect(ws.getStatus().socketId).not.toBe(before);
    expect(server.connections).toBe(2);
    expect(server.handshakes).toBe(2);
    expect(server.peakOpen).toBe(1);
    expect(log.of("connection:connected")).toHaveLength(1);
    expect(log.of("connection:disconnected")).toEqual([{ reason: "forced reconnection" }]);
    // The server agrees: the old socket is gone, exactly one is open.
    await eventually(() => expect(server.openSockets()).toBe(1));
  });

  it("50 concurrent calls from idle open exactly one socket", async () => {
    const server = await startServer();
    const ws = service({ url: server.url, config: fast });
    const result = await outcomes(Array.from({ length: 50 }, () => ws.forceReconnection()));
    expect(result).toEqual({ fulfilled: 50, errors: [] });
    expect(server.handshakes).toBe(1);
    expect(server.connections).toBe(1);
    expect(server.peakOpen).toBe(1);
  });

  it("while backing off with a long delay: connects now, with the counter reset", async () => {
    const server = await startServer();
    const ws = service({ url: server.url, config: { ...fast, baseDelay: 10_000, maxDelay: 20_000 } });
    ws.connect();
    await waitForState(ws, "connected");
    const retry = waitForEvent(ws, "connection:reconnecting");
    await server.kill();
    const { delay } = await retry;
    expect(delay).toBeGreaterThanOrEqual(5000);
    await server.restart();
    const started = Date.now();
    await ws.forceReconnection();
    expect(Date.now() - started).toBeLessThan(delay);
    expect(ws.getStatus()).toMatchObject({ state: "connected", attempt: 0, nextRetryAt: null });
    expect(server.connections).toBe(2);
  });

  it("rejects with an Error when the attempt ends in authRequired", async () => {
    const server = await startServer({ tokens: ["good"] });
    const ws = service({ url: server.url, auth: { token: "bad" }, config: fast });
    const result = await outcomes(Array.from({ length: 5 }, () => ws.forceReconnection()));
    expect(result.fulfilled).toBe(0);
    expect(result.errors).toHaveLength(5);
    for (const error of result.errors) {
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/authRequired/);
    }
    expect(ws.getStatus().state).toBe("authRequired");
    expect(server.handshakes).toBe(1);

    ws.setAuthToken("good");
    await waitForState(ws, "connected");
  });

  it("rejects with an Error when the attempt ends in exhausted", async () => {
    const ws = service({ url: `http://127.0.0.1:${await unusedPort()}`, config: { ...fast, maxReconnectAttempts: 2 } });
    const failures = recordEvents(ws, ["connection:failed"]);
    const result = await outcomes([ws.forceReconnection(), ws.forceReconnection()]);
    failures.stop();
    expect(result.fulfilled).toBe(0);
    for (const error of result.errors) {
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/exhausted/);
    }
    expect(failures.of("connection:failed").map(({ attempt }) => attempt)).toEqual([1, 2]);
    expect(ws.getStatus()).toMatchObject({ state: "exhausted", attempt: 2 });
  });

  it("rejects with an Error when disconnect() ends the attempt in idle", async () => {
    const listener = cleanup.add(await SilentListener.start(), (silent) => silent.close());
    const ws = service({ url: listener.url, config: { ...fast, connectionTimeout: 5000 } });
    const pending = ws.forceReconnection();
    expect(ws.getStatus().state).toBe("connecting");
    ws.disconnect();
    await expect(pending).rejects.toThrow(/idle/);
    await expect(pending).rejects.toBeInstanceOf(Error);
    expect(ws.getStatus()).toMatchObject({ state: "idle", nextRetryAt: null });
  });

  it("connect() and setAuthToken() while connected open no second socket", async () => {
    const server = await startServer();
    const ws = service({ url: server.url, auth: { token: "first" }, config: fast });
    ws.connect();
    await waitForState(ws, "connected");
    const { socketId } = ws.getStatus();
    // Commands are handled synchronously: a transition would show at once.
    ws.connect();
    ws.setAuthToken("second");
    expect(ws.getStatus()).toMatchObject({ state: "connected", socketId });
    // The new token is used by the next handshake.
    await ws.forceReconnection();
    expect(server.seenTokens).toEqual(["first", "second"]);
    expect(server.peakOpen).toBe(1);
  });

  it("rejects at once after dispose()", async () => {
    const server = await startServer();
    const ws = service({ url: server.url, config: fast });
    ws.dispose();
    await expect(ws.forceReconnection()).rejects.toBeInstanceOf(Error);
    expect(server.handshakes).toBe(0);
  });
});
