import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { fromCallback } from "xstate";
import { type AuthErrorClassifier, isAuthRejection, retryAfterOf } from "./auth.js";
import { connectErrorInfo, errorInfo, kindOf, redact } from "./errors.js";
import type { SocketCommand, SocketEvent } from "./types.js";
import { UnconfirmedSends } from "./unconfirmedSends.js";

/**
 * WebSocket first: closing a WebSocket that is still connecting aborts its TCP connection,
 * while Engine.IO's polling transport leaves its pending request open until the server
 * answers (a hung server would keep one connection per timed-out attempt). Polling remains
 * the fallback for servers or proxies without WebSocket. Options that choose transports
 * themselves are left alone (engine.io-client rejects `transports` beside
 * `transportImplementations`).
 */
function defaultTransports(socketOptions: SocketIoOptions | undefined): SocketIoOptions {
  if (socketOptions?.transports !== undefined || "transportImplementations" in (socketOptions ?? {})) return {};
  return { transports: ["websocket", "polling"], tryAllTransports: true };
}

/** How many unconfirmed sends are remembered at most (older ones are assumed delivered). */
const UNCONFIRMED_LIMIT = 1000;

/** Returns the token for the next handshake; nothing (or "") means "no usable token". */
export type TokenProvider = () => string | null | undefined | Promise<string | null | undefined>;

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
  /** With auth configured, a missing token means `authRequired` instead of a handshake without one. */
  requireToken?: boolean;
  /** Extra fields of the handshake `auth` payload, next to `token`. */
  authPayload?: Record<string, unknown>;
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
  url: string;
  path: string;
  connectionTimeout: number;
}

/**
 * The one place Socket.IO lives: a callback actor holding at most one socket. The chart
 * commands it (`open`, `close`, `emit`, `heartbeat`); it reports what the socket does,
 * tagged with the generation of the socket so that the chart can ignore a stale one.
 */
