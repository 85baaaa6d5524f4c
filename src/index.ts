// The public surface of the core. Every name here is a promise to users; helpers that only
// tests use live in their modules or in the `./testing` entry.
export {
  connectionMachine,
  createConnectionMachine,
  type ConnectionMachine,
  type ConnectionMachineInput,
  type MachineEnvironment,
  type RetryDelayContext,
  type RetryDelayPolicy,
} from "./machine/connectionMachine.js";
export { DEFAULT_CONFIG, JITTER_STRATEGIES, resolveConfig } from "./machine/config.js";
export { computeBackoffDelay, computeRetryAfterDelay, type BackoffConfig } from "./machine/backoff.js";
export { computeHealthScore, type HealthInput } from "./machine/health.js";
export { isAuthRejection, retryAfterOf, type AuthErrorClassifier, type RejectionInfo } from "./machine/auth.js";
export {
  createSocketActor,
  type AuthPayload,
  type Credentials,
  type SocketActorOptions,
  type SocketFactory,
  type SocketIoOptions,
  type TokenProvider,
} from "./machine/socketActor.js";
export { SOCKET_OPTION_POLICY } from "./machine/socketOptions.js";
export { TOP_LEVEL_STATES, type WebSocketStatus } from "./machine/status.js";
export type { CallbackName } from "./machine/environment.js";
export type * from "./machine/types.js";
export {
  WebSocketService,
  createWebSocketService,
  RESERVED_EVENTS,
  SERVICE_EVENT_NAMES,
  type Clock,
  type ListenerErrorSource,
  type RequestOptions,
  type SendOptions,
  type ServiceListener,
  type StaticAuth,
  type WebSocketServiceOptions,
} from "./services/WebSocketService.js";
export { type LogEntry, type Logger } from "./services/logging.js";
export { bindBrowserNetwork, bindPowerMonitor, type BrowserEventTarget, type PowerMonitorLike } from "./services/bindings.js";
export type { ServiceApi } from "./services/serviceApi.js";
export {
  connectToService,
  exposeService,
  type ConnectToServiceOptions,
  type ExposeOptions,
  type HostLink,
  type MessagePortLike,
  type PortSource,
  type RemoteService,
  type RemoteStatus,
  type ServedPort,
} from "./shared/index.js";
