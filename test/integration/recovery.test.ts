import type { Socket as ServerSocket } from "socket.io";
import type { Socket as ClientSocket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type { TcpProxy } from "../../lab/tcpProxy.js";
import type { ConnectionConfig, ServiceEventMap } from "../../src/machine/types.js";
import type { WebSocketService } from "../../src/services/WebSocketService.js";
import { Tally, untilContext, waitForEvent } from "../support/events.js";
import {
  nextEvent,
  plainInbox,
  type PlainOptions,
  type PortedServer,
  portedRig,
  quietPeriod,
  type Received,
  serviceInbox,
} from "../support/ported.js";

/**
 * Connection State Recovery (issue 10 item 1), shown side by side: a real Socket.IO server
 * created with `connectionStateRecovery`, the service and a plain socket.io-client `io()`
 * connected to it at the same time, the same blip for both. Wherever plain io() recovers,
 * the service must too: same socket id, rooms and `socket.data` kept by the server, and
 * every event emitted while away (to the socket, to its room, to everyone) delivered in
 * order, once.
 *
 * A round: the server's gate is closed (new handshakes wait), the blip happens, the test
 * waits until the server has seen both sockets go (only then does it keep their sessions),
 * emits "while away", queues sends on both clients, then opens the gate.
 */

const rig = portedRig();

type Transport = "websocket" | "polling";

/** Who a server-side socket belongs to: the `who` query each client sends. */
type Who = "service" | "plain";

interface PairOptions {
  transport?: Transport;
  /** Both clients reach the server through a TCP proxy (for blackholes). */
  viaProxy?: boolean;
  /** The server's Connection State Recovery options. */
  recovery?: { maxDisconnectionDuration?: number; skipMiddlewares?: boolean } | false;
  /** Engine.IO ping timings of the server. */
  ping?: { interval: number; timeout: number };
  /** Service config on top of the ported timings. */
  config?: Partial<ConnectionConfig>;
  /** Send a first event on connection (it gives each client its first offset). @default true */
  welcome?: boolean;
  /** A middleware on the main namespace: it counts runs and refuses while `refusing`. */
  middleware?: boolean;
}

/** What the server saw of one client. */
interface ServerView {
  /** Every connection of this client, recovered ones included. */
  connections: { id: string; recovered: boolean; rooms: string[]; data: Record<string, unknown> }[];
  /** The `up` sends that arrived, in order. */
  ups: Tally<unknown[]>;
  /** Middleware runs for this client's handshakes. */
  middlewareRuns: number;
}

interface Pair {
  server: PortedServer;
  proxy: TcpProxy | null;
  service: WebSocketService;
  plain: ClientSocket;
  inbox: Record<Who, Tally<Received>>;
  serverView: Record<Who, ServerView>;
  /** `connection:connected` and `connection:reconnected` payloads of the service, in order. */
  connected: Tally<ServiceEventMap["connection:connected"]>;
  reconnected: Tally<ServiceEventMap["connection:reconnected"]>;
  /** `{ id, recovered }` of the plain socket at each `connect`. */
  plainConnected: Tally<{ id: string | undefined; recovered: boolean }>;
  /** The middleware refuses every handshake while true. */
  refusing: { value: boolean };
  options: PairOptions;
}

const RETRY: Partial<ConnectionConfig> = { baseDelay: 50, maxDelay: 200, jitterRange: 20, connectionTimeout: 600 };
/** socket.io-client with the same short delays as the service (its own reconnection, as shipped). */
const PLAIN_RETRY: PlainOptions = { reconnectionDelay: 50, reconnectionDelayMax: 200, timeout: 600 };

function whoOf(socket: ServerSocket): Who {
  return socket.handshake.query.who === "service" ? "service" : "plain";
}

/** The server side of a pair: records what it sees of each client in `views`. */
async function startServerSide(
  options: PairOptions,
  views: Record<Who, ServerView>,
  refusing: { value: boolean },
  port?: number,
): Promise<PortedServer> {
  const recovery =
    options.recovery === false ? undefined : { maxDisconnectionDuration: 10_000, ...options.recovery };
  const server = await rig.server({
    port,
    reference: false,
    io: {
      ...(recovery ? { connectionStateRecovery: recovery } : {}),
      ...(options.ping ? { pingInterval: options.ping.interval, pingTimeout: options.ping.timeout } : {}),
    },
    onConnection: (socket) => {
      const who = whoOf(socket);
      // Rooms and data are set on a new session only: on a recovered one they are the server's memory.
      if (!socket.recovered) {
        socket.join("room-a");
        socket.data.who = who;
        socket.data.session = views[who].connections.length + 1;
      }
      views[who].connections.push({
        id: socket.id,
        recovered: socket.recovered,
        rooms: [...socket.rooms],
        data: { ...socket.data },
      });
      socket.on("up", (...args: unknown[]) => views[who].ups.push(args));
      if (!socket.recovered && (options.welcome ?? true)) socket.emit("welcome", who);
    },
  });
  if (options.middleware) {
    server.io.use((socket, next) => {
      views[whoOf(socket)].middlewareRuns += 1;
      if (refusing.value) {
        const error = new Error("unauthorized") as Error & { data?: unknown };
        error.data = { status: 401 };
        next(error);
      } else {
        next();
      }
    });
  }
  return server;
}

async function startPair(options: PairOptions = {}): Promise<Pair> {
  const views: Record<Who, ServerView> = {
    service: { connections: [], ups: new Tally(), middlewareRuns: 0 },
    plain: { connections: [], ups: new Tally(), middlewareRuns: 0 },
  };
  const refusing = { value: false };
  const server = await startServerSide(options, views, refusing);
  const proxy = options.viaProxy ? await rig.proxy(server.port, { deadAfterDrop: true }) : null;
  const url = proxy ? proxy.url : server.url;
  const transports = options.transport ? [options.transport] : undefined;
  const service = rig.service({
    url,
    config: { ...RETRY, ...options.config },
    socketOptions: { query: { who: "service" }, ...(transports ? { transports } : {}) },
  });
  const plain = rig.plain(url, {
    ...PLAIN_RETRY,
    autoConnect: false,
    query: { who: "plain" },
    ...(transports ? { transports } : {}),
  });
  const pair: Pair = {
    server,
    proxy,
    service,
    plain,
    inbox: { service: serviceInbox(service), plain: plainInbox(plain) },
    serverView: views,
    connected: new Tally(),
    reconnected: new Tally(),
    plainConnected: new Tally(),
    refusing,
    options,
  };
  service.on("connection:connected", (payload) => pair.connected.push(payload));
  service.on("connection:reconnected", (payload) => pair.reconnected.push(payload));
  // socket.io-client leaves `recovered` undefined when the server offers no recovery at all.
  plain.on("connect", () => pair.plainConnected.push({ id: plain.id, recovered: plain.recovered === true }));
  service.connect();
  plain.connect();
  await Promise.all([pair.connected.waitFor(1), pair.plainConnected.waitFor(1)]);
  if (options.welcome ?? true) await Promise.all([pair.inbox.service.waitFor(1), pair.inbox.plain.waitFor(1)]);
  return pair;
}

/** How a blip is caused, for both clients at once. */
interface Blip {
  name: string;
  /** Cause the loss. May return a promise that settles only after the reconnection (forceReconnection). */
  start(pair: Pair, ids: Record<Who, string>): Promise<void> | void;
  /** Undo what blocks the way back (a blackholed proxy), once both sides saw the loss. */
  heal?(pair: Pair): void;
  /**
   * The service's own liveness check must find the loss: it only counts a missed heartbeat on
   * a connection where the server has acked one (a server that never acks is not penalised).
   */
  needsAckedHeartbeat?: boolean;
}

const transportClose: Blip = {
  name: "transport close (server-side socket.conn.close())",
  start: ({ server }, ids) => {
    for (const id of Object.values(ids)) server.socket(id)?.conn.close();
  },
};

const blackholeUntilPingTimeout: Blip = {
  name: "ping timeout (blackholed link, both ends time out)",
  start: ({ proxy }) => proxy!.blackhole(),
  heal: ({ proxy }) => proxy!.restore(),
};

const forcedReconnection: Blip = {
  name: "forceReconnection() (plain io(): engine.close())",
  start: ({ service, plain }) => {
    plain.io.engine.close();
    return service.forceReconnection();
  },
};

const resumeOnDeadLink: Blip = {
  name: "notifyResume() on a dead link",
  start: ({ proxy, service }) => {
    proxy!.blackhole();
    service.notifyResume();
  },
  heal: ({ proxy }) => proxy!.restore(),
  needsAckedHeartbeat: true,
};

const heartbeatDeadLink: Blip = {
  name: "dead link found by the service's heartbeat",
  start: ({ proxy }) => proxy!.blackhole(),
  heal: ({ proxy }) => proxy!.restore(),
  needsAckedHeartbeat: true,
};

interface RoundResult {
  /** The service's `connection:disconnected` reason and plain io()'s `disconnect` reason. */
  clientReasons: Record<Who, string>;
  /** The server's disconnect reasons for the old sockets. */
  serverReasons: Record<Who, string>;
  recovered: Record<Who, boolean>;
}

/**
 * One blip and the way back; checks everything that must hold after a recovered reconnection
 * (`expectRecovered`) or after a new session. `round` tags what is emitted while away.
 */
async function blipRound(pair: Pair, blip: Blip, round: number, expectRecovered: boolean): Promise<RoundResult> {
  const { server, service, plain } = pair;
  const ids: Record<Who, string> = { service: service.getStatus().socketId!, plain: plain.id! };
  expect(ids.service).toEqual(expect.any(String));
  expect(ids.plain).toEqual(expect.any(String));
  const seen = { service: pair.inbox.service.count, plain: pair.inbox.plain.count };
  const upsBefore = { service: pair.serverView.service.ups.count, plain: pair.serverView.plain.ups.count };
  const connectedBefore = pair.connected.count;
  const reconnectedBefore = pair.reconnected.count;
  const plainConnectedBefore = pair.plainConnected.count;
  const disconnectionsBefore = server.disconnections.count;

  if (blip.needsAckedHeartbeat) await untilContext(service, (context) => context.latency !== null);
  server.closeGate();
  const serviceLost = waitForEvent(service, "connection:disconnected", { timeout: 15_000 });
  const plainLost = nextEvent(plain, "disconnect", 15_000);
  const started = blip.start(pair, ids);
  // At the moment of the blip, before anyone noticed: these may go into the dying link (or
  // even still arrive on it); either way each must be delivered once, before the later ones.
  server.io.to(ids.service).emit("at-blip", round);
  server.io.to(ids.plain).emit("at-blip", round);
  server.io.emit("at-blip-all", round);
  const [{ reason: serviceReason }, [plainReason]] = await Promise.all([serviceLost, plainLost]);
  // The server keeps a session only once it has seen the socket go: wait for that.
  const [serverServiceReason, serverPlainReason] = await Promise.all([
    server.disconnectionOf(ids.service, { after: disconnectionsBefore, timeout: 15_000 }),
    server.disconnectionOf(ids.plain, { after: disconnectionsBefore, timeout: 15_000 }),
  ]);

  // While away: to each socket, to their room, to everyone, interleaved.
  for (let k = 1; k <= 2; k += 1) {
    server.io.to(ids.service).emit("direct", round, k);
    server.io.to(ids.plain).emit("direct", round, k);
    server.io.to("room-a").emit("room", round, k);
    server.io.emit("all", round, k);
  }
  // Sends made while away: queued by the service, buffered by plain io().
  for (let k = 1; k <= 3; k += 1) {
    service.send("up", round, k);
    plain.emit("up", round, k);
  }

  blip.heal?.(pair);
  server.openGate();
  await Promise.all([pair.connected.waitFor(connectedBefore + 1, 15_000), pair.plainConnected.waitFor(plainConnectedBefore + 1, 15_000)]);
  await started;
  const serviceConnected = pair.connected.values[connectedBefore]!;
  const plainConnected = pair.plainConnected.values[plainConnectedBefore]!;
  const recovered = { service: serviceConnected.recovered, plain: plainConnected.recovered };
  // The headline: the service reports recovery exactly when plain io() gets it.
  expect({ blip: blip.name, recovered }).toEqual({
    blip: blip.name,
    recovered: { service: expectRecovered, plain: expectRecovered },
  });
  expect(service.getStatus()).toMatchObject({ state: "connected", recovered: expectRecovered });
  // A retry came first (every blip but a forced reconnection): connection:reconnected says the same.
  const reconnectedPayloads = pair.reconnected.values.slice(reconnectedBefore);
  for (const payload of reconnectedPayloads) expect(payload.recovered).toBe(expectRecovered);
  if (blip !== forcedReconnection) expect(reconnectedPayloads).toHaveLength(1);

  const expectedAway: Received[] = [
    { event: "at-blip", args: [round] },
    { event: "at-blip-all", args: [round] },
    ...[1, 2].flatMap((k) => [
      { event: "direct", args: [round, k] },
      { event: "room", args: [round, k] },
      { event: "all", args: [round, k] },
    ]),
  ];
  if (expectRecovered) {
    expect(serviceConnected.socketId).toBe(ids.service);
    expect(plainConnected.id).toBe(ids.plain);
    for (const who of ["service", "plain"] as const) {
      const view = pair.serverView[who];
      const latest = view.connections.at(-1)!;
      expect(latest).toMatchObject({ id: ids[who], recovered: true, data: { who } });
      expect(latest.rooms).toEqual(expect.arrayContaining([ids[who], "room-a"]));
      // Same session as before the blip (set once, on the first connection).
      expect(latest.data.session).toBe(view.connections.find((connection) => !connection.recovered)?.data.session);
    }
    // Missed events: every one, in order, once (8 each).
    await Promise.all([pair.inbox.service.waitFor(seen.service + 8), pair.inbox.plain.waitFor(seen.plain + 8)]);
  } else {
    expect(serviceConnected.socketId).not.toBe(ids.service);
    expect(plainConnected.id).not.toBe(ids.plain);
  }
  // Queued / buffered sends: out once each, in order, on the new connection.
  await Promise.all([
    pair.serverView.service.ups.waitFor(upsBefore.service + 3),
    pair.serverView.plain.ups.waitFor(upsBefore.plain + 3),
  ]);
  // Duplicates would follow the first copies within the same flush; a short quiet period shows none came.
  await quietPeriod(150);
  for (const who of ["service", "plain"] as const) {
    expect(pair.serverView[who].ups.values.slice(upsBefore[who])).toEqual([
      [round, 1],
      [round, 2],
      [round, 3],
    ]);
  }
  const received = {
    service: pair.inbox.service.values.slice(seen.service),
    plain: pair.inbox.plain.values.slice(seen.plain),
  };
  if (expectRecovered) {
    for (const who of ["service", "plain"] as const) {
      // With recovery on, the server appends the packet's offset as a last string argument;
      // plain io() hands it to listeners too: compare like for like without it.
      for (const message of received[who]) expect(message.args.at(-1)).toEqual(expect.any(String));
      expect(received[who].map(({ event, args }) => ({ event, args: args.slice(0, -1) }))).toEqual(expectedAway);
    }
    // Broadcasts are one stored packet each: both clients got them with the same offset.
    const offsets = (who: Who) =>
      received[who].filter(({ event }) => event !== "direct" && event !== "at-blip").map(({ args }) => args.at(-1));
    expect(offsets("service")).toEqual(offsets("plain"));
  } else {
    // A new session: what was emitted while away is gone, for both alike (the app must resync);
    // what was emitted at the blip itself may have made it before the link went.
    const lateOnes = ({ event }: Received) => event !== "welcome" && !event.startsWith("at-blip");
    expect(received.service.filter(lateOnes)).toEqual([]);
    expect(received.plain.filter(lateOnes)).toEqual([]);
  }
  return {
    clientReasons: { service: serviceReason, plain: String(plainReason) },
    serverReasons: { service: serverServiceReason, plain: serverPlainReason },
    recovered,
  };
}

describe.each<Transport>(["websocket", "polling"])("Connection State Recovery beside plain io() (%s)", (transport) => {
  it("a transport close (server-side socket.conn.close()): both recover, same id, rooms, data, every missed event once", async () => {
    const pair = await startPair({ transport });
    const result = await blipRound(pair, transportClose, 1, true);
    expect(result.clientReasons).toEqual({ service: "transport close", plain: "transport close" });
    expect(result.serverReasons).toEqual({ service: "forced close", plain: "forced close" });
  });

  it("forceReconnection(): the service recovers as plain io() does after closing its engine", async () => {
    const pair = await startPair({ transport });
    const result = await blipRound(pair, forcedReconnection, 1, true);
    expect(result.clientReasons.plain).toBe("forced close");
    // The server must see a transport loss, not a namespace disconnect, to keep the session.
    expect(result.serverReasons).toEqual({ service: "transport close", plain: "transport close" });
  });

  it("several blips in a row (transport close, forced, ping timeout, transport close): recovered every time", async () => {
    const pair = await startPair({ transport, viaProxy: true, ping: { interval: 400, timeout: 400 } });
    const blips = [transportClose, forcedReconnection, blackholeUntilPingTimeout, transportClose];
    const results: RoundResult[] = [];
    for (const [index, blip] of blips.entries()) results.push(await blipRound(pair, blip, index + 1, true));
    expect(results.map((result) => result.recovered)).toEqual(blips.map(() => ({ service: true, plain: true })));
    expect(results[2]!.serverReasons).toEqual({ service: "ping timeout", plain: "ping timeout" });
    // One session all along, four times restored.
    for (const who of ["service", "plain"] as const) {
      expect(pair.serverView[who].connections.map((connection) => connection.recovered)).toEqual([
        false,
        true,
        true,
        true,
        true,
      ]);
      expect(new Set(pair.serverView[who].connections.map((connection) => connection.id)).size).toBe(1);
    }
  });
});

describe.each<Transport>(["websocket", "polling"])("Connection State Recovery beside plain io(): dead links (%s)", (transport) => {
  it("a ping timeout (blackholed link, both ends time out): both recover", async () => {
    const pair = await startPair({ transport, viaProxy: true, ping: { interval: 300, timeout: 300 } });
    const result = await blipRound(pair, blackholeUntilPingTimeout, 1, true);
    expect(result.clientReasons).toEqual({ service: "ping timeout", plain: "ping timeout" });
    expect(result.serverReasons).toEqual({ service: "ping timeout", plain: "ping timeout" });
  });

  it("a dead link found by the service's heartbeat: recovered once the server's own ping timeout has let the old socket go", async () => {
    // The heartbeat finds the loss in about 200 ms. The service's close cannot cross the dead
    // link, so the server learns of the loss only at its ping timeout (800 + 800 ms here) and
    // keeps the session only from then on. plain io() finds the loss at its ping timeout too.
    const pair = await startPair({
      transport,
      viaProxy: true,
      ping: { interval: 800, timeout: 800 },
      config: { heartbeatInterval: 100, heartbeatTimeout: 100, minHeartbeatTimeout: 50, unhealthyThreshold: 2 },
    });
    const result = await blipRound(pair, heartbeatDeadLink, 1, true);
    expect(result.clientReasons).toEqual({ service: "heartbeat timeout", plain: "ping timeout" });
    expect(result.serverReasons).toEqual({ service: "ping timeout", plain: "ping timeout" });
  });

  it("notifyResume() on a dead link: the probe finds it, recovered once the server let the old socket go", async () => {
    const pair = await startPair({
      transport,
      viaProxy: true,
      ping: { interval: 800, timeout: 800 },
      // Heartbeats far apart: only the probe after the resume can find the loss this early.
      config: { heartbeatInterval: 60_000, heartbeatTimeout: 200, minHeartbeatTimeout: 100, unhealthyThreshold: 2 },
    });
    const result = await blipRound(pair, resumeOnDeadLink, 1, true);
    expect(result.clientReasons).toEqual({ service: "heartbeat timeout", plain: "ping timeout" });
    expect(result.serverReasons).toEqual({ service: "ping timeout", plain: "ping timeout" });
  });
});

describe("Connection State Recovery beside plain io(): a dead link the server has not noticed yet", () => {
  it.each<[boolean, string]>([
    [true, "the service finds the loss first, holds its retry until the server let go and recovers, as plain io() does"],
    [false, "(the default) the service is back before the server let go: a new session, the event sent into the dead link lost; plain io() recovers"],
  ])("awaitSessionRecovery %s: %s", async (awaitSessionRecovery) => {
    // Both links die at once (two proxies). The service's heartbeat finds its loss in about
    // 200 ms. Its close cannot cross the dead link: the server keeps the old socket until its
    // ping timeout (800 + 800 ms) and stores the session only then. plain io() learns of the
    // loss from the same ping timeout as the server, by which time the server keeps its
    // session. With awaitSessionRecovery the service holds its first retry until then too.
    const server = await rig.server({
      reference: false,
      io: { connectionStateRecovery: { maxDisconnectionDuration: 10_000 }, pingInterval: 800, pingTimeout: 800 },
      onConnection: (socket) => {
        if (socket.recovered) return;
        socket.join("room-a");
        socket.emit("welcome");
      },
    });
    const serviceProxy = await rig.proxy(server.port, { deadAfterDrop: true });
    const plainProxy = await rig.proxy(server.port, { deadAfterDrop: true });
    const service = rig.service({
      url: serviceProxy.url,
      config: {
        ...RETRY,
        heartbeatInterval: 100,
        heartbeatTimeout: 100,
        minHeartbeatTimeout: 50,
        unhealthyThreshold: 2,
        awaitSessionRecovery,
      },
    });
    const plain = rig.plain(plainProxy.url, { ...PLAIN_RETRY, autoConnect: false });
    const inbox = { service: serviceInbox(service), plain: plainInbox(plain) };
    const first = waitForEvent(service, "connection:connected");
    service.connect();
    plain.connect();
    const [{ socketId: serviceId }] = await Promise.all([first, nextEvent(plain, "connect")]);
    const plainId = plain.id!;
    await Promise.all([inbox.service.waitFor(1), inbox.plain.waitFor(1)]);
    await untilContext(service, (context) => context.latency !== null);

    const serviceLost = waitForEvent(service, "connection:disconnected");
    const plainLost = nextEvent(plain, "disconnect");
    serviceProxy.blackhole();
    plainProxy.blackhole();
    server.io.to("room-a").emit("into-the-dead-link", 1);
    expect((await serviceLost).reason).toBe("heartbeat timeout");
    const serviceBack = waitForEvent(service, "connection:connected");
    const serviceReconnected = waitForEvent(service, "connection:reconnected");
    serviceProxy.restore();
    const { socketId, recovered } = await serviceBack;
    expect(recovered).toBe(awaitSessionRecovery);
    expect((await serviceReconnected).recovered).toBe(awaitSessionRecovery);
    expect(service.getStatus().recovered).toBe(awaitSessionRecovery);
    if (awaitSessionRecovery) {
      expect(socketId).toBe(serviceId);
    } else {
      expect(socketId).not.toBe(serviceId);
      // The server still holds the old socket: it has not seen it go.
      expect(server.socket(serviceId)).toBeDefined();
    }

    expect((await plainLost)[0]).toBe("ping timeout");
    await server.disconnectionOf(plainId);
    const plainBack = nextEvent(plain, "connect");
    plainProxy.restore();
    await plainBack;
    expect({ id: plain.id, recovered: plain.recovered }).toEqual({ id: plainId, recovered: true });

    await Promise.all([inbox.service.waitFor(2), inbox.plain.waitFor(2)]);
    // A second copy would come in the same flush as the first; a short quiet period shows none did.
    await quietPeriod(150);
    expect(inbox.service.values.map(({ event }) => event)).toEqual(
      awaitSessionRecovery ? ["welcome", "into-the-dead-link"] : ["welcome", "welcome"],
    );
    expect(inbox.plain.values.map(({ event }) => event)).toEqual(["welcome", "into-the-dead-link"]);
  });
});

describe("Connection State Recovery beside plain io(): new sessions", () => {
  it("disconnect() then connect() starts a new session, as socket.disconnect() then connect() does", async () => {
    const pair = await startPair();
    const ids = { service: pair.service.getStatus().socketId, plain: pair.plain.id };
    pair.service.disconnect();
    pair.plain.disconnect();
    await Promise.all([
      pair.server.disconnectionOf(ids.service!),
      pair.server.disconnectionOf(ids.plain!),
    ]);
    pair.server.io.emit("while-away", 1);
    pair.service.connect();
    pair.plain.connect();
    await Promise.all([pair.connected.waitFor(2), pair.plainConnected.waitFor(2)]);
    expect({ service: pair.connected.values[1]!.recovered, plain: pair.plainConnected.values[1]!.recovered }).toEqual({
      service: false,
      plain: false,
    });
    expect(pair.service.getStatus().recovered).toBe(false);
    expect(pair.connected.values[1]!.socketId).not.toBe(ids.service);
    expect(pair.plainConnected.values[1]!.id).not.toBe(ids.plain);
    // Deliberate ends are not kept by the server.
    expect(pair.server.disconnections.values.map(({ reason }) => reason)).toEqual([
      "client namespace disconnect",
      "client namespace disconnect",
    ]);
    await Promise.all([pair.inbox.service.waitFor(2), pair.inbox.plain.waitFor(2)]);
    for (const who of ["service", "plain"] as const) {
      expect(pair.inbox[who].values.map(({ event }) => event)).toEqual(["welcome", "welcome"]);
    }
  });

  it("a restarted server (a new Server on the same port) has lost the sessions: recovered false for both", async () => {
    const pair = await startPair();
    const ids = { service: pair.service.getStatus().socketId, plain: pair.plain.id };
    const lost = Promise.all([
      waitForEvent(pair.service, "connection:disconnected"),
      nextEvent(pair.plain, "disconnect"),
    ]);
    await pair.server.kill();
    await lost;
    const restarted = await startServerSide(pair.options, pair.serverView, pair.refusing, pair.server.port);
    await Promise.all([pair.connected.waitFor(2), pair.plainConnected.waitFor(2)]);
    expect({ service: pair.connected.values[1]!.recovered, plain: pair.plainConnected.values[1]!.recovered }).toEqual({
      service: false,
      plain: false,
    });
    const reconnected = await pair.reconnected.waitFor(1).then(() => pair.reconnected.values[0]!);
    expect(reconnected.recovered).toBe(false);
    expect(pair.connected.values[1]!.socketId).not.toBe(ids.service);
    expect(pair.plainConnected.values[1]!.id).not.toBe(ids.plain);
    expect(restarted.connections.values.every((socket) => !socket.recovered)).toBe(true);
  });

  it("an outage longer than maxDisconnectionDuration: the session expired, recovered false for both", async () => {
    const pair = await startPair({ recovery: { maxDisconnectionDuration: 300 } });
    const ids = { service: pair.service.getStatus().socketId!, plain: pair.plain.id! };
    pair.server.closeGate();
    const lost = Promise.all([waitForEvent(pair.service, "connection:disconnected"), nextEvent(pair.plain, "disconnect")]);
    transportClose.start(pair, ids);
    await lost;
    await Promise.all([pair.server.disconnectionOf(ids.service), pair.server.disconnectionOf(ids.plain)]);
    // The expiry is a matter of time itself: nothing to await but the clock.
    await quietPeriod(600);
    pair.server.openGate();
    await Promise.all([pair.connected.waitFor(2), pair.plainConnected.waitFor(2)]);
    expect({ service: pair.connected.values[1]!.recovered, plain: pair.plainConnected.values[1]!.recovered }).toEqual({
      service: false,
      plain: false,
    });
  });

  it("a client that received no event since it connected has no offset to offer: recovered false for both", async () => {
    const pair = await startPair({ welcome: false });
    const ids = { service: pair.service.getStatus().socketId!, plain: pair.plain.id! };
    const lost = Promise.all([waitForEvent(pair.service, "connection:disconnected"), nextEvent(pair.plain, "disconnect")]);
    transportClose.start(pair, ids);
    await lost;
    await Promise.all([pair.connected.waitFor(2), pair.plainConnected.waitFor(2)]);
    expect({ service: pair.connected.values[1]!.recovered, plain: pair.plainConnected.values[1]!.recovered }).toEqual({
      service: false,
      plain: false,
    });
  });

  it("a volatile event whose last argument is a string spoils the offset: recovered false for both", async () => {
    // Volatile events are not stored and carry no offset, but socket.io-client takes the last
    // string argument of any event for one: plain io() and the service alike then offer an
    // offset the server never issued. (Same for a server without recovery, where nothing is
    // stored anyway.)
    const pair = await startPair();
    const ids = { service: pair.service.getStatus().socketId!, plain: pair.plain.id! };
    // A volatile packet is dropped when the transport cannot take it at once: sent again until it lands.
    for (const who of ["service", "plain"] as const) {
      for (let landed = false; !landed; ) {
        pair.server.socket(ids[who])!.volatile.emit("volatile", "a string last");
        landed = await pair.inbox[who].waitFor(2, 100).then(() => true, () => false);
      }
    }
    await blipRound(pair, transportClose, 1, false);
  });

  it("a server without connectionStateRecovery never restores: recovered false for both", async () => {
    const pair = await startPair({ recovery: false });
    await blipRound(pair, transportClose, 1, false);
  });
});

describe("Connection State Recovery beside plain io(): middlewares (skipMiddlewares)", () => {
  it("skipMiddlewares: true (the default): a recovered session skips the middlewares, even one that now refuses", async () => {
    const pair = await startPair({ recovery: { skipMiddlewares: true }, middleware: true });
    expect([pair.serverView.service.middlewareRuns, pair.serverView.plain.middlewareRuns]).toEqual([1, 1]);
    // An auth middleware that would now refuse (a revoked token) is not asked on recovery.
    pair.refusing.value = true;
    await blipRound(pair, transportClose, 1, true);
    expect([pair.serverView.service.middlewareRuns, pair.serverView.plain.middlewareRuns]).toEqual([1, 1]);
  });

  it("skipMiddlewares: false: the middlewares run on recovery too", async () => {
    const pair = await startPair({ recovery: { skipMiddlewares: false }, middleware: true });
    await blipRound(pair, transportClose, 1, true);
    expect([pair.serverView.service.middlewareRuns, pair.serverView.plain.middlewareRuns]).toEqual([2, 2]);
  });

  it("skipMiddlewares: false: a middleware that now refuses stops the recovery, for both", async () => {
    const pair = await startPair({ recovery: { skipMiddlewares: false }, middleware: true });
    const ids = { service: pair.service.getStatus().socketId!, plain: pair.plain.id! };
    pair.refusing.value = true;
    const refused = Promise.all([
      waitForEvent(pair.service, "connection:auth_failed"),
      nextEvent(pair.plain, "connect_error"),
    ]);
    transportClose.start(pair, ids);
    const [serviceRefusal, [plainError]] = await refused;
    expect(serviceRefusal.error.message).toBe("unauthorized");
    expect((plainError as Error).message).toBe("unauthorized");
    expect([pair.serverView.service.middlewareRuns, pair.serverView.plain.middlewareRuns]).toEqual([2, 2]);
    expect(pair.serverView.service.connections).toHaveLength(1);
    expect(pair.serverView.plain.connections).toHaveLength(1);
  });
});
