import type { ServiceApi } from "../services/serviceApi.js";
import type { WebSocketStatus as StatusSnapshot } from "../services/WebSocketService.js";

/**
 * The bridge between a service and `useSyncExternalStore`. The service owns the stable
 * status (one object per chart snapshot, see `getStatusSnapshot()`), so every hook reading
 * the same service sees the same object until the chart moves; this layer only subscribes.
 */
export function currentStatus(service: ServiceApi): StatusSnapshot {
  return service.getStatusSnapshot();
}

/** Calls `onChange` whenever the chart's snapshot changes (or the actor stops); returns the unsubscribe. */
export function subscribeToService(service: ServiceApi, onChange: () => void): () => void {
  return service.subscribe(onChange);
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
