import { describe, expect, it, vi } from "vitest";
import { SimulatedClock } from "xstate";
import { bindBrowserNetwork, bindPowerMonitor, type BrowserEventTarget, type PowerMonitorLike } from "../../src/services/bindings.js";
import { createWebSocketService } from "../../src/services/WebSocketService.js";

type Listener = (event: unknown) => void;

/** A minimal EventTarget that counts its listeners. */
class FakeTarget {
  readonly listeners = new Map<string, Set<Listener>>();
  addEventListener(type: string, listener: Listener): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }
  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }
  dispatch(type: string): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) listener({ type });
  }
  count(): number {
    return [...this.listeners.values()].reduce((sum, set) => sum + set.size, 0);
  }
}

function fakeWindow(options: { withDocument?: boolean; onLine?: boolean } = {}) {
  const window = new FakeTarget();
  const document = Object.assign(new FakeTarget(), { visibilityState: "visible" });
  const target = window as FakeTarget & BrowserEventTarget;
  if (options.withDocument !== false) target.document = document;
  if (options.onLine !== undefined) target.navigator = { onLine: options.onLine };
  return { window: target, document };
}

function fakeService() {
  const calls: string[] = [];
  return {
    calls,
    notifyOnline: vi.fn(() => calls.push("online")),
    notifyOffline: vi.fn(() => calls.push("offline")),
    notifyResume: vi.fn(() => calls.push("resume")),
  };
}

class FakePowerMonitor {
  readonly target = new FakeTarget();
  on(event: string, listener: () => void) {
    this.target.addEventListener(event, listener);
    return this;
  }
  off(event: string, listener: () => void) {
    this.target.removeEventListener(event, listener);
    return this;
  }
  emit(event: string) {
    this.target.dispatch(event);
  }
}

describe("bindBrowserNetwork", () => {
  it("forwards online, offline and pageshow", () => {
    const { window } = fakeWindow();
    const service = fakeService();
    bindBrowserNetwork(service, window);
    window.dispatch("offline");
    window.dispatch("online");
    window.dispatch("pageshow");
    expect(service.calls).toEqual(["offline", "online", "resume"]);
  });

  it("a page that becomes visible again is a resume; hidden is nothing", () => {
    const { window, document } = fakeWindow();
    const service = fakeService();
    bindBrowserNetwork(service, window);
    document.visibilityState = "hidden";
    document.dispatch("visibilitychange");
    expect(service.calls).toEqual([]);
    document.visibilityState = "visible";
    document.dispatch("visibilitychange");
    expect(service.calls).toEqual(["resume"]);
  });

  it("listens for visibilitychange on the target when there is no document", () => {
    const { window } = fakeWindow({ withDocument: false });
    const service = fakeService();
    const unbind = bindBrowserNetwork(service, window);
    expect(window.listeners.get("visibilitychange")?.size).toBe(1);
    unbind();
    expect(window.count()).toBe(0);
  });

  it("reports offline at once when navigator.onLine is false", () => {
    const { window } = fakeWindow({ onLine: false });
    const service = fakeService();
    bindBrowserNetwork(service, window);
    expect(service.calls).toEqual(["offline"]);
    const online = fakeService();
    bindBrowserNetwork(online, fakeWindow({ onLine: true }).window);
    expect(online.calls).toEqual([]);
  });

  it("unbind removes every listener it added", () => {
    const { window, document } = fakeWindow();
    const service = fakeService();
    const unbind = bindBrowserNetwork(service, window);
    expect(window.count()).toBe(3);
    expect(document.count()).toBe(1);
    unbind();
    expect(window.count()).toBe(0);
    expect(document.count()).toBe(0);
    window.dispatch("offline");
    document.dispatch("visibilitychange");
    expect(service.calls).toEqual([]);
  });

  it.each([null, {}, { addEventListener: 1 }])("rejects a target without addEventListener: %j", (target) => {
    expect(() => bindBrowserNetwork(fakeService(), target as unknown as BrowserEventTarget)).toThrow(TypeError);
  });

  it("drives a real service: offline and online reach getStatus().network", () => {
    const socketFactory = vi.fn(() => {
      throw new Error("no socket in this test");
    });
    const service = createWebSocketService({ url: "http://127.0.0.1:1", socketFactory, clock: new SimulatedClock() });
    const { window } = fakeWindow();
    const unbind = bindBrowserNetwork(service, window);
    window.dispatch("offline");
    expect(service.getStatus().network).toBe("offline");
    window.dispatch("online");
    expect(service.getStatus().network).toBe("online");
    unbind();
    service.dispose();
    expect(socketFactory).not.toHaveBeenCalled();
  });
});

describe("bindPowerMonitor", () => {
  it("suspend -> offline; resume -> online then resume; unlock-screen -> resume; lock-screen -> nothing", () => {
    const monitor = new FakePowerMonitor();
    const service = fakeService();
    bindPowerMonitor(service, monitor);
    monitor.emit("lock-screen");
    expect(service.calls).toEqual([]);
    monitor.emit("suspend");
    expect(service.calls).toEqual(["offline"]);
    monitor.emit("resume");
    expect(service.calls).toEqual(["offline", "online", "resume"]);
    monitor.emit("unlock-screen");
    expect(service.calls).toEqual(["offline", "online", "resume", "resume"]);
  });

  it("unbind removes every listener with off()", () => {
    const monitor = new FakePowerMonitor();
    const service = fakeService();
    const unbind = bindPowerMonitor(service, monitor);
    expect(monitor.target.count()).toBe(4);
    unbind();
    expect(monitor.target.count()).toBe(0);
    monitor.emit("resume");
    expect(service.calls).toEqual([]);
  });

  it("unbind falls back to removeListener() when there is no off()", () => {
    const target = new FakeTarget();
    const monitor: PowerMonitorLike = {
      on: (event, listener) => target.addEventListener(event, listener),
      removeListener: (event, listener) => target.removeEventListener(event, listener),
    };
    const unbind = bindPowerMonitor(fakeService(), monitor);
    expect(target.count()).toBe(4);
    unbind();
    expect(target.count()).toBe(0);
  });

  it.each([null, undefined, {}, { on: "x" }])("rejects %j", (monitor) => {
    expect(() => bindPowerMonitor(fakeService(), monitor as unknown as PowerMonitorLike)).toThrow(TypeError);
  });

  it("drives a real service: after suspend, connect() opens no socket and waits for the network", () => {
    const clock = new SimulatedClock();
    const sockets: unknown[] = [];
    const service = createWebSocketService({
      url: "http://127.0.0.1:1",
      clock,
      now: () => clock.now(),
      socketFactory: () => {
        sockets.push(1);
        throw new Error("no socket in this test");
      },
    });
    const monitor = new FakePowerMonitor();
    bindPowerMonitor(service, monitor);
    monitor.emit("suspend");
    service.connect();
    expect(service.getStatus()).toMatchObject({ state: "backingOff", network: "offline" });
    expect(sockets).toHaveLength(0);
    service.dispose();
  });
});
