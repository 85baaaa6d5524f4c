import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo, Socket as NetSocket } from "node:net";
import { createAdapter, type RedisStreamsAdapterOptions } from "@socket.io/redis-streams-adapter";
import { createClient } from "redis";
import { Server, type ServerOptions, type Socket } from "socket.io";
import { type RedisServer, startRedis } from "./redis.js";

/**
 * A Socket.IO cluster for tests: one private redis-server and N Socket.IO v4 nodes on
 * 127.0.0.1 sharing rooms and sessions through `@socket.io/redis-streams-adapter`, each node
 * with Connection State Recovery on, its own HTTP server, port and Redis client. Nodes can
 * be killed (a crash of their connections), crashed (sessions never written), closed
 * gracefully and restarted on the same port as a fresh process would be.
 *
 * Independent of src/ on purpose: the rig must keep working while the library is edited.
 */

type RedisClient = ReturnType<typeof createClient>;

export interface ClusterOptions {
  /** How many Socket.IO nodes. @default 2 */
  nodes?: number;
  /**
   * Share state through Redis (`@socket.io/redis-streams-adapter`). `false` starts
   * independent nodes with Socket.IO's in-memory adapter and no Redis at all: the
   * negative control. @default true
   */
  adapter?: boolean;
  /** Connection State Recovery: how long a lost session is kept (ms). @default 120000 */
  maxDisconnectionDuration?: number;
  /** Connection State Recovery: restored sessions skip `io.use()` middlewares. @default true */
  skipMiddlewares?: boolean;
  /** Engine.IO ping interval / timeout (ms). @default 25000 / 20000 (Socket.IO's defaults) */
  pingInterval?: number;
  pingTimeout?: number;
  /** Ack the client's `heartbeat` emits, as the LabServer does. @default true */
  ackHeartbeats?: boolean;
  /** Registered on every node before it listens (restarted ones included). */
  onConnection?: ConnectionHandler;
  /** Passed to `createAdapter` on every node. */
  adapterOptions?: RedisStreamsAdapterOptions;
  /** Extra Socket.IO server options for every node (applied last). */
  io?: Partial<ServerOptions>;
}

export type ConnectionHandler = (socket: Socket, node: ClusterNode) => void;

/** A server-side socket that went away, and why (Socket.IO's disconnect reason). */
export interface Disconnection {
  id: string;
  reason: string;
  /** Whether the socket had come back as a recovered session. */
  recovered: boolean;
}

export interface Cluster {
  /** The Redis the nodes share; `null` with `adapter: false`. */
  readonly redis: RedisServer | null;
  readonly nodes: readonly ClusterNode[];
  /** Adds a connection handler on every node, now and after restarts. Returns its removal. */
  onConnection(handler: ConnectionHandler): () => void;
  /**
   * Emits `event` to `room` through the first running node; resolves once the event is in
   * the Redis stream (so a session restored after this finds it).
   */
  emitToRoom(room: string, event: string, ...args: unknown[]): Promise<void>;
  /** Closes every node, then Redis, in reverse order of start. Safe to call twice. */
  stop(): Promise<void>;
}

const WAIT_TIMEOUT = 10_000;

/** Starts Redis (unless `adapter: false`) and `nodes` Socket.IO nodes, each listening on its own free port. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.nodes ?? 2;
  if (!Number.isInteger(count) || count < 1) throw new TypeError(`startCluster: nodes must be an integer >= 1, got ${count}`);
  const handlers = new Set<ConnectionHandler>();
  if (options.onConnection) handlers.add(options.onConnection);
  const useAdapter = options.adapter ?? true;
  const redis = useAdapter ? await startRedis() : null;
  const nodes: ClusterNode[] = [];
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      const errors: unknown[] = [];
      for (const node of [...nodes].reverse()) {
        try {
          if (node.running) await node.close();
        } catch (error) {
          errors.push(error);
        }
      }
      try {
        await redis?.stop();
      } catch (error) {
        errors.push(error);
      }
      if (errors.length > 0) throw new AggregateError(errors, "cluster stop failed");
    })());
  try {
    for (let index = 0; index < count; index += 1) {
      const node = new ClusterNode(index, redis, options, handlers);
      nodes.push(node);
      await node.restart();
    }
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return {
    redis,
    nodes,
    onConnection(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    emitToRoom(room, event, ...args) {
      const node = nodes.find((candidate) => candidate.running);
      if (!node) return Promise.reject(new Error("emitToRoom: no node is running"));
      return node.emitToRoom(room, event, ...args);
    },
    stop,
  };
}

/** One life of a node, from start to kill/crash/close: a restart makes a new one. */
interface Incarnation {
  http: HttpServer;
  io: Server;
  rawSockets: Set<NetSocket>;
  /** The node's own Redis client (the adapter publishes and stores sessions with it). */
  redis: RedisClient | null;
  /** The clients the adapter duplicated from it (stream reader, subscriber). */
  duplicates: RedisClient[];
  /** CLIENT SETNAME of all three, to find the reader in CLIENT LIST. */
  clientName: string;
}

