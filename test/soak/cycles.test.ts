import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import type { LabServer } from "../../lab/server.js";
import { activeResources, eventually, waitForEvent } from "../support/events.js";
import { integrationRig } from "../support/integration.js";
import { scaled } from "../support/scale.js";

/**
 * Soak: one service, many connect → connected → disconnect → idle cycles against a real
 * Socket.IO server on 127.0.0.1. What a cycle leaves behind must not accumulate: retained
 * heap, handles (sockets, timers), server-side sockets.
 */

const CYCLES = scaled(300, 10_000);
/**
 * Cycles before the first heap reading. Outside the test runner (a tsx script doing the same
 * cycles), heap after gc grows ~1.4 MB over the first ~2,000 cycles (JIT code, V8's inline
 * caches and pools warming up) and then stays flat within ±0.3 MB up to 30,000 cycles.
 */
const WARM_UP = scaled(300, 2_000);

/**
 * Retained-heap bound over the measured cycles, after the warm-up, with full GCs before each
 * reading. Measured in this runner on this machine (Node 20): +0.07 to +0.09 MB for the quick
 * size, -0.14 and -0.12 MB for 10,000 cycles after 2,000 warm-up (with only 500 warm-up
 * cycles it read +1.1 MB: the tail of the warm-up); bench/overhead.ts finds ~0.2 MB over
 * 10,000. 2 MB (2,097,152 B) is well clear of that noise, and a leak of 250 bytes per cycle
 * (one small closure or listener kept per connection) over 10,000 cycles exceeds it (2.5 MB,
 * with 0.2 MB of noise to spare); for the quick size the bound only catches gross leaks
 * (~7 kB per cycle).
 */
const HEAP_GROWTH_BOUND = 2 * 1024 * 1024;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * The lab server keeps every handshake's token and query (`seenTokens`, `seenQueries`), for
 * tests that inspect them: ~100 bytes per cycle that belong to the test harness, not to the
 * service. Emptied before each heap reading so that the reading is about the service.
 */
function forgetHandshakes(server: LabServer): void {
  server.seenTokens.length = 0;
  server.seenQueries.length = 0;
}

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** Active resources by kind ("TCPSocketWrap": 2, ...), for comparisons that ignore order. */
function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of activeResources()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * The kinds of which there are more now than in `reference`. The test runner has timers of
 * its own that come and go (a `Timeout` present at the start may be gone at the end), so
 * "back to baseline" means: no kind above its count in the reference.
 */
function excessOver(reference: Record<string, number>): Record<string, number> {
  const excess: Record<string, number> = {};
  for (const [kind, count] of Object.entries(resourceCounts())) {
    if (count > (reference[kind] ?? 0)) excess[kind] = count - (reference[kind] ?? 0);
  }
  return excess;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

const rig = integrationRig();

describe(`${CYCLES} connect/disconnect cycles of one service against a real server`, () => {
  it("keep heap growth bounded, return every handle, and leave no socket open on the server", async () => {
    const started = Date.now();
    const baseline = resourceCounts();
    const server = await rig.startServer();
    const service = rig.service({ url: server.url });

    const cycle = async () => {
      const connected = waitForEvent(service, "connection:connected");
      service.connect();
      await connected;
      service.disconnect();
      // Not expect(): the runner keeps per-assertion state, which would show in the heap readings.
      const { state } = service.getStatus();
      if (state !== "idle") throw new Error(`after disconnect(): ${state}, not idle`);
    };

    for (let i = 0; i < WARM_UP; i++) await cycle();
    const warmUpMs = Date.now() - started;
    // The server closes its side of the last socket a moment after the client's goodbye.
    await eventually(() => expect(server.openSockets()).toBe(0));
    const connectionsBefore = server.connections;
    forgetHandshakes(server);
    const heapBefore = heapAfterGc();
    const handlesBefore = resourceCounts();

    const samples: { cycle: number; heap: number }[] = [];
    const every = Math.max(1, Math.floor(CYCLES / 10));
    for (let i = 1; i <= CYCLES; i++) {
      await cycle();
      if (i % every === 0 && i < CYCLES) {
        forgetHandshakes(server);
        samples.push({ cycle: i, heap: heapAfterGc() });
      }
    }

    await eventually(() => expect(server.openSockets()).toBe(0));
    // Closed sockets release their handles on a later tick: wait for the counts to settle.
    await eventually(() => expect(excessOver(handlesBefore)).toEqual({}));
    const handlesAfter = resourceCounts();
    forgetHandshakes(server);
    const heapAfter = heapAfterGc();
    const growth = heapAfter - heapBefore;
    const cyclesMs = Date.now() - started;

    // Server side: one connection per cycle, one socket at a time, none left.
    expect(server.connections - connectionsBefore).toBe(CYCLES);
    expect(server.connections).toBe(CYCLES + WARM_UP);
    expect(server.peakOpen).toBe(1);
    expect(server.openSockets()).toBe(0);

    service.dispose();
    await server.close();
    await eventually(() => expect(excessOver(baseline)).toEqual({}));

    console.log(
      [
        `cycles: ${CYCLES} measured after ${WARM_UP} warm-up (${warmUpMs} ms), ${cyclesMs} ms wall in all (${(cyclesMs / (CYCLES + WARM_UP)).toFixed(2)} ms per cycle)`,
        `heap after gc: ${mb(heapBefore)} -> ${mb(heapAfter)}, growth ${mb(growth)} (bound ${mb(HEAP_GROWTH_BOUND)})`,
        `heap samples: ${samples.map((sample) => `${sample.cycle}: ${mb(sample.heap)}`).join(", ")}`,
        `handles: after warm-up ${JSON.stringify(handlesBefore)}, after the cycles ${JSON.stringify(handlesAfter)}; before the test ${JSON.stringify(baseline)}, after dispose and server close ${JSON.stringify(resourceCounts())}`,
        `server: ${server.connections} connections, peak open ${server.peakOpen}`,
      ].join("\n"),
    );
    expect(growth).toBeLessThan(HEAP_GROWTH_BOUND);
  });
});
