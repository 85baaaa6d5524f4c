import { type ReactNode, StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { connectToService, type RemoteService } from "../src/index.js";
import { WebSocketProvider, WebSocketStatus, useWebSocket, useWebSocketEvent, useWebSocketSelector } from "../src/react/index.js";

/**
 * A window that shares the connection of a SharedWorker (demo/sharedHost.ts): open this page in
 * two windows or tabs and the server sees one socket. The React tree is the one a window with its
 * own service would have; only the service is a remote.
 */
const tag = Math.random().toString(36).slice(2, 8);

const remote = connectToService(
  // Asked again whenever the host is lost: a new SharedWorker object reaches the running worker,
  // or starts a new one if it died.
  () => new SharedWorker(new URL("./sharedHost.ts", import.meta.url), { type: "module", name: "softphone-websocket" }).port,
);
// The host notices a closed window within its heartbeat timeout anyway; saying goodbye is faster.
window.addEventListener("pagehide", () => remote.dispose());
(window as unknown as { sharedRemote: RemoteService; pageTag: string }).sharedRemote = remote;
(window as unknown as { pageTag: string }).pageTag = tag;

function HostLink(): ReactNode {
  const host = useWebSocketSelector((status) => (status as ReturnType<RemoteService["getStatus"]>).host);
  return (
    <p className="shared-host" data-host={host}>
      Shared worker: <strong>{host}</strong>
    </p>
  );
}

function Ask(): ReactNode {
  const { request, isConnected } = useWebSocket();
  const [reply, setReply] = useState("");
  const ask = (): void => {
    setReply("…");
    request<string>("echo", `echo:${tag}`).then(setReply, (error: unknown) => setReply(`error: ${String(error)}`));
  };
  return (
    <p>
      <button type="button" onClick={ask} disabled={!isConnected}>
        Ask the server
      </button>{" "}
      <output id="reply">{reply}</output>
    </p>
  );
}

function Log(): ReactNode {
  const [lines, setLines] = useState<string[]>([]);
  const add = (line: string): void => setLines((previous) => [`${new Date().toLocaleTimeString()} ${line}`, ...previous].slice(0, 50));
  useWebSocketEvent("connection:connected", ({ socketId }) => add(`connected ${socketId}`));
  useWebSocketEvent("connection:disconnected", ({ reason }) => add(`disconnected: ${reason}`));
  useWebSocketEvent("connection:reconnecting", ({ attempt, delay }) => add(`retry ${attempt} in ${(delay / 1000).toFixed(1)} s`));
  return (
    <ol className="shared-log">
      {lines.map((line, index) => (
        <li key={`${index}-${line}`}>{line}</li>
      ))}
    </ol>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <WebSocketProvider service={remote}>
      <main>
        <h1>One connection for every window</h1>
        <p>
          Window <code id="tag">{tag}</code>. Open this page in another window: both share the SharedWorker&apos;s socket.{" "}
          <a href="/">Back to the demo</a>
        </p>
        <section className="status-card">
          <WebSocketStatus showDetails />
        </section>
        <HostLink />
        <Ask />
        <Log />
      </main>
    </WebSocketProvider>
  </StrictMode>,
);
