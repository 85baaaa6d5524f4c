import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type ConsoleMessage, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The demo in real Chromium: the page's <WebSocketStatus showDetails> driven through a whole
 * outage story by the demo's own buttons. Screenshots of each state go to docs/screenshots.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const screenshots = join(root, "docs", "screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let demo: ChildProcess;
let demoUrl: string;
let socketPort: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const consoleErrors: string[] = [];
/** The browser's own lines for sockets refused or reset during the outages this test causes. */
const networkLines: string[] = [];

function startDemo(): Promise<string> {
  demo = spawn(join(root, "node_modules", ".bin", "tsx"), ["demo/server.ts", "--port", "0"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const url = /Demo running at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
      const proxy = /through the proxy http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      if (url && proxy) {
        clearTimeout(timer);
        socketPort = proxy;
        resolve(url);
      }
    };
    demo.stdout?.on("data", onData);
    demo.stderr?.on("data", onData);
    demo.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code}:\n${output}`));
    });
  });
}

function isExpectedNetworkLine(message: ConsoleMessage): boolean {
  const text = message.text();
  const location = message.location().url;
  const aboutTheSocket = text.includes(`127.0.0.1:${socketPort}/socket.io/`) || location.includes(`127.0.0.1:${socketPort}/socket.io/`);
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

async function waitForState(state: string, timeout = 30_000): Promise<void> {
  await status().and(page.locator(`[data-state="${state}"]`)).waitFor({ timeout });
}

async function text(selector: string): Promise<string> {
  return (await status().locator(selector).textContent()) ?? "";
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: false });
}

async function press(name: string): Promise<void> {
  await page.getByRole("button", { name, exact: true }).click();
}

async function socketId(): Promise<string | null> {
  return page.evaluate(
    () => (window as unknown as { demoService: { getStatus(): { socketId: string | null } } }).demoService.getStatus().socketId,
  );
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  mkdirSync(screenshots, { recursive: true });
  demoUrl = await startDemo();
  // launch() gives every run a fresh temporary profile (user-data-dir), removed on close.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
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
  it("connects: data-state, words, health in percent, attempt 0/max", async () => {
    await waitForState("connected");
    expect(await status().getAttribute("aria-live")).toBe("polite");
    expect(await text(".ws-status__label")).toBe("Connected");
    expect(await text(".ws-status__health")).toMatch(/^100% /);
    expect(await text(".ws-status__attempt")).toBe("0/10");
    await page.locator(".ws-status__latency", { hasText: / ms$/ }).waitFor();
    // Let the chart gather a few seconds of samples for the screenshot.
    await page.locator('figure[data-samples="6"]').waitFor({ timeout: 10_000 });
    await shot("connected");
  });

  it("kill server: backing off with attempt n/max and a countdown that moves", async () => {
    await press("Kill server");
    await waitForState("backingOff");
    // The drop itself is not a failed attempt: wait for the first retry to fail.
    await status().locator(".ws-status__attempt", { hasText: /^[1-9]\d*\/10$/ }).waitFor({ timeout: 15_000 });
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
    expect(await text(".ws-status__error")).not.toBe("none");
    await shot("backingOff");
  });

  it("restart server: connected again, attempt back to 0", async () => {
    await press("Restart server");
    await waitForState("connected", 40_000);
    expect(await text(".ws-status__attempt")).toBe("0/10");
    await expect.poll(() => page.getByTestId("log").textContent()).toContain("connection:reconnected");
    await shot("reconnected");
  });

  it("revoke token: auth required, no retry loop", async () => {
    await press("Revoke token");
    await waitForState("authRequired");
    expect(await text(".ws-status__label")).toBe("Authentication required");
    expect(await text(".ws-status__error")).toMatch(/token|unauthorized/i);
    await shot("authRequired");
  });

  it("issue token: connected with the new token", async () => {
    await press("Issue token");
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

  it("go offline: backing off waits for the network; go online connects at once", async () => {
    await press("Cut link silently");
    await press("Go offline");
    await waitForState("backingOff");
    await status().locator(".ws-status__countdown", { hasText: "when the network is back" }).waitFor();
    await shot("offline");
    await press("Restore link");
    await press("Go online");
    await waitForState("connected");
  });

  it("shed load: the server's retryAfter holds the next attempt back", async () => {
    await press("Shed load");
    await waitForState("backingOff");
    // retryAfter is 5000 ms: the countdown starts at 5 s or more.
    await status().locator(".ws-status__countdown", { hasText: /^in ([5-9]|\d\d+) s$/ }).waitFor({ timeout: 15_000 });
    expect(await text(".ws-status__error")).toBe("server busy");
    await shot("sheddingLoad");
    await press("Stop shedding");
    await waitForState("connected", 30_000);
  });

  it("no page errors and no console errors", () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
