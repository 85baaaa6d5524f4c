import type { Socket as ClientSocket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type { Server } from "socket.io";
import { createAdmissionControl, DRAIN_EVENT, drainServer, type DrainNotice } from "../../src/server/index.js";
import { connected, nextEvent, serverRig } from "./support.js";

const rig = serverRig();

/** What one client saw, in order: the notice and the disconnect. */
function journal(client: ClientSocket) {
  const seen: { kind: "notice" | "disconnect"; value: unknown }[] = [];
  client.on(DRAIN_EVENT, (notice: DrainNotice) => seen.push({ kind: "notice", value: notice }));
  client.on("disconnect", (reason) => seen.push({ kind: "disconnect", value: reason }));
  return seen;
}

describe("drainServer", () => {
  it("delivers the notice to every client (websocket and polling) before closing its connection", async () => {
    const server = await rig.start();
    const clients = Array.from({ length: 6 }, (_, index) =>
      rig.client(server.url, { transports: index % 2 === 0 ? ["websocket"] : ["polling"] }),
    );
    await Promise.all(clients.map((client) => connected(client)));
    const journals = clients.map(journal);
    const disconnects = clients.map((client) => nextEvent(client, "disconnect"));

    const result = await drainServer(server.io, { reconnectAfterMs: 2000, windowMs: 10_000, reason: "deploy 2.4.1" });
    await Promise.all(disconnects);

    expect(result).toEqual({ notified: 6, connections: 6 });
    expect(server.io.of("/").sockets.size).toBe(0);
    for (const seen of journals) {
      expect(seen).toEqual([
        {
          kind: "notice",
          value: { version: 1, reconnectAfter: 2000, windowMs: 10_000, slot: expect.any(Number), reason: "deploy 2.4.1" },
        },
        { kind: "disconnect", value: "transport close" },
      ]);
    }
  });

  it("closes with the server-side reason \"forced close\", one that stores the session", async () => {
    const server = await rig.start();
    const reasons: string[] = [];
    server.io.on("connection", (socket) => socket.on("disconnect", (reason) => reasons.push(reason)));
    const clients = [rig.client(server.url), rig.client(server.url)];
    await Promise.all(clients.map((client) => connected(client)));
    await drainServer(server.io, { windowMs: 1000, graceMs: 10 });
    expect(reasons).toEqual(["forced close", "forced close"]);
  });

  it("slots: true spreads the connections evenly over the window, slot = floor(i * windowMs / n)", async () => {
    const server = await rig.start();
    const clients = Array.from({ length: 3 }, () => rig.client(server.url));
    await Promise.all(clients.map((client) => connected(client)));
    const notices = clients.map((client) => nextEvent<[DrainNotice]>(client, DRAIN_EVENT));
    await drainServer(server.io, { reconnectAfterMs: 500, windowMs: 1000, slots: true });
    const received = (await Promise.all(notices)).map(([notice]) => notice);
    expect(received.map((notice) => notice.slot).sort((a, b) => a! - b!)).toEqual([0, 333, 666]);
    for (const notice of received) expect(notice).toMatchObject({ version: 1, reconnectAfter: 500, windowMs: 1000 });
  });

  it("defaults: reconnectAfter is graceMs (100), a slot each (the only connection gets 0), no reason", async () => {
    const server = await rig.start();
    const client = rig.client(server.url);
    await connected(client);
    const notice = nextEvent<[DrainNotice]>(client, DRAIN_EVENT);
    await drainServer(server.io, { windowMs: 3000 });
    expect((await notice)[0]).toEqual({ version: 1, reconnectAfter: 100, windowMs: 3000, slot: 0 });
  });

  it("slots: false leaves the moment to each client (no slot in the notice)", async () => {
    const server = await rig.start();
    const client = rig.client(server.url);
    await connected(client);
    const notice = nextEvent<[DrainNotice]>(client, DRAIN_EVENT);
    await drainServer(server.io, { windowMs: 3000, slots: false });
    expect((await notice)[0]).toEqual({ version: 1, reconnectAfter: 100, windowMs: 3000 });
  });

  it("one notice per namespace a connection joined, one slot per connection", async () => {
    const server = await rig.start();
    server.io.of("/admin");
    const main = rig.client(server.url, { forceNew: true });
    const admin = main.io.socket("/admin");
    admin.connect();
    const other = rig.client(server.url);
    await Promise.all([connected(main), connected(admin), connected(other)]);
    const notices = [main, admin, other].map((client) => nextEvent<[DrainNotice]>(client, DRAIN_EVENT));
    const result = await drainServer(server.io, { windowMs: 1000, slots: true });
    const [mainNotice, adminNotice, otherNotice] = (await Promise.all(notices)).map(([notice]) => notice);
    expect(result).toEqual({ notified: 3, connections: 2 });
    expect(adminNotice!.slot).toBe(mainNotice!.slot);
    expect([mainNotice!.slot, otherNotice!.slot].sort()).toEqual([0, 500]);
  });

  it("a client that connects during the drain gets the notice too, and is closed", async () => {
    const server = await rig.start();
    const early = rig.client(server.url);
    await connected(early);
    const drained = drainServer(server.io, { windowMs: 1000, graceMs: 2000 });
    const late = rig.client(server.url);
    const lateSeen = journal(late);
    const lateGone = nextEvent(late, "disconnect");
    await connected(late);
    const result = await drained;
    await lateGone;
    expect(result).toEqual({ notified: 2, connections: 2 });
    expect(lateSeen).toEqual([
      { kind: "notice", value: { version: 1, reconnectAfter: 2000, windowMs: 1000 } },
      { kind: "disconnect", value: "transport close" },
    ]);
  });

  it("keeps the session recoverable: a plain client coming back gets recovered === true and what its room was sent meanwhile", async () => {
    const server = await rig.start({ connectionStateRecovery: { maxDisconnectionDuration: 30_000 } });
    const serverIds: string[] = [];
    server.io.on("connection", (socket) => {
      serverIds.push(socket.id);
      if (!socket.recovered) void socket.join("desk-7");
    });
    const client = rig.client(server.url);
    await connected(client);
    const firstId = client.id;
    const news: unknown[] = [];
    client.on("news", (value) => news.push(value));
    const first = nextEvent(client, "news");
    server.io.to("desk-7").emit("news", "before"); // gives the client an offset to resume from
    await first;

    const notice = nextEvent<[DrainNotice]>(client, DRAIN_EVENT);
    const gone = nextEvent(client, "disconnect");
    await drainServer(server.io, { windowMs: 500, graceMs: 20 });
    await notice;
    await gone;
    server.io.to("desk-7").emit("news", "while away");

    client.connect();
    await connected(client);
    expect(client.recovered).toBe(true);
    expect(client.id).toBe(firstId);
    await expect.poll(() => news).toEqual(["before", "while away"]);
    expect(serverIds).toEqual([firstId, firstId]);
  });

  it("a plain socket.io-client with its own reconnection simply reconnects", async () => {
    const server = await rig.start();
    const client = rig.client(server.url, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
    await connected(client);
    const firstId = client.id;
    const gone = nextEvent<[string]>(client, "disconnect");
    await drainServer(server.io, { windowMs: 1000, graceMs: 10 });
    expect((await gone)[0]).toBe("transport close");
    expect(client.active).toBe(true);
    await nextEvent(client, "connect");
    expect(client.id).not.toBe(firstId); // no recovery configured: a new session
  });

  it("close: true closes the server after the connections", async () => {
    const server = await rig.start();
    const client = rig.client(server.url);
    await connected(client);
    const result = await drainServer(server.io, { windowMs: 1000, graceMs: 10, close: true });
    expect(result.connections).toBe(1);
    expect(server.http.listening).toBe(false);
    const again = rig.client(server.url, { timeout: 2000 });
    await expect(connected(again)).rejects.toThrow();
  });

  it("resolves at once on a server with no connections, and leaves it running", async () => {
    const server = await rig.start();
    await expect(drainServer(server.io, { windowMs: 1000, graceMs: 60_000 })).resolves.toEqual({ notified: 0, connections: 0 });
    expect(server.http.listening).toBe(true);
    const client = rig.client(server.url);
    await connected(client);
  });

  it("forceAfterMs: a client that stops reading (a long-polling client that never polls again) is closed anyway", async () => {
    const server = await rig.start();
    const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(base)).text(); // 0{"sid":...}
    const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
    await fetch(`${base}&sid=${sid}`, { method: "POST", body: "40" });
    expect(await (await fetch(`${base}&sid=${sid}`)).text()).toMatch(/^40\{"sid":/);
    expect(server.io.of("/").sockets.size).toBe(1);
    // No more polls: the notice stays queued, so the close waits for a drain that never comes.
    const started = performance.now();
    const result = await drainServer(server.io, { windowMs: 1000, graceMs: 10, forceAfterMs: 300 });
    expect(result).toEqual({ notified: 1, connections: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(performance.now() - started).toBeLessThan(10_000); // not Engine.IO's ping timeout (45 s)
    expect(server.io.of("/").sockets.size).toBe(0);
  });

  it("accepts a server typed with its own event maps, and the admission middleware on it", async () => {
    interface ServerToClient {
      news: (text: string) => void;
    }
    interface ClientToServer {
      dial: (to: string) => void;
    }
    const server = await rig.start();
    const typed = server.io as unknown as Server<ClientToServer, ServerToClient>;
    typed.use(createAdmissionControl({ perSecond: 100 }));
    typed.of("/calls").use(createAdmissionControl({ perSecond: 10 }));
    const client = rig.client(server.url);
    await connected(client);
    await expect(drainServer(typed, { windowMs: 100, graceMs: 0 })).resolves.toEqual({ notified: 1, connections: 1 });
  });

  it.each([
    [{}, /windowMs must be a finite number >= 0, got undefined/],
    [{ windowMs: -1 }, /windowMs must be a finite number >= 0, got -1/],
    [{ windowMs: Number.NaN }, /windowMs .* got NaN/],
    [{ windowMs: "1000" }, /windowMs .* got "1000"/],
    [{ windowMs: 1000, reconnectAfterMs: Number.POSITIVE_INFINITY }, /reconnectAfterMs .* got Infinity/],
    [{ windowMs: 1000, graceMs: -5 }, /graceMs must be a finite number >= 0, got -5/],
    [{ windowMs: 1000, forceAfterMs: null }, /forceAfterMs .* got null/],
    [{ windowMs: 1000, slots: "yes" }, /slots must be a boolean, got "yes"/],
    [{ windowMs: 1000, close: 1 }, /close must be a boolean, got 1/],
    [{ windowMs: 1000, reason: 42 }, /reason must be a string, got 42/],
    [{ windowMs: 1000, window: 5 }, /unknown option "window"/],
  ])("options %j throw a TypeError naming the option and the value", async (options, message) => {
    const server = await rig.start();
    expect(() => drainServer(server.io, options as never)).toThrow(TypeError);
    expect(() => drainServer(server.io, options as never)).toThrow(message);
  });

  it("refuses what is not a Socket.IO server, and options that are not an object", async () => {
    expect(() => drainServer({} as never, { windowMs: 1 })).toThrow(/drainServer: io must be a Socket\.IO v4 Server, got \{\}/);
    const server = await rig.start();
    expect(() => drainServer(server.io, null as never)).toThrow(/drainServer: options must be an object, got null/);
  });
});