export class ClusterNode {
  readonly index: number;
  /** "node-1", "node-2", ... */
  readonly name: string;
  readonly #redis: RedisServer | null;
  readonly #options: ClusterOptions;
  readonly #handlers: ReadonlySet<ConnectionHandler>;
  #port = 0;
  #life: Incarnation | null = null;
  #lives = 0;
  readonly #connectionWaiters = new Waiters<Socket>();
  readonly #disconnectionWaiters = new Waiters<Disconnection>();
  /** Every connection this node accepted, over all its lives, in order. */
  readonly connections: Socket[] = [];
  /** Every server-side socket that went away on this node, in order. */
  readonly disconnections: Disconnection[] = [];

  /** @internal use {@link startCluster}. */
  constructor(index: number, redis: RedisServer | null, options: ClusterOptions, handlers: ReadonlySet<ConnectionHandler>) {
    this.index = index;
    this.name = `node-${index + 1}`;
    this.#redis = redis;
    this.#options = options;
    this.#handlers = handlers;
  }

  /** Its port, fixed after the first start (a restart listens on the same one). */
  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get running(): boolean {
    return this.#life !== null;
  }

  /** The Socket.IO server of the current life (a new one after each restart). */
  get io(): Server {
    return this.#alive("io").io;
  }

  /** Sockets connected to this node right now (0 while it is down). */
  openSockets(): number {
    return this.#life?.io.of("/").sockets.size ?? 0;
  }

  /** Resolves with the next socket that connects to this node (that passes `filter`). */
  waitForConnection(options: { filter?: (socket: Socket) => boolean; timeout?: number } = {}): Promise<Socket> {
    return this.#connectionWaiters.next(`${this.name}: connection`, options.filter, options.timeout);
  }

  /** Resolves with the next socket that goes away on this node (that passes `filter`). */
  waitForDisconnection(
    options: { filter?: (gone: Disconnection) => boolean; timeout?: number } = {},
  ): Promise<Disconnection> {
    return this.#disconnectionWaiters.next(`${this.name}: disconnection`, options.filter, options.timeout);
  }

  /** Emits to `room` from this node; resolves once the event is in the Redis stream. */
  async emitToRoom(room: string, event: string, ...args: unknown[]): Promise<void> {
    const life = this.#alive("emitToRoom");
    life.io.to(room).emit(event, ...args);
    // The adapter sent its XADD on this client synchronously, ahead of this PING: once
    // the PING is answered, the event has an offset in the stream.
    if (life.redis) await life.redis.ping();
  }

