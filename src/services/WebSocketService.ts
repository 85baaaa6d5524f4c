import { type Actor, type ActorOptions, createActor, type InspectionEvent, type Observer } from "xstate";
import type { AuthErrorClassifier } from "../machine/auth.js";
import { describeUnknownValue, describeValue, MAX_TIMER_MS, resolveConfig } from "../machine/config.js";
import { kindOf, MIN_REDACTED_LENGTH, redact, unencodableReason } from "../machine/errors.js";
import { type ConnectionMachine, createConnectionMachine, type RetryDelayPolicy } from "../machine/connectionMachine.js";
import { holdsSends } from "../machine/implementations.js";
import { messagesInOrder } from "../machine/queue.js";
import {
  createSocketActor,
  rememberToken,
  type Credentials,
  type SocketFactory,
  type SocketIoOptions,
  type SocketPort,
  type TokenProvider,
} from "../machine/socketActor.js";
import type { ConnectionConfig, MessagePriority, ServiceEventMap, ServiceEventName } from "../machine/types.js";
import { type CallbackName, type FaultReporter, messageOf, monotonicNow } from "../machine/environment.js";
import { checkSocketOptions } from "../machine/socketOptions.js";
import { statusOf, topLevelState, type WebSocketStatus } from "../machine/status.js";
import { createDebugLog, type Logger } from "./logging.js";

export { statusOf, topLevelState, TOP_LEVEL_STATES, type WebSocketStatus } from "../machine/status.js";

/** XState's timer source, as `createActor` takes it (`SimulatedClock` implements it). */
export type Clock = NonNullable<ActorOptions<ConnectionMachine>["clock"]>;

/** Static auth: the handshake `auth` payload, `token` included. */
export interface StaticAuth {
  token?: string | null;
  [field: string]: unknown;
}

export interface WebSocketServiceOptions {
  /**
   * Server URL, http(s) or ws(s). Required. A list is an ordered set of servers: the first is
   * the primary, the others backups tried after `config.failoverAfter` failures in a row;
   * the service moves back to the primary when it answers again (docs/failover.md).
   */
  url: string | readonly string[];
  /** Socket.IO path. @default "/socket.io/" */
  path?: string;
  /**
   * `{ token }` (sent in the handshake `auth` payload, never in the URL), or a provider
   * called before every handshake. Omit it for a server without auth.
   * @example auth: async () => (await fetchSession()).token
   */
  auth?: StaticAuth | TokenProvider;
  /** Overrides of `DEFAULT_CONFIG`; every key is validated. */
  config?: Partial<ConnectionConfig>;
  /** Passed through to `io()`; its own reconnection is always off (the chart is the only retry loop). */
  socketOptions?: SocketIoOptions;
  /** Jitter source, a number in [0, 1). @default Math.random */
  random?: () => number;
  /**
   * A backoff policy of your own, in place of `config.jitterStrategy`: `(step, error, context)
   * => ms`. A server's `retryAfter` stays a floor; a throw or a bad value falls back to the
   * named strategy for that retry (`callback:failed`). `getStatus().jitterStrategy` is then
   * `"custom"`. @default undefined (the named strategy decides)
   * @example retryDelay: (step) => Math.min(30_000, 500 * 2 ** step)
   */
  retryDelay?: RetryDelayPolicy;
  /** XState inspection observer, e.g. `createBrowserInspector().inspect`. @default undefined */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Decides whether a handshake rejection means a bad token. @default isAuthRejection */
  isAuthError?: AuthErrorClassifier;
  /** Start connecting at once. @default false */
  autoConnect?: boolean;
  /**
   * Wall clock in epoch ms, only for `nextRetryAt` (shown to people), log times and noticing a
   * sleep. Durations (latency, TTLs, heartbeat cadence) use the monotonic clock: `clock.now()`
   * when `clock` has one (a `SimulatedClock`), otherwise `performance.now()`. @default Date.now
   */
  now?: () => number;
  /** Timer source of the chart (XState `clock`), e.g. a `SimulatedClock` in tests. @default setTimeout */
  clock?: Clock;
  /** Replaces socket.io-client's `io` (tests, custom transports). @default io */
  socketFactory?: SocketFactory;
  /**
   * Called when a listener (or the `logger`) throws; the other listeners still run.
   * @default console.error
   */
  onListenerError?: (error: unknown, eventName: ListenerErrorSource) => void;
  /**
   * Refuse `http:` and `ws:` URLs, except for loopback hosts (`localhost`, `*.localhost`,
   * `127.0.0.0/8`, `::1`). The token then only ever crosses the network inside TLS.
   * @default false
   */
  requireSecureTransport?: boolean;
  /**
   * Structured debug log of transitions and decisions (see `docs/logging.md`); off when
   * omitted. The token is redacted from every entry; application payloads are never logged.
   * @example logger: (entry) => debug("softphone:websocket")(entry.message, entry)
   * @default undefined
   */
  logger?: Logger;
}

