import { type ReactNode, useEffect, useState } from "react";
import type { ServiceEventName, WebSocketService } from "../src/index.js";
import { WebSocketProvider, WebSocketStatus, useWebSocketSelector } from "../src/react/index.js";
import { Chart } from "./Chart.js";
import type { DemoState } from "./server.js";

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
  "message:dropped",
  "message:unconfirmed",
];

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
      service.on(name, (payload) => push("event", `${name} ${JSON.stringify(payload)}`)),
    );
    return () => {
      subscription.unsubscribe();
      for (const off of offs) off();
    };
  }, [service]);
  return [entries, add];
}

function Controls({
  service,
  onLog,
  serverState,
  setServerState,
}: {
  service: WebSocketService;
  onLog: (kind: LogEntry["kind"], text: string) => void;
  serverState: ServerState;
  setServerState: (state: ServerState) => void;
}): ReactNode {
  const network = useWebSocketSelector((status) => status.network);
  const control = async (command: string, label: string): Promise<ServerState> => {
    onLog("control", label);
    const response = await fetch(`/api/${command}`, { method: "POST" });
    const next = (await response.json()) as ServerState;
    setServerState(next);
    return next;
  };
  return (
    <div className="controls">
      <fieldset>
        <legend>Server</legend>
        <button type="button" onClick={() => void control("kill", "kill server")}>
          Kill server
        </button>
        <button type="button" onClick={() => void control("restart", "restart server")}>
          Restart server
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
        <button
          type="button"
          onClick={() =>
            void control("issue", "issue a new token").then((next) => service.setAuthToken(next.token))
          }
        >
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
      <p className="server-state" data-testid="server-state">
        server {serverState.serverListening ? "listening" : "down"} · link{" "}
        {serverState.linkBlackholed ? "blackholed" : "forwarding"} · shedding{" "}
        {serverState.shedding === null ? "off" : `retryAfter ${serverState.shedding} ms`} · token {serverState.token} ·
        sockets {serverState.openSockets} {serverState.transports.length > 0 ? `(${serverState.transports.join(", ")})` : ""}
      </p>
    </div>
  );
}

export function App({ service, initial }: { service: WebSocketService; initial: ServerState }): ReactNode {
  const [entries, log] = useLog(service);
  const [serverState, setServerState] = useState(initial);
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
          />
        </section>
        <section className="chart" aria-labelledby="chart-title">
          <h2 id="chart-title">Health and latency, last 60 s</h2>
          <Chart />
        </section>
        <section aria-labelledby="controls-title">
          <h2 id="controls-title">Faults</h2>
          <Controls service={service} onLog={log} serverState={serverState} setServerState={setServerState} />
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
