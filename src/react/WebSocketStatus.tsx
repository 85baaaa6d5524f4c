import { type HTMLAttributes, type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { TopLevelState } from "../machine/types.js";
import type { ServiceApi } from "../services/serviceApi.js";
import type { WebSocketStatus as StatusSnapshot } from "../services/WebSocketService.js";
import { useWebSocketService } from "./context.js";
import { describeError } from "./describeError.js";
import { useCountdown, useWebSocketSelector } from "./hooks.js";
import { defaultStatusLabels, resolveStatusLabels, type StatusLabelOverrides, type StatusLabels } from "./labels.js";
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
  server: "ws-status__server",
  call: "ws-status__call",
  item: "ws-status__item",
  hint: "ws-status__hint",
  auth: "ws-status__auth",
  reconnect: "ws-status__reconnect",
});

/**
 * The words shown for each top-level state.
 * @deprecated Use `defaultStatusLabels`, which holds these and every other string.
 */
export const defaultStateLabels: Readonly<Record<TopLevelState, string>> = Object.freeze({
  idle: defaultStatusLabels.idle,
  connecting: defaultStatusLabels.connecting,
  connected: defaultStatusLabels.connected,
  backingOff: defaultStatusLabels.backingOff,
  authRequired: defaultStatusLabels.authRequired,
  exhausted: defaultStatusLabels.exhausted,
});

export interface WebSocketStatusProps extends Omit<HTMLAttributes<HTMLDivElement>, "role" | "children"> {
  /** The service to show; defaults to the nearest `<WebSocketProvider>`'s. */
  service?: ServiceApi;
  /** Add health, latency, failed attempts n/max, last error, network and the retry countdown. @default false */
  showDetails?: boolean;
  /** Render the "Reconnect" button (never in `authRequired`, where it cannot help). @default true */
  showReconnect?: boolean;
  /**
   * Replace any visible string: the state words, quality words, error words, the countdown,
   * the attempt text, the button... (see `StatusLabels`); the rest stays English.
   * @example <WebSocketStatus labels={{ connected: "Verbunden", countdown: (s) => `in ${s} s` }} />
   */
  labels?: StatusLabelOverrides;
  /**
   * Shown in `authRequired` instead of the Reconnect button: your sign-in control (a button
   * that gets a token and calls `setAuthToken`). Without it, `labels.authHint` is shown.
   */
  authAction?: ReactNode;
  /** Render `webSocketStatusStyles` in a `<style>` (hoisted and deduplicated by React 19). @default false */
  injectStyles?: boolean;
  /** Called when the button's `forceReconnection()` rejects (the status shows why anyway). */
  onReconnectError?: (error: unknown) => void;
  /** Clock of the countdown; give the service's `now` when it has one. @default Date.now */
  now?: () => number;
}

type CompactSlice = Pick<StatusSnapshot, "state" | "healthScore" | "quality" | "network" | "restarting" | "callActive">;
type DetailSlice = CompactSlice &
  Pick<StatusSnapshot, "attempt" | "maxAttempts" | "nextRetryAt" | "latency" | "lastError" | "server">;

const selectCompact = (status: StatusSnapshot): CompactSlice => ({
  state: status.state,
  healthScore: status.healthScore,
  quality: status.quality,
  network: status.network,
  // A status from an older host may lack them.
  restarting: status.restarting === true,
  callActive: status.callActive === true,
});

const selectDetails = (status: StatusSnapshot): DetailSlice => ({
  ...selectCompact(status),
  attempt: status.attempt,
  maxAttempts: status.maxAttempts,
  nextRetryAt: status.nextRetryAt,
  latency: status.latency,
  lastError: status.lastError,
  server: status.server,
});

/** The words of the state, where the network being reported offline changes their meaning. */
function stateWords({ state, network, restarting }: CompactSlice, labels: StatusLabels): string {
  if (network === "offline" && state === "backingOff") return labels.waitingForNetwork;
  if (restarting && (state === "backingOff" || state === "connecting")) return labels.restarting;
  if (network === "offline" && state === "connected") return labels.connectedOffline;
  return labels[state];
}

/**
 * The connection status indicator: a dot, the state in words and the health in percent;
 * with `showDetails`, a list of the numbers behind them. The root is a polite live region
 * (`role="status"`); the figures that change often are excluded from announcements.
 */
