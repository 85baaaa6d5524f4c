import { isAuthRejection, retryAfterOf } from "../machine/auth.js";

/**
 * What went wrong, in the few categories a person can act on. The raw `lastError.message`
 * ("xhr poll error: connect ECONNREFUSED 127.0.0.1:3000") is for developers; the kind picks
 * the words a person reads ("Connection refused").
 */
export type ErrorKind =
  | "refused"
  | "unreachable"
  | "notFound"
  | "timedOut"
  | "noResponse"
  | "connectionLost"
  | "serverBusy"
  | "signInNeeded"
  | "tokenUnavailable"
  | "other";

/** The English words of each {@link ErrorKind} (also `defaultStatusLabels.errors`). */
export const defaultErrorLabels: Readonly<Record<ErrorKind, string>> = Object.freeze({
  refused: "Connection refused",
  unreachable: "Server unreachable",
  notFound: "Server not found",
  timedOut: "Timed out",
  noResponse: "Server stopped responding",
  connectionLost: "Connection lost",
  serverBusy: "Server busy",
  signInNeeded: "Sign-in needed",
  tokenUnavailable: "Could not get a sign-in token",
  other: "Connection error",
});

/** What {@link describeError} returns. */
export interface ErrorDescription {
  kind: ErrorKind;
  /** The words for a person, from `labels` (English by default). */
  text: string;
  /** `lastError.message` as the service gave it, for a tooltip or a log. */
  raw: string;
  /** The server's `retryAfter` hint in ms, when the refusal carried one. */
  retryAfter: number | null;
}

type Rule = readonly [ErrorKind, (error: { message: string; data?: unknown }) => boolean];

const matches =
  (pattern: RegExp) =>
  ({ message }: { message: string }): boolean =>
    pattern.test(message);

/**
 * Ordered: the first rule that matches wins. The texts are the service's own (see
 * `docs/events.md`, `lastError`): transport causes from Node ("connect ECONNREFUSED",
 * "socket hang up", "getaddrinfo ENOTFOUND"), the bare "xhr poll error" / "websocket error"
 * of a browser (which hides the cause), and the chart's own messages. A bad token is what
 * the service's own classifier (`isAuthRejection`) says it is.
 */
const RULES: readonly Rule[] = [
  ["serverBusy", ({ data }) => retryAfterOf(data) !== null],
  ["tokenUnavailable", matches(/^token provider (failed|did not answer)/i)],
  ["signInNeeded", matches(/^(no auth token available|token provider returned)/i)],
  ["serverBusy", matches(/\b(busy|overload(ed)?|too many (requests|connections)|rate[\s_-]?limit(ed)?|try again later|HTTP 429|HTTP 503)\b/i)],
  ["signInNeeded", ({ message, data }) => isAuthRejection({ message, data })],
  ["noResponse", matches(/\b(heartbeat timeout|ping timeout)\b/i)],
  ["connectionLost", matches(/^(connection lost\b|disconnected during the handshake)/i)],
  ["timedOut", matches(/\b(timed out|timeout|ETIMEDOUT)\b/i)],
  ["refused", matches(/\bECONNREFUSED\b/)],
  ["notFound", matches(/\b(ENOTFOUND|EAI_AGAIN|EAI_NONAME|getaddrinfo)\b/)],
  [
    "unreachable",
    matches(
      /\b(socket hang up|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE|ECONNABORTED|HTTP 5\d\d|xhr poll error|websocket error|transport (error|close))\b/i,
    ),
  ],
];

/** The {@link ErrorKind} of a `lastError` (or of a `connection:failed` payload's `error`). */
export function errorKindOf(error: { message: string; data?: unknown }): ErrorKind {
  return RULES.find(([, test]) => test(error))?.[0] ?? "other";
}

/**
 * Plain words for `status.lastError`: `null` when there is none. Pure, so an app (or a
 * translation) can show the same words as `<WebSocketStatus>` anywhere; pass `labels` to
 * get them in another language.
 * @example describeError({ message: "xhr poll error: connect ECONNREFUSED 127.0.0.1:3000" })?.text // "Connection refused"
 */
export function describeError(
  lastError: { message: string; data?: unknown } | null | undefined,
  labels: Partial<Record<ErrorKind, string>> = defaultErrorLabels,
): ErrorDescription | null {
  if (!lastError) return null;
  const kind = errorKindOf(lastError);
  return {
    kind,
    text: labels[kind] ?? defaultErrorLabels[kind],
    raw: lastError.message,
    retryAfter: retryAfterOf(lastError.data),
  };
}
