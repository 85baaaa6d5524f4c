import { Agent } from "node:http";
import { describe, expect, it, vi } from "vitest";
import { DnsServer } from "../../lab/dnsServer.js";
import { LabServer } from "../../lab/server.js";
import { unusedPort } from "../../lab/tcpProxy.js";
import type { TokenProvider } from "../../src/machine/socketActor.js";
import type { ServiceEventName } from "../../src/machine/types.js";
import { SERVICE_EVENT_NAMES, type WebSocketServiceOptions } from "../../src/services/WebSocketService.js";
import { recordEvents, Tally, waitForEvent } from "../support/events.js";
import { eventWithStatus, markerServer, synced } from "../support/faults.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

/**
 * Fault matrix, client side (issue 6): a name that does not resolve, a closed port, listeners
 * that throw, token providers that misbehave. Real sockets throughout (name resolution
 * through a DNS responder on loopback). Every row checks the event, the state and lastError
 * the fault leaves, and that a send made around it is delivered once, still queued or
 * announced, never silently lost.
 */

const { cleanup, service, startServer } = integrationRig();

const GOOD = "good-token-4be";

/** What onListenerError is told the source was (an event name, or "logger"). */
type ListenerErrorSource = Parameters<NonNullable<WebSocketServiceOptions["onListenerError"]>>[1];

const ALL_EVENTS = SERVICE_EVENT_NAMES;

