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

/** How deep {@link plainData} copies a server's refusal data; deeper parts become "[too deep]". */
const PLAIN_DATA_DEPTH = 16;

/**
 * A JSON-like copy of `value` (a server's `err.data`) safe to keep in the chart and hand to
 * listeners: strings passed through `scrub` (held tokens redacted), functions and symbols
 * dropped, BigInts as strings, cycles and excessive depth cut. `undefined` for nothing.
 */
export function plainData(value: unknown, scrub: (text: string) => string, depth = 0, seen = new Set<object>()): unknown {
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "string") return scrub(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object") return undefined;
  if (seen.has(value)) return "[cycle]";
  if (depth >= PLAIN_DATA_DEPTH) return "[too deep]";
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => plainData(item, scrub, depth + 1, seen) ?? null);
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      let field: unknown;
      try {
        field = (value as Record<string, unknown>)[key];
      } catch {
        continue; // a throwing getter: leave the field out
      }
      const plain = plainData(field, scrub, depth + 1, seen);
      if (plain !== undefined) copy[scrub(key)] = plain;
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}

/**
 * Why Socket.IO could not encode these arguments, or null when it can: found by a walk that
 * costs no serialisation (BigInts and cycles, the usual culprits). A throwing `toJSON` is not
 * found here; the socket actor still catches it at the emit.
 */
export function unencodableReason(args: readonly unknown[]): string | null {
  // Iterative, so that a deeply nested payload cannot overflow the stack here.
  const stack: { value: unknown; path: string; exit?: object }[] = [];
  for (let index = args.length - 1; index >= 0; index--) stack.push({ value: args[index], path: `args[${index}]` });
  const ancestors = new Set<object>();
  while (stack.length > 0) {
    const { value, path, exit } = stack.pop()!;
    if (exit) {
      ancestors.delete(exit);
      continue;
    }
    if (typeof value === "bigint") return `${path} is a BigInt, which JSON cannot encode`;
    if (value === null || typeof value !== "object") continue;
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) continue;
    if (typeof Blob !== "undefined" && value instanceof Blob) continue;
    if (ancestors.has(value)) return `${path} refers back to one of its parents (a cycle)`;
    if (typeof (value as { toJSON?: unknown }).toJSON === "function") continue;
    ancestors.add(value);
    stack.push({ value: undefined, path, exit: value });
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) stack.push({ value: value[index], path: `${path}[${index}]` });
    } else {
      const keys = Object.keys(value);
      for (let index = keys.length - 1; index >= 0; index--) {
        const key = keys[index]!;
        let field: unknown;
        try {
          field = (value as Record<string, unknown>)[key];
        } catch (error) {
          return `${path}.${key} threw when read (${error instanceof Error ? error.message : String(error)})`;
        }
        stack.push({ value: field, path: `${path}.${key}` });
      }
    }
  }
  return null;
}
