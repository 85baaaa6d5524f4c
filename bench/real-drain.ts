/**
 * bench/real-drain: the storm with the server companion on real sockets (127.0.0.1), default
 * transports on both clients (ours: one transport per attempt, WebSocket first; socket.io-client:
 * polling, then the upgrade). Half the clients are our service, half plain socket.io-client
 * (its own reconnection; refused by a middleware, the app calls connect() again after exactly
 * `retryAfter`, as the Socket.IO docs tell it to). Variants, in one process and one run:
 * - `open`: crash, down D, the restarted server admits everyone: each kind's own first-contact
 *   floor (how long the same clients take when capacity is no limit);
 * - `admission`: crash, down D, restarted with the real `createAdmissionControl({ perSecond: C })`;
 * - `bare`: the same admission, the refusal carrying only `retryAfter` (before `retryWindow`);
 * - `drain`: a planned restart: the real `drainServer(io, { windowMs: N / C, reconnectAfterMs })`,
 *   down D, restarted with the same admission control.
 * Each kind has its own server (same process, same moments), with half the clients and half the
 * capacity, so that one kind's storm does not take the other's places: the floor N / C is the
 * same for both.
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, type ExtendedError, type Socket as ServerSocket } from "socket.io";
import { io as ioClient, type Socket } from "socket.io-client";
import { createWebSocketService, type WebSocketService } from "../src/index.js";
import { createAdmissionControl } from "../src/server/admission.js";
import { drainServer } from "../src/server/drain.js";
import { formatTable, peakInWindow, round } from "./lib/stats.js";

export type RealDrainVariant = "open" | "admission" | "bare" | "drain";
type Kind = "ours" | "plain";

export interface RealDrainOptions {
  clients: number;
  capacity: number;
  downMs: number;
  variant: RealDrainVariant;
  /** Give up this long after the restart, ms. @default 120000 */
  limitMs?: number;
  /** Connected time before the restart (past the service's stablePeriod). @default 5500 */
  settleMs?: number;
}

export interface RealDrainSide {
  kind: Kind;
  clients: number;
  back: number;
  handshakes: number;
  refused: number;
  /** Seconds from the restart until 99 % / all of this kind were connected again. */
  t99S: number | null;
  allBackS: number | null;
  /** Most Socket.IO handshakes of this kind in any second after the restart. */
  peakPerS: number;
}

export interface RealDrainResult {
  variant: RealDrainVariant;
  clients: number;
  capacity: number;
  downS: number;
  /** N / C, s (both kinds share the capacity). */
  floorS: number;
  /** Handshakes in the busiest second after the restart, ÷ the capacity of that kind's server (C / 2). */
  peakOverC: Record<Kind, number>;
  sides: RealDrainSide[];
  /** Setup (connecting everyone) and the whole run, ms. */
  connectMs: number;
  wallMs: number;
}

const GRACE_MS = 100;

function listen(http: HttpServer, port: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    http.once("error", reject);
    http.listen(port, "127.0.0.1", () => resolvePromise((http.address() as AddressInfo).port));
  });
}

function closeIo(io: Server): Promise<void> {
  return new Promise((resolvePromise) => void io.close(() => resolvePromise()));
}

const kindOf = (socket: ServerSocket): Kind => (socket.handshake.query.kind === "plain" ? "plain" : "ours");

