import type { StormClock } from "./stormClock.js";

/** What a simulated handshake comes back with. */
export type HandshakeOutcome =
  | { kind: "connected" }
  | { kind: "down" }
  | { kind: "refused"; retryAfter: number | null; retryWindow?: number | null };

/** A `softphone:drain` notice as the simulated server delivers it (ms, relative to receipt). */
export interface SimDrainNotice {
  reconnectAfter: number;
  windowMs: number;
  slot: number | null;
}

/**
 * Admission after the restart, replacing the one-second capacity windows: called once per
 * handshake at the simulated time of its arrival (e.g. the real `createAdmissionControl`'s
 * `decide()` on the simulated clock).
 */
export type SimAdmission = () => { admitted: true } | { admitted: false; retryAfter: number | null; retryWindow?: number | null };

/**
 * How the server picks its `retryAfter` hint.
 * - `"window"`: every client refused in the same one-second window is told the same value:
 *   the server's estimate of its backlog, the refusals of the previous window divided by
 *   its capacity, in whole seconds, at least 1 s.
 * - `"drain"`: a ticket: the k-th refusal of a window is told ceil(k / capacity) s.
 * - `{ fixed }`: always the same value.
 */
export type HintPolicy = "none" | "window" | "drain" | { fixed: number };

export interface SimServerOptions {
  clock: StormClock;
  clients: number;
  /** The instant the server dies (all connections drop). */
  dieAt: number;
  /** How long it stays down, ms. */
  downMs: number;
  /** Handshakes admitted per second after the restart. */
  capacity: number;
  hint: HintPolicy;
  /** Round trip of a handshake, ms. */
  rttMs: number;
  /** Admission after the restart; when given, `capacity` and `hint` are not used for deciding. */
  admission?: SimAdmission;
}

/**
 * The signalling server of the storm: before `dieAt` it admits everyone; it dies at
 * `dieAt` (every connection drops), refuses connections for `downMs`, then admits at most
 * `capacity` handshakes per one-second window (aligned to the restart) and refuses the
 * rest, with or without a `retryAfter` hint.
 */
export class SimServer {
  readonly restartAt: number;
  /** Arrival times of every handshake attempt from `dieAt` on (absolute ms). */
  readonly arrivals: number[] = [];
  /** Attempts per client from `dieAt` on. */
  readonly attempts: Int32Array;
  /** When each client was connected again after `dieAt` (absolute ms), NaN until then. */
  readonly reconnectedAt: Float64Array;
  reconnected = 0;
  refused = 0;
  readonly #links = new Map<number, () => void>();
  readonly #noticed = new Map<number, (notice: SimDrainNotice) => void>();
  readonly #options: SimServerOptions;
  #window = -1;
  #admitted = 0;
  #refusedInWindow = 0;
  #refusedInPreviousWindow = 0;

  constructor(options: SimServerOptions) {
    this.#options = options;
    this.restartAt = options.dieAt + options.downMs;
    this.attempts = new Int32Array(options.clients);
    this.reconnectedAt = new Float64Array(options.clients).fill(Number.NaN);
  }

  /** A client opens a connection; `respond` gets the outcome one round trip later. */
  handshake(client: number, respond: (outcome: HandshakeOutcome) => void): void {
    const { clock, dieAt, rttMs } = this.#options;
    const t = clock.now();
    if (t >= dieAt) {
      this.arrivals.push(t);
      this.attempts[client]!++;
    }
    const outcome = this.#decide(t);
    clock.setTimeout(() => respond(outcome), rttMs);
  }

  /**
   * The client holds the connection (its `drop` is called when the server dies, its `notice`
   * when the server drains; a client that does not know the drain protocol passes none).
   */
  link(client: number, drop: () => void, notice?: (notice: SimDrainNotice) => void): void {
    this.#links.set(client, drop);
    if (notice) this.#noticed.set(client, notice);
    const t = this.#options.clock.now();
    if (t >= this.#options.dieAt && Number.isNaN(this.reconnectedAt[client]!)) {
      this.reconnectedAt[client] = t;
      this.reconnected++;
    }
  }

  /** The client closed its connection. */
  unlink(client: number): void {
    this.#links.delete(client);
    this.#noticed.delete(client);
  }

  /**
   * `drainServer`'s notice: every connected client that knows the protocol gets it half a round
   * trip later (the server closes the links with {@link die} afterwards). `slots` assigns the
   * i-th of n connections `floor(i * windowMs / n)`, as `drainServer({ slots: true })` does.
   */
  drain(reconnectAfter: number, windowMs: number, slots = false): number {
    const { clock, rttMs } = this.#options;
    const targets = [...this.#links.keys()];
    let delivered = 0;
    targets.forEach((client, index) => {
      const slot = slots ? Math.floor((index * windowMs) / targets.length) : null;
      const deliver = this.#noticed.get(client);
      if (!deliver) return;
      delivered++;
      clock.setTimeout(() => this.#noticed.get(client)?.({ reconnectAfter, windowMs, slot }), rttMs / 2);
    });
    return delivered;
  }

  /** Kills the server: every connection drops. */
  die(): void {
    const drops = [...this.#links.values()];
    this.#links.clear();
    this.#noticed.clear();
    for (const drop of drops) drop();
  }

  #decide(t: number): HandshakeOutcome {
    const { dieAt, capacity, hint } = this.#options;
    if (t < dieAt) return { kind: "connected" };
    if (t < this.restartAt) return { kind: "down" };
    if (this.#options.admission) {
      const verdict = this.#options.admission();
      if (verdict.admitted) return { kind: "connected" };
      this.refused++;
      return { kind: "refused", retryAfter: verdict.retryAfter, retryWindow: verdict.retryWindow ?? null };
    }
    const window = Math.floor((t - this.restartAt) / 1000);
    if (window !== this.#window) {
      this.#refusedInPreviousWindow = window === this.#window + 1 ? this.#refusedInWindow : 0;
      this.#window = window;
      this.#admitted = 0;
      this.#refusedInWindow = 0;
    }
    if (this.#admitted < capacity) {
      this.#admitted++;
      return { kind: "connected" };
    }
    this.#refusedInWindow++;
    this.refused++;
    return { kind: "refused", retryAfter: this.#hint(hint) };
  }

  #hint(policy: HintPolicy): number | null {
    if (policy === "none") return null;
    if (policy === "window") {
      return 1000 * Math.max(1, Math.ceil(this.#refusedInPreviousWindow / this.#options.capacity));
    }
    if (policy === "drain") return 1000 * Math.max(1, Math.ceil(this.#refusedInWindow / this.#options.capacity));
    return policy.fixed;
  }
}
