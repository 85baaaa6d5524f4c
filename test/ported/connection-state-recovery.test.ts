import type { ServerOptions, Socket as ServerSocket } from "socket.io";
import type { Socket as ClientSocket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type { WebSocketService } from "../../src/services/WebSocketService.js";
import { waitForEvent } from "../support/events.js";
import {
  nextEvent,
  plainInbox,
  type PortedServer,
  portedRig,
  serviceInbox,
} from "../support/ported.js";

/**
 * The Connection State Recovery cases of socket.io-client's `test/connection-state-recovery.ts`
 * and of the server's `packages/socket.io/test/connection-state-recovery.ts`, ported to the
 * service against a real server, plain `io()` beside it. The server's cases speak the wire
 * protocol by hand (a second Engine.IO handshake offering `pid` and `offset`); here the
 * clients do that themselves after a blip. The fuller comparison (every blip kind, both
 * transports, several blips in a row) is test/integration/recovery.test.ts.
 */

const rig = portedRig();

const CLIENT_ORIGIN = "packages/socket.io-client/test/connection-state-recovery.ts";
const SERVER_ORIGIN = "packages/socket.io/test/connection-state-recovery.ts";

/**
 * The service and a plain io() socket on `server`, both connected and, with `firstEvents`,
 * each holding that many received events (the first one gives a client its offset); `who`
 * tells them apart on the server.
 */
async function bothConnected(server: PortedServer, firstEvents = 1) {
  const service = rig.service({ url: server.url, socketOptions: { query: { who: "service" } } });
  const plain = rig.plain(server.url, {
    autoConnect: false,
    reconnectionDelay: 50,
    reconnectionDelayMax: 200,
    query: { who: "plain" },
  });
  const inbox = { service: serviceInbox(service), plain: plainInbox(plain) };
  const first = waitForEvent(service, "connection:connected");
  service.connect();
  plain.connect();
  const [{ socketId }] = await Promise.all([first, nextEvent(plain, "connect")]);
  await Promise.all([inbox.service.waitFor(firstEvents), inbox.plain.waitFor(firstEvents)]);
  return { service, plain, inbox, ids: { service: socketId, plain: plain.id! } };
}

/** The server-side socket of each client as it connects (the latest one per client). */
function latestSockets(server: PortedServer) {
  return {
    of: (who: "service" | "plain") =>
      server.connections.values.filter((socket) => socket.handshake.query.who === who).at(-1)!,
  };
}

/**
 * A transport loss on both clients, closed from the client side: `forceReconnection()` for
 * the service (the nearest to the original's `socket.io.engine.close()`), `engine.close()`
 * for io(). Resolves once the server has let both old sockets go (only then does it keep the
 * sessions), with the gate closed so that neither can be back yet.
 */
async function blipBoth(server: PortedServer, service: WebSocketService, plain: ClientSocket) {
  const ids = { service: service.getStatus().socketId!, plain: plain.id! };
  const after = server.disconnections.count;
  server.closeGate();
  const forced = service.forceReconnection();
  plain.io.engine.close();
  await Promise.all([
    server.disconnectionOf(ids.service, { after }),
    server.disconnectionOf(ids.plain, { after }),
  ]);
  return {
    /** Opens the gate; resolves with both `recovered` flags once both are back. */
    async comeBack() {
      const plainBack = nextEvent(plain, "connect");
      const serviceBack = waitForEvent(service, "connection:connected");
      server.openGate();
      const [{ recovered }] = await Promise.all([serviceBack, plainBack]);
      await forced;
      return { service: recovered, plain: plain.recovered === true };
    },
  };
}

describe(`ported: ${CLIENT_ORIGIN}`, () => {
  it("should have an accessible socket id equal to the server-side socket id (default namespace)", async () => {
    // origin: packages/socket.io-client/test/connection-state-recovery.ts › "should have an accessible socket id equal to the server-side socket id (default namespace)"
    const server = await rig.reference();
    const service = rig.service({ url: server.url });
    const plain = rig.plain(server.url, { reconnectionDelay: 10 });
    expect(service.getStatus().recovered).toBe(false);
    expect(plain.recovered).toBe(false);
    // "hi" gives each client its first offset.
    const serviceHi = waitForEvent(service, "message", { filter: ({ event }) => event === "hi" });
    service.send("hi");
    plain.emit("hi");
    service.connect();
    await Promise.all([serviceHi, nextEvent(plain, "hi")]);
    const ids = { service: service.getStatus().socketId, plain: plain.id };

    const serviceBack = waitForEvent(service, "connection:connected");
    const plainBack = nextEvent(plain, "connect");
    void service.forceReconnection();
    plain.io.engine.close();
    const [{ socketId, recovered }] = await Promise.all([serviceBack, plainBack]);
    expect({ socketId, recovered }).toEqual({ socketId: ids.service, recovered: true });
    expect(service.getStatus().recovered).toBe(true);
    expect({ id: plain.id, recovered: plain.recovered }).toEqual({ id: ids.plain, recovered: true });
  });
});

describe(`ported: ${SERVER_ORIGIN}`, () => {
  const recoveringServer = (io: Partial<ServerOptions> = {}, onConnection?: (socket: ServerSocket) => void) =>
    rig.server({ reference: false, io: { connectionStateRecovery: {}, ...io }, onConnection });

  it("should restore session and missed packets", async () => {
    // origin: packages/socket.io/test/connection-state-recovery.ts › "should restore session and missed packets"
    const server = await recoveringServer({}, (socket) => {
      if (socket.recovered) return;
      socket.join("room1");
      socket.emit("hello");
    });
    // Each client has received "hello": its offset.
    const { service, plain } = await bothConnected(server);
    const heard: Record<"service" | "plain", string[]> = { service: [], plain: [] };
    service.on("message", ({ event }) => heard.service.push(event));
    service.on("connection:connected", () => heard.service.push("<connected>"));
    plain.onAny((event: string) => heard.plain.push(event));
    plain.on("connect", () => heard.plain.push("<connected>"));
    const sockets = latestSockets(server);
    const serverSockets = { service: sockets.of("service"), plain: sockets.of("plain") };

    const away = await blipBoth(server, service, plain);
    server.io.emit("hello1");
    server.io.to("room1").emit("hello2");
    // To the server-side socket objects of before the blip: stored for their sessions.
    serverSockets.service.emit("hello3");
    serverSockets.plain.emit("hello3");
    expect(await away.comeBack()).toEqual({ service: true, plain: true });
    // As the original notes, the missed events come before the CONNECT packet: both clients
    // deliver them before announcing the connection.
    for (const who of ["service", "plain"] as const) {
      expect(heard[who]).toEqual(["hello1", "hello2", "hello3", "<connected>"]);
    }
  });

  it("should restore rooms and data attributes", async () => {
    // origin: packages/socket.io/test/connection-state-recovery.ts › "should restore rooms and data attributes"
    const server = await recoveringServer({}, (socket) => {
      if (socket.recovered) return;
      socket.join("room1");
      socket.join("room2");
      socket.data.foo = "bar";
      socket.emit("offset");
    });
    const { service, plain, ids } = await bothConnected(server);
    expect(server.connections.values.every((socket) => !socket.recovered)).toBe(true);
    const away = await blipBoth(server, service, plain);
    expect(await away.comeBack()).toEqual({ service: true, plain: true });
    const sockets = latestSockets(server);
    for (const who of ["service", "plain"] as const) {
      const socket = sockets.of(who);
      expect(socket.id).toBe(ids[who]);
      expect(socket.recovered).toBe(true);
      expect([...socket.rooms].sort()).toEqual([ids[who], "room1", "room2"].sort());
      expect(socket.data.foo).toBe("bar");
    }
  });

  it("should not run middlewares upon recovery by default", async () => {
    // origin: packages/socket.io/test/connection-state-recovery.ts › "should not run middlewares upon recovery by default"
    const server = await recoveringServer({}, (socket) => {
      if (!socket.recovered) socket.emit("offset");
    });
    const { service, plain } = await bothConnected(server);
    server.io.use((socket, next) => {
      socket.data.middlewareWasCalled = true;
      next();
    });
    const away = await blipBoth(server, service, plain);
    expect(await away.comeBack()).toEqual({ service: true, plain: true });
    const sockets = latestSockets(server);
    for (const who of ["service", "plain"] as const) {
      expect(sockets.of(who).recovered).toBe(true);
      expect(sockets.of(who).data.middlewareWasCalled).toBeUndefined();
    }
  });

  it("should run middlewares even upon recovery", async () => {
    // origin: packages/socket.io/test/connection-state-recovery.ts › "should run middlewares even upon recovery"
    const server = await recoveringServer({ connectionStateRecovery: { skipMiddlewares: false } }, (socket) => {
      if (!socket.recovered) socket.emit("offset");
    });
    const { service, plain } = await bothConnected(server);
    server.io.use((socket, next) => {
      socket.data.middlewareWasCalled = true;
      next();
    });
    const away = await blipBoth(server, service, plain);
    expect(await away.comeBack()).toEqual({ service: true, plain: true });
    const sockets = latestSockets(server);
    for (const who of ["service", "plain"] as const) {
      expect(sockets.of(who).recovered).toBe(true);
      expect(sockets.of(who).data.middlewareWasCalled).toBe(true);
    }
  });

  it("should fail to restore an unknown session", async () => {
    // origin: packages/socket.io/test/connection-state-recovery.ts › "should fail to restore an unknown session"
    // differs: the service offers only the session its server gave it (the original writes a
    // made-up pid by hand); a session the server does not know is one it lost, here by a
    // restart (a new Server on the same port). Same outcome: a new session, a new id.
    const options = { reference: false, io: { connectionStateRecovery: {} } };
    const onConnection = (socket: ServerSocket) => {
      if (!socket.recovered) socket.emit("offset");
    };
    const server = await rig.server({ ...options, onConnection });
    const { service, plain, ids } = await bothConnected(server);
    const lost = Promise.all([waitForEvent(service, "connection:disconnected"), nextEvent(plain, "disconnect")]);
    await server.kill();
    await lost;
    const serviceBack = waitForEvent(service, "connection:connected");
    const plainBack = nextEvent(plain, "connect");
    const restarted = await rig.server({ ...options, port: server.port, onConnection });
    const [{ socketId, recovered }] = await Promise.all([serviceBack, plainBack]);
    expect({ service: recovered, plain: plain.recovered }).toEqual({ service: false, plain: false });
    expect(socketId).not.toBe(ids.service);
    expect(plain.id).not.toBe(ids.plain);
    expect(restarted.connections.values.map((socket) => socket.recovered)).toEqual([false, false]);
  });

  it("should be disabled by default", async () => {
    // origin: packages/socket.io/test/connection-state-recovery.ts › "should be disabled by default"
    // The original sees no pid in the handshake; what a client sees of that: no offset after
    // the arguments, and no recovery after a blip.
    const server = await rig.server({
      reference: false,
      onConnection: (socket) => {
        if (!socket.recovered) socket.emit("hello", "world");
      },
    });
    const { service, plain, inbox } = await bothConnected(server);
    expect(inbox.service.values).toEqual([{ event: "hello", args: ["world"] }]);
    expect(inbox.plain.values).toEqual([{ event: "hello", args: ["world"] }]);
    const away = await blipBoth(server, service, plain);
    expect(await away.comeBack()).toEqual({ service: false, plain: false });
  });

  it("should not call adapter#persistSession or adapter#restoreSession if disabled", async () => {
    // origin: packages/socket.io/test/connection-state-recovery.ts › "should not call adapter#persistSession or adapter#restoreSession if disabled"
    const server = await rig.server({ reference: false, onConnection: (socket) => socket.emit("hello") });
    const calls: string[] = [];
    const adapter = server.io.of("/").adapter;
    adapter.persistSession = () => {
      calls.push("persistSession");
    };
    adapter.restoreSession = () => {
      calls.push("restoreSession");
      return Promise.reject(new Error("should not happen"));
    };
    const { service, plain } = await bothConnected(server);
    const away = await blipBoth(server, service, plain);
    expect(await away.comeBack()).toEqual({ service: false, plain: false });
    expect(calls).toEqual([]);
  });
});
