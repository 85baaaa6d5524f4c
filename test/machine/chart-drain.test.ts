import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/machine/config.js";
import type { ConnectionMachineInput } from "../../src/machine/connectionMachine.js";
import { runFor, startChart } from "../support/fakeSocket.js";

/**
 * Planned restarts (`softphone:drain`, the server companion's drainServer): the notice fixes
 * this client's moment to come back (a draw in the window, or its slot), the loss that follows
 * is not a failure, and the retry goes out at that moment, to the next server when there are
 * several. Production chart, fake socket, simulated time.
 */

const A = "https://a.example";
const B = "https://b.example";

type Chart = ReturnType<typeof startChart>;

function connected(input: ConnectionMachineInput = {}, options: Parameters<typeof startChart>[1] = {}): Chart {
  const chart = startChart(input, options);
  chart.actor.send({ type: "connect" });
  chart.socket.connect();
  return chart;
}

describe("the notice", () => {
  it.each([
    { random: 0, delay: 2000 },
    { random: 0.5, delay: 2500 },
    { random: 0.999, delay: 2999 },
  ])("random $random: comes back at reconnectAfter + random · windowMs = $delay", ({ random, delay }) => {
    const chart = connected({}, { random: () => random });
    chart.socket.drainNotice({ reconnectAfter: 2000, windowMs: 1000 });
    expect(chart.emittedOf("connection:restarting")).toEqual([
      { type: "connection:restarting", server: "http://127.0.0.1", delay, windowMs: 1000 },
    ]);
    // The link stays until the server closes it.
    expect(chart.status()).toMatchObject({ state: "connected", restarting: true });
    expect(chart.socket.opens()).toBe(1);
  });

  it.each([
    { slot: 0, delay: 2000 },
    { slot: 300, delay: 2300 },
    // A slot past the window is held to the window.
    { slot: 5000, delay: 3000 },
  ])("slot $slot: exactly $delay, whatever random draws", ({ slot, delay }) => {
    const chart = connected({}, { random: () => 0.9 });
    chart.socket.drainNotice({ reconnectAfter: 2000, windowMs: 1000, slot });
    expect(chart.emittedOf("connection:restarting")[0]).toMatchObject({ delay });
  });

  it("in a call the return is capped at callMaxDelay", () => {
    const chart = connected();
    chart.actor.send({ type: "call.set", active: true });
    chart.socket.drainNotice({ reconnectAfter: 10_000, windowMs: 5000 });
    expect(chart.emittedOf("connection:restarting")[0]).toMatchObject({ delay: DEFAULT_CONFIG.callMaxDelay });
    chart.socket.drop("transport close");
    expect(chart.context().nextRetryDelay).toBe(DEFAULT_CONFIG.callMaxDelay);
  });

  it("a notice of an older socket is ignored", () => {
    const chart = connected();
    chart.socket.drop("transport close");
    runFor(chart.clock, chart.context().nextRetryDelay!);
    chart.socket.connect();
    chart.socket.report({ type: "socket.drainNotice", generation: 1, reconnectAfter: 100, windowMs: 100, slot: null });
    expect(chart.emittedOf("connection:restarting")).toEqual([]);
    expect(chart.status().restarting).toBe(false);
  });
});

