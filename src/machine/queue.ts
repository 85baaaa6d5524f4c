/**
 * The send queue as plain data (numbers, arrays, objects: printable, `JSON.stringify` round
 * trips), with every operation the chart needs at O(1) amortised or O(log n):
 *
 * - a FIFO log of messages, where a message that leaves out of order (its own short TTL ran
 *   out, its request timed out) is stamped as removed rather than spliced out;
 * - a binary min-heap of (expiresAt, index) for the earliest expiry, since per-message TTLs
 *   make expiry order differ from FIFO order; entries of messages already gone are skipped
 *   when they reach the top;
 * - an index of the queued requests by ackId;
 * - a compaction that copies the live messages into a new log once more than half of it is
 *   dead, so the log stays within twice the queue plus a constant.
 *
 * Why a version and a shared log. Copying the queue on every send is the O(n) this module
 * removes, so operations extend the log in place. But the chart is an XState machine: an old
 * snapshot keeps its `context.queue`, and `machine.transition()` (xstate/graph, model-based
 * tests) may step from the same snapshot twice. So a `MessageQueue` is a *view* of a log, and
 * in-place changes never alter what an older view holds: the log is append-only, a removal
 * stamp names the version that removed the message (older views ignore it), and removals at
 * the front only move the new view's `head`. Only the newest view (`queue.version ===
 * queue.log.version`) may change the log; an operation on an older one first copies its
 * messages into a fresh log (O(n), which happens only when someone branches from an old
 * snapshot). The heap and the request index describe the newest view only; an older view
 * computes what it needs from its messages.
 *
 * Operations return the new view and what left the queue; the input view stays valid and
 * unchanged. No xstate import: the chart calls these from its actions.
 */
import type { QueuedMessage } from "./types.js";

/** Storage shared by the views of one queue. */
export interface QueueLog {
  /** The version of the newest view: only that view changes the log. */
  version: number;
  /** Every message queued through this log, in queue order. Append-only. */
  messages: QueuedMessage[];
  /**
   * Per entry of `messages`: the version whose operation removed it out of order (expired
   * before older messages, or timed out), 0 while none did. Written at most once.
   */
  removedIn: number[];
  /**
   * The newest view's expiries: a binary min-heap of pairs `expiresAt, index` laid flat
   * (entry k at 2k, 2k+1), by `expiresAt` then index. Its top is always live.
   */
  expiries: number[];
  /** Index in `messages` of each request of the newest view, by ackId. */
  requests: Record<number, number>;
}

/** The queue, in `ConnectionContext.queue`: a view of a {@link QueueLog}. */
export interface MessageQueue {
  log: QueueLog;
  version: number;
  /** Index in `log.messages` of this view's oldest message (or `tail` when empty). */
  head: number;
  /** One past the index of this view's newest message. */
  tail: number;
  /** Messages in this view. */
  size: number;
}

/** Below this many dead entries a log is never compacted: copying tiny logs gains nothing. */
const COMPACTION_SLACK = 64;

export function createQueue(): MessageQueue {
  return viewOf(freshLog([]), 0);
}

/** Messages in the queue. O(1). */
export function queueSize(queue: MessageQueue): number {
  return queue.size;
}

/** The queued messages, oldest first. O(n) for the whole walk. */
export function* messagesInOrder(queue: MessageQueue): Generator<QueuedMessage, void, undefined> {
  const { log } = queue;
  for (let index = queue.head; index < queue.tail; index++) {
    if (isLiveIn(queue, index)) yield log.messages[index]!;
  }
}

/** The queued messages as an array, oldest first. */
export function queuedMessages(queue: MessageQueue): QueuedMessage[] {
  return Array.from(messagesInOrder(queue));
}

/** The earliest `expiresAt` in the queue, `null` when it is empty. O(1) on the newest view. */
export function earliestExpiry(queue: MessageQueue): number | null {
  if (queue.size === 0) return null;
  if (isNewest(queue)) return queue.log.expiries[0]!;
  let earliest = Infinity;
  for (const message of messagesInOrder(queue)) earliest = Math.min(earliest, message.expiresAt);
  return earliest;
}

/**
 * Adds `message` at the back; beyond `capacity` the oldest leave (`dropped`, oldest first,
 * possibly `message` itself when `capacity` is 0). O(log n) amortised.
 * A queued request's ackId must not already be queued (the service hands each out once).
 */
