import { describe, expect, it } from "vitest";
import { LabServer } from "../../lab/server.js";
import { DEFAULT_CONFIG, computeBackoffDelay, computeRetryAfterDelay } from "../../src/index.js";
import { recordEvents, waitForEvent, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

const { cleanup, service } = integrationRig();

const fast = FAST_RETRY;

describe("a server shedding load with retryAfter", () => {
  it("makes the next attempt wait at least retryAfter, spread across clients; shedLoad(null) lets them in", async () => {
    const server = cleanup.add(await LabServer.start(), (started) => started.close());
    server.shedLoad({ retryAfter: 800 });
    const draws = [0.05, 0.3, 0.55, 0.8, 0.97];
    const clients = draws.map((r) => ({
      r,
      ws: service({ url: server.url, config: fast, random: () => r }),
    }));

    const scheduled = await Promise.all(
      clients.map(async ({ ws }) => {
        const failed = waitForEvent(ws, "connection:failed");
        const retry = waitForEvent(ws, "connection:reconnecting");
        ws.connect();
        const failure = await failed;
        const { attempt, delay } = await retry;
        return { failure, attempt, delay, at: Date.now() };
      }),
    );
    expect(server.refused).toBe(clients.length);

    const resolved = { ...DEFAULT_CONFIG, ...fast };
    scheduled.forEach(({ failure, attempt, delay }, index) => {
      const { r } = clients[index]!;
      expect(failure).toMatchObject({ attempt: 1, error: { message: "server busy", data: { retryAfter: expect.any(Number) } } });
      expect(attempt).toBe(1);
      expect(delay).toBeGreaterThanOrEqual(800);
      expect(delay).toBe(
        Math.round(
          Math.max(computeBackoffDelay(1, resolved, () => r), computeRetryAfterDelay(800, resolved, () => r)),
        ),
      );
      expect(clients[index]!.ws.getStatus()).toMatchObject({ state: "backingOff", nextRetryDelay: delay });
    });
    const delays = scheduled.map(({ delay }) => delay);
    expect(new Set(delays).size).toBe(delays.length);
    // Spread over a window as wide as the hint itself, not bunched at 800.
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(400);

    server.shedLoad(null);
    const reconnected = await Promise.all(
      clients.map(async ({ ws }) => {
        const payload = await waitForEvent(ws, "connection:reconnected");
        return { payload, at: Date.now() };
      }),
    );
    reconnected.forEach(({ payload, at }, index) => {
      expect(payload).toEqual({ attempts: 1, recovered: false });
      // Timers never fire early: connected no sooner than the scheduled delay.
      expect(at - scheduled[index]!.at).toBeGreaterThanOrEqual(scheduled[index]!.delay - 5);
    });
    for (const { ws } of clients) expect(ws.getStatus()).toMatchObject({ state: "connected", attempt: 0 });
    expect(server.connections).toBe(clients.length);
  });

  it("a rejection without retryAfter falls back to the backoff", async () => {
    const server = cleanup.add(await LabServer.start(), (started) => started.close());
    server.shedLoad({ retryAfter: null });
    const ws = service({ url: server.url, config: { ...fast, jitterStrategy: "additive" }, random: () => 0.5 });
    const retry = waitForEvent(ws, "connection:reconnecting");
    ws.connect();
    const { delay } = await retry;
    expect(delay).toBe(Math.round(computeBackoffDelay(1, { ...DEFAULT_CONFIG, ...fast, jitterStrategy: "additive" }, () => 0.5)));
    server.shedLoad(null);
    await waitForState(ws, "connected");
  });

  it("retryAfter only stretches the retry it came with", async () => {
    const server = cleanup.add(await LabServer.start(), (started) => started.close());
    const ws = service({ url: server.url, config: { ...fast, maxReconnectAttempts: 10 }, random: () => 0.5 });
    const log = recordEvents(ws, ["connection:reconnecting"]);
    server.shedLoad({ retryAfter: 300 });
    const second = waitForEvent(ws, "connection:reconnecting", { filter: ({ attempt }) => attempt === 2 });
    ws.connect();
    await second;
    // The second rejection hints again; switch the hint off for the third.
    server.shedLoad({ retryAfter: null });
    const third = waitForEvent(ws, "connection:reconnecting", { filter: ({ attempt }) => attempt === 3 });
    await third;
    server.shedLoad(null);
    await waitForState(ws, "connected");
    log.stop();
    const resolved = { ...DEFAULT_CONFIG, ...fast };
    const delays = log.of("connection:reconnecting").map(({ delay }) => delay);
    expect(delays.slice(0, 2).every((delay) => delay >= 300)).toBe(true);
    expect(delays[2]).toBe(Math.round(computeBackoffDelay(3, resolved, () => 0.5)));
    expect(delays[2]).toBeLessThan(300);
  });
});
