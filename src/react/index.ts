export { WebSocketProvider, useWebSocketService, type WebSocketProviderProps } from "./context.js";
export {
  useCountdown,
  useWebSocket,
  useWebSocketEvent,
  useWebSocketSelector,
  type SelectorOptions,
  type UseWebSocketResult,
  type WebSocketActions,
  type WebSocketState,
} from "./hooks.js";
export { shallowEqual } from "./store.js";
export { webSocketStatusStyles } from "./styles.js";
export { describeError, type ErrorDescription, type ErrorKind } from "./describeError.js";
export { defaultStatusLabels, type StatusLabelOverrides, type StatusLabels } from "./labels.js";
export {
  WebSocketStatus,
  defaultStateLabels,
  webSocketStatusClasses,
  type WebSocketStatusProps,
} from "./WebSocketStatus.js";
export type { WebSocketStatus as WebSocketStatusSnapshot } from "../services/WebSocketService.js";
