import { type ReactNode, useEffect, useState } from "react";
import type { ServiceEventMap, ServiceEventName, WebSocketService } from "../src/index.js";
import { WebSocketProvider, WebSocketStatus, describeError, useWebSocketSelector } from "../src/react/index.js";
import { Chart } from "./Chart.js";
import type { DemoState } from "./server.js";
import { describeTimings, type TimingsName } from "./timings.js";

/** What the demo's control API reports (type only: nothing of the server reaches the page). */
export type ServerState = DemoState;

interface LogEntry {
  id: number;
  at: number;
  kind: "transition" | "event" | "control";
  text: string;
}

const LOGGED_EVENTS: readonly ServiceEventName[] = [
  "connection:connected",
  "connection:disconnected",
  "connection:failed",
  "connection:reconnecting",
  "connection:reconnected",
  "connection:max_attempts_reached",
  "connection:auth_required",
  "connection:auth_failed",
  "connection:health_degraded",
  "connection:resumed",
  "connection:server_changed",
  "connection:restarting",
  "message:dropped",
  "message:unconfirmed",
];

/** Events whose payload reads better in words; the raw payload follows them in the log. */
const EVENT_WORDS: { [K in ServiceEventName]?: (payload: ServiceEventMap[K]) => string } = {
  "connection:reconnecting": ({ attempt, delay }) => `retry ${attempt} in ${(delay / 1000).toFixed(1)} s`,
  "connection:failed": ({ attempt, error }) =>
    `${describeError(error)?.text ?? "failed"} (${attempt} failed in a row)`,
  "connection:reconnected": ({ attempts }) => `back after ${attempts} ${attempts === 1 ? "retry" : "retries"}`,
  "connection:max_attempts_reached": ({ attempts }) => `gave up after ${attempts} failed attempts in a row`,
};

function describeEvent<K extends ServiceEventName>(name: K, payload: ServiceEventMap[K]): string {
  const words = (EVENT_WORDS[name] as ((payload: ServiceEventMap[K]) => string) | undefined)?.(payload);
  return `${name}${words ? ` · ${words}` : ""} ${JSON.stringify(payload)}`;
}

const MAX_LOG = 300;
let nextLogId = 1;

/** A dotted path of the chart's state value: `backingOff.waiting`, `connected`. */
function statePath(value: unknown): string {
  if (typeof value === "string") return value;
  const [key, inner] = Object.entries(value as Record<string, unknown>)[0] ?? ["?", ""];
  return typeof inner === "string" ? `${key}.${inner}` : key;
}

function useLog(service: WebSocketService): [LogEntry[], (kind: LogEntry["kind"], text: string) => void] {
  // The first line is state, not an effect: StrictMode runs effects twice.
  const [entries, setEntries] = useState<LogEntry[]>(() => [
    { id: nextLogId++, at: Date.now(), kind: "transition", text: `state ${statePath(service.actor.getSnapshot().value)}` },
  ]);
  const add = (kind: LogEntry["kind"], text: string): void =>
    setEntries((previous) => [{ id: nextLogId++, at: Date.now(), kind, text }, ...previous].slice(0, MAX_LOG));
  useEffect(() => {
    let last = statePath(service.actor.getSnapshot().value);
    const push = (kind: LogEntry["kind"], text: string): void =>
      setEntries((previous) => [{ id: nextLogId++, at: Date.now(), kind, text }, ...previous].slice(0, MAX_LOG));
    const subscription = service.actor.subscribe((snapshot) => {
      const path = statePath(snapshot.value);
      if (path === last) return;
      push("transition", `${last} → ${path}`);
      last = path;
    });
    const offs = LOGGED_EVENTS.map((name) =>
      service.on(name, (payload) => push("event", describeEvent(name, payload))),
    );
    return () => {
      subscription.unsubscribe();
      for (const off of offs) off();
    };
  }, [service]);
  return [entries, add];
}

type Control = (command: string, label: string) => Promise<ServerState>;

