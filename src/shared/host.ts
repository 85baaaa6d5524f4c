import type { ServiceApi } from "../services/serviceApi.js";
import { monotonicNow } from "../machine/environment.js";
import { cloneProblem } from "./clone.js";
import { checkPort, linkPort, type MessagePortLike, type PortLink } from "./port.js";
import {
  ANSWERED,
  checkDelay,
  COMMANDS,
  type Command,
  type HostMessage,
  isProtocolMessage,
  LIVENESS_DEFAULTS,
  PROTOCOL,
  type RemoteMessage,
  toWireError,
  unrefInterval,
  type WireError,
} from "./protocol.js";

/** Options of {@link exposeService}. */
export interface ExposeOptions {
  /** ms between pings to the remote. @default 1000 */
  heartbeatInterval?: number;
  /**
   * ms of silence after which the remote counts as gone: its listeners and pending requests are
   * released and the port closed. @default 4000
   */
  heartbeatTimeout?: number;
  /**
   * Told what the host could not do for this remote (a payload that would not clone, a call
   * that threw with no one awaiting it). A throw in it is swallowed. @default console.error
   */
  onError?: (error: unknown, context: string) => void;
}

/** What {@link exposeService} returns: the serving of one port. */
export interface ServedPort {
  /** Stop serving this port: its remote is told (it reports the host as lost), the port closed. */
  close(): void;
  /** Whether serving ended (by `close()`, the remote leaving, or its silence). */
  readonly closed: boolean;
}

/** Counters of one service's host side, for tests and the benchmark. */
export interface HostStats {
  /** Remotes served now. */
  remotes: number;
  /** `service.on` subscriptions the host holds now (one per event name some remote listens to). */
  serviceListeners: number;
  /** Whether the host holds its one `service.subscribe`. */
  statusSubscribed: boolean;
  /** Requests and reconnections forwarded and not yet settled, over all remotes. */
  pendingCalls: number;
  /** Status serialisations (JSON.stringify of a status object). */
  serialisations: number;
  /** Status changes broadcast (serialisations whose text differed from the last one sent). */
  statusChanges: number;
  /** Messages posted that carried a status. */
  statusPosts: number;
  /** Every `update` message posted (status and/or events). */
  updatePosts: number;
  /** Milliseconds spent in the coalesced flushes (serialise once, post to each remote). */
  flushMs: number;
}

const SERVICE_MEMBERS = ["getStatusSnapshot", "subscribe", "on", ...COMMANDS.filter((name) => name !== "setCallActive")] as const;

/** One port served: its remote's listened events, its pending calls, its liveness. */
class Connection {
  readonly listening = new Set<string>();
  readonly pending = new Set<number>();
  welcomed = false;
  closed = false;
  lastHeard: number;
  readonly #link: PortLink;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    readonly hub: Hub,
    port: MessagePortLike,
    readonly options: Required<Pick<ExposeOptions, "heartbeatInterval" | "heartbeatTimeout">> & Pick<ExposeOptions, "onError">,
  ) {
    this.lastHeard = monotonicNow();
    this.#link = linkPort(
      port,
      (data) => this.#receive(data),
      () => this.release(null),
    );
    this.#timer = unrefInterval(() => {
      if (monotonicNow() - this.lastHeard > options.heartbeatTimeout) this.release(null);
      else this.post({ p: PROTOCOL, t: "ping" });
    }, options.heartbeatInterval);
  }

  /** Posts, and ends this connection when the port is gone. A payload that will not clone is reported. */
  post(message: HostMessage): boolean {
    if (this.closed) return false;
    try {
      this.#link.post(message);
      return true;
    } catch (error) {
      if (this.#link.closed) this.release(null);
      else this.report(error, `posting ${message.t}`);
      return false;
    }
  }

  report(error: unknown, context: string): void {
    try {
      (this.options.onError ?? ((cause, where) => console.error(`@softphone/websocket shared host: ${where}`, cause)))(error, context);
    } catch {
      // The app's reporter failed too: nothing else to tell.
    }
  }

  #receive(data: unknown): void {
    if (!isProtocolMessage(data)) return;
    this.lastHeard = monotonicNow();
    const message = data as RemoteMessage;
    switch (message.t) {
      case "hello":
        this.hub.welcome(this, Array.isArray(message.events) ? message.events.filter((name) => typeof name === "string") : []);
        break;
      case "listen":
        if (typeof message.event === "string" && !this.listening.has(message.event)) {
          this.listening.add(message.event);
          this.hub.listen(this, message.event);
        }
        break;
      case "unlisten":
        if (this.listening.delete(message.event)) this.hub.unlisten(message.event);
        break;
      case "call":
        this.#call(message);
        break;
      case "bye":
        this.release(null);
        break;
      case "pong":
        break;
    }
  }

  #call({ id, method, args, ack }: Extract<RemoteMessage, { t: "call" }>): void {
    const answer = (result: { ok: true; value: unknown } | { ok: false; error: WireError }): void => {
      if (this.closed) return; // the window is gone: the outcome is forgotten
      const problem = result.ok ? cloneProblem(result.value, "the result") : null;
      this.post(
        problem
          ? { p: PROTOCOL, t: "result", id, method, ok: false, error: { name: "TypeError", message: `${method}: ${problem}` } }
          : ({ p: PROTOCOL, t: "result", id, method, ...result } as HostMessage),
      );
    };
    const service = this.hub.service as unknown as Record<string, unknown>;
    if (!(COMMANDS as readonly string[]).includes(method) || typeof service[method] !== "function" || !Array.isArray(args)) {
      answer({ ok: false, error: { name: "TypeError", message: `${String(method)}: the host's service has no such method` } });
      return;
    }
    const callArgs =
      ack === undefined
        ? args
        : [
            ...args,
            (...response: unknown[]) => {
              const problem = cloneProblem(response, "the ack response");
              if (problem) this.report(new TypeError(problem), `${method} ack`);
              else this.post({ p: PROTOCOL, t: "ack", id: ack, response });
            },
          ];
    let outcome: unknown;
    try {
      outcome = (service[method] as (...values: unknown[]) => unknown).apply(this.hub.service, callArgs);
    } catch (error) {
      answer({ ok: false, error: toWireError(error) });
      return;
    }
    if (!ANSWERED.has(method as Command)) return;
    this.pending.add(id);
    Promise.resolve(outcome).then(
      (value) => {
        this.pending.delete(id);
        answer({ ok: true, value });
      },
      (error: unknown) => {
        this.pending.delete(id);
        answer({ ok: false, error: toWireError(error) });
      },
    );
  }

  /**
   * Ends this connection: its event subscriptions are given back, its pending calls forgotten
   * (the remote that made them is gone, or was told with `bye`), the port closed.
   */
  release(reason: string | null): void {
    if (this.closed) return;
    if (reason !== null) this.post({ p: PROTOCOL, t: "bye", reason });
    this.closed = true;
    clearInterval(this.#timer);
    this.pending.clear();
    this.#link.close();
    this.hub.remove(this);
  }
}

