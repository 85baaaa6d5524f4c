import type { Socket as ServerSocket } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import type { ConnectionConfig } from "../../src/machine/types.js";
import { drainServer } from "../../src/server/index.js";
import { createWebSocketService, type WebSocketService } from "../../src/services/WebSocketService.js";
import { type Cluster, type ClusterNode, startCluster } from "../support/cluster.js";
import { createCleanup, recordEvents, Tally, waitForEvent } from "../support/events.js";

/**
 * The everyday deploy on a real cluster (issue 15 part 3): services connected to node A of a
 * two-node Redis Streams cluster; `drainServer(nodeA.io, { windowMs })` announces the restart,
 * and each service moves to node B at its own moment in the window (its slot), with its
 * session, without counting a failure. Then node B is drained (moments drawn by the clients,
 * `slots: false`) and they all go back to node A, restarted.
 */

const cleanup = createCleanup();
afterEach(() => cleanup.run());

const ROOM = "call-42";
const SERVICES = 15;
const WINDOW_MS = 1000;
/** drainServer's default graceMs, which reconnectAfterMs defaults to. */
const RECONNECT_AFTER_MS = 100;

/** Fast retries; no fail-back (stablePeriod never ends here): the drains alone move the services. */
const CONFIG: Partial<ConnectionConfig> = {
  baseDelay: 60,
  maxDelay: 300,
  jitterRange: 40,
  connectionTimeout: 2000,
  sharedSessions: true,
  stablePeriod: 60_000,
};

const MOVE_EVENTS = [
  "connection:restarting",
  "connection:disconnected",
  "connection:server_changed",
  "connection:failed",
  "connection:reconnecting",
  "connection:connected",
] as const;

interface Client {
  svc: WebSocketService;
  /** The `news` numbers received, in order. */
  news: Tally<number>;
  socketId: string;
}

async function cluster(): Promise<Cluster> {
  const started = await startCluster({
    onConnection: (socket: ServerSocket) => {
      if (!socket.recovered) void socket.join(ROOM);
    },
  });
  cleanup.add(started, (c) => c.stop());
  return started;
}

