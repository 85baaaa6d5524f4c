/**
 * bench/storm: the reconnection storm, simulated. N instances of the production chart
 * (createConnectionMachine, the same code the service runs) share one simulated clock;
 * each talks through a fake socket actor to one simulated server that dies at t = 0,
 * stays down D, then admits at most C handshakes a second. socket.io-client's own backoff
 * runs from the installed package, driven the way its Manager drives it.
 *
 * Usage: tsx bench/storm.ts [--full] [--n=10000] [--seed=1] [--quick]
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createActor, fromCallback } from "xstate";
import { createConnectionMachine } from "../src/machine/connectionMachine.js";
import { JITTER_STRATEGIES, DEFAULT_CONFIG } from "../src/machine/config.js";
import type { SocketActorInput } from "../src/machine/socketActor.js";
import type { ConnectionConfig, JitterStrategy, SocketCommand, SocketEvent } from "../src/machine/types.js";
import { runInWorkers } from "./lib/workers.js";
import { mulberry32 } from "./lib/prng.js";
import { type HintPolicy, SimServer } from "./lib/simServer.js";
import { loadSocketIoBackoff, SOCKET_IO_DEFAULTS, type SocketIoBackoff } from "./lib/socketIoBackoff.js";
import { histogram, peakInWindow, round } from "./lib/stats.js";
import { StormClock } from "./lib/stormClock.js";

export type StormStrategy = JitterStrategy | "socket.io";

export interface StormScenario {
  n: number;
  /** Down time after the crash, ms. */
  downMs: number;
  /** Handshakes admitted per second after the restart. */
  capacity: number;
  /** Whether refusals carry a `retryAfter` hint. */
  hint: boolean;
  strategy: StormStrategy;
  seed?: number;
  rttMs?: number;
  /** Give up this long after the restart (simulated ms). */
  limitMs?: number;
  /** The server's hint policy when `hint` is true. @default "window" */
  hintPolicy?: Exclude<HintPolicy, "none">;
}

export interface StormResult {
  strategy: StormStrategy;
  n: number;
  downS: number;
  capacity: number;
  hint: boolean;
  /** N / C, s: the fastest anyone could be admitted. */
  floorS: number;
  peak: number;
  peakPct: number;
  t50: number | null;
  t99: number | null;
  /** null when not everyone came back (exhausted, or past the limit). */
  t100: number | null;
  t99OverFloor: number | null;
  attemptsPerClient: number;
  /** Clients that ended in `exhausted`. */
  exhausted: number;
  /** Clients not connected at the end (exhausted, or still out at the limit). */
  notBack: number;
  refused: number;
  /** Handshake attempts per second from the crash (index 0 = [0 s, 1 s)). */
  perSecond: number[];
  wallMs: number;
}

export const T0 = 10_000; // clients connect at 0 and are stable well before the crash

/** The chart's configuration in the storm: the defaults, a strategy, and no heartbeat chatter. */
export function stormConfig(strategy: JitterStrategy): Partial<ConnectionConfig> {
  return {
    jitterStrategy: strategy,
    heartbeatInterval: 3_600_000,
    healthCheckInterval: 3_600_000,
  };
}

function clientOf(url: string): number {
  return Number(url.slice(url.lastIndexOf("/") + 1));
}

/**
 * The chart side: N production charts with fake sockets. Returns counters the loop reads.
 * A fake socket delivers the server's drain notice as the real socket actor does
 * (`socket.drainNotice`) and a refusal's `retryWindow` when the server gave one.
 */
