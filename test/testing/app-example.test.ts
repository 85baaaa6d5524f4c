// The example of docs/testing.md, run by `npm test`. The code between the two region markers
// is the doc's block, character for character (checked by test/testing/docs-example.test.ts);
// it imports the package by name, as an app does (vitest.config.ts maps the name to src/).

// #region app-example
import { createWebSocketService, type WebSocketStatus } from "@softphone/websocket";
import { createFakeServer, generateReconnectionPaths, replayPath, TestClock } from "@softphone/websocket/testing";
import { describe, expect, it } from "vitest";

/** The app's status bar: what the softphone shows about its connection. */
interface StatusBar {
  tone: "ok" | "working" | "warning" | "blocked";
  text: string;
  /** The dial button works only on a live connection. */
  canDial: boolean;
  action: "retry" | "signIn" | null;
}

/** The app's presenter: a plain function of the service's status and the time. */
function presentStatus(status: WebSocketStatus, now: number): StatusBar {
  switch (status.state) {
    case "connected":
      return status.consecutiveFailures > 0
        ? { tone: "warning", text: "Connection unstable", canDial: true, action: null }
        : { tone: "ok", text: "Connected", canDial: true, action: null };
    case "connecting":
      return { tone: "working", text: status.attempt > 0 ? "Reconnecting…" : "Connecting…", canDial: false, action: null };
    case "backingOff": {
      if (status.network === "offline") return { tone: "warning", text: "Waiting for network", canDial: false, action: "retry" };
      const seconds = Math.ceil(Math.max(0, (status.nextRetryAt ?? now) - now) / 1000);
      return { tone: "warning", text: `Retrying in ${seconds} s`, canDial: false, action: "retry" };
    }
    case "authRequired":
      return { tone: "blocked", text: "Sign in again", canDial: false, action: "signIn" };
    case "exhausted":
      return { tone: "blocked", text: "Can't reach the server", canDial: false, action: "retry" };
    case "idle":
      return { tone: "blocked", text: "Offline", canDial: false, action: "retry" };
  }
}

/** The toast an event deserves, if any. */
function toastFor(event: { type: string }): string | null {
  if (event.type === "connection:reconnected") return "Back online";
  if (event.type === "connection:auth_failed") return "Your session has expired";
  return null;
}

describe("the status bar on every reconnection path", () => {
  const paths = generateReconnectionPaths();

  it.each(paths.map((path) => [path.description, path] as const))("%s", (_, path) => {
    replayPath(path, {
      service: (options) => createWebSocketService(options),
      onStep: ({ step, status, emitted }) => {
        const bar = presentStatus(status, step.expect.time);
        expect(bar.text).toMatch(/^[A-Z][^]*[^\s]$/);
        expect(bar.text).not.toMatch(/NaN|undefined|null|-\d/);
        expect(bar.canDial).toBe(status.isConnected);
        // A countdown only while a retry is scheduled, and never shorter than the wait.
        const countdown = /^Retrying in (\d+) s$/.exec(bar.text);
        expect(countdown !== null).toBe(status.nextRetryAt !== null);
        if (countdown) expect(Number(countdown[1]) * 1000).toBeGreaterThanOrEqual(status.nextRetryAt! - step.expect.time);
        expect(bar.action === "signIn").toBe(status.state === "authRequired");
        const toasts = emitted.map(toastFor).filter((toast) => toast !== null);
        expect(toasts.includes("Back online")).toBe(emitted.some((event) => event.type === "connection:reconnected"));
      },
    });
  });
});

describe("the status bar against a fake server", () => {
  it("server busy, then a silent link, then back", () => {
    const clock = new TestClock();
    const server = createFakeServer({ clock });
    const service = createWebSocketService({
      url: "https://softphone.example",
      socketFactory: server.socketFactory,
      clock,
      now: () => clock.now(),
      random: () => 0.5,
      config: { heartbeatInterval: 5_000, heartbeatTimeout: 2_000, unhealthyThreshold: 2 },
    });
    const toasts: string[] = [];
    service.on("connection:reconnected", () => toasts.push(toastFor({ type: "connection:reconnected" })!));
    const bar = () => presentStatus(service.getStatus(), clock.now());

    // The server sheds load: it asks for 10 s, the service spreads that to 15 s.
    server.refuseNext("server busy", { retryAfter: 10_000 });
    service.connect();
    expect(bar()).toEqual({ tone: "warning", text: "Retrying in 15 s", canDial: false, action: "retry" });
    clock.runFor(15_000);
    expect(bar()).toEqual({ tone: "ok", text: "Connected", canDial: true, action: null });
    expect(toasts).toEqual(["Back online"]);

    // The link goes silent: the heartbeat at 20 s is not acked by 21 s, its probe not by 22 s.
    server.goSilent();
    clock.runFor(6_000);
    expect(bar()).toMatchObject({ text: "Connection unstable", canDial: true });
    clock.runFor(1_000);
    expect(bar()).toMatchObject({ text: "Retrying in 1 s", canDial: false });
    expect(server.openSockets).toBe(0);

    // The next handshake is answered: back, with a second toast.
    clock.runFor(1_000);
    expect(bar().text).toBe("Connected");
    expect(toasts).toEqual(["Back online", "Back online"]);
    expect(server.handshakes).toBe(3);
    service.dispose();
  });
});
// #endregion app-example