export function createSocketActor(options: SocketActorOptions = {}) {
  const classify = options.isAuthError ?? isAuthRejection;
  const credentials: Credentials = options.credentials ?? { token: null };
  const factory: SocketFactory = options.socketFactory ?? ((url, socketOptions) => io(url, socketOptions));

  return fromCallback<SocketCommand, SocketActorInput, SocketEvent>(({ input, sendBack, receive }) => {
    let socket: Socket | null = null;
    let generation = 0;
    let stopped = false;
    // Delivery evidence for the current socket: sends after the last acked heartbeat are
    // unconfirmed. Kept here, not in the chart's context, so that a send costs no transition.
    // Tracking stops when the chart finds that this server does not ack heartbeats, but only
    // once the server has shown it is alive (a ping or a message after that finding): a first
    // ack lost to a link that died right after the handshake looks the same as a server that
    // never acks, and the sends made on that dead link must still be announced when it drops.
    // "on": remembering; "untilAlive": the chart found no acks, stop at the first sign of life;
    // "off": a live server that does not ack, nothing is remembered.
    let tracking: "on" | "untilAlive" | "off" = "on";
    let lastHeartbeatSeq = 0;
    // Every token held or used lately is redacted from every text this actor reports.
    const scrub = (message: string) => redact(message, [credentials.token, ...(credentials.seen ?? [])]);
    const unconfirmed = new UnconfirmedSends(UNCONFIRMED_LIMIT);

    const reportUnconfirmed = (forGeneration: number) => {
      if (unconfirmed.size > 0) {
        const messages = unconfirmed.drain();
        report({ type: "socket.unconfirmed", generation: forGeneration, messages });
      }
    };

    const report = (event: SocketEvent) => {
      if (!stopped) sendBack(event);
    };

    const close = () => {
      const current = socket;
      socket = null;
      if (!current) return;
      current.offAny();
      current.removeAllListeners();
      current.io.removeAllListeners();
      current.disconnect();
      // With forceNew the manager serves only this socket; closing it releases the transport at once.
      current.io.engine?.close();
    };

    const handshake = (forGeneration: number, token: string | null) => {
      if (token !== null) rememberToken(credentials, token);
      const auth =
        token === null ? { ...options.authPayload } : { ...options.authPayload, token };
      const created = factory(input.url, {
        ...defaultTransports(options.socketOptions),
        ...options.socketOptions,
        path: input.path,
        auth,
        reconnection: false,
        forceNew: true,
        autoConnect: false,
        multiplex: false,
        timeout: input.connectionTimeout,
      });
      socket = created;
      tracking = "on";
      lastHeartbeatSeq = 0;
      unconfirmed.clear();
      const alive = () => {
        if (tracking !== "untilAlive" || socket !== created) return;
        tracking = "off";
        unconfirmed.clear();
      };
      created.io.on("ping", alive);
      created.on("connect", () => {
        report({ type: "socket.connected", generation: forGeneration, socketId: created.id ?? "" });
      });
      created.on("connect_error", (error: Error & { data?: unknown }) => {
        const authRejected = classify({ message: error.message, data: error.data });
        // A rejected token is not tried again on its own: the next handshake asks the provider
        // (or waits in authRequired for setAuthToken). A token set meanwhile is kept.
        if (authRejected && token !== null && credentials.token === token) credentials.token = null;
        report({
          type: "socket.connectFailed",
          generation: forGeneration,
          error: { message: scrub(connectErrorInfo(error).message) },
          authRejected,
          retryAfter: retryAfterOf(error.data),
        });
      });
      created.on("disconnect", (reason) => {
        report({ type: "socket.disconnected", generation: forGeneration, reason });
        reportUnconfirmed(forGeneration);
      });
      created.onAny((event: string, ...args: unknown[]) => {
        alive();
        report({ type: "socket.message", generation: forGeneration, event, args });
      });
      created.connect();
    };

    /**
     * The provider's answer: a string, or the reason there is no usable token. A non-string is
     * described by its kind only: it may well be the token in the wrong wrapper (`{ token }`).
     */
    const askProvider = async (provider: TokenProvider): Promise<{ token: string } | { missing: string }> => {
      const answer: unknown = await provider();
      if (answer === null || answer === undefined || answer === "") return { missing: "token provider returned no token" };
      if (typeof answer !== "string") return { missing: `token provider returned ${kindOf(answer)}; expected a string` };
      return { token: answer };
    };

    const open = async (forGeneration: number) => {
      close();
      generation = forGeneration;
      let token = credentials.token || null;
      const provider = options.tokenProvider;
      if (!token && provider) {
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
        token = answer.token;
      }
      if (!token && options.requireToken) {
        report({ type: "socket.tokenMissing", generation: forGeneration, reason: "no auth token available" });
        return;
      }
      handshake(forGeneration, token);
    };

    const emitNow = (event: string, args: unknown[], ackId: number | undefined): boolean => {
      if (!socket?.connected) return false;
      if (ackId === undefined) {
        socket.emit(event, ...args);
        if (tracking !== "off") unconfirmed.add(event, args, lastHeartbeatSeq);
      } else {
        socket.emit(event, ...args, (...response: unknown[]) => {
          report({ type: "socket.ack", ackId, response });
        });
      }
      return true;
    };
    if (options.port) options.port.emit = emitNow;

    receive((command) => {
      switch (command.type) {
        case "open":
          open(command.generation).catch((error: unknown) => {
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
          if (tracking === "on") tracking = "untilAlive";
          break;
        case "close":
          if (command.announceUnconfirmed) reportUnconfirmed(generation);
          generation = -1; // a handshake still waiting for its token must not start
          close();
          break;
        case "emit": {
          const { event, args, ackId, ttl, volatile } = command;
          // The chart thought the socket was up, but it is gone: queue the message again.
          if (!emitNow(event, args, ackId)) report({ type: "socket.undelivered", event, args, ackId, ttl, volatile });
          break;
        }
        case "heartbeat": {
          if (!socket?.connected || command.generation !== generation) return;
          const { seq } = command;
          lastHeartbeatSeq = seq;
          const acked = socket;
          socket.emit("heartbeat", () => {
            if (acked === socket) {
              // The server answered a heartbeat sent after these: TCP delivered them first.
              unconfirmed.confirm(seq);
              // A late ack: this server does ack after all, keep (or start again) tracking.
              tracking = "on";
            }
            report({ type: "socket.heartbeatAck", generation: command.generation, seq });
          });
          break;
        }
      }
    });

    return () => {
      if (options.port?.emit === emitNow) options.port.emit = null;
      stopped = true;
      close();
    };
  });
}