/** Per-message options of {@link WebSocketService.sendWith}. */
export interface SendOptions {
  /** Milliseconds the message may wait in the queue (at most `queueTtl`). */
  ttl?: number;
  /** Drop the message (announced as `message:dropped`, reason `"volatile"`) rather than queue it. */
  volatile?: boolean;
  /**
   * `"call"`: call signalling (hang-up, transfer, hold). Held apart while not connected, sent
   * before every other queued message on reconnect, and never the message that overflow
   * drops (docs/call-mode.md).
   */
  priority?: MessagePriority;
}

/** Per-request options of {@link WebSocketService.requestWith}. */
export interface RequestOptions {
  /** Milliseconds to wait for the ack, queue time included. @default config.requestTimeout */
  timeout?: number;
  /** Milliseconds the request may wait in the queue (at most `queueTtl`). */
  ttl?: number;
  /** `"call"`: as {@link SendOptions.priority}. */
  priority?: MessagePriority;
}

function checkPriority(method: string, priority: unknown): void {
  if (priority !== undefined && priority !== "call") fail(`${method} options.priority`, '"call" or undefined', priority);
}


export type ServiceListener<K extends ServiceEventName> = (payload: ServiceEventMap[K]) => void;

/**
 * What `onListenerError` is told threw: a listener of that event, the `logger`, an ack
 * callback of `send`, or a `subscribe` callback (`"status"`).
 */
export type ListenerErrorSource = ServiceEventName | "logger" | "ack" | "status";

const OPTION_KEYS = new Set<keyof WebSocketServiceOptions>([
  "url",
  "path",
  "auth",
  "config",
  "socketOptions",
  "random",
  "retryDelay",
  "inspect",
  "isAuthError",
  "autoConnect",
  "now",
  "clock",
  "socketFactory",
  "onListenerError",
  "requireSecureTransport",
  "logger",
]);


/**
 * Every event `on()` accepts, in the order of `ServiceEventMap`; the `satisfies` keeps it in
 * step with the map.
 */
export const SERVICE_EVENT_NAMES: readonly ServiceEventName[] = Object.freeze(
  Object.keys({
    "connection:connected": true,
    "connection:disconnected": true,
    "connection:failed": true,
    "connection:reconnecting": true,
    "connection:reconnected": true,
    "connection:max_attempts_reached": true,
    "connection:auth_required": true,
    "connection:auth_failed": true,
    "connection:health_degraded": true,
    "connection:health_check": true,
    "connection:resumed": true,
    "connection:server_changed": true,
    "connection:restarting": true,
    message: true,
    "message:dropped": true,
    "message:unconfirmed": true,
    "callback:failed": true,
    "request:settled": true,
  } satisfies Record<ServiceEventName, true>) as ServiceEventName[],
);

const SERVICE_EVENTS: ReadonlySet<string> = new Set(SERVICE_EVENT_NAMES);

const FUNCTION_OPTIONS = ["random", "retryDelay", "isAuthError", "now", "socketFactory", "onListenerError", "logger"] as const;

/** Socket.IO refuses to emit these (`"connect" is a reserved event name`); they are its own. */
export const RESERVED_EVENTS: ReadonlySet<string> = new Set([
  "connect",
  "connect_error",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

/**
 * A URL for an error message: in full when it is plain, without its query, fragment and
 * credentials otherwise (that is where a token would be).
 */
function describeUrl(url: string, parsed: URL): string {
  if (!parsed.search && !parsed.hash && !parsed.username && !parsed.password) return describeValue(url);
  return `${describeValue(`${parsed.protocol}//${parsed.host}${parsed.pathname}`)} (query, fragment and credentials not shown)`;
}

/** `decodeURIComponent`, or the text as it is when it holds a malformed escape. */
function safelyDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Loopback hosts, where `requireSecureTransport` still allows `http:`/`ws:`. */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

function fail(key: string, expected: string, value: unknown): never {
  throw new TypeError(`${key} must be ${expected}, got ${describeValue(value)}`);
}

/** The servers of `options.url`, in order; throws a TypeError for anything but a URL or a non-empty list of them. */
function urlList(url: unknown): string[] {
  if (typeof url === "string") return [url];
  if (!Array.isArray(url)) fail("url", "an http(s) or ws(s) URL string, or a non-empty array of them", url);
  if (url.length === 0) fail("url", "a non-empty array of http(s) or ws(s) URLs", url);
  for (const [index, entry] of url.entries()) {
    if (typeof entry !== "string") fail(`url[${index}]`, "an http(s) or ws(s) URL string", entry);
  }
  const seen = new Set<string>();
  for (const [index, entry] of (url as string[]).entries()) {
    if (seen.has(entry)) fail(`url[${index}]`, "a server not already in the list", entry);
    seen.add(entry);
  }
  return [...(url as string[])];
}

/** One server URL: http(s) or ws(s), no credentials, secure when required. `key` names it in errors. */
function checkUrl(key: string, url: string, options: WebSocketServiceOptions): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail(key, "an http(s) or ws(s) URL", url);
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(parsed.protocol)) {
    throw new TypeError(`${key} must be an http(s) or ws(s) URL, got ${describeUrl(url, parsed)}`);
  }
  if (parsed.username || parsed.password) {
    throw new TypeError(`${key} must not carry credentials (user:password@): the token travels in the handshake auth payload`);
  }
  if (options.requireSecureTransport && (parsed.protocol === "http:" || parsed.protocol === "ws:") && !isLoopbackHost(parsed.hostname)) {
    throw new TypeError(
      `${key} must use https: or wss: when requireSecureTransport is set (loopback hosts excepted), got ${describeUrl(url, parsed)}`,
    );
  }
}

