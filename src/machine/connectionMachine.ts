import {
  drainOf,
  failureOf,
  initialContext,
  outgoingOf,
  requestOf,
  setupConnection,
  type MachineEnvironment,
} from "./implementations.js";
import { not } from "xstate";
import type { SocketActorInput } from "./socketActor.js";

export {
  healthScoreOf,
  type ConnectionMachineInput,
  type MachineEnvironment,
  type OutgoingMessage,
  type RetryDelayContext,
  type RetryDelayPolicy,
} from "./implementations.js";

/**
 * The connection chart: states and transitions only. Every action, guard and delay it names
 * is implemented in implementations.ts (`setupConnection`); the why of each state and of the
 * non-obvious transitions is in its `description`, which the Stately inspector shows.
 * `connectionMachine` is this with `Math.random` and the system clocks.
 */
export function createConnectionMachine(environment: MachineEnvironment = {}) {
  return setupConnection(environment).createMachine({
    id: "connection",
    context: ({ input }) => initialContext(input),
    invoke: {
      id: "socket",
      src: "socket",
      input: ({ context }): SocketActorInput => ({
        url: context.url,
        path: context.path,
        connectionTimeout: context.config.connectionTimeout,
      }),
    },
    initial: "idle",
    on: {
      "socket.message": {
        guard: "isCurrentSocket",
        actions: { type: "emitMessage", params: ({ event }) => ({ event: event.event, args: event.args }) },
      },
      "socket.ack": {
        actions: {
          type: "settleRequest",
          params: ({ event }) => ({ ackId: event.ackId, response: event.response, error: event.error }),
        },
      },
      "socket.unencodable": {
        actions: {
          type: "dropUnencodable",
          params: ({ event }) => ({ event: event.event, args: event.args, ackId: event.ackId }),
        },
      },
      "callback.failed": {
        actions: {
          type: "emitCallbackFailed",
          params: ({ event }) => ({ callback: event.callback, message: event.message }),
        },
      },
      "socket.undelivered": [
        { guard: { type: "isVolatileSend", params: outgoingOf }, actions: { type: "dropVolatile", params: outgoingOf } },
        { actions: [{ type: "enqueueMessage", params: outgoingOf }, "scheduleQueueExpiry"] },
      ],
      "socket.unconfirmed": {
        // Not guarded by the generation: these are facts about sends that may be lost, whatever
        // socket came since (a listener that forces a reconnection on connection:disconnected
        // opens the next socket before the lost one's report arrives). The actor drains them
        // once, so nothing is announced twice.
        actions: { type: "announceUnconfirmed", params: ({ event }) => ({ messages: event.messages }) },
      },
      "request.timeout": {
        actions: [{ type: "expireRequest", params: ({ event }) => ({ ackId: event.ackId }) }, "scheduleQueueExpiry"],
      },
      "queue.expire": { actions: ["expireQueuedMessages", "scheduleQueueExpiry"] },
      send: [
        { guard: { type: "isVolatileSend", params: outgoingOf }, actions: { type: "dropVolatile", params: outgoingOf } },
        {
          actions: [
            { type: "enqueueMessage", params: outgoingOf },
            "scheduleQueueExpiry",
            { type: "scheduleRequestTimeout", params: requestOf },
          ],
        },
      ],
      "auth.updated": { actions: "resetTokenRefresh" },
      "call.set": { actions: { type: "setCallActive", params: ({ event }) => ({ active: event.active }) } },
      "network.online": { actions: "setOnline" },
      "network.offline": { actions: "setOffline" },
      disconnect: { target: ".idle" },
      forceReconnect: {
        target: ".connecting",
        actions: ["resetAttempts", { type: "markForced", params: ({ event }) => ({ id: event.id }) }],
      },
      dispose: { target: ".idle", actions: "dropQueue" },
    },
    states: {
      idle: {
        description: "No socket, no timer: nothing connects until connect(). The socket is ended deliberately, so the server keeps no session to recover.",
        tags: ["disconnected", "stopped"],
        entry: ["endSocket", "clearRetrySchedule", "forgetPlannedRestart"],
        on: {
          connect: { target: "connecting", actions: "resetAttempts" },
        },
      },
      connecting: {
        description:
          "One attempt: the token (from the provider if needed), then the Socket.IO handshake, bounded by connectionTimeout. The retry schedule is cleared on entry here rather than on leaving backingOff: emitResumed, a transition action, still needs it.",
        tags: ["socketWanted", "busy"],
        entry: "clearRetrySchedule",
        initial: "checkingNetwork",
        states: {
          checkingNetwork: {
            always: [
              { guard: "isWaitingForNetwork", target: "#connection.backingOff.waitingForNetwork" },
              { target: "handshaking" },
            ],
          },
          handshaking: {
            entry: "openSocket",
            after: {
              connectTimeout: { actions: "raiseConnectTimeout" },
            },
          },
        },
        on: {
          "socket.connected": {
            guard: "isCurrentSocket",
            target: "connected",
            actions: {
              type: "setConnected",
              params: ({ event }) => ({
                socketId: event.socketId,
                recovered: event.recovered,
                recoverableWithin: event.recoverableWithin ?? null,
              }),
            },
          },
          "socket.connectFailed": [
            {
              guard: "isRefreshableAuthRejection",
              target: "connecting",
              reenter: true,
              actions: [
                { type: "recordAuthRejection", params: failureOf },
                { type: "emitAuthFailed", params: failureOf },
                "useTokenRefresh",
              ],
            },
            {
              guard: "isFinalAuthRejection",
              target: "authRequired",
              actions: [
                { type: "recordAuthRejection", params: failureOf },
                { type: "emitAuthFailed", params: failureOf },
              ],
            },
            {
              guard: "isFailureWhileOffline",
              target: "backingOff",
              actions: [
                { type: "recordUncountedFailure", params: failureOf },
                { type: "emitFailed", params: failureOf },
              ],
            },
            {
              guard: "isFailedMoveBack",
              target: "backingOff",
              description:
                "A move back to the primary failed: the backup it left still works, so this is no step towards exhausted; the next attempt goes back to the backup.",
              actions: [
                { type: "recordUncountedFailure", params: failureOf },
                { type: "emitFailed", params: failureOf },
                "countServerFailure",
              ],
            },
            {
              guard: "isFailureWithAttemptsLeft",
              target: "backingOff",
              actions: [
                { type: "recordFailure", params: failureOf },
                { type: "emitFailed", params: failureOf },
                "countServerFailure",
              ],
            },
            {
              guard: "isCurrentSocket",
              target: "exhausted",
              actions: [
                { type: "recordFailure", params: failureOf },
                { type: "emitFailed", params: failureOf },
                "countServerFailure",
              ],
            },
          ],
          "socket.disconnected": {
            description: "A socket lost before the handshake finished is one more failed attempt.",
            guard: "isCurrentSocket",
            actions: { type: "raiseHandshakeLost", params: ({ event }) => ({ reason: event.reason }) },
          },
          "socket.tokenMissing": {
            guard: "isCurrentSocket",
            target: "authRequired",
            actions: { type: "recordMissingToken", params: ({ event }) => ({ reason: event.reason }) },
          },
          "socket.awaitingToken": {
            guard: "isCurrentSocket",
            actions: { type: "setAwaitingToken", params: ({ event }) => ({ awaiting: event.awaiting }) },
          },
          forceReconnect: {
            description: "An attempt is already on its way: join it instead of opening a second socket.",
            actions: ["resetAttempts", { type: "recordForceTicket", params: ({ event }) => ({ id: event.id }) }],
          },
          "auth.updated": {
            target: "connecting",
            reenter: true,
            actions: "resetTokenRefresh",
            description:
              "A new token while a handshake is in flight: that handshake carries the old one, and its rejection would land in authRequired with the new token never tried. Start over with the new token; the old socket's events are stale.",
          },
          "socket.started": {
            target: "connecting",
            reenter: true,
            description:
              "The socket actor started again (StrictMode or <Activity> restarted the actor, or it was restored from a persisted snapshot): the socket this attempt waited for is gone. Open a new one.",
          },
        },
      },
      connected: {
        type: "parallel",
        description:
          "A live socket: heartbeats measure it, health checks report it, and the backoff envelope is reset once it has stayed up for stablePeriod. The queue is flushed first, so that a listener of connection:connected that sends comes after it.",
        tags: ["socketWanted", "connected"],
        entry: ["flushQueue", "emitConnected", "emitReconnected"],
        exit: "clearConnection",
        on: {
          "socket.drainNotice": {
            guard: "isCurrentSocket",
            description:
              "The server announced a planned restart (drainServer): note when to come back, a moment in its window (or the slot it assigned), before it closes the link.",
            actions: { type: "recordPlannedRestart", params: drainOf },
          },
          "socket.disconnected": [
            {
              guard: "isPlannedRestartLoss",
              target: "backingOff",
              description:
                "The announced restart closed the link: not a failure. The retry waits for this client's moment in the server's window, to the next server when there are several.",
              actions: [
                { type: "recordPlannedLoss", params: ({ event }) => ({ reason: event.reason }) },
                { type: "emitDisconnected", params: ({ event }) => ({ reason: event.reason }) },
              ],
            },
            {
              guard: "isFinalServerDisconnect",
              target: "idle",
              actions: [
                { type: "recordConnectionLoss", params: ({ event }) => ({ reason: event.reason }) },
                { type: "emitDisconnected", params: ({ event }) => ({ reason: event.reason }) },
              ],
            },
            {
              guard: "isCurrentSocket",
              target: "backingOff",
              actions: [
                { type: "recordConnectionLoss", params: ({ event }) => ({ reason: event.reason }) },
                { type: "emitDisconnected", params: ({ event }) => ({ reason: event.reason }) },
              ],
            },
          ],
          send: [
            { guard: { type: "isVolatileSend", params: outgoingOf }, actions: { type: "emitToSocket", params: outgoingOf } },
            {
              guard: "isLinkSuspect",
              description: "A heartbeat ack is overdue: hold the send until the link proves alive or is replaced.",
              actions: [
                { type: "enqueueMessage", params: outgoingOf },
                "scheduleQueueExpiry",
                { type: "scheduleRequestTimeout", params: requestOf },
              ],
            },
            {
              guard: "isLeavingLink",
              description:
                "The service is about to move back to the primary (its last heartbeat on this link is out): hold the send for the next connection, so that nothing sent here is left unconfirmed.",
              actions: [
                { type: "enqueueMessage", params: outgoingOf },
                "scheduleQueueExpiry",
                { type: "scheduleRequestTimeout", params: requestOf },
              ],
            },
            {
              actions: [
                { type: "emitToSocket", params: outgoingOf },
                { type: "scheduleRequestTimeout", params: requestOf },
              ],
            },
          ],
          disconnect: {
            target: "idle",
            actions: { type: "emitDisconnected", params: { reason: "io client disconnect" } },
          },
          "socket.started": {
            target: "connecting",
            description:
              "The socket actor started again under a chart that believes it is connected (a restarted or restored actor): that socket is gone. Say so and connect again.",
            actions: [
              { type: "recordConnectionLoss", params: { reason: "socket actor restarted" } },
              { type: "emitDisconnected", params: { reason: "socket actor restarted" } },
            ],
          },
          forceReconnect: [
            {
              guard: "isCallOnWorkingLink",
              description:
                "During a call a working link is never dropped: the forced reconnection probes it at once instead, and the heartbeat replaces it if the probe fails.",
              actions: [{ type: "recordForceTicket", params: ({ event }) => ({ id: event.id }) }, "raiseLinkProbe"],
            },
            {
              target: "connecting",
              actions: [
                { type: "emitDisconnected", params: { reason: "forced reconnection" } },
                "resetAttempts",
                { type: "markForced", params: ({ event }) => ({ id: event.id }) },
              ],
            },
          ],
          dispose: {
            target: "idle",
            actions: [{ type: "emitDisconnected", params: { reason: "disposed" } }, "dropQueue"],
          },
        },
        states: {
          heartbeat: {
            initial: "beating",
            description:
              "A wake or a lost network probes the link at once, handled in this region's states: a transition from the parallel state to one of its descendants would re-enter every region and restart the health and stability timers. A probe already in flight is the probe: starting another would cancel its ack timeout without counting the miss, and a burst of notifications would hide a dead link.",
            states: {
              beating: {
                entry: "sendHeartbeat",
                on: {
                  "network.offline": { actions: "setOffline" },
                  "link.probe": {
                    description: "A probe asked for while one is in flight: another goes out once this one settles, so that its ack covers every send until now.",
                    actions: "requestProbe",
                  },
                  "power.resume": { actions: "markResumeProbe" },
                  "socket.heartbeatAck": [
                    {
                      guard: {
                        type: "isPendingHeartbeat",
                        params: ({ event }) => ({ generation: event.generation, seq: event.seq }),
                      },
                      target: "resting",
                      actions: [{ type: "recordHeartbeatAck", params: ({ event }) => ({ seq: event.seq }) }, "flushQueue"],
                    },
                  ],
                },
                after: {
                  heartbeatAckTimeout: [
                    {
                      guard: "isServerSilentOnHeartbeats",
                      target: "resting",
                      actions: ["clearResumeProbe", "stopDeliveryTracking"],
                    },
                    {
                      guard: "isLastToleratedMiss",
                      target: "#connection.backingOff",
                      actions: [
                        "recordMissedHeartbeat",
                        "emitHealthDegraded",
                        "recordHeartbeatLoss",
                        { type: "emitDisconnected", params: { reason: "heartbeat timeout" } },
                        "closeDeadSocket",
                      ],
                    },
                    {
                      target: "beating",
                      reenter: true,
                      actions: "recordMissedHeartbeat",
                      description: "Suspect: probe again at once instead of waiting a whole interval.",
                    },
                  ],
                },
              },
              resting: {
                entry: "scheduleNextHeartbeat",
                always: { guard: "isProbeRequested", target: "beating", actions: ["clearProbeRequest", "markResumeProbe"] },
                on: {
                  "network.offline": { target: "beating", actions: "setOffline" },
                  "power.resume": { target: "beating", actions: "markResumeProbe" },
                  "link.probe": { target: "beating", actions: "markResumeProbe" },
                  "network.online": [
                    {
                      guard: "isCallActive",
                      target: "beating",
                      description: "In a call, a network change may have left the link dead: probe it at once.",
                      actions: ["setOnline", "markResumeProbe"],
                    },
                    { actions: "setOnline" },
                  ],
                  "call.set": {
                    target: "resting",
                    reenter: true,
                    description: "The cadence changes with the call: the rest is measured again from the last heartbeat.",
                    actions: { type: "setCallActive", params: ({ event }) => ({ active: event.active }) },
                  },
                },
                after: {
                  untilNextHeartbeat: [
                    { guard: "hasSlept", target: "beating", actions: ["emitResumed", "markResumeProbe"] },
                    { target: "beating" },
                  ],
                },
              },
            },
          },
          health: {
            initial: "watching",
            states: {
              watching: {
                after: {
                  healthCheckInterval: { target: "watching", reenter: true, actions: "emitHealthCheck" },
                },
              },
            },
          },
          stability: {
            initial: "settling",
            states: {
              settling: {
                after: { stablePeriod: { target: "stable", actions: "resetBackoff" } },
              },
              stable: {
                description:
                  "Stable. On a backup server (url lists several), the primary is checked in the background now and then every failbackInterval, without opening a socket; when it answers, the service moves back to it, once the call ends in call mode.",
                initial: "checkingServer",
                states: {
                  checkingServer: {
                    always: [
                      { guard: "isFailbackDeferred", target: "waitingToProbe" },
                      { guard: "isOnBackup", target: "probingPrimary" },
                      { target: "onPrimary" },
                    ],
                  },
                  onPrimary: {},
                  waitingToProbe: { after: { failbackInterval: "probingPrimary" } },
                  probingPrimary: {
                    entry: "probePrimary",
                    on: {
                      "socket.probed": [
                        { guard: "isPrimaryAnswer", target: "primaryAnswered" },
                        { target: "waitingToProbe" },
                      ],
                    },
                  },
                  primaryAnswered: {
                    always: [
                      { guard: "isCallActive", target: "awaitingCallEnd" },
                      { guard: "isServerAckingHeartbeats", target: "confirmingBeforeMove" },
                      { target: "#connection.connecting", actions: "startFailback" },
                    ],
                  },
                  awaitingCallEnd: {
                    description: "A call in progress is never dropped for a fail-back: the move waits for its end.",
                    always: { guard: not("isCallActive"), target: "primaryAnswered" },
                  },
                  confirmingBeforeMove: {
                    description:
                      "The link to the backup works and is left on purpose: one heartbeat first, so that its ack confirms the sends made on it and none is announced as unconfirmed; sends meanwhile wait in the queue for the next connection. Bounded by heartbeatTimeout: a link that does not answer is left anyway.",
                    entry: ["markMoveProbe", "raiseLinkProbe"],
                    always: { guard: "isLinkConfirmedForMove", target: "#connection.connecting", actions: "startFailback" },
                    after: { confirmBeforeMove: { target: "#connection.connecting", actions: "startFailback" } },
                  },
                },
              },
            },
          },
        },
      },
      backingOff: {
        description:
          "Between attempts: the socket is closed and the next retry waits for its delay (the jitter strategy's draw, at least a server's retryAfter), or for the network when offline.",
        tags: ["disconnected", "retrying"],
        entry: "closeSocket",
        initial: "checkingNetwork",
        states: {
          checkingNetwork: {
            always: [{ guard: "isOffline", target: "waitingForNetwork" }, { target: "waiting" }],
          },
          waiting: {
            entry: ["scheduleRetry", "emitReconnecting"],
            after: {
              retryDelay: [
                { guard: "hasSlept", target: "#connection.connecting", actions: ["emitResumed", "countRetry"] },
                { target: "#connection.connecting", actions: "countRetry" },
              ],
            },
            on: {
              "network.offline": { target: "waitingForNetwork", actions: ["setOffline", "clearRetrySchedule"] },
              "power.resume": [
                {
                  guard: "isHeldByServer",
                  description: "A wake retries at once, unless the server asked us (retryAfter) to stay away longer.",
                },
                { target: "#connection.connecting", actions: "countRetry" },
              ],
              "call.set": {
                guard: "isCallStartBeyondCap",
                target: "waiting",
                reenter: true,
                description: "A call started while the retry waits longer than callMaxDelay: drawn again, capped.",
                actions: [{ type: "setCallActive", params: ({ event }) => ({ active: event.active }) }, "repeatBackoffStep"],
              },
            },
          },
          waitingForNetwork: {
            description: "Offline: no attempt is made or counted; a wake changes nothing, only the network coming back does.",
            tags: ["waitingForNetwork"],
          },
        },
        on: {
          "network.online": { target: "connecting", actions: ["setOnline", "countRetry"] },
        },
      },
      authRequired: {
        description:
          "The server rejected the token and the one refresh through the provider is used (or there is no token): no retry loop on a bad token. setAuthToken() resumes.",
        tags: ["disconnected", "needsUser"],
        entry: ["closeSocket", "clearRetrySchedule", "forgetPlannedRestart", "emitAuthRequired"],
        on: {
          "auth.updated": {
            target: "connecting",
            actions: ["resetTokenRefresh", "resetAttempts"],
          },
        },
      },
      exhausted: {
        description:
          "maxReconnectAttempts failed in a row (never during a call): no further attempt until connect(), forceReconnection(), notifyOnline() or a call starting.",
        tags: ["disconnected", "needsUser"],
        entry: ["closeSocket", "clearRetrySchedule", "forgetPlannedRestart", "emitMaxAttemptsReached"],
        on: {
          connect: { target: "connecting", actions: "resetAttempts" },
          "network.online": { target: "connecting", actions: ["setOnline", "resetAttempts"] },
          "call.set": {
            guard: "isCallStarted",
            target: "connecting",
            description: "A call needs the link: call mode never stays exhausted.",
            actions: [{ type: "setCallActive", params: { active: true } }, "countRetry"],
          },
        },
      },
    },
  });
}

/** The connection chart with `Math.random` and the system clocks. */
export const connectionMachine = createConnectionMachine();

export type ConnectionMachine = ReturnType<typeof createConnectionMachine>;
