import { describe, expect, it, vi } from "vitest";
import { DEFAULT_CONFIG, describeValue, JITTER_STRATEGIES, resolveConfig } from "../../src/machine/config.js";
import type { ConnectionConfig } from "../../src/machine/types.js";
import { createWebSocketService, type WebSocketServiceOptions } from "../../src/services/WebSocketService.js";

/** Expects `run` to throw a TypeError whose message names `key` and shows `value`. */
function expectNamedTypeError(run: () => unknown, key: string, value: unknown): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TypeError);
  const message = (caught as TypeError).message;
  expect(message).toContain(key);
  expect(message).toContain(describeValue(value));
}

describe("DEFAULT_CONFIG", () => {
  it("has the contract's defaults", () => {
    expect(DEFAULT_CONFIG).toMatchObject({
      maxReconnectAttempts: 20,
      baseDelay: 1000,
      maxDelay: 30000,
      backoffMultiplier: 2,
      jitterRange: 1000,
      connectionTimeout: 15000,
      heartbeatInterval: 25000,
      heartbeatTimeout: 5000,
      healthCheckInterval: 30000,
      unhealthyThreshold: 3,
      maxQueueSize: 100,
      queueTtl: 30000,
    });
  });

  it("documents the package's own additions and its jitter strategy", () => {
    expect(DEFAULT_CONFIG).toMatchObject({
      jitterStrategy: "full",
      minHeartbeatTimeout: 1000,
      requestTimeout: 10000,
      stablePeriod: 5000,
      sleepThreshold: 15000,
      reconnectOnServerDisconnect: false,
      awaitSessionRecovery: false,
    });
    expect(JITTER_STRATEGIES).toContain(DEFAULT_CONFIG.jitterStrategy);
    expect(JITTER_STRATEGIES).toEqual(["additive", "full", "decorrelated"]);
  });

  it("is frozen", () => {
    expect(Object.isFrozen(DEFAULT_CONFIG)).toBe(true);
    expect(Object.isFrozen(JITTER_STRATEGIES)).toBe(true);
    expect(() => {
      (DEFAULT_CONFIG as ConnectionConfig).baseDelay = 1;
    }).toThrow(TypeError);
  });
});

describe("resolveConfig: accepted", () => {
  it("no overrides gives a fresh copy of the defaults", () => {
    for (const overrides of [undefined, {}]) {
      const config = resolveConfig(overrides);
      expect(config).toEqual(DEFAULT_CONFIG);
      expect(config).not.toBe(DEFAULT_CONFIG);
      config.baseDelay = 5;
      expect(DEFAULT_CONFIG.baseDelay).toBe(1000);
    }
  });

  it.each<[Partial<ConnectionConfig>]>([
    [{ maxReconnectAttempts: 1 }],
    [{ baseDelay: 0.5, maxDelay: 0.5 }],
    [{ baseDelay: 5000, maxDelay: 5000 }],
    [{ backoffMultiplier: 1 }],
    [{ backoffMultiplier: 1.5 }],
    [{ jitterRange: 0 }],
    [{ jitterStrategy: "additive" }],
    [{ jitterStrategy: "decorrelated" }],
    [{ maxQueueSize: 0 }],
    [{ stablePeriod: 0 }],
    [{ minHeartbeatTimeout: 5000, heartbeatTimeout: 5000 }],
    [{ reconnectOnServerDisconnect: true }],
    [{ unhealthyThreshold: 1, heartbeatInterval: 1 }],
  ])("%j", (overrides) => {
    expect(resolveConfig(overrides)).toEqual({ ...DEFAULT_CONFIG, ...overrides });
  });

  it("a short heartbeatTimeout alone lowers the default minHeartbeatTimeout with it", () => {
    expect(resolveConfig({ heartbeatTimeout: 500 })).toMatchObject({ heartbeatTimeout: 500, minHeartbeatTimeout: 500 });
    expect(resolveConfig({ heartbeatTimeout: 8000 })).toMatchObject({ heartbeatTimeout: 8000, minHeartbeatTimeout: 1000 });
  });

  it("skips keys set to undefined", () => {
    expect(resolveConfig({ baseDelay: undefined })).toEqual(DEFAULT_CONFIG);
  });
});

const POSITIVE = ["baseDelay", "maxDelay", "connectionTimeout", "heartbeatInterval", "heartbeatTimeout", "minHeartbeatTimeout", "healthCheckInterval", "queueTtl", "requestTimeout", "sleepThreshold"] as const;
const POSITIVE_INTEGER = ["maxReconnectAttempts", "unhealthyThreshold"] as const;
const NON_NEGATIVE = ["jitterRange", "stablePeriod"] as const;
const NON_NEGATIVE_INTEGER = ["maxQueueSize"] as const;
const NOT_NUMBERS: unknown[] = [NaN, Infinity, -Infinity, "100", null, true, {}, [1]];