function validateOptions(options: WebSocketServiceOptions): void {
  if (options === null || typeof options !== "object") fail("options", "an object", options);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key as keyof WebSocketServiceOptions)) {
      throw new TypeError(
        `options.${key} is not a known option (value ${describeUnknownValue(key, (options as unknown as Record<string, unknown>)[key])})`,
      );
    }
  }
  const { path, auth, socketOptions } = options;
  if (options.requireSecureTransport !== undefined && typeof options.requireSecureTransport !== "boolean") {
    fail("requireSecureTransport", "a boolean", options.requireSecureTransport);
  }
  const urls = urlList(options.url);
  for (const [index, url] of urls.entries()) checkUrl(typeof options.url === "string" ? "url" : `url[${index}]`, url, options);
  if (path !== undefined && (typeof path !== "string" || !path.startsWith("/"))) {
    fail("path", 'a string starting with "/"', path);
  }
  // Auth values are named by kind, never printed: a wrong one is most likely the token itself.
  if (auth !== undefined && typeof auth !== "function" && (auth === null || typeof auth !== "object")) {
    throw new TypeError(`auth must be an object like { token } or a token provider function, got ${kindOf(auth)} (value not shown)`);
  }
  if (auth && typeof auth === "object" && auth.token !== undefined && auth.token !== null && typeof auth.token !== "string") {
    throw new TypeError(`auth.token must be a string, got ${kindOf(auth.token)} (value not shown)`);
  }
  const token = auth && typeof auth === "object" && typeof auth.token === "string" ? auth.token : null;
  if (token && token.length >= MIN_REDACTED_LENGTH && urls.some((url) => url.includes(token) || safelyDecoded(url).includes(token))) {
    throw new TypeError("url must not contain the auth token: it travels in the handshake auth payload only");
  }
  // Every io() option is passed through, or refused with its equivalent when the service sets
  // it itself (docs/socket-options.md): nothing a user sets is silently lost.
  checkSocketOptions(socketOptions as Record<string, unknown> | undefined, path ?? "/socket.io/");
  const ackTimeout = socketOptions?.ackTimeout;
  if (ackTimeout !== undefined && !(typeof ackTimeout === "number" && ackTimeout > 0 && ackTimeout <= MAX_TIMER_MS)) {
    fail("socketOptions.ackTimeout", `a number of ms greater than 0 and at most ${MAX_TIMER_MS}`, ackTimeout);
  }
  if (token && token.length >= MIN_REDACTED_LENGTH && socketOptions?.query !== undefined && JSON.stringify(socketOptions.query).includes(token)) {
    throw new TypeError("socketOptions.query must not contain the auth token: it travels in the handshake auth payload only");
  }
  for (const key of FUNCTION_OPTIONS) {
    if (options[key] !== undefined && typeof options[key] !== "function") fail(key, "a function", options[key]);
  }
  if (options.autoConnect !== undefined && typeof options.autoConnect !== "boolean") {
    fail("autoConnect", "a boolean", options.autoConnect);
  }
  const { inspect, clock } = options;
  if (inspect !== undefined && typeof inspect !== "function" && (inspect === null || typeof inspect !== "object" || typeof inspect.next !== "function")) {
    fail("inspect", "an inspection observer (a function, or an object with next())", inspect);
  }
  if (
    clock !== undefined &&
    (clock === null || typeof clock !== "object" || typeof clock.setTimeout !== "function" || typeof clock.clearTimeout !== "function")
  ) {
    fail("clock", "a clock with setTimeout and clearTimeout (e.g. xstate's SimulatedClock)", clock);
  }
}

function checkEventName(method: string, event: unknown): asserts event is string {
  if (typeof event !== "string" || event.length === 0) {
    throw new TypeError(`${method}: event must be a non-empty string, got ${describeValue(event)}`);
  }
  if (RESERVED_EVENTS.has(event)) {
    throw new TypeError(
      `${method}: "${event}" is a reserved Socket.IO event name and cannot be sent (reserved: ${[...RESERVED_EVENTS].join(", ")})`,
    );
  }
}

