/**
 * bench/shared: what one status change costs the host of a shared connection (exposeService)
 * with 1, 10 and 50 remotes, as ratios against the 1-remote run of the same process.
 *
 * Each remote is a connectToService on its own worker_threads MessageChannel (remotes in the
 * host's thread: the host's cost is measured inside its coalesced flush, which serialises the
 * status once and posts it to each remote). A status change is a notifyOffline()/notifyOnline()
 * toggle of an unconnected service, awaited until every remote has seen it.
 *
 * Usage: tsx bench/shared.ts [--changes=400] [--rounds=3]
 */
import { MessageChannel } from "node:worker_threads";
import { parseArgs } from "node:util";
import { LabServer } from "../lab/server.js";
import { connectToService, createWebSocketService, exposeService, type RemoteService } from "../src/index.js";
import { hostStats } from "../src/shared/index.js";

const { values } = parseArgs({ options: { changes: { type: "string", default: "400" }, rounds: { type: "string", default: "3" } } });
const CHANGES = Number(values.changes);
const ROUNDS = Number(values.rounds);
const COUNTS = [1, 10, 50] as const;

interface Measure {
  remotes: number;
  serialisationsPerChange: number;
  postsPerChange: number;
  hostMicrosPerChange: number;
}

function allSee(remotes: RemoteService[], network: "online" | "offline"): Promise<void> {
  return new Promise((resolve) => {
    const check = (): boolean => remotes.every((remote) => remote.host === "attached" && remote.getStatusSnapshot().network === network);
    if (check()) return resolve();
    const offs = remotes.map((remote) =>
      remote.subscribe(() => {
        if (!check()) return;
        for (const off of offs) off();
        resolve();
      }),
    );
  });
}

async function measure(url: string, count: number): Promise<Measure> {
  const service = createWebSocketService({ url });
  const remotes = Array.from({ length: count }, () => {
    const { port1, port2 } = new MessageChannel();
    exposeService(service, port1);
    return connectToService(port2);
  });
  await allSee(remotes, "online");
  const before = hostStats(service);
  for (let index = 0; index < CHANGES; index += 1) {
    const offline = index % 2 === 0;
    if (offline) service.notifyOffline();
    else service.notifyOnline();
    await allSee(remotes, offline ? "offline" : "online");
  }
  const after = hostStats(service);
  for (const remote of remotes) remote.dispose();
  service.dispose();
  const changes = after.statusChanges - before.statusChanges;
  return {
    remotes: count,
    serialisationsPerChange: (after.serialisations - before.serialisations) / changes,
    postsPerChange: (after.statusPosts - before.statusPosts) / changes,
    hostMicrosPerChange: ((after.flushMs - before.flushMs) * 1000) / changes,
  };
}

async function main(): Promise<void> {
  // A real server on loopback for the service's URL; the service is never connected, so nothing
  // but the benchmark's own toggles changes its status.
  const lab = await LabServer.start();
  try {
    await measure(lab.url, 10); // warm-up: JIT, MessagePort machinery
    const runs: Measure[][] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const run: Measure[] = [];
      for (const count of COUNTS) run.push(await measure(lab.url, count));
      runs.push(run);
    }
    const median = (numbers: number[]): number => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;
    const rows = COUNTS.map((count, index) => ({
      remotes: count,
      serialisationsPerChange: median(runs.map((run) => run[index]!.serialisationsPerChange)),
      postsPerChange: median(runs.map((run) => run[index]!.postsPerChange)),
      hostMicrosPerChange: median(runs.map((run) => run[index]!.hostMicrosPerChange)),
    }));
    const base = rows[0]!;
    console.log(`host cost per status change, ${CHANGES} changes, median of ${ROUNDS} rounds (Node ${process.version})`);
    console.log("| remotes | serialisations/change | posts/change | host µs/change | serialisations vs 1 | host time vs 1 |");
    console.log("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const row of rows) {
      console.log(
        `| ${row.remotes} | ${row.serialisationsPerChange.toFixed(2)} | ${row.postsPerChange.toFixed(2)} | ${row.hostMicrosPerChange.toFixed(1)} | ${(row.serialisationsPerChange / base.serialisationsPerChange).toFixed(2)}× | ${(row.hostMicrosPerChange / base.hostMicrosPerChange).toFixed(2)}× |`,
      );
    }
  } finally {
    await lab.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
