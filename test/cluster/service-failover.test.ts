import type { Socket as ServerSocket } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import type { ConnectionConfig } from "../../src/machine/types.js";
import { createWebSocketService, type WebSocketService } from "../../src/services/WebSocketService.js";
import { type Cluster, startCluster } from "../support/cluster.js";
import { createCleanup, recordEvents, Tally, waitForEvent } from "../support/events.js";

/**
 * The service on a real cluster (issue 14 part 3): two Socket.IO nodes sharing rooms and
 * sessions through `@socket.io/redis-streams-adapter` (test/support/cluster.ts), the service
 * given both (`url: [nodeA, nodeB]`). When node A dies, the service fails over to node B; with
 * `sharedSessions`, B restores the session A wrote to Redis.
 */

const cleanup = createCleanup();
afterEach(() => cleanup.run());

const ROOM = "call-42";

/** Fast retries, failover after one failure, no fail-back unless a test asks for it. */
const TIMINGS: Partial<ConnectionConfig> = {
  baseDelay: 60,
  maxDelay: 300,
  jitterRange: 40,
  connectionTimeout: 1000,
  failoverAfter: 1,
  maxReconnectAttempts: 50,
  heartbeatInterval: 200,
  heartbeatTimeout: 500,
  stablePeriod: 60_000,
};

interface Rig {
  cluster: Cluster;
  /** Every `up` send that reached any node, by its number, with the node's name. */
  ups: Tally<{ n: number; node: string }>;
}

/** A cluster whose nodes put every new session in {@link ROOM}, count `up` sends and ack `sync`. */
async function cluster(): Promise<Rig> {
  const ups = new Tally<{ n: number; node: string }>();
  const started = await startCluster({
    onConnection: (socket: ServerSocket, node) => {
      if (!socket.recovered) void socket.join(ROOM);
      socket.on("up", (n: number) => ups.push({ n, node: node.name }));
      socket.on("sync", (ack: () => void) => ack());
    },
  });
  cleanup.add(started, (c) => c.stop());
  return { cluster: started, ups };
}

function service(urls: string[], config: Partial<ConnectionConfig> = {}): WebSocketService {
  return cleanup.add(createWebSocketService({ url: urls, config: { ...TIMINGS, ...config } }), (svc) => svc.dispose());
}

/** The `news` numbers the service received, in order. */
function newsOf(svc: WebSocketService): Tally<number> {
  const news = new Tally<number>();
  svc.on("message", ({ event, args }) => {
    if (event === "news") news.push(args[0] as number);
  });
  return news;
}

const LIFECYCLE = [
  "connection:connected",
  "connection:disconnected",
  "connection:failed",
  "connection:reconnecting",
  "connection:reconnected",
  "connection:server_changed",
] as const;

/**
 * Connects `svc` to node A, gives it an offset (a room event), kills node A and, while the
 * service is away, emits news 1..3 to its room through node B. Resolves once it is back.
 */
async function killPrimary(rig: Rig, svc: WebSocketService) {
  const [a, b] = rig.cluster.nodes;
  const news = newsOf(svc);
  const first = waitForEvent(svc, "connection:connected");
  svc.connect();
  const before = await first;
  expect(before.server).toBe(a!.url);
  await rig.cluster.emitToRoom(ROOM, "news", 0);
  await news.waitFor(1);

  const log = recordEvents(svc, LIFECYCLE);
  const lost = waitForEvent(svc, "connection:disconnected");
  const back = waitForEvent(svc, "connection:connected").then((payload) => ({ payload, wall: Date.now() }));
  const reconnected = waitForEvent(svc, "connection:reconnected");
  const onB = b!.waitForConnection().then((socket) => ({ socket, at: performance.now() }));
  const killedAt = performance.now();
  const killing = a!.kill();
  await lost;
  const noticedAt = performance.now();
  // Into the stream through B while the service waits for its first retry (at least baseDelay / 2).
  await Promise.all([1, 2, 3].map((n) => b!.emitToRoom(ROOM, "news", n)));
  const emittedAt = performance.now();
  const { payload: after, wall: connectedWall } = await back;
  const connectedAt = performance.now();
  await killing;
  const serverSide = await onB;
  // recordEvents stamps with Date.now: the retry to B was due at its stamp + its delay.
  const retryToB = log.events.find(
    (event) => event.name === "connection:reconnecting" && (event.payload as { server: string }).server === b!.url,
  );
  const retryDueAt = retryToB ? retryToB.at + (retryToB.payload as { delay: number }).delay : NaN;
  return {
    before,
    after,
    reconnected: await reconnected,
    news,
    log,
    serverSide,
    emittedBeforeB: emittedAt < serverSide.at,
    timings: {
      noticed: noticedAt - killedAt,
      failover: connectedAt - killedAt,
      // From the moment the retry to B was due to the service connected there (its handshake, missed events included).
      handshakeOnB: connectedWall - retryDueAt,
    },
  };
}

