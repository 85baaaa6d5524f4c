import { randomBytes } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { LabServer } from "../lab/server.js";
import { TcpProxy } from "../lab/tcpProxy.js";
import { drainServer } from "../src/server/index.js";

/**
 * The demo: a real Socket.IO server (LabServer) behind a loopback TCP proxy, a small
 * control API to break them, and the page (Vite in middleware mode, or the build in
 * demo/dist with `--static`). Everything listens on 127.0.0.1.
 */
export interface DemoOptions {
  /** Port of the page and the control API; 0 picks a free one. @default 5173 */
  port?: number;
  /** Serve the prebuilt page from demo/dist (`npm run build:demo`) instead of Vite. @default false */
  serveStatic?: boolean;
}

export interface DemoServer {
  url: string;
  lab: LabServer;
  /** The backup server of the page's server list, down until "Start backup". */
  backup: LabServer;
  proxy: TcpProxy;
  close(): Promise<void>;
}

/** What the control API reports after every command. */
export interface DemoState {
  /** The primary, reached through the proxy. */
  socketUrl: string;
  /** The page's server list: the primary (through the proxy), then the backup (direct). */
  socketUrls: string[];
  backupListening: boolean;
  backupSockets: number;
  /** A drain (planned restart) of the primary is in progress. */
  draining: boolean;
  token: string;
  serverListening: boolean;
  linkBlackholed: boolean;
  shedding: number | null;
  /** Handshakes are held in the server's middleware (never answered) until released. */
  holding: boolean;
  openSockets: number;
  /** Connections the server accepted since it started. */
  connections: number;
  /** Engine.IO transport of each open socket ("polling" until upgraded, then "websocket"). */
  transports: string[];
}

const demoDir = fileURLToPath(new URL(".", import.meta.url));
const SHED_RETRY_AFTER_MS = 5_000;

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

function newToken(): string {
  return `demo-${randomBytes(6).toString("hex")}`;
}