type AnyListener = (payload: never) => void;

type Inspector = NonNullable<WebSocketServiceOptions["inspect"]>;

/**
 * One inspection observer that feeds all of `inspectors` (the user's and the debug log's).
 * XState calls it in the middle of a step: a throw there would stop the chart, so each
 * observer is isolated and its fault reported.
 */
function combineInspectors(
  inspectors: { observer: Inspector; name: "inspect" | "logger" }[],
  report: FaultReporter,
): (event: InspectionEvent) => void {
  return (event) => {
    for (const { observer, name } of inspectors) {
      try {
        if (typeof observer === "function") observer(event);
        else observer.next?.(event);
      } catch (error) {
        report(name, `the ${name} observer threw: ${messageOf(error)}`);
      }
    }
  };
}

/**
 * The app's timer source, made safe: XState schedules through it in the middle of a step,
 * where a throw would stop the chart. A `setTimeout` that throws is replaced by the system's
 * for that timer (and reported once); such timers are cleared with the system's too.
 */
function guardTimers(clock: Clock, report: FaultReporter): Clock {
  const fallbacks = new Set<unknown>();
  return {
    setTimeout(fn, timeout) {
      try {
        return clock.setTimeout(fn, timeout);
      } catch (error) {
        report("clock", `clock.setTimeout threw: ${messageOf(error)}; the system timer is used instead`);
        const handle = globalThis.setTimeout(fn, timeout);
        fallbacks.add(handle);
        return handle;
      }
    },
    clearTimeout(id) {
      if (fallbacks.delete(id)) {
        globalThis.clearTimeout(id as ReturnType<typeof globalThis.setTimeout>);
        return;
      }
      try {
        clock.clearTimeout(id);
      } catch (error) {
        report("clock", `clock.clearTimeout threw: ${messageOf(error)}`);
      }
    },
  };
}

/**
 * The framework-free facade: commands go to the chart as events, everything returned
 * is derived from its snapshot.
 */
export class WebSocketService {
  /** The running XState actor, for `@xstate/react` and the Stately inspector. */
  readonly actor: Actor<ConnectionMachine>;
  readonly #subscriptions = new Map<ServiceEventName, Map<AnyListener, { unsubscribe(): void }>>();
  readonly #acks = new Map<number, { resolve(response: unknown[]): void; reject(error: Error): void }>();
  readonly #onListenerError: (error: unknown, eventName: ListenerErrorSource) => void;
  /** The user functions whose fault was already announced (each is announced once). */
  readonly #reportedFaults = new Set<CallbackName>();
  readonly #scrub: (text: string) => string;
  /** With `socketOptions.ackTimeout`, socket.io-client calls ack callbacks error-first; so does the service. */
  readonly #errorFirstAcks: boolean;
  /** The last status handed out by getStatusSnapshot(), with the chart snapshot it came from. */
  #statusCache: { snapshot: unknown; status: WebSocketStatus } | null = null;
  /** The constructor has finished (faults before that are announced a microtask later). */
  #started = false;
  /** `forceReconnection()` tickets: each call waits for the chart to act on its own. */
  #forceTickets = 0;
  /** The token, shared with the socket actor only (see `Credentials`). */
  readonly #credentials: Credentials = { token: null, seen: new Set() };
  /** The debug log, when `options.logger` is given. */
  readonly #log: ReturnType<typeof createDebugLog> | null;
  /** The socket actor's direct emit, for the send fast path. */
  readonly #port: SocketPort = { emit: null };
  #nextAckId = 1;
  #disposed = false;
  #internal: { unsubscribe(): void };

