import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo, Socket as NetSocket } from "node:net";
import { Server, type ServerOptions, type Socket } from "socket.io";

/**
 * A real Socket.IO v4 server on 127.0.0.1 with fault controls: the part the tests,
 * `npm start`, the demo and the benchmarks play against. Nothing here is a mock.
 */
export interface LabServerOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** Tokens the auth middleware accepts; omit for a server without auth. */
  tokens?: Iterable<string>;
  /** Answer the client's `heartbeat` emits with an ack. @default true */
  ackHeartbeats?: boolean;
  /** Engine.IO ping interval and timeout (ms). @default 25000 / 20000, Socket.IO's own defaults */
  pingInterval?: number;
  pingTimeout?: number;
  /** Called for every connected socket, after the lab's own handlers. */
  onConnection?: (socket: Socket) => void;
  /** Socket.IO's Connection State Recovery, passed to the server as is. @default off */
  connectionStateRecovery?: ServerOptions["connectionStateRecovery"];
}

/**
 * How long {@link LabServer.holdHandshakes} keeps a handshake in the middleware: milliseconds,
 * or `"forever"` (until {@link LabServer.releaseHandshakes}, a kill or a close).
 */
export type HandshakeHold = number | "forever";

/** How a refused handshake is answered while shedding load. */
export interface Shedding {
  retryAfter: number | null;
}

export class LabServer {
  readonly io: Server;
  readonly #http: HttpServer;
  readonly #rawSockets = new Set<NetSocket>();
  readonly #tokens: Set<string> | null;
  #port: number;
  #listening = false;
  #shedding: Shedding | null = null;
  #hold: HandshakeHold | null = null;
  /** Handshakes held in the middleware: their timer (null while held "forever") and the way on. */
  readonly #held = new Set<{ timer: NodeJS.Timeout | null; proceed(): void }>();
  readonly #handshakeWaiters = new Set<{ count: number; resolve(): void }>();
  /** Handshakes that reached the middleware (accepted or refused). */
  handshakes = 0;
  /** Handshakes refused by the middleware. */
  refused = 0;
  /** Connections accepted. */
  connections = 0;
  /** The largest number of sockets open at once. */
  peakOpen = 0;
  /** Tokens seen in handshakes, in order (to check that tokens travel in `auth` only). */
  readonly seenTokens: (string | undefined)[] = [];
  /** Query strings seen in handshakes. */
  readonly seenQueries: Record<string, unknown>[] = [];

