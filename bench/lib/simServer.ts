import type { StormClock } from "./stormClock.js";

/** What a simulated handshake comes back with. */
export type HandshakeOutcome =
  | { kind: "connected" }
  | { kind: "down" }
  | { kind: "refused"; retryAfter: number | null };

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

  /** The client holds the connection (its `drop` is called when the server dies). */
  link(client: number, drop: () => void): void {
    this.#links.set(client, drop);
    const t = this.#options.clock.now();
    if (t >= this.#options.dieAt && Number.isNaN(this.reconnectedAt[client]!)) {
      this.reconnectedAt[client] = t;
      this.reconnected++;
    }
  }

  /** The client closed its connection. */
  unlink(client: number): void {
    this.#links.delete(client);
  }

  /** Kills the server: every connection drops. */
  die(): void {
    const drops = [...this.#links.values()];
    this.#links.clear();
    for (const drop of drops) drop();
  }

  #decide(t: number): HandshakeOutcome {
    const { dieAt, capacity, hint } = this.#options;
    if (t < dieAt) return { kind: "connected" };
    if (t < this.restartAt) return { kind: "down" };
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