function Controls({
  service,
  onLog,
  control,
  issueToken,
  serverState,
  timings,
}: {
  service: WebSocketService;
  onLog: (kind: LogEntry["kind"], text: string) => void;
  control: Control;
  issueToken: () => void;
  serverState: ServerState;
  timings: TimingsName;
}): ReactNode {
  const network = useWebSocketSelector((status) => status.network);
  const callActive = useWebSocketSelector((status) => status.callActive);
  const inUse = useWebSocketSelector((status) => status.server);
  return (
    <div className="controls">
      <fieldset>
        <legend>Call</legend>
        <button
          type="button"
          aria-pressed={callActive}
          onClick={() => {
            onLog("control", callActive ? "end the call" : "start a call");
            service.setCallActive(!callActive);
          }}
        >
          {callActive ? "End call" : "Start call"}
        </button>
        <button
          type="button"
          onClick={() => {
            onLog("control", 'sendWith({ priority: "call" }, "hangup")');
            service.sendWith({ priority: "call" }, "hangup", { at: Date.now() });
          }}
        >
          Send hang-up
        </button>
      </fieldset>
      <fieldset>
        <legend>Servers</legend>
        <ul className="servers" data-testid="servers">
          {serverState.socketUrls.map((url, index) => (
            <li key={url} aria-current={url === inUse ? "true" : undefined}>
              {index === 0 ? "primary" : "backup"} {url}
              {index === 0
                ? serverState.serverListening
                  ? " · up"
                  : " · down"
                : serverState.backupListening
                  ? ` · up, ${serverState.backupSockets} sockets`
                  : " · down"}
              {url === inUse ? " · in use" : ""}
            </li>
          ))}
        </ul>
        <button type="button" onClick={() => void control("startBackup", "start the backup server")}>
          Start backup
        </button>
        <button type="button" onClick={() => void control("killBackup", "kill the backup server")}>
          Kill backup
        </button>
        <button type="button" onClick={() => void control("drain", "planned restart of the primary (drainServer: back in 2–5 s)")}>
          Planned restart
        </button>
      </fieldset>
      <fieldset>
        <legend>Server</legend>
        <button type="button" onClick={() => void control("kill", "kill server")}>
          Kill server
        </button>
        <button type="button" onClick={() => void control("restart", "restart server")}>
          Restart server
        </button>
        <button
          type="button"
          aria-pressed={serverState.holding}
          onClick={() => void control("hold", "hold handshakes (the server never answers them)")}
        >
          Hold handshakes
        </button>
        <button type="button" onClick={() => void control("release", "release handshakes")}>
          Release
        </button>
      </fieldset>
      <fieldset>
        <legend>Link</legend>
        <button type="button" onClick={() => void control("blackhole", "cut the link silently")}>
          Cut link silently
        </button>
        <button type="button" onClick={() => void control("restore", "restore the link")}>
          Restore link
        </button>
      </fieldset>
      <fieldset>
        <legend>Token</legend>
        <button type="button" onClick={() => void control("revoke", "revoke the token")}>
          Revoke token
        </button>
        <button type="button" onClick={issueToken}>
          Issue token
        </button>
      </fieldset>
      <fieldset>
        <legend>Network</legend>
        <button type="button" aria-pressed={network === "offline"} onClick={() => {
            onLog("control", "go offline");
            service.notifyOffline();
          }}>
          Go offline
        </button>
        <button type="button" aria-pressed={network === "online"} onClick={() => {
            onLog("control", "go online");
            service.notifyOnline();
          }}>
          Go online
        </button>
      </fieldset>
      <fieldset>
        <legend>Load</legend>
        <button type="button" onClick={() => void control("shed", "shed load (retryAfter 5 s)")}>
          Shed load
        </button>
        <button type="button" onClick={() => void control("unshed", "stop shedding")}>
          Stop shedding
        </button>
      </fieldset>
      <fieldset>
        <legend>Client</legend>
        <button type="button" onClick={() => service.connect()}>
          Connect
        </button>
        <button type="button" onClick={() => service.disconnect()}>
          Disconnect
        </button>
      </fieldset>
      <fieldset>
        <legend>Timings</legend>
        <a href="?" className="button" aria-current={timings === "demo" ? "page" : undefined}>
          Demo
        </a>
        <a href="?timings=fast" className="button" aria-current={timings === "fast" ? "page" : undefined}>
          Fast
        </a>
      </fieldset>
      <p className="timings" data-testid="timings">
        {timings === "fast" ? "Fast timings" : "Demo timings"}: {describeTimings(timings)}. Switching reloads the page.
      </p>
      <p className="server-state" data-testid="server-state">
        server {serverState.serverListening ? "listening" : "down"}
        {serverState.holding ? ", holding handshakes" : ""} · link{" "}
        {serverState.linkBlackholed ? "blackholed" : "forwarding"} · shedding{" "}
        {serverState.shedding === null ? "off" : `retryAfter ${serverState.shedding} ms`} · token {serverState.token} ·
        sockets {serverState.openSockets} {serverState.transports.length > 0 ? `(${serverState.transports.join(", ")})` : ""}
      </p>
      <details className="paths">
        <summary>How to reach each state</summary>
        <ul>
          <li>
            <b>Connecting</b> (held): Hold handshakes. The server accepts the connection and never answers; the
            attempt times out after the attempt timeout. Release lets the next one through.
          </li>
          <li>
            <b>Waiting to retry</b>: Kill server. Restart server to come back.
          </li>
          <li>
            <b>Waiting for network</b>: Go offline, then Kill server (or Cut link silently). Go online tries at once.
          </li>
          <li>
            <b>Signed out</b>: Revoke token. Sign in (or Issue token) resumes.
          </li>
          <li>
            <b>Gave up reconnecting</b>: switch to Fast timings, then Kill server: 3 failed attempts, about 4 s.
            Restart server, then Reconnect.
          </li>
          <li>
            <b>Idle</b>: Disconnect. Connect starts again.
          </li>
          <li>
            <b>Failover</b>: Start backup, then Kill server: after 2 failed attempts the service moves to the backup.
            Restart server: once stable, the primary is checked and the service moves back (during a call, only after
            End call).
          </li>
          <li>
            <b>Server restarting</b>: Planned restart: each client comes back at its own moment 2–5 s later, to the
            backup when it is up, without counting a failure.
          </li>
        </ul>
      </details>
    </div>
  );
}

