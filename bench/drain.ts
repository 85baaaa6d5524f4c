/**
 * bench/drain: the storm with the server companion (`src/server`), simulated. The same N
 * production charts and socket.io-client backoffs as bench/storm.ts, on one simulated clock,
 * against a simulated server whose admission after the restart is the REAL
 * `createAdmissionControl` driven by the simulated clock (its `now` option, its `decide()`):
 * - `drain`: a planned restart. The server sends every connected client the
 *   `softphone:drain` notice (reconnectAfter = the downtime, windowMs = N / C), closes the
 *   links 100 ms later (drainServer's default graceMs), stays down D and comes back with
 *   admission control at C/s. socket.io-client has no drain protocol: it sees a transport
 *   close and reconnects by its own backoff.
 * - `crash`: an unplanned crash (no notice), down D, then admission control at C/s.
 * - hint `bare`: the same admission, but the refusal carries only `retryAfter` (a server
 *   before issue 15 part 2), so the client spreads by max(retryAfter, jitterRange).
 *
 * socket.io-client, refused by a middleware, does not retry on its own: the modelled app calls
 * connect() again after exactly `retryAfter` (it does not know `retryWindow`), as in bench/storm.
 *
 * Usage: tsx bench/drain.ts [--n=1000] [--full] [--seed=1] [--workers=2]
 *        [--sim-only | --real-only] [--clients=2000] [--capacity=250] [--down=2000]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createAdmissionControl } from "../src/server/admission.js";
import { runInWorkers } from "./lib/workers.js";
import { mulberry32 } from "./lib/prng.js";
import { SimServer, type SimAdmission } from "./lib/simServer.js";
import { histogram, peakInWindow, round } from "./lib/stats.js";
import { StormClock } from "./lib/stormClock.js";
import { startCharts, startSocketIoClients, T0 } from "./storm.js";

export type DrainClient = "ours" | "socket.io";
export type DrainMode = "drain" | "crash";
/** What a refusal carries: `window` = retryAfter + retryWindow (today), `bare` = retryAfter only. */
export type RefusalShape = "window" | "bare";

export interface DrainScenario {
  n: number;
  /** Handshakes admitted per second after the restart (`createAdmissionControl({ perSecond })`). */
  capacity: number;
  /** Down time, ms: from the close of the links to the restart. */
  downMs: number;
  mode: DrainMode;
  refusal: RefusalShape;
  client: DrainClient;
  /**
   * The restarted server: `control` = createAdmissionControl({ perSecond: capacity });
   * `open` = admits every handshake (the drain alone spreads the load). @default "control"
   */
  admission?: "control" | "open";
  /** drainServer({ slots: true }): each client told its own moment. @default false */
  slots?: boolean;
  seed?: number;
  rttMs?: number;
  /** Give up this long after the restart (simulated ms). @default 600000 */
  limitMs?: number;
}

export interface DrainResult extends Required<Omit<DrainScenario, "seed" | "rttMs" | "limitMs">> {
  /** N / C, s. */
  floorS: number;
  t50: number | null;
  t99: number | null;
  t100: number | null;
  t99OverFloor: number | null;
  /** Most handshake attempts in any sliding second after the restart, ÷ C. */
  peakAttemptsOverC: number;
  /** Most admissions in any sliding second after the restart, ÷ C. */
  peakAdmittedOverC: number;
  /** Most attempts in a second (aligned to the restart) ÷ C. */
  maxSecondOverC: number;
  peakPct: number;
  attemptsPerClient: number;
  refused: number;
  notBack: number;
  /** Attempts per second from the restart. */
  perSecond: number[];
  wallMs: number;
}

/** drainServer's default graceMs: the links close this long after the notice. */
export const GRACE_MS = 100;

