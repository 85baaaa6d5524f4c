import { unusedPort } from "../../lab/tcpProxy.js";
import type {
  ConnectionConfig,
  ConnectionContext,
  ServiceEventMap,
  ServiceEventName,
  TopLevelState,
} from "../../src/machine/types.js";
import { createWebSocketService, type WebSocketService } from "../../src/services/WebSocketService.js";

/** Resolves with the next `name` event (that passes `filter`), rejects after `timeout` ms. */
export function waitForEvent<K extends ServiceEventName>(
  service: WebSocketService,
  name: K,
  options: { timeout?: number; filter?: (payload: ServiceEventMap[K]) => boolean } = {},
): Promise<ServiceEventMap[K]> {
  const timeout = options.timeout ?? 10_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${name}" within ${timeout} ms (state ${service.getStatus().state})`));
    }, timeout);
    const off = service.on(name, (payload) => {
      if (options.filter && !options.filter(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Resolves once the service is in `state` (at once if it already is), rejects after `timeout` ms. */
export function waitForState(service: WebSocketService, state: TopLevelState, timeout = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (service.getStatus().state === state) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`not ${state} within ${timeout} ms (state ${service.getStatus().state})`));
    }, timeout);
    const subscription = service.actor.subscribe(() => {
      if (service.getStatus().state !== state) return;
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve();
    });
  });
}

/** Resolves when the chart's context satisfies `predicate`, rejects after `timeout` ms. */
export function untilContext(svc: WebSocketService, predicate: (context: ConnectionContext) => boolean, timeout = 10_000) {
  return new Promise<void>((resolve, reject) => {
    if (predicate(svc.actor.getSnapshot().context)) {
      resolve();
      return;
    }
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`context condition not met within ${timeout} ms (state ${svc.getStatus().state})`));
    }, timeout);
    const subscription = svc.actor.subscribe((snapshot) => {
      if (!predicate(snapshot.context)) return;
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve();
    });
  });
}

/** Records every listed event with the time it arrived. */
export function recordEvents(service: WebSocketService, names: readonly ServiceEventName[]) {
  const events: { name: ServiceEventName; payload: unknown; at: number }[] = [];
  const offs = names.map((name) => service.on(name, (payload) => events.push({ name, payload, at: Date.now() })));
  return {
    events,
    of: <K extends ServiceEventName>(name: K) =>
      events.filter((event) => event.name === name).map((event) => event.payload as ServiceEventMap[K]),
    stop: () => offs.forEach((off) => off()),
  };
}

/**
 * Retries `check` until it stops throwing, for conditions no event announces (resources a
 * closed socket releases on a later tick). Fails with the last error after `timeout` ms.
 */
export async function eventually(check: () => void, timeout = 5_000, interval = 20): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }
}

/** Active handles and requests other than the test runner's own pipes and the listed kinds. */
export function activeResources(ignore: readonly string[] = ["PipeWrap", "TTYWrap", "FSReqCallback"]): string[] {
  return process.getActiveResourcesInfo().filter((kind) => !ignore.includes(kind));
}

/** Things to close after a test, closed in reverse order; errors are collected, not swallowed. */
export function createCleanup() {
  const tasks: (() => unknown)[] = [];
  return {
    /** Registers `close` and returns `value`, for `const server = cleanup.add(await LabServer.start(), (s) => s.close())`. */
    add<T>(value: T, close: (value: T) => unknown): T {
      tasks.push(() => close(value));
      return value;
    },
    async run(): Promise<void> {
      const errors: unknown[] = [];
      while (tasks.length > 0) {
        const task = tasks.pop()!;
        try {
          await task();
        } catch (error) {
          errors.push(error);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, "cleanup failed");
    },
  };
}

/** Resolves with the events listed in `names` that `service` emitted while `during` was pending. */
export async function eventsDuring<T>(
  service: WebSocketService,
  names: readonly ServiceEventName[],
  during: Promise<T>,
): Promise<{ result: T; events: { name: ServiceEventName; payload: unknown }[] }> {
  const recorder = recordEvents(service, names);
  try {
    const result = await during;
    return { result, events: recorder.events.map(({ name, payload }) => ({ name, payload })) };
  } finally {
    recorder.stop();
  }
}

/**
 * A stretch of real time at least as long as `retries` retry delays of `config`, drawn at the
 * top of the jitter range: a reference service with that backoff runs its own retry loop
 * against a refused port until it is exhausted. For absence checks ("no further attempt"):
 * a retry the service under test scheduled with the same config within `retries` steps
 * would have fired before this resolves. Resolves with the elapsed ms.
 */
export async function referenceRetryLoop(config: Partial<ConnectionConfig>, retries: number): Promise<number> {
  const started = Date.now();
  const reference = createWebSocketService({
    url: `http://127.0.0.1:${await unusedPort()}`,
    config: { ...config, maxReconnectAttempts: retries + 1 },
    random: () => 0.999,
  });
  try {
    const exhausted = waitForEvent(reference, "connection:max_attempts_reached", { timeout: 15_000 });
    reference.connect();
    await exhausted;
    return Date.now() - started;
  } finally {
    reference.dispose();
  }
}

/** Resolves with the next `count` `name` events (that pass `filter`), rejects after `timeout` ms. */
export function waitForEvents<K extends ServiceEventName>(
  service: WebSocketService,
  name: K,
  count: number,
  options: { timeout?: number; filter?: (payload: ServiceEventMap[K]) => boolean } = {},
): Promise<ServiceEventMap[K][]> {
  const timeout = options.timeout ?? 10_000;
  const seen: ServiceEventMap[K][] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${seen.length}/${count} "${name}" within ${timeout} ms (state ${service.getStatus().state})`));
    }, timeout);
    const off = service.on(name, (payload) => {
      if (options.filter && !options.filter(payload)) return;
      seen.push(payload);
      if (seen.length < count) return;
      clearTimeout(timer);
      off();
      resolve(seen);
    });
  });
}

/**
 * Things a server-side handler records (heartbeats, messages), with the time each arrived,
 * and a way to await the n-th one without polling.
 */
export class Tally<T = undefined> {
  readonly items: { value: T; at: number }[] = [];
  readonly #waiters = new Set<{ count: number; resolve(): void }>();

  get count(): number {
    return this.items.length;
  }

  get values(): T[] {
    return this.items.map((item) => item.value);
  }

  push(value: T): void {
    this.items.push({ value, at: Date.now() });
    for (const waiter of [...this.#waiters]) {
      if (this.items.length >= waiter.count) {
        this.#waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Resolves once `count` items were recorded in all (at once if they already were). */
  waitFor(count: number, timeout = 10_000): Promise<void> {
    if (this.items.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`${this.items.length}/${count} recorded within ${timeout} ms`));
      }, timeout);
      this.#waiters.add(waiter);
    });
  }
}