async function connectClients(c: Cluster): Promise<Client[]> {
  const [a, b] = c.nodes;
  return Promise.all(
    Array.from({ length: SERVICES }, async () => {
      const svc = cleanup.add(createWebSocketService({ url: [a!.url, b!.url], config: CONFIG }), (created) => created.dispose());
      const news = new Tally<number>();
      svc.on("message", ({ event, args }) => {
        if (event === "news") news.push(args[0] as number);
      });
      const connected = waitForEvent(svc, "connection:connected");
      svc.connect();
      const { socketId, server } = await connected;
      expect(server).toBe(a!.url);
      return { svc, news, socketId };
    }),
  );
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/**
 * Drains `from` and stops it; every client must come to `to` in its moment of the window with
 * its session. Room events go out through `to` while they move (one every third arrival), and
 * one after: each client receives all of them, once, in order. Returns the next news number.
 */
async function move(
  clients: Client[],
  from: ClusterNode,
  to: ClusterNode,
  firstNews: number,
  label: string,
  slots: boolean,
): Promise<number> {
  let nextNews = firstNews;
  const logs = clients.map(({ svc }) => recordEvents(svc, MOVE_EVENTS));
  // The failure counter, seen at every retry the move schedules.
  const attemptAtRetry = clients.map(() => [] as number[]);
  const restartingAtRetry = clients.map(() => [] as boolean[]);
  const stopWatching = clients.map(({ svc }, index) =>
    svc.on("connection:reconnecting", () => {
      const status = svc.getStatus();
      attemptAtRetry[index]!.push(status.attempt);
      restartingAtRetry[index]!.push(status.restarting);
    }),
  );
  const arrivedAt: number[] = Array(clients.length).fill(NaN);
  const arrived = clients.map(({ svc }, index) =>
    waitForEvent(svc, "connection:connected", { filter: (payload) => payload.server === to.url, timeout: 10_000 }).then((payload) => {
      arrivedAt[index] = performance.now();
      return payload;
    }),
  );
  let moved = 0;
  const emitted: Promise<void>[] = [];
  // A room event while a session is being restored on `to` can be lost: the Redis Streams
  // adapter (0.3.1) reads the missed events, then the socket joins its rooms, and an event
  // added in between reaches neither (seen with plain socket.io-client too, see the report
  // in the commit). So an event goes out only when no handshake is in progress on `to`:
  // every Engine.IO connection there has its Socket.IO socket.
  const quiet = () => to.io.engine.clientsCount === to.io.of("/").sockets.size;
  let due = 0;
  const stopEmitting = clients.map(({ svc }) =>
    svc.on("connection:connected", () => {
      moved += 1;
      if (moved % 3 === 0) due += 1;
      if (due > 0 && quiet()) {
        due -= 1;
        emitted.push(to.emitToRoom(ROOM, "news", nextNews++));
      }
    }),
  );
  const toBefore = to.connections.length;

  const noticeAt = performance.now();
  const drained = await drainServer(from.io, { windowMs: WINDOW_MS, slots });
  // The connections are closed; whoever has not come back yet waits for its moment, told so.
  const waiting = clients.filter((_, index) => Number.isNaN(arrivedAt[index]!));
  const waitingStatus = waiting.map(({ svc }) => svc.getStatus());
  await from.close();
  // On a failure, what each client went through says which step of the move it missed.
  const explained = <T>(step: string, promise: Promise<T>): Promise<T> =>
    promise.catch((error: unknown) => {
      const story = clients.map(({ svc, news }, index) => {
        const { state, server, restarting, attempt } = svc.getStatus();
        const events = logs[index]!.events.map((event) => `${event.name.replace("connection:", "")} ${JSON.stringify(event.payload)}`);
        return `#${index} ${state} on ${server} (restarting ${restarting}, attempt ${attempt}), news [${news.values.join(",")}]: ${events.join(" | ")}`;
      });
      throw new Error(`${label}, ${step}: ${String(error)}\n${story.join("\n")}`);
    });
  const connected = await explained("every client back", Promise.all(arrived));
  const lastAt = Math.max(...arrivedAt);
  [...stopEmitting, ...stopWatching].forEach((off) => off());
  await Promise.all(emitted);
  const last = nextNews++;
  await to.emitToRoom(ROOM, "news", last);
  await explained("every room event received", Promise.all(clients.map(({ news }) => news.waitFor(last + 1))));
  logs.forEach((log) => log.stop());

  const offsets = arrivedAt.map((at) => at - noticeAt).sort((x, y) => x - y);
  const gaps = offsets.slice(1).map((at, index) => at - offsets[index]!);
  console.log(
    `${label}: ${drained.connections} connections drained, back ${offsets[0]!.toFixed(0)}..${offsets.at(-1)!.toFixed(0)} ms ` +
      `after the notice (reconnectAfter ${RECONNECT_AFTER_MS} + window ${WINDOW_MS} ms): ` +
      `spread ${(offsets.at(-1)! - offsets[0]!).toFixed(0)} ms, median ${quantile(offsets, 0.5).toFixed(0)} ms, ` +
      `gaps min ${Math.min(...gaps).toFixed(1)} / max ${Math.max(...gaps).toFixed(1)} ms; ` +
      `${waiting.length} still away when the drain resolved; ${emitted.length + 1} room events during and after the move; ` +
      `client-side loss reason ${[...new Set(logs.flatMap((log) => log.of("connection:disconnected").map((gone) => gone.reason)))].join(", ")}`,
  );

  expect(drained.connections).toBe(SERVICES);
  const delays = logs.map((log) => log.of("connection:restarting")[0]?.delay).sort((x, y) => x! - y!);
  if (slots) {
    // Each connection its own slot, evenly through the window: the i-th of n at floor(i × window / n).
    expect(delays).toEqual(Array.from({ length: SERVICES }, (_, i) => RECONNECT_AFTER_MS + Math.floor((i * WINDOW_MS) / SERVICES)));
  }
  for (const [index, client] of clients.entries()) {
    const log = logs[index]!;
    const restarting = log.of("connection:restarting");
    expect(restarting).toHaveLength(1);
    expect(restarting[0]).toMatchObject({ server: to.url, windowMs: WINDOW_MS });
    expect(restarting[0]!.delay).toBeGreaterThanOrEqual(RECONNECT_AFTER_MS);
    expect(restarting[0]!.delay).toBeLessThanOrEqual(RECONNECT_AFTER_MS + WINDOW_MS);
    expect(log.of("connection:server_changed")).toEqual([{ from: from.url, to: to.url, reason: "drain" }]);
    expect(connected[index]).toEqual({ socketId: client.socketId, recovered: true, server: to.url });
    // Not a failure: no failed attempt, the counter at 0 at every retry, one retry in all.
    expect(log.of("connection:failed")).toEqual([]);
    expect(attemptAtRetry[index]).toEqual([0]);
    // It came back at its own moment (the notice's stamp + its delay), not before.
    const noticed = log.events.find((event) => event.name === "connection:restarting")!;
    const back = log.events.filter((event) => event.name === "connection:connected").at(-1)!;
    expect(back.at - (noticed.at + restarting[0]!.delay)).toBeGreaterThanOrEqual(-2);
    expect(client.svc.getStatus()).toMatchObject({ state: "connected", server: to.url, attempt: 0, restarting: false, recovered: true });
    // Every room event once, in order: those emitted while it was away came with its session.
    expect(client.news.values).toEqual(Array.from({ length: last + 1 }, (_, n) => n));
  }
  // Told before the close: every client still away when the drain was over showed it.
  expect(waitingStatus.length).toBeGreaterThan(0);
  expect(waitingStatus.map((status) => status.restarting)).toEqual(waitingStatus.map(() => true));
  expect(restartingAtRetry.flat()).toEqual(Array(SERVICES).fill(true));
  const newConnections = to.connections.slice(toBefore);
  expect(newConnections).toHaveLength(SERVICES);
  expect(newConnections.every((socket) => socket.recovered)).toBe(true);
  // Spread over the window: 15 slots of 1 s, or 15 moments drawn from it, are not bunched within a quarter of it.
  expect(offsets.at(-1)! - offsets[0]!).toBeGreaterThan(WINDOW_MS / 4);
  expect(lastAt - noticeAt).toBeLessThan(RECONNECT_AFTER_MS + WINDOW_MS + 2_000);
  return nextNews;
}

describe("a rolling restart of a 2-node cluster (drainServer)", () => {
  it(`${SERVICES} services move from A to B within the window with their sessions, then back to A restarted when B is drained`, async () => {
    const c = await cluster();
    const [a, b] = c.nodes;
    const clients = await connectClients(c);
    expect(a!.openSockets()).toBe(SERVICES);
    // A first room event: each session holds an offset, so that a node can restore it.
    await a!.emitToRoom(ROOM, "news", 0);
    await Promise.all(clients.map(({ news }) => news.waitFor(1)));

    // drainServer's default: a slot each.
    const next = await move(clients, a!, b!, 1, "drain A -> B (slots)", true);
    expect(b!.openSockets()).toBe(SERVICES);

    await a!.restart();
    // Moments drawn by the clients.
    await move(clients, b!, a!, next, "drain B -> A restarted (slots: false)", false);
    expect(a!.openSockets()).toBe(SERVICES);
    expect(b!.running).toBe(false);
  });
});
