import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { Socket } from "socket.io";
import { afterEach, describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import { connectToService, createWebSocketService, exposeService, type RemoteService } from "../../src/index.js";
import { hostStats } from "../../src/shared/index.js";
import { createCleanup } from "../support/events.js";
import { TestThread } from "./threads.js";

/**
 * Issue 13 with real parts: a real Socket.IO server on 127.0.0.1, the host's service in one
 * thread and remotes in worker threads (or the host in a worker and remotes here), talking over
 * worker_threads MessagePorts.
 */
const cleanup = createCleanup();
afterEach(() => cleanup.run());

/** A lab server whose sockets answer `echo` (ack with the arguments) and `hold` (never ack), and record `chat`. */
async function startServer(): Promise<{ lab: LabServer; chats: unknown[][]; sockets: Socket[] }> {
  const chats: unknown[][] = [];
  const sockets: Socket[] = [];
  const lab = await LabServer.start({
    onConnection: (socket) => {
      sockets.push(socket);
      socket.on("echo", (...args: unknown[]) => (args.pop() as (...reply: unknown[]) => void)(...args));
      socket.on("hold", () => {});
      socket.on("chat", (...args: unknown[]) => chats.push(args));
    },
  });
  cleanup.add(lab, (server) => server.close());
  return { lab, chats, sockets };
}

async function startRemotes(count: number, expose: (port: MessagePort) => void, options: { heartbeatTimeout?: number } = {}): Promise<TestThread[]> {
  const threads = await Promise.all(
    Array.from({ length: count }, async () => {
      const { thread, hostEnd } = await TestThread.remote(options);
      cleanup.add(thread, (started) => started.terminate());
      expose(hostEnd);
      return thread;
    }),
  );
  return threads;
}

function hostService(url: string) {
  const service = createWebSocketService({ url, autoConnect: true });
  cleanup.add(service, (created) => created.dispose());
  return service;
}

describe("one connection shared by remotes in worker threads", () => {
  it("the server sees exactly one connection; every remote shows its status", async () => {
    const { lab } = await startServer();
    const service = hostService(lab.url);
    const remotes = await startRemotes(3, (port) => exposeService(service, port));
    await Promise.all(remotes.map((remote) => remote.untilStatus("connected")));
    expect(lab.connections).toBe(1);
    expect(lab.openSockets()).toBe(1);
    expect(lab.peakOpen).toBe(1);
    for (const remote of remotes) {
      const status = (await remote.call("status", {})) as { socketId: string; host: string; isConnected: boolean };
      expect(status).toMatchObject({ socketId: service.getStatus().socketId, host: "attached", isConnected: true });
    }
    expect(hostStats(service)).toMatchObject({ remotes: 3, statusSubscribed: true });
  });

  it("events, sends and requests behave as with a local service, and a request resolves only in the remote that made it", async () => {
    const { lab, chats, sockets } = await startServer();
    const service = hostService(lab.url);
    const remotes = await startRemotes(3, (port) => exposeService(service, port));
    await Promise.all(remotes.map((remote) => remote.untilStatus("connected")));
    await Promise.all(remotes.map((remote) => remote.call("listen", { event: "message" })));

    // Each remote's first request has id 1 in that remote: a host that routed by id alone would mix them up.
    const answers = await Promise.all(remotes.map((remote, index) => remote.call("request", { event: "echo", args: [`from ${index}`, { n: index }] })));
    expect(answers).toEqual(["from 0", "from 1", "from 2"]);

    await remotes[1]!.call("send", { event: "chat", args: ["hello", { at: 1 }] });
    await expect.poll(() => chats, { timeout: 5_000 }).toEqual([["hello", { at: 1 }]]);

    sockets[0]!.emit("news", { headline: "one socket" }, 42);
    await Promise.all(remotes.map((remote) => remote.until(() => remote.events.length === 1, "the news")));
    for (const remote of remotes) expect(remote.events).toEqual([{ name: "message", payload: { event: "news", args: [{ headline: "one socket" }, 42] } }]);
  });

  it("a remote whose thread ends, or that disposes, releases its listeners and pending requests; the others go on", async () => {
    const { lab } = await startServer();
    const service = hostService(lab.url);
    const [leaving, staying, disposing] = await startRemotes(3, (port) => exposeService(service, port));
    await Promise.all([leaving!, staying!, disposing!].map((remote) => remote.untilStatus("connected")));
    await leaving!.call("listen", { event: "connection:health_check" });
    await leaving!.call("listen", { event: "message" });
    await staying!.call("listen", { event: "message" });
    const pending = leaving!.call("request", { event: "hold", args: [] });
    pending.catch(() => {});
    await expect.poll(() => hostStats(service), { timeout: 5_000 }).toMatchObject({ remotes: 3, serviceListeners: 2, pendingCalls: 1 });

    await leaving!.terminate();
    await expect.poll(() => hostStats(service), { timeout: 5_000 }).toMatchObject({ remotes: 2, serviceListeners: 1, pendingCalls: 0 });
    await expect(staying!.call("request", { event: "echo", args: ["after"] })).resolves.toBe("after");

    await disposing!.call("dispose", {});
    await expect.poll(() => hostStats(service).remotes, { timeout: 5_000 }).toBe(1);
    expect(service.getStatus().state).toBe("connected");
    expect(lab.connections).toBe(1);
    await expect(staying!.call("request", { event: "echo", args: ["still"] })).resolves.toBe("still");
  });

  it("a remote that falls silent (no pong) is released within heartbeatTimeout plus one interval", async () => {
    const { lab } = await startServer();
    const service = hostService(lab.url);
    const { port1, port2 } = new MessageChannel();
    cleanup.add(port2, (port) => port.close());
    // port2 is never read: nobody answers the pings.
    const started = Date.now();
    const served = exposeService(service, port1, { heartbeatInterval: 50, heartbeatTimeout: 300 });
    expect(hostStats(service).remotes).toBe(1);
    await expect.poll(() => served.closed, { timeout: 5_000, interval: 20 }).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(hostStats(service)).toMatchObject({ remotes: 0, statusSubscribed: false, serviceListeners: 0 });
  });
});

describe("the host going away", () => {
  it("shows in the remotes' status, rejects their pending requests, and they reattach to a new host", async () => {
    const { lab } = await startServer();
    const startHost = async () => {
      const host = await TestThread.start({ role: "host", url: lab.url, heartbeatInterval: 50, heartbeatTimeout: 500 });
      cleanup.add(host, (thread) => thread.terminate());
      return host;
    };
    let host = await startHost();
    const provider = (): MessagePort => {
      const { port1, port2 } = new MessageChannel();
      host.call("expose", { port: port1 }, [port1]).catch(() => {});
      return port2;
    };
    const remotes: RemoteService[] = [0, 1].map(() =>
      cleanup.add(connectToService(provider, { heartbeatTimeout: 500, reattachDelay: 50 }), (remote) => remote.dispose()),
    );
    const until = (check: (remote: RemoteService) => boolean) =>
      expect.poll(() => remotes.every(check), { timeout: 10_000, interval: 20 }).toBe(true);
    await until((remote) => remote.getStatus().state === "connected" && remote.host === "attached");
    const firstSocket = remotes[0]!.getStatus().socketId;
    await expect(remotes[0]!.request("echo", "before")).resolves.toBe("before");

    const pending = remotes[1]!.request("hold").then(
      () => null,
      (error: unknown) => error,
    );
    const lost = new Promise<void>((resolve) => {
      const off = remotes[0]!.subscribe(() => {
        if (remotes[0]!.host === "lost") {
          off();
          resolve();
        }
      });
    });
    await host.terminate();
    await lost;
    expect(await pending).toBeInstanceOf(Error);
    expect(String(await pending)).toMatch(/request "hold": the shared connection's host went away/);
    const status = remotes[0]!.getStatus();
    // The top-level state stays one of the six; the link is a flag of its own.
    expect(status).toMatchObject({ host: "lost", state: "connecting", isConnected: false, socketId: null });
    expect(status.lastError?.message).toMatch(/host is not reachable/);

    host = await startHost();
    await until((remote) => remote.getStatus().state === "connected" && remote.host === "attached");
    expect(remotes[0]!.getStatus().socketId).not.toBe(firstSocket);
    await expect(remotes[1]!.request("echo", "after")).resolves.toBe("after");
    await expect.poll(() => lab.openSockets(), { timeout: 5_000 }).toBe(1);
  });

  it("reattach(port) moves a remote to another host by hand; close() of the served port shows as lost at once", async () => {
    const { lab } = await startServer();
    const first = hostService(lab.url);
    const { port1, port2 } = new MessageChannel();
    const served = exposeService(first, port1);
    const remote = cleanup.add(connectToService(port2), (created) => created.dispose());
    await expect.poll(() => remote.getStatus().state, { timeout: 10_000 }).toBe("connected");
    served.close();
    await expect.poll(() => remote.host, { timeout: 2_000 }).toBe("lost");
    expect(remote.getStatus().lastError?.message).toMatch(/stopped serving/);

    const second = hostService(lab.url);
    const channel = new MessageChannel();
    exposeService(second, channel.port1);
    remote.reattach(channel.port2);
    await expect.poll(() => second.getStatus().state, { timeout: 10_000 }).toBe("connected");
    await expect.poll(() => remote.getStatus().socketId, { timeout: 10_000 }).toBe(second.getStatus().socketId);
    expect(remote.host).toBe("attached");
    expect(remote.getStatus().socketId).not.toBe(first.getStatus().socketId);
  });
});

describe("payloads", () => {
  it("refuses what does not clone, at the call, naming the culprit; nothing reaches the server", async () => {
    const { lab, chats } = await startServer();
    const service = hostService(lab.url);
    const [thread] = await startRemotes(1, (port) => exposeService(service, port));
    await thread!.untilStatus("connected");
    await expect(thread!.call("sendFunction", {})).rejects.toThrow(/send\("bad"\): args\[0\]\.onClick is a function/);

    const { port1, port2 } = new MessageChannel();
    exposeService(service, port1);
    const remote = cleanup.add(connectToService(port2), (created) => created.dispose());
    class Contact {
      constructor(readonly name: string) {}
    }
    expect(() => remote.send("chat", new Contact("alice"))).toThrow(TypeError);
    expect(() => remote.send("chat", new Contact("alice"))).toThrow(/args\[0\] is an instance of Contact/);
    expect(() => remote.send("chat", { id: Symbol("x") })).toThrow(/args\[0\]\.id is a symbol/);
    expect(() => remote.request("echo", [1, { deep: { handler: () => 1 } }])).toThrow(/args\[0\]\[1\]\.deep\.handler is a function/);
    expect(() => remote.requestWith({ timeout: 10, onTimeout: () => {} } as never, "echo")).toThrow(/options\.onTimeout is a function/);
    expect(() => remote.send("connect")).toThrow(/reserved/);
    // What does clone goes through (Date, typed arrays); a trailing function is the ack callback.
    const acked = new Promise<unknown[]>((resolve) => remote.send("echo", new Date(0), new Uint8Array([1, 2]), (...reply: unknown[]) => resolve(reply)));
    const reply = await acked;
    expect(reply[0]).toBe(new Date(0).toISOString());
    await remote.request("echo", "flush");
    expect(chats).toEqual([]);
  });
});

describe("coalescing: the host's cost per status change does not grow with the number of remotes", () => {
  it.each([1, 10, 50])("%i remotes: one serialisation per change, one post per remote", async (count) => {
    const { lab } = await startServer();
    // Not connected: nothing but the test's own notifications changes the status.
    const service = cleanup.add(createWebSocketService({ url: lab.url }), (created) => created.dispose());
    const remotes = Array.from({ length: count }, () => {
      const { port1, port2 } = new MessageChannel();
      exposeService(service, port1);
      return cleanup.add(connectToService(port2), (remote) => remote.dispose());
    });
    const allSee = (network: string) =>
      expect.poll(() => remotes.every((remote) => remote.host === "attached" && remote.getStatus().network === network), { timeout: 10_000, interval: 10 }).toBe(true);
    await allSee("online");
    const before = hostStats(service);
    const changes = 6;
    for (let index = 0; index < changes; index += 1) {
      if (index % 2 === 0) service.notifyOffline();
      else service.notifyOnline();
      await allSee(index % 2 === 0 ? "offline" : "online");
    }
    const after = hostStats(service);
    expect(after.statusChanges - before.statusChanges).toBe(changes);
    expect(after.serialisations - before.serialisations).toBe(changes);
    expect(after.statusPosts - before.statusPosts).toBe(changes * count);

    // Several changes in one turn go out as one update.
    const burst = hostStats(service);
    service.notifyOffline();
    service.notifyOnline();
    service.notifyOffline();
    await allSee("offline");
    const burstAfter = hostStats(service);
    expect(burstAfter.serialisations - burst.serialisations).toBe(1);
    expect(burstAfter.statusPosts - burst.statusPosts).toBe(count);
    expect(lab.connections).toBe(0);
  });
});