describe("the service on a 2-node Redis Streams cluster: node A dies", () => {
  it("fails over to node B, which restores the session (sharedSessions): same id, missed room events once and in order", async () => {
    const rig = await cluster();
    const [a, b] = rig.cluster.nodes;
    const svc = service([a!.url, b!.url], { sharedSessions: true });
    const { before, after, reconnected, news, log, serverSide, emittedBeforeB, timings } = await killPrimary(rig, svc);
    console.log(
      `failover (sharedSessions): kill -> disconnected ${timings.noticed.toFixed(0)} ms, kill -> connected to B ${timings.failover.toFixed(0)} ms, ` +
        `recovering handshake on B ${timings.handshakeOnB.toFixed(0)} ms, ${log.of("connection:failed").length} failed attempt(s) on A`,
    );

    expect(after).toEqual({ socketId: before.socketId, recovered: true, server: b!.url });
    expect(reconnected.recovered).toBe(true);
    expect(serverSide.socket.recovered).toBe(true);
    expect([...serverSide.socket.rooms]).toContain(ROOM);
    // The events reached the stream before B had the socket: only the restored session can carry them.
    expect(emittedBeforeB).toBe(true);
    expect(log.of("connection:failed").map((failure) => failure.server)).toEqual([a!.url]);
    expect(log.of("connection:server_changed")).toEqual([{ from: a!.url, to: b!.url, reason: "failover" }]);
    expect(svc.getStatus()).toMatchObject({ state: "connected", server: b!.url, socketId: before.socketId, recovered: true });

    await b!.emitToRoom(ROOM, "news", 4);
    await news.waitFor(5);
    expect(news.values).toEqual([0, 1, 2, 3, 4]);
    expect(timings.failover).toBeLessThan(5_000);
  });

  it("without sharedSessions (the default) the session is not offered to B: a new session, the missed events are not replayed", async () => {
    const rig = await cluster();
    const [a, b] = rig.cluster.nodes;
    const svc = service([a!.url, b!.url]);
    const { before, after, reconnected, news, serverSide, timings } = await killPrimary(rig, svc);
    console.log(`failover (no sharedSessions): kill -> connected to B ${timings.failover.toFixed(0)} ms, new session`);

    expect(after.recovered).toBe(false);
    expect(after.server).toBe(b!.url);
    expect(after.socketId).not.toBe(before.socketId);
    expect(reconnected.recovered).toBe(false);
    expect(serverSide.socket.recovered).toBe(false);
    expect(svc.getStatus()).toMatchObject({ state: "connected", server: b!.url, recovered: false });

    await b!.emitToRoom(ROOM, "news", 4);
    await news.waitFor(2);
    expect(news.values).toEqual([0, 4]);
  });
});

