// @vitest-environment happy-dom
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TopLevelState } from "../../src/index.js";
import {
  WebSocketProvider,
  WebSocketStatus,
  defaultStatusLabels,
  webSocketStatusClasses,
  webSocketStatusStyles,
  type StatusLabels,
} from "../../src/react/index.js";
import { waitForState } from "../support/events.js";
import { deadUrl, labServer, service, silentListener } from "./helpers.js";

const fast = { heartbeatInterval: 1000, heartbeatTimeout: 500 };

function root(): HTMLElement {
  return screen.getByRole("status");
}

function part(name: keyof typeof webSocketStatusClasses): Element | null {
  return root().querySelector(`.${webSocketStatusClasses[name]}`);
}

function label(): string | null | undefined {
  return part("label")?.textContent;
}

async function expectRendered(state: TopLevelState): Promise<HTMLElement> {
  await waitFor(() => expect(root().dataset.state).toBe(state));
  expect(label()).toBe(defaultStatusLabels[state]);
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
    expect(part("attempt")?.textContent).toBe("0/20");
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

  it("backingOff: failed attempts n/max, the error in plain words (raw text in the title) and a countdown", async () => {
    const backingOff = service({
      url: await deadUrl(),
      config: { baseDelay: 30_000, maxDelay: 60_000, maxReconnectAttempts: 7 },
      autoConnect: true,
    });
    render(<WebSocketStatus service={backingOff} showDetails />);
    await expectRendered("backingOff");
    expect(part("attempt")?.textContent).toBe("1/7");
    const error = part("error") as HTMLElement;
    expect(error.textContent).toBe("Connection refused");
    expect(error.dataset.error).toBe("refused");
    expect(error.title).toMatch(/ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(root().textContent).not.toContain("ECONNREFUSED");
    expect(part("countdown")?.textContent).toMatch(/^in \d+ s$/);
  });

  it("backingOff while offline: 'Waiting for network', in compact mode too, and no countdown", async () => {
    const offline = service({ url: await deadUrl(), config: { baseDelay: 30_000, maxDelay: 60_000 }, autoConnect: true });
    render(
      <>
        <WebSocketStatus service={offline} showDetails />
        <WebSocketStatus service={offline} />
      </>,
    );
    await waitFor(() => expect(screen.getAllByRole("status")[0]!.dataset.state).toBe("backingOff"));
    const [details, compact] = screen.getAllByRole("status") as [HTMLElement, HTMLElement];
    expect(details.querySelector(".ws-status__label")?.textContent).toBe("Waiting to retry");
    act(() => offline.notifyOffline());
    for (const element of [details, compact]) {
      expect(element.dataset.network).toBe("offline");
      expect(element.querySelector(".ws-status__label")?.textContent).toBe("Waiting for network");
    }
    expect(details.querySelector(".ws-status__countdown")?.textContent).toBe("when the network is back");
    expect(details.querySelector(".ws-status__network")?.textContent).toBe("offline");
  });

  it("connected while the system reports offline: not a plain 'Connected'", async () => {
    const server = await labServer();
    const connected = service({ url: server.url, config: fast, autoConnect: true });
    render(<WebSocketStatus service={connected} />);
    await expectRendered("connected");
    act(() => connected.notifyOffline());
    expect(root().dataset.state).toBe("connected");
    expect(label()).toBe("Connected (system reports offline)");
    expect(webSocketStatusStyles).toContain('.ws-status[data-state="connected"][data-network="offline"]');
    act(() => connected.notifyOnline());
    expect(label()).toBe("Connected");
  });

  it("a busy server's retryAfter: 'Server busy, retrying in N s'", async () => {
    const server = await labServer();
    server.shedLoad({ retryAfter: 9_000 });
    const shed = service({ url: server.url, autoConnect: true });
    render(<WebSocketStatus service={shed} showDetails />);
    await expectRendered("backingOff");
    const error = part("error") as HTMLElement;
    expect(error.dataset.error).toBe("serverBusy");
    expect(error.textContent).toMatch(/^Server busy, retrying in (9|1\d) s$/);
    expect(error.title).toBe("server busy");
  });

  it("authRequired: no Reconnect button; the authAction slot, or a hint without one", async () => {
    const server = await labServer({ tokens: ["good"] });
    const refused = service({ url: server.url, auth: { token: "bad" }, autoConnect: true });
    const { rerender } = render(<WebSocketStatus service={refused} showDetails />);
    await expectRendered("authRequired");
    expect(part("error")?.textContent).toBe("Sign-in needed");
    expect((part("error") as HTMLElement).title).toBe("invalid token");
    expect(screen.queryByRole("button")).toBeNull();
    expect(part("auth")?.textContent).toBe("Sign in again to reconnect.");
    const signIn = vi.fn(() => refused.setAuthToken("good"));
    rerender(
      <WebSocketStatus
        service={refused}
        showDetails
        authAction={
          <button type="button" onClick={signIn}>
            Sign in
          </button>
        }
      />,
    );
    expect(screen.getAllByRole("button").map((button) => button.textContent)).toEqual(["Sign in"]);
    fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(signIn).toHaveBeenCalledTimes(1);
    await expectRendered("connected");
    expect(screen.getByRole("button", { name: "Reconnect" })).toBeDefined();
  });

  it("exhausted: the last allowed attempt failed; says what happens next, with the button", async () => {
    const exhausted = service({ url: await deadUrl(), config: { maxReconnectAttempts: 1 }, autoConnect: true });
    render(<WebSocketStatus service={exhausted} showDetails />);
    await expectRendered("exhausted");
    expect(part("attempt")?.textContent).toBe("1/1");
    expect(part("hint")?.textContent).toBe(
      "Stopped after 1 failed attempt in a row. Nothing more is tried until you press Reconnect or the network comes back.",
    );
    expect(screen.getByRole("button", { name: "Reconnect" })).toBeDefined();
  });

  it("takes labels for some states and keeps English for the rest", async () => {
    const idle = service({ url: await deadUrl() });
    render(<WebSocketStatus service={idle} labels={{ idle: "Offline by choice", quality: { disconnected: "aus" } }} showDetails />);
    expect(label()).toBe("Offline by choice");
    expect(part("health")?.textContent).toBe("0% (aus)");
    expect(part("error")?.textContent).toBe("none");
  });
});

