import type { IncomingMessage } from "node:http";
import type { InspectionEvent } from "xstate";
import { describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import type { LogEntry } from "../../src/services/logging.js";
import {
  createWebSocketService,
  SERVICE_EVENT_NAMES,
  type WebSocketService,
  type WebSocketServiceOptions,
} from "../../src/services/WebSocketService.js";
import { waitForEvent, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

const { cleanup, service } = integrationRig();

// Distinctive: no Engine.IO query value, socket id or generated text can contain these.
const FIRST = "s3cr3t-first-7f1e9a";
const SECOND = "s3cr3t-second-42bd0c";
const SECRETS = [FIRST, SECOND];

/** Every public event (request:settled is internal: it carries application responses only). */
const EVERY_EVENT = SERVICE_EVENT_NAMES.filter((name) => name !== "request:settled");

/**
 * A gateway as careless as they come: it accepts only `accepted` tokens, and its refusal
 * echoes the token it was given in the message and in `data`.
 */
async function carelessGateway(accepted: Set<string>) {
  const server = cleanup.add(await LabServer.start(), (started) => started.close());
  const requests: { url: string; headers: string }[] = [];
  const record = (_headers: unknown, request: IncomingMessage) =>
    requests.push({ url: request.url ?? "", headers: JSON.stringify(request.headers) });
  server.io.engine.on("initial_headers", record);
  server.io.engine.on("headers", record);
  const handshakeTokens: unknown[] = [];
  server.io.use((socket, next) => {
    const { token } = socket.handshake.auth as { token?: unknown };
    handshakeTokens.push(token);
    if (typeof token === "string" && accepted.has(token)) {
      next();
      return;
    }
    const error = new Error(`invalid token ${String(token)}`) as Error & { data?: unknown };
    error.data = { token, status: 401 };
    next(error);
  });
  return { server, requests, handshakeTokens };
}

/** Everything a service hands out: events, status snapshots, the debug log and the inspection stream. */
function recordEverything(options: WebSocketServiceOptions) {
  const out: string[] = [];
  const keep = (value: unknown) =>
    out.push(JSON.stringify(value, (_key, item: unknown) => (typeof item === "function" ? "fn" : item)) ?? "undefined");
  const ws = service({
    ...options,
    logger: (entry: LogEntry) => keep(entry),
    inspect: (inspection: InspectionEvent) => {
      if ("snapshot" in inspection) keep((inspection.snapshot as { context?: unknown }).context ?? null);
      if ("event" in inspection) keep(inspection.event);
    },
  });
  for (const name of EVERY_EVENT) {
    ws.on(name, (payload) => {
      keep({ name, payload });
      keep(ws.getStatus());
    });
  }
  return { ws, out };
}

function expectNoSecret(texts: string[]) {
  expect(texts.length).toBeGreaterThan(20);
  for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe("the token travels in the handshake auth payload only", () => {
  it("never in the URL, query or headers; never in lastError, events, status, log or inspection, even when the server echoes it", async () => {
    const accepted = new Set<string>();
    const { server, requests, handshakeTokens } = await carelessGateway(accepted);
    const { ws, out } = recordEverything({ url: server.url, auth: { token: FIRST }, config: FAST_RETRY });

    ws.connect();
    await waitForState(ws, "authRequired");
    // The echo was redacted where the package hands it out.
    expect(ws.getStatus().lastError).toEqual({ message: "invalid token [redacted]", data: { token: "[redacted]", status: 401 } });

    accepted.add(SECOND);
    ws.setAuthToken(SECOND);
    await waitForState(ws, "connected");
    ws.send("chat", "hello");
    await server.kill();
    await waitForState(ws, "backingOff");
    await server.restart();
    await waitForEvent(ws, "connection:reconnected");
    ws.disconnect();
    out.push(JSON.stringify(ws.getStatus()));

    expect(handshakeTokens).toEqual([FIRST, SECOND, SECOND]);
    expect(requests.length).toBeGreaterThanOrEqual(3);
    for (const request of requests) {
      for (const secret of SECRETS) {
        expect(decodeURIComponent(request.url)).not.toContain(secret);
        expect(request.headers).not.toContain(secret);
      }
    }
    for (const query of server.seenQueries) expect(JSON.stringify(query)).not.toMatch(/s3cr3t|token/);
    expectNoSecret(out);
  });

  it("a token provider's token is kept out the same way, and a non-string answer is described, never shown", async () => {
    const accepted = new Set([FIRST]);
    const { server, handshakeTokens } = await carelessGateway(accepted);
    const answers: unknown[] = [SECOND, [FIRST]];
    const { ws, out } = recordEverything({
      url: server.url,
      auth: () => answers.shift() as string,
      config: FAST_RETRY,
    });
    ws.connect();
    // SECOND is refused (and echoed); the one refresh gets `[FIRST]`, a wrapper the provider may not use.
    await waitForState(ws, "authRequired");
    expect(handshakeTokens).toEqual([SECOND]);
    expect(ws.getStatus().lastError).toEqual({
      message: "token provider returned an array; expected a string or an auth payload object",
    });
    ws.setAuthToken(FIRST);
    await waitForState(ws, "connected");
    expect(handshakeTokens).toEqual([SECOND, FIRST]);
    expectNoSecret(out);
  });
});

describe("requireSecureTransport", () => {
  const make = (url: string, requireSecureTransport = true) =>
    createWebSocketService({ url, requireSecureTransport });

  it.each(["http://example.test", "ws://example.test:8080/rt", "http://10.0.0.1", "http://localhost.example.test"])(
    "refuses %s with a TypeError naming the URL",
    (url) => {
      expect(() => make(url)).toThrow(TypeError);
      expect(() => make(url)).toThrow(/requireSecureTransport/);
      expect(() => make(url)).toThrow(url);
    },
  );

  it.each([
    "https://example.test",
    "wss://example.test/rt",
    "http://127.0.0.1:3000",
    "http://127.8.9.10",
    "http://localhost:3000",
    "ws://app.localhost",
    "http://[::1]:3000",
  ])("accepts %s", (url) => {
    const created = make(url);
    expect(created.getStatus().state).toBe("idle");
    created.dispose();
  });

  it("is off by default: http: to any host is accepted (nothing connects before connect())", () => {
    const created = createWebSocketService({ url: "http://example.test" });
    created.dispose();
  });

  it("must be a boolean", () => {
    expect(() => createWebSocketService({ url: "https://example.test", requireSecureTransport: "yes" as never })).toThrow(
      /requireSecureTransport must be a boolean, got "yes"/,
    );
  });

  it("still connects to a loopback server", async () => {
    const server = cleanup.add(await LabServer.start(), (started) => started.close());
    const ws: WebSocketService = service({ url: server.url, requireSecureTransport: true, config: FAST_RETRY });
    ws.connect();
    await waitForState(ws, "connected");
  });
});

describe("options that would put the token elsewhere are refused", () => {
  it("socketOptions.path that agrees with the path option is accepted", () => {
    createWebSocketService({ url: "http://127.0.0.1:1", socketOptions: { path: "/socket.io/" } }).dispose();
    createWebSocketService({ url: "http://127.0.0.1:1", path: "/rt/", socketOptions: { path: "/rt/" } }).dispose();
  });

  it.each<[string, WebSocketServiceOptions, RegExp]>([
    ["the token in the URL", { url: `http://127.0.0.1:1/?token=${FIRST}`, auth: { token: FIRST } }, /url must not contain the auth token/],
    ["credentials in the URL", { url: "http://user:pw@127.0.0.1:1" }, /url must not carry credentials/],
    ["the token in socketOptions.query", { url: "http://127.0.0.1:1", auth: { token: FIRST }, socketOptions: { query: { t: FIRST } } }, /socketOptions\.query must not contain the auth token/],
    ["socketOptions.auth", { url: "http://127.0.0.1:1", socketOptions: { auth: { token: FIRST } } }, /socketOptions\.auth is set by the service/],
    ["socketOptions.path", { url: "http://127.0.0.1:1", socketOptions: { path: "/x/" } }, /socketOptions\.path is set by the service/],
    ["auth given as a bare string", { url: "http://127.0.0.1:1", auth: FIRST as never }, /auth must be an object.*got a string \(value not shown\)/],
    ["a mistyped top-level token option", { url: "http://127.0.0.1:1", token: FIRST } as never, /options\.token is not a known option \(value a string, not shown\)/],
  ])("%s", (_label, options, pattern) => {
    let message = "";
    try {
      createWebSocketService(options);
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      message = (error as Error).message;
    }
    expect(message).toMatch(pattern);
    expect(message).not.toContain(FIRST);
  });
});

describe("the token check on the URL", () => {
  it("finds an escaped token, and a malformed escape elsewhere in the URL is no crash", () => {
    const escaped = `http://127.0.0.1:1/?t=${encodeURIComponent("tok/en+1234")}`;
    expect(() => createWebSocketService({ url: escaped, auth: { token: "tok/en+1234" } })).toThrow(/must not contain the auth token/);
    const created = createWebSocketService({ url: "http://127.0.0.1:1/%E0%A4%A", auth: { token: FIRST } });
    created.dispose();
  });
});

describe("tokens from a provider are redacted too", () => {
  it("a provider that fails quoting a token it handed out earlier: [redacted] in lastError, events and the log", async () => {
    const accepted = new Set<string>();
    const { server } = await carelessGateway(accepted);
    const answers: (() => string)[] = [
      () => FIRST,
      () => {
        throw new Error(`refresh of ${FIRST} failed`);
      },
    ];
    const { ws, out } = recordEverything({ url: server.url, auth: () => answers.shift()!(), config: FAST_RETRY });
    ws.connect();
    // FIRST is refused (echoed), the one refresh throws quoting FIRST: a failed attempt.
    await waitForEvent(ws, "connection:failed");
    expect(ws.getStatus().lastError).toEqual({ message: "token provider failed: refresh of [redacted] failed" });
    ws.dispose();
    expectNoSecret(out);
  });
});

describe("error messages thrown at creation never print a token", () => {
  it.each<[string, Record<string, unknown>]>([
    ["an http: URL with the token in its query under requireSecureTransport", { url: `http://example.test/rt?t=${FIRST}`, requireSecureTransport: true }],
    ["a bad scheme with the token in its query", { url: `ftp://example.test/?t=${FIRST}` }],
    ["a non-string auth.token", { url: "http://127.0.0.1:1", auth: { token: { value: FIRST } } }],
    ["a numeric auth", { url: "http://127.0.0.1:1", auth: 12345678 }],
    ["a token misplaced in config", { url: "http://127.0.0.1:1", config: { authToken: FIRST } }],
    ["a token under an innocent unknown option", { url: "http://127.0.0.1:1", bearer: FIRST }],
    ["a long unknown string option (a JWT-like value)", { url: "http://127.0.0.1:1", t: `${FIRST}.${FIRST}.${FIRST}` }],
  ])("%s", (_label, options) => {
    let message = "";
    try {
      createWebSocketService(options as unknown as WebSocketServiceOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      message = (error as Error).message;
    }
    expect(message).not.toBe("");
    expect(message).not.toContain(FIRST);
    expect(message).not.toContain("12345678");
  });

  it("still names what is wrong: the URL without its query, the key, the kind", () => {
    expect(() => createWebSocketService({ url: `http://example.test/rt?t=${FIRST}`, requireSecureTransport: true })).toThrow(
      '"http://example.test/rt" (query, fragment and credentials not shown)',
    );
    expect(() => createWebSocketService({ url: "http://127.0.0.1:1", config: { authToken: FIRST } as never })).toThrow(
      "config.authToken is not a known option (value a string, not shown)",
    );
  });
});

describe("setAuthToken with the token already held", () => {
  it("changes nothing: a handshake in flight is not restarted", async () => {
    const server = cleanup.add(await LabServer.start({ tokens: [FIRST] }), (started) => started.close());
    server.holdHandshakes(200);
    const ws = service({ url: server.url, auth: { token: FIRST }, config: FAST_RETRY });
    ws.connect();
    await server.waitForHandshakes(1);
    const generation = ws.actor.getSnapshot().context.generation;
    ws.setAuthToken(FIRST);
    expect(ws.actor.getSnapshot().context.generation).toBe(generation);
    await waitForState(ws, "connected");
    expect(server.handshakes).toBe(1);
  });

  it("a different token restarts the attempt with it", async () => {
    const server = cleanup.add(await LabServer.start({ tokens: [FIRST, SECOND] }), (started) => started.close());
    server.holdHandshakes(200);
    const ws = service({ url: server.url, auth: { token: FIRST }, config: FAST_RETRY });
    ws.connect();
    await server.waitForHandshakes(1);
    ws.setAuthToken(SECOND);
    await waitForState(ws, "connected");
    expect(server.seenTokens).toEqual([FIRST, SECOND]);
    expect(server.peakOpen).toBe(1);
  });
});
