import { existsSync } from "node:fs";
import type { Socket as ServerSocket } from "socket.io";
import { io, type ManagerOptions, type Socket as ClientSocket, type SocketOptions } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { TcpProxy } from "../../lab/tcpProxy.js";
import { type Cluster, type ClusterNode, type ClusterOptions, startCluster } from "../support/cluster.js";

/**
 * The cluster rig itself, with plain socket.io-client only (no code from src/): two
 * Socket.IO nodes on the Redis Streams adapter share rooms, and a session lost on one node
 * is restored on the other (or on the same node restarted) with the events emitted while
 * the client was away, once each, in order. The controls show what does not survive.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const ROOM = "call-42";

/** A cluster whose nodes put every new session in {@link ROOM} and greet it (its first offset). */
async function cluster(options: ClusterOptions = {}): Promise<Cluster> {
  const started = await startCluster({
    onConnection: (socket: ServerSocket) => {
      if (socket.recovered) return;
      void socket.join(ROOM);
      socket.emit("welcome", socket.id);
    },
    ...options,
  });
  cleanups.push(() => started.stop());
  return started;
}

/** A plain client and every event it received (offsets dropped), in order. */
interface Client {
  socket: ClientSocket;
  inbox: { event: string; args: unknown[] }[];
}

type Transport = "websocket" | "polling";

const PLAIN: Partial<ManagerOptions & SocketOptions> = {
  transports: ["websocket"],
  reconnection: false,
  forceNew: true,
};

/** What socket.io-client keeps of a session to offer it on its next CONNECT (build/esm/socket.js). */
interface SessionFields {
  _pid?: string;
  _lastOffset?: string;
}

function session(socket: ClientSocket): Required<SessionFields> {
  const { _pid, _lastOffset } = socket as unknown as SessionFields;
  if (!_pid || !_lastOffset) throw new Error(`no session to offer (pid ${_pid}, offset ${_lastOffset})`);
  return { _pid, _lastOffset };
}

/**
 * Connects a plain client to `url`. With `offer`, the CONNECT packet carries that session's
 * `pid` and `offset`, as socket.io-client's own reconnection sends them.
 */
async function connect(
  url: string,
  offer?: Required<SessionFields>,
  transport: Transport = "websocket",
): Promise<Client> {
  const socket = io(url, { ...PLAIN, transports: [transport], autoConnect: false });
  cleanups.push(() => socket.close());
  if (offer) Object.assign(socket as unknown as SessionFields, offer);
  const inbox: Client["inbox"] = [];
  socket.onAny((event: string, ...args: unknown[]) => {
    // With recovery on, the last argument of a stored event is its offset.
    inbox.push({ event, args: typeof args.at(-1) === "string" ? args.slice(0, -1) : args });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
    socket.connect();
  });
  return { socket, inbox };
}

