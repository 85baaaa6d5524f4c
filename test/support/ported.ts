import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo, Socket as NetSocket } from "node:net";
import { Server, type ServerOptions, type Socket as ServerSocket } from "socket.io";
import { io, type ManagerOptions, type Socket as ClientSocket, type SocketOptions } from "socket.io-client";
import { afterEach } from "vitest";
import { SilentListener, TcpProxy, type TcpProxyOptions } from "../../lab/tcpProxy.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import {
  createWebSocketService,
  type WebSocketService,
  type WebSocketServiceOptions,
} from "../../src/services/WebSocketService.js";
import { createCleanup, Tally } from "./events.js";

/**
 * Shared by the cases ported from Socket.IO's own suites (test/ported/*) and by the Connection
 * State Recovery comparison (test/integration/recovery.test.ts): a real Socket.IO v4 server on
 * 127.0.0.1 answering what socket.io-client's test server answers, plain socket.io-client
 * sockets that are closed after each test like everything else, and small awaiting helpers.
 */

/** Short retry timings: the ported cases are about outcomes, not about real-world delays. */
export const PORTED_TIMINGS: Readonly<Partial<ConnectionConfig>> = Object.freeze({
  baseDelay: 50,
  maxDelay: 200,
  jitterRange: 20,
  connectionTimeout: 1000,
});

/**
 * The server options of socket.io-client's own test server: a 2 s ping interval and
 * Connection State Recovery on. With recovery on, every event the server emits without an
 * ack request carries its offset as one more, last, string argument (see {@link dropOffset}).
 */
export const REFERENCE_IO_OPTIONS: Readonly<Partial<ServerOptions>> = Object.freeze({
  pingInterval: 2000,
  connectionStateRecovery: {},
});

/**
 * The arguments the server's code passed, without the offset a Connection State Recovery
 * server appends to every event it stores (a string, always last; events emitted with an ack
 * request are not stored and end with the ack function instead).
 */
export function dropOffset(args: readonly unknown[]): unknown[] {
  return typeof args.at(-1) === "string" ? args.slice(0, -1) : [...args];
}

/** A jitter source that replays `values` in a cycle, so that every delay can be recomputed. */
export function cycle(values: readonly number[]): () => number {
  let index = 0;
  return () => values[index++ % values.length]!;
}

export interface PortedServerOptions {
  /** Port to listen on; 0 picks a free one (a restart passes the old port). @default 0 */
  port?: number;
  /** Options of the Socket.IO `Server` (connectionStateRecovery, ping timings, path, adapter, ...). */
  io?: Partial<ServerOptions>;
  /** Answer what socket.io-client's own test server answers (see {@link installReferenceHandlers}). @default true */
  reference?: boolean;
  /** Called for every socket connected on the main namespace, after the reference handlers. */
  onConnection?: (socket: ServerSocket) => void;
}

/**
 * A Socket.IO server on 127.0.0.1 for the ported cases. Besides the reference handlers it
 * acks the service's `heartbeat`, records every connection and disconnection of the main
 * namespace, and has a gate in front of new Engine.IO handshakes (`closeGate`/`openGate`):
 * while closed, a client that lost its connection cannot come back, so a test can act "while
 * the client is away" without racing its reconnection.
 */
export class PortedServer {
  readonly io: Server;
  readonly #http: HttpServer;
  readonly #raw = new Set<NetSocket>();
  #port: number;
  #gateClosed = false;
  readonly #held: (() => void)[] = [];
  /** Engine.IO handshakes that reached the server (held ones included). */
  readonly engineHandshakes = new Tally<string | undefined>();
  /** Sockets connected on the main namespace, in order (recovered ones included). */
  readonly connections = new Tally<ServerSocket>();
  /** Sockets of the main namespace that disconnected, with the server's reason. */
  readonly disconnections = new Tally<{ id: string; reason: string }>();

