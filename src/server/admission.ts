import type { AdmissionRefusalData, AdmissionRefusedError } from "./protocol.js";
import { booleanOption, checkOptions, fail, numberOption } from "./validate.js";

/** Options of {@link createAdmissionControl}. Durations in ms. */
export interface AdmissionControlOptions {
  /** Handshakes admitted per second, on average: a finite number > 0 (fractions allowed, e.g. 0.5). */
  perSecond: number;
  /**
   * Handshakes admitted at once: time is cut into slots of `burst * 1000 / perSecond` ms, each
   * admitting at most `burst`. An integer >= 1 with `burst * 1000 / perSecond >= 1` (a slot
   * lasts at least 1 ms).
   * @default Math.max(1, Math.ceil(perSecond / 10)) (slots of about 100 ms)
   */
  burst?: number;
  /**
   * The end of each slot kept out of the retry windows it hands out, so that a client who picks
   * the last moment of its window and then takes a round trip to handshake still lands in its
   * slot. `0 <= marginMs < slotMs`.
   * @default Math.min(100, slotMs / 5)
   */
  marginMs?: number;
  /**
   * Give each refused client an exact moment (`retryWindow: 0`), spread evenly through its slot,
   * instead of the slot's window to draw from.
   * @default false
   */
  exact?: boolean;
  /**
   * The clock, in ms; it must not go backwards (a step back is treated as no time passing).
   * A throw or a non-finite reading counts as the last good reading.
   * @default performance.now
   */
  now?: () => number;
}

/** What {@link AdmissionControl.stats} reports. */
export interface AdmissionStats {
  /** Handshakes admitted since creation. */
  admitted: number;
  /** Handshakes refused since creation. */
  refused: number;
  /**
   * Places promised to refused clients and not yet taken: the current slot's promises beyond
   * its admissions so far, plus every later slot's.
   */
  backlog: number;
  /** How long a handshake refused now would be told to wait (`retryAfter`); 0 while there is room now. */
  backlogMs: number;
  perSecond: number;
  burst: number;
  slotMs: number;
}

/** The verdict on one handshake. */
export type AdmissionDecision =
  | { admitted: true }
  | { admitted: false; retryAfter: number; retryWindow: number };

/**
 * A Socket.IO middleware (`io.use(admission)` or `io.of(name).use(admission)`) that admits at
 * most `burst` handshakes per slot and refuses the rest with an {@link AdmissionRefusedError},
 * each told a later slot with room for it. See `docs/server.md`.
 */
export interface AdmissionControl {
  /** The middleware. The socket is not read: admission depends on time and load only. */
  (socket: unknown, next: (error?: AdmissionRefusedError) => void): void;
  /** Decides on one handshake now and counts it, as the middleware does (for other transports). */
  decide(): AdmissionDecision;
  /** Counters and the current backlog. */
  stats(): AdmissionStats;
}

const WHERE = "createAdmissionControl";
const KNOWN = ["perSecond", "burst", "marginMs", "exact", "now"] as const;

/** The refusal handed to Socket.IO: its `message` and `data` travel in the CONNECT_ERROR packet. */
export function admissionRefusal(retryAfter: number, retryWindow: number): AdmissionRefusedError {
  const spread = retryWindow > 0 ? ` (within ${retryWindow} ms)` : "";
  const error = new Error(`server busy: retry after ${retryAfter} ms${spread}`) as AdmissionRefusedError;
  const data: AdmissionRefusalData = { retryAfter, retryWindow, reason: "admission" };
  error.data = data;
  return error;
}

/**
 * Creates admission control for Socket.IO handshakes.
 *
 * Time is cut into slots of `slotMs = burst * 1000 / perSecond`; each admits at most `burst`
 * handshakes, so over any interval of T ms at most `burst * (ceil(T / slotMs) + 1)` are admitted
 * (`perSecond + burst` in any second when `perSecond / burst` is a whole number). A handshake
 * that finds its slot full is refused and promised a place in the earliest later slot that has
 * one unpromised; a slot is never promised more than `burst` places, and promises are handed
 * out in time order, so the clients told to come in one slot all fit in it. A promise holds a
 * place in its own slot only: one that is not taken lapses when that slot ends.
 *
 * @example
 * const admission = createAdmissionControl({ perSecond: 200 });
 * io.use(admission);
 * setInterval(() => console.log(admission.stats()), 10_000);
 * @throws TypeError naming the option and the value, for an unknown option or a bad value.
 */
