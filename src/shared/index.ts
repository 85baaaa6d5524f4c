export { exposeService, hostStats, type ExposeOptions, type HostStats, type ServedPort } from "./host.js";
export {
  connectToService,
  type ConnectToServiceOptions,
  type HostLink,
  type PortSource,
  type RemoteService,
  type RemoteStatus,
} from "./remote.js";
export type { MessagePortLike } from "./port.js";
