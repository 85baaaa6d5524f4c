import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { fromCallback } from "xstate";
import { type AuthErrorClassifier, isAuthRejection, retryAfterOf, retryWindowOf } from "./auth.js";
import { MAX_TIMER_MS } from "./config.js";
import type { FaultReporter } from "./environment.js";
import { connectErrorInfo, errorInfo, kindOf, plainData, redact } from "./errors.js";
import type { SocketCommand, SocketEvent } from "./types.js";
import { UnconfirmedSends } from "./unconfirmedSends.js";

/** The transport an attempt starts with, when the app leaves the choice to the service. */
export type TransportChoice = "websocket" | "polling";

/**
 * One transport per attempt, so that a refused attempt costs the server one request, not two.
 * WebSocket first: closing a WebSocket that is still connecting aborts its TCP connection,
 * while Engine.IO's polling transport leaves its pending request open until the server
 * answers (a hung server would keep one connection per timed-out attempt). Polling is tried
 * when WebSocket itself failed (see {@link isTransportBlocked}), and upgrades to WebSocket
 * once connected, as plain Socket.IO does. Options that choose transports themselves are
 * left alone (engine.io-client rejects `transports` beside `transportImplementations`).
 */
function transportsFor(socketOptions: SocketIoOptions, choice: TransportChoice): SocketIoOptions {
  if (choosesTransports(socketOptions)) return {};
  return choice === "websocket"
    ? { transports: ["websocket"], tryAllTransports: false }
    : { transports: ["polling", "websocket"], tryAllTransports: false };
}

function choosesTransports(socketOptions: SocketIoOptions): boolean {
  return socketOptions.transports !== undefined || socketOptions.transportImplementations !== undefined;
}

/**
 * Whether a failed handshake says that the transport itself could not be used (a proxy or
 * firewall without WebSocket), so that the other one deserves the next attempt. Not when the
 * server answered (a refusal by a middleware, an HTTP status other than a WebSocket's 400),
 * nor when nothing answers at all (the host refused the TCP connection or it timed out: the
 * other transport would fail alike). A browser's WebSocket error says none of this, so there
 * a WebSocket transport error counts as blocked. The chart's own connect timeout is not a
 * transport error: a WebSocket that hangs (rather than fails) is retried as WebSocket, since a
 * hung server would hold a polling request open per attempt.
 */
export function isTransportBlocked(error: unknown): boolean {
  if (error === null || typeof error !== "object") return false;
  const { type, description, message } = error as { type?: unknown; description?: unknown; message?: unknown };
  if (type !== "TransportError" && message !== "websocket error" && message !== "xhr poll error") return false;
  if (typeof description === "number") return description === 0; // an HTTP status: the server answered
  const detail =
    description !== null && typeof description === "object"
      ? [(description as { message?: unknown }).message, (description as { error?: { code?: unknown } }).error?.code]
          .filter((part) => typeof part === "string")
          .join(" ")
      : typeof description === "string"
        ? description
        : "";
  // Engine.IO answers 400 to every upgrade it will not take: a polling-only server
  // ("Transport unknown") and a proxy that dropped the Upgrade header look like this, and a
  // browser would not even see the status. Polling gets the next attempt; a refusal there
  // (allowRequest's 403, a middleware's CONNECT_ERROR) is not taken for a blocked transport.
  if (message === "websocket error" && /Unexpected server response: 400\b/.test(detail)) return true;
  // The server answered with an HTTP status (not a bare number: "10.0.0.1:443" is an address).
  if (/Unexpected server response/.test(detail)) return false;
  // Nothing answers at all: the other transport would fail alike.
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ETIMEDOUT/.test(detail)) return false;
  return true;
}

/** The options given, without keys set to `undefined` (a spread would let them erase a default). */
function definedOptions(socketOptions: SocketIoOptions | undefined): SocketIoOptions {
  return Object.fromEntries(Object.entries(socketOptions ?? {}).filter(([, value]) => value !== undefined));
}

/**
 * Unconfirmed sends between two confirmation probes: when this many sends wait for proof of
 * delivery, the actor asks the server for one (an extra acked heartbeat) instead of
 * forgetting any of them.
 */