  private constructor(options: LabServerOptions) {
    this.#port = options.port ?? 0;
    this.#tokens = options.tokens ? new Set(options.tokens) : null;
    this.#http = createServer();
    this.#http.on("connection", (socket: NetSocket) => {
      this.#rawSockets.add(socket);
      socket.on("close", () => this.#rawSockets.delete(socket));
    });
    this.io = new Server(this.#http, {
      pingInterval: options.pingInterval ?? 25000,
      pingTimeout: options.pingTimeout ?? 20000,
      cors: { origin: true },
      ...(options.connectionStateRecovery ? { connectionStateRecovery: options.connectionStateRecovery } : {}),
    });
    this.io.use((socket, next) => {
      this.handshakes += 1;
      const token = (socket.handshake.auth as { token?: string }).token;
      this.seenTokens.push(token);
      this.seenQueries.push({ ...socket.handshake.query });
      this.#notifyHandshake();
      this.#holdThen(() => this.#admit(token, next));
    });
    const ackHeartbeats = options.ackHeartbeats ?? true;
    this.io.on("connection", (socket) => {
      this.connections += 1;
      this.peakOpen = Math.max(this.peakOpen, this.io.of("/").sockets.size);
      socket.data.token = (socket.handshake.auth as { token?: string }).token;
      if (ackHeartbeats) {
        socket.on("heartbeat", (...args: unknown[]) => {
          const ack = args.at(-1);
          if (typeof ack === "function") ack();
        });
      }
      options.onConnection?.(socket);
    });
  }

  /** The middleware's verdict on a handshake (after any hold). */
  #admit(token: string | undefined, next: (error?: Error) => void): void {
    if (this.#shedding) {
      this.refused += 1;
      const error = new Error("server busy") as Error & { data?: unknown };
      error.data = this.#shedding.retryAfter === null ? {} : { retryAfter: this.#shedding.retryAfter };
      next(error);
      return;
    }
    if (this.#tokens && (!token || !this.#tokens.has(token))) {
      this.refused += 1;
      const error = new Error(token ? "invalid token" : "unauthorized") as Error & { data?: unknown };
      error.data = { status: 401 };
      next(error);
      return;
    }
    next();
  }

  #holdThen(proceed: () => void): void {
    const hold = this.#hold;
    if (hold === null) {
      proceed();
      return;
    }
    const entry = {
      timer: null as NodeJS.Timeout | null,
      proceed: () => {
        if (entry.timer !== null) clearTimeout(entry.timer);
        if (this.#held.delete(entry)) proceed();
      },
    };
    if (hold !== "forever") entry.timer = setTimeout(entry.proceed, hold);
    this.#held.add(entry);
  }

  #notifyHandshake(): void {
    for (const waiter of [...this.#handshakeWaiters]) {
      if (this.handshakes >= waiter.count) waiter.resolve();
    }
  }

  /** Forgets held handshakes without letting them on (their connections are gone). */
  #dropHeld(): void {
    for (const entry of this.#held) if (entry.timer !== null) clearTimeout(entry.timer);
    this.#held.clear();
  }

  /**
   * A slow or stuck server: from now on every handshake that reaches the middleware waits
   * there (it is counted in `handshakes` at once) for `hold` ms, or `"forever"` until
   * {@link releaseHandshakes}, before it is judged as usual. `null` stops holding new
   * handshakes; those already held keep their own hold. A kill or close forgets held
   * handshakes (Socket.IO ignores a verdict on a connection that closed meanwhile anyway).
   */
  holdHandshakes(hold: HandshakeHold | null): void {
    if (hold !== null && hold !== "forever" && !(Number.isFinite(hold) && hold >= 0)) {
      throw new TypeError(`holdHandshakes: hold must be ms >= 0, "forever" or null, got ${String(hold)}`);
    }
    this.#hold = hold;
  }

  /** Lets every held handshake go on now. */
  releaseHandshakes(): void {
    for (const entry of [...this.#held]) entry.proceed();
  }

  /** Handshakes waiting in the middleware right now (see {@link holdHandshakes}). */
  get heldHandshakes(): number {
    return this.#held.size;
  }

  /**
   * Resolves once `count` handshakes in all reached the middleware (at once if they already
   * did), for "the client is mid-handshake now"; rejects after `timeout` ms.
   */
  waitForHandshakes(count: number, timeout = 10_000): Promise<void> {
    if (this.handshakes >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          this.#handshakeWaiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#handshakeWaiters.delete(waiter);
        reject(new Error(`${this.handshakes}/${count} handshakes within ${timeout} ms`));
      }, timeout);
      this.#handshakeWaiters.add(waiter);
    });
  }

  /**
   * Writes `data` as one raw Engine.IO message on the connection of `socket` (every open
   * socket when omitted), past the Socket.IO encoder: e.g. `"9"` (no such packet type) or
   * `'2["x"'` (broken JSON) makes the client's decoder fail, and socket.io-client closes
   * with reason "parse error". Returns the number of connections written to.
   */
  writeRaw(data: string, socket?: Socket): number {
    const targets = socket ? [socket] : [...this.io.of("/").sockets.values()];
    for (const target of targets) target.conn.write(data);
    return targets.length;
  }

  /** Starts a server on 127.0.0.1. */
  static async start(options: LabServerOptions = {}): Promise<LabServer> {
    const server = new LabServer(options);
    await server.listen();
    return server;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get listening(): boolean {
    return this.#listening;
  }

  /** Sockets open right now. */
  openSockets(): number {
    return this.io.of("/").sockets.size;
  }

  /** Listens again (after `kill`) on the same port. */
  async listen(): Promise<void> {
    if (this.#listening) return;
    await new Promise<void>((resolve, reject) => {
      this.#http.once("error", reject);
      this.#http.listen(this.#port, "127.0.0.1", () => {
        this.#http.off("error", reject);
        resolve();
      });
    });
    this.#port = (this.#http.address() as AddressInfo).port;
    this.#listening = true;
  }

  /** Alias of `listen` that reads better in a story. */
  restart(): Promise<void> {
    return this.listen();
  }

  /** A crash: every TCP connection destroyed, the port closed. Clients see a transport close. */
  async kill(): Promise<void> {
    this.#dropHeld();
    for (const socket of this.#rawSockets) socket.destroy();
    this.#rawSockets.clear();
    if (!this.#listening) return;
    this.#listening = false;
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  /** Server-initiated disconnect (`io server disconnect`) of every socket. */
  kickAll(): void {
    for (const socket of this.io.of("/").sockets.values()) socket.disconnect(true);
  }

  acceptToken(token: string): void {
    this.#tokens?.add(token);
  }

  /**
   * Revokes a token: later handshakes with it are refused with 401, and the transports of
   * sockets that used it are closed (as an auth gateway cutting a session would), so the
   * client finds out on its next handshake.
   */
  revokeToken(token: string): void {
    this.#tokens?.delete(token);
    for (const socket of this.io.of("/").sockets.values()) {
      if (socket.data.token === token) socket.conn.close();
    }
  }

  /** Refuse every handshake, with `data.retryAfter` when given; `null` to stop shedding. */
  shedLoad(shedding: Shedding | null): void {
    this.#shedding = shedding;
  }

  /** Stops for good: sockets, engine and port closed. */
  async close(): Promise<void> {
    this.io.disconnectSockets(true);
    await this.kill();
    this.io.engine.close();
    await new Promise<void>((resolve) => this.io.close(() => resolve()));
  }
}
