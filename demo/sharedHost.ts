/// <reference lib="webworker" />
import { createWebSocketService, exposeService } from "../src/index.js";
import type { DemoState } from "./server.js";
import { DEMO_TIMINGS } from "./timings.js";

/**
 * The demo's SharedWorker: the one service of every shared.html window (issue 13). Each window
 * that opens this worker connects a port; each port is served as one remote.
 */
const scope = self as unknown as SharedWorkerGlobalScope;

const ready = fetch("/api/state")
  .then((response) => response.json() as Promise<DemoState>)
  .then((state) =>
    createWebSocketService({
      url: state.socketUrl,
      auth: { token: state.token },
      config: DEMO_TIMINGS.demo,
      // A worker has no XMLHttpRequest, which Engine.IO's long-polling needs.
      socketOptions: { transports: ["websocket"] },
      autoConnect: true,
    }),
  );

scope.onconnect = (event) => {
  const port = event.ports[0];
  if (!port) return;
  // Messages the window posts before the service exists wait in the port.
  void ready.then((service) => exposeService(service, port));
};