  constructor(options: WebSocketServiceOptions) {
    validateOptions(options);
    // Bound, so that a binding passes them as they are: useSyncExternalStore(service.subscribe, service.getStatusSnapshot).
    this.subscribe = this.subscribe.bind(this);
    this.getStatusSnapshot = this.getStatusSnapshot.bind(this);
    const config = resolveConfig(options.config);
    const { auth } = options;
    const tokenProvider = typeof auth === "function" ? auth : undefined;
    const { token, ...authPayload } = typeof auth === "object" && auth !== null ? auth : { token: undefined };
    this.#credentials.token = typeof token === "string" && token.length > 0 ? token : null;
    if (this.#credentials.token) rememberToken(this.#credentials, this.#credentials.token);
    const onListenerError =
      options.onListenerError ??
      ((error, eventName) => console.error(`@softphone/websocket: a "${eventName}" listener threw`, error));
    this.#onListenerError = (error, eventName) => {
      try {
        onListenerError(error, eventName);
      } catch (thrown) {
        this.#reportFault("onListenerError", `onListenerError threw: ${messageOf(thrown)}`);
      }
    };
    const reportFault: FaultReporter = (callback, message) => this.#reportFault(callback, message);
    // The tokens held or used lately (provider tokens included: the socket actor adds them).
    const scrub = (text: string) => redact(text, this.#credentials.seen ?? []);
    this.#scrub = scrub;
    this.#errorFirstAcks = options.socketOptions?.ackTimeout !== undefined;
    const simulated = options.clock as (Clock & { now?: unknown }) | undefined;
    const clockNow = typeof simulated?.now === "function" ? () => (simulated.now as () => number)() : undefined;
    this.#log = options.logger
      ? createDebugLog({
          logger: options.logger,
          now: options.now ?? Date.now,
          monotonic: clockNow ?? monotonicNow,
          scrub,
          onError: (error) => {
            this.#onListenerError(error, "logger");
            this.#reportFault("logger", `the logger threw: ${messageOf(error)}`);
          },
        })
      : null;
    const inspectors = [
      ...(options.inspect ? [{ observer: options.inspect, name: "inspect" as const }] : []),
      ...(this.#log ? [{ observer: this.#log.inspect, name: "logger" as const }] : []),
    ];

    const machine = createConnectionMachine({
      random: options.random,
      now: options.now,
      // Durations follow the timers: a simulated clock's own time, otherwise the system's
      // monotonic clock (never the wall clock, which NTP or a person can step).
      monotonic: clockNow ?? monotonicNow,
      onCallbackFault: reportFault,
      retryDelay: options.retryDelay,
    }).provide({
      actors: {
        socket: createSocketActor({
          credentials: this.#credentials,
          tokenProvider,
          // A payload without a `token` key handshakes as it is, as io({ auth }) does.
          requireToken: tokenProvider !== undefined || (typeof auth === "object" && auth !== null && "token" in auth),
          authPayload,
          socketOptions: options.socketOptions,
          isAuthError: options.isAuthError,
          socketFactory: options.socketFactory,
          port: this.#port,
          onCallbackFault: reportFault,
        }),
      },
    });
    this.actor = createActor(machine, {
      input: {
        url: options.url,
        path: options.path ?? "/socket.io/",
        config,
        hasTokenProvider: tokenProvider !== undefined,
        customBackoff: options.retryDelay !== undefined,
      },
      ...(inspectors.length > 0 ? { inspect: combineInspectors(inspectors, reportFault) } : {}),
      ...(options.clock ? { clock: guardTimers(options.clock, reportFault) } : {}),
    });
    const settled = this.actor.on("request:settled", ({ ackId, response, error }) => {
      const pending = this.#acks.get(ackId);
      if (!pending) return;
      this.#acks.delete(ackId);
      if (error) pending.reject(new Error(error.message));
      else pending.resolve(response ?? []);
    });
    // A lost socket takes the acks it was waiting for with it (Socket.IO discards them): the
    // requests emitted on it fail now rather than at their timeout, and plain ack callbacks
    // are forgotten. What is still queued keeps waiting for the next connection.
    const lost = this.actor.on("connection:disconnected", ({ reason }) => {
      const { queue, callQueue } = this.actor.getSnapshot().context;
      const queued = new Set([...messagesInOrder(queue), ...messagesInOrder(callQueue)].map((message) => message.ackId));
      for (const [ackId, pending] of this.#acks) {
        if (queued.has(ackId)) continue;
        this.#acks.delete(ackId);
        pending.reject(new Error(`the connection was lost before the ack arrived (${reason})`));
      }
    });
    const logged = this.#log?.attach(this.actor);
    this.#internal = {
      unsubscribe: () => {
        settled.unsubscribe();
        lost.unsubscribe();
        logged?.unsubscribe();
      },
    };
    this.actor.start();
    this.#started = true;
    if (options.autoConnect) this.connect();
  }

  /** From `idle` or `exhausted`: start connecting with the attempt counter at 0. Elsewhere: no effect. */
  connect(): void {
    if (!this.#ignoredAfterDispose("connect")) this.actor.send({ type: "connect" });
  }

  /** Close the socket, cancel every timer, go to `idle`; nothing reconnects until `connect()`. */
  disconnect(): void {
    if (!this.#ignoredAfterDispose("disconnect")) this.actor.send({ type: "disconnect" });
  }

  /**
   * Close any current socket, reset the attempt counter, connect now. Resolves when
   * `connected`; rejects if the attempt ends in `authRequired`, `exhausted` or `idle`.
   * Concurrent calls join the attempt in flight: never a second socket.
   *
   * The returned promise rejects for whoever awaits it, but a call that nobody awaits
   * (fire and forget, e.g. from a button) does not raise an unhandled rejection: the
   * outcome is in the status and the events anyway.
   */
  forceReconnection(): Promise<void> {
    const outcome = this.#disposed
      ? Promise.reject(new Error("forceReconnection: the service is disposed"))
      : this.#reconnectNow();
    outcome.catch(() => {});
    return outcome;
  }

  #reconnectNow(): Promise<void> {
    // Called from a listener, the event waits in the actor's mailbox until the current step
    // ends: the promise must judge the outcome of its own attempt, not the state it was
    // called in. The chart records the ticket of the last forceReconnect it acted on.
    const ticket = ++this.#forceTickets;
    this.actor.send({ type: "forceReconnect", id: ticket });
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const check = (): void => {
        if (settled) return;
        const snapshot = this.actor.getSnapshot();
        const { context } = snapshot;
        const state = topLevelState(snapshot.value);
        const cause = context.lastError?.message;
        if (snapshot.status !== "active") {
          settled = true;
          reject(new Error("forceReconnection: the service was disposed"));
        } else if (context.forceId < ticket) {
          return; // not acted on yet
        } else if (state === "connected") {
          settled = true;
          resolve();
        } else if (state === "authRequired" || state === "exhausted" || state === "idle") {
          settled = true;
          reject(new Error(`forceReconnection ended in ${state}${cause ? `: ${cause}` : ""}`));
        } else if (state === "backingOff" && context.network === "offline") {
          // The one attempt a person asked for failed while the network is reported offline:
          // settle now rather than wait for an "online" that may never come.
          settled = true;
          reject(new Error(`forceReconnection failed while the network is reported offline${cause ? `: ${cause}` : ""}`));
        }
        if (settled) subscription?.unsubscribe();
      };
      // Declared after `check`: the actor never calls back during subscribe().
      const subscription: { unsubscribe(): void } | undefined = this.actor.subscribe({
        next: check,
        complete: check,
        error: check,
      });
      check();
    });
  }

