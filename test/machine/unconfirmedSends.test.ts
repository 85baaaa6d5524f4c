import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UnconfirmedSends } from "../../src/machine/unconfirmedSends.js";

describe("UnconfirmedSends", () => {
  it("keeps sends in order and confirms the prefix emitted before an acked probe", () => {
    const log = new UnconfirmedSends();
    log.add("a", [1], 0);
    log.add("b", [2], 1);
    log.add("c", [3], 1);
    log.add("d", [4], 2);
    log.confirm(2); // probe 2 went out after a, b and c
    expect(log.drain()).toEqual([{ event: "d", args: [4] }]);
    expect(log.size).toBe(0);
  });

  it("forgets nothing unconfirmed, however many sends it holds", () => {
    const log = new UnconfirmedSends();
    for (let i = 0; i < 5000; i++) log.add(`e${i}`, [i], Math.floor(i / 1000));
    expect(log.size).toBe(5000);
    log.confirm(3); // the first 3000 were emitted before probe 3
    const left = log.drain();
    expect(left).toHaveLength(2000);
    expect(left[0]).toEqual({ event: "e3000", args: [3000] });
    expect(left.at(-1)).toEqual({ event: "e4999", args: [4999] });
  });

  it("matches a plain list model for any sequence of adds, confirms and clears", () => {
    type Op = { kind: "add"; bump: boolean } | { kind: "confirm"; back: number } | { kind: "clear" };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), bump: fc.boolean() }),
      fc.record({ kind: fc.constant("confirm" as const), back: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant("clear" as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 3000 }), (ops) => {
        const log = new UnconfirmedSends();
        let model: { event: string; args: unknown[]; mark: number }[] = [];
        let mark = 0;
        let n = 0;
        for (const step of ops) {
          if (step.kind === "add") {
            if (step.bump) mark += 1;
            const send = { event: `e${n++}`, args: [n], mark };
            log.add(send.event, send.args, send.mark);
            model.push(send);
          } else if (step.kind === "confirm") {
            const acked = Math.max(0, mark - step.back) + 1;
            log.confirm(acked);
            model = model.filter((send) => send.mark >= acked);
          } else {
            log.clear();
            model = [];
          }
          expect(log.size).toBe(model.length);
        }
        expect(log.drain()).toEqual(model.map(({ event, args }) => ({ event, args })));
      }),
      { numRuns: 200 },
    );
  });
});
