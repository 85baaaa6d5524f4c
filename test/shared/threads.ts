import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import type { Command, Report, WorkerData } from "./worker.js";

type Op = Command extends infer C ? (C extends { op: infer O } ? O : never) : never;
type Args<O extends Op> = Omit<Extract<Command, { op: O }>, "id" | "op">;

/**
 * One thread of the shared-connection tests (a host or a remote, see worker.ts): commands out,
 * replies, events and status changes in, each awaitable.
 */
export class TestThread {
  readonly worker: Worker;
  readonly events: { name: string; payload: unknown }[] = [];
  readonly statuses: { state: string; host: string }[] = [];
  readonly #replies = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  readonly #waiters = new Set<() => void>();
  #nextId = 1;
  exited = false;

  private constructor(data: WorkerData, transfer: MessagePort[]) {
    // The thread loads TypeScript through tsx's loader, registered inside the thread itself.
    const entry = JSON.stringify(new URL("./worker.ts", import.meta.url).href);
    this.worker = new Worker(
      `import("tsx/esm/api").then(({ tsImport }) => tsImport(${entry}, ${JSON.stringify(import.meta.url)}))`,
      { eval: true, workerData: data, transferList: transfer },
    );
    this.worker.on("message", (report: Report) => {
      if (report.type === "reply") {
        const pending = this.#replies.get(report.id);
        this.#replies.delete(report.id);
        if (report.ok) pending?.resolve(report.value);
        else pending?.reject(Object.assign(new Error(report.error.message), { name: report.error.name }));
      } else if (report.type === "event") this.events.push({ name: report.name, payload: report.payload });
      else if (report.type === "status") this.statuses.push({ state: report.state, host: report.host });
      for (const wake of [...this.#waiters]) wake();
    });
    this.worker.on("exit", () => {
      this.exited = true;
      for (const { reject } of this.#replies.values()) reject(new Error("the thread exited"));
      this.#replies.clear();
      for (const wake of [...this.#waiters]) wake();
    });
  }

  static async start(data: WorkerData, transfer: MessagePort[] = []): Promise<TestThread> {
    const thread = new TestThread(data, transfer);
    await new Promise<void>((resolve, reject) => {
      thread.worker.once("message", () => resolve());
      thread.worker.once("error", reject);
    });
    return thread;
  }

  /** A remote thread on a new port whose other end is returned for the host. */
  static async remote(options: { heartbeatTimeout?: number } = {}): Promise<{ thread: TestThread; hostEnd: MessagePort }> {
    const { port1, port2 } = new MessageChannel();
    const thread = await TestThread.start({ role: "remote", port: port2, ...options }, [port2]);
    return { thread, hostEnd: port1 };
  }

  call<O extends Op>(op: O, args: Args<O>, transfer: MessagePort[] = []): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#replies.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, ...args }, transfer);
    });
  }

  /** Resolves when `check()` holds, re-checked on every report of this thread (bounded by `timeout`). */
  until(check: () => boolean, what: string, timeout = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`timed out waiting for ${what}; statuses ${JSON.stringify(this.statuses)}`));
      }, timeout);
      this.#waiters.add(wake);
    });
  }

  untilStatus(state: string, host = "attached", timeout?: number): Promise<void> {
    return this.until(
      () => this.statuses.at(-1)?.state === state && this.statuses.at(-1)?.host === host,
      `${state}/${host}`,
      timeout,
    );
  }

  async terminate(): Promise<void> {
    if (!this.exited) await this.worker.terminate();
  }
}
