import { performance } from "node:perf_hooks";
import type { Socket } from "socket.io";
import { LabServer } from "../../lab/server.js";
import { TcpProxy } from "../../lab/tcpProxy.js";
import { DEFAULT_CONFIG, resolveConfig } from "../../src/machine/config.js";
import type { ConnectionConfig, ServiceEventMap, ServiceEventName } from "../../src/machine/types.js";
import { describeError } from "../../src/react/describeError.js";
import { createWebSocketService, type WebSocketService } from "../../src/services/WebSocketService.js";
import { DEFAULT_SEED } from "./args.js";
import { CHAPTERS } from "./chapters.js";
import { seededRandom } from "./prng.js";
import { Renderer, type StoryOutput, wantsColor } from "./renderer.js";
import type { ChapterOutcome, HeartbeatRecord, LoggedEvent, NoteRecord, StoryRig } from "./rig.js";
import { delaySource, estimateStoryDuration, formatDuration, formatEstimate } from "./timing.js";
import { Signal, Waits } from "./waits.js";

export type { StoryOutput } from "./renderer.js";

/**
 * Timings scaled down so that the whole story takes about half a minute. The shape of every
 * mechanism is the default one: only the clock runs faster.
 */
export const SCALED_CONFIG: Readonly<Partial<ConnectionConfig>> = Object.freeze({
  baseDelay: 200,
  maxDelay: 1500,
  maxReconnectAttempts: 5,
  heartbeatInterval: 1000,
  heartbeatTimeout: 500,
  minHeartbeatTimeout: 150,
  connectionTimeout: 2000,
  healthCheckInterval: 2000,
  queueTtl: 10000,
  stablePeriod: 1000,
  callHeartbeatInterval: 300,
  callMaxDelay: 500,
  failoverAfter: 2,
  failbackInterval: 1000,
});

/** `windowMs` of the planned restart's drain: scaled, and with real timings a window a deploy would use. */
const DRAIN_WINDOW_MS = { scaled: 2000, real: 30_000 } as const;

export interface StoryOptions {
  /** Where the story prints. @default process.stdout */
  output?: StoryOutput;
  /** Seed of the jitter. @default DEFAULT_SEED */
  seed?: number;
  /** Run with DEFAULT_CONFIG instead of {@link SCALED_CONFIG} (takes minutes). @default false */
  realTimings?: boolean;
  /** ANSI colours. @default a TTY output without NO_COLOR */
  color?: boolean;
}

export interface ChapterSummary extends ChapterOutcome {
  index: number;
  key: string;
  title: string;
  completed: boolean;
  /** Why the chapter did not complete. */
  error: string | null;
}

export interface InvariantRecord {
  name: string;
  ok: boolean;
  detail: string;
  /** Key of the chapter that checked it, null for the whole story. */
  chapter: string | null;
}

export interface StorySummary {
  /** Every chapter completed and every invariant held. */
  ok: boolean;
  seed: number;
  realTimings: boolean;
  durationMs: number;
  chapters: ChapterSummary[];
  invariants: InvariantRecord[];
  /** The error that stopped the story, if one did. */
  failure: string | null;
  measurements: {
    silentLinkDetectionMs: number | null;
    silentLinkBoundMs: number;
    onlineToConnectedMs: number | null;
    /** Chapter "call": blackhole → heartbeat timeout during a call, and its bound. */
    callDetectionMs: number | null;
    callBoundMs: number;
    /** Chapter "failover": primary killed → connected to the backup. */
    failoverMs: number | null;
    /** Chapter "failover": primary back → connected to it again. */
    failbackMs: number | null;
    /** Chapter "planned-restart": the return delay the service drew in the drain window, and the window. */
    drainDelayMs: number | null;
    drainWindowMs: number;
  };
  /** The primary's counts; `peakOpen` is the largest number of this service's sockets open at once on both servers. */
  server: { handshakes: number; refused: number; connections: number; peakOpen: number };
  backup: { handshakes: number; refused: number; connections: number };
}

const TOKENS = { first: "story-token-1", second: "story-token-2" } as const;

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

type Describe = { [K in ServiceEventName]: ((payload: ServiceEventMap[K]) => string) | null };

/**
 * How each service event reads in the log; null: not printed. `name` turns a server URL into
 * "primary" or "backup".
 */
