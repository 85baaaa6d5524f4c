import type { Socket as ServerSocket } from "socket.io";
import { io, type Socket as ClientSocket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type { LabServer } from "../../lab/server.js";
import { checkSocketOptions } from "../../src/machine/socketOptions.js";
import { createWebSocketService, type WebSocketServiceOptions } from "../../src/index.js";
import { untilContext, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

/**
 * Options docs/socket-options.md classifies as passed through take effect through the
 * service exactly as through a plain socket.io-client `io()` given the same options: both
 * are judged by what a real Socket.IO server on 127.0.0.1 saw of the connection.
 */

const { cleanup, startServer } = integrationRig();

type SocketOptions = NonNullable<WebSocketServiceOptions["socketOptions"]>;

/** What the server saw of one connection: its handshake and its transport. */
interface Seen {
  socket: ServerSocket;
  query: Record<string, unknown>;
  headers: Record<string, unknown>;
  transport: string;
}

/** The next connection the server accepts. */
function nextConnection(server: LabServer): Promise<Seen> {
  return new Promise((resolve) => {
    server.io.once("connection", (socket: ServerSocket) =>
      resolve({
        socket,
        query: { ...socket.handshake.query },
        headers: { ...socket.handshake.headers },
        transport: socket.conn.transport.name,
      }),
    );
  });
}

/** Connects a plain socket.io-client `io()` with `options` and returns what the server saw. */
async function viaPlainIo(server: LabServer, options: SocketOptions): Promise<Seen & { client: ClientSocket }> {
  const seen = nextConnection(server);
  const client = cleanup.add(io(server.url, options), (socket) => socket.disconnect());
  const [connection] = await Promise.all([seen, new Promise<void>((resolve) => client.once("connect", () => resolve()))]);
  expect(client.id).toBe(connection.socket.id);
  return { ...connection, client };
}

/** Connects a service with `socketOptions` and returns what the server saw. */
async function viaService(server: LabServer, socketOptions?: SocketOptions) {
  const seen = nextConnection(server);
  const service = cleanup.add(
    createWebSocketService({ url: server.url, config: FAST_RETRY, ...(socketOptions ? { socketOptions } : {}) }),
    (created) => created.dispose(),
  );
  service.connect();
  const [connection] = await Promise.all([seen, waitForState(service, "connected")]);
  expect(service.getStatus().socketId).toBe(connection.socket.id);
  return { ...connection, service };
}

describe("socketOptions passed through to io(), side by side with plain socket.io-client", () => {
  it("extraHeaders and query reach the server's handshake through the service as through io()", async () => {
    const server = await startServer();
    // A fresh object for each: io() writes path, hostname, secure and port into the one it is given.
    const options = (): SocketOptions => ({
      extraHeaders: { "x-app-version": "7.1.0" },
      query: { room: "lobby", build: "42" },
    });

    const plain = await viaPlainIo(server, options());
    const through = await viaService(server, options());
    const without = await viaService(server);

    const handshake = ({ headers, query }: Seen) => ({
      header: headers["x-app-version"],
      room: query.room,
      build: query.build,
    });
    expect(handshake(plain)).toEqual({ header: "7.1.0", room: "lobby", build: "42" });
    expect(handshake(through)).toEqual(handshake(plain));
    // The control: the same service without the options sends none of it.
    expect(handshake(without)).toEqual({ header: undefined, room: undefined, build: undefined });
  });

  it('transports: ["polling"] makes the connection HTTP long-polling through the service as through io(), and it stays so', async () => {
    const server = await startServer();
    const options = (): SocketOptions => ({ transports: ["polling"] });

    const plain = await viaPlainIo(server, options());
    const through = await viaService(server, options());
    // The control: the service's default opens over WebSocket.
    const without = await viaService(server);

    expect(plain.transport).toBe("polling");
    expect(through.transport).toBe(plain.transport);
    expect(without.transport).toBe("websocket");

    // A heartbeat round trip later no upgrade happened (polling is the only transport offered).
    await untilContext(through.service, (context) => context.latency !== null);
    const echoed = await plain.client.timeout(5000).emitWithAck("heartbeat");
    expect(echoed).toBeUndefined();
    expect(through.socket.conn.transport.name).toBe("polling");
    expect(plain.socket.conn.transport.name).toBe("polling");
    expect(plain.client.io.engine.transport.name).toBe("polling");
  });

  it("an options object a plain io() call has written into is still accepted by the check", async () => {
    const server = await startServer();
    const shared: SocketOptions = { transports: ["websocket"], query: { room: "lobby" } };
    await viaPlainIo(server, shared);
    // io() added these to the caller's object (socket.io-client 4.8); the check passes them through.
    expect(shared).toMatchObject({ path: "/socket.io", hostname: "127.0.0.1", secure: false, port: String(server.port) });
    expect(() => checkSocketOptions(shared as Record<string, unknown>, "/socket.io/")).not.toThrow();
  });
});
