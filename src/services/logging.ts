import type { Actor, InspectionEvent } from "xstate";
import type { ConnectionMachine } from "../machine/connectionMachine.js";
import type { EmittedEvent } from "../machine/types.js";

/** One entry of the debug log. Plain data: it can be printed, shipped or asserted on. */
export interface LogEntry {
  /** Epoch ms (the service's `now`). */
  time: number;
  /**
   * - `"transition"`: the chart moved between states (`from`, `to`, the `event` type that did it,
 *   and in `data` the numbers behind the decision: attempt, delay, backoff step, the server's
 *   retryAfter hold, network, missed heartbeats, socket generation, last error).
   * - `"event"`: the service announced something (`event` is the service event name, `data` its
   *   payload; for the message events only the Socket.IO event name and the argument count,
   *   never the application's data).
   * - `"ignored"`: a call the service did not act on (after `dispose()`).
   */
  kind: "transition" | "event" | "ignored";
  /** One readable line, e.g. `backingOff.waiting -> connecting.handshaking (retry delay elapsed)`. */
  message: string;
  /** The event type (chart event for transitions, service event name for events). */
  event?: string;
  from?: string;
  to?: string;
  /** The deciding numbers of a transition, or the payload of an announced event. */
  data?: Record<string, unknown>;
}

/** Receives the debug log. @example logger: (entry) => debug("softphone:websocket")(entry.message, entry) */
export type Logger = (entry: LogEntry) => void;

/** `{ connecting: "handshaking" }` -> `"connecting.handshaking"`; parallel regions joined with `,`. */
export function stateName(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || typeof value !== "object") return String(value);
  const entries = Object.entries(value as Record<string, unknown>);
  const parts = entries.map(([key, child]) => {
    const inner = stateName(child);
    return inner.includes(",") ? `${key}.{${inner}}` : `${key}.${inner}`;
  });
  return parts.join(",");
}

/** The payload fields worth logging: application data never leaves through the log. */
function loggedPayload(event: EmittedEvent): Record<string, unknown> {
  const { type: _type, ...payload } = event as { type: string } & Record<string, unknown>;
  if ("args" in payload) {
    const { args, ...rest } = payload;
    return { ...rest, argCount: Array.isArray(args) ? args.length : 0 };
  }
  if ("response" in payload) {
    const { response: _response, ...rest } = payload;
    return rest;
  }
  return payload;
}

/** Makes every string in a log entry safe (the token replaced). */
type Scrub = (text: string) => string;

function scrubValue(value: unknown, scrub: Scrub, depth = 0): unknown {
  if (typeof value === "string") return scrub(value);
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, scrub, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrubValue(item, scrub, depth + 1)]));
}

/**
 * The service's debug log: transitions of the root chart (from the inspection stream) and
 * every announced event. Built only when a logger is given; a throwing logger is reported
 * through `onError` and never breaks the service.
 */
export function createDebugLog(options: {
  logger: Logger;
  now: () => number;
  /** The chart's monotonic clock, to turn its hold deadline into "ms left". */
  monotonic: () => number;
  scrub: Scrub;
  onError: (error: unknown) => void;
}) {
  const { logger, now, monotonic, scrub, onError } = options;
  let root: Actor<ConnectionMachine> | null = null;
  let previous: string | null = null;
  let previousStep: string | null = null;

  const write = (entry: Omit<LogEntry, "time">) => {
    try {
      logger(scrubValue({ time: now(), ...entry }, scrub) as LogEntry);
    } catch (error) {
      onError(error);
    }
  };

  const inspect = (inspection: InspectionEvent) => {
    if (inspection.type !== "@xstate.snapshot" || root === null || inspection.actorRef !== root) return;
    const snapshot = root.getSnapshot();
    const { context } = snapshot;
    const to = stateName(snapshot.value);
    // A new state, or the same one re-entered for a decision: a new attempt (another socket
    // generation: the token refresh, a handshake restarted for a new token) or another probe
    // after a missed heartbeat.
    const step = `${to}|${context.generation}|${context.consecutiveFailures}`;
    if (step === previousStep) return;
    previousStep = step;
    const from = previous ?? "(start)";
    previous = to;
    const eventType = inspection.event.type;
    write({
      kind: "transition",
      message: `${from} -> ${to} (${eventType})`,
      event: eventType,
      from,
      to,
      data: {
        attempt: context.attempt,
        nextRetryDelay: context.nextRetryDelay,
        backoffStep: context.backoffStep,
        // Ms the server's retryAfter still holds us off (its deadline is on the monotonic clock).
        serverHoldMs: context.serverHoldUntil === null ? null : Math.max(0, Math.round(context.serverHoldUntil - monotonic())),
        network: context.network,
        consecutiveFailures: context.consecutiveFailures,
        generation: context.generation,
        lastError: context.lastError?.message ?? null,
      },
    });
  };

  return {
    inspect,
    /** Starts logging the actor's announced events; returns the unsubscribe. */
    attach(actor: Actor<ConnectionMachine>): { unsubscribe(): void } {
      root = actor;
      return actor.on("*", (emitted) => {
        const event = emitted as EmittedEvent;
        const data = loggedPayload(event);
        const details = Object.entries(data)
          .map(([key, value]) => `${key}=${typeof value === "object" ? JSON.stringify(value) : String(value)}`)
          .join(" ");
        write({ kind: "event", message: `${event.type}${details ? ` ${details}` : ""}`, event: event.type, data });
      });
    },
    ignored(method: string) {
      write({ kind: "ignored", message: `${method}() ignored: the service is disposed`, event: method });
    },
  };
}
