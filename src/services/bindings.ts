import type { WebSocketService } from "./WebSocketService.js";

type Notifiable = Pick<WebSocketService, "notifyOnline" | "notifyOffline" | "notifyResume">;

/** The part of `window`/`globalThis` the browser binding uses. */
export interface BrowserEventTarget {
  addEventListener(type: string, listener: (event: unknown) => void): void;
  removeEventListener(type: string, listener: (event: unknown) => void): void;
  document?: { visibilityState?: string; addEventListener?: BrowserEventTarget["addEventListener"]; removeEventListener?: BrowserEventTarget["removeEventListener"] };
  navigator?: { onLine?: boolean };
}

/**
 * Forwards the browser's `online`/`offline` events to the service, and treats a page that
 * becomes visible again (`visibilitychange`, `pageshow` from the back/forward cache) as a
 * resume. Touches `target` only; returns the unbind function.
 */
export function bindBrowserNetwork(
  service: Notifiable,
  target: BrowserEventTarget = globalThis as unknown as BrowserEventTarget,
): () => void {
  if (!target || typeof target.addEventListener !== "function") {
    throw new TypeError("bindBrowserNetwork: target must have addEventListener/removeEventListener");
  }
  const online = () => service.notifyOnline();
  const offline = () => service.notifyOffline();
  const resume = () => service.notifyResume();
  const visibility = () => {
    if (target.document?.visibilityState === "visible") resume();
  };
  target.addEventListener("online", online);
  target.addEventListener("offline", offline);
  target.addEventListener("pageshow", resume);
  const visibilityTarget = target.document?.addEventListener ? target.document : target;
  visibilityTarget.addEventListener?.("visibilitychange", visibility);
  if (target.navigator?.onLine === false) offline();
  return () => {
    target.removeEventListener("online", online);
    target.removeEventListener("offline", offline);
    target.removeEventListener("pageshow", resume);
    visibilityTarget.removeEventListener?.("visibilitychange", visibility);
  };
}

/** The slice of Electron's `powerMonitor` the binding needs (so the package never imports electron). */
export interface PowerMonitorLike {
  on(event: string, listener: () => void): unknown;
  off?(event: string, listener: () => void): unknown;
  removeListener?(event: string, listener: () => void): unknown;
}

/**
 * Electron main process: `resume` and `unlock-screen` probe the connection at once;
 * `suspend` marks the network offline so that no attempt is wasted while asleep (the
 * following `resume` brings it back online). Returns the unbind function.
 */
export function bindPowerMonitor(service: Notifiable, powerMonitor: PowerMonitorLike): () => void {
  if (!powerMonitor || typeof powerMonitor.on !== "function") {
    throw new TypeError("bindPowerMonitor: powerMonitor must have on() and off() or removeListener()");
  }
  const suspend = () => service.notifyOffline();
  const resume = () => {
    service.notifyOnline();
    service.notifyResume();
  };
  const unlock = () => service.notifyResume();
  const handlers: [string, () => void][] = [
    ["suspend", suspend],
    ["resume", resume],
    ["unlock-screen", unlock],
    ["lock-screen", () => {}],
  ];
  for (const [name, handler] of handlers) powerMonitor.on(name, handler);
  return () => {
    for (const [name, handler] of handlers) {
      if (powerMonitor.off) powerMonitor.off(name, handler);
      else powerMonitor.removeListener?.(name, handler);
    }
  };
}
