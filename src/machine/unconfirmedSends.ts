/**
 * The sends of one socket that no acked probe has confirmed yet, oldest first. Each send is
 * marked with the number of the last probe (heartbeat) emitted before it; probe numbers only
 * grow, so an ack of probe `n` confirms a prefix: every send marked below `n`. Nothing is ever
 * forgotten unconfirmed: the socket actor asks the server for a confirmation (an extra probe)
 * as the list grows, instead of capping it.
 */
export class UnconfirmedSends {
  // A FIFO as an array with a moving head; compacted once the dead prefix is half the array.
  #events: (string | undefined)[] = [];
  #args: (unknown[] | undefined)[] = [];
  #marks: number[] = [];
  #head = 0;

  get size(): number {
    return this.#marks.length - this.#head;
  }

  /** Records a send emitted after probe `mark` went out. */
  add(event: string, args: unknown[], mark: number): void {
    this.#events.push(event);
    this.#args.push(args);
    this.#marks.push(mark);
  }

  /** Probe `mark` was acked: every send emitted before it went out has arrived (TCP keeps order). */
  confirm(mark: number): void {
    while (this.#head < this.#marks.length && this.#marks[this.#head]! < mark) {
      this.#events[this.#head] = undefined;
      this.#args[this.#head] = undefined;
      this.#head += 1;
    }
    if (this.#head === this.#marks.length) this.clear();
    else if (this.#head > 1024 && this.#head * 2 > this.#marks.length) this.#compact();
  }

  /** Returns what is left, oldest first, and forgets it. */
  drain(): { event: string; args: unknown[] }[] {
    const sends: { event: string; args: unknown[] }[] = [];
    for (let index = this.#head; index < this.#marks.length; index++) {
      sends.push({ event: this.#events[index]!, args: this.#args[index]! });
    }
    this.clear();
    return sends;
  }

  clear(): void {
    this.#events = [];
    this.#args = [];
    this.#marks = [];
    this.#head = 0;
  }

  #compact(): void {
    this.#events = this.#events.slice(this.#head);
    this.#args = this.#args.slice(this.#head);
    this.#marks = this.#marks.slice(this.#head);
    this.#head = 0;
  }
}
