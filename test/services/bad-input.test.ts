import { describe, expect, it, vi } from "vitest";
import { DEFAULT_CONFIG, describeValue } from "../../src/machine/config.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import {
  createWebSocketService,
  RESERVED_EVENTS,
  type WebSocketServiceOptions,
} from "../../src/services/WebSocketService.js";

const URL_ = "http://127.0.0.1:1";

/** A socket factory that must never be called: bad input connects nothing. */
function untouchedFactory() {
  return vi.fn(() => {
    throw new Error("no socket may be created");
  });
}

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error("expected a TypeError, nothing was thrown");
}

/** One bad value per config key: every key is covered (the `satisfies` fails to compile when a key is added). */
const BAD_CONFIG = {
  maxReconnectAttempts: 1.5,
  baseDelay: 0,
  maxDelay: -5,
  backoffMultiplier: 0.5,
  jitterRange: -1,
  jitterStrategy: "gaussian",
  connectionTimeout: Number.NaN,
  heartbeatInterval: Number.POSITIVE_INFINITY,
  heartbeatTimeout: "5000",
  minHeartbeatTimeout: 0,
  healthCheckInterval: null,
  unhealthyThreshold: 0,
  maxQueueSize: -1,
  queueTtl: 0,
  requestTimeout: -10,
  stablePeriod: -1,
  sleepThreshold: 0,
  reconnectOnServerDisconnect: "no",
  awaitSessionRecovery: "yes",
  callHeartbeatInterval: 0,
  callMaxDelay: -5,
  failoverAfter: 1.5,
  failbackInterval: Infinity,
  sharedSessions: 1,
} satisfies Record<keyof ConnectionConfig, unknown>;

/** One bad value per service option. */
const BAD_OPTIONS = {
  url: "ftp://127.0.0.1",
  path: "socket.io",
  auth: 42,
  config: "fast",
  socketOptions: 7,
  random: 0.5,
  retryDelay: 1000,
  inspect: "console",
  isAuthError: true,
  autoConnect: "yes",
  now: 1234,
  clock: { now: () => 0 },
  socketFactory: {},
  onListenerError: "ignore",
  requireSecureTransport: 1,
  logger: "debug",
} satisfies Record<keyof WebSocketServiceOptions, unknown>;

describe("every option is validated, naming the key and the value", () => {
  it.each(Object.entries(BAD_CONFIG))("config.%s = %j", (key, value) => {
    const socketFactory = untouchedFactory();
    const message = messageOf(() =>
      createWebSocketService({ url: URL_, autoConnect: true, socketFactory, config: { [key]: value } as never }),
    );
    expect(message).toContain(`config.${key}`);
    expect(message).toContain(describeValue(value));
    expect(socketFactory).not.toHaveBeenCalled();
  });

  it.each(["baseDelay", "maxDelay", "connectionTimeout", "heartbeatInterval", "queueTtl", "jitterRange", "stablePeriod"])(
    "config.%s above the timer limit (2^31 - 1 ms) is refused: setTimeout would fire it at once",
    (key) => {
      const message = messageOf(() =>
        createWebSocketService({ url: URL_, config: { [key]: 3e9, ...(key === "baseDelay" ? { maxDelay: 3e9 } : {}) } }),
      );
      expect(message).toContain(`config.${key}`);
      expect(message).toContain("3000000000");
      expect(message).toContain("2147483647");
    },
  );

  it("the sweep covers every key of DEFAULT_CONFIG", () => {
    expect(Object.keys(BAD_CONFIG).sort()).toEqual(Object.keys(DEFAULT_CONFIG).sort());
  });

  it.each(Object.entries(BAD_OPTIONS))("%s = %j", (key, value) => {
    const socketFactory = untouchedFactory();
    const options = { url: URL_, autoConnect: true, socketFactory, [key]: value } as unknown as WebSocketServiceOptions;
    const message = messageOf(() => createWebSocketService(options));
    expect(message).toContain(key);
    // A bad auth value is most likely the token itself: named by kind, never printed.
    expect(message).toContain(key === "auth" ? "got a number (value not shown)" : describeValue(value));
    expect(socketFactory).not.toHaveBeenCalled();
  });

  it("options itself must be an object", () => {
    expect(messageOf(() => createWebSocketService(null as never))).toMatch(/options must be an object, got null/);
    expect(messageOf(() => createWebSocketService("http://x" as never))).toMatch(/options must be an object, got "http:\/\/x"/);
  });
});