const describers = (name: (url: string) => string): Describe => ({
  "connection:connected": ({ socketId, server }) => `socket ${socketId} on the ${name(server)}`,
  "connection:disconnected": ({ reason }) => `reason "${reason}"`,
  "connection:failed": ({ attempt, error, server }) =>
    `failed attempt ${attempt} on the ${name(server)}: ${describeError(error)?.text ?? "failed"} (${error.message})`,
  "connection:reconnecting": ({ attempt, delay }) => `retry ${attempt} in ${delay} ms`,
  "connection:reconnected": ({ attempts }) => `after ${plural(attempts, "retry", "retries")}`,
  "connection:max_attempts_reached": ({ attempts }) => `${plural(attempts, "attempt")} failed in a row`,
  "connection:auth_required": () => "waiting for setAuthToken()",
  "connection:auth_failed": ({ error }) => error.message,
  "connection:health_degraded": ({ healthScore, consecutiveFailures }) =>
    `score ${healthScore}, ${consecutiveFailures} missed acks in a row`,
  "connection:health_check": ({ healthScore, quality, latency }) =>
    `${healthScore}% ${quality}, latency ${latency ?? "?"} ms`,
  "connection:resumed": ({ sleptFor }) => `slept ${sleptFor ?? "?"} ms`,
  "connection:server_changed": ({ from, to, reason }) => `${reason}: ${name(from)} → ${name(to)}`,
  "connection:restarting": ({ server, delay, windowMs }) =>
    `the server is restarting: back, on the ${name(server)}, in ${delay} ms (window ${windowMs} ms)`,
  message: ({ event }) => `"${event}" from the server`,
  "message:dropped": ({ event, reason }) => `"${event}" (${reason})`,
  "message:unconfirmed": ({ event }) => `"${event}" was sent after the last heartbeat ack: it may not have arrived`,
  "callback:failed": ({ callback, message }) => `${callback}: ${message}`,
  "request:settled": null,
});

function configLines(config: ConnectionConfig): [string, string][] {
  return [
    [
      "backoff",
      `baseDelay ${config.baseDelay} ms, maxDelay ${config.maxDelay} ms, ×${config.backoffMultiplier}, ` +
        `${config.jitterStrategy} jitter, maxReconnectAttempts ${config.maxReconnectAttempts}, connectionTimeout ${config.connectionTimeout} ms`,
    ],
    [
      "liveness",
      `heartbeatInterval ${config.heartbeatInterval} ms, heartbeatTimeout ${config.minHeartbeatTimeout}..${config.heartbeatTimeout} ms, ` +
        `unhealthyThreshold ${config.unhealthyThreshold}, healthCheckInterval ${config.healthCheckInterval} ms`,
    ],
    ["queue", `maxQueueSize ${config.maxQueueSize}, queueTtl ${config.queueTtl} ms`],
    [
      "call",
      `callHeartbeatInterval ${config.callHeartbeatInterval} ms, callMaxDelay ${config.callMaxDelay} ms`,
    ],
    [
      "servers",
      `failoverAfter ${config.failoverAfter}, failbackInterval ${config.failbackInterval} ms, stablePeriod ${config.stablePeriod} ms`,
    ],
  ];
}

/** Where the delay of the retry just scheduled comes from, in words for the log. */
function retrySource(service: WebSocketService, config: ConnectionConfig): string {
  const { context } = service.actor.getSnapshot();
  // An announced restart: the moment this client picked in the server's window, not a backoff draw.
  if (context.restarting) return "the moment picked in the drain window";
  const source = delaySource(context.backoffStep, config);
  return context.callActive ? `${source}, at most callMaxDelay ${config.callMaxDelay} ms in a call` : source;
}

