import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createWebSocketService } from "../src/index.js";
import { App, type ServerState } from "./App.js";

/**
 * The service is created once, here, before React renders: no component creates a socket,
 * so StrictMode's double effects cannot open a second one.
 */
async function boot(): Promise<void> {
  const response = await fetch("/api/state");
  const initial = (await response.json()) as ServerState;
  const service = createWebSocketService({
    url: initial.socketUrl,
    auth: { token: initial.token },
    config: {
      maxReconnectAttempts: 10,
      baseDelay: 2_000,
      maxDelay: 16_000,
      jitterStrategy: "additive",
      jitterRange: 1_000,
      connectionTimeout: 5_000,
      heartbeatInterval: 2_000,
      heartbeatTimeout: 1_500,
      healthCheckInterval: 2_000,
      unhealthyThreshold: 2,
    },
    autoConnect: true,
  });
  (window as unknown as { demoService: typeof service }).demoService = service;
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <App service={service} initial={initial} />
    </StrictMode>,
  );
}

boot().catch((error: unknown) => {
  document.getElementById("root")!.textContent = `The demo could not start: ${String(error)}`;
});
