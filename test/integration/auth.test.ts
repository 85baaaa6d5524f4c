import { describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import {
  eventsDuring,
  recordEvents,
  referenceRetryLoop,
  waitForEvent,
  waitForState,
} from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

const { cleanup, service } = integrationRig();

const fast = FAST_RETRY;

type Rejection = { message: string; data?: unknown };

// Distinctive tokens: no Engine.IO query value (EIO, transport, the yeast timestamp `t`) can contain "-token-".
const GOOD = "good-token-7c2";
const BAD = "bad-token-1f9";

/**
 * A server that accepts only the token GOOD and refuses any other handshake with
 * `rejection` (written as an auth gateway would: its own `io.use` middleware).
 */
async function gatewayServer(rejection: Rejection) {
  const server = cleanup.add(await LabServer.start(), (started) => started.close());
  server.io.use((socket, next) => {
    const { token } = socket.handshake.auth as { token?: string };
    if (token === GOOD) {
      next();
      return;
    }
    const error = new Error(rejection.message) as Error & { data?: unknown };
    if (rejection.data !== undefined) error.data = rejection.data;
    next(error);
  });
  return server;
}

/** What `connection:auth_failed` carries for a rejection: its message, and its `data` when it has one. */
const refusalOf = (rejection: Rejection) =>
  rejection.data === undefined ? { message: rejection.message } : { message: rejection.message, data: rejection.data };

const rejections: [string, Rejection][] = [
  ["401 in data", { message: "handshake refused", data: { status: 401 } }],
  ['"jwt expired" as message', { message: "jwt expired" }],
];

/** The token travels in the handshake `auth` payload only: no query key or value mentions one. */
function expectNoTokenInQueries(server: LabServer) {
  expect(server.seenQueries.length).toBe(server.handshakes);
  for (const query of server.seenQueries) expect(JSON.stringify(query)).not.toMatch(/token/i);
}

const authEvents = [
  "connection:auth_failed",
  "connection:auth_required",
  "connection:failed",
  "connection:reconnecting",
] as const;

describe.each(rejections)("a server rejecting the token (%s)", (_label, rejection) => {
  it("static token: authRequired at once, no further handshake; a new token resumes", async () => {
    const server = await gatewayServer(rejection);
    const ws = service({ url: server.url, auth: { token: BAD }, config: fast });
    const log = recordEvents(ws, [...authEvents]);
    const required = waitForEvent(ws, "connection:auth_required");
    ws.connect();
    await required;

    expect(ws.getStatus().state).toBe("authRequired");
    expect(log.of("connection:auth_failed")).toEqual([{ error: refusalOf(rejection) }]);
    expect(log.of("connection:failed")).toEqual([]);
    expect(log.of("connection:reconnecting")).toEqual([]);
    expect(ws.getStatus().lastError).toEqual(refusalOf(rejection));
    expect(server.handshakes).toBe(1);

    // Three retry delays of this config pass: a retry loop would have shown by then.
    const quiet = await eventsDuring(ws, [...authEvents, "connection:connected"], referenceRetryLoop(fast, 3));
    expect(quiet.events).toEqual([]);
    expect(server.handshakes).toBe(1);
    expect(ws.getStatus().state).toBe("authRequired");

    ws.setAuthToken(GOOD);
    await waitForState(ws, "connected");
    expect(server.handshakes).toBe(2);
    expect(server.seenTokens).toEqual([BAD, GOOD]);
    expect(ws.getStatus()).toMatchObject({ attempt: 0, lastError: null, healthScore: 100 });
    expectNoTokenInQueries(server);
    log.stop();
  });

  it("token provider: exactly one refresh, then authRequired; a new token resumes", async () => {
    const server = await gatewayServer(rejection);
    let calls = 0;
    const ws = service({
      url: server.url,
      auth: () => {
        calls += 1;
        return `stale-token-${calls}`;
      },
      config: fast,
    });
    const log = recordEvents(ws, [...authEvents]);
    const required = waitForEvent(ws, "connection:auth_required");
    ws.connect();
    await required;

    expect(calls).toBe(2);
    expect(server.handshakes).toBe(2);
    expect(server.seenTokens).toEqual(["stale-token-1", "stale-token-2"]);
    expect(log.of("connection:auth_failed")).toEqual([
      { error: refusalOf(rejection) },
      { error: refusalOf(rejection) },
    ]);
    expect(log.of("connection:auth_required")).toEqual([{}]);
    expect(log.of("connection:reconnecting")).toEqual([]);

    const quiet = await eventsDuring(ws, [...authEvents, "connection:connected"], referenceRetryLoop(fast, 3));
    expect(quiet.events).toEqual([]);
    expect(calls).toBe(2);
    expect(server.handshakes).toBe(2);

    ws.setAuthToken(GOOD);
    await waitForState(ws, "connected");
    expect(server.handshakes).toBe(3);
    expect(server.seenTokens.at(-1)).toBe(GOOD);
    expectNoTokenInQueries(server);
    log.stop();
  });
});

describe("a token provider with nothing to give", () => {
  for (const [label, value] of [
    ['""', ""],
    ["undefined", undefined],
  ] as const) {
    it(`returning ${label}: authRequired without any handshake; setAuthToken resumes`, async () => {
      const server = cleanup.add(await LabServer.start({ tokens: ["good"] }), (started) => started.close());
      let calls = 0;
      const ws = service({
        url: server.url,
        auth: async () => {
          calls += 1;
          return value;
        },
        config: fast,
      });
      const log = recordEvents(ws, [...authEvents]);
      const required = waitForEvent(ws, "connection:auth_required");
      ws.connect();
      expect(await required).toEqual({});
      expect(ws.getStatus().state).toBe("authRequired");
      expect(calls).toBe(1);
      expect(server.handshakes).toBe(0);
      expect(log.of("connection:auth_failed")).toEqual([]);
      expect(log.of("connection:reconnecting")).toEqual([]);

      ws.setAuthToken("good");
      await waitForState(ws, "connected");
      expect(server.handshakes).toBe(1);
      expect(server.seenTokens).toEqual(["good"]);
      log.stop();
    });
  }
});

describe("token provider refresh", () => {
  it("is called before every handshake, each handshake carrying the token it returned", async () => {
    const server = cleanup.add(await LabServer.start(), (started) => started.close());
    const given: string[] = [];
    const ws = service({
      url: server.url,
      auth: async () => {
        const token = `token-${given.length + 1}`;
        given.push(token);
        return token;
      },
      config: { ...fast, reconnectOnServerDisconnect: true },
    });
    ws.connect();
    await waitForState(ws, "connected");
    await ws.forceReconnection();
    await ws.forceReconnection();

    const reconnected = waitForEvent(ws, "connection:reconnected");
    server.kickAll();
    await reconnected;

    // A crash: the retries that hit the closed port never reach the server, but each asked the provider.
    const retried = waitForEvent(ws, "connection:reconnecting", { filter: ({ attempt }) => attempt === 2 });
    await server.kill();
    await retried;
    const back = waitForEvent(ws, "connection:reconnected");
    await server.restart();
    await back;

    expect(server.connections).toBe(5);
    expect(server.seenTokens).toEqual(given.slice(0, 4).concat(given.at(-1)!));
    expect(given.length).toBeGreaterThanOrEqual(6);
    expect(new Set(given).size).toBe(given.length);
    expectNoTokenInQueries(server);
  });

  it("with no server-side rejection, handshakes and provider calls match one to one", async () => {
    const server = cleanup.add(await LabServer.start({ tokens: ["a", "b", "c"] }), (started) => started.close());
    const tokens = ["a", "b", "c"];
    let calls = 0;
    const ws = service({ url: server.url, auth: () => tokens[calls++ % tokens.length], config: fast });
    ws.connect();
    await waitForState(ws, "connected");
    for (let round = 0; round < 4; round++) await ws.forceReconnection();
    expect(calls).toBe(5);
    expect(server.handshakes).toBe(5);
    expect(server.seenTokens).toEqual(["a", "b", "c", "a", "b"]);
  });

  it("a revoked token: the provider's refresh after the rejection resumes the connection", async () => {
    const server = cleanup.add(await LabServer.start({ tokens: ["first"] }), (started) => started.close());
    let current = "first";
    let calls = 0;
    const ws = service({
      url: server.url,
      auth: () => {
        calls += 1;
        return current;
      },
      config: fast,
    });
    ws.connect();
    await waitForState(ws, "connected");

    const log = recordEvents(ws, [...authEvents, "connection:connected"]);
    // The provider hands out the stale token once more, and the new one once told it was refused.
    ws.on("connection:auth_failed", () => {
      current = "second";
    });
    server.acceptToken("second");
    const reconnected = waitForEvent(ws, "connection:reconnected");
    server.revokeToken("first");
    expect(await reconnected).toEqual({ attempts: 1, recovered: false });
    log.stop();
    expect(server.seenTokens).toEqual(["first", "first", "second"]);
    expect(log.of("connection:auth_failed")).toEqual([{ error: { message: "invalid token", data: { status: 401 } } }]);
    expect(log.of("connection:auth_required")).toEqual([]);
    expect(ws.getStatus()).toMatchObject({ state: "connected", attempt: 0 });
    expect(calls).toBe(3);
    expect(server.handshakes).toBe(3);
  });
});
