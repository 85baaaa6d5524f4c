import type { Socket as ServerSocket } from "socket.io";
import { describe, expect, it } from "vitest";
import type { LabServer, LabServerOptions } from "../../lab/server.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import { createWebSocketService, type WebSocketService } from "../../src/services/WebSocketService.js";
import { eventually, recordEvents, Tally, waitForEvent, waitForEvents, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

/**
 * Failover and fail-back (issue 14 part 2) across independent Socket.IO servers on 127.0.0.1:
 * `url: [primary, backup, ...]`. Every server counts what reaches it, and every new connection
 * checks that no other socket of this client is open anywhere (one socket at most, always).
 */

const { service, startServer } = integrationRig();

const config: Partial<ConnectionConfig> = {
  ...FAST_RETRY,
  failoverAfter: 2,
  stablePeriod: 300,
  failbackInterval: 300,
};

/** What one server of the cluster saw. */
interface Node {
  server: LabServer;
  url: string;
  /** Every connection: its id, whether a session was offered for recovery, and whether it was restored. */
  connections: Tally<{ id: string; offered: boolean; recovered: boolean }>;
  /** Application events (fence excepted), in order. */
  received: Tally<unknown[]>;
  beats: Tally<string>;
  /** Background checks of the server (plain HTTP GETs of the Socket.IO path, no socket). */
  probes: Tally;
}

/**
 * `count` lab servers. `peakOpen()` is the most sockets open across all of them at once, read
 * at every new connection on any of them.
 */
async function cluster(count: number, options: LabServerOptions = {}) {
  const nodes: Node[] = [];
  let peak = 0;
  const openAcross = () => nodes.reduce((sum, node) => sum + node.server.openSockets(), 0);
  for (let i = 0; i < count; i += 1) {
    const connections = new Tally<{ id: string; offered: boolean; recovered: boolean }>();
    const received = new Tally<unknown[]>();
    const beats = new Tally<string>();
    const probes = new Tally();
    const server = await startServer({
      ...options,
      onConnection: (socket: ServerSocket) => {
        peak = Math.max(peak, openAcross());
        const offered = typeof (socket.handshake.auth as { pid?: unknown }).pid === "string";
        connections.push({ id: socket.id, offered, recovered: socket.recovered });
        socket.on("heartbeat", () => beats.push(socket.id));
        socket.on("fence", (ack: () => void) => ack());
        socket.onAny((event: string, ...args: unknown[]) => {
          if (event === "heartbeat" || event === "fence") return;
          received.push([event, ...args.filter((arg) => typeof arg !== "function")]);
        });
      },
    });
    server.io.httpServer.on("request", (request: { url?: string }) => {
      if (request.url === "/socket.io/") probes.push(undefined);
    });
    nodes.push({ server, url: server.url, connections, received, beats, probes });
  }
  return {
    nodes,
    urls: nodes.map((node) => node.url),
    peakOpen: () => peak,
    /** One socket at most across the cluster, now and at every connection so far. */
    checkOneSocket: () => {
      expect(openAcross()).toBeLessThanOrEqual(1);
      expect(peak).toBeLessThanOrEqual(1);
    },
  };
}

/** Resolves once the chart is in a state matching `value` (at once if it already is). */
function untilMatches(ws: WebSocketService, value: Parameters<ReturnType<WebSocketService["actor"]["getSnapshot"]>["matches"]>[0], timeout = 10_000) {
  return new Promise<void>((resolve, reject) => {
    if (ws.actor.getSnapshot().matches(value)) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`not in ${JSON.stringify(value)} within ${timeout} ms (${JSON.stringify(ws.actor.getSnapshot().value)})`));
    }, timeout);
    const subscription = ws.actor.subscribe((snapshot) => {
      if (!snapshot.matches(value)) return;
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve();
    });
  });
}

const FAILOVER_EVENTS = [
  "connection:connected",
  "connection:disconnected",
  "connection:failed",
  "connection:server_changed",
] as const;