/**
 * Everything served for one service: one status subscription and one serialisation per
 * change whatever the number of remotes, one `service.on` per event name some remote listens to.
 */
class Hub {
  readonly connections = new Set<Connection>();
  readonly #subscriptions = new Map<string, { unsubscribe: () => void; count: number }>();
  readonly #outbox: [string, unknown][] = [];
  #unsubscribeStatus: (() => void) | null;
  #scheduled = false;
  #lastSnapshot: unknown = undefined;
  #lastJson: string | null = null;
  readonly counters = { serialisations: 0, statusChanges: 0, statusPosts: 0, updatePosts: 0, flushMs: 0 };

  constructor(readonly service: ServiceApi) {
    this.#unsubscribeStatus = service.subscribe(() => this.#schedule());
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // Coalesced: every change of the same turn (a transition's several snapshots, its events)
    // goes out as one update, after the chart has settled.
    queueMicrotask(() => this.flush());
  }

  /** Serialise the status once if it changed, and post it with the pending events to each remote. */
  flush(): void {
    this.#scheduled = false;
    const started = performance.now();
    let status: string | null = null;
    const snapshot = this.service.getStatusSnapshot();
    if (snapshot !== this.#lastSnapshot) {
      this.#lastSnapshot = snapshot;
      const json = this.#serialise(snapshot);
      if (json !== null && json !== this.#lastJson) {
        this.#lastJson = json;
        status = json;
        this.counters.statusChanges += 1;
      }
    }
    const events = this.#outbox.splice(0);
    if (status === null && events.length === 0) return;
    for (const connection of this.connections) {
      if (!connection.welcomed) continue;
      const mine = events.length === 0 ? events : events.filter(([name]) => connection.listening.has(name));
      if (status === null && mine.length === 0) continue;
      if (connection.post({ p: PROTOCOL, t: "update", status, events: mine })) {
        this.counters.updatePosts += 1;
        if (status !== null) this.counters.statusPosts += 1;
      }
    }
    this.counters.flushMs += performance.now() - started;
  }