const CONFIRM_EVERY = 256;

/**
 * Heartbeats a live server may leave unanswered in a row before the actor concludes that it
 * does not ack them at all and stops keeping delivery evidence. One slow first ack is not
 * enough: that server does ack, and the sends made meanwhile must stay tracked.
 */
const UNANSWERED_BEFORE_UNTRACKED = 2;

/**
 * The longest wait, when a connected socket is replaced, for the server to answer its close
 * before the next handshake goes out. On a live link that takes a round trip; a dead link
 * never answers, and the attempt must not wait for it.
 */
const REPLACE_WAIT_MS = 250;

/** The handshake `auth` payload: free fields, and `token` when the app uses one. */
export type AuthPayload = { token?: string | null } & Record<string, unknown>;

/**
 * Returns the token for the next handshake, or the whole `auth` payload (fields with or
 * without a `token`); nothing (or "") means "no usable token".
 */
export type TokenProvider = () =>
  | string
  | AuthPayload
  | null
  | undefined
  | Promise<string | AuthPayload | null | undefined>;

/**
 * Where the token lives: with the socket actor, never in the chart's context or events
 * (those are printable, logged and shown in the inspector). The service writes it
 * (`auth: { token }`, `setAuthToken`); the actor reads it before each handshake and forgets
 * it when the server rejects it.
 */
export interface Credentials {
  token: string | null;
  /**
   * The latest tokens held or used (static, set, or from the provider), newest last, for
   * redaction: whoever prints text that may quote one (the actor's error texts, the
   * service's debug log) replaces them. Kept to the last {@link REMEMBERED_TOKENS}.
   */
  seen?: Set<string>;
}

/** How many recent tokens {@link Credentials.seen} keeps for redaction. */
export const REMEMBERED_TOKENS = 16;

/** Adds `token` to the tokens redacted from every text (bounded to the most recent ones). */
export function rememberToken(credentials: Credentials, token: string): void {
  const seen = (credentials.seen ??= new Set());
  seen.delete(token);
  seen.add(token);
  for (const oldest of seen) {
    if (seen.size <= REMEMBERED_TOKENS) break;
    seen.delete(oldest);
  }
}

/** Options of Socket.IO's `io()` the service passes through (its own reconnection is always off). */
export type SocketIoOptions = Partial<ManagerOptions & SocketOptions>;

/** Creates the socket; `io` from socket.io-client unless a test injects another. */
export type SocketFactory = (url: string, options: SocketIoOptions) => Socket;

export interface SocketActorOptions {
  /** The static token, shared with whoever sets it later. @default { token: null } */
  credentials?: Credentials;
  /** Asked before every handshake when no token is held in `credentials`. */
  tokenProvider?: TokenProvider;
  /**
   * With a token-based auth configured (a `token` key, or a provider), a missing token means
   * `authRequired` instead of a handshake without one.
   */
  requireToken?: boolean;
  /** Extra fields of the handshake `auth` payload, next to `token` (sent as they are without one). */
  authPayload?: Record<string, unknown>;
  /** Told when `isAuthError` or the token provider misbehaves (the default classifier takes over). */
  onCallbackFault?: FaultReporter;
  socketOptions?: SocketIoOptions;
  isAuthError?: AuthErrorClassifier;
  socketFactory?: SocketFactory;
  /**
   * Filled in by the running actor with a direct emit on its socket, for the service's send
   * fast path on a healthy link (no event through the actor system per message). Returns
   * false, having done nothing, when no socket is connected.
   */
  port?: SocketPort;
}

/** See {@link SocketActorOptions.port}. */
export interface SocketPort {
  emit: ((event: string, args: unknown[], ackId?: number) => boolean) | null;
}

/** The socket actor's input, computed by the chart from context. */
export interface SocketActorInput {
  /** The server when an `open` command names none. */
  url: string;
  path: string;
  connectionTimeout: number;
}

