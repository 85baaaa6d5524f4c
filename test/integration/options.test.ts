import { afterEach, describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import { createWebSocketService, type WebSocketServiceOptions } from "../../src/services/WebSocketService.js";
import { activeResources, createCleanup, eventually, waitForState } from "../support/events.js";

const cleanup = createCleanup();
afterEach(() => cleanup.run());

async function startServer() {
  return cleanup.add(await LabServer.start(), (server) => server.close());
}

/** Builds a service from `options` and expects the TypeError, returning its message. */
function rejectionOf(options: unknown): string {
  let created: ReturnType<typeof createWebSocketService> | undefined;
  try {
    created = createWebSocketService(options as WebSocketServiceOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as TypeError).message;
  }
  created.dispose();
  throw new Error(`expected a TypeError for ${JSON.stringify(options)}`);
}

describe("invalid options", () => {
  it("a url that is not http(s)/ws(s) throws a TypeError naming url and the value; no socket is created", async () => {
    const server = await startServer();
    const port = server.port;
    const urls: [unknown, string][] = [
      [`ftp://127.0.0.1:${port}`, `"ftp://127.0.0.1:${port}"`],
      [`file:///tmp/socket`, `"file:///tmp/socket"`],
      [`127.0.0.1:${port}`, `"127.0.0.1:${port}"`],
      ["not a url", `"not a url"`],
      ["", `""`],
      [42, "42"],
      [undefined, "undefined"],
    ];
    for (const [url, shown] of urls) {
      const message = rejectionOf({ url, autoConnect: true });
      expect(message).toMatch(/\burl\b/);
      expect(message).toContain(shown);
    }
    expect(rejectionOf({ autoConnect: true })).toMatch(/\burl\b/);

    // Nothing was opened: no handshake reached the server and the process holds nothing
    // beyond the server itself. A valid service then makes the first and only handshake.
    expect(server.handshakes).toBe(0);
    expect(server.connections).toBe(0);
    await eventually(() => expect(activeResources().filter((kind) => kind !== "TCPServerWrap")).toEqual([]));
    const valid = cleanup.add(createWebSocketService({ url: server.url, autoConnect: true }), (ws) => ws.dispose());
    await waitForState(valid, "connected");
    expect(server.handshakes).toBe(1);
  });

  it("bad config values throw a TypeError naming the key and the value, before anything connects", async () => {
    const server = await startServer();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ maxReconnectAttempts: 1.5 }, /maxReconnectAttempts.*1\.5/],
      [{ maxReconnectAttempts: 0 }, /maxReconnectAttempts.*\b0\b/],
      [{ baseDelay: -1 }, /baseDelay.*-1/],
      [{ connectionTimeout: Number.NaN }, /connectionTimeout.*NaN/],
      [{ heartbeatInterval: Number.POSITIVE_INFINITY }, /heartbeatInterval.*Infinity/],
      [{ baseDelay: 500, maxDelay: 100 }, /maxDelay.*100/],
      [{ jitterStrategy: "sideways" }, /jitterStrategy.*"sideways"/],
      [{ retries: 3 }, /retries.*3/],
    ];
    for (const [config, pattern] of cases) {
      expect(rejectionOf({ url: server.url, config, autoConnect: true })).toMatch(pattern);
    }
    expect(rejectionOf({ url: server.url, autoConnect: true, reconnect: true })).toMatch(/reconnect.*true/);
    expect(rejectionOf({ url: server.url, path: "socket.io", autoConnect: true })).toMatch(/path.*"socket\.io"/);
    expect(rejectionOf({ url: server.url, auth: { token: 42 }, autoConnect: true })).toMatch(/auth\.token must be a string, got a number \(value not shown\)/);
    expect(rejectionOf({ url: server.url, random: 0.5, autoConnect: true })).toMatch(/random.*0\.5/);
    expect(server.handshakes).toBe(0);
    await eventually(() => expect(activeResources().filter((kind) => kind !== "TCPServerWrap")).toEqual([]));
  });
});