/** Prints every top-level state change and every service event as one line, and logs the events. */
function attachLog(
  service: WebSocketService,
  config: ConnectionConfig,
  out: Renderer,
  log: LoggedEvent[],
  now: () => number,
  describe: Describe,
): () => void {
  let shownState = service.getStatus().state;
  const showState = () => {
    const status = service.getStatus();
    // Until the actor stops: the last transition (to idle, on dispose) is part of the story.
    if (service.actor.getSnapshot().status !== "active" || status.state === shownState) return;
    const from = shownState;
    shownState = status.state;
    out.transition({ status, kind: "state", label: `${from} → ${status.state}` });
  };
  const subscription = service.actor.subscribe(showState);
  const listen = <K extends ServiceEventName>(name: K): (() => void) => {
    const describeEvent = describe[name] as ((payload: ServiceEventMap[K]) => string) | null;
    return service.on(name, (payload) => {
      log.push({ name, payload, at: now() });
      if (!describeEvent) return;
      // Emitted events reach listeners before snapshot observers: show the state change first.
      showState();
      const status = service.getStatus();
      // Beside each drawn delay, where it was drawn from: the envelope of the backoff step in force.
      const source = name === "connection:reconnecting" ? `  (${retrySource(service, config)})` : "";
      out.transition({
        status,
        kind: "event",
        label: name,
        detail: `${describeEvent(payload)}${source}`,
        ...(name === "connection:reconnecting" ? { delay: (payload as ServiceEventMap["connection:reconnecting"]).delay } : {}),
        quiet: name === "connection:health_check",
      });
    });
  };
  const offs = (Object.keys(describe) as ServiceEventName[]).map((name) => listen(name));
  return () => {
    subscription.unsubscribe();
    for (const off of offs) off();
  };
}

/**
 * Plays the outage story against a real Socket.IO server on 127.0.0.1 and returns what
 * happened. Never throws for a failed chapter or invariant (see `summary.ok`); throws only
 * when the lab itself cannot start.
 */