  private constructor(options: PortedServerOptions) {
    this.#port = options.port ?? 0;
    this.#http = createServer();
    this.#http.on("connection", (socket: NetSocket) => {
      this.#raw.add(socket);
      socket.on("close", () => this.#raw.delete(socket));
    });
    const userAllowRequest = options.io?.allowRequest;
    this.io = new Server(this.#http, {
      cors: { origin: true },
      ...options.io,
      allowRequest: (request, callback) => {
        this.engineHandshakes.push(request.url);
        const proceed = () => (userAllowRequest ? userAllowRequest(request, callback) : callback(null, true));
        if (this.#gateClosed) this.#held.push(proceed);
        else proceed();
      },
    });
    if (options.reference ?? true) installReferenceHandlers(this.io);
    this.io.on("connection", (socket) => {
      this.connections.push(socket);
      socket.on("heartbeat", (...args: unknown[]) => {
        const ack = args.at(-1);
        if (typeof ack === "function") ack();
      });
      socket.on("disconnect", (reason) => this.disconnections.push({ id: socket.id, reason }));
      options.onConnection?.(socket);
    });
  }

  static async start(options: PortedServerOptions = {}): Promise<PortedServer> {
    const server = new PortedServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#http.once("error", reject);
      server.#http.listen(server.#port, "127.0.0.1", () => {
        server.#http.off("error", reject);
        resolve();
      });
    });
    server.#port = (server.#http.address() as AddressInfo).port;
    return server;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** The socket of the main namespace connected right now with this id, if any. */
  socket(id: string): ServerSocket | undefined {
    return this.io.of("/").sockets.get(id);
  }

  /**
   * Resolves with the server's reason once the socket `id` of the main namespace disconnected
   * (a recovered session keeps its id: only disconnections after the first `after` ones count).
   */
  async disconnectionOf(id: string, options: { after?: number; timeout?: number } = {}): Promise<string> {
    const after = options.after ?? 0;
    const deadline = Date.now() + (options.timeout ?? 10_000);
    for (;;) {
      const found = this.disconnections.values.slice(after).find((entry) => entry.id === id);
      if (found) return found.reason;
      await this.disconnections.waitFor(this.disconnections.count + 1, Math.max(1, deadline - Date.now()));
    }
  }

  /** Hold every new Engine.IO handshake until {@link openGate}. */
  closeGate(): void {
    this.#gateClosed = true;
  }

  /** Let the held handshakes on, and new ones through. */
  openGate(): void {
    this.#gateClosed = false;
    for (const proceed of this.#held.splice(0)) proceed();
  }

  /**
   * A crash: every TCP connection destroyed (clients see a transport close, not a server
   * disconnect), then the server closed; its in-memory sessions die with it.
   */
  async kill(): Promise<void> {
    this.#gateClosed = false;
    this.#held.length = 0;
    for (const socket of this.#raw) socket.destroy();
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }

  /** Closes the server for good: sockets, engine, port; TCP connections destroyed at once. */
  async close(): Promise<void> {
    this.#gateClosed = false;
    this.#held.length = 0;
    this.io.disconnectSockets(true);
    for (const socket of this.#raw) socket.destroy();
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }
}

/**
 * What socket.io-client's test server (packages/socket.io-client/test/support/server.ts)
 * answers, rewritten for the cases ported here: events that echo back, acks in both
 * directions, dates, UTF-8 strings, `false`, binary both ways, the handshake and the id; the
 * namespaces `/foo` (answers `getId`), `/abc` (sends its handshake on connection) and `/no`
 * (a middleware that refuses every socket); a `?fail=1` query refused on the main namespace.
 */
export function installReferenceHandlers(server: Server): void {
  server.use((socket, next) => {
    if (socket.handshake.query.fail) next(new Error("Auth failed (main namespace)"));
    else next();
  });
  server.of("/foo").on("connection", (socket) => {
    socket.on("getId", (reply: (id: string) => void) => reply(socket.id));
  });
  server.of("/abc").on("connection", (socket) => {
    socket.emit("handshake", socket.handshake);
  });
  server.of("/no").use((_socket, next) => next(new Error("Auth failed (custom namespace)")));
  for (const name of ["/timeout_socket", "/valid", "/asd"]) server.of(name).on("connection", () => {});

  server.on("connection", (socket) => {
    socket.on("hi", () => socket.emit("hi"));
    socket.on("echo", (value: unknown, reply: (value: unknown) => void) => reply(value));
    // Acked only after `delay` ms: for "the server acks, but too late".
    socket.on("slowEcho", (value: unknown, delay: number, reply: (value: unknown) => void) => {
      setTimeout(() => reply(value), delay);
    });
    // The server asks the client for an ack; the right answer (5, { test: true }) earns "got it".
    socket.on("ack", () => {
      socket.emit("ack", (first: unknown, second: { test?: boolean } | undefined) => {
        if (first === 5 && second?.test) socket.emit("got it");
      });
    });
    socket.on("getAckDate", (_data: unknown, reply: (date: Date) => void) => reply(new Date()));
    socket.on("getDate", () => socket.emit("takeDate", new Date()));
    socket.on("getDateObj", () => socket.emit("takeDateObj", { date: new Date() }));
    socket.on("getUtf8", () => {
      for (const text of UTF8_SAMPLES) socket.emit("takeUtf8", text);
    });
    socket.on("false", () => socket.emit("false", false));
    socket.on("doge", () => socket.emit("doge", Buffer.from("asdfasdf", "utf8")));
    socket.on("buffa", (data: unknown) => {
      if (Buffer.isBuffer(data)) socket.emit("buffack");
    });
    socket.on("jsonbuff", (data: { hello?: unknown; message?: unknown; goodbye?: unknown }) => {
      if (data.hello === "lol" && Buffer.isBuffer(data.message) && data.goodbye === "gotcha") socket.emit("jsonbuff-ack");
    });
    // Binary events must arrive in the order they were sent: abuff2 is acknowledged only after abuff1.
    let firstBufferArrived = false;
    socket.on("abuff1", (data: unknown) => {
      firstBufferArrived = Buffer.isBuffer(data);
    });
    socket.on("abuff2", () => {
      if (firstBufferArrived) socket.emit("abuff2-ack");
    });
    socket.on("getHandshake", (reply: (handshake: unknown) => void) => reply(socket.handshake));
    socket.on("getId", (reply: (id: string) => void) => reply(socket.id));
  });
}

/** The UTF-8 strings the server sends for `getUtf8`, in order (multibyte, Cyrillic, umlauts, dashes). */
export const UTF8_SAMPLES: readonly string[] = Object.freeze([
  "てすと",
  "Я Б Г Д Ж Й",
  "Ä ä Ü ü ß",
  "utf8 — string",
  "utf8 — string",
]);

/** Options of socket.io-client's `io()`. */
export type PlainOptions = Partial<ManagerOptions & SocketOptions>;

/**
 * For a test file: servers, services, plain socket.io-client sockets, proxies and silent
 * listeners created through it are closed after each test, in reverse order.
 */
export function portedRig() {
  const cleanup = createCleanup();
  afterEach(() => cleanup.run());
  return {
    cleanup,
    server: async (options: PortedServerOptions = {}) =>
      cleanup.add(await PortedServer.start(options), (server) => server.close()),
    /** The reference server: socket.io-client's test server options and handlers, plus `io` options. */
    reference: async (io: Partial<ServerOptions> = {}) =>
      cleanup.add(await PortedServer.start({ io: { ...REFERENCE_IO_OPTIONS, ...io } }), (server) => server.close()),
    /** A service with {@link PORTED_TIMINGS} under the given config. */
    service: (options: WebSocketServiceOptions): WebSocketService =>
      cleanup.add(
        createWebSocketService({ ...options, config: { ...PORTED_TIMINGS, ...options.config } }),
        (created) => created.dispose(),
      ),
    /** Plain socket.io-client, its own manager (`forceNew`) unless told otherwise. */
    plain: (url: string, options: PlainOptions = {}): ClientSocket =>
      cleanup.add(io(url, { forceNew: true, ...options }), closePlain),
    proxy: async (targetPort: number, options: TcpProxyOptions = {}) =>
      cleanup.add(await TcpProxy.start(targetPort, 0, options), (proxy) => proxy.close()),
    silent: async () => cleanup.add(await SilentListener.start(), (listener) => listener.close()),
  };
}

/** Stops a plain socket for good: no reconnection, its manager and engine closed. */
export function closePlain(socket: ClientSocket): void {
  socket.io.reconnection(false);
  socket.disconnect();
  socket.io.engine?.close();
}

/** What socket.io-client's sockets, managers and engines have in common, untyped by event. */
interface Listenable {
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Resolves with the arguments of the next `event` of a plain socket, its manager or its
 * engine (each typed by its own event map, hence `object`); rejects after `timeout` ms.
 */
export function nextEvent(target: object, event: string, timeout = 10_000): Promise<unknown[]> {
  const emitter = target as Listenable;
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no "${event}" within ${timeout} ms`));
    }, timeout);
    emitter.once(event, listener);
  });
}

/**
 * A bounded stretch of time for checks that something does NOT happen (no retry, no second
 * delivery): there is no event to await for an absence, so the test waits a while that is
 * long compared with what it rules out (several retry delays of {@link PORTED_TIMINGS}).
 */
export function quietPeriod(ms = 200): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A received event, as the service's `message` payload and a plain socket's `onAny` both give it. */
export interface Received {
  event: string;
  args: unknown[];
}

/** Everything `socket` receives (its `onAny`), in order, awaitable by count. */
export function plainInbox(socket: ClientSocket): Tally<Received> {
  const inbox = new Tally<Received>();
  socket.onAny((event: string, ...args: unknown[]) => inbox.push({ event, args }));
  return inbox;
}

/** Everything `service` receives (its `message` event), in order, awaitable by count. */
export function serviceInbox(service: WebSocketService): Tally<Received> {
  const inbox = new Tally<Received>();
  service.on("message", (message) => inbox.push(message));
  return inbox;
}
