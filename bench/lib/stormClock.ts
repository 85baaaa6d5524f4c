import { SimulatedClock } from "xstate";

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * XState's `SimulatedClock` with a binary heap underneath. The base class sorts every
 * pending timeout on each flush, which is fine for one chart and hopeless for 10,000
 * sharing a clock; this one fires each timer at its own due time, in (time, creation)
 * order, at O(log n) a timer. Same interface: `now`, `setTimeout`, `clearTimeout`,
 * `set`, `increment`.
 */
export class StormClock extends SimulatedClock {
  #time = 0;
  #seq = 0;
  readonly #heap: Timer[] = [];
  readonly #live = new Map<number, Timer>();
  /** Timers fired so far (a cost measure). */
  fired = 0;

  override now(): number {
    return this.#time;
  }

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const seq = ++this.#seq;
    const timer: Timer = { at: this.#time + Math.max(0, timeout), seq, fn: fn as () => void };
    this.#live.set(seq, timer);
    this.#push(timer);
    return seq;
  }

  override clearTimeout(id: number): void {
    this.#live.delete(id);
  }

  override set(time: number): void {
    if (time < this.#time) throw new Error("Unable to travel back in time");
    this.runUntil(time);
  }

  override increment(ms: number): void {
    this.set(this.#time + ms);
  }

  /** Pending timers (cleared ones excluded). */
  get pending(): number {
    return this.#live.size;
  }

  /** Fires every timer due at or before `time`, each at its own due time, then sets the time to `time`. */
  runUntil(time: number): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.at <= time) {
      const timer = this.#pop();
      if (!this.#live.delete(timer.seq)) continue;
      this.#time = timer.at;
      this.fired++;
      timer.fn();
    }
    this.#time = time;
  }

  #before(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): Timer {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && this.#before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && this.#before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}
