import { cleanup } from "@testing-library/react";
import { Profiler, type ReactNode, createElement } from "react";
import type { Socket } from "socket.io";
import { afterEach } from "vitest";
import { LabServer, type LabServerOptions } from "../../lab/server.js";
import { SilentListener, unusedPort } from "../../lab/tcpProxy.js";
import { createWebSocketService, type WebSocketService, type WebSocketServiceOptions } from "../../src/index.js";

/** Everything a test started, closed after it (components first, then services, then servers). */
const closers: (() => unknown)[] = [];

afterEach(async () => {
  cleanup();
  for (const close of closers.splice(0).reverse()) await close();
});

export async function labServer(options: LabServerOptions = {}): Promise<LabServer> {
  const server = await LabServer.start(options);
  closers.push(() => server.close());
  return server;
}

export async function silentListener(): Promise<SilentListener> {
  const listener = await SilentListener.start();
  closers.push(() => listener.close());
  return listener;
}

export async function deadUrl(): Promise<string> {
  return `http://127.0.0.1:${await unusedPort()}`;
}

export function service(options: WebSocketServiceOptions): WebSocketService {
  const created = createWebSocketService(options);
  closers.push(() => created.dispose());
  return created;
}

/** A server whose heartbeat acks take 5, 25, 45, 5, ... ms: the latency changes on every beat. */
export async function varyingLatencyServer(): Promise<LabServer> {
  let beat = 0;
  return labServer({
    ackHeartbeats: false,
    onConnection: (socket: Socket) => {
      socket.on("heartbeat", (...args: unknown[]) => {
        const ack = args.at(-1);
        const delay = [5, 25, 45][beat++ % 3]!;
        if (typeof ack === "function") setTimeout(() => ack(), delay);
      });
    },
  });
}

/** Counts commits of a subtree in `counts` under `id`. */
export function counted(id: string, counts: Map<string, number>, children: ReactNode): ReactNode {
  return createElement(Profiler, { id, onRender: () => counts.set(id, (counts.get(id) ?? 0) + 1) }, children);
}
