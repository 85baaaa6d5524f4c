import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UnconfirmedSends } from "../../src/machine/unconfirmedSends.js";

describe("UnconfirmedSends", () => {
  it("keeps sends in order and confirms the prefix emitted before an acked heartbeat", () => {
    const log = new UnconfirmedSends(10);
    log.add("a", [1], 0);
    log.add("b", [2], 1);
    log.add("c", [3], 1);
    log.add("d", [4], 2);
    log.confirm(2); // heartbeat 2 went out after a, b and c
    expect(log.drain()).toEqual([{ event: "d", args: [4] }]);
    expect(log.size).toBe(0);
  });

  it("forgets the oldest when full", () => {
    const log = new UnconfirmedSends(2);
    log.add("a", [], 0);
    log.add("b", [], 0);
    log.add("c", [], 0);
    expect(log.drain().map((send) => send.event)).toEqual(["b", "c"]);
  });

  it("rejects a capacity that is not a positive integer", () => {
    expect(() => new UnconfirmedSends(0)).toThrow(RangeError);
    expect(() => new UnconfirmedSends(1.5)).toThrow(/capacity/);
  });

  it("matches a plain list model for any sequence of adds, confirms and clears", () => {
    type Op = { kind: "add"; bump: boolean } | { kind: "confirm"; back: number } | { kind: "clear" };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), bump: fc.boolean() }),
      fc.record({ kind: fc.constant("confirm" as const), back: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant("clear" as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const log = new UnconfirmedSends(capacity);
        let model: { event: string; args: unknown[]; afterSeq: number }[] = [];
        let seq = 0;
        let n = 0;
        for (const step of ops) {
          if (step.kind === "add") {
            if (step.bump) seq += 1;
            const send = { event: `e${n++}`, args: [n], afterSeq: seq };
            log.add(send.event, send.args, send.afterSeq);
            model = [...model, send].slice(-capacity);
          } else if (step.kind === "confirm") {
            const acked = Math.max(0, seq - step.back) + 1;
            log.confirm(acked);
            model = model.filter((send) => send.afterSeq >= acked);
          } else {
            log.clear();
            model = [];
          }
          expect(log.size).toBe(model.length);
        }
        expect(log.drain()).toEqual(model.map(({ event, args }) => ({ event, args })));
      }),
    );
  });
});