describe("send, sendWith and request refuse bad event names", () => {
  const service = () => createWebSocketService({ url: URL_, socketFactory: untouchedFactory() });

  it.each([...RESERVED_EVENTS])("%s is reserved by Socket.IO: a TypeError naming it, nothing queued", (name) => {
    const ws = service();
    expect(messageOf(() => ws.send(name, 1))).toMatch(new RegExp(`^send: "${name}" is a reserved Socket\\.IO event name`));
    expect(messageOf(() => ws.sendWith({}, name))).toContain(`"${name}"`);
    expect(messageOf(() => void ws.request(name))).toMatch(new RegExp(`^request: "${name}" is a reserved`));
    expect(ws.getStatus().queuedMessages).toBe(0);
    ws.dispose();
  });

  it("the reserved names are exactly Socket.IO's", () => {
    expect([...RESERVED_EVENTS].sort()).toEqual(
      ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"].sort(),
    );
  });

  it.each<[unknown, string]>([
    [42, "42"],
    [undefined, "undefined"],
    [null, "null"],
    ["", '""'],
    [{ event: "chat" }, '{"event":"chat"}'],
    [Symbol("chat"), "Symbol(chat)"],
  ])("%s is not an event name", (name, shown) => {
    const ws = service();
    expect(messageOf(() => ws.send(name as string))).toBe(`send: event must be a non-empty string, got ${shown}`);
    expect(messageOf(() => void ws.request(name as string))).toBe(`request: event must be a non-empty string, got ${shown}`);
    expect(ws.getStatus().queuedMessages).toBe(0);
    ws.dispose();
  });

  it("bad per-message options are named", () => {
    const ws = service();
    expect(messageOf(() => ws.sendWith(null as never, "chat"))).toBe("send options must be an object, got null");
    expect(messageOf(() => ws.sendWith({ ttl: -1 }, "chat"))).toBe("send options.ttl must be a number greater than 0, got -1");
    expect(messageOf(() => ws.sendWith({ volatile: "yes" as never }, "chat"))).toBe(
      'send options.volatile must be a boolean, got "yes"',
    );
    expect(messageOf(() => void ws.requestWith({ timeout: 0 }, "lookup"))).toBe(
      "request options.timeout must be a number of ms greater than 0 and at most 2147483647, got 0",
    );
    expect(messageOf(() => void ws.requestWith({ timeout: 3e9 }, "lookup"))).toContain("got 3000000000");
    expect(messageOf(() => void ws.requestWith({ ttl: "soon" as never }, "lookup"))).toBe(
      'request options.ttl must be a number greater than 0, got "soon"',
    );
    expect(messageOf(() => void ws.requestWith(null as never, "lookup"))).toBe("request options must be an object, got null");
    expect(ws.getStatus().queuedMessages).toBe(0);
    ws.dispose();
  });

  it("setAuthToken refuses a non-string without showing it", () => {
    const ws = service();
    expect(messageOf(() => ws.setAuthToken(12345678 as never))).toBe(
      "setAuthToken: token must be a non-empty string, got a number (value not shown)",
    );
    expect(messageOf(() => ws.setAuthToken(""))).toBe("setAuthToken: token must be a non-empty string, got a string (empty)");
    ws.dispose();
  });
});

describe("calls after dispose() are harmless", () => {
  it("every method: no throw, no socket, no timer, no event; promises reject with a clear error", async () => {
    const socketFactory = untouchedFactory();
    const ws = createWebSocketService({ url: URL_, socketFactory });
    const heard = vi.fn();
    ws.on("connection:failed", heard);
    ws.dispose();
    const before = process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;

    ws.connect();
    ws.disconnect();
    ws.send("chat", "late");
    ws.sendWith({ ttl: 10 }, "chat", "late");
    ws.setAuthToken("late-token");
    ws.notifyOnline();
    ws.notifyOffline();
    ws.notifyResume();
    ws.dispose();
    const off = ws.on("message", heard);
    off();
    ws.off("message", heard);
    await expect(ws.forceReconnection()).rejects.toThrow("forceReconnection: the service is disposed");
    await expect(ws.request("lookup")).rejects.toThrow('request "lookup": the service is disposed');

    expect(ws.getStatus()).toMatchObject({ state: "idle", disposed: true, queuedMessages: 0, isConnected: false });
    expect(ws.getHealthScore()).toBe(0);
    expect(ws.actor.getSnapshot().status).toBe("stopped");
    expect(socketFactory).not.toHaveBeenCalled();
    expect(heard).not.toHaveBeenCalled();
    expect(process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length).toBeLessThanOrEqual(before);
  });

  it("bad input after dispose() is still named (a bug is a bug, disposed or not)", () => {
    const ws = createWebSocketService({ url: URL_, socketFactory: untouchedFactory() });
    ws.dispose();
    expect(messageOf(() => ws.send("connect"))).toMatch(/reserved/);
    expect(messageOf(() => ws.on("nope" as never, () => {}))).toMatch(/got "nope"/);
  });
});
