// @vitest-environment happy-dom
import { act, render } from "@testing-library/react";
import { useSyncExternalStore } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { createWebSocketService, type WebSocketService } from "../../src/index.js";

// Issue 12 item 3: the framework-free service owns the stable status snapshot, so any binding
// is a one-liner. Nothing here connects (the URL is never dialled: the service stays idle).

const created: WebSocketService[] = [];
afterEach(() => {
  for (const svc of created.splice(0)) svc.dispose();
});
const idleService = (onListenerError?: (error: unknown, source: string) => void) => {
  const svc = createWebSocketService({ url: "http://127.0.0.1:9", onListenerError });
  created.push(svc);
  return svc;
};

describe("getStatus().jitterStrategy", () => {
  it('is "custom" when a retryDelay policy of the app decides, the named strategy otherwise', () => {
    const custom = createWebSocketService({ url: "http://127.0.0.1:9", retryDelay: (step) => 100 * step });
    created.push(custom);
    expect(custom.getStatus().jitterStrategy).toBe("custom");
    expect(idleService().getStatus().jitterStrategy).toBe("full");
    expect(() => createWebSocketService({ url: "http://127.0.0.1:9", retryDelay: 5 as never })).toThrow(/retryDelay must be a function/);
  });
});

describe("getStatusSnapshot() and subscribe()", () => {
  it("hand out one object until the chart moves, then a new one equal to getStatus()", () => {
    const svc = idleService();
    const first = svc.getStatusSnapshot();
    expect(svc.getStatusSnapshot()).toBe(first);
    expect(first).toEqual(svc.getStatus());
    const calls: number[] = [];
    const unsubscribe = svc.subscribe(() => calls.push(calls.length));
    svc.notifyOffline();
    expect(calls.length).toBeGreaterThan(0);
    const second = svc.getStatusSnapshot();
    expect(second).not.toBe(first);
    expect(second.network).toBe("offline");
    unsubscribe();
    const count = calls.length;
    svc.notifyOnline();
    expect(calls.length).toBe(count);
  });

  it("a new snapshot when dispose() flips disposed, and the subscriber hears the stop", () => {
    const svc = idleService();
    const before = svc.getStatusSnapshot();
    let heard = 0;
    svc.subscribe(() => (heard += 1));
    svc.dispose();
    expect(svc.getStatusSnapshot()).not.toBe(before);
    expect(svc.getStatusSnapshot().disposed).toBe(true);
    expect(heard).toBeGreaterThan(0);
  });

  it("a throwing subscriber is reported as 'status', never into the chart", () => {
    const reported: string[] = [];
    const svc = idleService((_error, source) => reported.push(source));
    svc.subscribe(() => {
      throw new Error("subscriber bug");
    });
    svc.notifyOffline();
    svc.notifyOnline();
    expect(reported.length).toBeGreaterThan(0);
    expect(new Set(reported)).toEqual(new Set(["status"]));
    expect(svc.getStatus().state).toBe("idle");
    expect(() => svc.subscribe(42 as never)).toThrow(TypeError);
  });

  it("is a one-liner for React's useSyncExternalStore: the methods are bound", () => {
    const svc = idleService();
    const seen: string[] = [];
    function Network() {
      const status = useSyncExternalStore(svc.subscribe, svc.getStatusSnapshot);
      seen.push(status.network);
      return <p>{status.network}</p>;
    }
    const view = render(<Network />);
    expect(view.container.textContent).toBe("online");
    act(() => svc.notifyOffline());
    expect(view.container.textContent).toBe("offline");
    expect(seen).toEqual(["online", "offline"]);
    view.unmount();
  });
});
