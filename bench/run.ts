/**
 * npm run bench: every benchmark at its reduced size, one summary at the end.
 * `npm run bench -- --full` runs the full sizes (N = 10,000 storm, 10,000 cycles, longer real storm).
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "./lib/cli.js";
import { formatTable } from "./lib/stats.js";
import { overheadLines, runOverhead } from "./overhead.js";
import { REAL_HEADER, realRows, runRealStorm, type RealStormResult } from "./real-storm.js";
import { queueLines, runQueueBench } from "./queue.js";
import { measureBundleSize } from "./size.js";
import { runStorm, STORM_HEADER, stormRow } from "./storm.js";

const args = parseArgs(process.argv.slice(2));
const full = args.has("full");
const started = performance.now();
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, ${process.platform}`;
console.log(`npm run bench${full ? " --full" : ""}: ${machine}`);

const n = full ? 10_000 : 1_000;
console.log(`\n[1/5] storm (simulated): N=${n}${full ? "" : " (reduced from 10,000; --full for N=10,000)"} ...`);
const storm = await runStorm({ n, full, workers: Math.min(2, cpus().length) });
console.log(storm.table);

console.log(`\n[2/5] real storm: 300 clients on loopback ...`);
const real: RealStormResult[] = [];
for (const hint of [false, true]) {
  real.push(await runRealStorm({ clients: 300, downMs: full ? 5000 : 2000, capacity: full ? 30 : 50, hint }));
}
console.log(formatTable(REAL_HEADER, real.flatMap(realRows)));

console.log(`\n[3/5] overhead ...`);
const overhead = await runOverhead({
  messages: 10_000,
  rounds: 3,
  idleServices: 100,
  cycles: full ? 10_000 : 500,
  samples: 20,
});

console.log(`\n[4/5] queue: 100,000 offline sends, expiry and dispose of 100,000 ...`);
const queue = runQueueBench({ sends: 100_000, rounds: full ? 5 : 3, window: 1_000 });

console.log(`\n[5/5] bundle size ...`);
const size = await measureBundleSize();

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
mkdirSync(resolve(root, "bench/results"), { recursive: true });
writeFileSync(
  resolve(root, `bench/results/summary${full ? "-full" : ""}.json`),
  `${JSON.stringify({ date: new Date().toISOString(), machine, full, real, overhead, queue, size, stormGoals: storm.goals }, null, 1)}\n`,
);
writeFileSync(
  resolve(root, `bench/results/real-storm${full ? "-full" : ""}.json`),
  `${JSON.stringify({ date: new Date().toISOString(), results: real }, null, 1)}\n`,
);

const headline = storm.results.filter((r) => r.downS === 30 && r.capacity === n / 20);
console.log(`\n=== summary (${machine}) ===`);
console.log(`storm, N=${n}, D=30 s, C=${n / 20}/s (floor ${n / (n / 20)} s):`);
console.log(formatTable(STORM_HEADER, headline.map((r) => stormRow(r, storm.defaultStrategy))));
for (const line of storm.goals) console.log(line);
console.log(`real storm (300 clients): ${real
  .map((r) => `${r.hint ? "with" : "without"} retryAfter: ${r.sides.map((s) => `${s.kind} ${s.refused} refused, all back ${s.allBackS ?? "—"} s, peak ${s.peakPerS}/s`).join("; ")}`)
  .join(" | ")}`);
for (const line of overheadLines(overhead)) console.log(line);
for (const line of queueLines(queue)) console.log(line);
console.log(
  `bundle: ${size.gzip} B min+gzip beyond xstate and socket.io-client (goal ${size.goal} B: ${size.withinGoal ? "met" : "MISSED"}; enforced budget ${size.budget} B)`,
);
console.log(`npm run bench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
