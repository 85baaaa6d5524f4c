import type { LabServer } from "../../lab/server.js";
import type { TcpProxy } from "../../lab/tcpProxy.js";
import type { ConnectionConfig, ServiceEventMap, ServiceEventName } from "../../src/machine/types.js";
import type { WebSocketService } from "../../src/services/WebSocketService.js";
import type { Renderer } from "./renderer.js";
import type { Signal, Waits } from "./waits.js";

/** A `note` message as the server received it. */
export interface NoteRecord {
  /** 1, 2, …; "end" for a marker; "call" for call signalling. */
  seq: number | string;
  text: string;
  /** Which server-side socket delivered it. */
  socketId: string;
}

/** A `heartbeat` emit as a server received it. */
export interface HeartbeatRecord {
  /** ms since the story started. */
  at: number;
  socketId: string;
  server: "primary" | "backup";
}

/** A service event as the story saw it. */
export interface LoggedEvent {
  name: ServiceEventName;
  payload: unknown;
  /** ms since the story started. */
  at: number;
}

/** What one chapter reports for the summary. */
export interface ChapterOutcome {
  /** One line: what happened. */
  outcome: string;
  /** The chapter's key measurement in ms (what it is depends on the chapter). */
  measuredMs: number | null;
  /** What `measuredMs` measures, for the summary. */
  measuredWhat: string;
  /** Retries (or attempts) the chapter took. */
  attempts: number | null;
  /** Further measurements in ms, by name, for the story's summary (e.g. the fail-back after the failover). */
  extraMs?: Readonly<Record<string, number>>;
}

/** Everything a chapter plays with. */
export interface StoryRig {
  /** The primary server; the service reaches it through {@link proxy}. */
  readonly server: LabServer;
  /**
   * The backup server, second in the service's `url` and reached directly (no proxy). Killed
   * at the start: the chapters before "failover" see a dead backup, the ones after it too.
   */
  readonly backup: LabServer;
  readonly proxy: TcpProxy;
  readonly service: WebSocketService;
  readonly config: ConnectionConfig;
  readonly out: Renderer;
  readonly waits: Waits;
  /** `note` messages the server received, in arrival order. */
  readonly notes: NoteRecord[];
  readonly notesChanged: Signal;
  /** `heartbeat` emits the servers received, in arrival order. */
  readonly heartbeats: HeartbeatRecord[];
  readonly heartbeatsChanged: Signal;
  /** `windowMs` of the planned restart's drain (scaled with the story's timings). */
  readonly drainWindowMs: number;
  /** What the chapters played so far reported, by key. */
  readonly outcomes: ReadonlyMap<string, ChapterOutcome>;
  /** Every service event so far. */
  readonly log: LoggedEvent[];
  /** The token the service starts with, and the one it gets after the revocation. */
  readonly tokens: { readonly first: string; readonly second: string };
  /** An observation window long enough for a few retries to have happened if any were due. */
  readonly quietMs: number;
  /** ms since the story started. */
  now(): number;
  /** "primary" or "backup" for a server URL the service reports. */
  serverName(url: string): string;
  /** Records an invariant and prints ✓/✗; returns `ok`. */
  invariant(name: string, ok: boolean, detail: string): boolean;
  /** Payloads of `name` events logged since `mark` (an index into `log`). */
  since<K extends ServiceEventName>(mark: number, name: K): ServiceEventMap[K][];
}

export interface Chapter {
  key: string;
  title: string;
  subtitle: string;
  run(rig: StoryRig): Promise<ChapterOutcome>;
}