export async function runRealDrain(options: RealDrainOptions): Promise<RealDrainResult> {
  const started = performance.now();
  const perKind = Math.floor(options.clients / 2);
  const limitMs = options.limitMs ?? 120_000;
  const arrivals: Record<Kind, number[]> = { ours: [], plain: [] };
  const refused: Record<Kind, number> = { ours: 0, plain: 0 };
  const backAt: Record<Kind, Map<string, number>> = { ours: new Map(), plain: new Map() };
  let restartAt = Number.POSITIVE_INFINITY;
  const connectedIds = new Set<string>();
  let onChange: (() => void) | null = null;

  const start = async (port: number, restarted: boolean) => {
    const http = createServer();
    const io = new Server(http);
    if (restarted) {
      const admission = createAdmissionControl({ perSecond: options.capacity / 2 });
      io.use((socket, next) => {
        const kind = kindOf(socket);
        arrivals[kind].push(performance.now());
        if (options.variant === "open") return next();
        const verdict = admission.decide();
        if (verdict.admitted) return next();
        refused[kind]++;
        const error = new Error("server busy") as ExtendedError;
        error.data =
          options.variant === "bare"
            ? { retryAfter: verdict.retryAfter }
            : { retryAfter: verdict.retryAfter, retryWindow: verdict.retryWindow, reason: "admission" };
        next(error);
      });
    }
    io.on("connection", (socket) => {
      const id = String(socket.handshake.query.id);
      connectedIds.add(id);
      if (restarted) {
        const kind = kindOf(socket);
        if (!backAt[kind].has(id)) backAt[kind].set(id, performance.now());
      }
      socket.on("disconnect", () => connectedIds.delete(id));
      onChange?.();
    });
    const bound = await listen(http, port);
    return { io, port: bound };
  };

  const waitFor = (predicate: () => boolean, within: number) =>
    new Promise<boolean>((resolvePromise) => {
      if (predicate()) return resolvePromise(true);
      const timer = setTimeout(() => {
        onChange = null;
        resolvePromise(false);
      }, within);
      onChange = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        onChange = null;
        resolvePromise(true);
      };
    });

  const servers: Record<Kind, { io: Server; port: number }> = { ours: await start(0, false), plain: await start(0, false) };
  const urlOf = (kind: Kind) => `http://127.0.0.1:${servers[kind].port}`;
  const services: WebSocketService[] = [];
  const plain: Socket[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let connectMs = 0;
  try {
    for (let i = 0; i < perKind; i++) {
      const service = createWebSocketService({ url: urlOf("ours"), socketOptions: { query: { kind: "ours", id: `ours-${i}` } } });
      services.push(service);
      service.connect();
      const socket = ioClient(urlOf("plain"), { forceNew: true, query: { kind: "plain", id: `plain-${i}` } });
      socket.on("connect_error", (error: Error & { data?: { retryAfter?: number } }) => {
        if (socket.active) return; // a transport error: the Manager retries by its backoff
        const timer = setTimeout(() => {
          timers.delete(timer);
          socket.connect();
        }, error.data?.retryAfter ?? 0);
        timers.add(timer);
      });
      plain.push(socket);
      // Let the event loop breathe while thousands of handshakes queue up.
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
    }
    if (!(await waitFor(() => connectedIds.size === 2 * perKind, 60_000 + options.clients * 20))) {
      const ours = [...connectedIds].filter((id) => id.startsWith("ours")).length;
      throw new Error(`only ${connectedIds.size}/${2 * perKind} clients connected before the restart (ours ${ours}, socket.io-client ${connectedIds.size - ours})`);
    }
    connectMs = Math.round(performance.now() - started);
    await new Promise((r) => setTimeout(r, options.settleMs ?? 5_500));

    const kinds = ["ours", "plain"] as const;
    if (options.variant === "drain") {
      const noticeAt = performance.now();
      const reconnectAfterMs = GRACE_MS + options.downMs;
      await Promise.all(
        kinds.map((kind) =>
          drainServer(servers[kind].io, {
            windowMs: Math.round((1000 * options.clients) / options.capacity),
            reconnectAfterMs,
            graceMs: GRACE_MS,
            // The published rows are random moments in the window (slots became the default after).
            slots: false,
          }),
        ),
      );
      await Promise.all(kinds.map((kind) => closeIo(servers[kind].io)));
      // Up a little before the earliest announced return (clients count from receipt).
      const upAt = noticeAt + reconnectAfterMs - 100;
      await new Promise((r) => setTimeout(r, Math.max(0, upAt - performance.now())));
    } else {
      await Promise.all(kinds.map((kind) => closeIo(servers[kind].io)));
      await new Promise((r) => setTimeout(r, options.downMs));
    }
    connectedIds.clear();
    restartAt = performance.now();
    servers.ours = await start(servers.ours.port, true);
    servers.plain = await start(servers.plain.port, true);
    await waitFor(() => backAt.ours.size + backAt.plain.size === 2 * perKind, limitMs);
  } finally {
    for (const timer of timers) clearTimeout(timer);
    for (const service of services) service.dispose();
    for (const socket of plain) {
      socket.removeAllListeners();
      socket.disconnect();
    }
    await Promise.all([closeIo(servers.ours.io), closeIo(servers.plain.io)]);
  }

  const sides = (["ours", "plain"] as const).map((kind): RealDrainSide => {
    const back = [...backAt[kind].values()].map((t) => (t - restartAt) / 1000).sort((a, b) => a - b);
    const after = arrivals[kind].filter((t) => t >= restartAt);
    const t99 = back.length >= Math.ceil(0.99 * perKind) ? back[Math.ceil(0.99 * perKind) - 1]! : null;
    return {
      kind,
      clients: perKind,
      back: back.length,
      handshakes: after.length,
      refused: refused[kind],
      t99S: round(t99, 2),
      allBackS: back.length === perKind ? round(back.at(-1)!, 2) : null,
      peakPerS: peakInWindow(after, 1000),
    };
  });
  return {
    variant: options.variant,
    clients: 2 * perKind,
    capacity: options.capacity,
    downS: options.downMs / 1000,
    floorS: (2 * perKind) / options.capacity,
    peakOverC: {
      ours: round((2 * sides[0]!.peakPerS) / options.capacity, 3) ?? 0,
      plain: round((2 * sides[1]!.peakPerS) / options.capacity, 3) ?? 0,
    },
    sides,
    connectMs,
    wallMs: Math.round(performance.now() - started),
  };
}