export function pushMessage(
  queue: MessageQueue,
  message: QueuedMessage,
  capacity: number,
): { queue: MessageQueue; dropped: QueuedMessage[] } {
  const next = successorOf(queue);
  const { log } = next;
  const index = log.messages.length;
  log.messages.push(message);
  log.removedIn.push(0);
  pushExpiry(log.expiries, message.expiresAt, index);
  if (message.ackId !== undefined) log.requests[message.ackId] = index;
  next.tail = index + 1;
  next.size += 1;
  const dropped = dropOldest(next, capacity);
  return { queue: settle(next), dropped };
}

/**
 * Drops the oldest messages until at most `capacity` are left (`dropped`, oldest first; the
 * queue is returned as it was when none is). O(k) amortised for k dropped.
 */
export function shrinkQueue(queue: MessageQueue, capacity: number): { queue: MessageQueue; dropped: QueuedMessage[] } {
  if (queue.size <= Math.max(0, capacity)) return { queue, dropped: [] };
  const next = successorOf(queue);
  const dropped = dropOldest(next, capacity);
  return { queue: settle(next), dropped };
}

/** Moves `head` of a view being changed past its oldest messages until `capacity` are left. */
function dropOldest(next: MessageQueue, capacity: number): QueuedMessage[] {
  const { log } = next;
  const dropped: QueuedMessage[] = [];
  while (next.size > Math.max(0, capacity)) {
    const oldest = log.messages[next.head]!;
    forgetRequest(log, oldest, next.head);
    dropped.push(oldest);
    next.head += 1;
    next.size -= 1;
    skipRemoved(next);
  }
  return dropped;
}

/**
 * Takes the queued request `ackId` out (its timeout ran out), `removed` undefined when it is
 * not queued (the queue is then returned as it was). O(log n) amortised.
 */
export function removeRequest(
  queue: MessageQueue,
  ackId: number,
): { queue: MessageQueue; removed: QueuedMessage | undefined } {
  if (!isNewest(queue)) {
    const queued = queuedMessages(queue).some((message) => message.ackId === ackId);
    if (!queued) return { queue, removed: undefined };
    return removeRequest(copyOf(queue), ackId);
  }
  const index = queue.log.requests[ackId];
  if (index === undefined || !isLiveIn(queue, index) || queue.log.messages[index]!.ackId !== ackId) {
    return { queue, removed: undefined };
  }
  const next = successorOf(queue);
  const removed = next.log.messages[index]!;
  forgetRequest(next.log, removed, index);
  next.log.removedIn[index] = next.version;
  next.size -= 1;
  skipRemoved(next);
  return { queue: settle(next), removed };
}

/**
 * How many messages the chart expires in one step. XState runs a step's effects (each
 * `message:dropped` is one) by shifting them off an array, which costs quadratic time past
 * about 20,000; a larger batch is taken over several steps, a timer tick apart.
 */
export const EXPIRY_BATCH = 5_000;

/**
 * Takes out the messages whose `expiresAt` is at or before `at`, at most `limit` of them
 * (the earliest expiries first); `expired` in queue order (the queue is returned as it was
 * when none is). O(k log n) for k taken.
 */
export function takeExpired(
  queue: MessageQueue,
  at: number,
  limit = Infinity,
): { queue: MessageQueue; expired: QueuedMessage[] } {
  const earliest = earliestExpiry(queue);
  if (earliest === null || earliest > at || limit < 1) return { queue, expired: [] };
  const next = successorOf(queue);
  const { log } = next;
  const indices: number[] = [];
  while (indices.length < limit && log.expiries.length > 0 && log.expiries[0]! <= at) {
    const index = log.expiries[1]!;
    popExpiry(log.expiries);
    if (isLiveIn(next, index)) {
      log.removedIn[index] = next.version;
      indices.push(index);
    }
  }
  indices.sort((a, b) => a - b);
  const expired = indices.map((index) => log.messages[index]!);
  for (const [i, message] of expired.entries()) forgetRequest(log, message, indices[i]!);
  next.size -= expired.length;
  skipRemoved(next);
  return { queue: settle(next), expired };
}

/** Every queued message, oldest first, and an empty queue. O(n). */
export function drainMessages(queue: MessageQueue): { queue: MessageQueue; messages: QueuedMessage[] } {
  if (queue.size === 0) return { queue, messages: [] };
  return { queue: createQueue(), messages: queuedMessages(queue) };
}