export function createAdmissionControl(options: AdmissionControlOptions): AdmissionControl {
  const given = checkOptions(WHERE, options, KNOWN);
  const perSecond = numberOption(WHERE, "perSecond", given.perSecond, "a finite number > 0", (value) => value > 0);
  const burst = numberOption(
    WHERE,
    "burst",
    given.burst,
    "an integer >= 1",
    (value) => Number.isInteger(value) && value >= 1,
    Math.max(1, Math.ceil(perSecond / 10)),
  );
  const slotMs = (burst * 1000) / perSecond;
  if (slotMs < 1) fail(WHERE, "burst", `at least perSecond / 1000 (${perSecond / 1000}) so that a slot lasts 1 ms`, burst);
  const marginMs = numberOption(
    WHERE,
    "marginMs",
    given.marginMs,
    `>= 0 and < the slot length (${slotMs} ms)`,
    (value) => value >= 0 && value < slotMs,
    Math.min(100, slotMs / 5),
  );
  const exact = booleanOption(WHERE, "exact", given.exact, false);
  if (given.now !== undefined && typeof given.now !== "function") fail(WHERE, "now", "a function returning ms", given.now);
  const now = (given.now as (() => number) | undefined) ?? (() => performance.now());

  let admitted = 0;
  let refused = 0;
  /** The slot of the latest decision, and what happened in it. */
  let currentSlot = Number.NEGATIVE_INFINITY;
  let admittedInSlot = 0;
  let promisedForCurrent = 0;
  /**
   * Promises fill slots in order, so they form one run: every slot in [runStart, frontier) holds
   * `burst`, the frontier slot holds `frontierCount`, none after it. O(1) state, whatever the
   * backlog.
   */
  let runStart = 0;
  let frontier = Number.NEGATIVE_INFINITY;
  let frontierCount = 0;
  let lastTime = Number.NEGATIVE_INFINITY;

  const promisedIn = (slot: number): number => {
    if (slot < runStart || slot > frontier) return 0;
    return slot === frontier ? frontierCount : burst;
  };

  /**
   * The clock's reading. A clock of the app's that throws or returns nonsense must not throw
   * out of the middleware (Socket.IO does not catch it there): the last good reading stands,
   * or `performance.now()` before there is one.
   */
  const read = (): number => {
    let reading: unknown;
    try {
      reading = now();
    } catch {
      reading = Number.NaN;
    }
    if (typeof reading === "number" && Number.isFinite(reading)) return reading;
    return Number.isFinite(lastTime) ? lastTime : performance.now();
  };

  /** Reads the clock and moves to its slot; returns the time. */
  const advance = (): number => {
    const time = Math.max(read(), lastTime);
    lastTime = time;
    const slot = Math.floor(time / slotMs);
    if (slot > currentSlot) {
      currentSlot = slot;
      admittedInSlot = 0;
      promisedForCurrent = promisedIn(slot);
    }
    return time;
  };

  /** The slot and the index in it of the next promise (not taken). */
  const nextPromise = (): { slot: number; index: number } => {
    if (frontier > currentSlot) {
      return frontierCount < burst ? { slot: frontier, index: frontierCount } : { slot: frontier + 1, index: 0 };
    }
    return { slot: currentSlot + 1, index: 0 };
  };

  const promise = (time: number): { retryAfter: number; retryWindow: number } => {
    const { slot, index } = nextPromise();
    if (slot > frontier) {
      if (slot !== frontier + 1 || frontier <= currentSlot) runStart = slot;
      frontier = slot;
      frontierCount = 0;
    }
    frontierCount += 1;
    const start = slot * slotMs;
    const usable = slotMs - marginMs;
    if (exact) {
      return { retryAfter: Math.ceil(start + ((index + 0.5) * usable) / burst - time), retryWindow: 0 };
    }
    const retryAfter = Math.ceil(start - time);
    return { retryAfter, retryWindow: Math.max(0, Math.floor(start + usable - time) - retryAfter) };
  };

  const decide = (): AdmissionDecision => {
    const time = advance();
    if (admittedInSlot < burst) {
      admittedInSlot += 1;
      admitted += 1;
      return { admitted: true };
    }
    refused += 1;
    return { admitted: false, ...promise(time) };
  };

  const stats = (): AdmissionStats => {
    const time = advance();
    const future =
      frontier > currentSlot ? (frontier - Math.max(runStart, currentSlot + 1)) * burst + frontierCount : 0;
    const backlog = Math.max(0, promisedForCurrent - admittedInSlot) + future;
    const backlogMs = admittedInSlot < burst ? 0 : Math.ceil(nextPromise().slot * slotMs - time);
    return { admitted, refused, backlog, backlogMs, perSecond, burst, slotMs };
  };

  const middleware = (_socket: unknown, next: (error?: AdmissionRefusedError) => void): void => {
    const decision = decide();
    if (decision.admitted) next();
    else next(admissionRefusal(decision.retryAfter, decision.retryWindow));
  };
  return Object.assign(middleware, { decide, stats });
}
