/**
 * The sends of one socket that no heartbeat ack has confirmed yet, oldest first, in a ring
 * of fixed capacity: adding allocates nothing once the ring has grown to what is in use, and
 * when it is full the oldest is forgotten (assumed delivered). Heartbeat sequence numbers
 * only grow, so confirming drops a prefix.
 */
export class UnconfirmedSends {
  // Grown on demand (an idle service holds no slots), never beyond `capacity`.
  readonly #events: (string | undefined)[] = [];
  readonly #args: (unknown[] | undefined)[] = [];
  readonly #afterSeqs: number[] = [];
  #start = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be an integer of at least 1, got ${String(capacity)}`);
    }
  }

  get size(): number {
    return this.#size;
  }

  /** Records a send emitted after heartbeat `afterSeq` went out. */
  add(event: string, args: unknown[], afterSeq: number): void {
    let index: number;
    if (this.#size === this.capacity) {
      index = this.#start;
      this.#start = (this.#start + 1) % this.capacity;
    } else {
      index = (this.#start + this.#size) % this.capacity;
      this.#size += 1;
    }
    this.#events[index] = event;
    this.#args[index] = args;
    this.#afterSeqs[index] = afterSeq;
  }

  /** The server acked heartbeat `seq`: every send emitted before it went out has arrived. */
  confirm(seq: number): void {
    while (this.#size > 0 && this.#afterSeqs[this.#start]! < seq) {
      this.#events[this.#start] = undefined;
      this.#args[this.#start] = undefined;
      this.#start = (this.#start + 1) % this.capacity;
      this.#size -= 1;
    }
  }

  /** Returns what is left, oldest first, and forgets it. */
  drain(): { event: string; args: unknown[] }[] {
    const sends: { event: string; args: unknown[] }[] = [];
    for (let i = 0; i < this.#size; i++) {
      const index = (this.#start + i) % this.capacity;
      sends.push({ event: this.#events[index]!, args: this.#args[index]! });
    }
    this.clear();
    return sends;
  }

  clear(): void {
    this.#events.length = 0;
    this.#args.length = 0;
    this.#afterSeqs.length = 0;
    this.#start = 0;
    this.#size = 0;
  }
}
