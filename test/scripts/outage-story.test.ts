import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { DEFAULT_SEED, parseCliArgs, UsageError } from "../../scripts/story/args.js";
import { formatElapsed } from "../../scripts/story/renderer.js";
import { runStory } from "../../scripts/story/story.js";
import { eventually } from "../support/events.js";

/**
 * `npm start` plays scripts/outage-story.ts; this runs the same story in-process against the
 * real lab server so that it cannot rot, and checks the command line around it.
 */

const root = fileURLToPath(new URL("../../", import.meta.url));
const tsx = fileURLToPath(new URL("../../node_modules/.bin/tsx", import.meta.url));
const run = promisify(execFile);

/** Kinds of active handles beyond `baseline`, counted (the runner's own pipes and TTYs ignored). */
function resourcesBeyond(baseline: readonly string[]): string[] {
  const left = [...baseline];
  const extra: string[] = [];
  for (const kind of process.getActiveResourcesInfo()) {
    if (["PipeWrap", "TTYWrap", "FSReqCallback"].includes(kind)) continue;
    const index = left.indexOf(kind);
    if (index === -1) extra.push(kind);
    else left.splice(index, 1);
  }
  return extra;
}


const CHAPTER_KEYS = ["connect", "crash", "silent-link", "offline", "queue", "token-revoked", "gone-for-good"];

describe("the outage story (in-process, real Socket.IO server)", () => {
  it("plays every chapter, holds every invariant, prints every state and releases everything", async () => {
    const baseline = process.getActiveResourcesInfo();
    let text = "";
    const summary = await runStory({ output: { write: (chunk: string) => (text += chunk) }, seed: 7 });

    const broken = summary.invariants.filter((check) => !check.ok);
    expect(broken, text).toEqual([]);
    expect(summary.failure, text).toBeNull();
    expect(summary.ok).toBe(true);
    expect(summary.chapters.map((chapter) => chapter.key)).toEqual(CHAPTER_KEYS);
    expect(summary.chapters.every((chapter) => chapter.completed)).toBe(true);
    expect(summary.seed).toBe(7);
    expect(summary.realTimings).toBe(false);

    const names = summary.invariants.map((check) => check.name);
    for (const name of [
      "silent loss detected within the bound",
      "no attempt offline",
      "notifyOnline() attempts at once",
      "queued messages delivered once each, in order",
      "a bad token is not retried",
      "exhausted after maxReconnectAttempts",
      "one socket at a time",
    ]) {
      expect(names).toContain(name);
    }
    expect(summary.server.peakOpen).toBe(1);
    const { silentLinkDetectionMs, silentLinkBoundMs, onlineToConnectedMs } = summary.measurements;
    expect(silentLinkBoundMs).toBe(2500);
    expect(silentLinkDetectionMs).toBeGreaterThan(0);
    expect(silentLinkDetectionMs!).toBeLessThanOrEqual(silentLinkBoundMs + 500);
    expect(onlineToConnectedMs).not.toBeNull();
    const exhausted = summary.chapters.find((chapter) => chapter.key === "gone-for-good")!;
    expect(exhausted.attempts).toBe(5);
    expect(summary.durationMs).toBeLessThan(60_000);

    // Captured output is not a terminal: no colours.
    expect(text.includes("\u001b[")).toBe(false);
    for (const heading of ["1. Connect", "2. Server crash", "3. Silent link", "4. Offline / online", "5. Queued messages", "6. Token revoked", "7. Server gone for good", "8. Summary"]) {
      expect(text).toContain(heading);
    }
    for (const transition of [
      "idle → connecting",
      "connecting → connected",
      "connected → backingOff",
      "backingOff → connecting",
      "connecting → authRequired",
      "authRequired → connecting",
      "connecting → exhausted",
      "exhausted → idle",
    ]) {
      expect(text).toContain(transition);
    }
    expect(text).toMatch(/^\d\d:\d\d\.\d{3} {2}backingOff +\d+\/5 +\d+ms +0% {2}· connection:reconnecting +retry \d+ in \d+ ms$/m);
    expect(text).toContain('reason "heartbeat timeout"');
    expect(text).toContain("✓ every chapter completed and every invariant held");

    // Service disposed, proxy and server closed: nothing of the story is left running.
    await eventually(() => expect(resourcesBeyond(baseline)).toEqual([]), 5_000);
  }, 60_000);
});

describe("the command line", () => {
  it("parses --seed, --real-timings and --help", () => {
    expect(parseCliArgs([])).toEqual({ help: false, realTimings: false, seed: DEFAULT_SEED });
    expect(parseCliArgs(["--seed", "42", "--real-timings"])).toEqual({ help: false, realTimings: true, seed: 42 });
    expect(parseCliArgs(["--seed=0"]).seed).toBe(0);
    expect(parseCliArgs(["-h"]).help).toBe(true);
  });

  it("names a bad flag or value", () => {
    expect(() => parseCliArgs(["--fast"])).toThrow(new UsageError("unknown flag --fast"));
    expect(() => parseCliArgs(["--seed"])).toThrow(/--seed needs a value/);
    expect(() => parseCliArgs(["--seed", "-1"])).toThrow(/--seed must be an integer/);
    expect(() => parseCliArgs(["--seed=1.5"])).toThrow(/--seed must be an integer/);
    expect(() => parseCliArgs(["story"])).toThrow(/unexpected argument "story"/);
  });

  it("formats elapsed time as mm:ss.mmm", () => {
    expect(formatElapsed(0)).toBe("00:00.000");
    expect(formatElapsed(61_234.9)).toBe("01:01.234");
  });

  it("exits 2 naming an unknown flag, and 0 with the usage for --help", async () => {
    const failure = await run(tsx, ["scripts/outage-story.ts", "--bogus"], { cwd: root }).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain("unknown flag --bogus");
    const help = await run(tsx, ["scripts/outage-story.ts", "--help"], { cwd: root });
    expect(help.stdout).toContain("--real-timings");
    expect(help.stdout).toContain("--seed N");
  }, 30_000);
});