describe("fault matrix: the client's side of the wire", () => {
  it("unresolvable host name (real DNS on loopback, NXDOMAIN): lastError names ENOTFOUND and the host, connection:failed, backingOff; the send stays queued", async () => {
    const dns = cleanup.add(await DnsServer.start(), (started) => started.close());
    const agent = cleanup.add(new Agent({ lookup: dns.lookup }), (created) => created.destroy());
    const ws = service({
      url: `http://no-such-host.invalid:${await unusedPort()}`,
      config: FAST_RETRY,
      // engine.io-client types `agent` as string | boolean, but hands it to ws and to the
      // polling XHR in Node, where an http.Agent is what both take.
      socketOptions: { agent: agent as unknown as string },
    });
    ws.send("marker", "kept");
    const failed = eventWithStatus(ws, "connection:failed");
    ws.connect();
    const { payload, status } = await failed;
    console.log(`unresolvable host: lastError ${JSON.stringify(status.lastError)} (${dns.queries} DNS queries)`);
    expect(payload.attempt).toBe(1);
    expect(payload.error.message).toContain("ENOTFOUND");
    expect(payload.error.message).toContain("no-such-host.invalid");
    expect(status).toMatchObject({ state: "backingOff", attempt: 1, lastError: payload.error, queuedMessages: 1 });
    // Resolved through the lab's DNS responder, not the system's resolver.
    expect(dns.queries).toBeGreaterThan(0);
    expect(new Set(dns.names)).toEqual(new Set(["no-such-host.invalid"]));
  });

  it("port closed: lastError names ECONNREFUSED, backingOff, attempts counted; maxReconnectAttempts 3 -> exhausted with max_attempts_reached { attempts: 3 }; the send is delivered once a server listens", async () => {
    const port = await unusedPort();
    const ws = service({ url: `http://127.0.0.1:${port}`, config: { ...FAST_RETRY, maxReconnectAttempts: 3 } });
    const log = recordEvents(ws, ["connection:failed", "connection:max_attempts_reached", "message:dropped"]);
    ws.send("marker", "kept");
    const firstFailure = eventWithStatus(ws, "connection:failed");
    const exhausted = eventWithStatus(ws, "connection:max_attempts_reached");
    ws.connect();

    const first = await firstFailure;
    console.log(`port closed: lastError ${JSON.stringify(first.status.lastError)}`);
    expect(first.payload.attempt).toBe(1);
    expect(first.payload.error.message).toContain("ECONNREFUSED");
    expect(first.payload.error.message).toContain(String(port));
    expect(first.status).toMatchObject({ state: "backingOff", attempt: 1, lastError: first.payload.error });

    const last = await exhausted;
    expect(last.payload).toEqual({ attempts: 3 });
    expect(last.status).toMatchObject({ state: "exhausted", attempt: 3, queuedMessages: 1 });
    expect(last.status.lastError?.message).toContain("ECONNREFUSED");
    expect(log.of("connection:failed").map((failure) => failure.attempt)).toEqual([1, 2, 3]);
    expect(log.of("message:dropped")).toEqual([]);

    const received = new Tally<string>();
    const server = cleanup.add(
      await LabServer.start({
        port,
        onConnection: (socket) => {
          socket.on("marker", (marker: string) => received.push(marker));
          socket.on("sync", (ack: (reply: string) => void) => ack("synced"));
        },
      }),
      (started) => started.close(),
    );
    const connected = waitForEvent(ws, "connection:connected");
    ws.connect();
    await connected;
    await synced(ws);
    expect(received.values).toEqual(["kept"]);
    expect(server.connections).toBe(1);
    log.stop();
  });

  it("listeners that throw, on every event of a connect/drop/reconnect run: onListenerError gets (error, eventName) for each, the other listeners still run, the chart reconnects, queued sends arrive once", async () => {
    const { server, received } = await markerServer(startServer, { onConnection: (socket) => socket.emit("welcome", "hi") });
    const reported: { error: unknown; eventName: ListenerErrorSource }[] = [];
    const ws = service({
      url: server.url,
      config: { ...FAST_RETRY, healthCheckInterval: 100 },
      onListenerError: (error, eventName) => reported.push({ error, eventName }),
    });
    const heard: ServiceEventName[] = [];
    for (const name of ALL_EVENTS) {
      ws.on(name, () => {
        throw new Error(`a ${name} listener failed`);
      });
      ws.on(name, () => heard.push(name));
    }

    const welcomed = waitForEvent(ws, "message", { filter: (message) => message.event === "welcome" });
    ws.connect();
    await welcomed;
    await waitForEvent(ws, "connection:health_check");

    const failedWhileDown = waitForEvent(ws, "connection:failed");
    await server.kill();
    await failedWhileDown;
    ws.send("marker", "a");
    ws.send("marker", "b");
    const reconnected = waitForEvent(ws, "connection:reconnected");
    await server.restart();
    await reconnected;
    await synced(ws);

    expect(received.values).toEqual(["a", "b"]);
    expect(ws.getStatus()).toMatchObject({ state: "connected", attempt: 0, queuedMessages: 0 });
    expect(heard).toEqual(
      expect.arrayContaining([
        "connection:connected",
        "message",
        "connection:health_check",
        "connection:disconnected",
        "connection:reconnecting",
        "connection:failed",
        "connection:reconnected",
        "request:settled",
      ]),
    );
    // One report per delivery, in the same order as the listener beside it heard them.
    expect(reported.map((report) => report.eventName)).toEqual(heard);
    for (const { error, eventName } of reported) {
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe(`a ${eventName} listener failed`);
    }
  });

  it("listeners that throw, no onListenerError given: console.error gets the event name and the error; the service carries on", async () => {
    const { server } = await markerServer(startServer);
    const consoleError = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const ws = service({ url: server.url, config: FAST_RETRY });
      const thrown = new Error("a connected listener failed");
      ws.on("connection:connected", () => {
        throw thrown;
      });
      const connected = waitForEvent(ws, "connection:connected");
      ws.connect();
      await connected;
      const reports = consoleError.mock.calls.filter((call) => call.includes(thrown));
      expect(reports.length).toBe(1);
      expect(reports[0]!.map(String).join(" ")).toContain("connection:connected");
      expect(ws.getStatus().state).toBe("connected");
    } finally {
      consoleError.mockRestore();
    }
  });
});

/** A token provider whose behaviour the test switches, counting its calls. */
function switchableProvider(initial: () => unknown) {
  let behaviour = initial;
  let calls = 0;
  const provider = (() => {
    calls += 1;
    return behaviour();
  }) as TokenProvider;
  return {
    provider,
    answer(next: () => unknown) {
      behaviour = next;
    },
    get calls() {
      return calls;
    },
  };
}

