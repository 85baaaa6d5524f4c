import { fork } from "node:child_process";

/**
 * Runs scenarios over `workers` child processes (each a fresh tsx process running `module`
 * with `--worker`, its jobs in the environment variable `jobsVariable`, one IPC message per
 * result), costliest first so that the workers finish together. Results in input order; with
 * one worker (or one scenario) they run here, one after the other.
 */
export async function runInWorkers<S, R>(options: {
  scenarios: readonly S[];
  workers: number;
  /** Path of the module whose `--worker` mode runs the jobs. */
  module: string;
  jobsVariable: string;
  /** Relative cost of a scenario, for balancing. */
  cost: (scenario: S) => number;
  /** Runs one scenario in this process. */
  runHere: (scenario: S) => Promise<R>;
  /** Names the runner in an error. */
  name: string;
}): Promise<R[]> {
  const { scenarios, workers, cost } = options;
  if (workers <= 1 || scenarios.length < 2) {
    const results: R[] = [];
    for (const scenario of scenarios) results.push(await options.runHere(scenario));
    return results;
  }
  const order = scenarios.map((_, i) => i).sort((a, b) => cost(scenarios[b]!) - cost(scenarios[a]!));
  const buckets: number[][] = Array.from({ length: workers }, () => []);
  const load = new Array<number>(workers).fill(0);
  for (const index of order) {
    const target = load.indexOf(Math.min(...load));
    buckets[target]!.push(index);
    load[target]! += cost(scenarios[index]!);
  }
  const results = new Array<R>(scenarios.length);
  await Promise.all(
    buckets.map(
      (bucket) =>
        new Promise<void>((resolvePromise, reject) => {
          if (bucket.length === 0) return resolvePromise();
          const child = fork(options.module, ["--worker"], {
            execArgv: ["--import", "tsx"],
            env: { ...process.env, [options.jobsVariable]: JSON.stringify(bucket.map((i) => scenarios[i])) },
            stdio: ["ignore", "inherit", "inherit", "ipc"],
          });
          let received = 0;
          child.on("message", (message) => {
            results[bucket[received]!] = message as R;
            received++;
          });
          child.on("error", reject);
          child.on("exit", (code) => {
            if (code === 0 && received === bucket.length) resolvePromise();
            else reject(new Error(`${options.name} worker exited with ${code} after ${received}/${bucket.length} scenarios`));
          });
        }),
    ),
  );
  return results;
}
