import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/machine/config.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import { runFor, startChart } from "../support/fakeSocket.js";

/**
 * Several servers (`url: [primary, backup, ...]`): failover after failoverAfter failed attempts
 * on one server, the background check of the primary once stable on a backup (the fake socket
 * answers the chart's `probe` commands as the test says), the move back after the call, and the
 * session offered only to the server that holds it. Production chart, fake socket, simulated time.
 */

const A = "https://a.example";
const B = "https://b.example";
const C = "https://c.example";

type Chart = ReturnType<typeof startChart>;

const { stablePeriod, failbackInterval, failoverAfter, connectionTimeout } = DEFAULT_CONFIG;

function servers(urls: string[], config: Partial<ConnectionConfig> = {}, hasTokenProvider = false): Chart {
  const chart = startChart({ url: urls, config, hasTokenProvider });
  chart.actor.send({ type: "connect" });
  return chart;
}

/** Lets the pending retry timer run out (the chart then opens the next socket). */
function waitForRetry(chart: Chart): void {
  const delay = chart.context().nextRetryDelay;
  if (delay === null) throw new Error("no retry is scheduled");
  runFor(chart.clock, delay);
}

/** Fails the attempt in flight, then lets the retry open the next one. */
function failAndRetry(chart: Chart, message = "xhr poll error"): void {
  chart.socket.fail(message);
  waitForRetry(chart);
}

const serverChanges = (chart: Chart) => chart.emittedOf("connection:server_changed").map(({ from, to, reason }) => ({ from, to, reason }));

/** Connected to the backup B: the primary failed failoverAfter times. */
function onBackup(config: Partial<ConnectionConfig> = {}): Chart {
  const chart = servers([A, B], config);
  for (let failure = 0; failure < failoverAfter; failure++) failAndRetry(chart);
  chart.socket.connect();
  expect(chart.status()).toMatchObject({ state: "connected", server: B });
  return chart;
}

describe("failover", () => {
  it(`after failoverAfter (${failoverAfter}) failures in a row on one server, the next attempt goes to the next one`, () => {
    const chart = servers([A, B, C]);
    expect(chart.socket.lastOpen()).toMatchObject({ url: A });
    chart.socket.fail();
    expect(chart.emittedOf("connection:failed").at(-1)).toMatchObject({ server: A });
    expect(chart.emittedOf("connection:reconnecting").at(-1)).toMatchObject({ server: A });
    waitForRetry(chart);
    expect(chart.socket.lastOpen()).toMatchObject({ url: A });
    chart.socket.fail();
    expect(serverChanges(chart)).toEqual([{ from: A, to: B, reason: "failover" }]);
    expect(chart.emittedOf("connection:reconnecting").at(-1)).toMatchObject({ server: B });
    expect(chart.status().server).toBe(B);
    waitForRetry(chart);
    expect(chart.socket.lastOpen()).toMatchObject({ url: B });
    // The attempt counter is the outage's, whatever the server.
    expect(chart.context().attempt).toBe(2);
    chart.socket.connect();
    expect(chart.emittedOf("connection:connected").at(-1)).toMatchObject({ server: B });
  });

  it("wraps around the list", () => {
    const chart = servers([A, B]);
    for (let failure = 0; failure < 2 * failoverAfter; failure++) failAndRetry(chart);
    expect(serverChanges(chart)).toEqual([
      { from: A, to: B, reason: "failover" },
      { from: B, to: A, reason: "failover" },
    ]);
    expect(chart.socket.lastOpen()).toMatchObject({ url: A });
  });

  it("failoverAfter 1 moves on at every failure", () => {
    const chart = servers([A, B, C], { failoverAfter: 1 });
    failAndRetry(chart);
    failAndRetry(chart);
    expect(chart.socket.commands.filter((command) => command.type === "open").map((command) => command.url)).toEqual([A, B, C]);
  });

  it("a connection resets the count: failures spread over connections do not add up", () => {
    const chart = servers([A, B]);
    chart.socket.fail();
    waitForRetry(chart);
    chart.socket.connect();
    chart.socket.drop("transport close");
    waitForRetry(chart);
    chart.socket.fail();
    expect(serverChanges(chart)).toEqual([]);
    expect(chart.context().url).toBe(A);
  });

  it("an auth rejection never moves on: it is the token, not the server", () => {
    const chart = servers([A, B], {}, true);
    chart.socket.fail("invalid token", { authRejected: true });
    expect(chart.state()).toBe("connecting");
    chart.socket.fail("invalid token", { authRejected: true });
    expect(chart.state()).toBe("authRequired");
    expect(serverChanges(chart)).toEqual([]);
    expect(chart.context()).toMatchObject({ url: A, serverFailures: 0 });
    chart.actor.send({ type: "auth.updated" });
    expect(chart.socket.lastOpen()).toMatchObject({ url: A });
  });

  it("failures while the network is reported offline do not count", () => {
    const chart = startChart({ url: [A, B], network: "offline" });
    for (let attempt = 0; attempt < 3; attempt++) {
      // A person's forced attempt is tried even offline; its failure is not the server's.
      chart.actor.send({ type: "forceReconnect", id: attempt + 1 });
      chart.socket.fail();
      expect(chart.actor.getSnapshot().value).toEqual({ backingOff: "waitingForNetwork" });
    }
    expect(serverChanges(chart)).toEqual([]);
    expect(chart.context().serverFailures).toBe(0);
    chart.actor.send({ type: "network.online" });
    expect(chart.socket.lastOpen()).toMatchObject({ url: A });
  });

  it("one server: nothing to fail over to, nothing announced", () => {
    const chart = servers([A]);
    for (let failure = 0; failure < 4; failure++) failAndRetry(chart);
    expect(serverChanges(chart)).toEqual([]);
    expect(chart.socket.lastOpen()).toMatchObject({ url: A });
  });
});