// --- internals ------------------------------------------------------------------------------

function freshLog(messages: QueuedMessage[]): QueueLog {
  const expiries: number[] = [];
  const requests: Record<number, number> = {};
  for (const [index, message] of messages.entries()) {
    expiries.push(message.expiresAt, index);
    if (message.ackId !== undefined) requests[message.ackId] = index;
  }
  for (let k = (expiries.length >> 1) - 1; k >= 0; k--) siftDown(expiries, k);
  return { version: 1, messages, removedIn: messages.map(() => 0), expiries, requests };
}

function viewOf(log: QueueLog, size: number): MessageQueue {
  return { log, version: log.version, head: 0, tail: size, size };
}

function isNewest(queue: MessageQueue): boolean {
  return queue.version === queue.log.version;
}

/** Whether entry `index` of the log is in `queue` (removal stamps of later versions do not count). */
function isLiveIn(queue: MessageQueue, index: number): boolean {
  if (index < queue.head || index >= queue.tail) return false;
  const removedIn = queue.log.removedIn[index]!;
  return removedIn === 0 || removedIn > queue.version;
}

/** The view's messages in a log of their own, so that it may change it. */
function copyOf(queue: MessageQueue): MessageQueue {
  const messages = queuedMessages(queue);
  return viewOf(freshLog(messages), messages.length);
}

/**
 * The view an operation changes: the next version of the same log. From here on `queue` is an
 * older view, which no later change of the log alters.
 */
function successorOf(queue: MessageQueue): MessageQueue {
  const own = isNewest(queue) ? queue : copyOf(queue);
  own.log.version += 1;
  return { ...own, version: own.log.version };
}

/** Moves `head` past messages removed out of order, so that it points at the oldest one. */
function skipRemoved(queue: MessageQueue): void {
  while (queue.head < queue.tail && !isLiveIn(queue, queue.head)) queue.head += 1;
}

function forgetRequest(log: QueueLog, message: QueuedMessage, index: number): void {
  if (message.ackId !== undefined && log.requests[message.ackId] === index) delete log.requests[message.ackId];
}

/**
 * Ends an operation: the heap's top is made live again (so that `earliestExpiry` is a read),
 * and a log that is mostly dead is copied into a new one (amortised O(1): the copy is at most
 * twice the dead entries that triggered it).
 */
function settle(queue: MessageQueue): MessageQueue {
  const { expiries } = queue.log;
  while (expiries.length > 0 && !isLiveIn(queue, expiries[1]!)) popExpiry(expiries);
  const dead = queue.log.messages.length - queue.size;
  if (dead > COMPACTION_SLACK && dead > queue.size) return copyOf(queue);
  return queue;
}

/** Earlier expiry first; equal expiries in queue order (a batch of `takeExpired` is then well defined). */
function isBefore(heap: number[], a: number, b: number): boolean {
  const expiresA = heap[2 * a]!;
  const expiresB = heap[2 * b]!;
  return expiresA < expiresB || (expiresA === expiresB && heap[2 * a + 1]! < heap[2 * b + 1]!);
}

function swap(heap: number[], a: number, b: number): void {
  const expiresAt = heap[2 * a]!;
  const index = heap[2 * a + 1]!;
  heap[2 * a] = heap[2 * b]!;
  heap[2 * a + 1] = heap[2 * b + 1]!;
  heap[2 * b] = expiresAt;
  heap[2 * b + 1] = index;
}

function pushExpiry(heap: number[], expiresAt: number, index: number): void {
  heap.push(expiresAt, index);
  let k = (heap.length >> 1) - 1;
  while (k > 0) {
    const parent = (k - 1) >> 1;
    if (!isBefore(heap, k, parent)) break;
    swap(heap, k, parent);
    k = parent;
  }
}

function popExpiry(heap: number[]): void {
  const last = (heap.length >> 1) - 1;
  if (last > 0) swap(heap, 0, last);
  heap.length -= 2;
  siftDown(heap, 0);
}

function siftDown(heap: number[], start: number): void {
  const count = heap.length >> 1;
  let k = start;
  for (;;) {
    const left = 2 * k + 1;
    const right = left + 1;
    let first = k;
    if (left < count && isBefore(heap, left, first)) first = left;
    if (right < count && isBefore(heap, right, first)) first = right;
    if (first === k) return;
    swap(heap, k, first);
    k = first;
  }
}