/** The wire payload of a planned restart (`softphone:drain`, docs/server.md), when it is well formed. */
function drainNoticeOf(args: unknown[]): { reconnectAfter: number; windowMs: number; slot: number | null } | null {
  const notice = args[0];
  if (notice === null || typeof notice !== "object") return null;
  const { reconnectAfter, windowMs, slot } = notice as Record<string, unknown>;
  const ms = (value: unknown): value is number =>
    typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= MAX_TIMER_MS;
  if (!ms(reconnectAfter) || !ms(windowMs)) return null;
  if (slot !== undefined && slot !== null && !ms(slot)) return null;
  return { reconnectAfter, windowMs, slot: ms(slot) ? slot : null };
}

/** The event a server sends before a planned restart (see docs/server.md). */
export const DRAIN_EVENT = "softphone:drain";

/** An http(s) URL for a ws(s) one: the probe is a plain HTTP request. */
function httpUrlOf(url: string, path: string): string {
  const target = new URL(url);
  if (target.protocol === "ws:") target.protocol = "http:";
  if (target.protocol === "wss:") target.protocol = "https:";
  target.pathname = path;
  target.search = "";
  return target.toString();
}

/** socket.io-client's private session fields (Connection State Recovery), read and seeded here. */
interface RecoverableSocket {
  _pid?: string;
  _lastOffset?: string;
  recovered?: boolean;
}

/**
 * The server's ping window (pingInterval + pingTimeout from the Engine.IO handshake, ms): how
 * long it keeps a socket whose link went silent. `null` when the engine does not say.
 */
function pingWindowOf(socket: Socket): number | null {
  const engine = socket.io.engine as unknown as { _pingInterval?: unknown; _pingTimeout?: unknown } | undefined;
  const interval = engine?._pingInterval;
  const timeout = engine?._pingTimeout;
  return typeof interval === "number" && typeof timeout === "number" && interval > 0 && timeout > 0 ? interval + timeout : null;
}

/** The private session fields of a socket (typed apart: TypeScript hides them on `Socket`). */
function sessionFields(socket: Socket): RecoverableSocket {
  return socket as unknown as RecoverableSocket;
}

/** An ack callback that socket.io-client calls as `(err, ...response)` in every mode. */
type ErrorFirstAck = ((error: Error | null, ...response: unknown[]) => void) & { withError?: boolean };

/**
 * An ack callback in socket.io-client's error-first form: with it, socket.io-client calls it
 * as `(null, ...response)` on an ack and `(error)` when the ack will never come (the socket
 * was lost, or `ackTimeout` ran out), whether or not `ackTimeout` is set. The actor's own
 * acks are all of this form, so an `ackTimeout` in `socketOptions` cannot turn a timeout
 * into a response.
 */
function errorFirst(callback: (error: Error | null, response: unknown[]) => void): ErrorFirstAck {
  const ack: ErrorFirstAck = (error, ...response) => callback(error ?? null, response);
  ack.withError = true;
  return ack;
}

/**
 * The one place Socket.IO lives: a callback actor holding at most one socket. The chart
 * commands it (`open`, `close`, `emit`, `heartbeat`); it reports what the socket does,
 * tagged with the generation of the socket so that the chart can ignore a stale one.
 */
