import type { ErrorInfo } from "./types.js";

/** What replaces a secret in any text the package hands out. */
export const REDACTED = "[redacted]";

/**
 * Secrets shorter than this are not searched for: a two-letter "token" would mangle every
 * message it happens to occur in, and is no secret anyway.
 */
export const MIN_REDACTED_LENGTH = 4;

/** `text` with every occurrence of each secret replaced by `[redacted]`. */
export function redact(text: string, secrets: Iterable<string | null | undefined>): string {
  let result = text;
  for (const secret of secrets) {
    if (typeof secret === "string" && secret.length >= MIN_REDACTED_LENGTH) result = result.split(secret).join(REDACTED);
  }
  return result;
}

/** `{ message }` of anything thrown or rejected. */
export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) return { message: error.message || error.name };
  if (typeof error === "string") return { message: error };
  if (error && typeof error === "object" && typeof (error as { message?: unknown }).message === "string") {
    return { message: (error as { message: string }).message };
  }
  return { message: String(error) };
}

function messageOf(value: unknown): string | null {
  if (value instanceof Error) return value.message || null;
  if (typeof value === "string") return value || null;
  if (value && typeof value === "object") {
    const record = value as { error?: unknown; message?: unknown };
    if (record.error instanceof Error && record.error.message) return record.error.message;
    if (typeof record.message === "string" && record.message) return record.message;
  }
  return null;
}

/**
 * The cause Engine.IO wraps in its `TransportError` ("websocket error", "xhr poll error"):
 * in Node the `ws` ErrorEvent carries the socket error, and the polling request keeps it
 * in `statusText`. Browsers hide the cause; then only an HTTP status, if any, is left.
 */
function transportCause(error: { description?: unknown; context?: unknown }): string | null {
  const fromDescription = messageOf(error.description);
  if (fromDescription) return fromDescription;
  const context = error.context as { statusText?: unknown } | null | undefined;
  const fromContext = context && typeof context === "object" ? messageOf(context.statusText) : null;
  if (fromContext) return fromContext;
  if (typeof error.description === "number" && error.description > 0) return `HTTP ${error.description}`;
  return null;
}

/**
 * `{ message }` of a socket.io-client `connect_error`, with the transport's cause appended
 * ("xhr poll error: connect ECONNREFUSED 127.0.0.1:3000") so that a closed port, an unknown
 * host and a refused handshake read differently.
 */
export function connectErrorInfo(error: unknown): ErrorInfo {
  const { message } = errorInfo(error);
  if (!error || typeof error !== "object") return { message };
  const cause = transportCause(error as { description?: unknown; context?: unknown });
  return { message: cause && !message.includes(cause) ? `${message}: ${cause}` : message };
}

/** A value's kind for messages that must not show the value itself ("a number", "an object"). */
export function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}
