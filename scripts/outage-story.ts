/**
 * `npm start`: the outage story against a real Socket.IO server on 127.0.0.1.
 * Exit code 0 when every chapter completed and every invariant held, 1 otherwise,
 * 2 for a bad command line. See `--help` and scripts/story/.
 */
import { parseCliArgs, USAGE, UsageError } from "./story/args.js";
import { runStory } from "./story/story.js";

/** After teardown nothing of the story runs; if the process lingers, something leaked. */
const LINGER_LIMIT_MS = 5000;

async function main(argv: readonly string[]): Promise<number> {
  let options;
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`outage-story: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const summary = await runStory({ seed: options.seed, realTimings: options.realTimings });
  return summary.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => {
      process.stderr.write(
        `outage-story: still running ${LINGER_LIMIT_MS} ms after the story ended: ${process.getActiveResourcesInfo().join(", ")}\n`,
      );
      process.exit(1);
    }, LINGER_LIMIT_MS).unref();
  },
  (error: unknown) => {
    process.stderr.write(`outage-story: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