export async function runStory(options: StoryOptions = {}): Promise<StorySummary> {
  const output = options.output ?? process.stdout;
  const seed = options.seed ?? DEFAULT_SEED;
  const realTimings = options.realTimings ?? false;
  const startedAt = performance.now();
  const now = () => Math.round(performance.now() - startedAt);
  const out = new Renderer(output, options.color ?? wantsColor(output), now);
  const config = resolveConfig(realTimings ? { ...DEFAULT_CONFIG } : SCALED_CONFIG);
  const quietMs = Math.min(config.maxDelay, 4 * config.baseDelay);
  const patience = config.maxDelay + config.jitterRange + 2 * config.connectionTimeout + 5000;

  const notes: NoteRecord[] = [];
  const notesChanged = new Signal();
  const heartbeats: HeartbeatRecord[] = [];
  const heartbeatsChanged = new Signal();
  const servers: { primary?: LabServer; backup?: LabServer } = {};
  // This service's sockets open on both servers at once: more than one is a leak or an overlap.
  let peakOpen = 0;
  const onConnection = (role: "primary" | "backup") => (socket: Socket) => {
    peakOpen = Math.max(peakOpen, (servers.primary?.openSockets() ?? 0) + (servers.backup?.openSockets() ?? 0));
    socket.on("note", (note: Omit<NoteRecord, "socketId">) => {
      notes.push({ seq: note.seq, text: note.text, socketId: socket.id });
      notesChanged.notify();
    });
    socket.on("heartbeat", () => {
      heartbeats.push({ at: now(), socketId: socket.id, server: role });
      heartbeatsChanged.notify();
    });
  };
  const server = await LabServer.start({ tokens: [TOKENS.first], onConnection: onConnection("primary") });
  servers.primary = server;
  let backup: LabServer;
  let proxy: TcpProxy;
  try {
    // One auth realm: the backup accepts what the primary accepts (the token chapter changes both).
    backup = await LabServer.start({ tokens: [TOKENS.first], onConnection: onConnection("backup") });
    servers.backup = backup;
    // Dead until the failover chapter: until then every failover meets a closed port.
    await backup.kill();
    proxy = await TcpProxy.start(server.port);
  } catch (error) {
    await servers.backup?.close();
    await server.close();
    throw error;
  }
  const backupChapter = CHAPTERS.findIndex((chapter) => chapter.key === "failover") + 1;
  const serverName = (url: string) => (url === proxy.url ? "primary" : url === backup.url ? "backup" : url);
  const service = createWebSocketService({
    url: [proxy.url, backup.url],
    auth: { token: TOKENS.first },
    config,
    random: seededRandom(seed),
  });
  const drainWindowMs = realTimings ? DRAIN_WINDOW_MS.real : DRAIN_WINDOW_MS.scaled;
  const estimate = estimateStoryDuration(config, quietMs, drainWindowMs);
  // With real timings some waits last minutes: say every 15 s what is awaited, and the state.
  const progress = realTimings
    ? {
        every: 15_000,
        report: (what: string, elapsedMs: number) => {
          const status = service.getStatus();
          const next = status.nextRetryAt === null ? "" : `, next attempt in ${Math.max(0, Math.round((status.nextRetryAt - Date.now()) / 1000))} s`;
          out.progress(
            `${formatDuration(elapsedMs)} into waiting for ${what} (${status.state}, ${status.attempt}/${status.maxAttempts} failed${next}; ` +
              `${formatDuration(now())} of about ${formatEstimate(estimate.typicalMs)})`,
          );
        },
      }
    : null;
  const waits = new Waits(service, patience, config.heartbeatInterval, progress);
  const log: LoggedEvent[] = [];
  const invariants: InvariantRecord[] = [];
  const outcomes = new Map<string, ChapterOutcome>();
  let currentChapter: string | null = null;

  const rig: StoryRig = {
    server,
    backup,
    proxy,
    service,
    config,
    out,
    waits,
    notes,
    notesChanged,
    heartbeats,
    heartbeatsChanged,
    drainWindowMs,
    outcomes,
    log,
    tokens: TOKENS,
    quietMs,
    now,
    serverName,
    invariant(name, ok, detail) {
      invariants.push({ name, ok, detail, chapter: currentChapter });
      out.check(ok, `${name}: ${detail}`);
      return ok;
    },
    since<K extends ServiceEventName>(mark: number, name: K) {
      return log
        .slice(mark)
        .filter((event) => event.name === name)
        .map((event) => event.payload as ServiceEventMap[K]);
    },
  };

  out.title("@softphone/websocket · outage story", [
    ["server", `LabServer (Socket.IO 4) ${server.url}, token "${TOKENS.first}" accepted`],
    ["link", `TcpProxy ${proxy.url} → :${server.port} (the service reaches the primary through it)`],
    ["backup", `LabServer ${backup.url}, reached directly; down until chapter ${backupChapter}`],
    ["url", `[proxy, backup]: the primary first; failover to the next after failoverAfter failed attempts in a row`],
    [
      "timings",
      realTimings
        ? `real: DEFAULT_CONFIG. This takes about ${formatEstimate(estimate.typicalMs)}, at most about ${formatEstimate(estimate.atMostMs)} ` +
          `(${config.heartbeatInterval / 1000} s heartbeats; chapter ${CHAPTERS.length} waits through ${config.maxReconnectAttempts} retries with delays up to ${config.maxDelay / 1000} s). ` +
          "Long waits print a progress line every 15 s."
        : `scaled down, about ${formatEstimate(estimate.typicalMs)} in all (--real-timings for DEFAULT_CONFIG: about ${formatEstimate(
            estimateStoryDuration(
              resolveConfig({ ...DEFAULT_CONFIG }),
              Math.min(DEFAULT_CONFIG.maxDelay, 4 * DEFAULT_CONFIG.baseDelay),
              DRAIN_WINDOW_MS.real,
            ).typicalMs,
          )})`,
    ],
    ...configLines(config),
    ["failed", "column: status.attempt, attempts failed in a row / maxReconnectAttempts (a dropped connection is not one)"],
    ["retry n", "connection:reconnecting.attempt: the n-th retry of this outage, with where its delay was drawn from"],
    ["seed", `${seed} (--seed N)`],
  ]);
  out.columns();
  const detach = attachLog(service, config, out, log, now, describers(serverName));

  const chapters: ChapterSummary[] = [];
  let failure: string | null = null;
  let peakReported = false;
  try {
    for (const [position, chapter] of CHAPTERS.entries()) {
      const index = position + 1;
      const summary: ChapterSummary = {
        index,
        key: chapter.key,
        title: chapter.title,
        completed: false,
        error: null,
        outcome: "not played",
        measuredMs: null,
        measuredWhat: "",
        attempts: null,
      };
      chapters.push(summary);
      if (failure) continue;
      currentChapter = chapter.key;
      out.heading(index, chapter.title, chapter.subtitle);
      try {
        Object.assign(summary, await chapter.run(rig), { completed: true });
        outcomes.set(chapter.key, summary);
      } catch (error) {
        failure = `chapter ${index} (${chapter.title}): ${error instanceof Error ? error.message : String(error)}`;
        summary.error = failure;
        summary.outcome = "did not complete";
        out.error(failure);
      }
      if (peakOpen > 1 && !peakReported) {
        peakReported = true;
        rig.invariant("one socket at a time", false, `the servers saw ${peakOpen} sockets of this service open at once`);
      }
    }
  } finally {
    currentChapter = null;
    waits.cancelAll();
    out.line();
    out.narrate("service.dispose(); proxy.close(); server.close(); backup.close()");
    service.dispose();
    detach();
    await proxy.close();
    await server.close();
    await backup.close();
  }
  if (!peakReported) {
    rig.invariant("one socket at a time", peakOpen <= 1, `at most ${peakOpen} open on the primary and the backup together, over the whole story`);
  }

  const durationMs = now();
  const bound = config.heartbeatInterval + config.unhealthyThreshold * config.heartbeatTimeout;
  const byKey = (key: string) => chapters.find((chapter) => chapter.key === key && chapter.completed);
  const result: StorySummary = {
    ok: failure === null && chapters.every((chapter) => chapter.completed) && invariants.every((check) => check.ok),
    seed,
    realTimings,
    durationMs,
    chapters,
    invariants,
    failure,
    measurements: {
      silentLinkDetectionMs: byKey("silent-link")?.measuredMs ?? null,
      silentLinkBoundMs: bound,
      onlineToConnectedMs: byKey("offline")?.measuredMs ?? null,
      callDetectionMs: byKey("call")?.measuredMs ?? null,
      callBoundMs: Math.min(config.heartbeatInterval, config.callHeartbeatInterval) + config.unhealthyThreshold * config.heartbeatTimeout,
      failoverMs: byKey("failover")?.measuredMs ?? null,
      failbackMs: byKey("failover")?.extraMs?.failback ?? null,
      drainDelayMs: byKey("planned-restart")?.measuredMs ?? null,
      drainWindowMs: rig.drainWindowMs,
    },
    server: {
      handshakes: server.handshakes,
      refused: server.refused,
      connections: server.connections,
      peakOpen,
    },
    backup: { handshakes: backup.handshakes, refused: backup.refused, connections: backup.connections },
  };
  printSummary(out, result);
  return result;
}