export function App({
  service,
  initial,
  timings,
}: {
  service: WebSocketService;
  initial: ServerState;
  timings: TimingsName;
}): ReactNode {
  const [entries, log] = useLog(service);
  const [serverState, setServerState] = useState(initial);
  const control: Control = async (command, label) => {
    log("control", label);
    const response = await fetch(`/api/${command}`, { method: "POST" });
    const next = (await response.json()) as ServerState;
    setServerState(next);
    return next;
  };
  const issueToken = (): void => {
    void control("issue", "issue a new token").then((next) => service.setAuthToken(next.token));
  };
  useEffect(() => {
    // The server side can change without a click (sockets opening and closing): refresh it.
    const timer = setInterval(() => {
      fetch("/api/state")
        .then((response) => response.json() as Promise<ServerState>)
        .then(setServerState, () => {});
    }, 2_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <WebSocketProvider service={service}>
      <main>
        <header>
          <h1>@softphone/websocket demo</h1>
          <p className="intro">
            A real Socket.IO server on 127.0.0.1 behind a TCP proxy. Break it with the buttons and watch the status.
          </p>
        </header>
        <section className="status-card" aria-labelledby="status-title">
          <h2 id="status-title">Connection</h2>
          <WebSocketStatus
            showDetails
            injectStyles
            onReconnectError={(error) => log("control", `reconnect: ${String(error)}`)}
            authAction={
              <button type="button" className="sign-in" onClick={issueToken}>
                Sign in
              </button>
            }
          />
        </section>
        <section className="chart" aria-labelledby="chart-title">
          <h2 id="chart-title">Health and latency, last 60 s</h2>
          <Chart />
        </section>
        <section aria-labelledby="controls-title">
          <h2 id="controls-title">Faults</h2>
          <Controls
            service={service}
            onLog={log}
            control={control}
            issueToken={issueToken}
            serverState={serverState}
            timings={timings}
          />
        </section>
        <section aria-labelledby="log-title">
          <h2 id="log-title">Transitions and events</h2>
          <ol className="log" data-testid="log">
            {entries.map((entry) => (
              <li key={entry.id} className={`kind-${entry.kind}`}>
                <time dateTime={new Date(entry.at).toISOString()}>{new Date(entry.at).toLocaleTimeString()}</time>
                {entry.text}
              </li>
            ))}
          </ol>
        </section>
      </main>
    </WebSocketProvider>
  );
}