  /** Emit to the server when connected; otherwise queue it (bounded by `maxQueueSize` and `queueTtl`). */
  send(event: string, ...args: unknown[]): void {
    this.sendWith({}, event, ...args);
  }

  /** `send` with per-message options: a shorter `ttl`, or `volatile` (drop rather than queue). */
  sendWith(options: SendOptions, event: string, ...args: unknown[]): void {
    checkEventName("send", event);
    if (options === null || typeof options !== "object") fail("send options", "an object", options);
    if (options.volatile !== undefined && typeof options.volatile !== "boolean") {
      fail("send options.volatile", "a boolean", options.volatile);
    }
    if (options.ttl !== undefined && !(typeof options.ttl === "number" && options.ttl > 0)) {
      fail("send options.ttl", "a number greater than 0", options.ttl);
    }
    checkPriority("send", options.priority);
    if (this.#ignoredAfterDispose("send")) return;
    const last = args.at(-1);
    const callback = typeof last === "function" ? (last as (...response: unknown[]) => void) : null;
    const payload = callback ? args.slice(0, -1) : args;
    const ackId = callback ? this.#nextAckId++ : undefined;
    if (callback && ackId !== undefined) this.#acks.set(ackId, this.#ackCallback(callback));
    // Fast path: on a healthy connection the socket actor emits at once, without a transition
    // of the chart (nothing in context changes). When its socket is not connected after all,
    // it does nothing and the send takes the chart's way, which queues it.
    const snapshot = this.actor.getSnapshot();
    // `value` is `{ connected: {...} }` while connected (a parallel state): a property read,
    // cheaper on this hot path than topLevelState().
    const connected = typeof snapshot.value === "object" && "connected" in snapshot.value;
    try {
      const direct = connected && !holdsSends(snapshot.context);
      if (direct && this.#port.emit?.(event, payload, ackId)) return;
      // Queued: find what Socket.IO could not encode now, while the caller can still be told,
      // rather than when the queue is flushed inside the chart.
      const unencodable = unencodableReason(payload);
      if (unencodable) throw new TypeError(`send: "${event}" cannot be encoded by Socket.IO: ${unencodable}`);
    } catch (error) {
      if (ackId !== undefined) this.#acks.delete(ackId);
      throw error;
    }
    this.actor.send({
      type: "send",
      event,
      args: payload,
      ackId,
      ttl: options.ttl,
      volatile: options.volatile,
      priority: options.priority,
    });
  }

  /**
   * The pending entry of a plain `send(..., callback)`: the callback gets exactly what
   * socket.io-client would give it: `(...response)`, or with `socketOptions.ackTimeout` the
   * error-first `(null, ...response)` and `(error)` when the ack will never come. Its throw is
   * reported, never let into the chart.
   */
  #ackCallback(callback: (...response: unknown[]) => void): { resolve(response: unknown[]): void; reject(error: Error): void } {
    const call = (...values: unknown[]) => {
      try {
        callback(...values);
      } catch (error) {
        this.#onListenerError(error, "ack");
        this.#reportFault("ack", `an ack callback threw: ${messageOf(error)}`);
      }
    };
    return this.#errorFirstAcks
      ? { resolve: (response) => call(null, ...response), reject: (error) => call(error) }
      : { resolve: (response) => call(...response), reject: () => {} };
  }

  /** Emit with an ack and resolve with the server's reply (its ack arguments). Rejects on timeout or drop. */
  request<T = unknown>(event: string, ...args: unknown[]): Promise<T> {
    return this.requestWith<T>({}, event, ...args);
  }

  /** `request` with a `timeout` (ack wait, queue time included) and a queue `ttl`. */
  requestWith<T = unknown>(options: RequestOptions, event: string, ...args: unknown[]): Promise<T> {
    checkEventName("request", event);
    if (options === null || typeof options !== "object") fail("request options", "an object", options);
    const context = this.actor.getSnapshot().context;
    const timeout = options.timeout ?? context.config.requestTimeout;
    if (!(typeof timeout === "number" && timeout > 0 && timeout <= MAX_TIMER_MS)) {
      fail("request options.timeout", `a number of ms greater than 0 and at most ${MAX_TIMER_MS}`, timeout);
    }
    if (options.ttl !== undefined && !(typeof options.ttl === "number" && options.ttl > 0)) {
      fail("request options.ttl", "a number greater than 0", options.ttl);
    }
    checkPriority("request", options.priority);
    if (this.#disposed) return Promise.reject(new Error(`request "${event}": the service is disposed`));
    const unencodable = unencodableReason(args);
    if (unencodable) throw new TypeError(`request: "${event}" cannot be encoded by Socket.IO: ${unencodable}`);
    const ackId = this.#nextAckId++;
    return new Promise<T>((resolve, reject) => {
      this.#acks.set(ackId, {
        resolve: (response) => resolve(response[0] as T),
        reject: (error) => reject(new Error(`request "${event}" failed: ${error.message}`)),
      });
      this.actor.send({ type: "send", event, args, ackId, timeout, ttl: options.ttl, priority: options.priority });
    });
  }

