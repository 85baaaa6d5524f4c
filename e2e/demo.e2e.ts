import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, ConsoleMessage, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, launchChromium, root, startDemo } from "./support.js";

/**
 * The demo in real Chromium: the page's <WebSocketStatus showDetails> driven through a whole
 * outage story by the demo's own buttons, and checked at 360, 768 and 1280 px. Screenshots of the
 * status card in each state, and of the page at each width, go to docs/screenshots.
 */
const screenshots = join(root, "docs", "screenshots");

let demo: ChildProcess;
let demoUrl: string;
let socketPort: string;
let backupPort: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const consoleErrors: string[] = [];
/** The browser's own lines for sockets refused or reset during the outages this test causes. */
const networkLines: string[] = [];

async function startDemoServer(): Promise<string> {
  const started = await startDemo();
  demo = started.process;
  socketPort = started.socketPort;
  backupPort = started.backupPort;
  return started.url;
}

function isExpectedNetworkLine(message: ConsoleMessage): boolean {
  const text = message.text();
  const location = message.location().url;
  const aboutTheSocket = [socketPort, backupPort].some(
    (port) => text.includes(`127.0.0.1:${port}/socket.io/`) || location.includes(`127.0.0.1:${port}/socket.io/`),
  );
  // Refused or reset connections while the server is down, and Engine.IO's 400 "Session ID
  // unknown" for a long-poll that raced a session the server had just closed.
  return (
    aboutTheSocket &&
    (/^Failed to load resource: net::ERR_/.test(text) ||
      /^Failed to load resource: the server responded with a status of 400/.test(text) ||
      /^WebSocket connection to .* failed/.test(text))
  );
}

const status = (): ReturnType<Page["locator"]> => page.locator('[role="status"].ws-status');

/** The widths the page is checked at: a phone, a tablet, a laptop. */
const WIDTHS = [360, 768, 1280] as const;
const HEIGHT = 800;

async function waitForState(state: string, timeout = 30_000): Promise<void> {
  await status().and(page.locator(`[data-state="${state}"]`)).waitFor({ timeout });
}

async function text(selector: string): Promise<string> {
  return (await status().locator(selector).textContent()) ?? "";
}

async function waitForText(selector: string, expected: string | RegExp, timeout = 15_000): Promise<void> {
  await status().locator(selector, { hasText: expected }).waitFor({ timeout });
}

/** The status card alone: what `<WebSocketStatus showDetails>` looks like in this state. */
async function shot(name: string): Promise<void> {
  await page.locator(".status-card").screenshot({ path: join(screenshots, `${name}.png`) });
}

async function press(name: string): Promise<void> {
  await page.getByRole("button", { name, exact: true }).click();
}

async function socketId(): Promise<string | null> {
  return page.evaluate(
    () => (window as unknown as { demoService: { getStatus(): { socketId: string | null } } }).demoService.getStatus().socketId,
  );
}

/** What overflows sideways at the current width: the page itself, or any card of it. */
async function horizontalOverflow(): Promise<string[]> {
  return page.evaluate(() => {
    const found: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) found.push(`page: scrollWidth ${root.scrollWidth} > ${root.clientWidth}`);
    for (const element of Array.from(document.querySelectorAll<HTMLElement>("main > *, .ws-status, .ws-status__item"))) {
      if (element.scrollWidth > element.clientWidth + 1) {
        found.push(`${element.tagName.toLowerCase()}.${element.className}: scrollWidth ${element.scrollWidth} > ${element.clientWidth}`);
      }
    }
    return found;
  });
}

/** Detail values narrower than this would wrap a word a letter or two per line. */
const MIN_VALUE_WIDTH = 100;

