/** The command line of `npm start` (scripts/outage-story.ts). */
export interface CliOptions {
  help: boolean;
  realTimings: boolean;
  seed: number;
}

/** The seed used when `--seed` is not given: the same story on every run. */
export const DEFAULT_SEED = 20240601;

/** A bad command line: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `Usage: npm start -- [options]      (or: npx tsx scripts/outage-story.ts [options])

Plays an outage story against real Socket.IO servers on 127.0.0.1 (a primary behind a
TCP proxy and a backup): connect, crash and backoff, a silent link, offline/online,
queued messages, a revoked token, a call in progress, failover and fail-back, a planned
restart, and a server gone for good. Every state change and service event prints as it
happens; a summary follows. Exits 0 when every chapter completed and every invariant
held, 1 otherwise.

Options:
  --real-timings   use DEFAULT_CONFIG (1 s base delay, 25 s heartbeat, 20 attempts):
                   the story then takes about 10 minutes (it says so when it starts,
                   and prints progress during long waits). Default: timings scaled
                   down so that the story takes about 25 s.
  --seed N         seed of the jitter (an integer 0..4294967295). Default: ${DEFAULT_SEED}.
  -h, --help       print this help and exit.

Colours are used when stdout is a terminal and NO_COLOR is not set.`;

function parseSeed(flag: string, value: string | undefined): number {
  if (value === undefined || value === "") throw new UsageError(`${flag} needs a value, e.g. ${flag} 7`);
  const seed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(seed) || seed > 0xffff_ffff) {
    throw new UsageError(`${flag} must be an integer from 0 to 4294967295, got ${JSON.stringify(value)}`);
  }
  return seed;
}

/** Parses the arguments after the script name; throws {@link UsageError} naming a bad flag. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { help: false, realTimings: false, seed: DEFAULT_SEED };
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    switch (flag) {
      case "-h":
      case "--help":
        options.help = true;
        break;
      case "--real-timings":
        if (inline !== undefined) throw new UsageError(`--real-timings takes no value, got ${JSON.stringify(arg)}`);
        options.realTimings = true;
        break;
      case "--seed":
        if (inline !== undefined) {
          options.seed = parseSeed(flag, inline);
        } else {
          options.seed = parseSeed(flag, argv[index + 1]);
          index += 1;
        }
        break;
      default:
        throw new UsageError(
          flag.startsWith("-") ? `unknown flag ${flag}` : `unexpected argument ${JSON.stringify(arg)}`,
        );
    }
  }
  return options;
}
