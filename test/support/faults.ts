import { expect } from "vitest";
import type { LabServer, LabServerOptions } from "../../lab/server.js";
import type { ServiceEventMap, ServiceEventName } from "../../src/machine/types.js";
import type { WebSocketService, WebSocketStatus } from "../../src/services/WebSocketService.js";
import { Tally } from "./events.js";

/**
 * A lab server (started by the rig's `startServer`) that records each `marker` it receives,
 * in order, and acks `sync`: a request acked on a connection proves that every send emitted
 * before it on that connection arrived.
 */
export async function markerServer(
  startServer: (options: LabServerOptions) => Promise<LabServer>,
  options: LabServerOptions = {},
) {
  const received = new Tally<string>();
  const server = await startServer({
    ...options,
    onConnection: (socket) => {
      socket.on("marker", (marker: string) => received.push(marker));
      socket.on("sync", (ack: (reply: string) => void) => ack("synced"));
      options.onConnection?.(socket);
    },
  });
  return { server, received };
}

/** Every marker sent before this returns has reached the server (same connection, in order). */
export async function synced(svc: WebSocketService): Promise<void> {
  expect(await svc.request("sync")).toBe("synced");
}

/** The next `name` event with the status read while it is delivered (before any later timer). */
export function eventWithStatus<K extends ServiceEventName>(
  svc: WebSocketService,
  name: K,
  timeout = 10_000,
): Promise<{ payload: ServiceEventMap[K]; status: WebSocketStatus }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no "${name}" within ${timeout} ms (state ${svc.getStatus().state})`));
    }, timeout);
    const off = svc.on(name, (payload) => {
      clearTimeout(timer);
      off();
      resolve({ payload, status: svc.getStatus() });
    });
  });
}