export function startCharts(
  clock: StormClock,
  server: SimServer,
  scenario: Pick<StormScenario, "n" | "strategy">,
  random: () => number,
) {
  const socket = fromCallback<SocketCommand, SocketActorInput, SocketEvent>(({ input, sendBack, receive }) => {
    const client = clientOf(input.url);
    let current = 0;
    receive((command) => {
      switch (command.type) {
        case "open": {
          const generation = command.generation;
          current = generation;
          server.handshake(client, (outcome) => {
            if (current !== generation) return;
            if (outcome.kind === "connected") {
              server.link(
                client,
                () => {
                  if (current === generation) sendBack({ type: "socket.disconnected", generation, reason: "transport close" });
                },
                (notice) => {
                  if (current === generation) sendBack({ type: "socket.drainNotice", generation, ...notice });
                },
              );
              sendBack({ type: "socket.connected", generation, socketId: `s${client}-${generation}` });
            } else {
              sendBack({
                type: "socket.connectFailed",
                generation,
                error: { message: outcome.kind === "down" ? "xhr poll error" : "server busy" },
                authRejected: false,
                retryAfter: outcome.kind === "refused" ? outcome.retryAfter : null,
                ...(outcome.kind === "refused" && outcome.retryWindow != null ? { retryWindow: outcome.retryWindow } : {}),
              });
            }
          });
          break;
        }
        case "close":
          current = -1;
          server.unlink(client);
          break;
        case "heartbeat":
          sendBack({ type: "socket.heartbeatAck", generation: command.generation, seq: command.seq });
          break;
        case "emit":
          break;
      }
    });
    return () => {
      current = -1;
      server.unlink(client);
    };
  });
  const machine = createConnectionMachine({ random, now: () => clock.now() }).provide({ actors: { socket } });
  const state = { exhausted: 0 };
  const actors = Array.from({ length: scenario.n }, (_, i) => {
    const actor = createActor(machine, {
      clock,
      input: { url: `http://storm.test/${i}`, config: stormConfig(scenario.strategy as JitterStrategy) },
    });
    actor.on("connection:max_attempts_reached", () => {
      state.exhausted++;
    });
    actor.start();
    actor.send({ type: "connect" });
    return actor;
  });
  return {
    state,
    stop: () => {
      for (const actor of actors) actor.stop();
    },
  };
}

/**
 * The socket.io-client side: its Manager's reconnection loop around its real `Backoff`.
 * A refused connection without a hint is a transport error (the Manager retries after
 * `backoff.duration()`); a middleware refusal with a hint is not retried by the Manager,
 * so the app reconnects after exactly `retryAfter` (the engine connection had opened,
 * so the Manager's backoff is reset).
 */
export async function startSocketIoClients(clock: StormClock, server: SimServer, scenario: Pick<StormScenario, "n">) {
  const Backoff = await loadSocketIoBackoff();
  const timers = new Set<number>();
  const clients = Array.from({ length: scenario.n }, (_, client) => {
    const backoff: SocketIoBackoff = new Backoff(SOCKET_IO_DEFAULTS);
    const later = (ms: number) => {
      const id = clock.setTimeout(() => {
        timers.delete(id);
        attempt();
      }, ms);
      timers.add(id);
    };
    const attempt = () => {
      server.handshake(client, (outcome) => {
        if (outcome.kind === "connected") {
          backoff.reset();
          server.link(client, () => later(backoff.duration()));
        } else if (outcome.kind === "refused" && outcome.retryAfter !== null) {
          backoff.reset();
          later(outcome.retryAfter);
        } else {
          later(backoff.duration());
        }
      });
    };
    return attempt;
  });
  for (const attempt of clients) attempt();
  return {
    state: { exhausted: 0 },
    stop: () => {
      for (const id of timers) clock.clearTimeout(id);
    },
  };
}

/** Runs one storm and measures it. */
export async function runStormScenario(scenario: StormScenario): Promise<StormResult> {
  const started = performance.now();
  const seed = scenario.seed ?? 1;
  // The same stream for every strategy of a scenario: the strategies differ, not the luck.
  const random = mulberry32(seed * 7919 + scenario.downMs + scenario.capacity * 31 + (scenario.hint ? 1 : 0));
  const clock = new StormClock();
  const server = new SimServer({
    clock,
    clients: scenario.n,
    dieAt: T0,
    downMs: scenario.downMs,
    capacity: scenario.capacity,
    hint: scenario.hint ? (scenario.hintPolicy ?? "window") : "none",
    rttMs: scenario.rttMs ?? 20,
  });
  const limit = server.restartAt + (scenario.limitMs ?? 1_800_000);
  // socket.io-client's backoff reads Math.random: it gets the seeded stream for the run.
  const originalRandom = Math.random;
  Math.random = random;
  let stopAt = T0;
  let exhausted = 0;
  try {
    const side =
      scenario.strategy === "socket.io"
        ? await startSocketIoClients(clock, server, scenario)
        : startCharts(clock, server, scenario, random);
    clock.runUntil(T0);
    server.die();
    while (stopAt < limit && server.reconnected + side.state.exhausted < scenario.n) {
      stopAt += 1000;
      clock.runUntil(stopAt);
    }
    exhausted = side.state.exhausted;
    side.stop();
  } finally {
    Math.random = originalRandom;
  }

  const back = Array.from(server.reconnectedAt)
    .filter((t) => !Number.isNaN(t))
    .map((t) => (t - server.restartAt) / 1000)
    .sort((a, b) => a - b);
  // Quantiles over all N clients: one that never came back counts as infinitely late.
  const overAll = (q: number) => {
    const rank = Math.max(1, Math.ceil(q * scenario.n));
    return rank <= back.length ? back[rank - 1]! : null;
  };
  const peak = peakInWindow(
    server.arrivals.filter((t) => t >= server.restartAt),
    1000,
  );
  const floorS = scenario.n / scenario.capacity;
  const t99 = overAll(0.99);
  let totalAttempts = 0;
  for (const a of server.attempts) totalAttempts += a;
  return {
    strategy: scenario.strategy,
    n: scenario.n,
    downS: scenario.downMs / 1000,
    capacity: scenario.capacity,
    hint: scenario.hint,
    floorS,
    peak,
    peakPct: round((100 * peak) / scenario.n, 2) ?? 0,
    t50: round(overAll(0.5), 2),
    t99: round(t99, 2),
    t100: round(overAll(1), 2),
    t99OverFloor: t99 === null ? null : round(t99 / floorS, 3),
    attemptsPerClient: round(totalAttempts / scenario.n, 2) ?? 0,
    exhausted,
    notBack: scenario.n - back.length,
    refused: server.refused,
    perSecond: histogram(server.arrivals, T0, stopAt, 1000),
    wallMs: Math.round(performance.now() - started),
  };
}

