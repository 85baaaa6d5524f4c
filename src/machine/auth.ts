import type { ErrorInfo } from "./types.js";

/** What a handshake rejection carries: socket.io-client's `connect_error` (message, data). */
export interface RejectionInfo {
  message: string;
  data?: unknown;
}

/** Decides whether a rejection means "the token is bad". Replaceable by `options.isAuthError`. */
export type AuthErrorClassifier = (rejection: RejectionInfo) => boolean;

const AUTH_PATTERN =
  /\b(unauthori[sz]ed|unauthenticated|forbidden|401|403|jwt expired|jwt malformed|invalid[\s_-]*(jwt|token|signature|credentials)|(token|jwt)[\s_-]*(is[\s_-]*)?(invalid|expired|revoked)|expired[\s_-]*token|auth(entication)?[\s_-]*failed)\b/i;

function textsOf(value: unknown, depth = 0): string[] {
  if (value === null || value === undefined || depth > 2) return [];
  if (typeof value === "string" || typeof value === "number") return [String(value)];
  if (typeof value !== "object") return [];
  const record = value as Record<string, unknown>;
  return ["message", "code", "status", "statusCode", "type", "reason", "error"].flatMap((key) =>
    textsOf(record[key], depth + 1),
  );
}

/** The default classifier: 401/403, unauthorized, forbidden, invalid or expired token/JWT. */
export const isAuthRejection: AuthErrorClassifier = (rejection) =>
  [rejection.message, ...textsOf(rejection.data)].some((text) => AUTH_PATTERN.test(text));

/** The `retryAfter` hint of a rejection's `data`, in ms, when it is a finite non-negative number. */
export function retryAfterOf(data: unknown): number | null {
  if (data === null || typeof data !== "object") return null;
  const value = (data as Record<string, unknown>).retryAfter;
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : null;
}

export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) return { message: error.message || error.name };
  if (typeof error === "string") return { message: error };
  if (error && typeof error === "object" && typeof (error as { message?: unknown }).message === "string") {
    return { message: (error as { message: string }).message };
  }
  return { message: String(error) };
}
