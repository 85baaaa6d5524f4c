// @vitest-environment happy-dom
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TopLevelState } from "../../src/index.js";
import {
  WebSocketProvider,
  WebSocketStatus,
  defaultStateLabels,
  webSocketStatusClasses,
  webSocketStatusStyles,
} from "../../src/react/index.js";
import { waitForState } from "../support/events.js";
import { deadUrl, labServer, service, silentListener } from "./helpers.js";

const fast = { heartbeatInterval: 1000, heartbeatTimeout: 500 };

function root(): HTMLElement {
  return screen.getByRole("status");
}

async function expectRendered(state: TopLevelState): Promise<HTMLElement> {
  await waitFor(() => expect(root().dataset.state).toBe(state));
  expect(root().textContent).toContain(defaultStateLabels[state]);
  return root();
}

describe("WebSocketStatus renders every top-level state", () => {
  it("idle: a service nobody connected", async () => {
    const idle = service({ url: await deadUrl() });
    render(<WebSocketStatus service={idle} />);
    const element = await expectRendered("idle");
    expect(element.textContent).toContain("0%");
  });

  it("connecting: a server that accepts TCP and never answers", async () => {
    const listener = await silentListener();
    const connecting = service({ url: listener.url, config: { connectionTimeout: 60_000 }, autoConnect: true });
    render(<WebSocketStatus service={connecting} showDetails />);
    await expectRendered("connecting");
    expect(root().querySelector(`.${webSocketStatusClasses.attempt}`)?.textContent).toBe("0/20");
  });

  it("connected: health in percent, latency and attempt 0/max", async () => {
    const server = await labServer();
    const connected = service({ url: server.url, config: fast, autoConnect: true });
    render(<WebSocketStatus service={connected} showDetails />);
    await expectRendered("connected");
    expect(root().dataset.quality).toBe("excellent");
    expect(root().querySelector(`.${webSocketStatusClasses.health}`)?.textContent).toBe("100% (excellent)");
    await waitFor(() => expect(root().querySelector(`.${webSocketStatusClasses.latency}`)?.textContent).toMatch(/^\d+ ms$/));
    expect(root().querySelector(`.${webSocketStatusClasses.attempt}`)?.textContent).toBe("0/20");
    expect(root().querySelector(`.${webSocketStatusClasses.error}`)?.textContent).toBe("none");
    expect(root().querySelector(`.${webSocketStatusClasses.countdown}`)).toBeNull();
  });

  it("backingOff: attempt n/max, last error and a countdown", async () => {
    const backingOff = service({
      url: await deadUrl(),
      config: { baseDelay: 30_000, maxDelay: 60_000, maxReconnectAttempts: 7 },
      autoConnect: true,
    });
    render(<WebSocketStatus service={backingOff} showDetails />);
    await expectRendered("backingOff");
    expect(root().querySelector(`.${webSocketStatusClasses.attempt}`)?.textContent).toBe("1/7");
    expect(root().querySelector(`.${webSocketStatusClasses.error}`)?.textContent).not.toBe("none");
    expect(root().querySelector(`.${webSocketStatusClasses.countdown}`)?.textContent).toMatch(/^in \d+ s$/);
  });

  it("backingOff while offline: waits for the network instead of counting down", async () => {
    const offline = service({ url: await deadUrl(), config: { baseDelay: 30_000, maxDelay: 60_000 }, autoConnect: true });
    render(<WebSocketStatus service={offline} showDetails />);
    await expectRendered("backingOff");
    act(() => offline.notifyOffline());
    expect(root().dataset.network).toBe("offline");
    expect(root().querySelector(`.${webSocketStatusClasses.countdown}`)?.textContent).toBe("when the network is back");
    expect(root().querySelector(`.${webSocketStatusClasses.network}`)?.textContent).toBe("offline");
  });

  it("authRequired: the server refused the token", async () => {
    const server = await labServer({ tokens: ["good"] });
    const refused = service({ url: server.url, auth: { token: "bad" }, autoConnect: true });
    render(<WebSocketStatus service={refused} showDetails />);
    await expectRendered("authRequired");
    expect(root().querySelector(`.${webSocketStatusClasses.error}`)?.textContent).toContain("invalid token");
  });

  it("exhausted: the last allowed attempt failed", async () => {
    const exhausted = service({ url: await deadUrl(), config: { maxReconnectAttempts: 1 }, autoConnect: true });
    render(<WebSocketStatus service={exhausted} showDetails />);
    await expectRendered("exhausted");
    expect(root().querySelector(`.${webSocketStatusClasses.attempt}`)?.textContent).toBe("1/1");
  });

  it("uses the labels given for some states", async () => {
    const idle = service({ url: await deadUrl() });
    render(<WebSocketStatus service={idle} labels={{ idle: "Offline by choice" }} />);
    expect(root().textContent).toContain("Offline by choice");
  });
});