describe("the service on a 2-node cluster: a node restart under load", () => {
  it("no send is lost silently: each arrives once, or is announced as unconfirmed or dropped; the sends of the outage arrive", async () => {
    const rig = await cluster();
    const [a, b] = rig.cluster.nodes;
    // Fail-back on: once node A is back, the service moves back to it, under the same load.
    const svc = service([a!.url, b!.url], { sharedSessions: true, stablePeriod: 300, failbackInterval: 200 });
    const announced = new Map<number, string>();
    // Where the service is in the story, for the unconfirmed sends it announces.
    let phase: "kill" | "failback" | "steady" = "steady";
    const unconfirmedIn = { kill: 0, failback: 0, steady: 0 };
    svc.on("message:unconfirmed", ({ event, args }) => {
      if (event !== "up") return;
      announced.set(args[0] as number, "unconfirmed");
      unconfirmedIn[phase] += 1;
    });
    svc.on("message:dropped", ({ event, args, reason }) => {
      if (event === "up") announced.set(args[0] as number, `dropped (${reason})`);
    });
    const log = recordEvents(svc, LIFECYCLE);
    const first = waitForEvent(svc, "connection:connected");
    svc.connect();
    await first;
    // A room event gives the session an offset: without one, no node can restore it.
    const news = newsOf(svc);
    await rig.cluster.emitToRoom(ROOM, "news", 0);
    await news.waitFor(1);

    // The app keeps sending, every 3 ms, whatever the state; the state at each send is noted.
    const stateAtSend: string[] = [];
    const sender = setInterval(() => {
      stateAtSend.push(svc.getStatus().state);
      svc.send("up", stateAtSend.length - 1);
    }, 3);
    cleanup.add(sender, clearInterval);
    await rig.ups.waitFor(30);

    const onB = waitForEvent(svc, "connection:connected", { filter: (payload) => payload.server === b!.url });
    phase = "kill";
    await a!.kill();
    const failover = await onB;
    phase = "steady";
    await rig.ups.waitFor(rig.ups.count + 30);

    await a!.restart();
    const backOnA = waitForEvent(svc, "connection:connected", { filter: (payload) => payload.server === a!.url, timeout: 15_000 });
    phase = "failback";
    const failback = await backOnA;
    phase = "steady";
    await rig.ups.waitFor(rig.ups.count + 30);
    clearInterval(sender);
    const sent = stateAtSend.length;
    // Sends travel in order on one connection: once this ack is in, everything sent before it on the link has arrived.
    await svc.request("sync");

    const arrivals = new Map<number, number>();
    for (const { n } of rig.ups.values) arrivals.set(n, (arrivals.get(n) ?? 0) + 1);
    const twice = [...arrivals].filter(([, count]) => count > 1).map(([n]) => n);
    const silent = [...Array(sent).keys()].filter((n) => !arrivals.has(n) && !announced.has(n));
    const queued = [...Array(sent).keys()].filter((n) => stateAtSend[n] !== "connected");
    const unconfirmedArrived = [...announced].filter(([n, why]) => why === "unconfirmed" && arrivals.has(n)).length;
    console.log(
      `restart under load: ${sent} sent, ${arrivals.size} arrived (${rig.ups.values.filter((up) => up.node === b!.name).length} on B), ` +
        `${queued.length} sent while not connected, ${announced.size} announced (${[...new Set(announced.values())].join(", ") || "none"}; ` +
        `${unconfirmedArrived} of them arrived anyway; unconfirmed at the kill ${unconfirmedIn.kill}, at the fail-back ${unconfirmedIn.failback}, ` +
        `otherwise ${unconfirmedIn.steady}), recovered on B: ${failover.recovered}, on A after fail-back: ${failback.recovered}, ` +
        `server changes: ${log.of("connection:server_changed").map((change) => change.reason).join(", ")}`,
    );

    expect(twice).toEqual([]);
    expect(silent).toEqual([]);
    expect(queued.length).toBeGreaterThan(0);
    // What was held while not connected was flushed on the next connection: all of it arrived.
    expect(queued.filter((n) => arrivals.get(n) !== 1)).toEqual([]);
    expect(log.of("connection:server_changed").map((change) => change.reason)).toEqual(["failover", "failback"]);
    // The session followed the service both ways: B restored it, then A (restarted) did.
    expect([failover.recovered, failback.recovered]).toEqual([true, true]);
    expect(failback.socketId).toBe(failover.socketId);
    expect(svc.getStatus()).toMatchObject({ state: "connected", server: a!.url });
  });
});