describe("fault matrix: a token provider that misbehaves", () => {
  const failing: [string, () => unknown, string][] = [
    [
      "throws",
      () => {
        throw new Error("vault sealed");
      },
      "token provider failed: vault sealed",
    ],
    ["rejects", () => Promise.reject(new Error("session expired")), "token provider failed: session expired"],
  ];

  it.each(failing)(
    "%s: connection:failed, lastError %j, backingOff, no handshake; the queued send arrives once the provider recovers",
    async (_label, behaviour, expected) => {
      const { server, received } = await markerServer(startServer, { tokens: [GOOD] });
      const control = switchableProvider(behaviour);
      const ws = service({ url: server.url, auth: control.provider, config: FAST_RETRY });
      ws.send("marker", "m1");
      const failed = eventWithStatus(ws, "connection:failed");
      ws.connect();
      const { payload, status } = await failed;
      expect(payload).toEqual({ attempt: 1, error: { message: expected }, server: expect.any(String) });
      expect(status).toMatchObject({ state: "backingOff", attempt: 1, lastError: { message: expected }, queuedMessages: 1 });
      expect(server.handshakes).toBe(0);

      control.answer(() => GOOD);
      await waitForEvent(ws, "connection:connected");
      await synced(ws);
      expect(received.values).toEqual(["m1"]);
      expect(server.handshakes).toBe(1);
    },
  );

  it("hangs: bounded by connectionTimeout ('token provider did not answer within 500 ms'), backingOff; its late answer opens nothing; the queued send arrives once", async () => {
    const { server, received } = await markerServer(startServer, { tokens: [GOOD] });
    let answerLate: ((token: string) => void) | null = null;
    const control = switchableProvider(
      () =>
        new Promise<string>((resolve) => {
          answerLate = resolve;
        }),
    );
    // A long first retry delay (the top of the full-jitter envelope, ~1 s): room for a stale
    // answer to open a socket before the retry would, if it could.
    const ws = service({
      url: server.url,
      auth: control.provider,
      config: { ...FAST_RETRY, connectionTimeout: 500, baseDelay: 1_000, maxDelay: 1_000 },
      random: () => 0.999,
    });
    ws.send("marker", "m1");
    const failed = eventWithStatus(ws, "connection:failed");
    const startedAt = Date.now();
    ws.connect();
    const { payload, status } = await failed;
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    expect(payload).toEqual({ attempt: 1, error: { message: "token provider did not answer within 500 ms" }, server: expect.any(String) });
    expect(status).toMatchObject({
      state: "backingOff",
      lastError: { message: "token provider did not answer within 500 ms" },
      queuedMessages: 1,
    });
    expect(answerLate).not.toBeNull();

    let handshakesWhenRetryStarted: number | null = null;
    const watch = ws.actor.subscribe(() => {
      if (handshakesWhenRetryStarted === null && ws.getStatus().state === "connecting") {
        handshakesWhenRetryStarted = server.handshakes;
      }
    });
    control.answer(() => GOOD);
    answerLate!(GOOD);
    await waitForEvent(ws, "connection:connected");
    watch.unsubscribe();
    expect(handshakesWhenRetryStarted).toBe(0);
    await synced(ws);
    expect(received.values).toEqual(["m1"]);
    expect(control.calls).toBe(2);
    expect(server.handshakes).toBe(1);
    expect(server.peakOpen).toBe(1);
  });

  const unusable: [string, () => unknown, string, string | null][] = [
    ["a number", () => 4242, "token provider returned a number; expected a string or an auth payload object", "4242"],
    [
      "a payload whose token is a number",
      () => ({ token: 73_519_004 }),
      "token provider returned a payload whose token is a number; expected a string",
      "73519004",
    ],
    ['""', () => "", "token provider returned no token", null],
    ["null", () => null, "token provider returned no token", null],
  ];

  it.each(unusable)(
    "returns %s: authRequired with lastError %j (never the value), no handshake; the send stays queued until a token is set",
    async (_label, behaviour, expected, secret) => {
      const { server, received } = await markerServer(startServer, { tokens: [GOOD] });
      const control = switchableProvider(behaviour);
      const ws = service({ url: server.url, auth: control.provider, config: FAST_RETRY });
      const log = recordEvents(ws, [...ALL_EVENTS]);
      ws.send("marker", "m1");
      const required = eventWithStatus(ws, "connection:auth_required");
      ws.connect();
      const { status } = await required;
      expect(status).toMatchObject({ state: "authRequired", lastError: { message: expected }, queuedMessages: 1 });
      expect(server.handshakes).toBe(0);
      if (secret !== null) {
        expect(JSON.stringify(status.lastError)).not.toContain(secret);
        expect(JSON.stringify(log.events)).not.toContain(secret);
      }
      expect(log.of("message:dropped")).toEqual([]);

      control.answer(() => GOOD);
      const connected = waitForEvent(ws, "connection:connected");
      ws.setAuthToken(GOOD);
      await connected;
      await synced(ws);
      expect(received.values).toEqual(["m1"]);
      log.stop();
    },
  );
});
