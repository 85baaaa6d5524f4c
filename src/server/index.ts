/**
 * `@softphone/websocket/server`: the server companion for Socket.IO v4 servers, so that a
 * planned restart or an overload does not turn into a reconnection storm. See `docs/server.md`.
 *
 * - {@link createAdmissionControl}: a middleware that admits a set rate of handshakes and tells
 *   each refused client when there is room for it (`retryAfter`, `retryWindow`).
 * - {@link drainServer}: before a restart, tells every client when to come back, then closes
 *   the connections so that their sessions stay recoverable.
 *
 * Nothing here imports socket.io at run time (types only): pass in your own `Server`.
 */
export {
  createAdmissionControl,
  type AdmissionControl,
  type AdmissionControlOptions,
  type AdmissionDecision,
  type AdmissionStats,
} from "./admission.js";
export { drainServer, type DrainOptions, type DrainResult } from "./drain.js";
export {
  DRAIN_EVENT,
  DRAIN_PROTOCOL_VERSION,
  type AdmissionRefusalData,
  type AdmissionRefusedError,
  type DrainNotice,
} from "./protocol.js";
