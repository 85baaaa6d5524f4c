import { describe, expectTypeOf, it } from "vitest";
import type { Actor, SnapshotFrom } from "xstate";
import {
  computeBackoffDelay,
  computeHealthScore,
  connectionMachine,
  createWebSocketService,
  DEFAULT_CONFIG,
  type ConnectionConfig,
  type ConnectionQuality,
  type EmittedEvent,
  type ErrorInfo,
  type JitterStrategy,
  type ServiceEventMap,
  type ServiceEventName,
  type TopLevelState,
  WebSocketService,
  type WebSocketServiceOptions,
  type WebSocketStatus,
} from "../../src/index.js";

// Compile-time checks: `npx tsc -p tsconfig.json` fails when the public types drift.
// The `it` bodies never run anything that connects.

describe("public API types", () => {
  it("the contract's events carry the contract's payloads", () => {
    expectTypeOf<ServiceEventMap["connection:connected"]>().toEqualTypeOf<{ socketId: string; recovered: boolean; server: string }>();
    expectTypeOf<ServiceEventMap["connection:disconnected"]>().toEqualTypeOf<{ reason: string }>();
    expectTypeOf<ServiceEventMap["connection:failed"]>().toEqualTypeOf<{ attempt: number; error: ErrorInfo; server: string }>();
    expectTypeOf<ServiceEventMap["connection:reconnecting"]>().toEqualTypeOf<{ attempt: number; delay: number; server: string }>();
    expectTypeOf<ServiceEventMap["connection:reconnected"]>().toEqualTypeOf<{ attempts: number; recovered: boolean }>();
    expectTypeOf<ServiceEventMap["connection:max_attempts_reached"]>().toEqualTypeOf<{ attempts: number }>();
    expectTypeOf<ServiceEventMap["connection:auth_failed"]>().toEqualTypeOf<{ error: ErrorInfo }>();
    expectTypeOf<ServiceEventMap["connection:health_degraded"]>().toEqualTypeOf<{
      healthScore: number;
      consecutiveFailures: number;
    }>();
    expectTypeOf<ServiceEventMap["connection:health_check"]>().toMatchTypeOf<{ healthScore: number; healthy: boolean }>();
    expectTypeOf<ServiceEventMap["connection:health_check"]["quality"]>().toEqualTypeOf<ConnectionQuality>();
    expectTypeOf<ServiceEventMap["message"]>().toEqualTypeOf<{ event: string; args: unknown[] }>();
    expectTypeOf<ServiceEventMap["message:dropped"]>().toMatchTypeOf<{ event: string; reason: string }>();
    expectTypeOf<"overflow" | "expired" | "disposed">().toExtend<ServiceEventMap["message:dropped"]["reason"]>();
    expectTypeOf<ErrorInfo>().toEqualTypeOf<{ message: string; data?: unknown }>();
    expectTypeOf<"unencodable">().toExtend<ServiceEventMap["message:dropped"]["reason"]>();
  });

  it("every contract event name is a ServiceEventName", () => {
    expectTypeOf<
      | "connection:connected"
      | "connection:disconnected"
      | "connection:failed"
      | "connection:reconnecting"
      | "connection:reconnected"
      | "connection:max_attempts_reached"
      | "connection:auth_required"
      | "connection:auth_failed"
      | "connection:health_degraded"
      | "connection:health_check"
      | "message"
      | "message:dropped"
    >().toExtend<ServiceEventName>();
  });

  it("the machine's emitted events are the payloads tagged with their type", () => {
    expectTypeOf<Extract<EmittedEvent, { type: "connection:failed" }>>().toEqualTypeOf<
      { type: "connection:failed" } & { attempt: number; error: ErrorInfo; server: string }
    >();
  });

  it("on() types the listener's payload by event name", () => {
    type On = WebSocketService["on"];
    expectTypeOf<Parameters<On>[0]>().toEqualTypeOf<ServiceEventName>();
    const check = (service: WebSocketService) => {
      service.on("connection:reconnecting", (payload) => {
        expectTypeOf(payload).toEqualTypeOf<{ attempt: number; delay: number; server: string }>();
      });
      service.on("message:dropped", (payload) => {
        expectTypeOf(payload.event).toEqualTypeOf<string>();
      });
      // @ts-expect-error an unknown event name
      service.on("connection:exploded", () => {});
      // @ts-expect-error a listener expecting another event's payload
      service.on("connection:connected", (payload: { reason: string }) => payload);
      expectTypeOf(service.on("message", () => {})).toEqualTypeOf<() => void>();
    };
    expectTypeOf(check).toBeFunction();
  });

  it("the service's methods", () => {
    expectTypeOf(createWebSocketService).parameter(0).toEqualTypeOf<WebSocketServiceOptions>();
    expectTypeOf(createWebSocketService).returns.toEqualTypeOf<WebSocketService>();
    expectTypeOf<WebSocketService["connect"]>().returns.toBeVoid();
    expectTypeOf<WebSocketService["disconnect"]>().returns.toBeVoid();
    expectTypeOf<WebSocketService["forceReconnection"]>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<WebSocketService["send"]>().parameters.toEqualTypeOf<[event: string, ...args: unknown[]]>();
    expectTypeOf<WebSocketService["getStatus"]>().returns.toEqualTypeOf<WebSocketStatus>();
    expectTypeOf<WebSocketService["getHealthScore"]>().returns.toBeNumber();
    expectTypeOf<WebSocketService["setAuthToken"]>().parameters.toEqualTypeOf<[token: string]>();
    expectTypeOf<WebSocketService["notifyOnline"]>().returns.toBeVoid();
    expectTypeOf<WebSocketService["notifyOffline"]>().returns.toBeVoid();
    expectTypeOf<WebSocketService["notifyResume"]>().returns.toBeVoid();
    expectTypeOf<WebSocketService["dispose"]>().returns.toBeVoid();
    expectTypeOf<WebSocketService["actor"]>().toEqualTypeOf<Actor<typeof connectionMachine>>();
  });

  it("the options: url required, the rest optional", () => {
    expectTypeOf<{ url: string }>().toExtend<WebSocketServiceOptions>();
    expectTypeOf<{ path: string }>().not.toExtend<WebSocketServiceOptions>();
    expectTypeOf<WebSocketServiceOptions["config"]>().toEqualTypeOf<Partial<ConnectionConfig> | undefined>();
    expectTypeOf<{ url: string; auth: () => Promise<string> }>().toExtend<WebSocketServiceOptions>();
    expectTypeOf<{ url: string; auth: { token: string } }>().toExtend<WebSocketServiceOptions>();
    expectTypeOf<{ url: string; random: () => number }>().toExtend<WebSocketServiceOptions>();
  });

  it("getStatus() has at least the contract's fields", () => {
    expectTypeOf<WebSocketStatus>().toMatchTypeOf<{
      state: TopLevelState;
      isConnected: boolean;
      attempt: number;
      maxAttempts: number;
      nextRetryAt: number | null;
      nextRetryDelay: number | null;
      healthScore: number;
      quality: ConnectionQuality;
      consecutiveFailures: number;
      latency: number | null;
      lastError: { message: string; data?: unknown } | null;
      network: "online" | "offline";
      jitterStrategy: JitterStrategy | "custom";
      recovered: boolean;
    }>();
    expectTypeOf<TopLevelState>().toEqualTypeOf<
      "idle" | "connecting" | "connected" | "backingOff" | "authRequired" | "exhausted"
    >();
  });

  it("the pure helpers and the defaults", () => {
    expectTypeOf(computeBackoffDelay).returns.toBeNumber();
    expectTypeOf(computeBackoffDelay).parameter(0).toBeNumber();
    expectTypeOf(computeBackoffDelay).parameter(2).toEqualTypeOf<(() => number) | undefined>();
    expectTypeOf(computeHealthScore).returns.toBeNumber();
    expectTypeOf(DEFAULT_CONFIG).toEqualTypeOf<Readonly<ConnectionConfig>>();
    expectTypeOf<JitterStrategy>().toExtend<string>();
    expectTypeOf<"additive">().toExtend<JitterStrategy>();
  });

  it("the machine's snapshot value names the six top-level states", () => {
    type Value = SnapshotFrom<typeof connectionMachine>["value"];
    const topOf = (value: Value) => (typeof value === "string" ? value : Object.keys(value)[0]);
    expectTypeOf(topOf).toBeFunction();
    const matches = (snapshot: SnapshotFrom<typeof connectionMachine>) =>
      snapshot.matches("idle") || snapshot.matches("backingOff") || snapshot.matches("authRequired");
    expectTypeOf(matches).returns.toBeBoolean();
  });
});
