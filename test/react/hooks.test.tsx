// @vitest-environment happy-dom
import { act, fireEvent, render, renderHook, screen, waitFor } from "@testing-library/react";
import { StrictMode } from "react";
import { describe, expect, it, vi } from "vitest";
import type { WebSocketService } from "../../src/index.js";
import {
  WebSocketProvider,
  WebSocketStatus,
  shallowEqual,
  useWebSocket,
  useWebSocketEvent,
  useWebSocketSelector,
} from "../../src/react/index.js";
import { currentStatus } from "../../src/react/store.js";
import { waitForEvent, waitForState } from "../support/events.js";
import { counted, deadUrl, labServer, service, varyingLatencyServer } from "./helpers.js";



/** Resolves once `count` further `connection:health_check`-independent latency changes were observed. */
function latencyChanges(target: WebSocketService, count: number): Promise<number[]> {
  return new Promise((resolve) => {
    const seen: number[] = [];
    let last = target.getStatus().latency;
    const subscription = target.actor.subscribe(() => {
      const { latency } = target.getStatus();
      if (latency === null || latency === last) return;
      last = latency;
      seen.push(latency);
      if (seen.length >= count) {
        subscription.unsubscribe();
        resolve(seen);
      }
    });
  });
}

describe("useWebSocket", () => {
  it("returns the contract's fields and actions, from the argument or the provider", async () => {
    const idle = service({ url: await deadUrl(), config: { maxReconnectAttempts: 9 } });
    const fromArgument = renderHook(() => useWebSocket(idle)).result.current;
    const fromProvider = renderHook(() => useWebSocket(), {
      wrapper: ({ children }) => <WebSocketProvider service={idle}>{children}</WebSocketProvider>,
    }).result.current;
    for (const result of [fromArgument, fromProvider]) {
      expect(result).toMatchObject({
        state: "idle",
        isConnected: false,
        healthScore: 0,
        attempt: 0,
        maxAttempts: 9,
        nextRetryAt: null,
        latency: null,
        lastError: null,
      });
      for (const action of ["send", "connect", "disconnect", "forceReconnect", "setAuthToken"] as const) {
        expect(typeof result[action]).toBe("function");
      }
      expect(result.service).toBe(idle);
    }
  });

  it("throws a helpful error without a service", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    expect(() => renderHook(() => useWebSocket())).toThrow(/WebSocketProvider/);
    vi.mocked(console.error).mockRestore();
  });

  it("follows the service through connect, send and disconnect with stable actions", async () => {
    const received: unknown[] = [];
    const server = await labServer({ onConnection: (socket) => socket.on("chat", (text) => received.push(text)) });
    const client = service({ url: server.url });
    const { result } = renderHook(() => useWebSocket(client));
    const firstActions = result.current.send;
    act(() => result.current.send("chat", "queued while idle"));
    act(() => result.current.connect());
    await waitFor(() => expect(result.current.state).toBe("connected"));
    expect(result.current).toMatchObject({ isConnected: true, healthScore: 100, attempt: 0 });
    expect(result.current.socketId).toBe(client.getStatus().socketId);
    await waitFor(() => expect(received).toEqual(["queued while idle"]));
    act(() => result.current.disconnect());
    expect(result.current.state).toBe("idle");
    expect(result.current.send).toBe(firstActions);
  });

  it("setAuthToken from authRequired connects", async () => {
    const server = await labServer({ tokens: ["good"] });
    const client = service({ url: server.url, auth: { token: "bad" }, autoConnect: true });
    const { result } = renderHook(() => useWebSocket(client));
    await waitFor(() => expect(result.current.state).toBe("authRequired"));
    act(() => result.current.setAuthToken("good"));
    await waitFor(() => expect(result.current.state).toBe("connected"));
  });

  it("returns the same object while nothing it returns changed", async () => {
    const idle = service({ url: await deadUrl() });
    const { result, rerender } = renderHook(() => useWebSocket(idle));
    const first = result.current;
    rerender();
    expect(result.current).toBe(first);
    // A snapshot change that moves none of the returned fields (a queued send).
    act(() => idle.send("x"));
    expect(idle.getStatus().queuedMessages).toBe(1);
    expect(result.current).toBe(first);
  });
});