function printSummary(out: Renderer, summary: StorySummary): void {
  out.heading(
    CHAPTERS.length + 1,
    "Summary",
    "per chapter: what happened, its key measurement in ms, and the retries it started (as connection:reconnecting numbers them)",
  );
  out.line();
  out.table(
    ["#", "chapter", "what happened", "ms", "measured", "retries"],
    summary.chapters.map((chapter) => [
      String(chapter.index),
      chapter.title,
      chapter.outcome,
      chapter.measuredMs === null ? "·" : String(chapter.measuredMs),
      chapter.measuredWhat,
      chapter.attempts === null ? "·" : String(chapter.attempts),
    ]),
    ["r", "l", "l", "r", "l", "r"],
  );
  const held = summary.invariants.filter((check) => check.ok).length;
  const m = summary.measurements;
  out.line();
  out.line(
    `  invariants ${held}/${summary.invariants.length} held · primary: ${summary.server.handshakes} handshakes ` +
      `(${summary.server.refused} refused), ${summary.server.connections} connections · backup: ${summary.backup.handshakes} handshakes, ` +
      `${summary.backup.connections} connections · peak ${summary.server.peakOpen} open on both`,
  );
  out.line(
    `  silent link detected in ${m.silentLinkDetectionMs ?? "·"} ms (bound ${m.silentLinkBoundMs} ms), ` +
      `in a call ${m.callDetectionMs ?? "·"} ms (bound ${m.callBoundMs} ms) · online → connected in ${m.onlineToConnectedMs ?? "·"} ms`,
  );
  out.line(
    `  failover in ${m.failoverMs ?? "·"} ms, fail-back in ${m.failbackMs ?? "·"} ms · ` +
      `planned restart: back ${m.drainDelayMs ?? "·"} ms after the notice (reconnectAfter + its point in the ${m.drainWindowMs}-ms window)`,
  );
  out.line(`  ${(summary.durationMs / 1000).toFixed(1)} s in all · seed ${summary.seed}${summary.realTimings ? " · real timings" : ""}`);
  out.line();
  if (summary.ok) {
    out.line(out.paint("✓ every chapter completed and every invariant held", "green", "bold"));
    return;
  }
  for (const check of summary.invariants.filter((invariant) => !invariant.ok)) {
    out.error(`invariant broken${check.chapter ? ` in ${check.chapter}` : ""}: ${check.name}: ${check.detail}`);
  }
  if (summary.failure) out.error(`stopped: ${summary.failure}`);
}
