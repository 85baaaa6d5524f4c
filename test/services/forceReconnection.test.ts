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