export interface RealDrainSuite {
  clients: number;
  capacity: number;
  downMs: number;
  results: RealDrainResult[];
}

export async function runRealDrainSuite(options: { clients: number; capacity: number; downMs: number; limitMs?: number; settleMs?: number }): Promise<RealDrainSuite> {
  const results: RealDrainResult[] = [];
  for (const variant of ["open", "admission", "bare", "drain"] as const) {
    results.push(await runRealDrain({ ...options, variant }));
  }
  return { clients: options.clients, capacity: options.capacity, downMs: options.downMs, results };
}

const VARIANT_LABEL: Record<RealDrainVariant, string> = {
  open: "crash, admits all (baseline)",
  admission: "crash, admission (window)",
  bare: "crash, admission (retryAfter only)",
  drain: "planned: drainServer + admission",
};

export const REAL_DRAIN_HEADER = [
  "run",
  "client",
  "back",
  "handshakes",
  "refused",
  "peak /s",
  "t99 s",
  "all back s",
  "all back / own baseline",
  "all back / N/C",
  "all back / floor",
] as const;

/** Each kind's "floor": max(its own all-back time when the server admits everyone, N / C). */
export function realDrainFloors(suite: RealDrainSuite): Record<Kind, { firstContactS: number | null; floorS: number | null }> {
  const open = suite.results.find((r) => r.variant === "open");
  const floorOf = (kind: Kind) => {
    const firstContactS = open?.sides.find((s) => s.kind === kind)?.allBackS ?? null;
    const nOverC = suite.clients / suite.capacity;
    return { firstContactS, floorS: firstContactS === null ? null : Math.max(firstContactS, nOverC) };
  };
  return { ours: floorOf("ours"), plain: floorOf("plain") };
}

export function realDrainLines(suite: RealDrainSuite): string[] {
  const floors = realDrainFloors(suite);
  const nOverC = suite.clients / suite.capacity;
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? "—" : (a / b).toFixed(2));
  const rows = suite.results.flatMap((r) =>
    r.sides.map((s) => [
      VARIANT_LABEL[r.variant],
      s.kind === "ours" ? "@softphone/websocket" : "socket.io-client",
      `${s.back}/${s.clients}`,
      String(s.handshakes),
      String(s.refused),
      String(s.peakPerS),
      s.t99S === null ? "—" : s.t99S.toFixed(1),
      s.allBackS === null ? "—" : s.allBackS.toFixed(1),
      ratio(s.allBackS, floors[s.kind].firstContactS),
      ratio(s.allBackS, nOverC),
      ratio(s.allBackS, floors[s.kind].floorS),
    ]),
  );
  const lines = [formatTable(REAL_DRAIN_HEADER, rows)];
  lines.push(
    `N=${suite.clients}, C=${suite.capacity}/s (each kind: N/2 clients on its own server admitting C/2 per s; N/C = ${nOverC.toFixed(1)} s); floor = max(own all-back time when the server admits all, N/C): ours ${floors.ours.floorS ?? "—"} s, socket.io-client ${floors.plain.floorS ?? "—"} s`,
  );
  for (const r of suite.results) {
    lines.push(`${VARIANT_LABEL[r.variant]}: busiest second ÷ C/2: ours ${r.peakOverC.ours.toFixed(2)}, socket.io-client ${r.peakOverC.plain.toFixed(2)}; connecting everyone took ${(r.connectMs / 1000).toFixed(1)} s, the run ${(r.wallMs / 1000).toFixed(1)} s`);
  }
  return lines;
}