/**
 * Labels that mark every string they produce: a word becomes «key», a text function «key:args».
 * With them, nothing visible may be left once the marks are removed.
 */
function markedLabels(): StatusLabels {
  const mark = (key: string, value: unknown): unknown => {
    if (typeof value === "string") return `«${key}»`;
    if (typeof value === "function") return (...args: unknown[]) => `«${key}:${args.join(",")}»`;
    return Object.fromEntries(Object.entries(value as object).map(([inner, entry]) => [inner, mark(`${key}.${inner}`, entry)]));
  };
  return mark("labels", defaultStatusLabels) as StatusLabels;
}

function unmarkedText(element: Element): string {
  // The server's URL is data, not words: it is shown as it is in every language.
  const server = element.querySelector(`.${webSocketStatusClasses.server}`)?.textContent ?? "";
  const texts = [(element.textContent ?? "").replace(server, "")];
  for (const node of Array.from(element.querySelectorAll("[title], [aria-label]"))) {
    texts.push(node.getAttribute("aria-label") ?? "");
    if (!node.classList.contains(webSocketStatusClasses.error)) texts.push(node.getAttribute("title") ?? "");
  }
  // Marks nest (the health text takes the quality word): remove the innermost until none is left.
  let text = texts.join(" ");
  for (let previous = ""; previous !== text; ) {
    previous = text;
    text = text.replace(/«[^«»]*»/g, "");
  }
  return text.trim();
}

