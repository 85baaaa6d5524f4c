import type { MessagePortMain } from "electron";
import { MessageChannel as NodeMessageChannel, type MessagePort as NodeMessagePort } from "node:worker_threads";
import { describe, expectTypeOf, it } from "vitest";
import type { MessagePortLike, RemoteService, RemoteStatus, ServiceApi, WebSocketService, WebSocketStatus } from "../../src/index.js";
import type { WebSocketProviderProps } from "../../src/react/index.js";

describe("the shared connection's types", () => {
  it("takes the three kinds of port: DOM MessagePort, worker_threads MessagePort, Electron MessagePortMain", () => {
    expectTypeOf<MessagePort>().toExtend<MessagePortLike>();
    expectTypeOf<NodeMessagePort>().toExtend<MessagePortLike>();
    expectTypeOf<MessagePortMain>().toExtend<MessagePortLike>();
    expectTypeOf(new NodeMessageChannel().port1).toExtend<MessagePortLike>();
    expectTypeOf<{ postMessage(message: unknown): void }>().not.toExtend<MessagePortLike>();
  });

  it("the real service and the remote both implement ServiceApi, which the React layer accepts", () => {
    expectTypeOf<WebSocketService>().toExtend<ServiceApi>();
    expectTypeOf<RemoteService>().toExtend<ServiceApi>();
    expectTypeOf<RemoteService>().toExtend<WebSocketProviderProps["service"]>();
    expectTypeOf<RemoteStatus>().toExtend<WebSocketStatus>();
    expectTypeOf<RemoteStatus["host"]>().toEqualTypeOf<"attaching" | "attached" | "lost">();
    expectTypeOf<ServiceApi>().not.toHaveProperty("actor");
  });
});
