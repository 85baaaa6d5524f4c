import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";

/** The repository's root. */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The demo server, started with `tsx demo/server.ts --port 0`; its page URL and socket proxy port. */
export interface StartedDemo {
  process: ChildProcess;
  url: string;
  socketPort: string;
  /** The port of the demo's backup server (its server list's second entry). */
  backupPort: string;
}

/** Starts the demo on free loopback ports and resolves once it says where it runs. */
export function startDemo(): Promise<StartedDemo> {
  const demo = spawn(join(root, "node_modules", ".bin", "tsx"), ["demo/server.ts", "--port", "0"], {
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
      const backup = /backup Socket\.IO server http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      if (url && proxy && backup) {
        clearTimeout(timer);
        resolve({ process: demo, url, socketPort: proxy, backupPort: backup });
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

/**
 * Debian's Chromium, headless, with the flags that keep it off the network. launch() gives
 * every run a fresh temporary profile (user-data-dir), removed on close.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}
