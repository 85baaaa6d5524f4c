import type { WebSocketService, WebSocketStatus as StatusSnapshot } from "../services/WebSocketService.js";

/**
 * The bridge between a service and `useSyncExternalStore`: one cached status per chart
 * snapshot, so every hook reading the same service sees the same object until the chart
 * moves. `getStatus()` builds a fresh object per call; calling it only when the actor's
 * snapshot changed is what makes the snapshot stable.
 */
const cache = new WeakMap<WebSocketService, { snapshot: unknown; status: StatusSnapshot }>();

/** The service's status, the same object for as long as the actor's snapshot is the same. */
export function currentStatus(service: WebSocketService): StatusSnapshot {
  const snapshot = service.actor.getSnapshot();
  const cached = cache.get(service);
  if (cached && cached.snapshot === snapshot && cached.status.disposed === service.disposed) return cached.status;
  const status = service.getStatus();
  cache.set(service, { snapshot, status });
  return status;
}

/** Calls `onChange` whenever the chart's snapshot changes (or the actor stops); returns the unsubscribe. */
export function subscribeToService(service: WebSocketService, onChange: () => void): () => void {
  const subscription = service.actor.subscribe({ next: onChange, error: onChange, complete: onChange });
  return () => subscription.unsubscribe();
}

/**
 * `Object.is` on each own key of two plain objects (and on anything else). The default
 * equality of {@link useWebSocketSelector}: a selector returning `{ state, attempt }` keeps
 * its previous object while neither field changed.
 */
export function shallowEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  for (const key of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
    if (!Object.is((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}