/** The scenario matrix: D ∈ {0, 5, 30} s × C ∈ {N/20, N/5} per s × hint × strategy. */
export function stormMatrix(n: number, strategies: readonly StormStrategy[] = [...JITTER_STRATEGIES, "socket.io"], seed = 1) {
  const scenarios: StormScenario[] = [];
  for (const hint of [false, true]) {
    for (const downMs of [0, 5000, 30000]) {
      for (const capacity of [n / 20, n / 5]) {
        for (const strategy of strategies) scenarios.push({ n, downMs, capacity, hint, strategy, seed });
      }
    }
  }
  return scenarios;
}

/** Runs scenarios over `workers` child processes (each a fresh tsx process); results in input order. */
export async function runScenarios(scenarios: readonly StormScenario[], workers: number): Promise<StormResult[]> {
  return runInWorkers<StormScenario, StormResult>({
    scenarios,
    workers,
    module: fileURLToPath(import.meta.url),
    jobsVariable: "STORM_JOBS",
    cost: (s: StormScenario) => (s.strategy === "socket.io" ? 0.05 : 1) * (1 + s.downMs / 10_000) * (s.n / s.capacity),
    runHere: runStormScenario,
    name: "storm",
  });
}

export const GOALS = { peakPct: 8, t99OverFloor: 1.2, attemptsWithHint: 3, attemptsWithoutHint: 6.5 } as const;

function fmt(value: number | null, digits = 1): string {
  return value === null ? "—" : value.toFixed(digits);
}

export const STORM_HEADER = [
  "D s",
  "C/s",
  "hint",
  "strategy",
  "peak %N/s",
  "floor s",
  "t50 s",
  "t99 s",
  "t100 s",
  "t99/floor",
  "attempts",
  "exhausted",
] as const;

export function stormRow(r: StormResult, defaultStrategy: string): string[] {
  return [
    String(r.downS),
    String(r.capacity),
    r.hint ? "yes" : "no",
    r.strategy === defaultStrategy ? `${r.strategy} (default)` : r.strategy,
    fmt(r.peakPct),
    fmt(r.floorS, 0),
    fmt(r.t50),
    fmt(r.t99),
    r.t100 === null ? `— (${r.notBack} out)` : fmt(r.t100),
    fmt(r.t99OverFloor, 2),
    fmt(r.attemptsPerClient, 2),
    String(r.exhausted),
  ];
}

