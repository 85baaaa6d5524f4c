import { describe, expect, it } from "vitest";
import { runFor, startChart } from "../support/fakeSocket.js";

const DAY = 24 * 3_600_000;
const rejection = { authRejected: true };

describe("auth rejection", () => {
  it("without a token provider: authRequired at once, no retry", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail("Unauthorized", rejection);
    expect(chart.actor.getSnapshot().value).toBe("authRequired");
    expect(chart.context()).toMatchObject({
      attempt: 0,
      lastError: { message: "Unauthorized" },
      nextRetryAt: null,
      nextRetryDelay: null,
    });
    expect(chart.emitted).toEqual([
      { type: "connection:auth_failed", error: { message: "Unauthorized" } },
      { type: "connection:auth_required" },
    ]);
    expect(chart.socket.commands.at(-1)).toEqual({ type: "close" });
    runFor(chart.clock, DAY);
    expect(chart.socket.opens()).toBe(1);
    expect(chart.state()).toBe("authRequired");
  });

  it("with a token provider: exactly one refresh (an immediate second handshake), then authRequired", () => {
    const chart = startChart({ hasTokenProvider: true });
    chart.actor.send({ type: "connect" });
    chart.socket.fail("jwt expired", rejection);
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.socket.opens()).toBe(2);
    expect(chart.socket.lastOpen()).toEqual(expect.objectContaining({ type: "open", generation: 2 }));
    expect(chart.context()).toMatchObject({ authRefreshUsed: true, attempt: 0, lastError: { message: "jwt expired" } });
    expect(chart.emitted).toEqual([{ type: "connection:auth_failed", error: { message: "jwt expired" } }]);

    chart.socket.fail("jwt expired", rejection);
    expect(chart.state()).toBe("authRequired");
    expect(chart.emittedOf("connection:auth_failed")).toHaveLength(2);
    expect(chart.emittedOf("connection:auth_required")).toHaveLength(1);
    expect(chart.emittedOf("connection:failed")).toEqual([]);
    runFor(chart.clock, DAY);
    expect(chart.socket.opens()).toBe(2);
  });

  it("with a provider, a refresh that works connects and makes the refresh available again", () => {
    const chart = startChart({ hasTokenProvider: true });
    chart.actor.send({ type: "connect" });
    chart.socket.fail("401", rejection);
    chart.socket.connect();
    expect(chart.state()).toBe("connected");
    expect(chart.context().authRefreshUsed).toBe(false);
    chart.socket.drop();
    runFor(chart.clock, chart.context().nextRetryDelay ?? 0);
    chart.socket.fail("401", rejection);
    expect(chart.state()).toBe("connecting");
    expect(chart.context().authRefreshUsed).toBe(true);
  });

  it("the refresh is used once per outage: a later rejection after a network failure goes to authRequired", () => {
    const chart = startChart({ hasTokenProvider: true });
    chart.actor.send({ type: "connect" });
    chart.socket.fail("403", rejection);
    chart.socket.fail("xhr poll error");
    expect(chart.state()).toBe("backingOff");
    runFor(chart.clock, chart.context().nextRetryDelay ?? 0);
    chart.socket.fail("403", rejection);
    expect(chart.state()).toBe("authRequired");
    expect(chart.socket.opens()).toBe(3);
  });

  it("a non-auth rejection is an ordinary failed attempt", () => {
    const chart = startChart({ hasTokenProvider: true });
    chart.actor.send({ type: "connect" });
    chart.socket.fail("Unauthorized?", { authRejected: false });
    expect(chart.state()).toBe("backingOff");
    expect(chart.context()).toMatchObject({ attempt: 1, authRefreshUsed: false });
  });
});

describe("tokenMissing", () => {
  it("-> authRequired with no handshake and no auth_failed; lastError is the actor's reason", () => {
    const chart = startChart({ hasTokenProvider: true });
    chart.actor.send({ type: "connect" });
    chart.socket.tokenMissing("token provider returned a number; expected a string");
    expect(chart.state()).toBe("authRequired");
    expect(chart.context()).toMatchObject({
      attempt: 0,
      lastError: { message: "token provider returned a number; expected a string" },
    });
    expect(chart.emitted).toEqual([{ type: "connection:auth_required" }]);
    runFor(chart.clock, DAY);
    expect(chart.socket.opens()).toBe(1);
  });
});

describe("setAuthToken (auth.updated)", () => {
  it("from authRequired: connecting at once with fresh counters", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    chart.socket.fail("invalid token", rejection);
    chart.actor.send({ type: "auth.updated" });
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.socket.lastOpen()).toEqual(expect.objectContaining({ type: "open", generation: 2 }));
    expect(chart.context()).toMatchObject({ attempt: 0, authRefreshUsed: false });
    chart.socket.connect("sid");
    expect(chart.state()).toBe("connected");
    expect(chart.emittedOf("connection:reconnected")).toEqual([]);
  });

  it("elsewhere changes no state: the next handshake picks the token up from the socket actor", () => {
    const chart = startChart();
    chart.actor.send({ type: "auth.updated" });
    expect(chart.state()).toBe("idle");
    expect(chart.socket.opens()).toBe(0);
    chart.actor.send({ type: "connect" });
    chart.socket.fail();
    chart.actor.send({ type: "auth.updated" });
    expect(chart.state()).toBe("backingOff");
    expect(chart.socket.opens()).toBe(1);
    runFor(chart.clock, chart.context().nextRetryDelay ?? 0);
    expect(chart.socket.lastOpen()).toEqual(expect.objectContaining({ type: "open", generation: 2 }));
  });

  it("the token never enters the chart: not in context, not in any command", () => {
    const chart = startChart({ hasTokenProvider: true });
    chart.actor.send({ type: "connect" });
    chart.actor.send({ type: "auth.updated" });
    expect(JSON.stringify(chart.context())).not.toMatch(/token"\s*:/);
    for (const command of chart.socket.commands) expect(command).not.toHaveProperty("token");
  });

  it("connect() from authRequired does nothing; forceReconnect tries again (the provider is asked again)", () => {
    const chart = startChart({ hasTokenProvider: true });
    chart.actor.send({ type: "connect" });
    chart.socket.tokenMissing();
    chart.actor.send({ type: "connect" });
    expect(chart.state()).toBe("authRequired");
    expect(chart.socket.opens()).toBe(1);
    chart.actor.send({ type: "forceReconnect" });
    expect(chart.state()).toBe("connecting");
    expect(chart.socket.lastOpen()).toEqual(expect.objectContaining({ type: "open", generation: 2 }));
  });
});

describe("a new token while a handshake is in flight", () => {
  it("restarts the attempt: the old handshake (carrying the old token) is closed and its verdict is stale", () => {
    const chart = startChart();
    chart.actor.send({ type: "connect" });
    const old = chart.socket.lastOpen().generation;
    chart.actor.send({ type: "auth.updated" });
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.socket.lastOpen().generation).toBe(old + 1);
    // (The socket actor closes the old socket itself when it gets the new `open`.)
    // The old handshake's rejection arrives late: ignored.
    chart.socket.report({
      type: "socket.connectFailed",
      generation: old,
      error: { message: "invalid token" },
      authRejected: true,
      retryAfter: null,
    });
    expect(chart.state()).toBe("connecting");
    chart.socket.connect();
    expect(chart.state()).toBe("connected");
    expect(chart.context().attempt).toBe(0);
  });
});
