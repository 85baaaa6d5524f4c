import type { ServiceEventMap, ServiceEventName } from "../../src/machine/types.js";
import type { WebSocketService } from "../../src/services/WebSocketService.js";

/** A wait that ran out of time: the story stops with this message. */
export class StoryTimeout extends Error {
  override readonly name = "StoryTimeout";
}

interface EventWaitOptions<K extends ServiceEventName> {
  filter?: (payload: ServiceEventMap[K]) => boolean;
  /** ms; the story's default patience when omitted. */
  timeout?: number;
}

/** Reports a wait that is still going after `elapsedMs` (every `every` ms of it). */
export interface WaitProgress {
  every: number;
  report(what: string, elapsedMs: number): void;
}

/**
 * Everything the story waits for, as promises settled by service events, actor snapshots
 * or server-side records: never a sleep used to synchronise. Every pending wait holds a
 * timer that `cancelAll()` releases, so an aborted story leaves nothing running. A long wait
 * reports its progress (with real timings some last minutes).
 */
export class Waits {
  readonly #service: WebSocketService;
  readonly #patience: number;
  readonly #heartbeatInterval: number;
  readonly #progress: WaitProgress | null;
  readonly #cancels = new Set<() => void>();

  /** `patience`: the default timeout of a wait, ms. */
  constructor(service: WebSocketService, patience: number, heartbeatInterval: number, progress: WaitProgress | null = null) {
    this.#service = service;
    this.#patience = patience;
    this.#heartbeatInterval = heartbeatInterval;
    this.#progress = progress;
  }

  /**
   * The core of every wait: `watch` calls `done(value)` when the condition holds and returns
   * its unsubscribe; the wait rejects with a {@link StoryTimeout} after `timeout` ms.
   */
  until<T>(what: string, timeout: number | undefined, watch: (done: (value: T) => void) => () => void): Promise<T> {
    const limit = timeout ?? this.#patience;
    let settled = false;
    let unwatch: (() => void) | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let ticker: ReturnType<typeof setInterval> | null = null;
    const cancel = () => {
      settled = true;
      if (timer) clearTimeout(timer);
      if (ticker) clearInterval(ticker);
      unwatch?.();
      this.#cancels.delete(cancel);
    };
    const progress = this.#progress;
    if (progress) {
      let elapsed = 0;
      ticker = setInterval(() => {
        elapsed += progress.every;
        progress.report(what, elapsed);
      }, progress.every);
    }
    const promise = new Promise<T>((resolve, reject) => {
      timer = setTimeout(() => {
        if (settled) return;
        cancel();
        const status = this.#service.getStatus();
        reject(
          new StoryTimeout(
            `timed out after ${limit} ms waiting for ${what} (state ${status.state}, attempt ${status.attempt}/${status.maxAttempts})`,
          ),
        );
      }, limit);
      this.#cancels.add(cancel);
      const unsubscribe = watch((value) => {
        if (settled) return;
        cancel();
        resolve(value);
      });
      if (settled) unsubscribe();
      else unwatch = unsubscribe;
    });
    // Waits are often created before the action that triggers them and awaited after it;
    // a rejection in between must not count as unhandled.
    promise.catch(() => {});
    return promise;
  }

  /** The next `name` event (that passes `filter`). Create it before the action that causes it. */
  event<K extends ServiceEventName>(name: K, options: EventWaitOptions<K> = {}): Promise<ServiceEventMap[K]> {
    return this.events(name, 1, options).then((payloads) => payloads[0]!);
  }

  /** The next `count` `name` events. */
  events<K extends ServiceEventName>(
    name: K,
    count: number,
    options: EventWaitOptions<K> = {},
  ): Promise<ServiceEventMap[K][]> {
    const seen: ServiceEventMap[K][] = [];
    const what = count === 1 ? `"${name}"` : `${count} "${name}" events`;
    return this.until(what, options.timeout, (done) =>
      this.#service.on(name, (payload) => {
        if (options.filter && !options.filter(payload)) return;
        seen.push(payload);
        if (seen.length >= count) done(seen);
      }),
    );
  }

  /**
   * The next `count` heartbeat acks on the current connection, read from the chart's
   * snapshots (an ack moves the heartbeat region to `resting` with a new sequence number).
   * Resolves with the last measured latency.
   */
  heartbeatAcks(count: number, timeout?: number): Promise<number | null> {
    const actor = this.#service.actor;
    const start = actor.getSnapshot();
    // An ack already in when the wait starts is not counted.
    let lastCounted = start.matches({ connected: { heartbeat: "resting" } }) ? start.context.heartbeatSeq : -1;
    let acked = 0;
    const limit = timeout ?? this.#patience + count * this.#heartbeatInterval;
    return this.until(`${count} heartbeat acks`, limit, (done) => {
      const subscription = actor.subscribe((snapshot) => {
        const { heartbeatSeq, heartbeatsAcked, latency } = snapshot.context;
        const resting = snapshot.matches({ connected: { heartbeat: "resting" } });
        if (!resting || !heartbeatsAcked || heartbeatSeq === lastCounted) return;
        lastCounted = heartbeatSeq;
        acked += 1;
        if (acked >= count) done(latency);
      });
      return () => subscription.unsubscribe();
    });
  }

  /**
   * An observation window: lets `ms` pass to show that nothing happens in it (no attempt
   * while offline or exhausted). Not a synchronisation: nothing waits on a side effect.
   */
  observe(ms: number): Promise<void> {
    return this.until<void>(`an observation window of ${ms} ms`, ms + 60_000, (done) => {
      const timer = setTimeout(() => done(), ms);
      return () => clearTimeout(timer);
    });
  }

  /** Releases every pending wait (their promises never settle). */
  cancelAll(): void {
    for (const cancel of [...this.#cancels]) cancel();
  }
}

/** A value that changes, with listeners: server-side records the story awaits. */
export class Signal {
  readonly #listeners = new Set<() => void>();

  notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  /** Calls `check` now and after every notify until it returns something other than undefined. */
  watch<T>(check: () => T | undefined): (done: (value: T) => void) => () => void {
    return (done) => {
      const listener = () => {
        const value = check();
        if (value !== undefined) done(value);
      };
      this.#listeners.add(listener);
      listener();
      return () => this.#listeners.delete(listener);
    };
  }
}