/** The goal check of the default strategy in the goal scenario (D = 30 s, C = N/20). */
export function goalCheck(results: readonly StormResult[], strategy: string): string[] {
  const lines: string[] = [];
  for (const hint of [false, true]) {
    const r = results.find((x) => x.strategy === strategy && x.downS === 30 && x.capacity === x.n / 20 && x.hint === hint);
    if (!r) continue;
    const attemptsGoal = hint ? GOALS.attemptsWithHint : GOALS.attemptsWithoutHint;
    const mark = (ok: boolean) => (ok ? "met" : "MISSED");
    lines.push(
      `${strategy}, N=${r.n}, D=30 s, C=${r.capacity}/s, ${hint ? "with" : "without"} retryAfter: ` +
        `peak ${fmt(r.peakPct)} % (goal ≤ ${GOALS.peakPct}: ${mark(r.peakPct <= GOALS.peakPct)}), ` +
        `t99 ${fmt(r.t99OverFloor, 2)}× floor (goal ≤ ${GOALS.t99OverFloor}: ${mark(r.t99OverFloor !== null && r.t99OverFloor <= GOALS.t99OverFloor)}), ` +
        `attempts ${fmt(r.attemptsPerClient, 2)} (goal ≤ ${attemptsGoal}: ${mark(r.attemptsPerClient <= attemptsGoal)})`,
    );
  }
  return lines;
}

export interface StormReport {
  n: number;
  full: boolean;
  defaultStrategy: string;
  results: StormResult[];
  table: string;
  goals: string[];
  wallMs: number;
}

/** The whole storm benchmark: matrix, table, JSON, charts. */
export async function runStorm(options: { n: number; full: boolean; workers: number; seed?: number; write?: boolean }): Promise<StormReport> {
  const { formatTable } = await import("./lib/stats.js");
  const { lineChartSvg } = await import("./lib/svg.js");
  const started = performance.now();
  const results = await runScenarios(stormMatrix(options.n, undefined, options.seed ?? 1), options.workers);
  const defaultStrategy = DEFAULT_CONFIG.jitterStrategy;
  const table = formatTable(STORM_HEADER, results.map((r) => stormRow(r, defaultStrategy)));
  const goals = goalCheck(results, defaultStrategy);
  const report: StormReport = {
    n: options.n,
    full: options.full,
    defaultStrategy,
    results,
    table,
    goals,
    wallMs: Math.round(performance.now() - started),
  };
  if (options.write !== false) {
    const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
    mkdirSync(resolve(root, "bench/results"), { recursive: true });
    mkdirSync(resolve(root, "docs"), { recursive: true });
    const name = options.full ? "storm-full" : "storm";
    writeFileSync(
      resolve(root, `bench/results/${name}.json`),
      `${JSON.stringify({ date: new Date().toISOString(), ...report, table: undefined }, null, 1)}\n`,
    );
    for (const hint of [false, true]) {
      const rows = results.filter((r) => r.downS === 30 && r.capacity === options.n / 20 && r.hint === hint);
      const first = rows[0];
      if (!first) continue;
      const svg = lineChartSvg({
        title: `Storm: N=${options.n}, server down 30 s, then ${first.capacity} handshakes/s, ${hint ? "with" : "without"} retryAfter`,
        xLabel: "seconds after the crash",
        yLabel: "handshake attempts per second",
        series: rows.map((r) => ({ name: r.strategy === defaultStrategy ? `${r.strategy} (default)` : r.strategy, values: r.perSecond })),
        marker: { x: 30, label: "restart" },
        maxX: Math.min(150, Math.max(...rows.map((r) => r.perSecond.length))),
      });
      writeFileSync(resolve(root, `docs/storm${hint ? "-hint" : ""}${options.full ? "" : "-small"}.svg`), svg);
    }
  }
  return report;
}

async function main(): Promise<void> {
  const { parseArgs, numberArg } = await import("./lib/cli.js");
  const args = parseArgs(process.argv.slice(2));
  if (args.has("worker")) {
    const jobs = JSON.parse(process.env.STORM_JOBS ?? "[]") as StormScenario[];
    for (const job of jobs) {
      const result = await runStormScenario(job);
      await new Promise<void>((done) => process.send!(result, () => done()));
    }
    process.disconnect?.();
    return;
  }
  const full = args.has("full");
  const n = numberArg(args, "n", full ? 10_000 : 1_000);
  const { cpus } = await import("node:os");
  const workers = numberArg(args, "workers", Math.min(2, cpus().length));
  console.log(
    `bench/storm: N=${n}${full ? "" : " (reduced; --full runs N=10,000)"}, C ∈ {N/20, N/5}/s (same N/C ratios as N=10,000, C ∈ {500, 2,000}), ${workers} worker(s)`,
  );
  const report = await runStorm({ n, full: full || n === 10_000, workers, seed: numberArg(args, "seed", 1) });
  console.log(report.table);
  for (const line of report.goals) console.log(line);
  console.log(`bench/storm: ${(report.wallMs / 1000).toFixed(1)} s`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
