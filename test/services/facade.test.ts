import { afterEach, describe, expect, it } from "vitest";
import { createWebSocketService, type WebSocketService } from "../../src/services/WebSocketService.js";

const services: WebSocketService[] = [];
afterEach(() => {
  for (const service of services.splice(0)) service.dispose();
});

describe("forceReconnection() promises", () => {
  it("reject for whoever awaits them, without an unhandled rejection for a call nobody awaits", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      // A static auth object without a token: the attempt ends in authRequired, no handshake.
      const service = createWebSocketService({ url: "http://127.0.0.1:9", auth: { token: "" } });
      services.push(service);
      void service.forceReconnection(); // fire and forget
      await expect(service.forceReconnection()).rejects.toThrow(/authRequired/);
      service.dispose();
      void service.forceReconnection();
      await expect(service.forceReconnection()).rejects.toThrow(/disposed/);
      // Unhandled rejections are reported after the microtask queue drains.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

describe("bad input to the facade's methods", () => {
  const make = () => {
    const service = createWebSocketService({ url: "http://127.0.0.1:9" });
    services.push(service);
    return service;
  };

  it("on() with an unknown event name throws a TypeError naming it", () => {
    const service = make();
    expect(() => service.on("connection:conected" as never, () => {})).toThrow(TypeError);
    expect(() => service.on("connection:conected" as never, () => {})).toThrow(/"connection:conected"/);
    expect(() => service.on("message", "not a function" as never)).toThrow(/listener must be a function/);
  });

  it("sendWith() with bad options throws a TypeError naming the option; nothing is queued", () => {
    const service = make();
    expect(() => service.sendWith(null as never, "note")).toThrow(/send options must be an object, got null/);
    expect(() => service.sendWith({ volatile: "yes" as never }, "note")).toThrow(/send options.volatile must be a boolean, got "yes"/);
    expect(() => service.sendWith({ ttl: -1 }, "note")).toThrow(/send options.ttl .* got -1/);
    expect(() => service.send("" as never)).toThrow(/event must be a non-empty string/);
    expect(service.getStatus().queuedMessages).toBe(0);
  });
});

describe("the inspect option", () => {
  it("receives the chart's inspection events (what the Stately inspector shows)", () => {
    const seen: string[] = [];
    const service = createWebSocketService({
      url: "http://127.0.0.1:9",
      auth: { token: "" },
      inspect: (event) => seen.push(event.type),
    });
    services.push(service);
    service.connect();
    expect(seen).toContain("@xstate.actor");
    expect(seen).toContain("@xstate.event");
    expect(seen).toContain("@xstate.snapshot");
    expect(service.getStatus().state).toBe("authRequired");
  });
});
