import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

/**
 * What the proxy knows about one connection through it. The server sees the proxy's
 * upstream socket, so `upstreamPort` is the remote port of the server's end
 * (`socket.conn.request.socket.remotePort` on a Socket.IO server socket): it ties a
 * server-side socket to the path it came over.
 */
export interface ProxyConnectionInfo {
  /** 1, 2, ... in the order the proxy accepted them. */
  readonly id: number;
  /** The client's port (the remote port of the proxy's client-side socket). */
  readonly clientPort: number | undefined;
  /** The local port of the upstream socket, known once it connected. */
  readonly upstreamPort: number | undefined;
  /** Bytes dropped on this connection while blackholed, both directions. */
  readonly droppedBytes: number;
  /** Destroyed by `cut()`. */
  readonly cut: boolean;
  /** Still open through the proxy. */
  readonly open: boolean;
}

/** Options of {@link TcpProxy.start}. */
export interface TcpProxyOptions {
  /**
   * A connection that lost bytes to a blackhole stays dead after `restore()`, as behind a
   * NAT box or Wi-Fi handover that lost the connection's mapping: its bytes keep being
   * dropped and neither side's close (FIN/RST) is forwarded to the other, so each end learns
   * of the loss only from its own timeouts. New connections work again after `restore()`.
   * Without it (the default) a blackholed connection forwards again after `restore()`,
   * minus what was dropped. @default false
   */
  deadAfterDrop?: boolean;
}

/** How many closed connections `connectionInfo` still remembers. */
const CLOSED_HISTORY = 1000;

/**
 * A TCP proxy on loopback between a client and a server, for links that die in ways a
 * server kill does not show: `blackhole()` stops forwarding in both directions without
 * closing anything (packets dropped, no FIN/RST), `cut()` resets every connection.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket; info: MutableInfo }>();
  /** Open connections and the last {@link CLOSED_HISTORY} closed ones, oldest first. */
  readonly #infos: MutableInfo[] = [];
  readonly #targetPort: number;
  readonly #deadAfterDrop: boolean;
  #blackholed = false;
  #port = 0;
  /** Connections accepted since start. */
  accepted = 0;

  private constructor(targetPort: number, options: TcpProxyOptions) {
    this.#targetPort = targetPort;
    this.#deadAfterDrop = options.deadAfterDrop ?? false;
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(targetPort: number, port = 0, options: TcpProxyOptions = {}): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, options);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once("error", reject);
      proxy.#server.listen(port, "127.0.0.1", () => resolve());
    });
    proxy.#port = (proxy.#server.address() as AddressInfo).port;
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get blackholed(): boolean {
    return this.#blackholed;
  }

  /** Connections open through the proxy. */
  openConnections(): number {
    return this.#pairs.size;
  }

  /**
   * What the proxy knows about its connections: the open ones and the last 1,000 closed
   * ones, oldest first (snapshots).
   */
  connectionInfo(): ProxyConnectionInfo[] {
    return this.#infos.map((info) => ({ ...info }));
  }

  /** The connection (open or recently closed) whose upstream socket has local port `port`. */
  connectionByUpstreamPort(port: number): ProxyConnectionInfo | undefined {
    const info = this.#infos.findLast((candidate) => candidate.upstreamPort === port);
    return info ? { ...info } : undefined;
  }

  #accept(client: Socket): void {
    this.accepted += 1;
    const upstream = connect(this.#targetPort, "127.0.0.1");
    const info: MutableInfo = {
      id: this.accepted,
      clientPort: client.remotePort,
      upstreamPort: undefined,
      droppedBytes: 0,
      cut: false,
      open: true,
    };
    this.#infos.push(info);
    upstream.once("connect", () => {
      info.upstreamPort = upstream.localPort;
    });
    const pair = { client, upstream, info };
    this.#pairs.add(pair);
    const end = () => {
      if (!this.#pairs.delete(pair)) return;
      info.open = false;
      this.#forgetClosed();
      client.destroy();
      upstream.destroy();
    };
    // A dead path (deadAfterDrop): nothing crosses any more, a close included; the pair is
    // gone once both ends closed on their own.
    const dead = () => this.#deadAfterDrop && info.droppedBytes > 0;
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (!this.#blackholed && !dead()) to.write(chunk);
      else info.droppedBytes += chunk.length;
    };
    client.on("data", forward(upstream));
    upstream.on("data", forward(client));
    for (const socket of [client, upstream]) {
      const closed = () => {
        if (!dead()) {
          end();
          return;
        }
        socket.destroy();
        if (client.destroyed && upstream.destroyed) end();
      };
      socket.on("error", closed);
      socket.on("close", closed);
    }
  }

  /** Drop every byte from now on, both ways, keeping the connections open. */
  blackhole(): void {
    this.#blackholed = true;
  }

  /** Forward again. */
  restore(): void {
    this.#blackholed = false;
  }

  /** Destroy every connection through the proxy (the listener stays). */
  cut(): void {
    for (const { client, upstream, info } of [...this.#pairs]) {
      info.cut = true;
      info.open = false;
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
    this.#forgetClosed();
  }

  #forgetClosed(): void {
    let closed = this.#infos.filter((info) => !info.open).length;
    for (let i = 0; i < this.#infos.length && closed > CLOSED_HISTORY; ) {
      if (this.#infos[i]!.open) {
        i += 1;
      } else {
        this.#infos.splice(i, 1);
        closed -= 1;
      }
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

type MutableInfo = { -readonly [K in keyof ProxyConnectionInfo]: ProxyConnectionInfo[K] };

/** A listener on 127.0.0.1 that accepts TCP connections and never answers: a hung server. */
export class SilentListener {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #port = 0;
  accepted = 0;

  private constructor() {
    this.#server = createServer((socket) => {
      this.accepted += 1;
      this.#sockets.add(socket);
      // Read and discard, so that a client closing its end is seen (a paused socket never ends).
      socket.resume();
      socket.on("error", () => {});
      socket.on("close", () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<SilentListener> {
    const listener = new SilentListener();
    await new Promise<void>((resolve) => listener.#server.listen(0, "127.0.0.1", () => resolve()));
    listener.#port = (listener.#server.address() as AddressInfo).port;
    return listener;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Connections still open (a client that gave up should have closed its own). */
  openConnections(): number {
    return this.#sockets.size;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A port on 127.0.0.1 that nothing listens on (connection refused). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
