import { describe, expect, it } from "vitest";
import { defaultStatusLabels, describeError, type ErrorKind } from "../../src/react/index.js";

/**
 * The `lastError` texts the service really produces (docs/events.md, docs/reliability.md's
 * fault matrix, test/integration), each with the words a person should read.
 */
const REAL_TEXTS: readonly (readonly [string, ErrorKind, string])[] = [
  ["xhr poll error: connect ECONNREFUSED 127.0.0.1:3000", "refused", "Connection refused"],
  ["websocket error: connect ECONNREFUSED 127.0.0.1:3000", "refused", "Connection refused"],
  ["xhr poll error: getaddrinfo ENOTFOUND no-such-host.invalid", "notFound", "Server not found"],
  ["xhr poll error: socket hang up", "unreachable", "Server unreachable"],
  ["websocket error: read ECONNRESET", "unreachable", "Server unreachable"],
  ["xhr poll error", "unreachable", "Server unreachable"],
  ["websocket error", "unreachable", "Server unreachable"],
  ["xhr poll error: HTTP 502", "unreachable", "Server unreachable"],
  ["connection timed out after 15000 ms", "timedOut", "Timed out"],
  ["timeout", "timedOut", "Timed out"],
  ["connection lost: transport close", "connectionLost", "Connection lost"],
  ["connection lost: transport error", "connectionLost", "Connection lost"],
  ["connection lost: parse error", "connectionLost", "Connection lost"],
  ["disconnected during the handshake (transport close)", "connectionLost", "Connection lost"],
  ["connection lost: heartbeat timeout (no heartbeat ack 3 times in a row)", "noResponse", "Server stopped responding"],
  ["connection lost: ping timeout", "noResponse", "Server stopped responding"],
  ["server busy", "serverBusy", "Server busy"],
  ["xhr poll error: HTTP 503", "serverBusy", "Server busy"],
  ["invalid token", "signInNeeded", "Sign-in needed"],
  ["unauthorized", "signInNeeded", "Sign-in needed"],
  ["jwt expired", "signInNeeded", "Sign-in needed"],
  ["no auth token available", "signInNeeded", "Sign-in needed"],
  ["token provider returned no token", "signInNeeded", "Sign-in needed"],
  ["token provider returned a number; expected a string", "signInNeeded", "Sign-in needed"],
  ["token provider failed: fetch failed", "tokenUnavailable", "Could not get a sign-in token"],
  ["token provider failed: HTTP 401", "tokenUnavailable", "Could not get a sign-in token"],
  ["token provider did not answer within 15000 ms", "tokenUnavailable", "Could not get a sign-in token"],
  ["something nobody planned for", "other", "Connection error"],
];

describe("describeError", () => {
  it.each(REAL_TEXTS)("%s → %s", (message, kind, text) => {
    expect(describeError({ message })).toEqual({ kind, text, raw: message, retryAfter: null });
  });

  it("is null without an error", () => {
    expect(describeError(null)).toBeNull();
    expect(describeError(undefined)).toBeNull();
  });

  it("reads a busy server from data.retryAfter, whatever the message", () => {
    expect(describeError({ message: "go away", data: { retryAfter: 8000 } })).toEqual({
      kind: "serverBusy",
      text: "Server busy",
      raw: "go away",
      retryAfter: 8000,
    });
  });

  it("reads a bad token from data the way the service's classifier does", () => {
    expect(describeError({ message: "refused", data: { status: 403 } })?.kind).toBe("signInNeeded");
  });

  it("takes the words from labels (a translation), English for what it leaves out", () => {
    const labels = { refused: "Verbindung abgelehnt" };
    expect(describeError({ message: "xhr poll error: connect ECONNREFUSED 127.0.0.1:1" }, labels)?.text).toBe(
      "Verbindung abgelehnt",
    );
    expect(describeError({ message: "server busy" }, labels)?.text).toBe("Server busy");
  });

  it("has words for every kind, shared with defaultStatusLabels", () => {
    const kinds = new Set(REAL_TEXTS.map(([, kind]) => kind));
    expect([...kinds].sort()).toEqual(Object.keys(defaultStatusLabels.errors).sort());
  });
});