  /** Subscribe to a service event; returns the unsubscribe function. */
  on<K extends ServiceEventName>(name: K, listener: ServiceListener<K>): () => void {
    if (typeof name !== "string" || !SERVICE_EVENTS.has(name)) {
      throw new TypeError(
        `on: name must be one of the service events (${[...SERVICE_EVENTS].join(", ")}), got ${describeValue(name)}`,
      );
    }
    if (typeof listener !== "function") {
      throw new TypeError(`on("${name}"): listener must be a function, got ${describeValue(listener)}`);
    }
    if (this.#disposed) return () => {};
    let byListener = this.#subscriptions.get(name);
    if (!byListener) {
      byListener = new Map();
      this.#subscriptions.set(name, byListener);
    }
    if (!byListener.has(listener as AnyListener)) {
      const subscription = this.actor.on(name, (emitted) => {
        const { type: _type, ...payload } = emitted as { type: string };
        try {
          listener(payload as ServiceEventMap[K]);
        } catch (error) {
          this.#onListenerError(error, name);
        }
      });
      byListener.set(listener as AnyListener, subscription);
    }
    return () => this.off(name, listener);
  }

  /** Remove a listener added with `on`. */
  off<K extends ServiceEventName>(name: K, listener: ServiceListener<K>): void {
    const byListener = this.#subscriptions.get(name);
    byListener?.get(listener as AnyListener)?.unsubscribe();
    byListener?.delete(listener as AnyListener);
  }

  /** Whether `dispose()` was called (from then on every call is a no-op). */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** A plain snapshot of the connection. */
  getStatus(): WebSocketStatus {
    const snapshot = this.actor.getSnapshot();
    return statusOf(snapshot.value, snapshot.context, this.#disposed);
  }

  /**
   * The status as one stable object: the same reference for as long as nothing in it can
   * have changed (the chart's snapshot and `disposed`), a new one after. This is the
   * `getSnapshot` of `useSyncExternalStore` (React, or any binding), paired with
   * {@link subscribe}; `getStatus()` builds a fresh object on every call instead.
   */
  getStatusSnapshot(): WebSocketStatus {
    const snapshot = this.actor.getSnapshot();
    const cached = this.#statusCache;
    if (cached && cached.snapshot === snapshot && cached.status.disposed === this.#disposed) return cached.status;
    const status = statusOf(snapshot.value, snapshot.context, this.#disposed);
    this.#statusCache = { snapshot, status };
    return status;
  }

  /**
   * Calls `onChange` whenever the status may have changed (every chart snapshot, and when the
   * actor stops); returns the unsubscribe. The `subscribe` of `useSyncExternalStore`. A throw
   * in `onChange` is reported to `onListenerError` (as `"status"`), never into the chart.
   */
  subscribe(onChange: () => void): () => void {
    if (typeof onChange !== "function") {
      throw new TypeError(`subscribe: onChange must be a function, got ${describeValue(onChange)}`);
    }
    const notify = () => {
      try {
        onChange();
      } catch (error) {
        this.#onListenerError(error, "status");
      }
    };
    const subscription = this.actor.subscribe({ next: notify, error: notify, complete: notify });
    return () => subscription.unsubscribe();
  }

  /** The same number as `getStatus().healthScore`: 0..100, 0 when not connected. */
  getHealthScore(): number {
    return this.getStatus().healthScore;
  }

  /**
   * Store a new token; from `authRequired` this starts a new attempt at once, and during a
   * handshake it restarts the attempt with the new token. The token already held: no effect.
   */
  setAuthToken(token: string): void {
    if (typeof token !== "string" || token.length === 0) {
      throw new TypeError(`setAuthToken: token must be a non-empty string, got ${kindOf(token)}${typeof token === "string" ? " (empty)" : " (value not shown)"}`);
    }
    if (this.#ignoredAfterDispose("setAuthToken")) return;
    // The same token again changes nothing (an effect that re-sets it on every render must not
    // restart a handshake that is about to succeed).
    if (token === this.#credentials.token) return;
    // The token goes to the socket actor's credentials; the chart only hears that one came.
    this.#credentials.token = token;
    rememberToken(this.#credentials, token);
    this.actor.send({ type: "auth.updated" });
  }

  /** The network came back: an attempt at once, from `backingOff` and `exhausted`. */
  notifyOnline(): void {
    if (!this.#ignoredAfterDispose("notifyOnline")) this.actor.send({ type: "network.online" });
  }

  /** The network went away: no attempt is made or counted; a live socket is probed, not dropped. */
  notifyOffline(): void {
    if (!this.#ignoredAfterDispose("notifyOffline")) this.actor.send({ type: "network.offline" });
  }

  /** The machine woke from sleep: probe the connection at once (or retry now when backing off). */
  notifyResume(): void {
    if (!this.#ignoredAfterDispose("notifyResume")) this.actor.send({ type: "power.resume" });
  }

  /**
   * A call started (`true`) or ended (`false`). While a call is in progress: a heartbeat every
   * `callHeartbeatInterval`, reconnection that never gives up with delays capped at
   * `callMaxDelay`, a probe at once on a resume or an online signal, and a
   * `forceReconnection()` that keeps a working link. When the call ends the normal policy
   * returns, without a reconnection. See docs/call-mode.md.
   */
  setCallActive(active: boolean): void {
    if (typeof active !== "boolean") fail("setCallActive: active", "a boolean", active);
    if (!this.#ignoredAfterDispose("setCallActive")) this.actor.send({ type: "call.set", active });
  }

  /**
   * A function the app handed in threw or returned nonsense: announced once per function as
   * `callback:failed` (and so in the debug log); the connection goes on without it.
   */
  #reportFault(callback: CallbackName, message: string): void {
    if (this.#reportedFaults.has(callback) || this.#disposed) return;
    this.#reportedFaults.add(callback);
    const announce = () => {
      if (!this.#disposed) this.actor.send({ type: "callback.failed", callback, message: this.#scrub(message) });
    };
    // A fault while the service is being created (an inspect or logger that throws at the
    // actor's start) is announced right after: the app attaches its listeners in the same tick.
    if (this.#started) announce();
    else queueMicrotask(announce);
  }

  /** True (and logged) when the service is disposed: the call does nothing. */
  #ignoredAfterDispose(method: string): boolean {
    if (this.#disposed) this.#log?.ignored(method);
    return this.#disposed;
  }

  /** Stop for good: queued sends dropped (and announced), socket closed, timers and listeners released. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    const before = this.actor.getSnapshot();
    this.actor.send({ type: "dispose" });
    // Called from a listener or subscriber, i.e. while the chart is still in the middle of a
    // step: the dispose event waits in the actor's mailbox until that step ends (still in
    // this same call stack). Stopping now would discard it, and with it the announcements of
    // the queued sends. So let the chart finish, and release everything right after.
    if (this.actor.getSnapshot() === before) queueMicrotask(() => this.#release());
    else this.#release();
  }

  /** The end of `dispose()`: actor stopped, listeners removed, pending acks rejected. */
  #release(): void {
    this.actor.stop();
    this.#internal.unsubscribe();
    for (const byListener of this.#subscriptions.values()) {
      for (const subscription of byListener.values()) subscription.unsubscribe();
    }
    this.#subscriptions.clear();
    const pending = [...this.#acks.values()];
    this.#acks.clear();
    for (const { reject } of pending) reject(new Error("the service was disposed"));
  }
}

/** Creates a {@link WebSocketService}; throws a `TypeError` naming the culprit for bad options. */
export function createWebSocketService(options: WebSocketServiceOptions): WebSocketService {
  return new WebSocketService(options);
}
