import { describe, expect, it } from "vitest";
import { isTransportBlocked } from "../../src/machine/socketActor.js";

/**
 * `isTransportBlocked`: whether a failed handshake says the transport itself could not be
 * used (a proxy or firewall without WebSocket), so that the next attempt to that server starts
 * with the other one. The errors are shaped as engine.io-client reports them: a
 * `TransportError` ("websocket error" / "xhr poll error") whose `description` is what the
 * transport saw (Node: an Error with a code, or the response status; a browser: an Event).
 */

const transportError = (message: string, description?: unknown) =>
  Object.assign(new Error(message), { type: "TransportError", ...(description === undefined ? {} : { description }) });

describe("isTransportBlocked", () => {
  it.each<[string, unknown]>([
    ["a WebSocket error with nothing said (a browser's Event)", transportError("websocket error", { type: "error" })],
    ["a WebSocket error without a description", transportError("websocket error")],
    ["a reset connection (a proxy cut the upgrade)", transportError("websocket error", { message: "read ECONNRESET", error: { code: "ECONNRESET" } })],
    ["a WebSocket closed before it opened", transportError("websocket error", "socket hang up")],
    ["a polling error with status 0 (the request never got an answer)", transportError("xhr poll error", 0)],
    ["a plain error named as the transport's, without the type", Object.assign(new Error("websocket error"), {})],
  ])("%s: blocked", (_, error) => {
    expect(isTransportBlocked(error)).toBe(true);
  });

  it.each<[string, unknown]>([
    // The server answered: the transport works, the server said no.
    ["an HTTP status (the polling request was answered)", transportError("xhr poll error", 503)],
    ["an unexpected response to the upgrade", transportError("websocket error", { message: "Unexpected server response: 502" })],
    ["a status in the description's text", transportError("websocket error", "Unexpected server response: 403")],
    // Nothing listens at all: the other transport would fail alike.
    ["a refused TCP connection (code)", transportError("websocket error", { error: { code: "ECONNREFUSED" } })],
    ["a refused TCP connection (text)", transportError("xhr poll error", "connect ECONNREFUSED")],
    ["an unknown host", transportError("websocket error", { message: "getaddrinfo ENOTFOUND rt.example" })],
    ["an unreachable host", transportError("websocket error", { error: { code: "EHOSTUNREACH" } })],
    ["an unreachable network", transportError("websocket error", { error: { code: "ENETUNREACH" } })],
    ["a DNS failure to retry", transportError("websocket error", { error: { code: "EAI_AGAIN" } })],
    // Not a transport error at all.
    ["a refusal by a middleware", Object.assign(new Error("server busy"), { data: { retryAfter: 500 } })],
    ["a handshake timeout", new Error("timeout")],
    ["an auth refusal", Object.assign(new Error("invalid token"), { data: { code: 401 } })],
    ["null", null],
    ["undefined", undefined],
    ["a string", "websocket error"],
    ["a number", 0],
  ])("%s: not blocked", (_, error) => {
    expect(isTransportBlocked(error)).toBe(false);
  });
});

describe("isTransportBlocked: addresses are not HTTP statuses", () => {
  it("a WebSocket that timed out connecting to an address with a 3-digit part is not taken for a refusal, nor for a block", () => {
    const timedOut = Object.assign(new Error("websocket error"), {
      type: "TransportError",
      description: { message: "connect ETIMEDOUT 10.0.0.1:443", error: { code: "ETIMEDOUT" } },
    });
    // Nothing answered: polling would not do better, so the transport is not flipped.
    expect(isTransportBlocked(timedOut)).toBe(false);
    const reset = Object.assign(new Error("websocket error"), {
      type: "TransportError",
      description: { message: "read ECONNRESET at 192.168.100.200:443" },
    });
    // A reset by something in the path (a proxy without WebSocket): worth polling next.
    expect(isTransportBlocked(reset)).toBe(true);
  });
});
