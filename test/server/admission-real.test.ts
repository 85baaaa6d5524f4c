import { describe, expect, it } from "vitest";
import { createAdmissionControl, type AdmissionRefusalData } from "../../src/server/index.js";
import { serverRig } from "./support.js";

const rig = serverRig();

describe("createAdmissionControl on a real Socket.IO server, real time", () => {
  it("a storm of plain clients that honour retryAfter/retryWindow: the rate holds, everyone gets in, almost all on their first return", async () => {
    const server = await rig.start();
    const perSecond = 10;
    const burst = 5; // slots of 500 ms: a first wave slowed by a loaded machine still fits in one
    const admission = createAdmissionControl({ perSecond, burst });
    server.io.use(admission);
    const admittedAt: number[] = [];
    server.io.use((_socket, next) => {
      admittedAt.push(performance.now());
      next();
    });

    const count = 30;
    const refusals = new Array<number>(count).fill(0);
    const refusalData: AdmissionRefusalData[] = [];
    const messages: string[] = [];
    // Each client is a plain socket.io-client that, when refused, comes back at a moment drawn
    // from its window (what @softphone/websocket does with the hint).
    const allIn = Promise.all(
      Array.from({ length: count }, (_, index) => {
        const client = rig.client(server.url);
        return new Promise<void>((resolve) => {
          client.on("connect", () => resolve());
          client.on("connect_error", (error: Error & { data?: AdmissionRefusalData }) => {
            refusals[index] = (refusals[index] ?? 0) + 1;
            messages.push(error.message);
            const data = error.data!;
            refusalData.push(data);
            setTimeout(() => client.connect(), data.retryAfter + Math.random() * data.retryWindow);
          });
        });
      }),
    );
    await allIn;

    expect(admittedAt).toHaveLength(count);
    expect(admission.stats()).toMatchObject({ admitted: count, refused: refusalData.length });
    for (const data of refusalData) {
      expect(data.reason).toBe("admission");
      expect(data.retryAfter).toBeGreaterThan(0);
      expect(data.retryAfter).toBeLessThan(count * (1000 / perSecond) + 1000);
      expect(data.retryWindow).toBeGreaterThanOrEqual(0);
      expect(data.retryWindow).toBeLessThanOrEqual(500);
    }
    for (const message of messages) expect(message).toMatch(/^server busy: retry after \d+ ms/);
    // The middleware's own bound is perSecond + burst in any sliding second (the recorder runs
    // in the same tick); one more burst of slack.
    for (const start of admittedAt) {
      expect(admittedAt.filter((time) => time >= start && time < start + 1000).length).toBeLessThanOrEqual(perSecond + 2 * burst);
    }
    // 30 at 5 per 500-ms slot take 6 slots: the last is in at least 4 whole slots after the first.
    expect(Math.max(...admittedAt) - Math.min(...admittedAt)).toBeGreaterThanOrEqual(2000);
    // A client is refused again only if its return landed outside its slot (a slow machine) or
    // the first wave was still arriving in its slot (docs/server.md): a few at most.
    expect(refusals.filter((times) => times > 1).length, `refusals per client: ${refusals.join(",")}`).toBeLessThanOrEqual(count / 5);
  }, 30_000);
});