export async function runDrainScenario(scenario: DrainScenario): Promise<DrainResult> {
  const started = performance.now();
  const seed = scenario.seed ?? 1;
  const random = mulberry32(seed * 7919 + scenario.downMs + scenario.capacity * 31 + (scenario.mode === "drain" ? 1 : 0));
  const clock = new StormClock();
  const admission = createAdmissionControl({ perSecond: scenario.capacity, now: () => clock.now() });
  const decide: SimAdmission = () => {
    if (scenario.admission === "open") return { admitted: true };
    const verdict = admission.decide();
    if (verdict.admitted) return verdict;
    return scenario.refusal === "window" ? verdict : { admitted: false, retryAfter: verdict.retryAfter };
  };
  const dieAt = scenario.mode === "drain" ? T0 + GRACE_MS : T0;
  const server = new SimServer({
    clock,
    clients: scenario.n,
    dieAt,
    downMs: scenario.downMs,
    capacity: scenario.capacity,
    hint: "none",
    rttMs: scenario.rttMs ?? 20,
    admission: decide,
  });
  const limit = server.restartAt + (scenario.limitMs ?? 600_000);
  const originalRandom = Math.random;
  Math.random = random;
  let stopAt = T0;
  try {
    const side =
      scenario.client === "socket.io"
        ? await startSocketIoClients(clock, server, scenario)
        : startCharts(clock, server, { n: scenario.n, strategy: "full" }, random);
    clock.runUntil(T0);
    if (scenario.mode === "drain") {
      // reconnectAfter counts from the notice: the grace before the close plus the downtime.
      server.drain(GRACE_MS + scenario.downMs, (1000 * scenario.n) / scenario.capacity, scenario.slots ?? false);
      clock.runUntil(dieAt);
    }
    server.die();
    while (stopAt < limit && server.reconnected < scenario.n) {
      stopAt += 1000;
      clock.runUntil(stopAt);
    }
    side.stop();
  } finally {
    Math.random = originalRandom;
  }
  const restartAt = server.restartAt;
  const back = Array.from(server.reconnectedAt)
    .filter((t) => !Number.isNaN(t))
    .sort((a, b) => a - b);
  const fromRestart = back.map((t) => (t - restartAt) / 1000);
  const overAll = (q: number) => {
    const rank = Math.max(1, Math.ceil(q * scenario.n));
    return rank <= fromRestart.length ? fromRestart[rank - 1]! : null;
  };
  const after = server.arrivals.filter((t) => t >= restartAt);
  const floorS = scenario.n / scenario.capacity;
  const t99 = overAll(0.99);
  let totalAttempts = 0;
  for (const a of server.attempts) totalAttempts += a;
  const perSecond = histogram(after, restartAt, Math.max(restartAt + 1000, stopAt), 1000);
  const peak = peakInWindow(after, 1000);
  return {
    n: scenario.n,
    capacity: scenario.capacity,
    downMs: scenario.downMs,
    mode: scenario.mode,
    refusal: scenario.refusal,
    client: scenario.client,
    slots: scenario.slots ?? false,
    admission: scenario.admission ?? "control",
    floorS,
    t50: round(overAll(0.5), 2),
    t99: round(t99, 2),
    t100: round(overAll(1), 2),
    t99OverFloor: t99 === null ? null : round(t99 / floorS, 3),
    peakAttemptsOverC: round(peak / scenario.capacity, 3) ?? 0,
    peakAdmittedOverC: round(peakInWindow(back, 1000) / scenario.capacity, 3) ?? 0,
    maxSecondOverC: round(Math.max(...perSecond) / scenario.capacity, 3) ?? 0,
    peakPct: round((100 * peak) / scenario.n, 2) ?? 0,
    attemptsPerClient: round(totalAttempts / scenario.n, 2) ?? 0,
    refused: server.refused,
    notBack: scenario.n - back.length,
    perSecond,
    wallMs: Math.round(performance.now() - started),
  };
}

/** The simulated matrix, each scenario for both clients. */
export function drainMatrix(n: number, seed = 1): DrainScenario[] {
  const capacity = n / 20;
  const base = { n, capacity, seed } as const;
  const list: DrainScenario[] = [];
  for (const admission of ["open", "control"] as const) {
    for (const client of ["ours", "socket.io"] as const) {
      list.push({ ...base, mode: "drain", downMs: 5000, refusal: "window", client, admission });
    }
    list.push({ ...base, mode: "drain", downMs: 5000, refusal: "window", client: "ours", slots: true, admission });
  }
  for (const downMs of [5000, 30_000]) {
    for (const client of ["ours", "socket.io"] as const) list.push({ ...base, mode: "crash", downMs, refusal: "window", client });
    list.push({ ...base, mode: "crash", downMs, refusal: "bare", client: "ours" });
  }
  return list;
}

