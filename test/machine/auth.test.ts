import { describe, expect, it } from "vitest";
import { isAuthRejection, retryAfterOf, retryWindowOf } from "../../src/machine/auth.js";
import { errorInfo } from "../../src/machine/errors.js";

describe("isAuthRejection (default classifier)", () => {
  it.each([
    "Unauthorized",
    "unauthorised",
    "unauthenticated",
    "Forbidden",
    "401",
    "Request failed with status 401",
    "403 Forbidden",
    "invalid token",
    "Invalid_Token",
    "invalid-jwt",
    "invalid signature",
    "invalid credentials",
    "jwt expired",
    "jwt malformed",
    "token expired",
    "Token is invalid",
    "token revoked",
    "expired token",
    "authentication failed",
    "auth failed",
    "not authorized",
    "Not authorised",
    "not authenticated",
    "Authentication error",
    "authorization required",
    "access denied",
    "Permission denied",
    "token has expired",
    "Token has been revoked",
    "invalid or expired token",
    "session expired",
    "invalid session",
  ])("message %j is an auth rejection", (message) => {
    expect(isAuthRejection({ message })).toBe(true);
  });

  it.each([
    "xhr poll error",
    "websocket error",
    "timeout",
    "server error",
    "500 Internal Server Error",
    "4010 items",
    "rate limited",
    "Tokenizer failed",
    "session started",
    "not found",
    "connection denied by firewall",
    "",
  ])("message %j is not an auth rejection", (message) => {
    expect(isAuthRejection({ message })).toBe(false);
  });

  it.each<{ name: string; data: unknown; expected: boolean }>([
    { name: "data.message", data: { message: "Unauthorized" }, expected: true },
    { name: "data.code 401", data: { code: 401 }, expected: true },
    { name: "data.status 403", data: { status: 403 }, expected: true },
    { name: "data.statusCode '401'", data: { statusCode: "401" }, expected: true },
    { name: "data.type", data: { type: "TokenExpired", reason: "token expired" }, expected: true },
    { name: "data.error.message", data: { error: { message: "invalid token" } }, expected: true },
    { name: "a string as data", data: "unauthorized", expected: true },
    { name: "data.code 500", data: { code: 500 }, expected: false },
    { name: "only retryAfter", data: { retryAfter: 5000 }, expected: false },
    { name: "an unrelated field", data: { detail: "unauthorized" }, expected: false },
    { name: "null", data: null, expected: false },
    { name: "undefined", data: undefined, expected: false },
    { name: "a cycle", data: (() => { const o: Record<string, unknown> = {}; o.error = o; return o; })(), expected: false },
  ])("connect_error data: $name -> $expected", ({ data, expected }) => {
    expect(isAuthRejection({ message: "connect failed", data })).toBe(expected);
  });
});

describe("retryAfterOf", () => {
  it.each<{ data: unknown; expected: number | null }>([
    { data: { retryAfter: 5000 }, expected: 5000 },
    { data: { retryAfter: 0 }, expected: 0 },
    { data: { retryAfter: 1.5 }, expected: 1.5 },
    { data: { retryAfter: -1 }, expected: null },
    { data: { retryAfter: NaN }, expected: null },
    { data: { retryAfter: Infinity }, expected: null },
    { data: { retryAfter: "5000" }, expected: null },
    { data: { retryAfter: null }, expected: null },
    { data: {}, expected: null },
    { data: null, expected: null },
    { data: undefined, expected: null },
    { data: 5000, expected: null },
    { data: "retryAfter", expected: null },
  ])("$data -> $expected", ({ data, expected }) => {
    expect(retryAfterOf(data)).toBe(expected);
  });
});

describe("retryWindowOf", () => {
  it.each<{ data: unknown; expected: number | null }>([
    { data: { retryAfter: 5000, retryWindow: 2000 }, expected: 2000 },
    { data: { retryWindow: 0 }, expected: 0 },
    { data: { retryWindow: 0.5 }, expected: 0.5 },
    { data: { retryWindow: -1 }, expected: null },
    { data: { retryWindow: NaN }, expected: null },
    { data: { retryWindow: Infinity }, expected: null },
    { data: { retryWindow: "2000" }, expected: null },
    { data: { retryWindow: null }, expected: null },
    { data: { retryAfter: 5000 }, expected: null },
    { data: null, expected: null },
    { data: undefined, expected: null },
    { data: 2000, expected: null },
    { data: [2000], expected: null },
  ])("$data -> $expected", ({ data, expected }) => {
    expect(retryWindowOf(data)).toBe(expected);
  });

  it("is read apart from retryAfter: a refusal may give either", () => {
    expect([retryAfterOf({ retryWindow: 300 }), retryWindowOf({ retryWindow: 300 })]).toEqual([null, 300]);
    expect([retryAfterOf({ retryAfter: 300 }), retryWindowOf({ retryAfter: 300 })]).toEqual([300, null]);
  });
});

describe("errorInfo", () => {
  it.each<{ name: string; error: unknown; expected: string }>([
    { name: "an Error", error: new Error("boom"), expected: "boom" },
    { name: "an Error without message", error: new Error(""), expected: "Error" },
    { name: "a TypeError without message", error: new TypeError(""), expected: "TypeError" },
    { name: "a string", error: "bad", expected: "bad" },
    { name: "an object with a message", error: { message: "from data" }, expected: "from data" },
    { name: "an object with a non-string message", error: { message: 42 }, expected: "[object Object]" },
    { name: "a number", error: 42, expected: "42" },
    { name: "null", error: null, expected: "null" },
    { name: "undefined", error: undefined, expected: "undefined" },
  ])("$name -> { message: $expected }", ({ error, expected }) => {
    expect(errorInfo(error)).toEqual({ message: expected });
  });
});
