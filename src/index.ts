export {
  connectionMachine,
  createConnectionMachine,
  healthScoreOf,
  type ConnectionMachine,
  type ConnectionMachineInput,
  type MachineEnvironment,
} from "./machine/connectionMachine.js";
export { DEFAULT_CONFIG, JITTER_STRATEGIES, resolveConfig } from "./machine/config.js";
export { backoffEnvelope, computeBackoffDelay, computeRetryAfterDelay, type BackoffConfig } from "./machine/backoff.js";
export {
  computeHealthScore,
  heartbeatAckTimeout,
  qualityOf,
  signalQuality,
  updateRtt,
  LATENCY_DEGRADED_MS,
  LATENCY_FAILED_MS,
  type HealthInput,
  type SignalQuality,
} from "./machine/health.js";
export { isAuthRejection, retryAfterOf, type AuthErrorClassifier, type RejectionInfo } from "./machine/auth.js";
export {
  createSocketActor,
  type Credentials,
  type SocketActorInput,
  type SocketActorOptions,
  type SocketPort,
  type SocketFactory,
  type SocketIoOptions,
  type TokenProvider,
  type AuthPayload,
} from "./machine/socketActor.js";
export type { CallbackName } from "./machine/environment.js";
export type * from "./machine/types.js";
export {
  WebSocketService,
  createWebSocketService,
  RESERVED_EVENTS,
  SERVICE_EVENT_NAMES,
  statusOf,
  topLevelState,
  type Clock,
  type RequestOptions,
  type SendOptions,
  type ServiceListener,
  type ListenerErrorSource,
  type StaticAuth,
  type WebSocketServiceOptions,
  type WebSocketStatus,
} from "./services/WebSocketService.js";
export { type LogEntry, type Logger } from "./services/logging.js";
export { bindBrowserNetwork, bindPowerMonitor, type BrowserEventTarget, type PowerMonitorLike } from "./services/bindings.js";
