/**
 * The messages between a host (`exposeService`) and its remotes (`connectToService`). Every
 * message carries `p: PROTOCOL`, so a port that also carries the app's own messages (a
 * SharedWorker's) can share it: anything else is ignored. The version is in the tag: a remote
 * and a host of different versions ignore each other and the remote reports the host as lost.
 */
export const PROTOCOL = "softphone-websocket/shared@1";

/** The methods a remote may call on the host's service. */
export const COMMANDS = [
  "connect",
  "disconnect",
  "forceReconnection",
  "send",
  "sendWith",
  "request",
  "requestWith",
  "setAuthToken",
  "setCallActive",
  "notifyOnline",
  "notifyOffline",
  "notifyResume",
] as const;

export type Command = (typeof COMMANDS)[number];

/** The commands whose outcome the caller awaits: their result always comes back. */
export const ANSWERED: ReadonlySet<Command> = new Set(["forceReconnection", "request", "requestWith"]);

/** An error as it crosses the port (an `Error` may lose its class or fail to clone). */
export interface WireError {
  name: string;
  message: string;
}

/** Remote → host. */
export type RemoteMessage = { p: typeof PROTOCOL } & (
  | { t: "hello"; events: string[] }
  | { t: "listen"; event: string }
  | { t: "unlisten"; event: string }
  /** `ack` is the id of a `send` ack callback kept by the remote (the callback's last-arg form). */
  | { t: "call"; id: number; method: Command; args: unknown[]; ack?: number }
  | { t: "pong" }
  | { t: "bye" }
);

/** Host → remote. */
export type HostMessage = { p: typeof PROTOCOL } & (
  /** The status (JSON, serialised once for every remote), when it changed, and then the events of the same moment. */
  | { t: "update"; status: string | null; events: [name: string, payload: unknown][] }
  | { t: "result"; id: number; method: Command; ok: true; value: unknown }
  | { t: "result"; id: number; method: Command; ok: false; error: WireError }
  | { t: "ack"; id: number; response: unknown[] }
  | { t: "ping" }
  | { t: "bye"; reason: string }
);

/** Narrows an incoming message to this protocol's. */
export function isProtocolMessage(data: unknown): data is { p: typeof PROTOCOL; t: string } {
  return typeof data === "object" && data !== null && (data as { p?: unknown }).p === PROTOCOL;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

/** The error again on the other side, as a `TypeError` when it was one (bad input stays recognisable). */
export function fromWireError(error: WireError): Error {
  const rebuilt = error.name === "TypeError" ? new TypeError(error.message) : new Error(error.message);
  if (error.name !== "TypeError" && error.name !== "Error") rebuilt.name = error.name;
  return rebuilt;
}

/** A message of the liveness defaults, shared by both sides so their bounds agree. */
export const LIVENESS_DEFAULTS = Object.freeze({
  /** ms between the host's pings to each remote. */
  heartbeatInterval: 1_000,
  /** ms of silence after which a side counts the other as gone. */
  heartbeatTimeout: 4_000,
});

/** `setInterval` that does not keep a Node process (or a test) alive on its own. */
export function unrefInterval(callback: () => void, ms: number): ReturnType<typeof setInterval> {
  const timer = setInterval(callback, ms);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** Throws a `TypeError` naming the option unless `value` is undefined or a delay in ms. */
export function checkDelay(name: string, value: unknown): void {
  if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0 && value <= 2_147_483_647)) {
    throw new TypeError(`${name} must be a number of ms greater than 0, got ${typeof value === "number" ? String(value) : typeof value}`);
  }
}
