/**
 * The functions an app hands the chart (jitter source, clocks) are user code: they may throw
 * or return nonsense. These wrappers keep the chart running on a sane value and report the
 * fault once per function, so that one bad callback never stops or spins the connection.
 */

/** The user-supplied functions the package calls, as named in `callback:failed`. */
export type CallbackName =
  | "random"
  | "retryDelay"
  | "now"
  | "clock"
  | "inspect"
  | "logger"
  | "isAuthError"
  | "auth"
  | "ack"
  | "onListenerError";

/** Receives a fault of a user-supplied function: which one, and what went wrong. */
export type FaultReporter = (callback: CallbackName, message: string) => void;

/**
 * Where a `random()` of 1 or more is clamped: below 1 by enough that `a + r·(b − a)` still
 * rounds below `b` for any delay a retry can have (the nearest double below 1 does not).
 */
const JUST_BELOW_ONE = 1 - 1e-12;

/**
 * A jitter source that always returns a number in [0, 1): values out of range are clamped
 * (1 → just below 1, negative → 0), a throw or a non-number falls back to `Math.random`.
 */
export function guardRandom(random: () => number, report: FaultReporter): () => number {
  if (random === Math.random) return random;
  return () => {
    let value: unknown;
    try {
      value = random();
    } catch (error) {
      report("random", `random() threw: ${messageOf(error)}; Math.random used instead`);
      return Math.random();
    }
    if (typeof value !== "number" || Number.isNaN(value)) {
      report("random", `random() returned ${String(value)}, not a number in [0, 1); Math.random used instead`);
      return Math.random();
    }
    if (value >= 0 && value < 1) return value;
    report("random", `random() returned ${String(value)}, outside [0, 1); clamped`);
    return value < 0 ? 0 : JUST_BELOW_ONE;
  };
}

/**
 * A clock that always returns a finite number: a throw or a non-finite value falls back to
 * `fallback` (the system's clock of the same kind).
 */
export function guardClock(
  clock: () => number,
  fallback: () => number,
  name: "now" | "clock",
  report: FaultReporter,
): () => number {
  if (clock === fallback) return clock;
  return () => {
    let value: unknown;
    try {
      value = clock();
    } catch (error) {
      report(name, `${name}() threw: ${messageOf(error)}; the system clock is used instead`);
      return fallback();
    }
    if (typeof value === "number" && Number.isFinite(value)) return value;
    report(name, `${name}() returned ${String(value)}, not a finite number; the system clock is used instead`);
    return fallback();
  };
}

/** The system's monotonic clock in ms: durations are measured on it, never on the wall clock. */
export const monotonicNow: () => number = () => performance.now();

/** The wall clock in epoch ms: only for times shown to people (`nextRetryAt`). */
export const wallNow: () => number = () => Date.now();

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  try {
    return String(error);
  } catch {
    return "an unprintable value";
  }
}