describe("WebSocketStatus labels: every visible string is replaceable", () => {
  it("defaultStatusLabels is frozen all the way down", () => {
    expect(Object.isFrozen(defaultStatusLabels)).toBe(true);
    for (const group of [defaultStatusLabels.quality, defaultStatusLabels.errors, defaultStatusLabels.network]) {
      expect(Object.isFrozen(group)).toBe(true);
    }
  });

  it("plural and number texts are functions", () => {
    expect(defaultStatusLabels.exhaustedHint(1)).toContain("1 failed attempt in a row");
    expect(defaultStatusLabels.exhaustedHint(3)).toContain("3 failed attempts in a row");
    expect(defaultStatusLabels.countdown(4)).toBe("in 4 s");
    expect(defaultStatusLabels.attemptValue(2, 20)).toBe("2/20");
    expect(defaultStatusLabels.serverBusyRetry(8)).toBe("Server busy, retrying in 8 s");
  });

  it("leaves no English in idle, backingOff (online and offline), authRequired and exhausted", async () => {
    const labels = markedLabels();
    const idle = service({ url: await deadUrl() });
    const backingOff = service({ url: await deadUrl(), config: { baseDelay: 30_000, maxDelay: 60_000 }, autoConnect: true });
    const exhausted = service({ url: await deadUrl(), config: { maxReconnectAttempts: 1 }, autoConnect: true });
    const server = await labServer({ tokens: ["good"] });
    const refused = service({ url: server.url, auth: { token: "bad" }, autoConnect: true });
    await Promise.all([waitForState(backingOff, "backingOff"), waitForState(exhausted, "exhausted"), waitForState(refused, "authRequired")]);
    for (const shown of [idle, backingOff, exhausted, refused]) {
      for (const showDetails of [false, true]) {
        const { container, unmount } = render(<WebSocketStatus service={shown} showDetails={showDetails} labels={labels} />);
        const element = container.firstElementChild!;
        expect(unmarkedText(element), `${shown.getStatus().state}, details ${showDetails}`).toBe("");
        unmount();
      }
    }
    act(() => backingOff.notifyOffline());
    const { container } = render(<WebSocketStatus service={backingOff} showDetails labels={labels} />);
    expect(container.querySelector(".ws-status__label")?.textContent).toBe("«labels.waitingForNetwork»");
    expect(unmarkedText(container.firstElementChild!)).toBe("");
  });

  it("leaves no English while connected, and the button's words are the labels'", async () => {
    const labels = markedLabels();
    const server = await labServer();
    const connected = service({ url: server.url, config: fast, autoConnect: true });
    await waitForState(connected, "connected");
    render(<WebSocketStatus service={connected} showDetails labels={labels} />);
    await waitFor(() => expect(part("latency")?.textContent).toMatch(/^«labels\.latencyValue:\d+»$/));
    expect(unmarkedText(root())).toBe("");
    expect(screen.getByRole("button").textContent).toBe("«labels.reconnect»");
    fireEvent.click(screen.getByRole("button"));
    expect(screen.getByRole("button").textContent).toBe("«labels.reconnecting»");
    await waitFor(() => expect(screen.getByRole("button").getAttribute("aria-busy")).toBe("false"));
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
    const countdown = (): string | null | undefined => part("countdown")?.textContent;
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
    const exhausted = service({ url: await deadUrl(), config: { maxReconnectAttempts: 1 }, autoConnect: true });
    await waitForState(exhausted, "exhausted");
    const onReconnectError = vi.fn();
    render(<WebSocketStatus service={exhausted} onReconnectError={onReconnectError} />);
    fireEvent.click(screen.getByRole("button", { name: /Reconnect/ }));
    await waitFor(() => expect(onReconnectError).toHaveBeenCalledTimes(1));
    expect(String(onReconnectError.mock.calls[0]?.[0])).toContain("exhausted");
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
    const states = ["idle", "connecting", "connected", "backingOff", "authRequired", "exhausted"] as const;
    const words = [...states.map((state) => defaultStatusLabels[state]), defaultStatusLabels.waitingForNetwork];
    expect(new Set(words).size).toBe(7);
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
    for (const name of ["root", "dot", "label", "health", "details", "item", "hint", "reconnect"] as const) {
      expect(webSocketStatusStyles).toContain(`.${webSocketStatusClasses[name]}`);
    }
  });
});

describe("WebSocketStatus softphone fields", () => {
  it("marks a call, names the server in the details, and says the server is restarting after a drain notice", async () => {
    const server = await labServer();
    const backup = await deadUrl();
    const phone = service({
      url: [server.url, backup],
      config: { baseDelay: 50, maxDelay: 100, jitterRange: 10, connectionTimeout: 1000 },
    });
    phone.connect();
    await waitForState(phone, "connected");
    const { container } = render(<WebSocketStatus service={phone} showDetails />);
    const root = container.firstElementChild!;
    const part = (name: keyof typeof webSocketStatusClasses) => root.querySelector(`.${webSocketStatusClasses[name]}`);
    expect(part("server")?.textContent).toBe(server.url);
    expect(part("call")).toBeNull();
    expect(root.getAttribute("data-call")).toBeNull();

    act(() => phone.setCallActive(true));
    await waitFor(() => expect(part("call")?.textContent).toBe(defaultStatusLabels.inCall));
    expect(root.getAttribute("data-call")).toBe("active");
    act(() => phone.setCallActive(false));
    await waitFor(() => expect(part("call")).toBeNull());

    // The server announces a restart a while away: the label says so once the link is gone.
    for (const socket of server.io.of("/").sockets.values()) {
      socket.emit("softphone:drain", { version: 1, reconnectAfter: 60_000, windowMs: 0 });
    }
    await waitFor(() => expect(phone.getStatus().restarting).toBe(true));
    server.kickAll();
    await waitFor(() => expect(part("label")?.textContent).toBe(defaultStatusLabels.restarting));
    expect(phone.getStatus()).toMatchObject({ state: "backingOff", attempt: 0, restarting: true });
  });
});
