/**
 * bench/overhead: what the service costs on top of a plain socket.io-client socket.
 * - send throughput through `service.send` against raw `socket.emit` on the same connection;
 * - heap of an idle connected service (and of a bare socket.io-client socket, for scale);
 * - heap and active handles over many connect/disconnect cycles of one service.
 *
 * Usage: tsx bench/overhead.ts [--cycles=500] [--messages=10000] [--rounds=3] [--full] (--full: 10,000 cycles)
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Server } from "socket.io";
import { io, type Socket } from "socket.io-client";
import { createWebSocketService, type WebSocketService } from "../src/index.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

export interface OverheadOptions {
  messages: number;
  rounds: number;
  idleServices: number;
  cycles: number;
  samples: number;
}

export interface OverheadResult {
  throughput: { serviceMsgPerS: number; rawMsgPerS: number; ratio: number; messages: number; rounds: number };
  idle: { services: number; bytesPerService: number; bytesPerRawSocket: number };
  cycles: {
    cycles: number;
    samples: { cycle: number; heapBytes: number; handles: number }[];
    heapGrowthBytes: number;
    handlesGrowth: number;
    flat: boolean;
  };
  wallMs: number;
}

async function startServer() {
  const http = createServer();
  const ioServer = new Server(http, { transports: ["websocket"] });
  let received = 0;
  let onReceived: (() => void) | null = null;
  ioServer.on("connection", (socket) => {
    socket.on("m", () => {
      received++;
      onReceived?.();
    });
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    url,
    ioServer,
    received: () => received,
    /** Resolves when the server has received `count` messages "m" in total. */
    until: (count: number) =>
      new Promise<void>((resolvePromise) => {
        if (received >= count) return resolvePromise();
        onReceived = () => {
          if (received < count) return;
          onReceived = null;
          resolvePromise();
        };
      }),
    close: () => new Promise<void>((r) => void ioServer.close(() => r())),
  };
}