/** Runs scenarios in `workers` child processes; results in input order. */
export async function runDrainScenarios(scenarios: readonly DrainScenario[], workers: number): Promise<DrainResult[]> {
  return runInWorkers<DrainScenario, DrainResult>({
    scenarios,
    workers,
    module: fileURLToPath(import.meta.url),
    jobsVariable: "DRAIN_JOBS",
    cost: (s: DrainScenario) => (s.client === "socket.io" ? 0.1 : 1) * (1 + s.downMs / 10_000),
    runHere: runDrainScenario,
    name: "drain",
  });
}

function fmt(value: number | null, digits = 2): string {
  return value === null ? "—" : value.toFixed(digits);
}

function label(r: DrainResult): string {
  const client = r.client === "ours" ? "@softphone/websocket" : "socket.io-client";
  return r.slots ? `${client} (slots)` : client;
}

export const DRAIN_HEADER = [
  "scenario",
  "server",
  "D s",
  "C/s",
  "refusal",
  "client",
  "floor s",
  "t50 s",
  "t99 s",
  "t99/floor",
  "t99/sio",
  "peak att/C",
  "max s/C",
  "peak adm/C",
  "peak %N",
  "attempts",
  "refused",
] as const;

/** Rows with t99 also as a ratio to socket.io-client's in the same scenario (same run). */
export function drainRows(results: readonly DrainResult[]): string[][] {
  return results.map((r) => {
    const sio = results.find(
      (x) => x.client === "socket.io" && x.mode === r.mode && x.downMs === r.downMs && x.n === r.n && x.admission === r.admission,
    );
    const overSio = r.t99 !== null && sio?.t99 ? r.t99 / sio.t99 : null;
    return [
      r.mode === "drain" ? "planned (drain)" : "crash",
      r.admission === "open" ? "admits all" : "admission",
      String(r.downMs / 1000),
      String(r.capacity),
      r.admission === "open" ? "—" : r.refusal === "window" ? "window" : "retryAfter only",
      label(r),
      fmt(r.floorS, 0),
      fmt(r.t50, 1),
      fmt(r.t99, 1),
      fmt(r.t99OverFloor),
      fmt(overSio),
      fmt(r.peakAttemptsOverC),
      fmt(r.maxSecondOverC),
      fmt(r.peakAdmittedOverC),
      fmt(r.peakPct, 1),
      fmt(r.attemptsPerClient),
      String(r.refused),
    ];
  });
}

export const DRAIN_GOALS = { drainT99: 1.1, drainRate: 1.2, crashPeakPct: 8, crashT99: 1.4 } as const;

export function drainGoals(results: readonly DrainResult[]): string[] {
  const mark = (ok: boolean) => (ok ? "met" : "MISSED");
  const lines: string[] = [];
  for (const drain of results.filter((r) => r.mode === "drain" && r.client === "ours")) {
    lines.push(
      `drain${drain.slots ? " (slots)" : ""}, ${drain.admission === "open" ? "server admits all" : "admission control"}, ours, N=${drain.n}: t99 ${fmt(drain.t99OverFloor)}× floor (goal ≤ ${DRAIN_GOALS.drainT99}: ${mark(drain.t99OverFloor !== null && drain.t99OverFloor <= DRAIN_GOALS.drainT99)}), ` +
        `attempts in any sliding second ${fmt(drain.peakAttemptsOverC)}× C, in any aligned second ${fmt(drain.maxSecondOverC)}× C ` +
        `(goal ≤ ${DRAIN_GOALS.drainRate}: ${mark(drain.peakAttemptsOverC <= DRAIN_GOALS.drainRate)} / ${mark(drain.maxSecondOverC <= DRAIN_GOALS.drainRate)})`,
    );
  }
  for (const crash of results.filter((r) => r.mode === "crash" && r.client === "ours" && r.refusal === "window")) {
    lines.push(
      `crash + admission, ours, N=${crash.n}, D=${crash.downMs / 1000} s: peak ${fmt(crash.peakPct, 1)} % of N (goal ≤ ${DRAIN_GOALS.crashPeakPct}: ${mark(crash.peakPct <= DRAIN_GOALS.crashPeakPct)}), ` +
        `t99 ${fmt(crash.t99OverFloor)}× floor (goal ≤ ${DRAIN_GOALS.crashT99}: ${mark(crash.t99OverFloor !== null && crash.t99OverFloor <= DRAIN_GOALS.crashT99)})`,
    );
  }
  return lines;
}

