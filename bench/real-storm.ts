/**
 * bench/real-storm: real sockets on loopback. Half the clients are our service, half plain
 * socket.io-client with its built-in reconnection, in the same run against the same
 * Socket.IO server. The server is killed, stays down D, comes back on the same port and
 * admits at most C handshakes a second:
 * - without a hint it refuses at the Engine.IO level (`allowRequest`), which both clients
 *   see as a transport error (socket.io-client's Manager retries it with its own backoff);
 * - with a hint it refuses in a Socket.IO middleware with `data.retryAfter`. socket.io-client
 *   does not retry a middleware refusal (`socket.active` is false), so the plain app does
 *   what the Socket.IO docs tell an app to: it calls `socket.connect()` again, here after
 *   exactly `retryAfter`.
 *
 * Usage: tsx bench/real-storm.ts [--clients=300] [--down=2000] [--capacity=50] [--full]
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Server, type ExtendedError } from "socket.io";
import { io as ioClient, type Socket } from "socket.io-client";
import { createWebSocketService, type WebSocketService } from "../src/index.js";
import { peakInWindow } from "./lib/stats.js";

type Kind = "ours" | "plain";

export interface RealStormOptions {
  clients: number;
  downMs: number;
  capacity: number;
  hint: boolean;
  /** Give up this long after the restart, ms. */
  limitMs?: number;
  /** How long everyone stays connected before the crash (past the service's stablePeriod). @default 5500 */
  settleMs?: number;
}

export interface RealStormSide {
  kind: Kind;
  clients: number;
  handshakes: number;
  refused: number;
  /** Seconds from the restart until the last client of this kind was connected again (null: not all). */
  allBackS: number | null;
  /** Clients of this kind connected at the end. */
  back: number;
  /** Most handshakes in any one second after the restart. */
  peakPerS: number;
}

export interface RealStormResult {
  clients: number;
  downS: number;
  capacity: number;
  hint: boolean;
  sides: RealStormSide[];
  wallMs: number;
}

interface Tally {
  arrivals: number[];
  refused: number;
  backAt: Map<string, number>;
}

const RETRY_AFTER_CAP_MS = 30_000;

function startServer(port: number, admission: ((kind: Kind) => { ok: boolean; retryAfter: number | null }) | null, hint: boolean) {
  const http: HttpServer = createServer();
  const kindOfUrl = (url: string | undefined): Kind =>
    new URL(url ?? "/", "http://x").searchParams.get("kind") === "plain" ? "plain" : "ours";
  const io = new Server(http, {
    transports: ["websocket"],
    allowRequest: (req, done) => {
      if (!admission || hint) return done(null, true);
      const verdict = admission(kindOfUrl(req.url));
      done(verdict.ok ? null : "server busy", verdict.ok);
    },
  });
  if (admission && hint) {
    io.use((socket, next) => {
      const kind = socket.handshake.query.kind === "plain" ? "plain" : "ours";
      const verdict = admission(kind);
      if (verdict.ok) return next();
      const error = new Error("server busy") as ExtendedError;
      error.data = { retryAfter: verdict.retryAfter };
      next(error);
    });
  }
  return new Promise<{ http: HttpServer; io: Server; port: number }>((resolvePromise, reject) => {
    http.once("error", reject);
    http.listen(port, "127.0.0.1", () => resolvePromise({ http, io, port: (http.address() as AddressInfo).port }));
  });
}

function closeServer(server: { io: Server }): Promise<void> {
  return new Promise((resolvePromise) => {
    void server.io.close(() => resolvePromise());
  });
}