describe("useWebSocketSelector", () => {
  it("re-renders a state-only reader only when the state changes, not when the latency does", async () => {
    const server = await varyingLatencyServer();
    const client = service({ url: server.url, config: { heartbeatInterval: 60, heartbeatTimeout: 500 } });
    const counts = new Map<string, number>();
    function StateOnly() {
      return <span data-testid="state">{useWebSocketSelector((status) => status.state)}</span>;
    }
    function Everything() {
      const { latency } = useWebSocket();
      return <span data-testid="latency">{latency ?? "none"}</span>;
    }
    render(
      <WebSocketProvider service={client}>
        {counted("stateOnly", counts, <StateOnly />)}
        {counted("useWebSocket", counts, <Everything />)}
        {counted("compactStatus", counts, <WebSocketStatus />)}
        {counted("detailedStatus", counts, <WebSocketStatus showDetails />)}
      </WebSocketProvider>,
    );
    act(() => client.connect());
    await waitForState(client, "connected");
    await waitFor(() => expect(screen.getByTestId("state").textContent).toBe("connected"));
    const changes = await latencyChanges(client, 10);
    await waitFor(() => expect(screen.getByTestId("latency").textContent).toBe(String(changes.at(-1))));
    // idle, connecting, connected: nothing more for ten latency changes.
    expect(counts.get("stateOnly")).toBe(3);
    expect(counts.get("compactStatus")).toBe(3);
    expect(counts.get("useWebSocket")!).toBeGreaterThanOrEqual(3 + 10);
    expect(counts.get("detailedStatus")!).toBeGreaterThanOrEqual(3 + 10);
    console.log("commits over connect + 10 latency changes:", Object.fromEntries(counts));
  });

  it("keeps an equal selection (shallow by default, or by isEqual)", async () => {
    const idle = service({ url: await deadUrl() });
    const selections: unknown[] = [];
    renderHook(() => {
      selections.push(useWebSocketSelector((status) => ({ state: status.state, attempt: status.attempt }), { service: idle }));
    });
    const first = selections[0];
    act(() => idle.send("x"));
    expect(selections.at(-1)).toBe(first);
    const byLength = renderHook(() =>
      useWebSocketSelector((status) => [status.state], { service: idle, isEqual: (a, b) => a.length === b.length }),
    );
    const list = byLength.result.current;
    act(() => idle.connect());
    expect(byLength.result.current).toBe(list);
  });

  it("shares one cached status per chart snapshot", async () => {
    const idle = service({ url: await deadUrl() });
    expect(currentStatus(idle)).toBe(currentStatus(idle));
    const before = currentStatus(idle);
    act(() => idle.send("x"));
    expect(currentStatus(idle)).not.toBe(before);
    idle.dispose();
    expect(currentStatus(idle).disposed).toBe(true);
  });

  it("shallowEqual compares own keys with Object.is", () => {
    expect(shallowEqual({ a: 1, b: null }, { a: 1, b: null })).toBe(true);
    expect(shallowEqual({ a: {} }, { a: {} })).toBe(false);
    expect(shallowEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(shallowEqual([1, 2], [1, 2])).toBe(true);
    expect(shallowEqual([1], { 0: 1 })).toBe(false);
    expect(shallowEqual(NaN, NaN)).toBe(true);
    expect(shallowEqual(null, {})).toBe(false);
  });
});

describe("useWebSocketEvent", () => {
  it("delivers events to the latest listener while mounted", async () => {
    const server = await labServer();
    const client = service({ url: server.url });
    const first = vi.fn();
    const second = vi.fn();
    const { rerender, unmount } = renderHook(({ listener }) => useWebSocketEvent("connection:connected", listener, client), {
      initialProps: { listener: first },
    });
    rerender({ listener: second });
    const connected = waitForEvent(client, "connection:connected");
    act(() => client.connect());
    const payload = await connected;
    expect(first).not.toHaveBeenCalled();
    expect(second).toHaveBeenCalledWith(payload);
    unmount();
    act(() => client.disconnect());
    const again = waitForEvent(client, "connection:connected");
    act(() => client.connect());
    await again;
    expect(second).toHaveBeenCalledTimes(1);
  });
});

describe("StrictMode", () => {
  it("double-mounted effects never open a socket, nor a second one", async () => {
    const server = await labServer();
    const client = service({ url: server.url, config: { heartbeatInterval: 200 } });
    let renders = 0;
    function App() {
      renders += 1;
      const { state, connect } = useWebSocket();
      useWebSocketEvent("connection:connected", () => {});
      return (
        <>
          <button type="button" onClick={connect}>
            Connect ({state})
          </button>
          <WebSocketStatus showDetails />
        </>
      );
    }
    const { unmount } = render(
      <StrictMode>
        <WebSocketProvider service={client}>
          <App />
        </WebSocketProvider>
      </StrictMode>,
    );
    expect(renders).toBe(2); // StrictMode renders twice; nothing else happened.
    expect(client.getStatus().state).toBe("idle");
    expect(server.handshakes).toBe(0);
    fireEvent.click(screen.getByRole("button", { name: /Connect/ }));
    await waitFor(() => expect(screen.getByRole("status").dataset.state).toBe("connected"));
    expect(server.connections).toBe(1);
    expect(server.peakOpen).toBe(1);
    fireEvent.click(screen.getByRole("button", { name: /Reconnect/ }));
    await waitFor(() => expect(server.connections).toBe(2));
    await waitFor(() => expect(screen.getByRole("button", { name: /Reconnect/ }).getAttribute("aria-busy")).toBe("false"));
    expect(server.peakOpen).toBe(1);
    unmount();
    // Unmounting the tree does not touch the service: it lives outside React.
    expect(client.getStatus().state).toBe("connected");
  });
});