describe("fail-back", () => {
  it("on the primary nothing is checked", () => {
    const chart = servers([A, B]);
    chart.socket.connect();
    runFor(chart.clock, stablePeriod + 3 * failbackInterval);
    expect(chart.socket.probes()).toBe(0);
  });

  it("on a backup, the primary is checked once stable, then every failbackInterval while it does not answer", () => {
    const chart = onBackup();
    runFor(chart.clock, stablePeriod - 1);
    expect(chart.socket.probes()).toBe(0);
    runFor(chart.clock, 1);
    expect(chart.socket.lastProbe()).toMatchObject({ type: "probe", url: A });
    // Bounded: a hung primary must not hold the check longer than an attempt would take.
    expect(chart.socket.lastProbe().timeout).toBeLessThanOrEqual(connectionTimeout);
    chart.socket.probeResult(false);
    runFor(chart.clock, failbackInterval - 1);
    expect(chart.socket.probes()).toBe(1);
    runFor(chart.clock, 1);
    expect(chart.socket.probes()).toBe(2);
    chart.socket.probeResult(false);
    runFor(chart.clock, failbackInterval);
    expect(chart.socket.probes()).toBe(3);
    // The checks open no socket and leave the link alone.
    expect(chart.socket.opens()).toBe(3);
    expect(chart.status()).toMatchObject({ state: "connected", server: B });
  });

  it("when the primary answers, the service moves back to it", () => {
    const chart = onBackup();
    runFor(chart.clock, stablePeriod);
    const before = chart.emitted.length;
    chart.socket.probeResult(true);
    expect(chart.emitted.slice(before)).toEqual([
      { type: "connection:disconnected", reason: "moving back to the primary server" },
      { type: "connection:server_changed", from: B, to: A, reason: "failback" },
    ]);
    expect(chart.actor.getSnapshot().value).toEqual({ connecting: "handshaking" });
    expect(chart.socket.lastOpen()).toMatchObject({ url: A });
    chart.socket.connect();
    expect(chart.status()).toMatchObject({ state: "connected", server: A });
    runFor(chart.clock, stablePeriod + failbackInterval);
    expect(chart.socket.probes()).toBe(1);
  });

  it("an answer about another server, or a late one, moves nothing", () => {
    const chart = onBackup();
    chart.socket.probeResult(true, A);
    expect(chart.status().server).toBe(B);
    runFor(chart.clock, stablePeriod);
    chart.socket.probeResult(true, C);
    expect(chart.status()).toMatchObject({ state: "connected", server: B });
  });

  it("during a call the move waits for the call to end", () => {
    const chart = onBackup();
    chart.actor.send({ type: "call.set", active: true });
    runFor(chart.clock, stablePeriod);
    chart.socket.probeResult(true);
    expect(chart.status()).toMatchObject({ state: "connected", server: B });
    runFor(chart.clock, 3 * failbackInterval);
    expect(chart.status()).toMatchObject({ state: "connected", server: B });
    expect(chart.socket.probes()).toBe(1);
    expect(serverChanges(chart).filter((change) => change.reason === "failback")).toEqual([]);
    chart.actor.send({ type: "call.set", active: false });
    expect(serverChanges(chart).at(-1)).toEqual({ from: B, to: A, reason: "failback" });
    expect(chart.socket.lastOpen()).toMatchObject({ url: A });
  });

  it("a failed move back returns to the backup at once, and the next check waits a whole failbackInterval", () => {
    const chart = onBackup();
    runFor(chart.clock, stablePeriod);
    chart.socket.probeResult(true);
    chart.socket.fail("server busy");
    expect(serverChanges(chart).at(-1)).toEqual({ from: A, to: B, reason: "failover" });
    waitForRetry(chart);
    expect(chart.socket.lastOpen()).toMatchObject({ url: B });
    chart.socket.connect();
    const probes = chart.socket.probes();
    runFor(chart.clock, stablePeriod);
    expect(chart.socket.probes()).toBe(probes);
    runFor(chart.clock, failbackInterval);
    expect(chart.socket.probes()).toBe(probes + 1);
  });

  it("a failed move back is no step towards exhausted: the backup it left still works", () => {
    const chart = onBackup({ maxReconnectAttempts: 3 });
    runFor(chart.clock, stablePeriod);
    chart.socket.probeResult(true);
    chart.socket.fail("server busy");
    // Not counted: attempt stays 0 (a counted one would be 1, and with maxReconnectAttempts 1 exhausted).
    expect(chart.status()).toMatchObject({ state: "backingOff", attempt: 0, server: B });
    expect(chart.emittedOf("connection:failed").at(-1)).toMatchObject({ server: A });
    waitForRetry(chart);
    chart.socket.connect();
    expect(chart.status()).toMatchObject({ state: "connected", server: B });
  });

  it("the backup lost before stablePeriod: no check", () => {
    const chart = onBackup();
    runFor(chart.clock, stablePeriod - 1);
    chart.socket.drop("transport close");
    runFor(chart.clock, 1);
    expect(chart.socket.probes()).toBe(0);
  });
});

describe("session recovery across servers", () => {
  it("the last session is offered only to the server that held it", () => {
    const chart = servers([A, B]);
    expect(chart.socket.lastOpen()).toMatchObject({ url: A, offerSession: false });
    chart.socket.connect();
    chart.socket.drop("transport close");
    waitForRetry(chart);
    expect(chart.socket.lastOpen()).toMatchObject({ url: A, offerSession: true });
    failAndRetry(chart);
    failAndRetry(chart);
    expect(chart.socket.lastOpen()).toMatchObject({ url: B, offerSession: false });
    failAndRetry(chart);
    failAndRetry(chart);
    // Back on the server that holds it.
    expect(chart.socket.lastOpen()).toMatchObject({ url: A, offerSession: true });
  });

  it("with sharedSessions, to any of them", () => {
    const chart = servers([A, B], { sharedSessions: true });
    chart.socket.connect();
    chart.socket.drop("transport close");
    waitForRetry(chart);
    failAndRetry(chart);
    failAndRetry(chart);
    expect(chart.socket.lastOpen()).toMatchObject({ url: B, offerSession: true });
  });
});
