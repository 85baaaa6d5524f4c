import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import type { ServiceEventMap, ServiceEventName } from "../machine/types.js";
import type { ServiceApi } from "../services/serviceApi.js";
import type { WebSocketStatus as StatusSnapshot } from "../services/WebSocketService.js";
import { useWebSocketService } from "./context.js";
import { currentStatus, shallowEqual, subscribeToService } from "./store.js";

export interface SelectorOptions<T> {
  /** The service to read; defaults to the nearest `<WebSocketProvider>`'s. */
  service?: ServiceApi;
  /** When the selection counts as unchanged (no re-render). @default shallowEqual */
  isEqual?: (previous: T, next: T) => boolean;
}

/**
 * Reads a slice of the service's status and re-renders only when that slice changes
 * (by `isEqual`, shallow by default). A component that selects `status.state` does not
 * re-render when the latency moves.
 * @example const state = useWebSocketSelector((status) => status.state);
 */
export function useWebSocketSelector<T>(
  selector: (status: StatusSnapshot) => T,
  options: SelectorOptions<T> = {},
): T {
  const service = useWebSocketService(options.service);
  const isEqual = options.isEqual ?? shallowEqual;
  const last = useRef<{ status: StatusSnapshot; selector: unknown; value: T } | null>(null);
  const subscribe = useCallback((onChange: () => void) => subscribeToService(service, onChange), [service]);
  // Returns the previous selection while it is equal, so useSyncExternalStore sees no change.
  const getSelection = (): T => {
    const status = currentStatus(service);
    const previous = last.current;
    if (previous && previous.status === status && previous.selector === selector) return previous.value;
    const selected = selector(status);
    const value = previous && isEqual(previous.value, selected) ? previous.value : selected;
    last.current = { status, selector, value };
    return value;
  };
  return useSyncExternalStore(subscribe, getSelection, getSelection);
}

/** The status fields {@link useWebSocket} returns. */
export interface WebSocketState {
  state: StatusSnapshot["state"];
  isConnected: boolean;
  healthScore: number;
  quality: StatusSnapshot["quality"];
  attempt: number;
  maxAttempts: number;
  nextRetryAt: number | null;
  nextRetryDelay: number | null;
  latency: number | null;
  lastError: StatusSnapshot["lastError"];
  network: StatusSnapshot["network"];
  socketId: string | null;
}

/** The actions {@link useWebSocket} returns: stable for a given service. */
export interface WebSocketActions {
  send(event: string, ...args: unknown[]): void;
  request<T = unknown>(event: string, ...args: unknown[]): Promise<T>;
  connect(): void;
  disconnect(): void;
  /** `service.forceReconnection()`: resolves when connected, rejects if the attempt ends elsewhere. */
  forceReconnect(): Promise<void>;
  setAuthToken(token: string): void;
}

export interface UseWebSocketResult extends WebSocketState, WebSocketActions {
  service: ServiceApi;
}

function selectState(status: StatusSnapshot): WebSocketState {
  return {
    state: status.state,
    isConnected: status.isConnected,
    healthScore: status.healthScore,
    quality: status.quality,
    attempt: status.attempt,
    maxAttempts: status.maxAttempts,
    nextRetryAt: status.nextRetryAt,
    nextRetryDelay: status.nextRetryDelay,
    latency: status.latency,
    lastError: status.lastError,
    network: status.network,
    socketId: status.socketId,
  };
}

function actionsOf(service: ServiceApi): WebSocketActions {
  return {
    send: (event, ...args) => service.send(event, ...args),
    request: (event, ...args) => service.request(event, ...args),
    connect: () => service.connect(),
    disconnect: () => service.disconnect(),
    forceReconnect: () => service.forceReconnection(),
    setAuthToken: (token) => service.setAuthToken(token),
  };
}

/**
 * The connection status and actions of `service` (or the nearest provider's). The result
 * is the same object until one of its fields changes; the actions never change for a given
 * service. To re-render on fewer fields, use {@link useWebSocketSelector}.
 */
export function useWebSocket(service?: ServiceApi): UseWebSocketResult {
  const resolved = useWebSocketService(service);
  const state = useWebSocketSelector(selectState, { service: resolved });
  const actions = useMemo(() => actionsOf(resolved), [resolved]);
  return useMemo(() => ({ ...state, ...actions, service: resolved }), [state, actions, resolved]);
}

/**
 * Calls `listener` for every `name` event of the service while the component is mounted.
 * The latest `listener` is used; it need not be memoised.
 */
export function useWebSocketEvent<K extends ServiceEventName>(
  name: K,
  listener: (payload: ServiceEventMap[K]) => void,
  service?: ServiceApi,
): void {
  const resolved = useWebSocketService(service);
  const latest = useRef(listener);
  useEffect(() => {
    latest.current = listener;
  });
  useEffect(() => resolved.on(name, (payload) => latest.current(payload)), [resolved, name]);
}

const systemNow = (): number => Date.now();

/**
 * Milliseconds left until `deadline` (epoch ms), re-rendering each time the whole number
 * of seconds left changes; `null` without a deadline. The tick is an effect timer, so it
 * stops with the component.
 */
export function useCountdown(deadline: number | null, now: () => number = systemNow): number | null {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (deadline === null) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = (): void => {
      const remaining = deadline - now();
      if (remaining <= 0) return;
      // Wake just past the moment the displayed second changes.
      timer = setTimeout(
        () => {
          setTick((tick) => tick + 1);
          schedule();
        },
        (remaining % 1000 || 1000) + 5,
      );
    };
    schedule();
    return () => clearTimeout(timer);
  }, [deadline, now]);
  return deadline === null ? null : Math.max(0, deadline - now());
}
