/**
 * The chart model moved to `src/testing/model.ts`, where `@softphone/websocket/testing`
 * generates its paths from it; this module keeps the old import path working.
 */
export * from "../../src/testing/model.js";
export { replayObserved, toReconnectionPath, type ObservedStep } from "../../src/testing/paths.js";
