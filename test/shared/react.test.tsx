// @vitest-environment happy-dom
import { act, cleanup as unmount, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MessageChannel } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import { connectToService, createWebSocketService, exposeService } from "../../src/index.js";
import { WebSocketProvider, WebSocketStatus, useWebSocket } from "../../src/react/index.js";
import { createCleanup } from "../support/events.js";

const cleanup = createCleanup();
afterEach(async () => {
  unmount();
  await cleanup.run();
});

function Caller() {
  const { state, request } = useWebSocket();
  return (
    <button type="button" data-state={state} onClick={() => void request("echo", "hi").then((reply) => (document.title = String(reply)))}>
      Ask
    </button>
  );
}

describe("the React layer on a remote service, unchanged", () => {
  it("WebSocketProvider, useWebSocket and <WebSocketStatus> follow the host's connection and act on it", async () => {
    const lab = cleanup.add(
      await LabServer.start({ onConnection: (socket) => socket.on("echo", (value: unknown, ack: (reply: unknown) => void) => ack(value)) }),
      (server) => server.close(),
    );
    const service = cleanup.add(createWebSocketService({ url: lab.url, autoConnect: true }), (created) => created.dispose());
    const { port1, port2 } = new MessageChannel();
    exposeService(service, port1);
    const remote = cleanup.add(connectToService(port2), (created) => created.dispose());
    render(
      <WebSocketProvider service={remote}>
        <WebSocketStatus showDetails />
        <Caller />
      </WebSocketProvider>,
    );
    await waitFor(() => expect(screen.getByRole("status").getAttribute("data-state")).toBe("connected"), { timeout: 10_000 });
    const firstSocket = service.getStatus().socketId;
    act(() => fireEvent.click(screen.getByRole("button", { name: /Reconnect/ })));
    await waitFor(() => expect(service.getStatus().socketId).not.toBe(firstSocket), { timeout: 10_000 });
    await waitFor(() => expect(screen.getByRole("status").getAttribute("data-state")).toBe("connected"), { timeout: 10_000 });
    act(() => fireEvent.click(screen.getByRole("button", { name: "Ask" })));
    await waitFor(() => expect(document.title).toBe("hi"), { timeout: 5_000 });
    expect(lab.peakOpen).toBe(1);
  });
});