/** docs/drain[-small].svg: attempts per second after the restart, the planned restart and the crash at D = 30 s. */
export async function writeDrainChart(results: readonly DrainResult[], full: boolean): Promise<string> {
  const { lineChartSvg } = await import("./lib/svg.js");
  const pick = (mode: DrainMode, admission: "open" | "control", client: DrainClient, extra: Partial<DrainResult> = {}) =>
    results.find(
      (r) =>
        r.mode === mode &&
        r.admission === admission &&
        r.client === client &&
        r.slots === (extra.slots ?? false) &&
        r.refusal === (extra.refusal ?? "window") &&
        (extra.downMs === undefined || r.downMs === extra.downMs),
    );
  const series = [
    ["planned, ours (random moment)", pick("drain", "open", "ours")],
    ["planned, ours (slots)", pick("drain", "control", "ours", { slots: true })],
    ["planned, socket.io-client", pick("drain", "control", "socket.io")],
    ["crash 30 s, ours (retryWindow)", pick("crash", "control", "ours", { downMs: 30_000 })],
    ["crash 30 s, ours (retryAfter only)", pick("crash", "control", "ours", { downMs: 30_000, refusal: "bare" })],
  ] as const;
  const first = results[0]!;
  const svg = lineChartSvg({
    title: `Restart with the server companion: N=${first.n}, C=${first.capacity}/s (floor ${first.n / first.capacity} s)`,
    xLabel: "seconds after the restart",
    yLabel: "handshake attempts per second",
    series: series.filter(([, r]) => r !== undefined).map(([name, r]) => ({ name, values: r!.perSecond })),
    maxX: 45,
  });
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const file = resolve(root, `docs/drain${full ? "" : "-small"}.svg`);
  writeFileSync(file, svg);
  return file;
}

async function main(): Promise<void> {
  const { parseArgs, numberArg } = await import("./lib/cli.js");
  const { formatTable } = await import("./lib/stats.js");
  const args = parseArgs(process.argv.slice(2));
  if (args.has("worker")) {
    const jobs = JSON.parse(process.env.DRAIN_JOBS ?? "[]") as DrainScenario[];
    for (const job of jobs) {
      const result = await runDrainScenario(job);
      await new Promise<void>((done) => process.send!(result, () => done()));
    }
    process.disconnect?.();
    return;
  }
  const full = args.has("full");
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  mkdirSync(resolve(root, "bench/results"), { recursive: true });
  const started = performance.now();
  const output: Record<string, unknown> = { date: new Date().toISOString() };
  if (!args.has("real-only")) {
    const { cpus } = await import("node:os");
    const n = numberArg(args, "n", full ? 10_000 : 1_000);
    const workers = numberArg(args, "workers", Math.min(2, cpus().length));
    console.log(`bench/drain (simulated): N=${n}, C=N/20=${n / 20}/s, floor ${20} s, ${workers} worker(s)`);
    const results = await runDrainScenarios(drainMatrix(n, numberArg(args, "seed", 1)), workers);
    const table = formatTable(DRAIN_HEADER, drainRows(results));
    console.log(table);
    const goals = drainGoals(results);
    for (const line of goals) console.log(line);
    output.simulated = { n, results, goals };
    console.log(`wrote ${await writeDrainChart(results, n === 10_000)}`);
  }
  if (!args.has("sim-only")) {
    const { runRealDrainSuite, realDrainLines } = await import("./real-drain.js");
    const clients = numberArg(args, "clients", full ? 1000 : 400);
    const capacity = numberArg(args, "capacity", clients / 8);
    const downMs = numberArg(args, "down", 2000);
    console.log(`bench/drain (real sockets): ${clients} clients (half ours, half socket.io-client, each half on its own server at C/2, default transports), down ${downMs / 1000} s, C=${capacity}/s`);
    const suite = await runRealDrainSuite({ clients, capacity, downMs });
    for (const line of realDrainLines(suite)) console.log(line);
    output.real = suite;
  }
  const name = full ? "drain-full" : "drain";
  // --sim-only / --real-only replace their own part and keep the other one of the last run.
  const { existsSync, readFileSync } = await import("node:fs");
  const file = resolve(root, `bench/results/${name}.json`);
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  for (const part of ["simulated", "real"]) {
    if (!(part in output) && part in previous) output[part] = previous[part];
  }
  writeFileSync(resolve(root, `bench/results/${name}.json`), `${JSON.stringify(output, null, 1)}\n`);
  console.log(`bench/drain: ${((performance.now() - started) / 1000).toFixed(1)} s, wrote bench/results/${name}.json`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
