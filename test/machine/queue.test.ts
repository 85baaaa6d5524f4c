import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createQueue,
  drainMessages,
  earliestExpiry,
  type MessageQueue,
  messagesInOrder,
  pushMessage,
  queuedMessages,
  queueSize,
  removeRequest,
  shrinkQueue,
  takeExpired,
} from "../../src/machine/queue.js";
import type { QueuedMessage } from "../../src/machine/types.js";

let nextId = 1;
function message(event: string, expiresAt: number, ackId?: number): QueuedMessage {
  const id = nextId++;
  return { id, event, args: [id], queuedAt: 0, expiresAt, ...(ackId === undefined ? {} : { ackId }) };
}

/** Queues `messages` one by one with `capacity`, and returns the queue. */
function queueOf(messages: QueuedMessage[], capacity = Infinity): MessageQueue {
  let queue = createQueue();
  for (const queued of messages) queue = pushMessage(queue, queued, capacity).queue;
  return queue;
}

const events = (messages: readonly QueuedMessage[]) => messages.map((queued) => queued.event);
const ids = (messages: readonly QueuedMessage[]) => messages.map((queued) => queued.id);

describe("pushMessage", () => {
  it.each([
    { capacity: 3, pushed: ["a", "b"], queued: ["a", "b"], dropped: [[], []] },
    { capacity: 2, pushed: ["a", "b", "c", "d"], queued: ["c", "d"], dropped: [[], [], ["a"], ["b"]] },
    { capacity: 1, pushed: ["a", "b", "c"], queued: ["c"], dropped: [[], ["a"], ["b"]] },
    { capacity: 0, pushed: ["a", "b"], queued: [], dropped: [["a"], ["b"]] },
  ])("capacity $capacity: pushing $pushed keeps $queued", ({ capacity, pushed, queued, dropped }) => {
    let queue = createQueue();
    const droppedEach: string[][] = [];
    for (const event of pushed) {
      const result = pushMessage(queue, message(event, 1000), capacity);
      queue = result.queue;
      droppedEach.push(events(result.dropped));
    }
    expect(events(queuedMessages(queue))).toEqual(queued);
    expect(droppedEach).toEqual(dropped);
    expect(queueSize(queue)).toBe(queued.length);
  });

  it("an overflow skips messages that already left out of order", () => {
    let queue = queueOf([message("long", 900), message("short", 100), message("last", 900)]);
    queue = takeExpired(queue, 100).queue;
    expect(events(queuedMessages(queue))).toEqual(["long", "last"]);
    const first = pushMessage(queue, message("new", 900), 2);
    expect(events(first.dropped)).toEqual(["long"]);
    expect(events(queuedMessages(first.queue))).toEqual(["last", "new"]);
    const second = pushMessage(first.queue, message("newer", 900), 2);
    expect(events(second.dropped)).toEqual(["last"]);
    expect(events(queuedMessages(second.queue))).toEqual(["new", "newer"]);
  });
});

describe("earliestExpiry", () => {
  it.each([
    { expiries: [], earliest: null },
    { expiries: [500], earliest: 500 },
    { expiries: [500, 100, 300], earliest: 100 },
    { expiries: [100, 100, 200], earliest: 100 },
  ])("of $expiries is $earliest", ({ expiries, earliest }) => {
    expect(earliestExpiry(queueOf(expiries.map((at, i) => message(`m${i}`, at))))).toBe(earliest);
  });

  it("follows removals: overflow, expiry, timeout, drain", () => {
    let queue = queueOf([message("a", 100), message("b", 300, 7), message("c", 200)], 3);
    queue = pushMessage(queue, message("d", 400), 3).queue;
    expect(earliestExpiry(queue)).toBe(200);
    queue = takeExpired(queue, 250).queue;
    expect(earliestExpiry(queue)).toBe(300);
    queue = removeRequest(queue, 7).queue;
    expect(earliestExpiry(queue)).toBe(400);
    expect(earliestExpiry(drainMessages(queue).queue)).toBeNull();
  });
});

