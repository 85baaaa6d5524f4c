import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy on loopback between a client and a server, for links that die in ways a
 * server kill does not show: `blackhole()` stops forwarding in both directions without
 * closing anything (packets dropped, no FIN/RST), `cut()` resets every connection.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();
  readonly #targetPort: number;
  #blackholed = false;
  #port = 0;
  /** Connections accepted since start. */
  accepted = 0;

  private constructor(targetPort: number) {
    this.#targetPort = targetPort;
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(targetPort: number, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
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

  #accept(client: Socket): void {
    this.accepted += 1;
    const upstream = connect(this.#targetPort, "127.0.0.1");
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const end = () => {
      if (!this.#pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk) => {
      if (!this.#blackholed) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!this.#blackholed) client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on("error", end);
      socket.on("close", end);
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
    for (const { client, upstream } of [...this.#pairs]) {
      client.destroy();
      upstream.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

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