/** One real storm: both kinds of client side by side. */
export async function runRealStorm(options: RealStormOptions): Promise<RealStormResult> {
  const started = performance.now();
  const limitMs = options.limitMs ?? 120_000;
  const perKind = Math.floor(options.clients / 2);
  const tallies: Record<Kind, Tally> = {
    ours: { arrivals: [], refused: 0, backAt: new Map() },
    plain: { arrivals: [], refused: 0, backAt: new Map() },
  };
  let restartAt = Number.POSITIVE_INFINITY;
  let window = -1;
  let admitted = 0;
  let refusedInWindow = 0;
  let refusedInPrevious = 0;
  // The same rule as the simulated server's "window" hint policy.
  const admission = (kind: Kind) => {
    const t = performance.now();
    tallies[kind].arrivals.push(t);
    const w = Math.floor((t - restartAt) / 1000);
    if (w !== window) {
      refusedInPrevious = w === window + 1 ? refusedInWindow : 0;
      window = w;
      admitted = 0;
      refusedInWindow = 0;
    }
    if (admitted < options.capacity) {
      admitted++;
      return { ok: true, retryAfter: null };
    }
    refusedInWindow++;
    tallies[kind].refused++;
    const retryAfter = Math.min(RETRY_AFTER_CAP_MS, 1000 * Math.max(1, Math.ceil(refusedInPrevious / options.capacity)));
    return { ok: false, retryAfter };
  };

  let server = await startServer(0, null, options.hint);
  const port = server.port;
  const url = `http://127.0.0.1:${port}`;
  const connectedIds = new Set<string>();
  let onConnected: (() => void) | null = null;
  const watch = (s: { io: Server }) =>
    s.io.on("connection", (socket) => {
      const id = String(socket.handshake.query.id);
      connectedIds.add(id);
      if (Number.isFinite(restartAt)) {
        const kind: Kind = socket.handshake.query.kind === "plain" ? "plain" : "ours";
        if (!tallies[kind].backAt.has(id)) tallies[kind].backAt.set(id, performance.now());
      }
      socket.on("disconnect", () => connectedIds.delete(id));
      onConnected?.();
    });
  watch(server);

  const services: WebSocketService[] = [];
  const plain: Socket[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const waitFor = (predicate: () => boolean, within: number) =>
    new Promise<boolean>((resolvePromise) => {
      if (predicate()) return resolvePromise(true);
      const timer = setTimeout(() => {
        onConnected = null;
        resolvePromise(false);
      }, within);
      onConnected = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        onConnected = null;
        resolvePromise(true);
      };
    });

  try {
    for (let i = 0; i < perKind; i++) {
      const service = createWebSocketService({
        url,
        socketOptions: { transports: ["websocket"], query: { kind: "ours", id: `ours-${i}` } },
      });
      services.push(service);
      service.connect();
      const socket = ioClient(url, {
        forceNew: true,
        transports: ["websocket"],
        query: { kind: "plain", id: `plain-${i}` },
      });
      socket.on("connect_error", (error: Error & { data?: { retryAfter?: number } }) => {
        // Socket.IO docs: after a refusal by the server, socket.active is false and the app
        // must call socket.connect() itself.
        if (socket.active) return;
        const timer = setTimeout(() => {
          timers.delete(timer);
          socket.connect();
        }, error.data?.retryAfter ?? 0);
        timers.add(timer);
      });
      plain.push(socket);
    }
    if (!(await waitFor(() => connectedIds.size === 2 * perKind, 30_000))) {
      throw new Error(`only ${connectedIds.size}/${2 * perKind} clients connected before the storm`);
    }
    // Stay up past the service's stablePeriod (5 s) so that its backoff starts from the first step.
    await new Promise((r) => setTimeout(r, options.settleMs ?? 5_500));

    await closeServer(server);
    connectedIds.clear();
    await new Promise((r) => setTimeout(r, options.downMs));
    restartAt = performance.now();
    server = await startServer(port, admission, options.hint);
    watch(server);
    await waitFor(() => tallies.ours.backAt.size + tallies.plain.backAt.size === 2 * perKind, limitMs);
  } finally {
    for (const timer of timers) clearTimeout(timer);
    for (const service of services) service.dispose();
    for (const socket of plain) {
      socket.removeAllListeners();
      socket.disconnect();
    }
    await closeServer(server);
  }

  const sides = (["ours", "plain"] as const).map((kind): RealStormSide => {
    const tally = tallies[kind];
    const after = tally.arrivals.filter((t) => t >= restartAt);
    const back = [...tally.backAt.values()];
    return {
      kind,
      clients: perKind,
      handshakes: after.length,
      refused: tally.refused,
      allBackS: back.length === perKind ? Math.round((Math.max(...back) - restartAt) / 100) / 10 : null,
      back: back.length,
      peakPerS: peakInWindow(after, 1000),
    };
  });
  return {
    clients: 2 * perKind,
    downS: options.downMs / 1000,
    capacity: options.capacity,
    hint: options.hint,
    sides,
    wallMs: Math.round(performance.now() - started),
  };
}

export const REAL_HEADER = ["hint", "client", "clients", "handshakes", "refused", "peak /s", "all back s", "back"] as const;

export function realRows(result: RealStormResult): string[][] {
  return result.sides.map((side) => [
    result.hint ? "retryAfter" : "none",
    side.kind === "ours" ? "@softphone/websocket" : "socket.io-client",
    String(side.clients),
    String(side.handshakes),
    String(side.refused),
    String(side.peakPerS),
    side.allBackS === null ? "—" : side.allBackS.toFixed(1),
    `${side.back}/${side.clients}`,
  ]);
}

async function main(): Promise<void> {
  const { parseArgs, numberArg } = await import("./lib/cli.js");
  const { formatTable } = await import("./lib/stats.js");
  const { writeFileSync, mkdirSync } = await import("node:fs");
  const args = parseArgs(process.argv.slice(2));
  const full = args.has("full");
  const clients = numberArg(args, "clients", 300);
  const downMs = numberArg(args, "down", full ? 5000 : 2000);
  const capacity = numberArg(args, "capacity", full ? 30 : 50);
  console.log(`bench/real-storm: ${clients} clients (half ours, half plain socket.io-client), down ${downMs / 1000} s, then ${capacity} handshakes/s`);
  const results: RealStormResult[] = [];
  for (const hint of [false, true]) results.push(await runRealStorm({ clients, downMs, capacity, hint }));
  console.log(formatTable(REAL_HEADER, results.flatMap(realRows)));
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  mkdirSync(resolve(root, "bench/results"), { recursive: true });
  writeFileSync(resolve(root, "bench/results/real-storm.json"), `${JSON.stringify({ date: new Date().toISOString(), results }, null, 1)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
