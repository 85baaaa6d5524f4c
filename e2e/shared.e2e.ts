import type { ChildProcess } from "node:child_process";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, startDemo } from "./support.js";

/**
 * Issue 13 in real Chromium: demo/shared.html in two pages, both remotes of one service hosted in
 * a SharedWorker (demo/sharedHost.ts), against the demo's real Socket.IO server.
 */
let demo: ChildProcess;
let demoUrl: string;
let browser: Browser;
let context: BrowserContext;
const pageErrors: string[] = [];

beforeAll(async () => {
  const started = await startDemo();
  demo = started.process;
  demoUrl = started.url;
  browser = await launchChromium();
  // One context: a SharedWorker is shared by the pages of one profile and origin.
  context = await browser.newContext();
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  demo?.kill("SIGTERM");
});

interface ServerState {
  openSockets: number;
  connections: number;
  serverListening: boolean;
}

async function serverState(): Promise<ServerState> {
  return (await (await fetch(new URL("api/state", demoUrl))).json()) as ServerState;
}

async function command(name: string): Promise<void> {
  const response = await fetch(new URL(`api/${name}`, demoUrl), { method: "POST" });
  expect(response.status).toBe(200);
}

async function openWindow(): Promise<Page> {
  const page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  await page.goto(new URL("shared.html", demoUrl).href);
  return page;
}

const waitForState = (page: Page, state: string, timeout = 30_000) =>
  page.locator(`[role="status"].ws-status[data-state="${state}"]`).waitFor({ timeout });

/** Clicks "Ask the server" and resolves with the page's own tag and the reply it showed. */
async function ask(page: Page): Promise<{ tag: string; reply: string }> {
  const tag = (await page.locator("#tag").textContent()) ?? "";
  await page.getByRole("button", { name: "Ask the server" }).click();
  await page.locator("#reply", { hasText: /^(echo:|error)/ }).waitFor({ timeout: 10_000 });
  return { tag, reply: (await page.locator("#reply").textContent()) ?? "" };
}

describe("one connection for every window: a SharedWorker host, two pages", () => {
  let first: Page;
  let second: Page;

  it("both pages show connected, and the server sees exactly one connection", async () => {
    first = await openWindow();
    second = await openWindow();
    await Promise.all([waitForState(first, "connected"), waitForState(second, "connected")]);
    await expect.poll(async () => (await serverState()).openSockets, { timeout: 5_000 }).toBe(1);
    expect((await serverState()).connections).toBe(1);
    expect(await first.locator(".shared-host").getAttribute("data-host")).toBe("attached");
  });

  it("a request from each page resolves in that page", async () => {
    const [fromFirst, fromSecond] = await Promise.all([ask(first), ask(second)]);
    expect(fromFirst.tag).not.toBe(fromSecond.tag);
    expect(fromFirst.reply).toBe(`echo:${fromFirst.tag}`);
    expect(fromSecond.reply).toBe(`echo:${fromSecond.tag}`);
  });

  it("killing the server shows backing off in both pages; a restart reconnects both over one socket", async () => {
    await command("kill");
    await Promise.all([waitForState(first, "backingOff"), waitForState(second, "backingOff")]);
    await command("restart");
    await Promise.all([waitForState(first, "connected", 40_000), waitForState(second, "connected", 40_000)]);
    await expect.poll(async () => (await serverState()).openSockets, { timeout: 5_000 }).toBe(1);
  });

  it("closing one page leaves the other working", async () => {
    await first.close();
    const { tag, reply } = await ask(second);
    expect(reply).toBe(`echo:${tag}`);
    await waitForState(second, "connected");
    expect(await second.locator(".shared-host").getAttribute("data-host")).toBe("attached");
    expect((await serverState()).openSockets).toBe(1);
    // A third window joins the same connection.
    const third = await openWindow();
    await waitForState(third, "connected");
    expect((await serverState()).openSockets).toBe(1);
    expect(pageErrors).toEqual([]);
  });
});