describe("takeExpired", () => {
  it.each([
    { at: 99, expired: [], kept: ["a", "b", "c", "d"] },
    { at: 100, expired: ["b"], kept: ["a", "c", "d"] },
    { at: 300, expired: ["a", "b", "d"], kept: ["c"] },
    { at: 1000, expired: ["a", "b", "c", "d"], kept: [] },
  ])("at $at takes $expired in queue order", ({ at, expired, kept }) => {
    const queue = queueOf([message("a", 300), message("b", 100), message("c", 500), message("d", 200)]);
    const result = takeExpired(queue, at);
    expect(events(result.expired)).toEqual(expired);
    expect(events(queuedMessages(result.queue))).toEqual(kept);
  });

  it.each([
    { limit: 1, expired: ["b"], kept: ["a", "c", "d"] },
    { limit: 2, expired: ["a", "b"], kept: ["c", "d"] }, // a and d expire together: a is older
    { limit: 3, expired: ["a", "b", "d"], kept: ["c"] },
    { limit: 0, expired: [], kept: ["a", "b", "c", "d"] },
  ])("with a limit of $limit takes the earliest expiries first: $expired", ({ limit, expired, kept }) => {
    const queue = queueOf([message("a", 300), message("b", 100), message("c", 500), message("d", 300)]);
    const result = takeExpired(queue, 1000, limit);
    expect(events(result.expired)).toEqual(expired);
    expect(events(queuedMessages(result.queue))).toEqual(kept);
  });

  it("returns the queue as it was when nothing expired", () => {
    const queue = queueOf([message("a", 300)]);
    expect(takeExpired(queue, 299).queue).toBe(queue);
  });
});

describe("removeRequest", () => {
  it.each([
    { ackId: 2, removed: "b", kept: ["a", "c"] },
    { ackId: 1, removed: "a", kept: ["b", "c"] },
    { ackId: 9, removed: undefined, kept: ["a", "b", "c"] },
  ])("ackId $ackId takes out $removed", ({ ackId, removed, kept }) => {
    const queue = queueOf([message("a", 100, 1), message("b", 100, 2), message("c", 100)]);
    const result = removeRequest(queue, ackId);
    expect(result.removed?.event).toBe(removed);
    expect(events(queuedMessages(result.queue))).toEqual(kept);
    if (removed === undefined) expect(result.queue).toBe(queue);
  });

  it("does not find a request that already left (overflow, expiry, drain)", () => {
    const overflowed = pushMessage(queueOf([message("a", 100, 1)], 1), message("b", 100), 1).queue;
    expect(removeRequest(overflowed, 1).removed).toBeUndefined();
    const expired = takeExpired(queueOf([message("a", 100, 1)]), 100).queue;
    expect(removeRequest(expired, 1).removed).toBeUndefined();
    const drained = drainMessages(queueOf([message("a", 100, 1)])).queue;
    expect(removeRequest(drained, 1).removed).toBeUndefined();
  });
});

describe("shrinkQueue", () => {
  it.each([
    { capacity: 3, kept: ["a", "b", "c"], dropped: [] },
    { capacity: 5, kept: ["a", "b", "c"], dropped: [] },
    { capacity: 2, kept: ["b", "c"], dropped: ["a"] },
    { capacity: 1, kept: ["c"], dropped: ["a", "b"] },
    { capacity: 0, kept: [], dropped: ["a", "b", "c"] },
    // A room below zero (more call messages held than maxQueueSize) leaves nothing.
    { capacity: -2, kept: [], dropped: ["a", "b", "c"] },
  ])("capacity $capacity keeps $kept and drops the oldest: $dropped", ({ capacity, kept, dropped }) => {
    const queue = queueOf([message("a", 300), message("b", 300), message("c", 300)]);
    const result = shrinkQueue(queue, capacity);
    expect(events(queuedMessages(result.queue))).toEqual(kept);
    expect(events(result.dropped)).toEqual(dropped);
    expect(queueSize(result.queue)).toBe(kept.length);
    // Nothing to drop: the same queue, not a copy.
    if (dropped.length === 0) expect(result.queue).toBe(queue);
  });

  it("skips messages that already left out of order, and leaves the older view as it was", () => {
    let queue = queueOf([message("long", 900), message("short", 100), message("mid", 900), message("last", 900)]);
    queue = takeExpired(queue, 100).queue;
    const result = shrinkQueue(queue, 1);
    expect(events(result.dropped)).toEqual(["long", "mid"]);
    expect(events(queuedMessages(result.queue))).toEqual(["last"]);
    expect(events(queuedMessages(queue))).toEqual(["long", "mid", "last"]);
  });

  it("a dropped request is no longer found; a kept one still is", () => {
    const queue = queueOf([message("a", 300, 1), message("b", 300, 2)]);
    const { queue: shrunk } = shrinkQueue(queue, 1);
    expect(removeRequest(shrunk, 1).removed).toBeUndefined();
    expect(removeRequest(shrunk, 2).removed?.event).toBe("b");
  });

  it("keeps the expiry order of what is left", () => {
    const queue = queueOf([message("a", 100), message("b", 400), message("c", 200)]);
    const { queue: shrunk } = shrinkQueue(queue, 2);
    expect(earliestExpiry(shrunk)).toBe(200);
    expect(events(takeExpired(shrunk, 200).expired)).toEqual(["c"]);
  });
});