/** Resolves with the arguments of the next `event` on `socket`. */
function next(socket: ClientSocket, event: string, timeout = 5_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no "${event}" within ${timeout} ms`));
    }, timeout);
    const listener = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args);
    };
    socket.once(event, listener);
  });
}

const names = (client: Client) => client.inbox.map((entry) => `${entry.event}:${entry.args.join(",")}`);

/** Resolves once `client` has received `name` ("event:arg,arg"), at once if it already has. */
function received(client: Client, name: string, timeout = 5_000): Promise<void> {
  if (names(client).includes(name)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.socket.offAny(listener);
      reject(new Error(`no ${name} within ${timeout} ms (got ${names(client).join(" ")})`));
    }, timeout);
    // Added after connect()'s own listener, so the inbox already holds the event.
    const listener = () => {
      if (!names(client).includes(name)) return;
      clearTimeout(timer);
      client.socket.offAny(listener);
      resolve();
    };
    client.socket.onAny(listener);
  });
}

/** Resolves once a client of `node` has its welcome, so it holds an offset. */
async function welcomed(node: ClusterNode, transport: Transport = "websocket"): Promise<Client> {
  const client = await connect(node.url, undefined, transport);
  await received(client, `welcome:${client.socket.id}`);
  return client;
}

/**
 * The story every recovery case tells: `loseNode` takes the client's node away, three
 * events go to its room through `via` while it is away, and the client offers its session
 * on `target()`. Resolves with the client back and the timings.
 */
async function awayAndBack(
  c: Cluster,
  loseNode: () => Promise<void>,
  target: () => ClusterNode,
  via: ClusterNode,
  transport: Transport = "websocket",
) {
  const [a] = c.nodes;
  const before = await welcomed(a!, transport);
  const oldId = before.socket.id;
  await a!.emitToRoom(ROOM, "news", 0);
  await received(before, "news:0");
  const offer = session(before.socket);

  const lost = next(before.socket, "disconnect");
  const lossStarted = performance.now();
  await loseNode();
  // The client saw a dead transport (a WebSocket closing, or a poll failing), not a kick.
  expect(["transport close", "transport error"]).toContain((await lost)[0]);
  for (const n of [1, 2, 3]) await via.emitToRoom(ROOM, "news", n);

  const node = target();
  const restoredOn = node.waitForConnection();
  const handshakeStarted = performance.now();
  const after = await connect(node.url, offer, transport);
  const handshakeMs = performance.now() - handshakeStarted;
  const lossToBackMs = performance.now() - lossStarted;
  const serverSide = await restoredOn;
  return { oldId, after, serverSide, handshakeMs, lossToBackMs };
}

describe("a cluster on the Redis Streams adapter", () => {
  it("shares rooms: an emit through either node reaches the room's clients on both, once", async () => {
    const c = await cluster();
    const [a, b] = c.nodes;
    const onA = await welcomed(a!);
    const onB = await welcomed(b!);
    expect(a!.openSockets()).toBe(1);
    expect(b!.openSockets()).toBe(1);

    await b!.emitToRoom(ROOM, "news", "from B");
    await a!.emitToRoom(ROOM, "news", "from A");
    await c.emitToRoom(ROOM, "news", "last");
    for (const client of [onA, onB]) {
      await received(client, "news:last");
      expect(names(client)).toEqual([`welcome:${client.socket.id}`, "news:from B", "news:from A", "news:last"]);
    }
  });

  it.each([
    // A WebSocket's node notices the kill at once.
    { transport: "websocket", reasons: ["transport close"] },
    // A polling socket's node notices it at once only if a poll was pending, else at its ping timeout.
    { transport: "polling", reasons: ["transport error", "ping timeout"] },
  ] as const)("restores a session killed on node A on node B ($transport): same id, room kept, missed events once and in order", async ({ transport, reasons }) => {
    const c = await cluster({ pingInterval: 300, pingTimeout: 300 });
    const [a, b] = c.nodes;
    const { oldId, after, serverSide, handshakeMs, lossToBackMs } = await awayAndBack(
      c,
      () => a!.kill(),
      () => b!,
      b!,
      transport,
    );
    console.log(`cross-node recovery after kill (${transport}): handshake ${handshakeMs.toFixed(1)} ms, loss to back ${lossToBackMs.toFixed(1)} ms`);

    console.log(`node A saw the ${transport} socket go with "${a!.disconnections[0]?.reason}"`);
    expect(a!.disconnections).toHaveLength(1);
    expect(reasons).toContain(a!.disconnections[0]!.reason);
    expect(after.socket.recovered).toBe(true);
    expect(after.socket.id).toBe(oldId);
    expect(serverSide.recovered).toBe(true);
    expect([...serverSide.rooms]).toContain(ROOM);
    // Still in the room on its new node, and nothing replayed twice: the next event comes right after.
    await b!.emitToRoom(ROOM, "news", 4);
    await received(after, "news:4");
    expect(names(after)).toEqual(["news:1", "news:2", "news:3", "news:4"]);
    expect(handshakeMs).toBeLessThan(2_000);
  });

  it("restores it on node A restarted on the same port (a fresh process: the session came from Redis)", async () => {
    const c = await cluster();
    const [a, b] = c.nodes;
    const portBefore = a!.port;
    const ioBefore = a!.io;
    const { oldId, after, serverSide, handshakeMs, lossToBackMs } = await awayAndBack(
      c,
      async () => {
        await a!.kill();
        await a!.restart();
      },
      () => a!,
      b!,
    );
    console.log(`recovery on the restarted node: handshake ${handshakeMs.toFixed(1)} ms, loss to back ${lossToBackMs.toFixed(1)} ms`);

    expect(a!.port).toBe(portBefore);
    expect(a!.io).not.toBe(ioBefore);
    expect(after.socket.recovered).toBe(true);
    expect(after.socket.id).toBe(oldId);
    expect(serverSide.recovered).toBe(true);
    expect(a!.openSockets()).toBe(1);
    await a!.emitToRoom(ROOM, "news", 4);
    await received(after, "news:4");
    expect(names(after)).toEqual(["news:1", "news:2", "news:3", "news:4"]);
  });

  it("restores a session after a graceful close of node A (io.close(): \"server shutting down\")", async () => {
    const c = await cluster();
    const [a, b] = c.nodes;
    const { oldId, after } = await awayAndBack(c, () => a!.close(), () => b!, b!);

    expect(a!.disconnections.map((gone) => gone.reason)).toEqual(["server shutting down"]);
    expect(after.socket.recovered).toBe(true);
    expect(after.socket.id).toBe(oldId);
    await b!.emitToRoom(ROOM, "news", 4);
    await received(after, "news:4");
    expect(names(after)).toEqual(["news:1", "news:2", "news:3", "news:4"]);
  });

  it("a crashed process loses its sessions: the adapter writes a session only when the node sees it go", async () => {
    const c = await cluster();
    const [a, b] = c.nodes;
    const { oldId, after, serverSide } = await awayAndBack(c, () => a!.crash(), () => b!, b!);

    expect(after.socket.recovered).toBe(false);
    expect(after.socket.id).not.toBe(oldId);
    expect(serverSide.recovered).toBe(false);
    // A new session: its own welcome, none of what was sent while away.
    await received(after, `welcome:${after.socket.id}`);
    expect(names(after)).toEqual([`welcome:${after.socket.id}`]);
  });

  it("a server-side disconnect (\"server namespace disconnect\") is not kept, on any node", async () => {
    const c = await cluster();
    const [a, b] = c.nodes;
    const before = await welcomed(a!);
    const offer = session(before.socket);
    const kicked = next(before.socket, "disconnect");
    a!.io.disconnectSockets(true);
    expect((await kicked)[0]).toBe("io server disconnect");
    expect(a!.disconnections.map((gone) => gone.reason)).toEqual(["server namespace disconnect"]);
    // Everything the kick did on A has reached Redis once a later command on A's client is answered.
    await a!.emitToRoom("nobody", "flush");

    const after = await connect(b!.url, offer);
    expect(after.socket.recovered).toBe(false);
    expect(after.socket.id).not.toBe(before.socket.id);
  });

  it("control: independent nodes (in-memory adapter, no Redis) cannot restore each other's sessions", async () => {
    const c = await cluster({ adapter: false });
    expect(c.redis).toBeNull();
    const [a, b] = c.nodes;
    const { oldId, after } = await awayAndBack(c, () => a!.kill(), () => b!, b!);

    expect(after.socket.recovered).toBe(false);
    expect(after.socket.id).not.toBe(oldId);
    await received(after, `welcome:${after.socket.id}`);
    expect(names(after)).toEqual([`welcome:${after.socket.id}`]);
  });

  it("a silent client (dead link): node B restores the session only after node A's ping timeout wrote it", async () => {
    const ping = { pingInterval: 300, pingTimeout: 300 };
    const c = await cluster(ping);
    const [a, b] = c.nodes;
    // A dead path: once a byte was dropped, not even the client's own close gets through.
    const proxy = await TcpProxy.start(a!.port, 0, { deadAfterDrop: true });
    cleanups.push(() => proxy.close());
    const before = await connect(proxy.url);
    const oldId = before.socket.id;
    await received(before, `welcome:${oldId}`);
    await b!.emitToRoom(ROOM, "news", 0);
    await received(before, "news:0");
    const offer = session(before.socket);
    const noticed = a!.waitForDisconnection();

    proxy.blackhole();
    const silentAt = performance.now();
    // Too early: A still holds the socket, nothing is in Redis yet.
    const early = await connect(b!.url, offer);
    expect(early.socket.recovered).toBe(false);
    early.socket.close();

    const gone = await noticed;
    const noticedMs = performance.now() - silentAt;
    expect(gone.reason).toBe("ping timeout");
    await b!.emitToRoom(ROOM, "news", 1);
    const late = await connect(b!.url, offer);
    console.log(`dead link: node A wrote the session ${noticedMs.toFixed(0)} ms after the link went silent (ping ${ping.pingInterval}+${ping.pingTimeout} ms)`);
    expect(late.socket.recovered).toBe(true);
    expect(late.socket.id).toBe(oldId);
    await b!.emitToRoom(ROOM, "news", 2);
    await received(late, "news:2");
    expect(names(late)).toEqual(["news:1", "news:2"]);
  });
});

describe("the rig", () => {
  it("stop() leaves no redis-server, directory, server or Redis connection behind", async () => {
    const baseline = process.getActiveResourcesInfo().filter((kind) => kind.startsWith("TCP")).length;
    const c = await startCluster({ nodes: 2 });
    const [a] = c.nodes;
    const client = await connect(a!.url);
    await a!.kill();
    await a!.restart();
    client.socket.close();
    const { pid, dir } = c.redis!;
    expect(() => process.kill(pid, 0)).not.toThrow();

    await c.stop();
    await c.stop();
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: "ESRCH" }));
    expect(existsSync(dir)).toBe(false);
    expect(c.nodes.every((node) => !node.running && node.openSockets() === 0)).toBe(true);
    expect(process.getActiveResourcesInfo().filter((kind) => kind.startsWith("TCP")).length).toBe(baseline);
  });

  it("runs handlers added with onConnection on every node, restarted ones too", async () => {
    const c = await cluster({ nodes: 3 });
    const seen: string[] = [];
    const remove = c.onConnection((_socket, node) => seen.push(node.name));
    for (const node of c.nodes) (await connect(node.url)).socket.close();
    await c.nodes[2]!.kill();
    await c.nodes[2]!.restart();
    (await connect(c.nodes[2]!.url)).socket.close();
    remove();
    (await connect(c.nodes[0]!.url)).socket.close();
    expect(seen).toEqual(["node-1", "node-2", "node-3", "node-3"]);
  });

  it("acks heartbeats as the LabServer does", async () => {
    const c = await cluster();
    const client = await connect(c.nodes[1]!.url);
    await expect(client.socket.timeout(2_000).emitWithAck("heartbeat", { at: 1 })).resolves.toBeUndefined();
  });
});
