/**
 * `@softphone/websocket/testing`: test your app's UI and logic on every reconnection path,
 * with no network and no real timers. See `docs/testing.md`.
 *
 * - {@link createFakeServer}: a Socket.IO server in the test, for `createWebSocketService`.
 * - {@link TestClock}: simulated time (`runFor`) for the service or the chart.
 * - {@link generateReconnectionPaths} and {@link replayPath}: paths through the real chart,
 *   replayed on your service (or the bare chart) with your assertion at every step.
 * - {@link startChart} and {@link createFakeSocket}: the chart itself, for apps that own it.
 */
export { TestClock } from "./clock.js";
export { createFakeServer, type FakeServer } from "./fakeServer.js";
export {
  generateReconnectionPaths,
  replayPath,
  type PathEvent,
  type PathStep,
  type ReconnectionPath,
  type ReplayedStep,
} from "./paths.js";
export { startChart, type ChartRig } from "./chart.js";
export { createFakeSocket, type FakeSocket } from "./fakeSocket.js";