describe("WebSocketStatus countdown", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("moves every second until the next attempt", async () => {
    const backingOff = service({
      url: await deadUrl(),
      config: { baseDelay: 60_000, maxDelay: 60_000, jitterStrategy: "additive", jitterRange: 1 },
      random: () => 0,
      autoConnect: true,
    });
    await waitForState(backingOff, "backingOff");
    const { nextRetryAt } = backingOff.getStatus();
    expect(nextRetryAt).not.toBeNull();
    // The chart's own retry timer was set before this, with the real clock: only the component's tick is faked.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    vi.setSystemTime(nextRetryAt! - 4_500);
    render(<WebSocketStatus service={backingOff} showDetails />);
    const countdown = (): string | null | undefined =>
      root().querySelector(`.${webSocketStatusClasses.countdown}`)?.textContent;
    const seen = [countdown()];
    for (let second = 0; second < 5; second += 1) {
      act(() => vi.advanceTimersByTime(1_000));
      seen.push(countdown());
    }
    expect(seen).toEqual(["in 5 s", "in 4 s", "in 3 s", "in 2 s", "in 1 s", "now"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("stops ticking when the countdown is gone", async () => {
    const backingOff = service({ url: await deadUrl(), config: { baseDelay: 60_000, maxDelay: 60_000 }, autoConnect: true });
    await waitForState(backingOff, "backingOff");
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const { unmount } = render(<WebSocketStatus service={backingOff} showDetails />);
    expect(vi.getTimerCount()).toBe(1);
    unmount();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("WebSocketStatus Reconnect button", () => {
  it("calls forceReconnection(), shows it is working, and ends on a new connection", async () => {
    const server = await labServer();
    const connected = service({ url: server.url, config: fast, autoConnect: true });
    await waitForState(connected, "connected");
    const firstSocket = connected.getStatus().socketId;
    const force = vi.spyOn(connected, "forceReconnection");
    render(<WebSocketStatus service={connected} />);
    const button = screen.getByRole("button", { name: /Reconnect/ });
    expect(button.tagName).toBe("BUTTON");
    fireEvent.click(button);
    expect(force).toHaveBeenCalledTimes(1);
    expect(button.getAttribute("aria-busy")).toBe("true");
    expect(button.textContent).toBe("Reconnecting…");
    // A second click while working does not start another attempt.
    fireEvent.click(button);
    expect(force).toHaveBeenCalledTimes(1);
    await waitFor(() => expect(button.getAttribute("aria-busy")).toBe("false"));
    expect(button.textContent).toBe("Reconnect");
    expect(root().dataset.state).toBe("connected");
    expect(connected.getStatus().socketId).not.toBe(firstSocket);
    expect(server.connections).toBe(2);
    expect(server.peakOpen).toBe(1);
  });

  it("reports a failed reconnection to onReconnectError and stops showing progress", async () => {
    const server = await labServer({ tokens: ["good"] });
    const refused = service({ url: server.url, auth: { token: "bad" }, autoConnect: true });
    await waitForState(refused, "authRequired");
    const onReconnectError = vi.fn();
    render(<WebSocketStatus service={refused} onReconnectError={onReconnectError} />);
    fireEvent.click(screen.getByRole("button", { name: /Reconnect/ }));
    await waitFor(() => expect(onReconnectError).toHaveBeenCalledTimes(1));
    expect(String(onReconnectError.mock.calls[0]?.[0])).toContain("authRequired");
    expect(screen.getByRole("button", { name: /Reconnect/ }).getAttribute("aria-busy")).toBe("false");
  });

  it("can be left out", async () => {
    render(<WebSocketStatus service={service({ url: await deadUrl() })} showReconnect={false} />);
    expect(screen.queryByRole("button")).toBeNull();
  });
});

describe("WebSocketStatus accessibility and theming", () => {
  it("is a polite status region whose fast-moving figures are not announced", async () => {
    const server = await labServer();
    const connected = service({ url: server.url, autoConnect: true });
    render(<WebSocketStatus service={connected} showDetails className="mine" id="conn" />);
    await expectRendered("connected");
    const element = root();
    expect(element.getAttribute("aria-live")).toBe("polite");
    expect(element.className).toBe("ws-status ws-status--details mine");
    expect(element.id).toBe("conn");
    expect(element.querySelector(`.${webSocketStatusClasses.dot}`)?.getAttribute("aria-hidden")).toBe("true");
    for (const name of ["health", "latency"] as const) {
      expect(element.querySelector(`.${webSocketStatusClasses[name]}`)?.getAttribute("aria-live")).toBe("off");
    }
  });

  it("colour is never the only signal: every state has its words", () => {
    const words = Object.values(defaultStateLabels);
    expect(new Set(words).size).toBe(6);
    for (const word of words) expect(word.length).toBeGreaterThan(0);
  });

  it("takes its service from the provider and injects the stylesheet on request", async () => {
    const idle = service({ url: await deadUrl() });
    render(
      <WebSocketProvider service={idle}>
        <WebSocketStatus injectStyles />
      </WebSocketProvider>,
    );
    expect(root().dataset.state).toBe("idle");
    const styles = Array.from(document.querySelectorAll("style")).map((style) => style.textContent).join("\n");
    expect(styles).toContain(".ws-status__reconnect:focus-visible");
    expect(webSocketStatusStyles).toContain('[data-state="backingOff"]');
    for (const name of ["root", "dot", "label", "health", "details", "reconnect"] as const) {
      expect(webSocketStatusStyles).toContain(`.${webSocketStatusClasses[name]}`);
    }
  });
});
