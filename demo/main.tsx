import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createWebSocketService } from "../src/index.js";
import { App, type ServerState } from "./App.js";
import { DEMO_TIMINGS, timingsFromUrl } from "./timings.js";

/**
 * The service is created once, here, before React renders: no component creates a socket,
 * so StrictMode's double effects cannot open a second one.
 */
async function boot(): Promise<void> {
  const response = await fetch("/api/state");
  const initial = (await response.json()) as ServerState;
  const timings = timingsFromUrl(window.location.search);
  const service = createWebSocketService({
    url: initial.socketUrls,
    auth: { token: initial.token },
    config: DEMO_TIMINGS[timings],
    autoConnect: true,
  });
  (window as unknown as { demoService: typeof service }).demoService = service;
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <App service={service} initial={initial} timings={timings} />
    </StrictMode>,
  );
}

boot().catch((error: unknown) => {
  document.getElementById("root")!.textContent = `The demo could not start: ${String(error)}`;
});
