/**
 * bench/queue: what the send queue costs (issue 11, item 5).
 * - per-send cost of `service.send()` on a service that is not connected, as the queue fills
 *   from 100 to 100,000 (`maxQueueSize` 100,000, a one-hour `queueTtl`, real timers): it
 *   should stay flat;
 * - expiry of 100,000 queued messages on a simulated clock: all at once (one TTL), and spread
 *   (random per-message TTLs, the clock advanced in steps);
 * - `dispose()` with 100,000 queued: each one announced once.
 * Figures are ratios against baselines measured in the same run: the cost at 100 queued (for
 * flatness) and a bare XState transition (one `assign`), the floor of anything the chart does.
 *
 * Usage: tsx bench/queue.ts [--sends=100000] [--rounds=5] [--window=1000]
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { assign, createActor, setup } from "xstate";
import { createWebSocketService, type WebSocketService } from "../src/index.js";
import { mulberry32 } from "./lib/prng.js";
import { StormClock } from "./lib/stormClock.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Nothing listens there, and nothing connects: the service stays `idle` and queues. */
const OFFLINE_URL = "http://127.0.0.1:1";
const HOUR = 3_600_000;

export interface QueueBenchOptions {
  /** Sends per round (and the queue's capacity). */
  sends: number;
  /** Rounds measured (after one warm-up round); the median round is reported. */
  rounds: number;
  /** Sends averaged at each fill level. */
  window: number;
}

export interface FillLevel {
  /** Messages queued when the window starts. */
  queued: number;
  /** Median of the window's sends over all rounds, µs: the typical send. */
  medianUs: number;
  /** Median over rounds of the window's mean, µs: the amortised cost, GC included. */
  meanUs: number;
  /** `medianUs` / the same at the first level. */
  ratioToFirst: number;
  /** `meanUs` / the same at the first level. */
  meanRatioToFirst: number;
  /** `medianUs` / a bare XState transition. */
  ratioToXstate: number;
}

export interface QueueBenchResult {
  sends: number;
  rounds: number;
  window: number;
  /** Mean cost of one event on an actor whose only action is one `assign`, µs. */
  xstateEventUs: number;
  levels: FillLevel[];
  /** Median cost at the last level / at the first (the issue wants it flat: ≈ 1). */
  flatness: number;
  /** Mean per-send cost over a whole round (median round), µs. */
  meanPerSendUs: number;
  expiry: {
    messages: number;
    /** One TTL: a single timer fires and takes every message. */
    allAtOnceMs: number;
    /** Random per-message TTLs in [1, 30,000) ms, the clock advanced 100 ms at a time. */
    spreadMs: number;
    spreadSteps: number;
    announced: number;
  };
  dispose: { messages: number; ms: number; announced: number; announcedOnce: boolean };
  wallMs: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function offlineService(maxQueueSize: number, queueTtl: number, clock?: StormClock): WebSocketService {
  return createWebSocketService({ url: OFFLINE_URL, config: { maxQueueSize, queueTtl }, ...(clock ? { clock } : {}) });
}

/**
 * Duration of each of `count` sends (ms), one after the other, into a service that is not
 * connected and queues up to `maxQueueSize`. Used by the benchmark and the smoke test's budget.
 */
export function timeOfflineSends(count: number, maxQueueSize: number): Float64Array {
  const service = offlineService(maxQueueSize, HOUR);
  const durations = new Float64Array(count);
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      service.send("note", i);
      durations[i] = performance.now() - started;
    }
    const queued = service.getStatus().queuedMessages;
    if (queued !== Math.min(count, maxQueueSize)) {
      throw new Error(`expected ${Math.min(count, maxQueueSize)} queued, found ${queued}`);
    }
  } finally {
    service.dispose();
  }
  return durations;
}

/** Mean of `durations[from, from + length)`, in µs. */
export function meanUs(durations: Float64Array, from: number, length: number): number {
  let sum = 0;
  for (let i = from; i < from + length; i++) sum += durations[i]!;
  return (sum / length) * 1000;
}

/** Mean cost of one event on an actor that does one `assign` per event, µs: XState's floor. */
function timeXstateEvents(count: number): number {
  const machine = setup({
    types: { context: {} as { sends: number }, events: {} as { type: "send"; event: string; args: unknown[] } },
  }).createMachine({
    context: { sends: 0 },
    on: { send: { actions: assign({ sends: ({ context }) => context.sends + 1 }) } },
  });
  const actor = createActor(machine).start();
  const started = performance.now();
  for (let i = 0; i < count; i++) actor.send({ type: "send", event: "note", args: [i] });
  const elapsed = performance.now() - started;
  actor.stop();
  return (elapsed / count) * 1000;
}

/**
 * Fills a service on a simulated clock, then lets every message expire; returns the time that
 * took (ms). `StormClock` fires each timer at its due time, timers started meanwhile included
 * (the chart expires in batches, each re-arming a timer for the rest).
 */
function timeExpiry(messages: number, spread: boolean): { ms: number; steps: number; announced: number } {
  const clock = new StormClock();
  const queueTtl = 30_000;
  const service = offlineService(messages, queueTtl, clock);
  let announced = 0;
  service.on("message:dropped", ({ reason }) => {
    if (reason === "expired") announced++;
  });
  const random = mulberry32(11);
  for (let i = 0; i < messages; i++) {
    if (spread) service.sendWith({ ttl: 1 + Math.floor(random() * (queueTtl - 1)) }, "note", i);
    else service.send("note", i);
  }
  let steps = 0;
  gc();
  const started = performance.now();
  if (spread) {
    for (let t = 0; t < queueTtl; t += 100) {
      clock.increment(100);
      steps++;
    }
  } else {
    clock.increment(queueTtl);
    steps = 1;
  }
  const ms = performance.now() - started;
  if (service.getStatus().queuedMessages !== 0) throw new Error("messages left after expiry");
  service.dispose();
  return { ms, steps, announced };
}

