import type { ServiceEventMap, ServiceEventName, TopLevelState } from "../../src/machine/types.js";
import type { WebSocketService } from "../../src/services/WebSocketService.js";

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
