/** What a handshake rejection carries: socket.io-client's `connect_error` (message, data). */
export interface RejectionInfo {
  message: string;
  data?: unknown;
}

/** Decides whether a rejection means "the token is bad". Replaceable by `options.isAuthError`. */
export type AuthErrorClassifier = (rejection: RejectionInfo) => boolean;

/** What a bad-token rejection says, in the message or in `data` (each a regex alternative). */
const AUTH_PHRASES = [
  "unauthori[sz]ed",
  "unauthenticated",
  "not[\\s_-]*(authori[sz]ed|authenticated)",
  "forbidden",
  "401",
  "403",
  "(access|permission)[\\s_-]*denied",
  "jwt[\\s_-]*(expired|malformed)",
  "invalid[\\s_-]*(jwt|token|signature|credentials|session)",
  "(token|jwt|session)[\\s_-]*((is|has|was)[\\s_-]*)?(been[\\s_-]*)?(invalid|expired|revoked)",
  "expired[\\s_-]*(jwt|token|session)",
  "auth(entication|orization)?[\\s_-]*(failed|error|required)",
];

const AUTH_PATTERN = new RegExp(`\\b(${AUTH_PHRASES.map((phrase) => `(${phrase})`).join("|")})\\b`, "i");

function textsOf(value: unknown, depth = 0): string[] {
  if (value === null || value === undefined || depth > 2) return [];
  if (typeof value === "string" || typeof value === "number") return [String(value)];
  if (typeof value !== "object") return [];
  const record = value as Record<string, unknown>;
  return ["message", "code", "status", "statusCode", "type", "reason", "error"].flatMap((key) =>
    textsOf(record[key], depth + 1),
  );
}

/**
 * The default classifier: 401/403, unauthorized / not authorized, forbidden, access denied,
 * invalid, expired or revoked token/JWT/session, authentication failed/error/required.
 */
export const isAuthRejection: AuthErrorClassifier = (rejection) =>
  [rejection.message, ...textsOf(rejection.data)].some((text) => AUTH_PATTERN.test(text));

/** The `retryAfter` hint of a rejection's `data`, in ms, when it is a finite non-negative number. */
export function retryAfterOf(data: unknown): number | null {
  if (data === null || typeof data !== "object") return null;
  const value = (data as Record<string, unknown>).retryAfter;
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

/**
 * The `retryWindow` of a rejection's `data` (ms, a finite number ≥ 0): how wide the window
 * after `retryAfter` is that the server spread its clients over (0: an exact slot). `null`
 * when absent or not such a number.
 */
export function retryWindowOf(data: unknown): number | null {
  if (data === null || typeof data !== "object") return null;
  const value = (data as Record<string, unknown>).retryWindow;
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}
