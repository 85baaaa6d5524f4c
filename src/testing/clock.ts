import { SimulatedClock } from "xstate";

/** More timers than this fired by one `runFor` means a timer that keeps re-arming with no delay. */
const MAX_FIRINGS = 1_000_000;

/**
 * XState's `SimulatedClock` that can also let time pass the way it really does.
 *
 * `increment(ms)` jumps to the end and fires whatever is due there, all at the end time:
 * that is how a machine that slept looks (the connection notices a sleep). `runFor(ms)` fires
 * each timer at its own due time instead, so that the timers it starts run too, in order:
 * a heartbeat every interval, a retry after its delay.
 *
 * Give it to `createWebSocketService` as `clock`, with `now: () => clock.now()` so that the
 * wall-clock times the service shows (`nextRetryAt`) are on the same timeline.
 */
export class TestClock extends SimulatedClock {
  /** Due time of every pending timer, by id (SimulatedClock keeps its own list private). */
  readonly #due = new Map<number, number>();

  // Matches SimulatedClock's own signature (xstate's Clock takes any callback).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override setTimeout(fn: (...args: any[]) => void, timeout: number): number {
    let id = -1;
    id = super.setTimeout(() => {
      this.#due.delete(id);
      fn();
    }, timeout);
    this.#due.set(id, this.now() + timeout);
    return id;
  }

  override clearTimeout(id: number): void {
    this.#due.delete(id);
    super.clearTimeout(id);
  }

  /** When the next pending timer is due (simulated ms), or `null` when none is pending. */
  nextTimerAt(): number | null {
    let next: number | null = null;
    for (const due of this.#due.values()) if (next === null || due < next) next = due;
    return next;
  }

  /**
   * Lets `ms` of simulated time pass: each timer fires at its own due time, and timers those
   * start fire too when they fall inside the window.
   * @throws when timers keep firing without time passing (a timer re-arming itself with no delay)
   */
  runFor(ms: number): void {
    if (!(typeof ms === "number" && ms >= 0 && Number.isFinite(ms))) {
      throw new TypeError(`runFor: ms must be a finite number >= 0, got ${String(ms)}`);
    }
    const end = this.now() + ms;
    for (let firings = 0; firings < MAX_FIRINGS; firings++) {
      const next = this.nextTimerAt();
      if (next === null || next > end) {
        this.set(end);
        return;
      }
      this.set(Math.max(next, this.now()));
    }
    throw new Error(`runFor: more than ${MAX_FIRINGS} timers fired without reaching the end; a timer keeps re-arming with no delay`);
  }
}