describe("failover", () => {
  it("primary down at start: after failoverAfter failures the service connects to the backup", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(3);
    const [a, b, c] = nodes as [Node, Node, Node];
    await a.server.kill();
    const ws = service({ url: urls, config });
    expect(ws.getStatus().server).toBe(a.url);
    const log = recordEvents(ws, FAILOVER_EVENTS);

    const connected = waitForEvent(ws, "connection:connected");
    ws.connect();
    const { server } = await connected;
    log.stop();

    expect(server).toBe(b.url);
    expect(ws.getStatus()).toMatchObject({ state: "connected", server: b.url, attempt: 0 });
    expect(log.of("connection:failed").map(({ attempt, server: tried }) => [attempt, tried])).toEqual([
      [1, a.url],
      [2, a.url],
    ]);
    expect(log.of("connection:server_changed")).toEqual([{ from: a.url, to: b.url, reason: "failover" }]);
    // The change is announced before the attempt that connects.
    expect(log.events.map((event) => event.name).slice(-2)).toEqual(["connection:server_changed", "connection:connected"]);
    expect(b.connections.count).toBe(1);
    expect(c.server.handshakes).toBe(0);
    checkOneSocket();
  });

  it("with the DEFAULT timings a killed primary is replaced within the first three retry delays (time printed)", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    const ws = service({ url: urls });
    ws.connect();
    await waitForState(ws, "connected");
    const log = recordEvents(ws, ["connection:reconnecting"]);
    const onBackup = waitForEvent(ws, "connection:connected", { timeout: 15_000 });
    const killedAt = Date.now();
    await a.server.kill();
    const { server } = await onBackup;
    const elapsed = Date.now() - killedAt;
    log.stop();
    const delays = log.of("connection:reconnecting").map(({ delay }) => delay);
    console.log(`failover with the default timings: connected to the backup ${elapsed} ms after the primary was killed (retry delays ${delays.join(", ")} ms)`);
    expect(server).toBe(b.url);
    // Two failures on the primary (failoverAfter 2), so three retries: full jitter within 1 s, 2 s, 4 s.
    expect(log.of("connection:reconnecting").map(({ server: to }) => to)).toEqual([a.url, a.url, b.url]);
    expect(elapsed).toBeLessThan(1_000 + 2_000 + 4_000 + 3_000);
    checkOneSocket();
  });

  it("with the first two down it moves on along the list, failoverAfter failures on each", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(3);
    const [a, b, c] = nodes as [Node, Node, Node];
    await a.server.kill();
    await b.server.kill();
    const ws = service({ url: urls, config });
    const log = recordEvents(ws, FAILOVER_EVENTS);
    const connected = waitForEvent(ws, "connection:connected");
    ws.connect();
    expect((await connected).server).toBe(c.url);
    log.stop();
    expect(log.of("connection:failed").map(({ server }) => server)).toEqual([a.url, a.url, b.url, b.url]);
    expect(log.of("connection:server_changed")).toEqual([
      { from: a.url, to: b.url, reason: "failover" },
      { from: b.url, to: c.url, reason: "failover" },
    ]);
    expect(ws.getStatus()).toMatchObject({ state: "connected", server: c.url });
    checkOneSocket();
  });

  it("failures while the network is reported offline do not count towards a failover", async () => {
    const { nodes, urls } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.server.kill();
    const ws = service({ url: urls, config });
    ws.notifyOffline();
    const log = recordEvents(ws, FAILOVER_EVENTS);
    // Each forced attempt is tried once even offline, and fails against the dead primary.
    for (let i = 0; i < 3; i += 1) await expect(ws.forceReconnection()).rejects.toThrow(/offline/);
    expect(log.of("connection:failed").map(({ server }) => server)).toEqual([a.url, a.url, a.url]);
    expect(log.of("connection:server_changed")).toEqual([]);
    expect(ws.getStatus().server).toBe(a.url);
    expect(b.server.handshakes).toBe(0);

    // Online again: counted failures, then the backup.
    const connected = waitForEvent(ws, "connection:connected");
    ws.notifyOnline();
    expect((await connected).server).toBe(b.url);
    log.stop();
    expect(log.of("connection:failed").map(({ server }) => server)).toEqual([a.url, a.url, a.url, a.url, a.url]);
  });

  it("an auth rejection on the primary does not fail over", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(2, { tokens: ["good"] });
    const [a, b] = nodes as [Node, Node];
    const ws = service({ url: urls, auth: { token: "bad" }, config });
    const log = recordEvents(ws, FAILOVER_EVENTS);
    ws.connect();
    await waitForState(ws, "authRequired");
    log.stop();
    expect(ws.getStatus().server).toBe(a.url);
    expect(a.server.refused).toBe(1);
    expect(b.server.handshakes).toBe(0);
    expect(log.of("connection:server_changed")).toEqual([]);

    // The right token goes to the same server.
    ws.setAuthToken("good");
    await waitForState(ws, "connected");
    expect(ws.getStatus().server).toBe(a.url);
    expect(b.server.handshakes).toBe(0);
    checkOneSocket();
  });

  it("a send queued during the failover is delivered once, to the backup, and not again after the fail-back", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    const ws = service({ url: urls, config });
    ws.connect();
    await waitForState(ws, "connected");
    expect(ws.getStatus().server).toBe(a.url);

    const dropped = waitForEvent(ws, "connection:disconnected");
    await a.server.kill();
    await dropped;
    const messages = recordEvents(ws, ["message:dropped", "message:unconfirmed"]);
    ws.send("note", 1);
    expect(ws.getStatus().queuedMessages).toBe(1);
    await waitForEvent(ws, "connection:connected", { filter: ({ server }) => server === b.url });
    await ws.request("fence");
    expect(b.received.values).toEqual([["note", 1]]);
    checkOneSocket();

    const back = waitForEvent(ws, "connection:connected", { filter: ({ server }) => server === a.url });
    await a.server.restart();
    await back;
    await ws.request("fence");
    messages.stop();
    expect(a.received.values).toEqual([]);
    expect(b.received.values).toEqual([["note", 1]]);
    expect(messages.events).toEqual([]);
    checkOneSocket();
  });
});

