import { EventEmitter } from "node:events";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LabServer } from "../../lab/server.js";
import { connectToService, createWebSocketService, exposeService } from "../../src/index.js";
import { cloneProblem } from "../../src/shared/clone.js";
import { createCleanup } from "../support/events.js";

const cleanup = createCleanup();
afterEach(() => cleanup.run());

/**
 * Electron's MessagePortMain, by its documented shape: an EventEmitter whose "message" listeners
 * get `{ data, ports }`, that delivers nothing before start(), and emits "close". Carried here
 * over a real worker_threads port; electron itself is not started.
 */
class MessagePortMainShape extends EventEmitter {
  #started = false;
  readonly #held: unknown[] = [];
  constructor(readonly inner: MessagePort) {
    super();
    inner.on("message", (data: unknown) => (this.#started ? this.emit("message", { data, ports: [] }) : this.#held.push(data)));
    inner.on("close", () => this.emit("close"));
  }
  postMessage(message: unknown): void {
    this.inner.postMessage(message);
  }
  start(): void {
    this.#started = true;
    for (const data of this.#held.splice(0)) this.emit("message", { data, ports: [] });
  }
  close(): void {
    this.inner.close();
  }
}

describe("the port adapter", () => {
  it("serves over an Electron-shaped MessagePortMain (on('message', { data }), start()) and sees its close", async () => {
    const lab = cleanup.add(await LabServer.start(), (server) => server.close());
    const service = cleanup.add(createWebSocketService({ url: lab.url, autoConnect: true }), (created) => created.dispose());
    const { port1, port2 } = new MessageChannel();
    const hostEnd = new MessagePortMainShape(port1);
    const served = exposeService(service, hostEnd);
    const remote = cleanup.add(connectToService(port2), (created) => created.dispose());
    await expect.poll(() => remote.getStatus().state, { timeout: 10_000 }).toBe("connected");
    expect(remote.getStatus().socketId).toBe(service.getStatus().socketId);
    remote.dispose();
    await expect.poll(() => served.closed, { timeout: 5_000 }).toBe(true);
  });

  it("refuses what is not a port, naming the argument", () => {
    const service = cleanup.add(createWebSocketService({ url: "http://127.0.0.1:9" }), (created) => created.dispose());
    expect(() => exposeService(service, {} as never)).toThrow(/exposeService: port must be a message port/);
    expect(() => connectToService(42 as never)).toThrow(/connectToService: port must be a message port .* got a number/);
    expect(() => exposeService({ on() {} } as never, new MessageChannel().port1)).toThrow(/exposeService: service has no getStatusSnapshot, subscribe/);
    expect(() => connectToService(() => new MessageChannel().port1, { heartbeatTimeout: -1 })).toThrow(/heartbeatTimeout must be a number of ms greater than 0, got -1/);
  });
});

describe("cloneProblem", () => {
  class Point {
    x = 1;
  }
  it.each([
    [{ a: 1, b: [true, null, "s", 2n] }, null],
    [[new Date(), /x/, new Map([[1, { y: 2 }]]), new Set([1]), new Uint8Array(2), new ArrayBuffer(1), new Error("e")], null],
    [{ cycle: null as unknown }, null],
    [() => 1, "args is a function"],
    [{ a: { b: [0, Symbol("s")] } }, "args.a.b[1] is a symbol"],
    [{ "odd key": new Point() }, 'args["odd key"] is an instance of Point'],
    [new Map([["k", () => 1]]), "args.get(…)[0] is a function"],
    [{ [Symbol("k")]: 1 }, "args has a symbol-keyed property"],
  ])("%o → %s", (value, expected) => {
    if (value && typeof value === "object" && "cycle" in value) value.cycle = value;
    const problem = cloneProblem(value, "args");
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toContain(expected);
  });
});

describe("commands", () => {
  it("reach the host's service with their arguments (setCallActive included); what the service refuses goes to onError", async () => {
    const lab = cleanup.add(await LabServer.start(), (server) => server.close());
    const service = cleanup.add(createWebSocketService({ url: lab.url }), (created) => created.dispose());
    const methods = ["connect", "disconnect", "notifyOffline", "notifyOnline", "notifyResume", "setAuthToken", "setCallActive", "sendWith"] as const;
    const spies = Object.fromEntries(methods.map((method) => [method, vi.spyOn(service, method)]));
    const { port1, port2 } = new MessageChannel();
    exposeService(service, port1);
    const errors: [string, string][] = [];
    const remote = cleanup.add(connectToService(port2, { onError: (error, method) => errors.push([method, `${error.name}: ${error.message}`]) }), (created) => created.dispose());
    remote.connect();
    remote.notifyOffline();
    remote.notifyOnline();
    remote.notifyResume();
    remote.setAuthToken("token-1234");
    remote.setCallActive(true);
    remote.sendWith({ ttl: 500 }, "presence", { away: true });
    remote.disconnect();
    remote.sendWith({ ttl: -1 }, "presence");
    await expect.poll(() => errors, { timeout: 5_000 }).toHaveLength(1);
    expect(errors[0]![0]).toBe("sendWith");
    expect(errors[0]![1]).toMatch(/^TypeError: .*ttl/);
    for (const method of methods) expect(spies[method], method).toHaveBeenCalled();
    expect(spies.setAuthToken).toHaveBeenCalledWith("token-1234");
    expect(spies.setCallActive).toHaveBeenCalledWith(true);
    expect(spies.sendWith).toHaveBeenCalledWith({ ttl: 500 }, "presence", { away: true });
    expect(service.getStatus().state).toBe("idle");
  });
});