export function WebSocketStatus({
  service,
  showDetails = false,
  showReconnect = true,
  labels: overrides,
  authAction,
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
  const labels = useMemo(() => resolveStatusLabels(overrides), [overrides]);
  const { state, healthScore, quality, network, callActive } = status;
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
      data-call={callActive ? "active" : undefined}
    >
      {injectStyles ? (
        <style href="softphone-websocket-status" precedence="default">
          {webSocketStatusStyles}
        </style>
      ) : null}
      <span className={webSocketStatusClasses.dot} aria-hidden="true" />
      <span className={webSocketStatusClasses.label}>{stateWords(status, labels)}</span>
      {callActive ? <span className={webSocketStatusClasses.call}>{labels.inCall}</span> : null}
      {showDetails ? null : (
        <span className={webSocketStatusClasses.health} aria-live="off" title={labels.healthTitle}>
          {labels.healthValue(healthScore)}
        </span>
      )}
      {state === "authRequired" ? (
        <span className={webSocketStatusClasses.auth}>{authAction ?? labels.authHint}</span>
      ) : showReconnect ? (
        <ReconnectButton service={resolved} onError={onReconnectError} labels={labels} />
      ) : null}
      {showDetails ? <Details status={status as DetailSlice} now={now} labels={labels} /> : null}
    </div>
  );
}

interface DetailsProps {
  status: DetailSlice;
  now: (() => number) | undefined;
  labels: StatusLabels;
}

function Details({ status, now, labels }: DetailsProps): ReactNode {
  const { state, healthScore, quality, attempt, maxAttempts, nextRetryAt, latency, lastError, network, server } = status;
  const backingOff = state === "backingOff";
  const error = describeError(lastError, labels.errors);
  return (
    <>
      {state === "exhausted" ? <p className={webSocketStatusClasses.hint}>{labels.exhaustedHint(attempt)}</p> : null}
      <dl className={webSocketStatusClasses.details}>
        <div className={webSocketStatusClasses.item}>
          <dt>{labels.healthTerm}</dt>
          <dd className={webSocketStatusClasses.health} aria-live="off">
            {labels.healthWithQuality(healthScore, labels.quality[quality])}
          </dd>
        </div>
        <div className={webSocketStatusClasses.item}>
          <dt>{labels.latencyTerm}</dt>
          <dd className={webSocketStatusClasses.latency} aria-live="off">
            {latency === null
              ? labels.latencyNone
              : state === "connected"
                ? labels.latencyValue(Math.round(latency))
                : labels.latencyStale(Math.round(latency))}
          </dd>
        </div>
        <div className={webSocketStatusClasses.item}>
          <dt>{labels.attemptTerm}</dt>
          <dd className={webSocketStatusClasses.attempt}>{labels.attemptValue(attempt, maxAttempts)}</dd>
        </div>
        {backingOff ? (
          <div className={webSocketStatusClasses.item}>
            <dt>{labels.countdownTerm}</dt>
            <dd className={webSocketStatusClasses.countdown} aria-live="off">
              {nextRetryAt === null ? (
                labels.countdownOffline
              ) : (
                <Countdown deadline={nextRetryAt} now={now} render={(s) => (s > 0 ? labels.countdown(s) : labels.countdownNow)} />
              )}
            </dd>
          </div>
        ) : null}
        <div className={webSocketStatusClasses.item}>
          <dt>{labels.errorTerm}</dt>
          <dd className={webSocketStatusClasses.error} data-error={error?.kind} title={error?.raw}>
            {error === null ? (
              labels.errorNone
            ) : error.kind === "serverBusy" && backingOff && nextRetryAt !== null ? (
              <Countdown
                deadline={nextRetryAt}
                now={now}
                render={(s) => (s > 0 ? labels.serverBusyRetry(s) : error.text)}
              />
            ) : (
              error.text
            )}
          </dd>
        </div>
        <div className={webSocketStatusClasses.item}>
          <dt>{labels.networkTerm}</dt>
          <dd className={webSocketStatusClasses.network}>{labels.network[network]}</dd>
        </div>
        {server ? (
          <div className={webSocketStatusClasses.item}>
            <dt>{labels.serverTerm}</dt>
            <dd className={webSocketStatusClasses.server}>{server}</dd>
          </div>
        ) : null}
      </dl>
    </>
  );
}

/** Its own component so that the 1-second tick re-renders only this text. */
function Countdown({
  deadline,
  now,
  render,
}: {
  deadline: number;
  now: (() => number) | undefined;
  /** The text for the whole seconds left (0 once due). */
  render: (seconds: number) => string;
}): ReactNode {
  const remaining = useCountdown(deadline, now) ?? 0;
  return render(Math.ceil(remaining / 1000));
}

function ReconnectButton({
  service,
  onError,
  labels,
}: {
  service: ServiceApi;
  onError: ((error: unknown) => void) | undefined;
  labels: StatusLabels;
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
      {pending ? labels.reconnecting : labels.reconnect}
    </button>
  );
}
