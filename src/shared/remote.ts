import type { ServiceEventName } from "../machine/types.js";
import { monotonicNow } from "../machine/environment.js";
import type { ServiceApi } from "../services/serviceApi.js";
import {
  RESERVED_EVENTS,
  SERVICE_EVENT_NAMES,
  type RequestOptions,
  type SendOptions,
  type ServiceListener,
  type WebSocketStatus,
} from "../services/WebSocketService.js";
import { assertCloneable } from "./clone.js";
import { checkPort, linkPort, type MessagePortLike, type PortLink } from "./port.js";
import {
  checkDelay,
  type Command,
  fromWireError,
  type HostMessage,
  isProtocolMessage,
  LIVENESS_DEFAULTS,
  PROTOCOL,
  type RemoteMessage,
  unrefInterval,
} from "./protocol.js";

/**
 * The remote's link to the host: `"attaching"` until the host's first answer, `"attached"`
 * while it answers, `"lost"` when it went away (port closed, silent for `heartbeatTimeout`, or
 * it stopped serving) until a new host is attached.
 */
export type HostLink = "attaching" | "attached" | "lost";

/**
 * The status of a remote: the host service's status, plus `host`. While the host is not
 * attached the fields are the last known ones except that the connection is reported as not
 * usable from here: `state: "connecting"`, `isConnected: false`, health 0, and `lastError`
 * saying why. Before the first answer, fields the host has not told yet are absent.
 */
export type RemoteStatus = WebSocketStatus & { host: HostLink };

/** Where a remote gets its port: a port, or a provider called again whenever the host is lost. */
export type PortSource = MessagePortLike | (() => MessagePortLike | Promise<MessagePortLike>);

/** Options of {@link connectToService}. */
export interface ConnectToServiceOptions {
  /**
   * ms without a message from the host (it pings every second by default) after which it
   * counts as lost. Keep it above the host's `heartbeatInterval`. @default 4000
   */
  heartbeatTimeout?: number;
  /**
   * ms before the port provider is asked again after the host was lost or the provider failed
   * (only when a provider function was given). @default 1000
   */
  reattachDelay?: number;
  /** Called when a listener or a `subscribe` callback throws; the others still run. @default console.error */
  onListenerError?: (error: unknown, source: ServiceEventName | "status") => void;
  /**
   * Told what could not be done for a call that returns nothing (`send`, `connect`, ...): the
   * host's service refused it, or the host is lost. Calls that return a promise reject instead.
   * @default console.warn
   */
  onError?: (error: Error, method: string) => void;
}

/** A service shared from another context over a message port: the service's interface, plus the link. */
export interface RemoteService extends ServiceApi {
  getStatus(): RemoteStatus;
  getStatusSnapshot(): RemoteStatus;
  /** Forwarded to the host's service (call mode); reported to `onError` when the host's service lacks it. */
  setCallActive(active: boolean): void;
  /** The link to the host, as in `getStatus().host`. */
  readonly host: HostLink;
  /**
   * Attach to a host at the other end of `port` now (after a host restart, or to move to another
   * host). Pending requests to the previous host are rejected; event listeners and status
   * subscribers stay and follow the new host.
   */
  reattach(port: MessagePortLike): void;
}

type Pending = { resolve(value: unknown): void; reject(error: Error): void; label: string };

const SERVICE_EVENTS: ReadonlySet<string> = new Set(SERVICE_EVENT_NAMES);

/** Until the host's first answer: the fields the remote can honestly state. */
const ATTACHING = {
  state: "connecting",
  isConnected: false,
  attempt: 0,
  maxAttempts: 0,
  nextRetryAt: null,
  nextRetryDelay: null,
  healthScore: 0,
  quality: "disconnected",
  consecutiveFailures: 0,
  latency: null,
  lastError: null,
  network: "online",
  socketId: null,
  recovered: false,
  queuedMessages: 0,
  disposed: false,
} satisfies Partial<WebSocketStatus>;

function checkEvent(method: string, event: unknown): asserts event is string {
  if (typeof event !== "string" || event.length === 0) {
    throw new TypeError(`${method}: event must be a non-empty string, got ${typeof event === "string" ? '""' : typeof event}`);
  }
  if (RESERVED_EVENTS.has(event)) {
    throw new TypeError(`${method}: "${event}" is a reserved Socket.IO event name and cannot be sent`);
  }
}

