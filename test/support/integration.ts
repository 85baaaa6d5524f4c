import { afterEach } from "vitest";
import { LabServer, type LabServerOptions } from "../../lab/server.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import { createWebSocketService, type WebSocketServiceOptions } from "../../src/services/WebSocketService.js";
import { createCleanup } from "./events.js";

/** Retry timings small enough for integration tests against a real server. */
export const FAST_RETRY: Readonly<Partial<ConnectionConfig>> = Object.freeze({
  baseDelay: 60,
  maxDelay: 300,
  jitterRange: 40,
  connectionTimeout: 1000,
});

/**
 * For a test file: services and lab servers created through it are disposed/closed after
 * each test, in reverse order (registers its own `afterEach`).
 */
export function integrationRig() {
  const cleanup = createCleanup();
  afterEach(() => cleanup.run());
  return {
    cleanup,
    service: (options: WebSocketServiceOptions) =>
      cleanup.add(createWebSocketService(options), (created) => created.dispose()),
    startServer: async (options: LabServerOptions = {}) =>
      cleanup.add(await LabServer.start(options), (server) => server.close()),
  };
}
