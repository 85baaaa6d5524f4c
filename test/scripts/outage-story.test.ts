import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { DEFAULT_SEED, parseCliArgs, UsageError } from "../../scripts/story/args.js";
import { formatElapsed, wrap } from "../../scripts/story/renderer.js";
import { SCALED_CONFIG } from "../../scripts/story/story.js";
import { delaySource, estimateStoryDuration, formatDuration } from "../../scripts/story/timing.js";
import { Signal, Waits } from "../../scripts/story/waits.js";
import { DEFAULT_CONFIG, resolveConfig } from "../../src/index.js";
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


const CHAPTER_KEYS = [
  "connect",
  "crash",
  "silent-link",
  "offline",
  "queue",
  "token-revoked",
  "call",
  "failover",
  "planned-restart",
  "gone-for-good",
];

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
      "a new session after authRequired",
      "exhausted after maxReconnectAttempts",
      "failover after failoverAfter failures on each server",
      "a call shortens the heartbeat cadence",
      "in a call, silent loss detected within the call bound",
      "in a call, retry delays capped at callMaxDelay",
      "in a call, forceReconnection() keeps a working link",
      "call signalling goes out first",
      "the call's end restores the cadence, on the same link",
      "failover after failoverAfter failures",
      "no move back while the primary is down",
      "fail-back at the next check",
      "a planned restart is announced",
      "the move to the backup at its moment, no failure counted",
      "fail-back after the restart",
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
    // Call mode: min(1000, 300) + 3 × 500, faster than outside a call, and measured so.
    const { callDetectionMs, callBoundMs, failoverMs, failbackMs, drainDelayMs, drainWindowMs } = summary.measurements;
    expect(callBoundMs).toBe(1800);
    expect(callDetectionMs).toBeGreaterThan(0);
    expect(callDetectionMs!).toBeLessThan(silentLinkBoundMs);
    expect(failoverMs).toBeGreaterThan(0);
    expect(failbackMs).toBeGreaterThan(0);
    expect(drainWindowMs).toBe(2000);
    expect(drainDelayMs).toBeGreaterThanOrEqual(100);
    expect(drainDelayMs!).toBeLessThan(100 + drainWindowMs);
    // The backup served the failover and the planned restart: one connection each.
    expect(summary.backup.connections).toBe(2);
    expect(summary.durationMs).toBeLessThan(90_000);

    // Captured output is not a terminal: no colours.
    expect(text.includes("\u001b[")).toBe(false);
    for (const heading of [
      "1. Connect",
      "2. Server crash",
      "3. Silent link",
      "4. Offline / online",
      "5. Queued messages",
      "6. Token revoked",
      "7. Call in progress",
      "8. Failover and fail-back",
      "9. Planned restart",
      "10. Server gone for good",
      "11. Summary",
    ]) {
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
    // Each drawn delay with the envelope it was drawn below.
    expect(text).toMatch(
      /^\d\d:\d\d\.\d{3} {2}backingOff +\d+\/5 +\d+ms +0% {2}· connection:reconnecting +retry \d+ in \d+ ms {2}\(drawn from \[100, \d+\), envelope \d+ ms\)$/m,
    );
    expect(text).toContain("retry 1 in");
    // One transport per attempt: WebSocket first, long-polling after a WebSocket hang-up.
    expect(text).toMatch(/· connection:failed +failed attempt 1 on the primary: Server unreachable \(websocket error: socket hang up\)$/m);
    expect(text).toMatch(/· connection:failed +failed attempt 2 on the primary: Server unreachable \(xhr poll error: socket hang up\)$/m);
    // The backup is down outside chapters 8 and 9: a closed port.
    expect(text).toMatch(/· connection:failed +failed attempt 3 on the backup: Connection refused \(websocket error: connect ECONNREFUSED [\d.:]+\)$/m);
    for (const change of ["failover: primary → backup", "failover: backup → primary", "failback: backup → primary", "drain: primary → backup"]) {
      expect(text).toContain(`· connection:server_changed   ${change}`);
    }
    expect(text).toMatch(/· connection:restarting +the server is restarting: back, on the backup, in \d+ ms \(window 2000 ms\)$/m);
    expect(text).toContain('reason "moving back to the primary server"');
    // Notes wrap between words: read them as prose.
    const prose = text.replace(/\s+/g, " ");
    expect(prose).toContain("the next attempt to that server starts with HTTP long-polling");

    // One meaning per number: the summary's retries are the ones the chapters' events count.
    const reconnectedIn = (key: string) => summary.chapters.find((chapter) => chapter.key === key)!.attempts;
    const offlineRetries = /· connection:reconnected +after (\d+) retr(?:y|ies)\n(?:.*\n){0,2}.*online → connected in/.exec(text)?.[1];
    expect(offlineRetries).toBeDefined();
    expect(reconnectedIn("offline")).toBe(Number(offlineRetries));
    expect(reconnectedIn("token-revoked")).toBe(1);

    // Chapter 6: the new session is said to be one, and an unconfirmed send is explained where it shows.
    expect(prose).toContain("a new session, not a reconnection");
    const chapter6 = prose.slice(prose.indexOf("6. Token revoked"), prose.indexOf("7. Call in progress"));
    if (chapter6.includes("· message:unconfirmed")) {
      expect(chapter6).toMatch(/» message:unconfirmed: 1 send \(chapter 5's marker note\) went out after the last heartbeat ack/);
      expect(chapter6).toContain("The server did get it.");
    }
    expect(text).toContain('reason "heartbeat timeout"');
    expect(text).toContain("✓ every chapter completed and every invariant held");

    // Service disposed, proxy and server closed: nothing of the story is left running.
    await eventually(() => expect(resourcesBeyond(baseline)).toEqual([]), 5_000);
  }, 120_000);
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

  it("says how long the story takes, scaled and real", () => {
    const scaled = estimateStoryDuration(resolveConfig(SCALED_CONFIG), 800, 2_000);
    expect(scaled.typicalMs).toBeGreaterThan(15_000);
    expect(scaled.typicalMs).toBeLessThan(40_000);
    expect(scaled.atMostMs).toBeLessThan(90_000);
    const real = estimateStoryDuration(resolveConfig({ ...DEFAULT_CONFIG }), 4_000, 30_000);
    // 20 retries with full jitter below envelopes up to 30 s, and 25 s heartbeats: minutes.
    expect(real.typicalMs).toBeGreaterThan(4 * 60_000);
    expect(real.atMostMs).toBeGreaterThan(real.typicalMs);
    expect(formatDuration(real.typicalMs)).toMatch(/^\d+ min( \d+ s)?$/);
    expect(formatDuration(11_400)).toBe("11 s");
  });

  it("names where each delay was drawn from", () => {
    const full = resolveConfig({ ...DEFAULT_CONFIG, jitterStrategy: "full" });
    expect(delaySource(1, full)).toBe("drawn from [500, 1000), envelope 1000 ms");
    expect(delaySource(9, full)).toBe("drawn from [500, 30000), envelope 30000 ms");
    const additive = resolveConfig({ ...DEFAULT_CONFIG, jitterStrategy: "additive" });
    expect(delaySource(3, additive)).toBe("envelope 4000 ms + jitter [0, 1000)");
  });

  it("reports a long wait's progress, and stops when it ends", async () => {
    const { createWebSocketService } = await import("../../src/index.js");
    const idle = createWebSocketService({ url: "http://127.0.0.1:9" });
    const reports: number[] = [];
    const waits = new Waits(idle, 5_000, 1_000, { every: 20, report: (_what, elapsed) => reports.push(elapsed) });
    const signal = new Signal();
    let done = false;
    const wait = waits.until("the signal", undefined, signal.watch(() => (done ? true : undefined)));
    await eventually(() => expect(reports.length).toBeGreaterThanOrEqual(3), 2_000, 5);
    done = true;
    signal.notify();
    await wait;
    const seen = reports.length;
    expect(reports.slice(0, 3)).toEqual([20, 40, 60]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(reports.length).toBe(seen);
    idle.dispose();
  });

  it("wraps long notes between words", () => {
    expect(wrap("aa bb cc dd", 5)).toEqual(["aa bb", "cc dd"]);
    expect(wrap("a verylongword b", 4)).toEqual(["a", "verylongword", "b"]);
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