describe("drainMessages", () => {
  it("gives every message in queue order and an empty queue", () => {
    let queue = queueOf([message("a", 300), message("b", 100), message("c", 200, 4)]);
    queue = takeExpired(queue, 100).queue;
    const { queue: empty, messages } = drainMessages(queue);
    expect(events(messages)).toEqual(["a", "c"]);
    expect(queueSize(empty)).toBe(0);
    expect(queuedMessages(empty)).toEqual([]);
    expect([...messagesInOrder(empty)]).toEqual([]);
  });
});

describe("as context data", () => {
  it("survives JSON: a parsed queue holds the same messages and goes on working", () => {
    let queue = queueOf([message("a", 300, 1), message("b", 100), message("c", 200)], 3);
    queue = takeExpired(queue, 100).queue;
    const parsed = JSON.parse(JSON.stringify(queue)) as MessageQueue;
    expect(queuedMessages(parsed)).toEqual(queuedMessages(queue));
    expect(earliestExpiry(parsed)).toBe(200);
    expect(removeRequest(parsed, 1).removed?.event).toBe("a");
    expect(events(queuedMessages(pushMessage(parsed, message("d", 400), 2).queue))).toEqual(["c", "d"]);
  });

  it("an older view keeps its messages, and a step from it does not touch the newer one", () => {
    const before = queueOf([message("a", 300, 1), message("b", 100)]);
    const after = pushMessage(removeRequest(before, 1).queue, message("c", 200), 2).queue;
    expect(events(queuedMessages(before))).toEqual(["a", "b"]);
    expect(earliestExpiry(before)).toBe(100);
    const branch = pushMessage(before, message("x", 50), 3).queue;
    expect(events(queuedMessages(branch))).toEqual(["a", "b", "x"]);
    expect(events(queuedMessages(after))).toEqual(["b", "c"]);
    expect(events(queuedMessages(pushMessage(after, message("d", 400), 2).queue))).toEqual(["c", "d"]);
    expect(events(queuedMessages(before))).toEqual(["a", "b"]);
  });

  it("stays within twice its size plus a constant (the log is compacted)", () => {
    let queue = createQueue();
    for (let i = 0; i < 10_000; i++) {
      queue = pushMessage(queue, message(`m${i}`, i % 7 === 0 ? i : 1e9, i), 50).queue;
      if (i % 3 === 0) queue = removeRequest(queue, i - 1).queue;
      queue = takeExpired(queue, i - 10).queue;
      expect(queue.log.messages.length).toBeLessThanOrEqual(2 * queueSize(queue) + 65);
      expect(queue.log.expiries.length / 2).toBeLessThanOrEqual(queue.log.messages.length);
    }
    expect(queueSize(queue)).toBeLessThanOrEqual(50);
  });
});

// --- against a naive model -------------------------------------------------------------------

/** The queue as the chart held it before: a plain array, copied on every change. */
class NaiveQueue {
  constructor(readonly messages: readonly QueuedMessage[] = []) {}

  push(queued: QueuedMessage, capacity: number): { next: NaiveQueue; dropped: QueuedMessage[] } {
    const messages = [...this.messages, queued];
    const dropped = messages.splice(0, Math.max(0, messages.length - capacity));
    return { next: new NaiveQueue(messages), dropped };
  }

