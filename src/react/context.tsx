import { createContext, type ReactNode, useContext } from "react";
import type { ServiceApi } from "../services/serviceApi.js";

const WebSocketContext = createContext<ServiceApi | null>(null);
WebSocketContext.displayName = "WebSocketService";

export interface WebSocketProviderProps {
  /** A service created outside React (module scope, or your app's composition root). */
  service: ServiceApi;
  children?: ReactNode;
}

/**
 * Makes `service` available to {@link useWebSocket}, {@link useWebSocketSelector} and
 * `<WebSocketStatus>` below it. It only passes the service down: it never creates,
 * connects or disposes one, so StrictMode's double-mounted effects cannot open a second socket.
 */
export function WebSocketProvider({ service, children }: WebSocketProviderProps): ReactNode {
  return <WebSocketContext.Provider value={service}>{children}</WebSocketContext.Provider>;
}

/** The service given as argument, else the nearest provider's; throws when there is neither. */
export function useWebSocketService(service?: ServiceApi): ServiceApi {
  const provided = useContext(WebSocketContext);
  const resolved = service ?? provided;
  if (!resolved) {
    throw new Error(
      "@softphone/websocket/react: no service. Pass one as argument or render inside <WebSocketProvider service={...}>.",
    );
  }
  return resolved;
}