  /**
   * Starts a new life on the same port (the first start picks a free one): a new HTTP
   * server, Socket.IO server, Redis client and adapter, as a restarted process would have.
   * Sessions survive only in Redis.
   */
  async restart(): Promise<void> {
    if (this.#life) throw new Error(`${this.name} is running`);
    this.#lives += 1;
    const clientName = `${this.name}-life-${this.#lives}`;
    const http = createServer();
    const rawSockets = new Set<NetSocket>();
    http.on("connection", (socket: NetSocket) => {
      rawSockets.add(socket);
      socket.on("close", () => rawSockets.delete(socket));
    });
    const duplicates: RedisClient[] = [];
    let redis: RedisClient | null = null;
    let adapter: ServerOptions["adapter"] | undefined;
    if (this.#redis) {
      redis = createClient({ url: this.#redis.url, name: clientName, socket: { reconnectStrategy: false } });
      // Errors surface in the commands that fail; an unhandled "error" event would crash the run.
      redis.on("error", () => undefined);
      await redis.connect();
      trackDuplicates(redis, duplicates);
      adapter = createAdapter(redis, this.#options.adapterOptions) as unknown as ServerOptions["adapter"];
    }
    const options = this.#options;
    const io = new Server(http, {
      connectionStateRecovery: {
        maxDisconnectionDuration: options.maxDisconnectionDuration ?? 120_000,
        skipMiddlewares: options.skipMiddlewares ?? true,
      },
      pingInterval: options.pingInterval ?? 25_000,
      pingTimeout: options.pingTimeout ?? 20_000,
      cors: { origin: true },
      ...(adapter ? { adapter } : {}),
      ...options.io,
    });
    io.on("connection", (socket) => this.#accept(socket, options.ackHeartbeats ?? true));
    const life: Incarnation = { http, io, rawSockets, redis, duplicates, clientName };
    try {
      await listen(http, this.#port);
      this.#port = (http.address() as AddressInfo).port;
      if (redis) await this.#untilReading(life);
    } catch (error) {
      await teardown(life).catch(() => undefined);
      throw error;
    }
    this.#life = life;
  }

  /**
   * A crash of the node's connections while its process lives on: every TCP connection
   * destroyed and the port closed, so clients see a transport close. The node notices the
   * same ("transport close"), and its adapter writes each lost session to Redis; then the
   * rest of the node is shut down. Resolves once the sessions are written.
   *
   * A WebSocket notices at once ("transport close"); a long-polling socket notices at once
   * only if a poll request was pending ("transport error"), otherwise at its ping timeout
   * ("ping timeout", up to pingInterval + pingTimeout later): with polling clients, pass
   * short pings or kill() takes that long.
   */
  async kill(): Promise<void> {
    const life = this.#take("kill");
    const gone = this.#untilNoSockets(life);
    // Engine.IO closes its sockets gracefully ("forced close") when the HTTP server closes;
    // a crashed process does nothing of the kind, so its sockets learn of it from their transport.
    life.http.removeAllListeners("close");
    life.http.close();
    for (const socket of life.rawSockets) socket.destroy();
    try {
      await gone;
    } finally {
      await teardown(life);
    }
  }

  /**
   * A process crash (SIGKILL, OOM): as {@link kill}, but the node never gets to write the
   * lost sessions to Redis, as a dead process cannot.
   */
  async crash(): Promise<void> {
    const life = this.#life;
    if (life) life.io.of("/").adapter.persistSession = () => undefined;
    await this.kill();
  }

  /**
   * A graceful shutdown (`io.close()`): its sockets close with "server shutting down",
   * their sessions are written to Redis, then the connections and the port are closed.
   */
  async close(): Promise<void> {
    await teardown(this.#take("close"));
  }

  #accept(socket: Socket, ackHeartbeats: boolean): void {
    this.connections.push(socket);
    socket.on("disconnect", (reason) => {
      const gone = { id: socket.id, reason, recovered: socket.recovered };
      this.disconnections.push(gone);
      this.#disconnectionWaiters.push(gone);
    });
    if (ackHeartbeats) {
      socket.on("heartbeat", (...args: unknown[]) => {
        const ack = args.at(-1);
        if (typeof ack === "function") ack();
      });
    }
    for (const handler of this.#handlers) handler(socket, this);
    this.#connectionWaiters.push(socket);
  }

  #alive(what: string): Incarnation {
    if (!this.#life) throw new Error(`${what}: ${this.name} is not running`);
    return this.#life;
  }

  #take(what: string): Incarnation {
    const life = this.#alive(what);
    this.#life = null;
    return life;
  }

  /** Resolves once every socket of `life` has gone (each one's "disconnect" fired). */
  #untilNoSockets(life: Incarnation): Promise<void> {
    const sockets = [...life.io.of("/").sockets.values()];
    // A long-polling socket with no request pending at the kill has no connection to lose:
    // it learns of the loss from its ping timeout only.
    const pings = (this.#options.pingInterval ?? 25_000) + (this.#options.pingTimeout ?? 20_000);
    return withTimeout(
      Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.once("disconnect", () => resolve())))),
      Math.max(WAIT_TIMEOUT, pings + 2_000),
      `${this.name}: ${sockets.length} sockets did not notice the kill`,
    ).then(() => undefined);
  }

  /**
   * The adapter reads the stream from "$" (what is added after its first XREAD): a node
   * that took traffic before its reader blocked in XREAD would miss what other nodes
   * emitted meanwhile. Nothing announces it, so ask Redis.
   */
  async #untilReading(life: Incarnation): Promise<void> {
    const redis = life.redis!;
    const deadline = Date.now() + WAIT_TIMEOUT;
    while (!(await blockedClientIds(redis, life.clientName)).length) {
      if (Date.now() > deadline) throw new Error(`${this.name}: the adapter's stream reader never blocked in XREAD`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** Stops a life: sockets, engine, port, then the adapter's Redis clients, then its own. */
async function teardown(life: Incarnation): Promise<void> {
  // io.close() closes the sockets first ("server shutting down", sessions persisted),
  // then the adapter (which aborts its reader), the engine and the HTTP server.
  const closing = life.io.close();
  for (const socket of life.rawSockets) socket.destroy();
  await closing;
  const redis = life.redis;
  if (!redis) return;
  // The aborted reader leaves only when its blocking XREAD returns (up to blockTimeInMs):
  // unblock it now instead of waiting.
  for (const id of await blockedClientIds(redis, life.clientName)) {
    await redis.sendCommand(["CLIENT", "UNBLOCK", id]);
  }
  await withTimeout(
    Promise.all(life.duplicates.map(untilClosed)),
    WAIT_TIMEOUT,
    `${life.clientName}: the adapter's Redis clients did not close`,
  );
  // close() waits for commands in flight: the sessions written by io.close() land first.
  if (redis.isOpen) await redis.close();
}

/** Ids of `name`'s Redis clients blocked in a command (the adapter's XREAD reader). */
async function blockedClientIds(redis: RedisClient, name: string): Promise<string[]> {
  const list = String(await redis.sendCommand(["CLIENT", "LIST"]));
  return list
    .split("\n")
    .map((line) => Object.fromEntries(line.trim().split(" ").map((field) => field.split("=", 2))) as Record<string, string>)
    .filter((client) => client.name === name && client.flags?.includes("b"))
    .map((client) => client.id!);
}

/** Records the clients the adapter duplicates from `redis`, to await their end. */
function trackDuplicates(redis: RedisClient, into: RedisClient[]): void {
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = ((...args: Parameters<typeof duplicate>) => {
    const copy = duplicate(...args);
    into.push(copy as unknown as RedisClient);
    return copy;
  }) as typeof redis.duplicate;
}

function untilClosed(client: RedisClient): Promise<void> {
  if (!client.isOpen) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (client.isOpen) return;
      client.off("end", check);
      client.off("error", check);
      resolve();
    };
    client.on("end", check);
    client.on("error", check);
  });
}

function listen(http: HttpServer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, "127.0.0.1", () => {
      http.off("error", reject);
      resolve();
    });
  });
}

function withTimeout<T>(promise: Promise<T>, timeout: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${timeout} ms`)), timeout);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Callers waiting for the next value that passes their filter. */
class Waiters<T> {
  readonly #waiting = new Set<{ filter?: (value: T) => boolean; resolve(value: T): void }>();

  next(what: string, filter?: (value: T) => boolean, timeout = WAIT_TIMEOUT): Promise<T> {
    return new Promise((resolve, reject) => {
      const waiter = {
        filter,
        resolve: (value: T) => {
          clearTimeout(timer);
          this.#waiting.delete(waiter);
          resolve(value);
        },
      };
      const timer = setTimeout(() => {
        this.#waiting.delete(waiter);
        reject(new Error(`no ${what} within ${timeout} ms`));
      }, timeout);
      this.#waiting.add(waiter);
    });
  }

  push(value: T): void {
    for (const waiter of [...this.#waiting]) {
      if (!waiter.filter || waiter.filter(value)) waiter.resolve(value);
    }
  }
}