export function createSocketActor(options: SocketActorOptions = {}) {
  const reportFault: FaultReporter = options.onCallbackFault ?? (() => {});
  const userClassifier = options.isAuthError;
  const classify: AuthErrorClassifier = userClassifier
    ? (rejection) => {
        try {
          const verdict: unknown = userClassifier(rejection);
          if (typeof verdict === "boolean") return verdict;
          reportFault("isAuthError", `isAuthError returned ${kindOf(verdict)}, not a boolean; the default classifier decided`);
        } catch (error) {
          reportFault("isAuthError", `isAuthError threw: ${errorInfo(error).message}; the default classifier decided`);
        }
        return isAuthRejection(rejection);
      }
    : isAuthRejection;
  const credentials: Credentials = options.credentials ?? { token: null };
  const factory: SocketFactory = options.socketFactory ?? ((url, socketOptions) => io(url, socketOptions));
  // With ackTimeout socket.io-client drops an ack when its timer runs out: the heartbeat gets
  // a timer of its own long enough that a late ack still counts as a round trip.
  const socketOptions = definedOptions(options.socketOptions);
  const usesAckTimeout = socketOptions.ackTimeout !== undefined;
  /** socket.io-client's ack errors, said in this package's terms. */
  const ackErrorText = (error: Error): string =>
    error.message === "operation has timed out"
      ? `the server did not ack within socketOptions.ackTimeout (${String(socketOptions.ackTimeout)} ms)`
      : error.message === "socket has been disconnected"
        ? "the connection was lost before the ack arrived"
        : error.message;

  return fromCallback<SocketCommand, SocketActorInput, SocketEvent>(({ input, sendBack, receive }) => {
    let socket: Socket | null = null;
    let generation = 0;
    let stopped = false;
    // The session of the last socket that connected, offered for recovery by the next one.
    // A deliberate close forgets it (the server discards it too).
    let lastConnected: Socket | null = null;
    // Delivery evidence for the current socket: sends after the last acked probe are
    // unconfirmed. Kept here, not in the chart's context, so that a send costs no transition.
    // "on": remembering. "off": a live server that left several heartbeats unanswered in a
    // row does not ack them; nothing can prove delivery there, so nothing is remembered.
    let tracking: "on" | "off" = "on";
    // Heartbeats the chart found unanswered in a row, and whether the server showed it is
    // alive since the first of them (a ping or a message).
    let unanswered = 0;
    let aliveSinceUnanswered = false;
    // Probes (chart heartbeats and the actor's own confirmation probes) emitted on this socket.
    let probes = 0;
    let confirmationPending = false;
    // The bounded wait for a replaced socket's close (see transportClosed); cleared on stop.
    const replaceTimers = new Set<ReturnType<typeof setTimeout>>();
    // Every token held or used lately is redacted from every text this actor reports.
    const scrub = (message: string) => redact(message, [credentials.token, ...(credentials.seen ?? [])]);
    const unconfirmed = new UnconfirmedSends();

    const reportUnconfirmed = (forGeneration: number) => {
      if (unconfirmed.size > 0) {
        const messages = unconfirmed.drain();
        report({ type: "socket.unconfirmed", generation: forGeneration, messages });
      }
    };

    const report = (event: SocketEvent) => {
      if (!stopped) sendBack(event);
    };

    const close = (graceful: boolean) => {
      const current = socket;
      socket = null;
      if (graceful) lastConnected = null;
      if (!current) return;
      current.offAny();
      current.removeAllListeners();
      current.io.removeAllListeners();
      // A deliberate end tells the server (it discards the session). A loss only drops the
      // transport: the server sees "transport close" and, with Connection State Recovery,
      // keeps the session for the next handshake to restore.
      if (graceful) current.disconnect();
      // With forceNew the manager serves only this socket; closing it releases the transport at once.
      current.io.engine?.close();
      current.disconnect();
    };

    /** Sends an acked probe; its ack proves every send emitted before it arrived. */
    const probe = (onAck: (error: Error | null) => void): boolean => {
      if (!socket?.connected) return false;
      probes += 1;
      const mark = probes;
      const probed = socket;
      const ack = errorFirst((error) => {
        if (!error && probed === socket) {
          // TCP delivered everything emitted before this probe.
          unconfirmed.confirm(mark);
          // An ack: this server does ack, keep (or start again) tracking.
          tracking = "on";
          unanswered = 0;
          aliveSinceUnanswered = false;
        }
        onAck(error);
      });
      try {
        (usesAckTimeout ? probed.timeout(MAX_TIMER_MS) : probed).emit("heartbeat", ack);
      } catch {
        return false; // cannot happen with no arguments; never let it escape the actor
      }
      return true;
    };

    const askConfirmation = () => {
      if (confirmationPending || tracking === "off") return;
      confirmationPending = probe(() => {
        confirmationPending = false;
      });
    };

    // Per server: the transport the next attempt starts with (the one that worked last, or the
    // other one after the transport itself failed).
    const transportOf = new Map<string, TransportChoice>();
    // Background checks of a server (fail-back), aborted on stop.
    const serverChecks = new Set<AbortController>();

    const handshake = (forGeneration: number, payload: Record<string, unknown>, url: string, offerSession: boolean) => {
      const choice = transportOf.get(url) ?? "websocket";
      const created = factory(url, {
        ...transportsFor(socketOptions, choice),
        ...socketOptions,
        path: input.path,
        auth: payload,
        reconnection: false,
        forceNew: true,
        autoConnect: false,
        multiplex: false,
        timeout: input.connectionTimeout,
      });
      // Offer the session of the socket that was lost, as socket.io-client does for its own
      // reconnections: it sends pid and offset with the CONNECT packet when `_pid` is set, and
      // sets `recovered` when the server restores that session.
      const previous = lastConnected && offerSession ? sessionFields(lastConnected) : null;
      if (previous?._pid) {
        const offered = sessionFields(created);
        offered._pid = previous._pid;
        offered._lastOffset = previous._lastOffset;
      }
      socket = created;
      tracking = "on";
      unanswered = 0;
      aliveSinceUnanswered = false;
      probes = 0;
      confirmationPending = false;
      unconfirmed.clear();
      const alive = () => {
        if (socket !== created || unanswered === 0) return;
        aliveSinceUnanswered = true;
      };
      created.io.on("ping", alive);
      created.on("connect", () => {
        lastConnected = created;
        // Remember the transport that worked (a fake socket may have no engine to ask).
        const engine = created.io.engine as
          | { transport?: { name?: unknown }; on?: (event: "upgrade", listener: () => void) => void }
          | undefined;
        const name = engine?.transport?.name;
        if (name === "websocket" || name === "polling") transportOf.set(url, name);
        if (typeof engine?.on === "function") {
          engine.on("upgrade", () => {
            if (socket === created) transportOf.set(url, "websocket");
          });
        }
        report({
          type: "socket.connected",
          generation: forGeneration,
          socketId: created.id ?? "",
          recovered: sessionFields(created).recovered === true,
          recoverableWithin: sessionFields(created)._pid ? pingWindowOf(created) : null,
        });
      });
      created.on("connect_error", (error: Error & { data?: unknown }) => {
        const authRejected = classify({ message: error.message, data: error.data });
        // A rejected token is not tried again on its own: the next handshake asks the provider
        // (or waits in authRequired for setAuthToken). A token set meanwhile is kept.
        const token = typeof payload.token === "string" ? payload.token : null;
        if (authRejected && token !== null && credentials.token === token) credentials.token = null;
        const data = error.data === undefined ? undefined : plainData(error.data, scrub);
        if (!choosesTransports(socketOptions) && isTransportBlocked(error)) {
          transportOf.set(url, choice === "websocket" ? "polling" : "websocket");
        }
        report({
          type: "socket.connectFailed",
          generation: forGeneration,
          error: { message: scrub(connectErrorInfo(error).message), ...(data === undefined ? {} : { data }) },
          authRejected,
          retryAfter: retryAfterOf(error.data),
          retryWindow: retryWindowOf(error.data),
        });
      });
      created.on("disconnect", (reason) => {
        // Taken before the loss is reported: the chart handles the report at once, and a
        // listener that forces a reconnection there opens the next socket (which starts with
        // an empty memory) before this handler goes on.
        const lost = unconfirmed.size > 0 ? unconfirmed.drain() : [];
        report({ type: "socket.disconnected", generation: forGeneration, reason });
        if (lost.length > 0) report({ type: "socket.unconfirmed", generation: forGeneration, messages: lost });
      });
      created.onAny((event: string, ...args: unknown[]) => {
        alive();
        const notice = event === DRAIN_EVENT ? drainNoticeOf(args) : null;
        if (notice) {
          report({ type: "socket.drainNotice", generation: forGeneration, ...notice });
          return;
        }
        report({ type: "socket.message", generation: forGeneration, event, args });
      });
      created.connect();
    };

    /**
     * The provider's answer: a token string or a whole payload, or the reason there is no
     * usable token. A wrong value is described by its kind only: it may well be the token.
     */
    const askProvider = async (provider: TokenProvider): Promise<{ payload: Record<string, unknown> } | { missing: string }> => {
      const answer: unknown = await provider();
      if (answer === null || answer === undefined || answer === "") return { missing: "token provider returned no token" };
      if (typeof answer === "string") return { payload: { ...options.authPayload, token: answer } };
      if (typeof answer === "object" && !Array.isArray(answer)) {
        const payload = answer as Record<string, unknown>;
        if (!("token" in payload)) return { payload: { ...payload } };
        if (typeof payload.token === "string" && payload.token.length > 0) return { payload: { ...payload } };
        if (payload.token === null || payload.token === undefined || payload.token === "") {
          return { missing: "token provider returned a payload without a token" };
        }
        return { missing: `token provider returned a payload whose token is ${kindOf(payload.token)}; expected a string` };
      }
      return { missing: `token provider returned ${kindOf(answer)}; expected a string or an auth payload object` };
    };

    const open = async (forGeneration: number, url: string, offerSession: boolean) => {
      const replaced = socket?.connected ? socket : null;
      // A connected socket replaced (forceReconnection(), usually pressed because the link
      // seems dead): what it could not confirm is announced, not forgotten with it.
      if (replaced) reportUnconfirmed(generation);
      const gone = replaced ? transportClosed(replaced) : null;
      close(false);
      generation = forGeneration;
      // Let the server see the old socket go before the new one arrives (never two sockets
      // of this service on the server), bounded: a dead link never answers the close.
      if (gone) {
        await gone;
        if (stopped || generation !== forGeneration) return;
      }
      let payload: Record<string, unknown> | null = credentials.token
        ? { ...options.authPayload, token: credentials.token }
        : null;
      const provider = options.tokenProvider;
      if (!payload && provider) {
        report({ type: "socket.awaitingToken", generation: forGeneration, awaiting: true });
        let answer: Awaited<ReturnType<typeof askProvider>>;
        try {
          answer = await askProvider(provider);
        } catch (error) {
          if (!stopped && generation === forGeneration) {
            report({
              type: "socket.connectFailed",
              generation: forGeneration,
              error: { message: scrub(`token provider failed: ${errorInfo(error).message}`) },
              authRejected: false,
              retryAfter: null,
            });
          }
          return;
        }
        // A newer open or a close arrived while the provider was busy (the chart's connect
        // timeout bounds the wait): this answer is stale.
        if (stopped || generation !== forGeneration) return;
        report({ type: "socket.awaitingToken", generation: forGeneration, awaiting: false });
        if ("missing" in answer) {
          report({ type: "socket.tokenMissing", generation: forGeneration, reason: answer.missing });
          return;
        }
        payload = answer.payload;
      }
      if (!payload && options.requireToken) {
        report({ type: "socket.tokenMissing", generation: forGeneration, reason: "no auth token available" });
        return;
      }
      payload ??= { ...options.authPayload };
      if (typeof payload.token === "string") rememberToken(credentials, payload.token);
      handshake(forGeneration, payload, url, offerSession);
    };

    /**
     * Whether `url` answers HTTP at the Socket.IO path, without opening a socket (no session,
     * no second connection): any answer below 500 (Engine.IO answers a bare request with 400),
     * or an opaque one in a browser (no CORS needed to know the host is up).
     */
    const probeServer = async (url: string, timeout: number): Promise<{ ok: boolean; error?: string }> => {
      if (typeof fetch !== "function") return { ok: false, error: "fetch is not available to check the server" };
      const controller = new AbortController();
      serverChecks.add(controller);
      const timer = setTimeout(() => controller.abort(), timeout);
      try {
        const response = await fetch(httpUrlOf(url, input.path), {
          mode: "no-cors",
          cache: "no-store",
          // Node keeps the connection otherwise; a browser ignores the header.
          headers: { connection: "close" },
          signal: controller.signal,
        });
        await response.body?.cancel().catch(() => {});
        return response.type === "opaque" || response.status < 500
          ? { ok: true }
          : { ok: false, error: `the server answered ${response.status}` };
      } catch (error) {
        return { ok: false, error: errorInfo(error).message };
      } finally {
        clearTimeout(timer);
        serverChecks.delete(controller);
      }
    };

    /**
     * Emits on the connected socket. Returns false, having done nothing, when no socket is
     * connected; throws a TypeError (nothing sent) when Socket.IO cannot encode the arguments.
     */
    const emitNow = (event: string, args: unknown[], ackId: number | undefined): boolean => {
      const current = socket;
      if (!current?.connected) return false;
      try {
        if (ackId === undefined) {
          current.emit(event, ...args);
        } else {
          current.emit(
            event,
            ...args,
            errorFirst((error, response) => {
              report(
                error
                  ? { type: "socket.ack", ackId, error: { message: ackErrorText(error) } }
                  : { type: "socket.ack", ackId, response },
              );
            }),
          );
        }
      } catch (error) {
        throw new TypeError(`"${event}" cannot be encoded by Socket.IO: ${errorInfo(error).message}`);
      }
      if (ackId === undefined && tracking === "on") {
        unconfirmed.add(event, args, probes);
        if (unconfirmed.size % CONFIRM_EVERY === 0) askConfirmation();
      }
      return true;
    };
    if (options.port) options.port.emit = emitNow;
    // A fresh chart is idle and ignores this; a restarted or restored one learns that the
    // socket it believes in is not there.
    sendBack({ type: "socket.started" });

    receive((command) => {
      switch (command.type) {
        case "open":
          open(command.generation, command.url ?? input.url, command.offerSession !== false).catch((error: unknown) => {
            // io() itself can throw on options it rejects: one failed attempt, named.
            report({
              type: "socket.connectFailed",
              generation: command.generation,
              error: { message: scrub(`could not create the socket: ${errorInfo(error).message}`) },
              authRejected: false,
              retryAfter: null,
            });
          });
          break;
        case "stopDeliveryTracking":
          // The chart saw a heartbeat go unanswered. Only a server that stays alive through
          // several of them in a row is one that does not ack: stop remembering then.
          unanswered += 1;
          if (unanswered >= UNANSWERED_BEFORE_UNTRACKED && aliveSinceUnanswered && tracking === "on") {
            tracking = "off";
            unconfirmed.clear();
          }
          break;
        case "close":
          if (command.announceUnconfirmed) reportUnconfirmed(generation);
          generation = -1; // a handshake still waiting for its token must not start
          close(command.graceful === true);
          break;
        case "emit": {
          const { event, args, ackId, ttl, volatile } = command;
          let sent: boolean;
          try {
            sent = emitNow(event, args, ackId);
          } catch (error) {
            report({ type: "socket.unencodable", event, args, ackId, message: errorInfo(error).message });
            break;
          }
          // The chart thought the socket was up, but it is gone: queue the message again.
          if (!sent) report({ type: "socket.undelivered", event, args, ackId, ttl, volatile, priority: command.priority });
          break;
        }
        case "probe": {
          const { url } = command;
          void probeServer(url, command.timeout).then((result) => report({ type: "socket.probed", url, ...result }));
          break;
        }
        case "heartbeat": {
          if (!socket?.connected || command.generation !== generation) return;
          const { seq } = command;
          probe((error) => {
            if (!error) report({ type: "socket.heartbeatAck", generation: command.generation, seq });
          });
          break;
        }
      }
    });

    /**
     * Resolves when the socket's WebSocket has closed (the server answered the close), or after
     * {@link REPLACE_WAIT_MS}; null (nothing to wait for, the handshake goes on in the same
     * tick) for polling, whose close is one request already sent, or a socket without one.
     */
    const transportClosed = (closing: Socket): Promise<void> | null => {
      const ws = (closing.io.engine?.transport as { ws?: unknown } | undefined)?.ws as
        | { readyState?: number; addEventListener?: (type: "close", listener: () => void) => void }
        | undefined;
      if (!ws || typeof ws.addEventListener !== "function" || ws.readyState === 3) return null;
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          replaceTimers.delete(timer);
          resolve();
        };
        const timer = setTimeout(done, REPLACE_WAIT_MS);
        replaceTimers.add(timer);
        ws.addEventListener?.("close", done);
      });
    };

    return () => {
      if (options.port?.emit === emitNow) options.port.emit = null;
      stopped = true;
      for (const controller of serverChecks) controller.abort();
      for (const timer of replaceTimers) clearTimeout(timer);
      replaceTimers.clear();
      close(false);
    };
  });
}