export async function startDemo(options: DemoOptions = {}): Promise<DemoServer> {
  let token = newToken();
  let shedding: number | null = null;
  let holding = false;
  let draining = false;
  const labOptions = {
    tokens: [token],
    pingInterval: 5_000,
    pingTimeout: 5_000,
    // shared.html's "Ask the server": a request answered with its own argument.
    onConnection: (socket: import("socket.io").Socket) =>
      socket.on("echo", (value: unknown, ack: unknown) => typeof ack === "function" && ack(value)),
  };
  const lab = await LabServer.start(labOptions);
  const proxy = await TcpProxy.start(lab.port);
  // The second server of the list: down until the page starts it, so that the other faults
  // behave as with one server (a kill leads to waiting to retry, not to the backup).
  const backup = await LabServer.start(labOptions);
  await backup.kill();

  const state = (): DemoState => ({
    socketUrl: proxy.url,
    socketUrls: [proxy.url, backup.url],
    backupListening: backup.listening,
    backupSockets: backup.listening ? backup.openSockets() : 0,
    draining,
    token,
    serverListening: lab.listening,
    linkBlackholed: proxy.blackholed,
    shedding,
    holding,
    openSockets: lab.listening ? lab.openSockets() : 0,
    connections: lab.connections,
    transports: [...lab.io.of("/").sockets.values()].map((socket) => socket.conn.transport.name),
  });

  const commands: Record<string, () => Promise<void> | void> = {
    kill: () => lab.kill(),
    restart: () => lab.restart(),
    blackhole: () => proxy.blackhole(),
    restore: () => proxy.restore(),
    revoke: () => {
      lab.revokeToken(token);
      backup.revokeToken(token);
    },
    issue: () => {
      token = newToken();
      lab.acceptToken(token);
      backup.acceptToken(token);
    },
    startBackup: () => backup.restart(),
    killBackup: () => backup.kill(),
    // A planned restart of the primary: every client is told to come back 2–5 s from now (to
    // the backup when it is in their list), then its connection is closed. The server stays up.
    drain: () => {
      draining = true;
      void drainServer(lab.io, { reconnectAfterMs: 2_000, windowMs: 3_000 }).finally(() => {
        draining = false;
      });
    },
    shed: () => {
      shedding = SHED_RETRY_AFTER_MS;
      lab.shedLoad({ retryAfter: shedding });
      // Drop the live connections so that clients meet the refusal on their next handshake.
      proxy.cut();
    },
    unshed: () => {
      shedding = null;
      lab.shedLoad(null);
    },
    hold: () => {
      holding = true;
      lab.holdHandshakes("forever");
      // Drop the live connections so that clients meet the silent server on their next handshake.
      proxy.cut();
    },
    release: () => {
      holding = false;
      lab.holdHandshakes(null);
      lab.releaseHandshakes();
    },
  };

  // The page's HMR socket shares this server (created below, listening after Vite is ready).
  const http = createServer((request, response) => handle(request, response));
  const vite = options.serveStatic
    ? null
    : await (async () => {
        const [{ createServer: createViteServer }, { default: react }] = await Promise.all([
          import("vite"),
          import("@vitejs/plugin-react"),
        ]);
        return createViteServer({
          root: demoDir,
          configFile: false,
          plugins: [react()],
          appType: "spa",
          logLevel: "warn",
          cacheDir: resolve(demoDir, "../node_modules/.vite-demo"),
          server: { middlewareMode: true, hmr: { server: http } },
          optimizeDeps: { include: ["react", "react-dom/client", "socket.io-client", "xstate"] },
        });
      })();

  const sendJson = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
    response.end(JSON.stringify(body));
  };

  const serveStatic = (request: IncomingMessage, response: ServerResponse): void => {
    const root = join(demoDir, "dist");
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const file = normalize(join(root, path === "/" ? "index.html" : path));
    const target = file.startsWith(root) && existsSync(file) && extname(file) ? file : join(root, "index.html");
    if (!existsSync(target)) {
      response.writeHead(500, { "content-type": "text/plain" });
      response.end("demo/dist is missing: run npm run build:demo first");
      return;
    }
    response.writeHead(200, { "content-type": MIME[extname(target)] ?? "application/octet-stream" });
    createReadStream(target).pipe(response);
  };

  const handle = (request: IncomingMessage, response: ServerResponse): void => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === "/api/state" && request.method === "GET") {
      sendJson(response, 200, state());
      return;
    }
    const command = path.startsWith("/api/") ? commands[path.slice("/api/".length)] : undefined;
    if (command && request.method === "POST") {
      Promise.resolve()
        .then(command)
        .then(
          () => sendJson(response, 200, state()),
          (error: unknown) => sendJson(response, 500, { error: String(error) }),
        );
      return;
    }
    if (path.startsWith("/api/")) {
      sendJson(response, 404, { error: `no such command: ${request.method} ${path}` });
      return;
    }
    if (vite) vite.middlewares(request, response);
    else serveStatic(request, response);
  };
  await new Promise<void>((resolveListen, reject) => {
    http.once("error", reject);
    http.listen(options.port ?? 5173, "127.0.0.1", () => resolveListen());
  });
  const { port } = http.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    lab,
    backup,
    proxy,
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolveClose) => http.close(() => resolveClose()));
      await vite?.close();
      await proxy.close();
      await lab.close();
      await backup.close();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: "string", default: "5173" }, static: { type: "boolean", default: false } },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`--port must be 0..65535, got ${values.port}`);
  const demo = await startDemo({ port, serveStatic: values.static });
  console.log(`Demo running at ${demo.url}`);
  console.log(`  Socket.IO server ${demo.lab.url}, reached through the proxy ${demo.proxy.url}`);
  console.log(`  backup Socket.IO server ${demo.backup.url} (down until the page starts it)`);
  console.log("  Press Ctrl-C to stop.");
  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    demo.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