function timeDispose(messages: number): QueueBenchResult["dispose"] {
  const service = offlineService(messages, HOUR);
  const seen = new Uint8Array(messages);
  let announced = 0;
  let announcedOnce = true;
  service.on("message:dropped", ({ reason, args }) => {
    if (reason !== "disposed") return;
    const index = args[0] as number;
    announced++;
    if (seen[index]) announcedOnce = false;
    seen[index] = 1;
  });
  for (let i = 0; i < messages; i++) service.send("note", i);
  gc();
  const started = performance.now();
  service.dispose();
  const ms = performance.now() - started;
  return { messages, ms, announced, announcedOnce: announcedOnce && announced === messages };
}

export function runQueueBench(options: QueueBenchOptions): QueueBenchResult {
  const started = performance.now();
  const { sends, rounds, window } = options;
  // The last window ends with the queue full: from 99,000 to 100,000 queued by default.
  const starts = [100, 10_000, sends - window].filter(
    (from, i, all) => from >= 0 && from + window <= sends && all.indexOf(from) === i,
  );

  timeOfflineSends(Math.min(sends, 20_000), sends); // warm-up: JIT, not measured
  const xstateEventUs = median([timeXstateEvents(sends), timeXstateEvents(sends), timeXstateEvents(sends)]);
  const means: number[][] = starts.map(() => []);
  const samples: number[][] = starts.map(() => []);
  const roundMeans: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // The previous round's 100,000 messages would otherwise be collected during this one.
    gc();
    const durations = timeOfflineSends(sends, sends);
    starts.forEach((from, i) => {
      means[i]!.push(meanUs(durations, from, window));
      for (let k = from; k < from + window; k++) samples[i]!.push(durations[k]! * 1000);
    });
    roundMeans.push(meanUs(durations, 0, sends));
  }
  const medians = samples.map(median);
  const amortised = means.map(median);
  const levels = starts.map((queued, i) => ({
    queued,
    medianUs: medians[i]!,
    meanUs: amortised[i]!,
    ratioToFirst: medians[i]! / medians[0]!,
    meanRatioToFirst: amortised[i]! / amortised[0]!,
    ratioToXstate: medians[i]! / xstateEventUs,
  }));

  const allAtOnce = timeExpiry(sends, false);
  const spread = timeExpiry(sends, true);
  const dispose = timeDispose(sends);
  return {
    sends,
    rounds,
    window,
    xstateEventUs,
    levels,
    flatness: levels.at(-1)!.ratioToFirst,
    meanPerSendUs: median(roundMeans),
    expiry: {
      messages: sends,
      allAtOnceMs: allAtOnce.ms,
      spreadMs: spread.ms,
      spreadSteps: spread.steps,
      announced: Math.min(allAtOnce.announced, spread.announced),
    },
    dispose,
    wallMs: Math.round(performance.now() - started),
  };
}

export function queueLines(r: QueueBenchResult): string[] {
  const us = (value: number) => `${value.toFixed(2)} µs`;
  const perMessage = (ms: number) => us((ms / r.expiry.messages) * 1000);
  return [
    `offline send, ${r.sends.toLocaleString("en")} sends into one queue (maxQueueSize ${r.sends.toLocaleString("en")}), the ${r.window.toLocaleString("en")} sends from each fill level, ${r.rounds} rounds; a bare XState transition costs ${us(r.xstateEventUs)}:`,
    ...r.levels.map(
      (level) =>
        `  from ${level.queued.toLocaleString("en")} queued: median ${us(level.medianUs)} per send = ${level.ratioToFirst.toFixed(2)}× the first level, ${level.ratioToXstate.toFixed(1)}× a bare XState transition; mean ${us(level.meanUs)} (GC included) = ${level.meanRatioToFirst.toFixed(2)}×`,
    ),
    `  flatness (median, last level / first level): ${r.flatness.toFixed(2)} (goal ≤ 1.5: ${r.flatness <= 1.5 ? "met" : "MISSED"}); a whole round: ${us(r.meanPerSendUs)} per send`,
    `expiry of ${r.expiry.messages.toLocaleString("en")}: one TTL ${r.expiry.allAtOnceMs.toFixed(0)} ms (${perMessage(r.expiry.allAtOnceMs)} per message), random TTLs over ${r.expiry.spreadSteps} clock steps ${r.expiry.spreadMs.toFixed(0)} ms (${perMessage(r.expiry.spreadMs)} per message); announced "expired": ${r.expiry.announced.toLocaleString("en")} each run`,
    `dispose with ${r.dispose.messages.toLocaleString("en")} queued: ${r.dispose.ms.toFixed(0)} ms (${us((r.dispose.ms / r.dispose.messages) * 1000)} per message), ${r.dispose.announced.toLocaleString("en")} announced "disposed", ${r.dispose.announcedOnce ? "each once" : "NOT each once"}`,
  ];
}

async function main(): Promise<void> {
  const { parseArgs, numberArg } = await import("./lib/cli.js");
  const { writeFileSync, mkdirSync } = await import("node:fs");
  const args = parseArgs(process.argv.slice(2));
  const result = runQueueBench({
    sends: numberArg(args, "sends", 100_000),
    rounds: numberArg(args, "rounds", 5),
    window: numberArg(args, "window", 1_000),
  });
  for (const line of queueLines(result)) console.log(line);
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  mkdirSync(resolve(root, "bench/results"), { recursive: true });
  writeFileSync(resolve(root, "bench/results/queue.json"), `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 1)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
