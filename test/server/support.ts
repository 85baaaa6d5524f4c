import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type ServerOptions } from "socket.io";
import { io as connect, type ManagerOptions, type Socket as ClientSocket, type SocketOptions } from "socket.io-client";
import { afterEach } from "vitest";

/** A plain Socket.IO v4 server on 127.0.0.1 (a free port), closed after the test. */
export interface TestServer {
  io: Server;
  http: HttpServer;
  url: string;
}

/** Resolves with the arguments of the next `event` of a client socket, rejects after `timeout` ms. */
export function nextEvent<T extends unknown[] = unknown[]>(client: ClientSocket, event: string, timeout = 10_000): Promise<T> {
  // Reserved and user events alike: the client's typed `once` only knows its declared maps.
  const emitter = client as unknown as {
    once(event: string, listener: (...args: unknown[]) => void): unknown;
    off(event: string, listener: (...args: unknown[]) => void): unknown;
  };
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no "${event}" within ${timeout} ms`));
    }, timeout);
    emitter.once(event, listener);
  });
}

/**
 * For a test file: servers and clients made through it are closed after each test (clients
 * first). Clients do not reconnect on their own unless asked: each test drives that itself.
 */
export function serverRig() {
  const servers: TestServer[] = [];
  const clients: ClientSocket[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) {
      client.io.opts.reconnection = false;
      client.disconnect();
    }
    await Promise.all(
      servers.splice(0).map(
        ({ io, http }) =>
          new Promise<void>((resolve) => {
            io.disconnectSockets(true);
            void io.close(() => resolve());
            http.closeAllConnections();
          }),
      ),
    );
  });
  return {
    async start(options: Partial<ServerOptions> = {}): Promise<TestServer> {
      const http = createServer();
      const io = new Server(http, options);
      await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
      const server = { io, http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
      servers.push(server);
      return server;
    },
    client(url: string, options: Partial<ManagerOptions & SocketOptions> = {}): ClientSocket {
      const client = connect(url, { transports: ["websocket"], reconnection: false, forceNew: true, ...options });
      clients.push(client);
      return client;
    },
  };
}

/** Resolves once `client` is connected (at once if it is), rejects on a refusal. */
export function connected(client: ClientSocket, timeout = 10_000): Promise<void> {
  if (client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`not connected within ${timeout} ms`));
    }, timeout);
    const onConnect = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off("connect", onConnect);
      client.off("connect_error", onError);
    };
    client.on("connect", onConnect);
    client.on("connect_error", onError);
  });
}

/** A seeded [0, 1) source (mulberry32), so that a run can be replayed. */
export { mulberry32 as seededRandom } from "../../bench/lib/prng.js";
