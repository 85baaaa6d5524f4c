import { describe, expect, it, vi } from "vitest";
import { LabServer } from "../../lab/server.js";
import { type LogEntry, stateName } from "../../src/services/logging.js";
import { waitForEvent, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

const { cleanup, service } = integrationRig();

const TOKEN = "log-secret-93a7e1";

async function tokenServer() {
  return cleanup.add(await LabServer.start({ tokens: [TOKEN] }), (started) => started.close());
}

describe("the debug log", () => {
  it("records transitions (from, to, the event, the deciding numbers) and every announced event", async () => {
    const server = await tokenServer();
    const entries: LogEntry[] = [];
    const ws = service({ url: server.url, auth: { token: TOKEN }, config: FAST_RETRY, logger: (entry) => entries.push(entry) });
    ws.connect();
    await waitForState(ws, "connected");
    await server.kill();
    await waitForEvent(ws, "connection:reconnecting");
    await server.restart();
    await waitForEvent(ws, "connection:reconnected");

    const transitions = entries.filter((entry) => entry.kind === "transition");
    expect(transitions[0]).toMatchObject({ from: "(start)", to: "idle" });
    expect(transitions[1]).toMatchObject({ from: "idle", to: "connecting.handshaking", event: "connect" });
    const connected = transitions.find((entry) => entry.to?.startsWith("connected."));
    expect(connected).toMatchObject({ from: "connecting.handshaking", event: "socket.connected" });
    expect(connected?.message).toMatch(/^connecting\.handshaking -> connected\.\{heartbeat\..+\} \(socket\.connected\)$/);
    const backingOff = transitions.find((entry) => entry.to === "backingOff.waiting");
    expect(backingOff?.data).toMatchObject({ lastError: "connection lost: transport close", network: "online" });
    expect(backingOff?.data?.nextRetryDelay).toEqual(expect.any(Number));
    // Every entry carries a time, and the events appear by their service names with their payloads.
    for (const entry of entries) expect(entry.time).toEqual(expect.any(Number));
    const announced = entries.filter((entry) => entry.kind === "event").map((entry) => entry.event);
    expect(announced).toEqual(
      expect.arrayContaining(["connection:connected", "connection:disconnected", "connection:reconnecting", "connection:reconnected"]),
    );
    const reconnecting = entries.find((entry) => entry.event === "connection:reconnecting");
    expect(reconnecting?.message).toMatch(/^connection:reconnecting attempt=1 delay=\d+ server=http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("shows the server's retryAfter decision: the hold it asked for and a delay that honours it", async () => {
    const server = cleanup.add(await LabServer.start(), (started) => started.close());
    server.shedLoad({ retryAfter: 400 });
    const entries: LogEntry[] = [];
    const ws = service({ url: server.url, config: FAST_RETRY, logger: (entry) => entries.push(entry) });
    ws.connect();
    await waitForEvent(ws, "connection:reconnecting");
    const waiting = entries.find((entry) => entry.to === "backingOff.waiting");
    expect(waiting?.data).toMatchObject({ attempt: 1, backoffStep: 1, lastError: "server busy" });
    // The hold is stamped when the retry is scheduled, just before the entry is written.
    const holdLeft = waiting?.data?.serverHoldMs as number;
    expect(holdLeft).toBeGreaterThan(300);
    expect(holdLeft).toBeLessThanOrEqual(400);
    expect(waiting?.data?.nextRetryDelay).toBeGreaterThanOrEqual(400);
  });

  it("never carries application data: message events are logged by name and argument count", async () => {
    const server = cleanup.add(
      await LabServer.start({ onConnection: (socket) => socket.emit("news", { private: "payload-77" }, "second") }),
      (started) => started.close(),
    );
    const entries: LogEntry[] = [];
    const ws = service({ url: server.url, config: FAST_RETRY, logger: (entry) => entries.push(entry) });
    ws.sendWith({ volatile: true }, "typing", "draft-secret-text");
    ws.connect();
    await waitForEvent(ws, "message");
    const text = JSON.stringify(entries);
    expect(text).not.toContain("payload-77");
    expect(text).not.toContain("draft-secret-text");
    expect(entries.find((entry) => entry.event === "message")).toMatchObject({
      message: "message event=news argCount=2",
      data: { event: "news", argCount: 2 },
    });
    expect(entries.find((entry) => entry.event === "message:dropped")).toMatchObject({
      data: { event: "typing", reason: "volatile", argCount: 1 },
    });
  });

  it("redacts the token from every entry, including a server's echo of it", async () => {
    const server = cleanup.add(await LabServer.start(), (started) => started.close());
    server.io.use((socket, next) => next(new Error(`unauthorized: token ${String((socket.handshake.auth as { token?: string }).token)} is unknown`)));
    const entries: LogEntry[] = [];
    const ws = service({ url: server.url, auth: { token: TOKEN }, config: FAST_RETRY, logger: (entry) => entries.push(entry) });
    ws.connect();
    await waitForState(ws, "authRequired");
    const text = JSON.stringify(entries);
    expect(text).toContain("unauthorized: token [redacted] is unknown");
    expect(text).not.toContain(TOKEN);
  });

  it("logs the re-entries that are decisions: the one token refresh is a new attempt in the same state", async () => {
    const server = cleanup.add(await LabServer.start({ tokens: ["never-this-one"] }), (started) => started.close());
    const entries: LogEntry[] = [];
    let asked = 0;
    const ws = service({
      url: server.url,
      auth: () => `provider-token-${++asked}`,
      config: FAST_RETRY,
      logger: (entry) => entries.push(entry),
    });
    ws.connect();
    await waitForState(ws, "authRequired");
    const handshakes = entries.filter((entry) => entry.kind === "transition" && entry.to === "connecting.handshaking");
    expect(handshakes.map((entry) => [entry.from, entry.data?.generation])).toEqual([
      ["idle", 1],
      ["connecting.handshaking", 2],
    ]);
    expect(handshakes[1]?.event).toBe("socket.connectFailed");
  });

  it("the log's own redaction covers what no other layer scrubs: a server event named after the token", async () => {
    const server = cleanup.add(
      await LabServer.start({ tokens: [TOKEN], onConnection: (socket) => socket.emit(`welcome-${TOKEN}`) }),
      (started) => started.close(),
    );
    const entries: LogEntry[] = [];
    const ws = service({ url: server.url, auth: { token: TOKEN }, config: FAST_RETRY, logger: (entry) => entries.push(entry) });
    const message = waitForEvent(ws, "message");
    ws.connect();
    // The application still gets its data as sent...
    expect((await message).event).toBe(`welcome-${TOKEN}`);
    // ...the log does not.
    const text = JSON.stringify(entries);
    expect(text).toContain("welcome-[redacted]");
    expect(text).not.toContain(TOKEN);
  });

  it("is off by default: nothing is written to the console", async () => {
    const server = await tokenServer();
    const spies = (["log", "debug", "info", "warn", "error"] as const).map((method) => vi.spyOn(console, method));
    try {
      const ws = service({ url: server.url, auth: { token: TOKEN }, config: FAST_RETRY });
      ws.connect();
      await waitForState(ws, "connected");
      ws.disconnect();
      for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it("a throwing logger is reported to onListenerError as \"logger\" and breaks nothing", async () => {
    const server = await tokenServer();
    const reported: string[] = [];
    const ws = service({
      url: server.url,
      auth: { token: TOKEN },
      config: FAST_RETRY,
      logger: () => {
        throw new Error("disk full");
      },
      onListenerError: (error, name) => reported.push(`${name}: ${(error as Error).message}`),
    });
    ws.connect();
    await waitForState(ws, "connected");
    expect(reported.length).toBeGreaterThan(2);
    expect(new Set(reported)).toEqual(new Set(["logger: disk full"]));
  });

  it("logs calls ignored after dispose()", () => {
    const entries: LogEntry[] = [];
    const ws = service({ url: "http://127.0.0.1:1", logger: (entry) => entries.push(entry) });
    ws.dispose();
    ws.connect();
    ws.send("chat", "late");
    expect(entries.filter((entry) => entry.kind === "ignored").map((entry) => entry.message)).toEqual([
      "connect() ignored: the service is disposed",
      "send() ignored: the service is disposed",
    ]);
  });

  it("a logger that is not a function is refused by name", () => {
    expect(() => service({ url: "http://127.0.0.1:1", logger: console as never })).toThrow(/logger must be a function/);
  });
});

describe("stateName", () => {
  it.each([
    ["idle", "idle"],
    [{ connecting: "handshaking" }, "connecting.handshaking"],
    [
      { connected: { heartbeat: "beating", health: "watching", stability: "settling" } },
      "connected.{heartbeat.beating,health.watching,stability.settling}",
    ],
  ])("%j -> %s", (value, name) => {
    expect(stateName(value)).toBe(name);
  });
});
