import type { WebSocketService } from "./WebSocketService.js";

/**
 * The members of {@link WebSocketService} that a service shared over a message port can
 * offer too: everything but `actor` (an XState actor cannot cross a port). Picked from the
 * class, so a signature changed there changes here.
 */
type SharedMembers =
  | "connect"
  | "disconnect"
  | "forceReconnection"
  | "send"
  | "sendWith"
  | "request"
  | "requestWith"
  | "on"
  | "off"
  | "getStatus"
  | "getStatusSnapshot"
  | "subscribe"
  | "getHealthScore"
  | "setAuthToken"
  | "notifyOnline"
  | "notifyOffline"
  | "notifyResume"
  | "dispose"
  | "disposed";

/**
 * Members that appear on the class as other work lands (`setCallActive`, issue 7): picked
 * when the class has them, so the interface never asks for more than the class offers.
 */
type OptionalMembers = {
  [K in "setCallActive" as K extends keyof WebSocketService ? K : never]: K extends keyof WebSocketService
    ? WebSocketService[K]
    : never;
};

/**
 * The public surface of a connection service, as a structural type: what the React layer
 * (`WebSocketProvider`, `useWebSocket`, `<WebSocketStatus>`) and app code need. Both the real
 * {@link WebSocketService} and the remote returned by `connectToService()` implement it, so
 * code written against `ServiceApi` runs unchanged in a window that shares another window's
 * (or a worker's) connection.
 */
export type ServiceApi = Pick<WebSocketService, SharedMembers> & OptionalMembers;
