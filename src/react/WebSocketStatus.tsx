import { type HTMLAttributes, type ReactNode, useCallback, useEffect, useRef, useState } from "react";
import type { TopLevelState } from "../machine/types.js";
import type { WebSocketService, WebSocketStatus as StatusSnapshot } from "../services/WebSocketService.js";
import { useWebSocketService } from "./context.js";
import { useCountdown, useWebSocketSelector } from "./hooks.js";
import { webSocketStatusStyles } from "./styles.js";

/** The stable class names of `<WebSocketStatus>`, for theming (see `docs/react.md`). */
export const webSocketStatusClasses = Object.freeze({
  root: "ws-status",
  rootDetails: "ws-status--details",
  dot: "ws-status__dot",
  label: "ws-status__label",
  health: "ws-status__health",
  details: "ws-status__details",
  latency: "ws-status__latency",
  attempt: "ws-status__attempt",
  countdown: "ws-status__countdown",
  error: "ws-status__error",
  network: "ws-status__network",
  reconnect: "ws-status__reconnect",
});

/** The words shown for each top-level state. */
export const defaultStateLabels: Readonly<Record<TopLevelState, string>> = Object.freeze({
  idle: "Idle",
  connecting: "Connecting",
  connected: "Connected",
  backingOff: "Backing off",
  authRequired: "Authentication required",
  exhausted: "Gave up reconnecting",
});

export interface WebSocketStatusProps extends Omit<HTMLAttributes<HTMLDivElement>, "role" | "children"> {
  /** The service to show; defaults to the nearest `<WebSocketProvider>`'s. */
  service?: WebSocketService;
  /** Add health, latency, attempt n/max, last error, network and the retry countdown. @default false */
  showDetails?: boolean;
  /** Render the "Reconnect" button. @default true */
  showReconnect?: boolean;
  /** Replace the words of some states. */
  labels?: Partial<Record<TopLevelState, string>>;
  /** Render `webSocketStatusStyles` in a `<style>` (hoisted and deduplicated by React 19). @default false */
  injectStyles?: boolean;
  /** Called when the button's `forceReconnection()` rejects (the status shows why anyway). */
  onReconnectError?: (error: unknown) => void;
  /** Clock of the countdown; give the service's `now` when it has one. @default Date.now */
  now?: () => number;
}

type CompactSlice = Pick<StatusSnapshot, "state" | "healthScore" | "quality" | "network">;
type DetailSlice = CompactSlice &
  Pick<StatusSnapshot, "attempt" | "maxAttempts" | "nextRetryAt" | "latency" | "lastError">;

const selectCompact = (status: StatusSnapshot): CompactSlice => ({
  state: status.state,
  healthScore: status.healthScore,
  quality: status.quality,
  network: status.network,
});

const selectDetails = (status: StatusSnapshot): DetailSlice => ({
  ...selectCompact(status),
  attempt: status.attempt,
  maxAttempts: status.maxAttempts,
  nextRetryAt: status.nextRetryAt,
  latency: status.latency,
  lastError: status.lastError,
});

/**
 * The connection status indicator: a dot, the state in words and the health in percent;
 * with `showDetails`, a list of the numbers behind them. The root is a polite live region
 * (`role="status"`); the figures that change often are excluded from announcements.
 */
export function WebSocketStatus({
  service,
  showDetails = false,
  showReconnect = true,
  labels,
  injectStyles = false,
  onReconnectError,
  now,
  className,
  ...rest
}: WebSocketStatusProps): ReactNode {
  const resolved = useWebSocketService(service);
  // Compact mode selects fewer fields, so it re-renders less often.
  const status: Partial<DetailSlice> & CompactSlice = useWebSocketSelector(showDetails ? selectDetails : selectCompact, {
    service: resolved,
  });
  const { state, healthScore, quality, network } = status;
  const label = labels?.[state] ?? defaultStateLabels[state];
  const rootClass = [webSocketStatusClasses.root, showDetails && webSocketStatusClasses.rootDetails, className]
    .filter(Boolean)
    .join(" ");

  return (
    <div
      {...rest}
      role="status"
      aria-live="polite"
      className={rootClass}
      data-state={state}
      data-quality={quality}
      data-network={network}
    >
      {injectStyles ? (
        <style href="softphone-websocket-status" precedence="default">
          {webSocketStatusStyles}
        </style>
      ) : null}
      <span className={webSocketStatusClasses.dot} aria-hidden="true" />
      <span className={webSocketStatusClasses.label}>{label}</span>
      {showDetails ? null : (
        <span className={webSocketStatusClasses.health} aria-live="off" title="Connection health">
          {healthScore}%
        </span>
      )}
      {showDetails ? <Details status={status as DetailSlice} now={now} /> : null}
      {showReconnect ? <ReconnectButton service={resolved} onError={onReconnectError} /> : null}
    </div>
  );
}

function Details({ status, now }: { status: DetailSlice; now: (() => number) | undefined }): ReactNode {
  const { state, healthScore, quality, attempt, maxAttempts, nextRetryAt, latency, lastError, network } = status;
  const backingOff = state === "backingOff";
  return (
    <dl className={webSocketStatusClasses.details}>
      <dt>Health</dt>
      <dd className={webSocketStatusClasses.health} aria-live="off">
        {healthScore}% ({quality})
      </dd>
      <dt>Latency</dt>
      <dd className={webSocketStatusClasses.latency} aria-live="off">
        {latency === null ? "not measured" : `${Math.round(latency)} ms${state === "connected" ? "" : " (last measured)"}`}
      </dd>
      <dt>Attempt</dt>
      <dd className={webSocketStatusClasses.attempt}>
        {attempt}/{maxAttempts}
      </dd>
      {backingOff ? (
        <>
          <dt>Next attempt</dt>
          <dd className={webSocketStatusClasses.countdown} aria-live="off">
            {nextRetryAt === null ? "when the network is back" : <Countdown deadline={nextRetryAt} now={now} />}
          </dd>
        </>
      ) : null}
      <dt>Last error</dt>
      <dd className={webSocketStatusClasses.error}>{lastError ? lastError.message : "none"}</dd>
      <dt>Network</dt>
      <dd className={webSocketStatusClasses.network}>{network}</dd>
    </dl>
  );
}

/** Its own component so that the 1-second tick re-renders only this text. */
function Countdown({ deadline, now }: { deadline: number; now: (() => number) | undefined }): ReactNode {
  const remaining = useCountdown(deadline, now) ?? 0;
  const seconds = Math.ceil(remaining / 1000);
  return seconds > 0 ? `in ${seconds} s` : "now";
}

function ReconnectButton({
  service,
  onError,
}: {
  service: WebSocketService;
  onError: ((error: unknown) => void) | undefined;
}): ReactNode {
  const [pending, setPending] = useState(false);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const onClick = useCallback(() => {
    if (pending) return;
    setPending(true);
    service.forceReconnection().then(
      () => {
        if (mounted.current) setPending(false);
      },
      (error: unknown) => {
        if (mounted.current) setPending(false);
        onError?.(error);
      },
    );
  }, [pending, service, onError]);
  return (
    <button
      type="button"
      className={webSocketStatusClasses.reconnect}
      onClick={onClick}
      aria-busy={pending}
      aria-disabled={pending}
      data-pending={pending ? "true" : undefined}
    >
      {pending ? "Reconnecting…" : "Reconnect"}
    </button>
  );
}