describe("fail-back", () => {
  it("connected to the backup, the primary back: probed after stablePeriod, the service moves back (times printed)", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    const ws = service({ url: urls, config });
    ws.connect();
    await waitForState(ws, "connected");
    const log = recordEvents(ws, FAILOVER_EVENTS);

    const onBackup = waitForEvent(ws, "connection:connected", { filter: ({ server }) => server === b.url });
    const killedAt = Date.now();
    await a.server.kill();
    await onBackup;
    const connectedToBackupAt = Date.now();
    const failoverMs = connectedToBackupAt - killedAt;
    checkOneSocket();

    // The first check of the primary found it down (the port is closed): the next is failbackInterval later.
    await untilMatches(ws, { connected: { stability: { stable: "waitingToProbe" } } });
    expect(Date.now() - connectedToBackupAt).toBeGreaterThanOrEqual(config.stablePeriod! - 20);
    expect(a.probes.count).toBe(0);

    const onPrimary = waitForEvent(ws, "connection:connected", { filter: ({ server }) => server === a.url });
    await a.server.restart();
    const backAt = Date.now();
    await onPrimary;
    const failbackMs = Date.now() - backAt;
    log.stop();
    console.log(
      `failover (primary killed → connected to the backup): ${failoverMs} ms; fail-back (primary back → connected to it): ` +
        `${failbackMs} ms (baseDelay ${config.baseDelay}, maxDelay ${config.maxDelay}, failoverAfter ${config.failoverAfter}, ` +
        `stablePeriod ${config.stablePeriod}, failbackInterval ${config.failbackInterval})`,
    );

    // Checked with a plain HTTP request first, then one socket opened there.
    expect(a.probes.count).toBeGreaterThanOrEqual(1);
    expect(a.connections.count).toBe(2);
    expect(ws.getStatus()).toMatchObject({ state: "connected", server: a.url });
    expect(log.of("connection:server_changed")).toEqual([
      { from: a.url, to: b.url, reason: "failover" },
      { from: b.url, to: a.url, reason: "failback" },
    ]);
    expect(log.of("connection:disconnected").at(-1)).toEqual({ reason: "moving back to the primary server" });
    expect(log.of("connection:connected").map(({ server }) => server)).toEqual([b.url, a.url]);
    expect(failoverMs).toBeLessThan(5_000);
    expect(failbackMs).toBeLessThan(config.failbackInterval! + 5_000);
    await eventually(() => expect(b.server.openSockets()).toBe(0));
    checkOneSocket();
  });

  it("the move back is deliberate: a heartbeat first confirms the sends made on the backup, none is announced as unconfirmed", async () => {
    const { nodes, urls } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    const ws = service({ url: urls, config });
    ws.connect();
    await waitForState(ws, "connected");
    const onBackup = waitForEvent(ws, "connection:connected", { filter: ({ server }) => server === b.url });
    await a.server.kill();
    await onBackup;
    // Sends right up to the move: each one after the last heartbeat ack is unconfirmed unless the
    // service confirms them before it leaves the backup.
    let sent = 0;
    const sender = setInterval(() => ws.send("note", ++sent), 5);
    const unconfirmed = recordEvents(ws, ["message:unconfirmed"]);
    const onPrimary = waitForEvent(ws, "connection:connected", { filter: ({ server }) => server === a.url });
    await a.server.restart();
    await onPrimary;
    clearInterval(sender);
    unconfirmed.stop();
    expect(sent).toBeGreaterThan(10);
    expect(unconfirmed.of("message:unconfirmed")).toEqual([]);
    // Every send arrived once, on one server or the other.
    await eventually(() => expect(a.received.values.length + b.received.values.length).toBe(sent));
    const all = [...b.received.values, ...a.received.values].map(([, n]) => n);
    expect(new Set(all).size).toBe(sent);
  });

  it("a primary that answers HTTP but refuses the handshake: the move back fails and the service returns to the backup at once", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.server.kill();
    const ws = service({ url: urls, config });
    const connected = waitForEvent(ws, "connection:connected");
    ws.connect();
    expect((await connected).server).toBe(b.url);
    const log = recordEvents(ws, [...FAILOVER_EVENTS, "connection:reconnecting"]);

    a.server.shedLoad({ retryAfter: null });
    await a.server.restart();
    const backOnBackup = waitForEvent(ws, "connection:connected");
    await a.server.waitForHandshakes(1);
    expect((await backOnBackup).server).toBe(b.url);
    log.stop();
    // One refused attempt on the primary is enough (not failoverAfter): it was a move back.
    expect(a.server.refused).toBe(1);
    expect(log.of("connection:failed").map(({ server }) => server)).toEqual([a.url]);
    expect(log.of("connection:server_changed")).toEqual([
      { from: b.url, to: a.url, reason: "failback" },
      { from: a.url, to: b.url, reason: "failover" },
    ]);
    expect(log.of("connection:reconnecting").map(({ server }) => server)).toEqual([b.url]);
    expect(b.connections.count).toBe(2);
    checkOneSocket();
  });

  it("after a failed move back the primary is not tried again before failbackInterval (no flapping off a working backup)", async () => {
    const { nodes, urls } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.server.kill();
    const slow = { ...config, failbackInterval: 2_000 };
    const ws = service({ url: urls, config: slow });
    const connected = waitForEvent(ws, "connection:connected");
    ws.connect();
    expect((await connected).server).toBe(b.url);
    const log = recordEvents(ws, FAILOVER_EVENTS);

    // Up for HTTP (the check passes), refusing every handshake.
    a.server.shedLoad({ retryAfter: null });
    const returned = waitForEvents(ws, "connection:connected", 1);
    await a.server.restart();
    expect((await returned)[0]!.server).toBe(b.url);
    const returnedAt = Date.now();
    const nextMove = waitForEvent(ws, "connection:server_changed", {
      filter: ({ reason }) => reason === "failback",
      timeout: slow.failbackInterval + slow.stablePeriod! + 3_000,
    });
    await nextMove;
    const elapsed = Date.now() - returnedAt;
    log.stop();
    console.log(`failed move back: the next move off the working backup ${elapsed} ms later (failbackInterval ${slow.failbackInterval})`);
    expect(b.connections.count).toBe(2);
    // Each move back drops the working backup connection ("moving back to the primary server").
    expect(log.of("connection:disconnected")[0]).toEqual({ reason: "moving back to the primary server" });
    expect(elapsed).toBeGreaterThanOrEqual(slow.failbackInterval - 50);
  });

  it("a refusal with retryAfter on the primary does not hold the return to the working backup", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.server.kill();
    const ws = service({ url: urls, config: { ...config, failbackInterval: 60_000 } });
    const connected = waitForEvent(ws, "connection:connected");
    ws.connect();
    expect((await connected).server).toBe(b.url);

    a.server.shedLoad({ retryAfter: 5_000 });
    const failback = waitForEvent(ws, "connection:server_changed", { filter: ({ reason }) => reason === "failback" });
    const retry = waitForEvent(ws, "connection:reconnecting");
    const back = waitForEvent(ws, "connection:connected");
    await a.server.restart();
    await failback;
    const movedAt = Date.now();
    const { server, delay } = await retry;
    expect(server).toBe(b.url);
    // The primary's hold is about the primary: the backup is retried on the backoff alone.
    expect(delay).toBeLessThanOrEqual(config.maxDelay!);
    expect((await back).server).toBe(b.url);
    expect(Date.now() - movedAt).toBeLessThan(3_000);
    checkOneSocket();
  });

  it("waits for the end of a call: in a call the service stays on the backup, after it moves back", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.server.kill();
    const ws = service({ url: urls, config: { ...config, callHeartbeatInterval: 200 } });
    const connected = waitForEvent(ws, "connection:connected");
    ws.connect();
    expect((await connected).server).toBe(b.url);
    ws.setCallActive(true);
    const { socketId } = ws.getStatus();
    const log = recordEvents(ws, FAILOVER_EVENTS);

    await a.server.restart();
    await a.probes.waitFor(1);
    await untilMatches(ws, { connected: { stability: { stable: "awaitingCallEnd" } } });
    // Well after the probe answered (a move takes a handshake, a few ms here): five call heartbeats on the backup.
    const beats = b.beats.count;
    await b.beats.waitFor(beats + 5);
    expect(ws.getStatus()).toMatchObject({ state: "connected", server: b.url, socketId, callActive: true });
    expect(a.server.handshakes).toBe(0);
    expect(log.events).toEqual([]);
    checkOneSocket();

    const onPrimary = waitForEvent(ws, "connection:connected");
    ws.setCallActive(false);
    expect((await onPrimary).server).toBe(a.url);
    log.stop();
    expect(log.of("connection:server_changed")).toEqual([{ from: b.url, to: a.url, reason: "failback" }]);
    expect(log.of("connection:disconnected")).toEqual([{ reason: "moving back to the primary server" }]);
    expect(ws.getStatus()).toMatchObject({ state: "connected", server: a.url, callActive: false });
    checkOneSocket();
  });
});