/** At each width: nothing scrolls sideways, and every detail value has room for whole words. */
async function checkWidths(label: string, screenshotName?: string): Promise<void> {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: HEIGHT });
    expect(await horizontalOverflow(), `${label} at ${width} px`).toEqual([]);
    const narrow = await status()
      .locator(".ws-status__item dd")
      .evaluateAll((values, min) =>
        values
          .filter((dd) => dd.getBoundingClientRect().width < min)
          .map((dd) => `${dd.className}: ${Math.round(dd.getBoundingClientRect().width)} px`),
      MIN_VALUE_WIDTH);
    expect(narrow, `${label} at ${width} px`).toEqual([]);
    if (screenshotName) await page.screenshot({ path: join(screenshots, `${screenshotName}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: HEIGHT });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  mkdirSync(screenshots, { recursive: true });
  demoUrl = await startDemoServer();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: HEIGHT } });
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    if (isExpectedNetworkLine(message)) networkLines.push(`${message.text()} (${message.location().url})`);
    else consoleErrors.push(`${message.text()} (${message.location().url})`);
  });
  await page.goto(demoUrl);
});

afterAll(async () => {
  await browser?.close();
  if (demo && demo.exitCode === null) {
    const exited = new Promise((resolve) => demo.once("exit", resolve));
    demo.kill("SIGINT");
    await exited;
  }
  if (networkLines.length > 0) console.log(`browser network lines about the socket during the outages (allowed):\n${networkLines.join("\n")}`);
});

describe("the demo in Chromium", () => {
  it("connects: data-state, words, health in percent, failed attempts 0/max", async () => {
    await waitForState("connected");
    expect(await status().getAttribute("aria-live")).toBe("polite");
    expect(await text(".ws-status__label")).toBe("Connected");
    expect(await text(".ws-status__health")).toBe("100% (excellent)");
    expect(await status().locator(".ws-status__item dt").allTextContents()).toEqual([
      "Health",
      "Latency",
      "Failed attempts",
      "Last error",
      "Network",
      "Server",
    ]);
    expect(await text(".ws-status__attempt")).toBe("0/10");
    await waitForText(".ws-status__latency", / ms$/);
    // Let the chart gather a few seconds of samples for the screenshots.
    await page.locator('figure[data-samples="6"]').waitFor({ timeout: 10_000 });
    await shot("connected");
  });

  it("the chart has values on both axes and a latency scale that holds still", async () => {
    const axes = await page.locator(".chart svg text.axis").allTextContents();
    expect(axes).toEqual(expect.arrayContaining(["0%", "50%", "100%", "0 ms", "−60 s", "now"]));
    expect(axes.some((value) => /^[1-9]\d* ms$/.test(value))).toBe(true);
    const scale = await page.locator("figure[data-latency-scale]").getAttribute("data-latency-scale");
    await page.locator('figure[data-samples="8"]').waitFor({ timeout: 10_000 });
    expect(await page.locator("figure[data-latency-scale]").getAttribute("data-latency-scale")).toBe(scale);
  });

  it("at 360, 768 and 1280 px: no sideways scrolling, whole words in the details", async () => {
    await checkWidths("connected", "page");
  });

  it("kill server: waiting to retry, failed attempts n/max, plain words for the error, a countdown that moves", async () => {
    await press("Kill server");
    await waitForState("backingOff");
    expect(await text(".ws-status__label")).toBe("Waiting to retry");
    // The drop itself is not a failed attempt: wait for the first retry to fail.
    await waitForText(".ws-status__attempt", /^[1-9]\d*\/10$/);
    await waitForState("backingOff");
    // Find a countdown of at least 2 s, then see it go down by a second.
    const countdown = status().locator(".ws-status__countdown");
    await countdown.filter({ hasText: /^in ([2-9]|\d\d+) s$/ }).waitFor({ timeout: 30_000 });
    const first = Number(/\d+/.exec((await countdown.textContent()) ?? "")?.[0]);
    await page.waitForFunction(
      (before) => {
        const now = document.querySelector(".ws-status__countdown")?.textContent ?? "";
        const match = /^in (\d+) s$/.exec(now);
        return match !== null && Number(match[1]) === before - 1;
      },
      first,
      { timeout: 3_000 },
    );
    // A browser hides the transport's cause: the raw text is only "xhr poll error" or "websocket error".
    const error = status().locator(".ws-status__error");
    expect(await error.textContent()).toMatch(/^(Server unreachable|Connection refused)$/);
    expect(await error.getAttribute("title")).toMatch(/xhr poll error|websocket error/);
    expect(await status().textContent()).not.toMatch(/xhr poll error|websocket error/);
    await shot("backingOff");
    await checkWidths("backing off");
  });

  it("restart server: connected again, failed attempts back to 0", async () => {
    await press("Restart server");
    await waitForState("connected", 40_000);
    expect(await text(".ws-status__attempt")).toBe("0/10");
    await expect.poll(() => page.getByTestId("log").textContent()).toContain("connection:reconnected");
    await shot("reconnected");
  });

  it("revoke token: signed out, no Reconnect button, the app's Sign in in its place", async () => {
    await press("Revoke token");
    await waitForState("authRequired");
    expect(await text(".ws-status__label")).toBe("Signed out");
    expect(await text(".ws-status__error")).toBe("Sign-in needed");
    expect(await status().locator(".ws-status__error").getAttribute("title")).toMatch(/token|unauthorized/i);
    expect(await status().getByRole("button", { name: /Reconnect/ }).count()).toBe(0);
    expect(await status().getByRole("button").allTextContents()).toEqual(["Sign in"]);
    await shot("authRequired");
  });

  it("sign in: a new token from the status' own slot, connected", async () => {
    await status().getByRole("button", { name: "Sign in" }).click();
    await waitForState("connected");
    await shot("newToken");
  });

  it("Reconnect button: shows it is working and ends on a new connection", async () => {
    const before = await socketId();
    expect(before).not.toBeNull();
    const button = status().getByRole("button", { name: /Reconnect/ });
    await button.focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => socketId(), { timeout: 15_000 }).not.toBe(before);
    await waitForState("connected");
    await expect.poll(() => button.getAttribute("aria-busy")).toBe("false");
    expect(await socketId()).not.toBeNull();
    await shot("afterReconnect");
  });

  it("go offline: not a plain 'Connected' while the link is checked, then 'Waiting for network'; online connects at once", async () => {
    await press("Cut link silently");
    await press("Go offline");
    await waitForText(".ws-status__label", "Connected (system reports offline)", 5_000);
    expect(await status().getAttribute("data-state")).toBe("connected");
    await shot("connectedOffline");
    await waitForState("backingOff");
    expect(await text(".ws-status__label")).toBe("Waiting for network");
    expect(await text(".ws-status__countdown")).toBe("when the network is back");
    expect(await text(".ws-status__network")).toBe("offline");
    await shot("offline");
    await press("Restore link");
    await press("Go online");
    await waitForState("connected");
  });

  it("shed load: 'Server busy, retrying in N s' while the server's retryAfter holds the next attempt back", async () => {
    await press("Shed load");
    await waitForState("backingOff");
    // retryAfter is 5000 ms: the countdown starts at 5 s or more.
    await waitForText(".ws-status__countdown", /^in ([5-9]|\d\d+) s$/);
    await waitForText(".ws-status__error", /^Server busy, retrying in ([4-9]|\d\d+) s$/);
    expect(await status().locator(".ws-status__error").getAttribute("title")).toBe("server busy");
    await shot("sheddingLoad");
    await press("Stop shedding");
    await waitForState("connected", 30_000);
  });

  it("hold handshakes: connecting, until the attempt times out or the server answers", async () => {
    await press("Hold handshakes");
    await waitForState("connecting");
    expect(await text(".ws-status__label")).toBe("Connecting");
    await shot("connecting");
    await press("Release");
    await waitForState("connected", 30_000);
  });

  it("call and servers: 'In a call' marker; a kill moves to the backup, a planned restart says so, the primary is taken back", async () => {
    await waitForState("connected");
    const inUse = (which: "primary" | "backup") =>
      page.getByTestId("servers").locator('li[aria-current="true"]', { hasText: which }).waitFor({ timeout: 40_000 });
    await inUse("primary");
    await press("Start call");
    await status().locator(".ws-status__call").waitFor();
    expect(await text(".ws-status__call")).toBe("In a call");
    expect(await status().getAttribute("data-call")).toBe("active");
    await press("End call");
    await status().locator(".ws-status__call").waitFor({ state: "detached" });

    await press("Start backup");
    await press("Kill server");
    await inUse("backup");
    await waitForState("connected", 40_000);
    expect(await text(".ws-status__server")).toBe(`http://127.0.0.1:${backupPort}`);
    await press("Restart server");
    // Once stable on the backup, the primary is checked and taken back.
    await inUse("primary");
    await waitForState("connected", 40_000);
    expect(await text(".ws-status__server")).toBe(`http://127.0.0.1:${socketPort}`);

    await press("Planned restart");
    await waitForText(".ws-status__label", "Server restarting");
    await shot("restarting");
    await inUse("backup");
    await waitForState("connected", 40_000);
    expect(await text(".ws-status__attempt")).toMatch(/^0\//);
    await inUse("primary");
    await waitForState("connected", 40_000);
    await press("Kill backup");
  }, 180_000);

  it("fast timings: gave up within seconds of a kill, says what happens next, and Reconnect brings it back", async () => {
    await page.goto(`${demoUrl}?timings=fast`);
    await waitForState("connected");
    expect(await page.getByTestId("timings").textContent()).toMatch(/^Fast timings: 3 attempts/);
    const killedAt = Date.now();
    await press("Kill server");
    await waitForState("exhausted", 20_000);
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    expect(await text(".ws-status__label")).toBe("Gave up reconnecting");
    expect(await text(".ws-status__attempt")).toBe("3/3");
    expect(await text(".ws-status__hint")).toBe(
      "Stopped after 3 failed attempts in a row. Nothing more is tried until you press Reconnect or the network comes back.",
    );
    await shot("exhausted");
    await checkWidths("exhausted");
    await press("Restart server");
    await status().getByRole("button", { name: "Reconnect" }).click();
    await waitForState("connected");
  });

  it("no page errors and no console errors", () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