class Remote implements RemoteService {
  readonly #listeners = new Map<string, Set<(payload: never) => void>>();
  readonly #subscribers = new Set<() => void>();
  readonly #pending = new Map<number, Pending>();
  readonly #acks = new Map<number, (...response: unknown[]) => void>();
  readonly #provider: (() => MessagePortLike | Promise<MessagePortLike>) | null;
  readonly #heartbeatTimeout: number;
  readonly #reattachDelay: number;
  readonly #onListenerError: NonNullable<ConnectToServiceOptions["onListenerError"]>;
  readonly #onError: NonNullable<ConnectToServiceOptions["onError"]>;
  #link: PortLink | null = null;
  #host: HostLink = "attaching";
  #hostStatus: WebSocketStatus | null = null;
  #status: RemoteStatus;
  #lastHeard = 0;
  #nextId = 1;
  #disposed = false;
  #liveness: ReturnType<typeof setInterval> | null = null;
  #reattachTimer: ReturnType<typeof setTimeout> | null = null;
  /** Bumped on every attach, so a provider that answers late cannot attach a stale port. */
  #generation = 0;

  constructor(source: PortSource, options: ConnectToServiceOptions) {
    this.#provider = typeof source === "function" ? source : null;
    this.#heartbeatTimeout = options.heartbeatTimeout ?? LIVENESS_DEFAULTS.heartbeatTimeout;
    this.#reattachDelay = options.reattachDelay ?? 1_000;
    const onListenerError =
      options.onListenerError ?? ((error, source) => console.error(`@softphone/websocket remote: a "${source}" listener threw`, error));
    const onError = options.onError ?? ((error, method) => console.warn(`@softphone/websocket remote: ${method}: ${error.message}`));
    this.#onListenerError = (error, source) => {
      try {
        onListenerError(error, source);
      } catch {
        // The reporter itself failed: nothing else to tell.
      }
    };
    this.#onError = (error, method) => {
      try {
        onError(error, method);
      } catch {
        // As above.
      }
    };
    this.#status = { ...(ATTACHING as WebSocketStatus), host: "attaching" };
    this.subscribe = this.subscribe.bind(this);
    this.getStatusSnapshot = this.getStatusSnapshot.bind(this);
    if (typeof source === "function") this.#askProvider();
    else this.#attach(source);
  }

  // ---- the link ----------------------------------------------------------------------------

  #attach(port: MessagePortLike): void {
    this.#generation += 1;
    this.#detach();
    const link = linkPort(
      port,
      (data) => {
        if (this.#link === link) this.#receive(data);
      },
      () => {
        if (this.#link === link) this.#lose("the port closed");
      },
    );
    this.#link = link;
    this.#lastHeard = monotonicNow();
    this.#setHost("attaching");
    this.#post({ p: PROTOCOL, t: "hello", events: [...this.#listeners.keys()] });
    this.#liveness ??= unrefInterval(() => {
      if (this.#link && monotonicNow() - this.#lastHeard > this.#heartbeatTimeout) {
        this.#lose(`no word from the host for ${this.#heartbeatTimeout} ms`);
      }
    }, Math.max(10, Math.min(1_000, this.#heartbeatTimeout / 4)));
  }

  /** Leaves the current port (telling the host), without changing the status. */
  #detach(): void {
    const link = this.#link;
    if (!link) return;
    this.#link = null;
    try {
      link.post({ p: PROTOCOL, t: "bye" } satisfies RemoteMessage);
    } catch {
      // The port is already gone.
    }
    link.close();
    this.#failPending("the remote moved to another host");
  }

  #askProvider(): void {
    const provider = this.#provider;
    if (!provider || this.#disposed) return;
    const generation = ++this.#generation;
    const retry = (error: unknown): void => {
      if (this.#disposed || generation !== this.#generation) return;
      this.#onError(error instanceof Error ? error : new Error(String(error)), "port provider");
      this.#scheduleReattach();
    };
    let port: MessagePortLike | Promise<MessagePortLike>;
    try {
      port = provider();
    } catch (error) {
      retry(error);
      return;
    }
    Promise.resolve(port).then((resolved) => {
      if (this.#disposed || generation !== this.#generation) {
        (resolved as Partial<MessagePortLike> | null)?.close?.();
        return;
      }
      try {
        checkPort(resolved, "the port provider's result");
      } catch (error) {
        retry(error);
        return;
      }
      this.#attach(resolved);
    }, retry);
  }

  #scheduleReattach(): void {
    if (!this.#provider || this.#disposed || this.#reattachTimer) return;
    this.#reattachTimer = setTimeout(() => {
      this.#reattachTimer = null;
      this.#askProvider();
    }, this.#reattachDelay);
  }

  #lose(reason: string): void {
    const link = this.#link;
    if (!link) return;
    this.#link = null;
    link.close();
    this.#failPending(`the shared connection's host went away (${reason})`);
    this.#setHost("lost", reason);
    this.#scheduleReattach();
  }

  /** Requests in flight cannot be answered by a host that is gone: rejected; ack callbacks forgotten. */
  #failPending(reason: string): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#acks.clear();
    for (const { reject, label } of pending) reject(new Error(`${label}: ${reason} before it answered; it may or may not have reached the server`));
  }

  #post(message: RemoteMessage): boolean {
    const link = this.#link;
    if (!link) return false;
    try {
      link.post(message);
      return true;
    } catch (error) {
      if (link.closed) this.#lose("the port closed");
      else throw error;
      return false;
    }
  }

  #receive(data: unknown): void {
    if (!isProtocolMessage(data)) return;
    this.#lastHeard = monotonicNow();
    const message = data as HostMessage;
    switch (message.t) {
      case "ping":
        this.#post({ p: PROTOCOL, t: "pong" });
        break;
      case "update":
        this.#update(message.status, message.events);
        break;
      case "result": {
        const pending = this.#pending.get(message.id);
        if (pending) {
          this.#pending.delete(message.id);
          if (message.ok) pending.resolve(message.value);
          else pending.reject(fromWireError(message.error));
        } else if (!message.ok) {
          this.#onError(fromWireError(message.error), message.method);
        }
        break;
      }
      case "ack": {
        const callback = this.#acks.get(message.id);
        this.#acks.delete(message.id);
        try {
          callback?.(...message.response);
        } catch (error) {
          this.#onError(error instanceof Error ? error : new Error(String(error)), "send ack callback");
        }
        break;
      }
      case "bye":
        this.#lose(message.reason);
        break;
    }
  }

  #update(status: string | null, events: [string, unknown][]): void {
    if (status !== null) {
      try {
        this.#hostStatus = JSON.parse(status) as WebSocketStatus;
      } catch {
        // Not from this protocol's host: keep the last one.
      }
    }
    if (status !== null || this.#host !== "attached") this.#setHost("attached");
    for (const [name, payload] of events) this.#dispatch(name, payload);
  }

  #setHost(host: HostLink, reason?: string): void {
    this.#host = host;
    const known = this.#hostStatus;
    if (host === "attached" && known) {
      this.#status = { ...known, disposed: this.#disposed, host };
    } else {
      // The connection is not usable from here: say so in the fields the UI reads.
      this.#status = {
        ...(known ?? (ATTACHING as WebSocketStatus)),
        state: "connecting",
        isConnected: false,
        healthScore: 0,
        quality: "disconnected",
        socketId: null,
        recovered: false,
        lastError: host === "lost" ? { message: `the shared connection's host is not reachable: ${reason ?? "lost"}` } : (known?.lastError ?? null),
        disposed: this.#disposed,
        host,
      };
    }
    this.#notify();
  }

  #notify(): void {
    for (const onChange of [...this.#subscribers]) {
      try {
        onChange();
      } catch (error) {
        this.#onListenerError(error, "status");
      }
    }
  }

  #dispatch(name: string, payload: unknown): void {
    const listeners = this.#listeners.get(name);
    if (!listeners) return;
    for (const listener of [...listeners]) {
      try {
        (listener as (value: unknown) => void)(payload);
      } catch (error) {
        this.#onListenerError(error, name as ServiceEventName);
      }
    }
  }

  // ---- calls -------------------------------------------------------------------------------

  /** A command whose outcome nobody awaits: errors go to `onError`. */
  #command(method: Command, args: unknown[], ack?: (...response: unknown[]) => void): void {
    if (this.#disposed) return;
    if (!this.#link) {
      this.#onError(new Error(`the shared connection's host is not reachable (${this.#host}); nothing was done`), method);
      return;
    }
    const id = this.#nextId++;
    let ackId: number | undefined;
    if (ack) {
      ackId = this.#nextId++;
      this.#acks.set(ackId, ack);
    }
    this.#post({ p: PROTOCOL, t: "call", id, method, args, ...(ackId === undefined ? {} : { ack: ackId }) });
  }

  /** A command whose outcome is awaited: resolves with the host's answer, here and only here. */
  #ask<T>(method: Command, args: unknown[], label: string): Promise<T> {
    if (this.#disposed) return Promise.reject(new Error(`${label}: the remote is disposed`));
    if (!this.#link) return Promise.reject(new Error(`${label}: the shared connection's host is not reachable (${this.#host})`));
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, label });
      try {
        if (this.#post({ p: PROTOCOL, t: "call", id, method, args })) return;
        reject(new Error(`${label}: the shared connection's host is not reachable`));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
      this.#pending.delete(id);
    });
  }

  connect(): void {
    this.#command("connect", []);
  }

  disconnect(): void {
    this.#command("disconnect", []);
  }

  forceReconnection(): Promise<void> {
    const outcome = this.#ask<void>("forceReconnection", [], "forceReconnection");
    // As the service: fire and forget from a button raises no unhandled rejection.
    outcome.catch(() => {});
    return outcome;
  }

  send(event: string, ...args: unknown[]): void {
    this.#sendWith("send", undefined, event, args);
  }

  sendWith(options: SendOptions, event: string, ...args: unknown[]): void {
    this.#sendWith("sendWith", options, event, args);
  }

  #sendWith(method: "send" | "sendWith", options: SendOptions | undefined, event: string, args: unknown[]): void {
    checkEvent(method, event);
    const last = args.at(-1);
    const ack = typeof last === "function" ? (last as (...response: unknown[]) => void) : undefined;
    const payload = ack ? args.slice(0, -1) : args;
    if (method === "sendWith") {
      if (options === null || typeof options !== "object") throw new TypeError(`sendWith: options must be an object, got ${options === null ? "null" : typeof options}`);
      assertCloneable(options, "options", `sendWith("${event}")`);
    }
    assertCloneable(payload, "args", `${method}("${event}")`);
    this.#command(method, method === "sendWith" ? [options, event, ...payload] : [event, ...payload], ack);
  }

  request<T = unknown>(event: string, ...args: unknown[]): Promise<T> {
    checkEvent("request", event);
    assertCloneable(args, "args", `request("${event}")`);
    return this.#ask<T>("request", [event, ...args], `request "${event}"`);
  }

  requestWith<T = unknown>(options: RequestOptions, event: string, ...args: unknown[]): Promise<T> {
    checkEvent("request", event);
    if (options === null || typeof options !== "object") throw new TypeError(`requestWith: options must be an object, got ${options === null ? "null" : typeof options}`);
    assertCloneable(options, "options", `requestWith("${event}")`);
    assertCloneable(args, "args", `requestWith("${event}")`);
    return this.#ask<T>("requestWith", [options, event, ...args], `request "${event}"`);
  }

  setAuthToken(token: string): void {
    if (typeof token !== "string" || token.length === 0) {
      throw new TypeError(`setAuthToken: token must be a non-empty string, got ${typeof token === "string" ? "an empty string" : typeof token} (value not shown)`);
    }
    this.#command("setAuthToken", [token]);
  }

  setCallActive(active: boolean): void {
    if (typeof active !== "boolean") throw new TypeError(`setCallActive: active must be a boolean, got ${typeof active}`);
    this.#command("setCallActive", [active]);
  }

  notifyOnline(): void {
    this.#command("notifyOnline", []);
  }

  notifyOffline(): void {
    this.#command("notifyOffline", []);
  }

  notifyResume(): void {
    this.#command("notifyResume", []);
  }

  // ---- reading -----------------------------------------------------------------------------

  on<K extends ServiceEventName>(name: K, listener: ServiceListener<K>): () => void {
    if (typeof name !== "string" || !SERVICE_EVENTS.has(name)) {
      throw new TypeError(`on: name must be one of the service events (${SERVICE_EVENT_NAMES.join(", ")}), got ${typeof name === "string" ? JSON.stringify(name) : typeof name}`);
    }
    if (typeof listener !== "function") throw new TypeError(`on("${name}"): listener must be a function, got ${typeof listener}`);
    if (this.#disposed) return () => {};
    let listeners = this.#listeners.get(name);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(name, listeners);
      // The host forwards only the events some listener here wants.
      this.#post({ p: PROTOCOL, t: "listen", event: name });
    }
    listeners.add(listener as (payload: never) => void);
    return () => this.off(name, listener);
  }

  off<K extends ServiceEventName>(name: K, listener: ServiceListener<K>): void {
    const listeners = this.#listeners.get(name);
    if (!listeners?.delete(listener as (payload: never) => void) || listeners.size > 0) return;
    this.#listeners.delete(name);
    this.#post({ p: PROTOCOL, t: "unlisten", event: name });
  }

  getStatus(): RemoteStatus {
    return { ...this.#status };
  }

  getStatusSnapshot(): RemoteStatus {
    return this.#status;
  }

  subscribe(onChange: () => void): () => void {
    if (typeof onChange !== "function") throw new TypeError(`subscribe: onChange must be a function, got ${typeof onChange}`);
    if (this.#disposed) return () => {};
    const entry = () => onChange();
    this.#subscribers.add(entry);
    return () => this.#subscribers.delete(entry);
  }

  getHealthScore(): number {
    return this.#status.healthScore;
  }

  get host(): HostLink {
    return this.#host;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  reattach(port: MessagePortLike): void {
    checkPort(port, "reattach: port");
    if (this.#disposed) return;
    if (this.#reattachTimer) clearTimeout(this.#reattachTimer);
    this.#reattachTimer = null;
    this.#attach(port);
  }

  /**
   * Leave the host for good: the host releases this remote's listeners; pending requests here
   * are rejected; local listeners and subscribers are dropped after being told once
   * (`disposed: true`). The host's service and the other remotes are not affected.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#generation += 1;
    if (this.#reattachTimer) clearTimeout(this.#reattachTimer);
    this.#reattachTimer = null;
    if (this.#liveness) clearInterval(this.#liveness);
    this.#liveness = null;
    const link = this.#link;
    this.#link = null;
    if (link) {
      try {
        link.post({ p: PROTOCOL, t: "bye" } satisfies RemoteMessage);
      } catch {
        // Gone already.
      }
      link.close();
    }
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#acks.clear();
    for (const { reject, label } of pending) reject(new Error(`${label}: the remote was disposed`));
    this.#status = { ...this.#status, disposed: true };
    this.#notify();
    this.#subscribers.clear();
    this.#listeners.clear();
  }
}

/**
 * A service shared by a host (`exposeService`) at the other end of a message port: the same
 * interface as the host's `WebSocketService` (status, events, sends, requests, commands), so
 * `WebSocketProvider`, `useWebSocket` and `<WebSocketStatus>` work with it unchanged.
 *
 * Pass a port, or a function that returns one (or a promise of one): with a function, the
 * remote asks it again after losing the host (`getStatus().host === "lost"`) and reattaches by
 * itself; with a port, call `reattach(newPort)`. Arguments that cannot cross a port as
 * themselves (functions, symbols, class instances) are refused with a `TypeError` at the call.
 *
 * @example
 * const remote = connectToService(() => new SharedWorker(workerUrl, { type: "module" }).port);
 * @throws TypeError when `source` is neither a message port nor a function, or an option is invalid.
 */
export function connectToService(source: PortSource, options: ConnectToServiceOptions = {}): RemoteService {
  if (typeof source !== "function") checkPort(source, "connectToService: port");
  if (options === null || typeof options !== "object") throw new TypeError("connectToService: options must be an object");
  checkDelay("connectToService: options.heartbeatTimeout", options.heartbeatTimeout);
  checkDelay("connectToService: options.reattachDelay", options.reattachDelay);
  for (const name of ["onListenerError", "onError"] as const) {
    if (options[name] !== undefined && typeof options[name] !== "function") {
      throw new TypeError(`connectToService: options.${name} must be a function`);
    }
  }
  return new Remote(source, options);
}