const badNumbers: { key: keyof ConnectionConfig; value: unknown }[] = [
  ...POSITIVE.flatMap((key) => [-1, 0, -0.001, ...NOT_NUMBERS].map((value) => ({ key, value }))),
  ...POSITIVE_INTEGER.flatMap((key) => [-1, 0, 1.5, 2.0001, ...NOT_NUMBERS].map((value) => ({ key, value }))),
  ...NON_NEGATIVE.flatMap((key) => [-1, -0.5, ...NOT_NUMBERS].map((value) => ({ key, value }))),
  ...NON_NEGATIVE_INTEGER.flatMap((key) => [-1, 0.5, ...NOT_NUMBERS].map((value) => ({ key, value }))),
  ...[0, 0.5, -2, ...NOT_NUMBERS].map((value) => ({ key: "backoffMultiplier" as const, value })),
];

describe("resolveConfig: rejected with a TypeError naming the key and the value", () => {
  it.each(badNumbers)("$key = $value", ({ key, value }) => {
    expectNamedTypeError(() => resolveConfig({ [key]: value } as Partial<ConnectionConfig>), `config.${key}`, value);
  });

  it.each(["exponential", "ADDITIVE", "", 1, null, ["full"]])("jitterStrategy = %j", (value) => {
    expectNamedTypeError(
      () => resolveConfig({ jitterStrategy: value } as unknown as Partial<ConnectionConfig>),
      "config.jitterStrategy",
      value,
    );
  });

  it.each(["yes", 1, 0, null])("reconnectOnServerDisconnect = %j", (value) => {
    expectNamedTypeError(
      () => resolveConfig({ reconnectOnServerDisconnect: value } as unknown as Partial<ConnectionConfig>),
      "config.reconnectOnServerDisconnect",
      value,
    );
  });

  it.each([
    { key: "retries", value: 3 },
    { key: "maxAttempts", value: 5 },
    { key: "basedelay", value: 100 },
    { key: "url", value: "http://x" },
  ])("unknown key $key", ({ key, value }) => {
    expectNamedTypeError(() => resolveConfig({ [key]: value } as Partial<ConnectionConfig>), `config.${key}`, value);
  });

  it.each([
    { overrides: { maxDelay: 500 }, value: 500 },
    { overrides: { baseDelay: 5000, maxDelay: 1000 }, value: 1000 },
    { overrides: { baseDelay: 40000 }, value: 30000 },
  ])("maxDelay < baseDelay: $overrides", ({ overrides, value }) => {
    expectNamedTypeError(() => resolveConfig(overrides), "config.maxDelay", value);
  });

  it("minHeartbeatTimeout > heartbeatTimeout", () => {
    expectNamedTypeError(() => resolveConfig({ minHeartbeatTimeout: 6000 }), "config.minHeartbeatTimeout", 6000);
  });

  it.each([null, 5, "fast", [1, 2]])("config itself = %j", (value) => {
    expectNamedTypeError(() => resolveConfig(value as unknown as Partial<ConnectionConfig>), "config", value);
  });
});

describe("createWebSocketService: options are validated before anything connects", () => {
  const spyFactory = () => vi.fn(() => {
    throw new Error("the socket factory must not be called");
  });

  it.each<[unknown]>([["ftp://x"], ["not a url"], [42], [""], ["file:///tmp/socket"], ["mailto:a@b.c"], ["127.0.0.1:3000"], [null], [undefined], [{ href: "http://x" }]])(
    "url %j throws a TypeError naming url and the value, and opens no socket",
    (url) => {
      const socketFactory = spyFactory();
      expectNamedTypeError(
        () => createWebSocketService({ url, autoConnect: true, socketFactory } as unknown as WebSocketServiceOptions),
        "url",
        url,
      );
      expect(socketFactory).not.toHaveBeenCalled();
    },
  );

  it.each([
    { key: "config.baseDelay", options: { config: { baseDelay: -1 } }, value: -1 },
    { key: "config.maxReconnectAttempts", options: { config: { maxReconnectAttempts: 2.5 } }, value: 2.5 },
    { key: "config.maxDelay", options: { config: { baseDelay: 2000, maxDelay: 1000 } }, value: 1000 },
    { key: "config.jitterStrategy", options: { config: { jitterStrategy: "none" } }, value: "none" },
    { key: "config.bogus", options: { config: { bogus: 1 } }, value: 1 },
    { key: "options.reconnect", options: { reconnect: true }, value: true },
    { key: "path", options: { path: "socket.io" }, value: "socket.io" },
    { key: "random", options: { random: 0.5 }, value: 0.5 },
    { key: "autoConnect", options: { autoConnect: "yes" }, value: "yes" },
    { key: "socketOptions", options: { socketOptions: "x" }, value: "x" },
  ])("$key: a TypeError naming it, no socket", ({ key, options, value }) => {
    const socketFactory = spyFactory();
    expectNamedTypeError(
      () =>
        createWebSocketService({
          url: "http://127.0.0.1:1",
          autoConnect: true,
          socketFactory,
          ...options,
        } as unknown as WebSocketServiceOptions),
      key,
      value,
    );
    expect(socketFactory).not.toHaveBeenCalled();
  });

  it.each(["http://127.0.0.1:3000", "https://example.test", "ws://127.0.0.1:1/x", "wss://example.test/"])(
    "accepts %s and connects nothing before connect()",
    (url) => {
      const socketFactory = spyFactory();
      const service = createWebSocketService({ url, socketFactory });
      expect(service.getStatus().state).toBe("idle");
      expect(socketFactory).not.toHaveBeenCalled();
      service.dispose();
    },
  );
});