  remove(ackId: number): { next: NaiveQueue; removed: QueuedMessage | undefined } {
    const removed = this.messages.find((queued) => queued.ackId === ackId);
    return { next: new NaiveQueue(this.messages.filter((queued) => queued !== removed)), removed };
  }

  expire(at: number, limit: number): { next: NaiveQueue; expired: QueuedMessage[] } {
    const taken = new Set(
      this.messages
        .map((queued, position) => ({ queued, position }))
        .filter(({ queued }) => queued.expiresAt <= at)
        .sort((a, b) => a.queued.expiresAt - b.queued.expiresAt || a.position - b.position)
        .slice(0, limit)
        .map(({ queued }) => queued),
    );
    return {
      next: new NaiveQueue(this.messages.filter((queued) => !taken.has(queued))),
      expired: this.messages.filter((queued) => taken.has(queued)),
    };
  }

  earliest(): number | null {
    return this.messages.reduce<number | null>((min, queued) => (min === null ? queued.expiresAt : Math.min(min, queued.expiresAt)), null);
  }
}

type Step =
  | { kind: "push"; ttl: number; request: boolean }
  | { kind: "advance"; ms: number }
  | { kind: "expire"; limit: number }
  | { kind: "remove"; pick: number }
  | { kind: "drain" }
  | { kind: "json" }
  | { kind: "branch"; pick: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  // Short and long TTLs mixed, so that messages often expire out of queue order.
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("push" as const),
      ttl: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 400 })),
      request: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 150 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant("expire" as const), limit: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 5 })) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: "drain" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "json" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("branch" as const), pick: fc.nat() }) },
);

describe("against a plain array (fast-check)", () => {
  it("holds the same messages, drops the same ones, in the same order; older views never change", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(0, 1, 2), fc.integer({ min: 3, max: 40 }), fc.constant(1000)),
        fc.array(stepArbitrary, { maxLength: 400, size: "max" }),
        (capacity, steps) => {
          let queue = createQueue();
          let model = new NaiveQueue();
          let now = 0;
          let ackIds = 0;
          /** Every view seen so far, with what it held then: none may change afterwards. */
          const history: { queue: MessageQueue; messages: readonly QueuedMessage[] }[] = [];
          for (const step of steps) {
            switch (step.kind) {
              case "push": {
                const queued = message("m", now + step.ttl, step.request ? ++ackIds : undefined);
                const actual = pushMessage(queue, queued, capacity);
                const expected = model.push(queued, capacity);
                expect(actual.dropped).toEqual(expected.dropped);
                queue = actual.queue;
                model = expected.next;
                break;
              }
              case "advance":
                now += step.ms;
                break;
              case "expire": {
                const actual = takeExpired(queue, now, step.limit);
                const expected = model.expire(now, step.limit);
                expect(actual.expired).toEqual(expected.expired);
                queue = actual.queue;
                model = expected.next;
                break;
              }
              case "remove": {
                // Mostly a request that may still be queued, sometimes one that never was.
                const ackId = ackIds === 0 ? 1 : (step.pick % (ackIds + 1)) + 1;
                const actual = removeRequest(queue, ackId);
                const expected = model.remove(ackId);
                expect(actual.removed).toEqual(expected.removed);
                queue = actual.queue;
                model = expected.next;
                break;
              }
              case "drain": {
                const actual = drainMessages(queue);
                expect(actual.messages).toEqual(model.messages);
                queue = actual.queue;
                model = new NaiveQueue();
                break;
              }
              case "json":
                queue = JSON.parse(JSON.stringify(queue)) as MessageQueue;
                break;
              case "branch": {
                // Carry on from an older snapshot, as machine.transition() may.
                const old = history[step.pick % Math.max(1, history.length)];
                if (old) {
                  queue = old.queue;
                  model = new NaiveQueue(old.messages);
                }
                break;
              }
            }
            // Ids are unique: comparing them is the cheap form of comparing the messages.
            expect(ids(queuedMessages(queue))).toEqual(ids(model.messages));
            expect(queueSize(queue)).toBe(model.messages.length);
            expect(earliestExpiry(queue)).toBe(model.earliest());
            history.push({ queue, messages: model.messages });
          }
          for (const { queue: old, messages } of history) expect(ids(queuedMessages(old))).toEqual(ids(messages));
        },
      ),
      { numRuns: 300 },
    );
  });
});
