import { describe, expect, it } from "vitest";
import { connectErrorInfo, kindOf, MIN_REDACTED_LENGTH, redact } from "../../src/machine/errors.js";

/** The shape of Engine.IO's TransportError, as socket.io-client hands it to `connect_error`. */
function transportError(message: string, description: unknown, context?: unknown) {
  return Object.assign(new Error(message), { type: "TransportError", description, context });
}

describe("connectErrorInfo", () => {
  it.each<[string, unknown, string]>([
    [
      "Node websocket: the ws ErrorEvent carries the socket error",
      transportError("websocket error", { error: new Error("connect ECONNREFUSED 127.0.0.1:9"), message: "connect ECONNREFUSED 127.0.0.1:9" }),
      "websocket error: connect ECONNREFUSED 127.0.0.1:9",
    ],
    [
      "Node polling: the request keeps the error in statusText",
      transportError("xhr poll error", 0, { status: 0, statusText: new Error("getaddrinfo ENOTFOUND nowhere.invalid") }),
      "xhr poll error: getaddrinfo ENOTFOUND nowhere.invalid",
    ],
    [
      "browser polling: only an HTTP status",
      transportError("xhr poll error", 502, { status: 502, statusText: "" }),
      "xhr poll error: HTTP 502",
    ],
    ["browser websocket: the cause is hidden", transportError("websocket error", { type: "error" }), "websocket error"],
    ["a middleware refusal: its own message", Object.assign(new Error("server busy"), { data: { retryAfter: 10 } }), "server busy"],
    ["a cause already in the message is not repeated", transportError("timeout", "timeout"), "timeout"],
    ["not an Error at all", "plain text", "plain text"],
  ])("%s", (_label, error, message) => {
    expect(connectErrorInfo(error)).toEqual({ message });
  });
});

describe("redact", () => {
  it("replaces every occurrence of every secret", () => {
    expect(redact("abcd-1 and abcd-1, efgh-2", ["abcd-1", "efgh-2"])).toBe("[redacted] and [redacted], [redacted]");
  });

  it(`leaves secrets shorter than ${MIN_REDACTED_LENGTH} characters, null and undefined alone`, () => {
    expect(redact("xhr poll error", ["x", "xhr", null, undefined])).toBe("xhr poll error");
  });
});

describe("kindOf never shows the value", () => {
  it.each<[unknown, string]>([
    ["secret", "a string"],
    [42, "a number"],
    [{ token: "secret" }, "an object"],
    [["secret"], "an array"],
    [null, "null"],
    [undefined, "undefined"],
    [() => "secret", "a function"],
  ])("%j -> %s", (value, kind) => {
    expect(kindOf(value)).toBe(kind);
  });
});
