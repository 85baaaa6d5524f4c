import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createAdmissionControl, drainServer } from "../../src/server/index.js";
import { connected, serverRig } from "./support.js";

/**
 * The frames of docs/server.md's wire sketch, read off a raw WebSocket speaking Engine.IO 4 /
 * Socket.IO 5 by hand (what a client in another language does). `ws` comes with socket.io.
 */

const rig = serverRig();

interface RawClient {
  frames: string[];
  closed: Promise<number>;
  send(frame: string): void;
  /** Resolves with the first frame (from the start) that matches. */
  frame(match: RegExp): Promise<string>;
  close(): void;
}

function rawClient(url: string): RawClient {
  const socket = new WebSocket(`${url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`);
  const frames: string[] = [];
  const waiters = new Set<{ match: RegExp; resolve(frame: string): void }>();
  socket.on("message", (data: Buffer) => {
    const frame = data.toString();
    frames.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.match.test(frame)) {
        waiters.delete(waiter);
        waiter.resolve(frame);
      }
    }
  });
  const closed = new Promise<number>((resolve) => socket.on("close", (code: number) => resolve(code)));
  const open = new Promise<void>((resolve) => socket.on("open", () => resolve()));
  return {
    frames,
    closed,
    send: (frame) => void open.then(() => socket.send(frame)),
    frame: (match) => {
      const seen = frames.find((frame) => match.test(frame));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter)) reject(new Error(`no frame ${match} in ${JSON.stringify(frames)}`));
        }, 10_000);
      });
    },
    close: () => socket.close(),
  };
}

describe("the wire", () => {
  it("drain: 42[\"softphone:drain\",{...}] on the namespace, then the WebSocket closes", async () => {
    const server = await rig.start();
    const client = rawClient(server.url);
    await client.frame(/^0\{/); // Engine.IO OPEN
    client.send("40"); // Socket.IO CONNECT to "/"
    await client.frame(/^40\{"sid":/);
    const drained = drainServer(server.io, { reconnectAfterMs: 5000, windowMs: 30_000, slots: true, reason: "deploy" });
    const notice = await client.frame(/^42/);
    expect(notice).toBe('42["softphone:drain",{"version":1,"reconnectAfter":5000,"windowMs":30000,"slot":0,"reason":"deploy"}]');
    await drained;
    await client.closed;
    expect(client.frames.indexOf(notice)).toBe(client.frames.length - 1); // nothing after the notice
  });

  it("drain on another namespace: 42/admin,[...]", async () => {
    const server = await rig.start();
    server.io.of("/admin");
    const client = rawClient(server.url);
    await client.frame(/^0\{/);
    client.send("40/admin,");
    await client.frame(/^40\/admin,\{"sid":/);
    const drained = drainServer(server.io, { windowMs: 1000 });
    expect(await client.frame(/^42/)).toBe('42/admin,["softphone:drain",{"version":1,"reconnectAfter":100,"windowMs":1000,"slot":0}]');
    await drained;
  });

  it("admission refusal: 44{\"message\":...,\"data\":{\"retryAfter\":...,\"retryWindow\":...,\"reason\":\"admission\"}}", async () => {
    const server = await rig.start();
    server.io.use(createAdmissionControl({ perSecond: 1, burst: 1 }));
    const first = rig.client(server.url);
    await connected(first); // takes this second's only place
    const client = rawClient(server.url);
    await client.frame(/^0\{/);
    client.send("40");
    const refusal = await client.frame(/^44/);
    const parsed = JSON.parse(refusal.slice(2)) as { message: string; data: Record<string, unknown> };
    expect(Object.keys(parsed)).toEqual(["message", "data"]);
    expect(Object.keys(parsed.data)).toEqual(["retryAfter", "retryWindow", "reason"]);
    const { retryAfter, retryWindow } = parsed.data as { retryAfter: number; retryWindow: number };
    expect(parsed.message).toBe(`server busy: retry after ${retryAfter} ms (within ${retryWindow} ms)`);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(1000);
    // A 1000-ms slot less its margin, min(100, slotMs / 5) = 100 ms, rounded inwards to whole ms.
    expect([899, 900]).toContain(retryWindow);
    client.close();
  });
});
