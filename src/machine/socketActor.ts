import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";
import { fromCallback } from "xstate";
import { type AuthErrorClassifier, errorInfo, isAuthRejection, retryAfterOf } from "./auth.js";
import type { SocketCommand, SocketEvent } from "./types.js";

/** Returns the token for the next handshake; nothing (or "") means "no usable token". */
export type TokenProvider = () => string | null | undefined | Promise<string | null | undefined>;

/** Options of Socket.IO's `io()` the service passes through (its own reconnection is always off). */
export type SocketIoOptions = Partial<ManagerOptions & SocketOptions>;

/** Creates the socket; `io` from socket.io-client unless a test injects another. */
export type SocketFactory = (url: string, options: SocketIoOptions) => Socket;

export interface SocketActorOptions {
  /** Asked before every handshake when the chart holds no token. */
  tokenProvider?: TokenProvider;
  /** With auth configured, a missing token means `authRequired` instead of a handshake without one. */
  requireToken?: boolean;
  /** Extra fields of the handshake `auth` payload, next to `token`. */
  authPayload?: Record<string, unknown>;
  socketOptions?: SocketIoOptions;
  isAuthError?: AuthErrorClassifier;
  socketFactory?: SocketFactory;
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
  const factory: SocketFactory = options.socketFactory ?? ((url, socketOptions) => io(url, socketOptions));

  return fromCallback<SocketCommand, SocketActorInput, SocketEvent>(({ input, sendBack, receive }) => {
    let socket: Socket | null = null;
    let generation = 0;
    let stopped = false;

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
      const auth =
        token === null ? { ...options.authPayload } : { ...options.authPayload, token };
      const created = factory(input.url, {
        // WebSocket first: closing a WebSocket that is still connecting aborts its TCP
        // connection, while Engine.IO's polling transport leaves a pending request open until
        // the server answers (a hung server would keep one connection per timed-out attempt).
        // Polling remains the fallback for servers or proxies without WebSocket.
        transports: ["websocket", "polling"],
        tryAllTransports: true,
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
      created.on("connect", () => {
        report({ type: "socket.connected", generation: forGeneration, socketId: created.id ?? "" });
      });
      created.on("connect_error", (error: Error & { data?: unknown }) => {
        report({
          type: "socket.connectFailed",
          generation: forGeneration,
          error: errorInfo(error),
          authRejected: classify({ message: error.message, data: error.data }),
          retryAfter: retryAfterOf(error.data),
        });
      });
      created.on("disconnect", (reason) => {
        report({ type: "socket.disconnected", generation: forGeneration, reason });
      });
      created.onAny((event: string, ...args: unknown[]) => {
        report({ type: "socket.message", generation: forGeneration, event, args });
      });
      created.connect();
    };

    const open = async (forGeneration: number, token: string | null) => {
      close();
      generation = forGeneration;
      let resolved = token;
      if (!resolved && options.tokenProvider) {
        try {
          resolved = (await options.tokenProvider()) ?? null;
        } catch (error) {
          if (generation === forGeneration) {
            report({
              type: "socket.connectFailed",
              generation: forGeneration,
              error: { message: `token provider failed: ${errorInfo(error).message}` },
              authRejected: false,
              retryAfter: null,
            });
          }
          return;
        }
        // A newer open or a close arrived while the provider was busy.
        if (stopped || generation !== forGeneration) return;
      }
      if (!resolved && (options.requireToken || options.tokenProvider)) {
        report({ type: "socket.tokenMissing", generation: forGeneration });
        return;
      }
      handshake(forGeneration, resolved || null);
    };

    receive((command) => {
      switch (command.type) {
        case "open":
          void open(command.generation, command.token);
          break;
        case "close":
          generation = -1; // a handshake still waiting for its token must not start
          close();
          break;
        case "emit": {
          if (!socket) return;
          const { ackId } = command;
          if (ackId === undefined) {
            socket.emit(command.event, ...command.args);
          } else {
            socket.emit(command.event, ...command.args, (...response: unknown[]) => {
              report({ type: "socket.ack", ackId, response });
            });
          }
          break;
        }
        case "heartbeat": {
          if (!socket?.connected || command.generation !== generation) return;
          const { seq } = command;
          socket.emit("heartbeat", () => {
            report({ type: "socket.heartbeatAck", generation: command.generation, seq });
          });
          break;
        }
      }
    });

    return () => {
      stopped = true;
      close();
    };
  });
}
