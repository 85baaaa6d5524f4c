/**
 * The wire protocol between a Socket.IO server and `@softphone/websocket` clients: the names
 * and payload shapes both sides rely on. Documented for other languages in `docs/server.md`.
 */

/** The Socket.IO event that announces a planned restart. */
export const DRAIN_EVENT = "softphone:drain";

/** The `version` field of every {@link DrainNotice} this package sends. */
export const DRAIN_PROTOCOL_VERSION = 1;

/**
 * The one argument of a {@link DRAIN_EVENT} emit. Every duration is in ms, relative to the
 * moment the client receives the notice.
 *
 * Without `slot`: come back no earlier than `reconnectAfter`, at a moment drawn uniformly from
 * `[reconnectAfter, reconnectAfter + windowMs)`. With `slot`: at exactly `reconnectAfter + slot`.
 */
export interface DrainNotice {
  version: typeof DRAIN_PROTOCOL_VERSION;
  reconnectAfter: number;
  windowMs: number;
  /** This client's assigned offset into the window, `0 <= slot < windowMs` (or 0 when `windowMs` is 0). */
  slot?: number;
  /** Free text for logs (e.g. "deploy 2.4.1"); clients must not parse it. */
  reason?: string;
}

/**
 * The `data` of an admission refusal (Socket.IO `connect_error`), in ms relative to receipt:
 * retry at a moment drawn uniformly from `[retryAfter, retryAfter + retryWindow)`, or at
 * exactly `retryAfter` when `retryWindow` is 0 (an assigned slot).
 */
export interface AdmissionRefusalData {
  retryAfter: number;
  retryWindow: number;
  reason: "admission";
}

/** The error a refused handshake is answered with: Socket.IO sends its `message` and `data`. */
export interface AdmissionRefusedError extends Error {
  data: AdmissionRefusalData;
}