  #serialise(snapshot: unknown): string | null {
    this.counters.serialisations += 1;
    try {
      return JSON.stringify(snapshot);
    } catch (error) {
      for (const connection of this.connections) connection.report(error, "serialising the status");
      return null;
    }
  }

  /** A remote said hello: bring the others up to date first, then give it the status now. */
  welcome(connection: Connection, events: string[]): void {
    this.flush();
    if (this.#lastJson === null || this.#lastSnapshot !== this.service.getStatusSnapshot()) {
      this.#lastSnapshot = this.service.getStatusSnapshot();
      this.#lastJson = this.#serialise(this.#lastSnapshot);
    }
    for (const name of events) {
      if (connection.listening.has(name)) continue;
      connection.listening.add(name);
      this.listen(connection, name);
    }
    connection.welcomed = true;
    connection.post({ p: PROTOCOL, t: "update", status: this.#lastJson, events: [] });
  }

  listen(connection: Connection, name: string): void {
    const existing = this.#subscriptions.get(name);
    if (existing) {
      existing.count += 1;
      return;
    }
    try {
      const unsubscribe = this.service.on(name as never, (payload: unknown) => {
        const problem = cloneProblem(payload, `the "${name}" payload`);
        if (problem) {
          for (const each of this.connections) if (each.listening.has(name)) each.report(new TypeError(problem), `forwarding "${name}"`);
          return;
        }
        this.#outbox.push([name, payload]);
        this.#schedule();
      });
      this.#subscriptions.set(name, { unsubscribe, count: 1 });
    } catch (error) {
      connection.listening.delete(name);
      connection.report(error, `listening to "${name}"`);
    }
  }

  unlisten(name: string): void {
    const existing = this.#subscriptions.get(name);
    if (!existing) return;
    existing.count -= 1;
    if (existing.count > 0) return;
    this.#subscriptions.delete(name);
    existing.unsubscribe();
  }

  remove(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    for (const name of connection.listening) this.unlisten(name);
    connection.listening.clear();
    if (this.connections.size > 0) return;
    // The last remote left: the host holds nothing of the service any more.
    this.#unsubscribeStatus?.();
    this.#unsubscribeStatus = null;
    hubs.delete(this.service);
  }

  stats(): HostStats {
    let pendingCalls = 0;
    for (const connection of this.connections) pendingCalls += connection.pending.size;
    return {
      remotes: this.connections.size,
      serviceListeners: this.#subscriptions.size,
      statusSubscribed: this.#unsubscribeStatus !== null,
      pendingCalls,
      ...this.counters,
    };
  }
}

const hubs = new WeakMap<object, Hub>();

/** Counters of the host side of `service` (all zero when nothing is served). For tests and benchmarks. */
export function hostStats(service: ServiceApi): HostStats {
  return (
    hubs.get(service)?.stats() ?? {
      remotes: 0,
      serviceListeners: 0,
      statusSubscribed: false,
      pendingCalls: 0,
      serialisations: 0,
      statusChanges: 0,
      statusPosts: 0,
      updatePosts: 0,
      flushMs: 0,
    }
  );
}

/**
 * Serves `service` to the remote at the other end of `port` (see `connectToService`). Call it
 * once per port: one host serves any number of ports, each one remote (a window, a tab, a
 * worker). Whatever the number of remotes, the host holds one status subscription and
 * serialises each status change once.
 *
 * A remote that leaves (`dispose()`, its port closed, its thread ended) or falls silent for
 * `heartbeatTimeout` ms is released: its event subscriptions are given back and its pending
 * requests forgotten (their outcome is discarded; the other remotes are not affected).
 *
 * @example
 * // In a SharedWorker: every tab that connects becomes a remote of the one service.
 * onconnect = (event) => exposeService(service, event.ports[0]);
 * @throws TypeError when `service` lacks a member of the service surface, `port` is not a
 *   message port, or an option is invalid.
 */
export function exposeService(service: ServiceApi, port: MessagePortLike, options: ExposeOptions = {}): ServedPort {
  if (service === null || typeof service !== "object") {
    throw new TypeError(`exposeService: service must be a WebSocketService (or a ServiceApi), got ${service === null ? "null" : typeof service}`);
  }
  const missing = SERVICE_MEMBERS.filter((name) => typeof (service as unknown as Record<string, unknown>)[name] !== "function");
  if (missing.length > 0) {
    throw new TypeError(`exposeService: service has no ${missing.join(", ")} method${missing.length > 1 ? "s" : ""}`);
  }
  checkPort(port, "exposeService: port");
  if (options === null || typeof options !== "object") throw new TypeError("exposeService: options must be an object");
  checkDelay("exposeService: options.heartbeatInterval", options.heartbeatInterval);
  checkDelay("exposeService: options.heartbeatTimeout", options.heartbeatTimeout);
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new TypeError("exposeService: options.onError must be a function");
  }
  let hub = hubs.get(service);
  if (!hub) {
    hub = new Hub(service);
    hubs.set(service, hub);
  }
  const connection = new Connection(hub, port, {
    heartbeatInterval: options.heartbeatInterval ?? LIVENESS_DEFAULTS.heartbeatInterval,
    heartbeatTimeout: options.heartbeatTimeout ?? LIVENESS_DEFAULTS.heartbeatTimeout,
    onError: options.onError,
  });
  hub.connections.add(connection);
  return {
    close: () => connection.release("the host stopped serving this port"),
    get closed() {
      return connection.closed;
    },
  };
}