describe("the loss that follows", () => {
  it("is not a failure: backingOff with nothing counted, the retry at the moment the notice fixed", () => {
    const chart = connected();
    chart.socket.drainNotice({ reconnectAfter: 2000, windowMs: 1000 });
    runFor(chart.clock, 500);
    chart.socket.drop("transport close");
    expect(chart.state()).toBe("backingOff");
    expect(chart.context()).toMatchObject({ attempt: 0, backoffStep: 0, nextRetryDelay: 2000, nextRetryAt: 2500 });
    expect(chart.emittedOf("connection:failed")).toEqual([]);
    expect(chart.emittedOf("connection:disconnected")).toEqual([{ type: "connection:disconnected", reason: "transport close" }]);
    expect(chart.emittedOf("connection:reconnecting")).toEqual([
      { type: "connection:reconnecting", attempt: 1, delay: 2000, server: "http://127.0.0.1" },
    ]);
    expect(chart.context().lastError?.message).toMatch(/restarting/);
    runFor(chart.clock, 1999);
    expect(chart.socket.opens()).toBe(1);
    runFor(chart.clock, 1);
    expect(chart.socket.opens()).toBe(2);
  });

  it("after the moment has passed, the retry goes out at once", () => {
    const chart = connected();
    chart.socket.drainNotice({ reconnectAfter: 100, windowMs: 0 });
    runFor(chart.clock, 5000);
    chart.socket.drop("transport close");
    expect(chart.context().nextRetryDelay).toBe(0);
    runFor(chart.clock, 0);
    expect(chart.state()).toBe("connecting");
  });

  it('"io server disconnect" after a notice still reconnects', () => {
    const chart = connected();
    chart.socket.drainNotice({ reconnectAfter: 1000, windowMs: 0 });
    chart.socket.drop("io server disconnect");
    expect(chart.state()).toBe("backingOff");
    runFor(chart.clock, 1000);
    expect(chart.state()).toBe("connecting");
  });

  it('without a notice, "io server disconnect" still ends in idle', () => {
    const chart = connected();
    chart.socket.drop("io server disconnect");
    expect(chart.state()).toBe("idle");
  });

  it("a failure of the return counts as usual, from the first attempt", () => {
    const chart = connected();
    chart.socket.drainNotice({ reconnectAfter: 1000, windowMs: 0 });
    chart.socket.drop("transport close");
    runFor(chart.clock, 1000);
    chart.socket.fail();
    expect(chart.context()).toMatchObject({ attempt: 1, backoffStep: 1, nextRetryDelay: 750 });
    expect(chart.status().restarting).toBe(true);
  });
});

describe("restarting", () => {
  it("is true from the notice until connected again", () => {
    const chart = connected();
    expect(chart.status().restarting).toBe(false);
    chart.socket.drainNotice({ reconnectAfter: 1000, windowMs: 0 });
    chart.socket.drop("transport close");
    expect(chart.status().restarting).toBe(true);
    runFor(chart.clock, 1000);
    expect(chart.status().restarting).toBe(true);
    chart.socket.connect();
    expect(chart.status().restarting).toBe(false);
  });

  it("is forgotten by disconnect(), and by a give-up", () => {
    const chart = connected();
    chart.socket.drainNotice({ reconnectAfter: 1000, windowMs: 0 });
    chart.actor.send({ type: "disconnect" });
    expect(chart.status()).toMatchObject({ state: "idle", restarting: false });

    const exhausted = connected({ config: { maxReconnectAttempts: 1 } });
    exhausted.socket.drainNotice({ reconnectAfter: 1000, windowMs: 0 });
    exhausted.socket.drop("transport close");
    runFor(exhausted.clock, 1000);
    exhausted.socket.fail();
    expect(exhausted.status()).toMatchObject({ state: "exhausted", restarting: false });
  });
});

describe("with several servers", () => {
  it("the return goes to the next server, announced in the notice and on the loss", () => {
    const chart = connected({ url: [A, B] });
    chart.socket.drainNotice({ reconnectAfter: 1000, windowMs: 0 });
    expect(chart.emittedOf("connection:restarting")).toEqual([
      { type: "connection:restarting", server: B, delay: 1000, windowMs: 0 },
    ]);
    expect(chart.emittedOf("connection:server_changed")).toEqual([]);
    chart.socket.drop("transport close");
    expect(chart.emittedOf("connection:server_changed")).toEqual([
      { type: "connection:server_changed", from: A, to: B, reason: "drain" },
    ]);
    expect(chart.emittedOf("connection:reconnecting").at(-1)).toMatchObject({ server: B });
    runFor(chart.clock, 1000);
    // A backup's session is not the primary's: not offered, the servers do not share them.
    expect(chart.socket.lastOpen()).toMatchObject({ url: B, offerSession: false });
  });
});

describe("a forced reconnection after the notice", () => {
  it("forgets the planned return: the attempt is the person's, and a failure of it is an ordinary one", () => {
    const chart = connected({}, { random: () => 0.5 });
    chart.socket.drainNotice({ reconnectAfter: 20_000, windowMs: 1000 });
    expect(chart.status().restarting).toBe(true);
    chart.actor.send({ type: "forceReconnect", id: 1 });
    expect(chart.status()).toMatchObject({ state: "connecting", restarting: false });
    expect(chart.context().plannedReturnAt).toBeNull();
    chart.socket.fail("xhr poll error");
    // The backoff's draw (full jitter, step 1, random 0.5: 750 ms), not the 20.5 s of the notice.
    expect(chart.context()).toMatchObject({ attempt: 1, nextRetryDelay: 750 });
  });
});