describe("Connection State Recovery across servers", () => {
  const recovery = { connectionStateRecovery: { maxDisconnectionDuration: 60_000 } };

  it("the session of the primary is not offered to an independent backup", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(2, recovery);
    const [a, b] = nodes as [Node, Node];
    const ws = service({ url: urls, config });
    ws.connect();
    await waitForState(ws, "connected");
    expect(a.connections.values).toEqual([expect.objectContaining({ offered: false, recovered: false })]);

    const onBackup = waitForEvent(ws, "connection:connected", { filter: ({ server }) => server === b.url });
    await a.server.kill();
    const { recovered } = await onBackup;
    expect(recovered).toBe(false);
    expect(b.connections.values).toEqual([expect.objectContaining({ offered: false, recovered: false })]);
    checkOneSocket();
  });

  it("with sharedSessions the session is offered to the backup, which refuses it without an error", async () => {
    const { nodes, urls, checkOneSocket } = await cluster(2, recovery);
    const [a, b] = nodes as [Node, Node];
    const ws = service({ url: urls, config: { ...config, sharedSessions: true } });
    ws.connect();
    await waitForState(ws, "connected");

    const log = recordEvents(ws, ["connection:failed", "connection:connected"]);
    const onBackup = waitForEvent(ws, "connection:connected", { filter: ({ server }) => server === b.url });
    await a.server.kill();
    const { recovered } = await onBackup;
    log.stop();
    expect(recovered).toBe(false);
    // Offered (B has its own in-memory adapter: no such session there), and B simply let it in.
    expect(b.connections.values).toEqual([expect.objectContaining({ offered: true, recovered: false })]);
    expect(log.of("connection:failed").filter(({ server }) => server === b.url)).toEqual([]);
    expect(ws.getStatus()).toMatchObject({ state: "connected", server: b.url, recovered: false, lastError: null });
    checkOneSocket();
  });
});

describe("bad url lists", () => {
  it.each([
    { url: [], name: /^url must be a non-empty array/ },
    { url: ["http://127.0.0.1:1", 42], name: /^url\[1\] must be/ },
    { url: ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:1"], name: /^url\[2\] must be a server not already in the list/ },
    { url: ["http://127.0.0.1:1", "ftp://127.0.0.1:2"], name: /^url\[1\] must be an http\(s\) or ws\(s\) URL/ },
    { url: ["http://127.0.0.1:1", "not a url"], name: /^url\[1\]/ },
  ])("$url: a TypeError naming the entry", ({ url, name }) => {
    const create = () => createWebSocketService({ url: url as unknown as string[] });
    expect(create).toThrow(TypeError);
    expect(create).toThrow(name);
  });
});