function connected(service: WebSocketService): Promise<void> {
  return new Promise((resolvePromise) => {
    if (service.getStatus().isConnected) return resolvePromise();
    const off = service.on("connection:connected", () => {
      off();
      resolvePromise();
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function runOverhead(options: OverheadOptions): Promise<OverheadResult> {
  const started = performance.now();
  const server = await startServer();
  try {
    // 1. Throughput on one connection: the service's socket is the raw socket.
    let raw: Socket | null = null;
    const service = createWebSocketService({
      url: server.url,
      socketOptions: { transports: ["websocket"] },
      socketFactory: (url, socketOptions) => {
        raw = io(url, socketOptions);
        return raw;
      },
    });
    service.connect();
    await connected(service);
    const socket = raw as Socket | null;
    if (!socket) throw new Error("the service did not create a socket");
    const timeBatch = async (send: (i: number) => void) => {
      const target = server.received() + options.messages;
      const t0 = performance.now();
      for (let i = 0; i < options.messages; i++) send(i);
      await server.until(target);
      return (options.messages / (performance.now() - t0)) * 1000;
    };
    const viaService: number[] = [];
    const viaRaw: number[] = [];
    await timeBatch((i) => socket.emit("m", i)); // warm-up
    await timeBatch((i) => service.send("m", i));
    for (let round = 0; round < options.rounds; round++) {
      // Alternate the order so that neither side always runs on a warmer process.
      if (round % 2 === 0) {
        viaService.push(await timeBatch((i) => service.send("m", i)));
        viaRaw.push(await timeBatch((i) => socket.emit("m", i)));
      } else {
        viaRaw.push(await timeBatch((i) => socket.emit("m", i)));
        viaService.push(await timeBatch((i) => service.send("m", i)));
      }
    }
    service.dispose();
    const serviceMsgPerS = median(viaService);
    const rawMsgPerS = median(viaRaw);

    // 2. Heap of bare sockets (for scale), then of idle connected services.
    await new Promise((r) => setTimeout(r, 200));
    const baseline = heapAfterGc();
    const sockets: Socket[] = [];
    for (let i = 0; i < options.idleServices; i++) {
      sockets.push(io(server.url, { forceNew: true, transports: ["websocket"], reconnection: false }));
    }
    await Promise.all(sockets.map((s) => new Promise<void>((r) => (s.connected ? r() : s.once("connect", () => r())))));
    const withSockets = heapAfterGc();
    for (const s of sockets) s.disconnect();
    sockets.length = 0;
    await new Promise((r) => setTimeout(r, 200));
    const baseline2 = heapAfterGc();
    const idle: WebSocketService[] = [];
    for (let i = 0; i < options.idleServices; i++) {
      const s = createWebSocketService({ url: server.url, socketOptions: { transports: ["websocket"] } });
      s.connect();
      idle.push(s);
    }
    await Promise.all(idle.map(connected));
    const withServices = heapAfterGc();
    for (const s of idle) s.dispose();
    idle.length = 0;

    // 3. One service, connect/disconnect cycles: heap and handles sampled along the way.
    const cycler = createWebSocketService({ url: server.url, socketOptions: { transports: ["websocket"] } });
    const samples: { cycle: number; heapBytes: number; handles: number }[] = [];
    const every = Math.max(1, Math.floor(options.cycles / options.samples));
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      cycler.connect();
      await connected(cycler);
      cycler.disconnect();
      if (cycle % every === 0) {
        // Let the closed transports finish closing before counting handles.
        await new Promise((r) => setTimeout(r, 20));
        samples.push({ cycle, heapBytes: heapAfterGc(), handles: process.getActiveResourcesInfo().length });
      }
    }
    cycler.dispose();
    // Growth from the first quarter to the end (the first samples include warm-up).
    const reference = samples[Math.floor(samples.length / 4)] ?? samples[0]!;
    const last = samples.at(-1)!;
    const heapGrowthBytes = last.heapBytes - reference.heapBytes;
    const handlesGrowth = last.handles - reference.handles;
    return {
      throughput: {
        serviceMsgPerS: Math.round(serviceMsgPerS),
        rawMsgPerS: Math.round(rawMsgPerS),
        ratio: Math.round((serviceMsgPerS / rawMsgPerS) * 1000) / 1000,
        messages: options.messages,
        rounds: options.rounds,
      },
      idle: {
        services: options.idleServices,
        bytesPerService: Math.round((withServices - baseline2) / options.idleServices),
        bytesPerRawSocket: Math.round((withSockets - baseline) / options.idleServices),
      },
      cycles: {
        cycles: options.cycles,
        samples,
        heapGrowthBytes,
        handlesGrowth,
        // Flat: under 1 MB of retained heap over the measured span and no handle growth.
        flat: heapGrowthBytes < 1024 * 1024 && handlesGrowth <= 0,
      },
      wallMs: Math.round(performance.now() - started),
    };
  } finally {
    await server.close();
  }
}

export function overheadLines(r: OverheadResult): string[] {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
  return [
    `send throughput: service ${r.throughput.serviceMsgPerS} msg/s vs raw socket.emit ${r.throughput.rawMsgPerS} msg/s on the same connection: ratio ${r.throughput.ratio.toFixed(3)} (goal ≥ 0.9: ${r.throughput.ratio >= 0.9 ? "met" : "MISSED"})`,
    `idle connected service: ${kb(r.idle.bytesPerService)} of heap each (its socket included; a bare socket.io-client socket: ${kb(r.idle.bytesPerRawSocket)}), over ${r.idle.services}`,
    `${r.cycles.cycles} connect/disconnect cycles: heap ${kb(r.cycles.samples[0]!.heapBytes)} → ${kb(r.cycles.samples.at(-1)!.heapBytes)} (growth after warm-up ${kb(r.cycles.heapGrowthBytes)}), handles ${r.cycles.samples[0]!.handles} → ${r.cycles.samples.at(-1)!.handles}: ${r.cycles.flat ? "flat" : "NOT flat"}`,
  ];
}

async function main(): Promise<void> {
  const { parseArgs, numberArg } = await import("./lib/cli.js");
  const { writeFileSync, mkdirSync } = await import("node:fs");
  const args = parseArgs(process.argv.slice(2));
  const full = args.has("full");
  const result = await runOverhead({
    messages: numberArg(args, "messages", 10_000),
    rounds: numberArg(args, "rounds", 3),
    idleServices: numberArg(args, "idle", 100),
    cycles: numberArg(args, "cycles", full ? 10_000 : 500),
    samples: 20,
  });
  for (const line of overheadLines(result)) console.log(line);
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  mkdirSync(resolve(root, "bench/results"), { recursive: true });
  writeFileSync(resolve(root, "bench/results/overhead.json"), `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 1)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
