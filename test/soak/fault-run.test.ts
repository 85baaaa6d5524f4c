import type { IncomingMessage } from "node:http";
import { io, type Socket as ClientSocket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { mulberry32 } from "../../bench/lib/prng.js";
import { TcpProxy } from "../../lab/tcpProxy.js";
import type { CallbackName } from "../../src/machine/environment.js";
import { SERVICE_EVENT_NAMES } from "../../src/services/WebSocketService.js";
import { eventually, waitForEvent, waitForState } from "../support/events.js";
import { integrationRig } from "../support/integration.js";
import { scaled } from "../support/scale.js";

/**
 * Soak: one service against a real Socket.IO server (with tokens) through a TCP proxy, under
 * a seeded random schedule of faults for a fixed time, with sends throughout:
 * - server kill + restart (every TCP connection destroyed, port closed for a while);
 * - kickAll (`io server disconnect`, with reconnectOnServerDisconnect: true);
 * - a silent link: proxy blackhole for a while, then restore;
 * - a proxy cut (every connection reset);
 * - an auth flip: the server accepts a new token and revokes the current one (cutting the
 *   session), the app hands the new token over a moment later;
 * - offline for a while, then online; a resume (wake from sleep);
 * - issue 11's faults: the wall clock (`now`) stepped an hour either way; bursts of 10-50
 *   notifyResume()/notifyOffline() faster than any ack timeout; forceReconnection() from a
 *   button, sometimes while the network is reported offline;
 * and throughout, also from issue 11:
 * - user functions that misbehave, fixed per run: an `inspect` observer and a `logger` that
 *   throw (always or now and then), an `isAuthError` that throws or returns a non-boolean, a
 *   `random` that returns 1 or throws now and then;
 * - unencodable sends: a BigInt (must be refused at send() with a TypeError) and a throwing
 *   `toJSON` (refused, or dropped and announced);
 * - calls from inside listeners: forceReconnection() (or connect()) from
 *   `connection:max_attempts_reached` (maxReconnectAttempts is small, so outages exhaust it),
 *   forceReconnection() from `connection:disconnected`, send() from `connection:connected`.
 *
 * The schedule (fault kinds, durations, gaps), the misbehaving functions, the listeners'
 * choices and the sends come from PRNGs seeded with the printed seed;
 * `SOFTPHONE_SOAK_SEED=<seed>` replays it. Real time still decides how faults and the
 * service's timers interleave, so a replay is the same schedule, not the same run.
 *
 * Invariants, checked on every chart transition, every server connection, every socket the
 * service creates, and every 5 ms:
 * - the service holds at most one Socket.IO client socket that is not closed (its engine
 *   `opening` or `open`), counted through a `socketFactory` around socket.io-client's `io`;
 * - the server holds at most one socket, not counting a socket whose TCP path is known dead
 *   AND that the client has already let go of. "Known dead" is decided by the proxy, which
 *   runs with `deadAfterDrop`: a connection that lost bytes to a blackhole stays dead after
 *   `restore()` and neither side's close crosses it (a NAT box that lost the mapping does not
 *   forward a FIN either). A connection `cut()` is not excluded: the server sees that close at
 *   once, so its socket must be gone before the next one comes. A dead-path socket lingers
 *   until the server's own Engine.IO ping timeout (1 s + 1 s here): the client closed it, but
 *   the goodbye never reached the server. Every other server socket counts, strictly.
 * At the end (faults stopped, server up, link restored, online, valid token) the service is
 * connected again, and every send marker is accounted for exactly once: received by the
 * server, or announced by `message:dropped`, or by `message:unconfirmed` (which may also have
 * been received: allowed, it is never resent), or refused at send() with a TypeError (an
 * unencodable payload: a BigInt always is; a throwing `toJSON` is refused or dropped, and
 * never received). No marker reaches the server twice. No service call or listener throws,
 * the process sees no unhandled rejection or uncaught exception, every misbehaving function
 * is announced once as `callback:failed` (and no other), and every forceReconnection()
 * promise settles (one made while offline within a few seconds: it tries once and settles).
 */

const DURATION = scaled(8_000, 60_000);

function seedFromEnv(): number {
  const fromEnv = process.env.SOFTPHONE_SOAK_SEED;
  if (fromEnv !== undefined && fromEnv !== "") {
    const seed = Number(fromEnv);
    if (!Number.isInteger(seed)) throw new TypeError(`SOFTPHONE_SOAK_SEED must be an integer, got ${fromEnv}`);
    return seed >>> 0;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

const SEED = seedFromEnv();

const CONFIG = {
  heartbeatInterval: 300,
  heartbeatTimeout: 200,
  unhealthyThreshold: 2,
  healthCheckInterval: 1_000,
  baseDelay: 50,
  maxDelay: 400,
  jitterRange: 50,
  connectionTimeout: 800,
  // Small: an outage exhausts it now and then, and a listener of max_attempts_reached reacts.
  maxReconnectAttempts: 3,
  reconnectOnServerDisconnect: true,
  stablePeriod: 1_000,
  // Small, so that outages overflow and expire queued sends too.
  maxQueueSize: 50,
  queueTtl: 2_000,
};

/** The service is connected again within this long after the faults stop (generous: a retry is ≤ ~450 ms). */
const RECONNECT_BOUND = 10_000;

const FAULT_KINDS = ["kill", "kick", "blackhole", "cut", "authFlip", "offline", "resume", "wallStep", "burst", "force"] as const;
type FaultKind = (typeof FAULT_KINDS)[number];

const HOUR = 3_600_000;

/** A forceReconnection() made while offline tries once and settles: well within this. */
const OFFLINE_FORCE_BOUND = 5_000;

/** How each function the app hands in misbehaves in a run (all four do), chosen from the seed. */
interface Misbehaviour {
  inspect: "throws" | "throwsSometimes";
  logger: "throws" | "throwsSometimes";
  isAuthError: "throws" | "notBoolean";
  random: "returnsOne" | "throws" | "both";
}

function misbehaviourOf(random: () => number): Misbehaviour {
  const pick = <T,>(options: readonly T[]): T => options[Math.floor(random() * options.length)]!;
  return {
    inspect: pick(["throws", "throwsSometimes"] as const),
    logger: pick(["throws", "throwsSometimes"] as const),
    isAuthError: pick(["throws", "notBoolean"] as const),
    random: pick(["returnsOne", "throws", "both"] as const),
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What `promise` settles with, or `fallback()` if it has not settled within `ms` (the timer is cleared either way). */
async function within<T, F>(promise: Promise<T>, ms: number, fallback: () => F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** JSON for the timeline; a payload with a throwing toJSON (this run sends some) is named, not thrown. */
function printable(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, field: unknown) => (typeof field === "bigint" ? `${field}n` : field));
  } catch {
    return "[a payload JSON cannot encode]";
  }
}

const rig = integrationRig();

describe(`a randomised fault run of ${DURATION / 1000} s against a real server`, () => {
  it("never throws, never holds two sockets, accounts for every send, and reconnects once the faults stop", async () => {
    console.log(`fault-run seed ${SEED} (replay with SOFTPHONE_SOAK_SEED=${SEED})`);
    const faultRandom = mulberry32(SEED);
    const sendRandom = mulberry32(SEED ^ 0x5bd1e995);
    const jitterRandom = mulberry32(SEED ^ 0x9e3779b9);
    const reactRandom = mulberry32(SEED ^ 0x2545f491);
    const misbehaviour = misbehaviourOf(mulberry32(SEED ^ 0x27d4eb2f));
    const between = (random: () => number, low: number, high: number) => Math.round(low + random() * (high - low));

    const started = Date.now();
    const elapsed = () => Date.now() - started;
    // What happened, in order, printed when an assertion below fails.
    const timeline: string[] = [];
    const log = (what: string) => timeline.push(`${elapsed()} ${what}`);
    const violations: string[] = [];
    const violation = (what: string) => {
      if (violations.length < 50) violations.push(`${elapsed()} ms: ${what}`);
    };

    // Process-level: nothing may escape as an unhandled rejection or an uncaught exception.
    const processErrors: string[] = [];
    const onRejection = (reason: unknown) => processErrors.push(`unhandledRejection: ${String(reason)}`);
    const onException = (error: unknown) => processErrors.push(`uncaughtException: ${String(error)}`);
    process.on("unhandledRejection", onRejection);
    process.on("uncaughtException", onException);
    let sampler: ReturnType<typeof setInterval> | undefined;
    let passed = false;

    try {
      // ---- server side: receipts, and which TCP connection each socket came over.
      const received = new Map<string, number>();
      const serverPorts = new Map<string, number | undefined>();
      const transports = new Map<string, number>();
      let requestsAnswered = 0;
      let currentToken = "token-0";
      const server = await rig.startServer({
        tokens: [currentToken],
        pingInterval: 1_000,
        pingTimeout: 1_000,
        onConnection: (socket) => {
          serverPorts.set(socket.id, (socket.conn.request as IncomingMessage).socket?.remotePort);
          transports.set(socket.conn.transport.name, (transports.get(socket.conn.transport.name) ?? 0) + 1);
          log(`server: ${socket.id} connected (port ${String(serverPorts.get(socket.id))})`);
          socket.on("disconnect", (reason) => {
            serverPorts.delete(socket.id);
            log(`server: ${socket.id} disconnected (${reason})`);
          });
          socket.on("m", (marker: string) => received.set(marker, (received.get(marker) ?? 0) + 1));
          socket.on("r", (marker: string, ack: (reply: string) => void) => {
            requestsAnswered += 1;
            ack(marker);
          });
          socket.on("fence", (ack: () => void) => ack());
          check("server connection");
        },
      });
      const proxy = rig.cleanup.add(await TcpProxy.start(server.port, 0, { deadAfterDrop: true }), (p) => p.close());

      // ---- client side: every socket the service creates, until its engine is closed.
      const clientSockets: { socket: ClientSocket; id: string | undefined }[] = [];
      const isLive = (socket: ClientSocket) => {
        const readyState = socket.io.engine?.readyState;
        return readyState === undefined || readyState === "opening" || readyState === "open";
      };
      let socketsCreated = 0;
      let maxClientLive = 0;
      let maxServerCounted = 0;
      let maxServerRaw = 0;
      let excludedSeen = 0;

      function check(where: string): void {
        for (let i = clientSockets.length - 1; i >= 0; i--) {
          if (!isLive(clientSockets[i]!.socket)) clientSockets.splice(i, 1);
        }
        maxClientLive = Math.max(maxClientLive, clientSockets.length);
        if (clientSockets.length > 1) violation(`${where}: the service holds ${clientSockets.length} live sockets`);
        const liveIds = new Set(clientSockets.map((entry) => entry.socket.id ?? entry.id));
        let counted = 0;
        const details: string[] = [];
        const sockets = server.io.of("/").sockets;
        for (const id of sockets.keys()) {
          const port = serverPorts.get(id);
          const path = port === undefined ? undefined : proxy.connectionByUpstreamPort(port);
          // Only a path that lost bytes is dead for good; a cut one closes at the server at once.
          const deadPath = path !== undefined && path.droppedBytes > 0;
          details.push(`${id} port ${String(port)} path ${JSON.stringify(path)} client-live ${liveIds.has(id)}`);
          if (deadPath && !liveIds.has(id)) excludedSeen += 1;
          else counted += 1;
        }
        maxServerRaw = Math.max(maxServerRaw, sockets.size);
        maxServerCounted = Math.max(maxServerCounted, counted);
        if (counted > 1) violation(`${where}: the server holds ${counted} sockets: ${details.join("; ")}`);
      }

      // ---- the service, with every call and listener guarded.
      const serviceErrors: string[] = [];
      const listenerErrors: string[] = [];
      const events = new Map<string, number>();
      const dropped = new Map<string, string[]>();
      const unconfirmed = new Map<string, number>();
      // ---- the functions the app hands in, misbehaving as this run's seed says.
      const misbehaved = new Set<CallbackName>();
      const calls = { inspect: 0, logger: 0, random: 0 };
      const sometimes = (count: number) => count % 97 === 0;
      let wallOffset = 0;
      const service = rig.service({
        url: proxy.url,
        auth: { token: currentToken },
        config: CONFIG,
        now: () => Date.now() + wallOffset,
        inspect: () => {
          calls.inspect += 1;
          if (misbehaviour.inspect === "throws" || sometimes(calls.inspect)) {
            misbehaved.add("inspect");
            throw new Error("inspector crashed");
          }
        },
        logger: () => {
          calls.logger += 1;
          if (misbehaviour.logger === "throws" || sometimes(calls.logger)) {
            misbehaved.add("logger");
            throw new Error("log sink full");
          }
        },
        isAuthError: () => {
          misbehaved.add("isAuthError");
          if (misbehaviour.isAuthError === "throws") throw new Error("classifier bug");
          return "yes" as unknown as boolean;
        },
        // WebSocket only. The server-side count ties a socket to the one TCP connection its
        // transport runs over; an Engine.IO polling session runs over many (one per request,
        // kept alive or not), so a polling socket whose goodbye was lost could not be told from
        // a live one. So this run does not cover the polling fallback under faults.
        socketOptions: { transports: ["websocket"] },
        random: () => {
          calls.random += 1;
          const value = jitterRandom();
          if (misbehaviour.random !== "throws" && calls.random % 5 === 0) {
            misbehaved.add("random");
            return 1;
          }
          if (misbehaviour.random !== "returnsOne" && calls.random % 7 === 3) {
            misbehaved.add("random");
            throw new Error("entropy ran out");
          }
          return value;
        },
        onListenerError: (error, name) => {
          // A throwing logger is reported here too (by design): expected, this run's logger throws.
          if (name === "logger") return;
          listenerErrors.push(`${name}: ${String(error)}`);
        },
        socketFactory: (url, options) => {
          check("before a new socket");
          const socket = io(url, options);
          socketsCreated += 1;
          const entry = { socket, id: undefined as string | undefined };
          socket.on("connect", () => {
            entry.id = socket.id;
          });
          clientSockets.push(entry);
          log(`socket #${socketsCreated} created`);
          check("new socket");
          return socket;
        },
      });
      const call = (what: string, fn: () => void) => {
        try {
          fn();
        } catch (error) {
          serviceErrors.push(`${what}: ${String(error)}`);
        }
      };
      const eventNames = SERVICE_EVENT_NAMES;
      for (const name of eventNames) {
        service.on(name, (payload) => {
          events.set(name, (events.get(name) ?? 0) + 1);
          if (name !== "connection:health_check") log(`${name} ${printable(payload)}`);
        });
      }
      service.on("message:dropped", ({ event, args, reason }) => {
        if (event !== "m") return;
        const marker = args[0] as string;
        dropped.set(marker, [...(dropped.get(marker) ?? []), reason]);
      });
      service.on("message:unconfirmed", ({ event, args }) => {
        if (event !== "m") return;
        const marker = args[0] as string;
        unconfirmed.set(marker, (unconfirmed.get(marker) ?? 0) + 1);
      });
      const announcedFaults = new Map<CallbackName, number>();
      service.on("callback:failed", ({ callback }) => announcedFaults.set(callback, (announcedFaults.get(callback) ?? 0) + 1));

      // ---- forceReconnection(): every promise must settle.
      const forces: { via: string; outcome: string | null; promise: Promise<unknown> }[] = [];
      const force = (via: string): Promise<unknown> | null => {
        let promise: Promise<void>;
        try {
          promise = service.forceReconnection();
        } catch (error) {
          serviceErrors.push(`forceReconnection (${via}): ${String(error)}`);
          return null;
        }
        const entry: (typeof forces)[number] = { via, outcome: null, promise: Promise.resolve() };
        entry.promise = promise.then(
          () => (entry.outcome = "resolved"),
          (error: unknown) => (entry.outcome = `rejected: ${error instanceof Error ? error.message : String(error)}`),
        );
        forces.push(entry);
        log(`forceReconnection (${via})`);
        return entry.promise;
      };

      // ---- calls from inside listeners, while the faults last.
      let reacting = true;
      const reactions = { forceFromDisconnected: 0, forceFromMaxAttempts: 0, connectFromMaxAttempts: 0, sendFromConnected: 0 };
      service.on("connection:disconnected", () => {
        if (!reacting || reactRandom() >= 0.25) return;
        reactions.forceFromDisconnected += 1;
        force("from connection:disconnected");
      });
      service.on("connection:max_attempts_reached", () => {
        if (!reacting) return;
        if (reactRandom() < 0.7) {
          reactions.forceFromMaxAttempts += 1;
          force("from connection:max_attempts_reached");
        } else {
          reactions.connectFromMaxAttempts += 1;
          call("connect from connection:max_attempts_reached", () => service.connect());
        }
      });
      // Connections in order, and whether the server acked a heartbeat on each (reported in the summary).
      const connections: { socketId: string; at: number; acked: boolean }[] = [];
      const transitions = service.actor.subscribe((snapshot) => {
        check("transition");
        const { socketId, heartbeatsAcked } = snapshot.context;
        const { state } = service.getStatus();
        if (state !== "connected" || socketId === null) return;
        let current = connections.at(-1);
        if (current?.socketId !== socketId) {
          current = { socketId, at: Date.now(), acked: false };
          connections.push(current);
        }
        if (heartbeatsAcked) current.acked = true;
      });
      sampler = setInterval(() => check("sample"), 5);

      call("connect", () => service.connect());
      await waitForState(service, "connected");

      // ---- sends and requests, throughout.
      const sent: string[] = [];
      /** Where each marker went out: the connection it was sent on, or null if it was queued. */
      const sentOn = new Map<string, { at: number; socketId: string | null }>();
      /** Unencodable sends by payload, and the markers send() refused with a TypeError. */
      const unencodable = new Map<string, "bigint" | "toJSON">();
      const refused = new Set<string>();
      let nextMarker = 0;
      const sendMarker = (kind: number, via: string) => {
        const marker = `m${nextMarker++}`;
        if (kind < 0.1) call("sendWith volatile", () => service.sendWith({ volatile: true }, "m", marker));
        else if (kind < 0.2) call("sendWith ttl", () => service.sendWith({ ttl: between(sendRandom, 200, 2_000) }, "m", marker));
        else if (kind < 0.26) {
          const payload = kind < 0.23 ? "bigint" : "toJSON";
          unencodable.set(marker, payload);
          const argument =
            payload === "bigint"
              ? { id: 10n }
              : {
                  toJSON() {
                    throw new Error("cannot serialise this");
                  },
                };
          try {
            service.send("m", marker, argument);
          } catch (error) {
            if (error instanceof TypeError && /cannot be encoded by Socket\.IO/.test(error.message)) refused.add(marker);
            else serviceErrors.push(`send ${payload}: ${String(error)}`);
          }
        } else call("send", () => service.send("m", marker));
        sent.push(marker);
        const status = service.getStatus();
        sentOn.set(marker, { at: Date.now(), socketId: status.isConnected ? status.socketId : null });
        log(`send ${marker} ${via} (${service.getStatus().state})`);
        return marker;
      };
      service.on("connection:connected", () => {
        if (!reacting || reactRandom() >= 0.3) return;
        reactions.sendFromConnected += 1;
        sendMarker(sendRandom(), "from connection:connected");
      });
      const requests: Promise<unknown>[] = [];
      let requestsResolved = 0;
      let requestsRejected = 0;
      let sending = true;
      const sendLoop = (async () => {
        while (sending) {
          const kind = sendRandom();
          const marker = sendMarker(kind, "");
          if (kind > 0.97) {
            requests.push(
              service.requestWith({ timeout: 1_500 }, "r", `r${marker}`).then(
                () => (requestsResolved += 1),
                () => (requestsRejected += 1),
              ),
            );
          }
          await sleep(between(sendRandom, 5, 40));
        }
      })();

      // ---- the fault schedule.
      const faultCounts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
      let burstNotifications = 0;
      const schedule: string[] = [];
      let tokenNumber = 0;
      const faults: Record<FaultKind, () => Promise<void>> = {
        kill: async () => {
          await server.kill();
          await sleep(between(faultRandom, 20, 600));
          await server.restart();
        },
        kick: async () => server.kickAll(),
        blackhole: async () => {
          proxy.blackhole();
          await sleep(between(faultRandom, 100, 1_500));
          proxy.restore();
        },
        cut: async () => proxy.cut(),
        authFlip: async () => {
          const next = `token-${++tokenNumber}`;
          server.acceptToken(next);
          server.revokeToken(currentToken);
          currentToken = next;
          await sleep(between(faultRandom, 0, 400));
          call("setAuthToken", () => service.setAuthToken(next));
        },
        offline: async () => {
          call("notifyOffline", () => service.notifyOffline());
          await sleep(between(faultRandom, 50, 800));
          call("notifyOnline", () => service.notifyOnline());
        },
        resume: async () => call("notifyResume", () => service.notifyResume()),
        wallStep: async () => {
          wallOffset += (faultRandom() < 0.5 ? -1 : 1) * HOUR;
          log(`wall clock now ${wallOffset / HOUR} h off`);
        },
        burst: async () => {
          const count = between(faultRandom, 10, 50);
          const which = faultRandom();
          let wentOffline = false;
          for (let index = 0; index < count; index++) {
            const offline = which < 1 / 3 || (which < 2 / 3 && index % 3 === 0);
            wentOffline ||= offline;
            burstNotifications += 1;
            if (offline) call("notifyOffline", () => service.notifyOffline());
            else call("notifyResume", () => service.notifyResume());
            if (faultRandom() < 0.5) await sleep(between(faultRandom, 0, 20));
          }
          if (wentOffline) call("notifyOnline", () => service.notifyOnline());
        },
        force: async () => {
          if (faultRandom() >= 0.5) {
            force("a button");
            return;
          }
          call("notifyOffline", () => service.notifyOffline());
          const settled = force("a button, while offline");
          if (settled && (await within(settled, OFFLINE_FORCE_BOUND, () => "timeout")) === "timeout") {
            violation(`forceReconnection() while offline did not settle within ${OFFLINE_FORCE_BOUND} ms`);
          }
          call("notifyOnline", () => service.notifyOnline());
        },
      };
      while (elapsed() < DURATION) {
        const kind = FAULT_KINDS[Math.floor(faultRandom() * FAULT_KINDS.length)]!;
        faultCounts[kind] += 1;
        schedule.push(`${elapsed()}:${kind}@${service.getStatus().state}`);
        log(`FAULT ${kind} (${service.getStatus().state})`);
        await faults[kind]();
        log(`fault ${kind} over`);
        await sleep(between(faultRandom, 50, 500));
      }
      sending = false;
      await sendLoop;

      // ---- the faults stop: everything restored (each fault restores its own), online, valid
      // token, no listener reacting. (The misbehaving functions stay: they are the app's.)
      reacting = false;
      proxy.restore();
      await server.listen();
      call("notifyOnline", () => service.notifyOnline());
      const faultsStopped = Date.now();
      const stateAtStop = service.getStatus().state;
      await waitForState(service, "connected", RECONNECT_BOUND);
      const reconnectMs = Date.now() - faultsStopped;
      // A fence: once the server acks it on a live connection, every earlier send on it has arrived,
      // and every earlier socket is gone (its unconfirmed sends announced). A connection that is
      // stale at the stop (a dead path not yet detected) fails the fence: wait for the next one.
      let fenceMs = -1;
      for (let tries = 0; tries < 5 && fenceMs < 0; tries++) {
        try {
          await waitForState(service, "connected", RECONNECT_BOUND);
          await service.requestWith({ timeout: 3_000 }, "fence");
          fenceMs = Date.now() - faultsStopped;
        } catch {
          // the connection was lost meanwhile: try on the next one
        }
      }
      expect(fenceMs, "the fence was acked on a connection after the faults stopped").toBeGreaterThanOrEqual(0);
      await Promise.all(requests);
      // Every forceReconnection() settles: connected now, so any still waiting resolves at once.
      const unsettled = await within(
        Promise.all(forces.map((entry) => entry.promise)).then(() => 0),
        RECONNECT_BOUND,
        () => forces.filter((entry) => entry.outcome === null).length,
      );
      check("end");
      clearInterval(sampler);
      sampler = undefined;
      transitions.unsubscribe();

      // ---- accounting.
      const problems: string[] = [];
      const sentSet = new Set(sent);
      let receivedAndUnconfirmed = 0;
      for (const marker of sent) {
        const r = received.get(marker) ?? 0;
        const d = dropped.get(marker)?.length ?? 0;
        const u = unconfirmed.get(marker) ?? 0;
        const payload = unencodable.get(marker);
        if (payload === "bigint" && !refused.has(marker)) problems.push(`${marker} (a BigInt) was not refused at send()`);
        if (payload !== undefined && r > 0) problems.push(`${marker} (unencodable: ${payload}) received ${r} times`);
        if (refused.has(marker)) {
          if (d + u > 0) problems.push(`${marker} refused at send() but also announced (${d} dropped, ${u} unconfirmed)`);
          continue;
        }
        if (d > 0 && payload === undefined && dropped.get(marker)!.includes("unencodable")) {
          problems.push(`${marker} (encodable) dropped as unencodable`);
        }
        if (r > 1) problems.push(`${marker} received ${r} times`);
        if (d > 1 || u > 1) problems.push(`${marker} announced ${d} dropped, ${u} unconfirmed`);
        if (d > 0 && (r > 0 || u > 0)) problems.push(`${marker} dropped (${dropped.get(marker)!.join()}) but also received ${r} / unconfirmed ${u}`);
        // Even a link that died before its first heartbeat ack (the chart takes that for a server
        // that does not ack) announces its sends: the socket actor keeps them until the server
        // shows it is alive (docs/queue.md).
        if (r + d + u === 0) problems.push(`${marker} neither received nor announced (${JSON.stringify(sentOn.get(marker))})`);
        if (r > 0 && u > 0) receivedAndUnconfirmed += 1;
      }
      for (const marker of received.keys()) if (!sentSet.has(marker)) problems.push(`${marker} received but never sent`);
      for (const [callback, count] of announcedFaults) {
        if (count > 1) problems.push(`callback:failed announced ${count} times for ${callback}`);
        if (!misbehaved.has(callback)) problems.push(`callback:failed announced for ${callback}, which behaved`);
      }
      for (const callback of misbehaved) if (!announcedFaults.has(callback)) problems.push(`${callback} misbehaved but was never announced`);
      const dropReasons: Record<string, number> = {};
      for (const reasons of dropped.values()) for (const reason of reasons) dropReasons[reason] = (dropReasons[reason] ?? 0) + 1;

      console.log(
        [
          `fault-run seed ${SEED}: ${DURATION} ms of faults, ${elapsed()} ms wall`,
          `faults: ${JSON.stringify(faultCounts)} (${schedule.length} in all; ${burstNotifications} burst notifications)`,
          `misbehaving functions: ${JSON.stringify(misbehaviour)}; misbehaved ${JSON.stringify([...misbehaved])} (calls ${JSON.stringify(calls)}); callback:failed ${JSON.stringify(Object.fromEntries(announcedFaults))}`,
          `unencodable sends: ${[...unencodable.values()].filter((p) => p === "bigint").length} BigInt, ${[...unencodable.values()].filter((p) => p === "toJSON").length} toJSON; refused ${refused.size}, dropped unencodable ${dropReasons.unencodable ?? 0}`,
          `from listeners: ${JSON.stringify(reactions)}; forceReconnection() ${forces.length} (${forces.filter((entry) => entry.outcome === "resolved").length} resolved, ${forces.filter((entry) => entry.outcome?.startsWith("rejected")).length} rejected, ${unsettled} unsettled)`,
          `schedule: ${schedule.join(" ")}`,
          `sends: ${sent.length}, received ${[...received.keys()].length}, dropped ${dropped.size} ${JSON.stringify(dropReasons)}, unconfirmed ${unconfirmed.size} (of which also received ${receivedAndUnconfirmed}), queued at the end ${service.getStatus().queuedMessages}`,
          `connections: ${connections.length}, ${connections.filter((connection) => !connection.acked).length} without a heartbeat ack`,
          `requests: ${requests.length} (${requestsResolved} resolved, ${requestsRejected} rejected; server answered ${requestsAnswered})`,
          `events: ${JSON.stringify(Object.fromEntries(events))}`,
          `sockets: ${socketsCreated} created by the service, at most ${maxClientLive} live at once; server: ${server.connections} connections, ${server.handshakes} handshakes (${server.refused} refused), at most ${maxServerRaw} open at once, ${maxServerCounted} counting dead paths out (${excludedSeen} dead-path samples); transports ${JSON.stringify(Object.fromEntries(transports))}; proxy accepted ${proxy.accepted}`,
          `after the faults stopped (state ${stateAtStop}): connected after ${reconnectMs} ms, fence acked after ${fenceMs} ms`,
          // Every check at a glance: an assertion below stops at the first that fails.
          `checks: ${violations.length} socket-count violations, ${problems.length} accounting problems, ${serviceErrors.length} service errors, ` +
            `${listenerErrors.length} listener errors, ${processErrors.length} process errors, ${unsettled} unsettled forceReconnection()`,
        ].join("\n"),
      );

      expect(violations).toEqual([]);
      expect(problems.slice(0, 20)).toEqual([]);
      expect(serviceErrors).toEqual([]);
      expect(listenerErrors).toEqual([]);
      expect(processErrors).toEqual([]);
      expect(service.getStatus().queuedMessages).toBe(0);
      expect(requestsResolved + requestsRejected).toBe(requests.length);
      expect(unsettled, "forceReconnection() promises that never settled").toBe(0);
      // The run did meet faults and the service did carry traffic through them.
      expect(schedule.length).toBeGreaterThan(3);
      expect(received.size).toBeGreaterThan(0);
      // The dead sockets of abandoned paths are gone after the server's ping timeout: one socket left.
      await eventually(() => expect(server.openSockets()).toBe(1), 5_000);
      expect(service.getStatus().state).toBe("connected");
      passed = true;
    } finally {
      if (!passed) console.log(`fault-run seed ${SEED} failed; timeline:\n${timeline.join("\n")}`);
      if (sampler) clearInterval(sampler);
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
    }
  });
  // Found by this run (seed-independent, timing-dependent there): an auth flip whose new token
  // arrived while a handshake with the revoked one was in flight left the service in
  // authRequired for good, holding a token it never tried. Pinned down deterministically here.
  it("uses a token handed over while a handshake with the old one is in flight", async () => {
    const server = await rig.startServer({ tokens: ["old"] });
    const service = rig.service({ url: server.url, auth: { token: "old" }, config: { baseDelay: 50, maxDelay: 100 } });
    service.connect();
    await waitForState(service, "connected");
    server.acceptToken("new");
    let handedOver = false;
    const subscription = service.actor.subscribe(() => {
      if (handedOver || service.getStatus().state !== "connecting") return;
      handedOver = true;
      service.setAuthToken("new"); // the retry's handshake, with "old", has just gone out
    });
    const reconnected = waitForEvent(service, "connection:connected");
    server.revokeToken("old");
    await reconnected;
    subscription.unsubscribe();
    expect(handedOver).toBe(true);
    expect(service.getStatus().state).toBe("connected");
    expect(server.seenTokens.at(-1)).toBe("new");
  });
});
