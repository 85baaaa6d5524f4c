import { drainServer } from "../../src/server/index.js";
import type { Chapter, ChapterOutcome, StoryRig } from "./rig.js";

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** A list short enough for one line: the first few and the last. */
function listed(values: readonly number[], keep = 6): string {
  if (values.length <= keep) return values.join(", ");
  return `${values.slice(0, keep - 1).join(", ")}, …, ${values.at(-1)}`;
}

/** Cap of a retry delay under the strategy in force (the additive jitter comes on top of the envelope). */
function delayCap(rig: StoryRig): number {
  const { maxDelay, jitterRange, jitterStrategy } = rig.config;
  return jitterStrategy === "additive" ? maxDelay + jitterRange : maxDelay;
}

/**
 * The server each failed attempt of an outage that starts on the primary goes to:
 * failoverAfter attempts on one, then the next (wrapping).
 */
function alternation(count: number, failoverAfter: number): string[] {
  return Array.from({ length: count }, (_, index) => (Math.floor(index / failoverAfter) % 2 === 0 ? "primary" : "backup"));
}

/** Checks that the failed attempts since `mark` alternated between the servers as failoverAfter says. */
function checkAlternation(rig: StoryRig, mark: number): string[] {
  const failedOn = rig.since(mark, "connection:failed").map((failure) => rig.serverName(failure.server));
  const expected = alternation(failedOn.length, rig.config.failoverAfter);
  const failovers = rig.since(mark, "connection:server_changed").filter((change) => change.reason === "failover").length;
  rig.invariant(
    "failover after failoverAfter failures on each server",
    JSON.stringify(failedOn) === JSON.stringify(expected),
    `failed on ${failedOn.join(", ") || "none"} (${rig.config.failoverAfter} in a row on one, then the next); ${plural(failovers, "failover")}`,
  );
  return failedOn;
}

/** Gaps in ms between consecutive times. */
const gaps = (times: readonly number[]) => times.slice(1).map((time, index) => time - times[index]!);

/** The next `count` heartbeats the servers receive (times, ms since the story started). */
function heartbeatsArriving(rig: StoryRig, count: number, cadence: number): Promise<number[]> {
  const mark = rig.heartbeats.length;
  return rig.waits.until(
    `${count} heartbeats at the server`,
    (count + 1) * cadence + 10_000,
    rig.heartbeatsChanged.watch(() => {
      const arrived = rig.heartbeats.slice(mark);
      return arrived.length >= count ? arrived.slice(0, count).map((heartbeat) => heartbeat.at) : undefined;
    }),
  );
}

/** Handshakes that reached either server. */
const handshakes = (rig: StoryRig) => rig.server.handshakes + rig.backup.handshakes;

function checkDelays(rig: StoryRig, mark: number): void {
  const delays = rig.since(mark, "connection:reconnecting").map((payload) => payload.delay);
  const cap = delayCap(rig);
  rig.invariant(
    "retry delays within the cap",
    delays.length > 0 && delays.every((delay) => delay > 0 && delay <= cap),
    `${listed(delays)} ms, each in (0, ${cap}] (${rig.config.jitterStrategy} jitter)`,
  );
}

/**
 * Resolves once every server-side socket runs on WebSocket. Until the Engine.IO upgrade is
 * done the client still opens HTTP polling requests; a count of TCP connections taken
 * before that would see one of them arrive late.
 */
function transportUpgraded(rig: StoryRig): Promise<void> {
  return rig.waits.until<void>("the upgrade of the transport to WebSocket", undefined, (done) => {
    const connections = [...rig.server.io.of("/").sockets.values()].map((socket) => socket.conn);
    const check = () => {
      if (connections.length > 0 && connections.every((conn) => conn.transport.name === "websocket")) done();
    };
    for (const conn of connections) conn.on("upgrade", check);
    check();
    return () => {
      for (const conn of connections) conn.off("upgrade", check);
    };
  });
}

async function connect(rig: StoryRig): Promise<ChapterOutcome> {
  const { service, server, waits, out } = rig;
  const connected = waits.event("connection:connected");
  const started = rig.now();
  out.narrate(`service.connect() through the proxy, token "${rig.tokens.first}" in the handshake auth`);
  service.connect();
  await connected;
  const ms = rig.now() - started;
  const latency = await waits.heartbeatAcks(1);
  out.note(`connected in ${ms} ms; first heartbeat acked, latency ${latency ?? "?"} ms`);
  const queries = server.seenQueries.map((query) => JSON.stringify(query));
  rig.invariant(
    "token only in the auth payload",
    server.seenTokens.at(-1) === rig.tokens.first && !queries.some((query) => query.includes(rig.tokens.first)),
    "the server saw it in the handshake auth, never in a query string",
  );
  return { outcome: "connected, heartbeat acked", measuredMs: ms, measuredWhat: "connect→connected", attempts: 0 };
}

async function crash(rig: StoryRig): Promise<ChapterOutcome> {
  const { service, server, waits, out } = rig;
  const mark = rig.log.length;
  const lost = waits.event("connection:disconnected");
  const twoFailures = waits.events("connection:failed", 2);
  const started = rig.now();
  out.narrate("server.kill(): the server crashes, every TCP connection destroyed, the port closed");
  await server.kill();
  await lost;
  const failures = await twoFailures;
  const [first, second] = failures.map((failure) => failure.error.message);
  if (/socket hang up/.test(first!)) {
    out.note(
      `"${first}": the proxy still accepts TCP connections and hangs up at once, since the server behind it is down ` +
        "(a closed port would read ECONNREFUSED). Each attempt uses one transport, WebSocket first; a hang-up may be " +
        "a proxy that blocks WebSocket, so the next attempt to that server starts with HTTP long-polling" +
        (/xhr poll error/.test(second!) ? ` ("${second}").` : "."),
    );
  }
  if (rig.config.jitterStrategy === "full") {
    out.note(
      "full jitter: each delay is drawn anew between baseDelay/2 and an envelope that doubles per retry, " +
        "so a delay can be shorter than the one before it",
    );
  }
  const reconnected = waits.event("connection:reconnected");
  out.narrate("server.restart() on the same port");
  await server.restart();
  const { attempts } = await reconnected;
  const ms = rig.now() - started;
  out.note(`back after ${ms} ms and ${plural(attempts, "retry", "retries")}`);
  const failedOn = checkAlternation(rig, mark);
  if (failedOn.includes("backup")) {
    out.note(
      `the primary was back after ${plural(failures.length, "failure")}, but after failoverAfter (${rig.config.failoverAfter}) failures in a row ` +
        "the next attempts went to the backup, which is down in this chapter (ECONNREFUSED: nothing listens there). " +
        `${rig.config.failoverAfter} failures there sent the service back to the primary: a longer outage than with one server.`,
    );
  }
  checkDelays(rig, mark);
  rig.invariant("attempt counter reset once connected", service.getStatus().attempt === 0, "status.attempt is 0 again");
  return {
    outcome: "crash → backingOff → reconnected",
    measuredMs: ms,
    measuredWhat: "outage",
    attempts,
  };
}

async function silentLink(rig: StoryRig): Promise<ChapterOutcome> {
  const { proxy, waits, out, config } = rig;
  out.narrate("waiting for two heartbeat acks (misses only count on a connection that acked before)");
  const latency = await waits.heartbeatAcks(2);
  out.note(`2 heartbeats acked, latency ${latency ?? "?"} ms`);
  const mark = rig.log.length;
  const lost = waits.event("connection:disconnected", {
    filter: ({ reason }) => reason === "heartbeat timeout",
    timeout: config.heartbeatInterval + config.unhealthyThreshold * config.heartbeatTimeout + 10_000,
  });
  const started = rig.now();
  out.narrate("proxy.blackhole(): every byte dropped both ways, no FIN, no RST: the socket still looks open");
  proxy.blackhole();
  await lost;
  const detectedIn = rig.now() - started;
  const bound = config.heartbeatInterval + config.unhealthyThreshold * config.heartbeatTimeout;
  const slack = Math.max(500, Math.round(bound * 0.1));
  out.note(`silent loss detected in ${detectedIn} ms`);
  out.note(
    `bound: heartbeatInterval + unhealthyThreshold × heartbeatTimeout = ` +
      `${config.heartbeatInterval} + ${config.unhealthyThreshold} × ${config.heartbeatTimeout} = ${bound} ms`,
  );
  rig.invariant(
    "silent loss detected within the bound",
    detectedIn <= bound + slack,
    `${detectedIn} ms ≤ ${bound} ms (+ ${slack} ms scheduling slack)`,
  );
  const degraded = rig.since(mark, "connection:health_degraded");
  rig.invariant(
    "health_degraded first",
    degraded.length === 1 && degraded[0]!.consecutiveFailures === config.unhealthyThreshold,
    `announced with ${degraded[0]?.consecutiveFailures ?? "?"} missed acks in a row, before the disconnect`,
  );
  const reconnected = waits.event("connection:reconnected");
  out.narrate("proxy.cut() + proxy.restore(): the dead connections are reset, the link forwards again");
  proxy.cut();
  proxy.restore();
  const { attempts } = await reconnected;
  return {
    outcome: "heartbeat timeout → reconnected",
    measuredMs: detectedIn,
    measuredWhat: "blackhole→detected",
    attempts,
  };
}

async function offline(rig: StoryRig): Promise<ChapterOutcome> {
  const { service, server, proxy, waits, out } = rig;
  await transportUpgraded(rig);
  out.note("transport upgraded to WebSocket: no HTTP polling request in flight from here on");
  out.narrate("service.notifyOffline(): the OS reports the network gone");
  service.notifyOffline();
  const lost = waits.event("connection:disconnected");
  out.narrate("server.kill(): and the link is down for real");
  await server.kill();
  await lost;
  const before = { accepted: proxy.accepted, handshakes: server.handshakes, attempt: service.getStatus().attempt };
  const mark = rig.log.length;
  out.narrate(`watching for ${rig.quietMs} ms while offline`);
  await waits.observe(rig.quietMs);
  const status = service.getStatus();
  const tries = rig.since(mark, "connection:failed").length + rig.since(mark, "connection:reconnecting").length;
  out.note(
    `offline for ${rig.quietMs} ms: ${plural(proxy.accepted - before.accepted, "TCP connection")}, ` +
      `${plural(server.handshakes - before.handshakes, "handshake")}, status.attempt ${before.attempt} → ${status.attempt}, ` +
      `nextRetryAt ${status.nextRetryAt ?? "null"}`,
  );
  rig.invariant(
    "no attempt offline",
    proxy.accepted === before.accepted &&
      server.handshakes === before.handshakes &&
      status.attempt === before.attempt &&
      tries === 0 &&
      status.state === "backingOff" &&
      status.network === "offline" &&
      status.nextRetryAt === null,
    "no connection, handshake, failure or retry timer; attempt unchanged",
  );
  out.narrate("server.restart(), then service.notifyOnline()");
  await server.restart();
  const connected = waits.event("connection:connected");
  const reconnected = waits.event("connection:reconnected");
  const started = rig.now();
  service.notifyOnline();
  const stateRightAfter = service.getStatus().state;
  await connected;
  const ms = rig.now() - started;
  const { attempts } = await reconnected;
  out.note(
    `online → connected in ${ms} ms (state right after notifyOnline(): ${stateRightAfter}); ` +
      `the attempt notifyOnline() started counts as ${plural(attempts, "retry", "retries")}`,
  );
  rig.invariant(
    "notifyOnline() attempts at once",
    stateRightAfter === "connecting",
    "connecting synchronously on notifyOnline(), no backoff wait",
  );
  return {
    outcome: "no attempt offline; online → connected",
    measuredMs: ms,
    measuredWhat: "online→connected",
    attempts,
  };
}

async function queue(rig: StoryRig): Promise<ChapterOutcome> {
  const { service, server, waits, out, notes, notesChanged } = rig;
  const mark = rig.log.length;
  const notesBefore = notes.length;
  const lost = waits.event("connection:disconnected");
  const failed = waits.event("connection:failed");
  out.narrate("server.kill() again");
  await server.kill();
  await lost;
  for (const seq of [1, 2, 3]) service.send("note", { seq, text: `queued note ${seq}` });
  out.narrate(`service.send("note", #1..#3) while ${service.getStatus().state}`);
  const queued = service.getStatus().queuedMessages;
  rig.invariant("sends queued while not connected", queued === 3, `status.queuedMessages = ${queued}`);
  await failed;
  out.note("one retry failed with 3 messages held; they wait in the queue");
  const reconnected = waits.event("connection:reconnected");
  out.narrate("server.restart()");
  await server.restart();
  const { attempts } = await reconnected;
  const reconnectedAt = rig.now();
  // A marker sent after the reconnection arrives after anything the flush sent (one socket, in
  // order): once it is in, a duplicate of a queued note would have been seen.
  service.send("note", { seq: "end", text: "marker" });
  await waits.until(
    "the marker note at the server",
    undefined,
    notesChanged.watch(() => (notes.slice(notesBefore).some((note) => note.seq === "end") ? true : undefined)),
  );
  const delivered = notes.slice(notesBefore).filter((note) => note.seq !== "end");
  const sequence = delivered.map((note) => note.seq);
  const sockets = new Set(delivered.map((note) => note.socketId));
  out.note(`server received ${sequence.map((seq) => `#${seq}`).join(", ")} on ${plural(sockets.size, "socket")}, then the marker`);
  const dropped = rig.since(mark, "message:dropped");
  rig.invariant(
    "queued messages delivered once each, in order",
    JSON.stringify(sequence) === JSON.stringify([1, 2, 3]) && dropped.length === 0 && service.getStatus().queuedMessages === 0,
    `received [${sequence.join(", ")}] (expected [1, 2, 3]), ${dropped.length} dropped`,
  );
  return {
    outcome: `${delivered.length}/3 queued delivered once each, in order`,
    measuredMs: rig.now() - reconnectedAt,
    measuredWhat: "reconnect→delivered",
    attempts,
  };
}

async function tokenRevoked(rig: StoryRig): Promise<ChapterOutcome> {
  const { service, server, waits, out, tokens, notes } = rig;
  const mark = rig.log.length;
  const refusedBefore = server.refused;
  const authRequired = waits.event("connection:auth_required");
  const started = rig.now();
  out.narrate(
    `server.revokeToken("${tokens.first}"): the session is cut and the token refused from now on (by the backup too: one auth realm)`,
  );
  server.revokeToken(tokens.first);
  rig.backup.revokeToken(tokens.first);
  await authRequired;
  const refused = server.refused - refusedBefore;
  const handshakesAtAuthRequired = server.handshakes;
  out.note(`${plural(refused, "handshake")} refused (${service.getStatus().lastError?.message ?? "?"}), now waiting for a token`);
  const unconfirmed = rig.since(mark, "message:unconfirmed");
  if (unconfirmed.length > 0) {
    const atServer = unconfirmed.filter(({ args }) => notes.some((note) => note.seq === (args[0] as { seq?: unknown } | undefined)?.seq));
    out.note(
      `message:unconfirmed: ${plural(unconfirmed.length, "send")} (chapter 5's marker note) went out after the last heartbeat ack, ` +
        "and the revocation cut the socket before the next ack could confirm it. The service cannot know whether it arrived, " +
        `so it says so instead of resending it (at most once). The server did get ${atServer.length === unconfirmed.length ? "it" : `${atServer.length} of them`}.`,
    );
  }
  await waits.observe(rig.quietMs);
  rig.invariant(
    "a bad token is not retried",
    refused === 1 && server.handshakes === handshakesAtAuthRequired && service.getStatus().state === "authRequired",
    `1 refused handshake, then none for ${rig.quietMs} ms in authRequired`,
  );
  const connected = waits.event("connection:connected");
  out.narrate(`server.acceptToken("${tokens.second}") (and the backup); service.setAuthToken("${tokens.second}")`);
  server.acceptToken(tokens.second);
  rig.backup.acceptToken(tokens.second);
  const tokenAt = rig.now();
  const sessionMark = rig.log.length;
  service.setAuthToken(tokens.second);
  await connected;
  const ms = rig.now() - tokenAt;
  // connection:reconnected fires right after connection:connected, in the same step: it is in the log by now.
  const reconnected = rig.since(sessionMark, "connection:reconnected");
  out.note(`new token → connected in ${ms} ms (${rig.now() - started} ms since the revocation)`);
  out.note(
    "a new session, not a reconnection: connection:connected fires, connection:reconnected does not. The retries ended " +
      "in authRequired; setAuthToken() starts afresh with new credentials. An app resyncs on connection:connected (docs/events.md).",
  );
  rig.invariant(
    "the new token is used",
    server.seenTokens.at(-1) === tokens.second,
    `last handshake carried "${server.seenTokens.at(-1) ?? ""}"`,
  );
  rig.invariant(
    "a new session after authRequired",
    reconnected.length === 0,
    `connection:connected without connection:reconnected (${reconnected.length} fired)`,
  );
  return {
    outcome: "authRequired → new token → new session",
    measuredMs: ms,
    measuredWhat: "setAuthToken→connected",
    attempts: rig.since(mark, "connection:reconnecting").length,
  };
}

async function goneForGood(rig: StoryRig): Promise<ChapterOutcome> {
  const { service, server, proxy, waits, out, config } = rig;
  const mark = rig.log.length;
  const exhausted = waits.event("connection:max_attempts_reached", {
    timeout: config.maxReconnectAttempts * (config.maxDelay + config.jitterRange + config.connectionTimeout) + 10_000,
  });
  const started = rig.now();
  out.narrate("server.kill(), and this time it stays down");
  await server.kill();
  const { attempts } = await exhausted;
  const ms = rig.now() - started;
  const failures = rig.since(mark, "connection:failed").length;
  const retries = rig.since(mark, "connection:reconnecting").length;
  out.note(`exhausted after ${ms} ms: ${plural(failures, "failed attempt")}, ${plural(retries, "retry", "retries")} scheduled`);
  const failedOn = checkAlternation(rig, mark);
  out.note(
    `with the backup down too, the attempts alternate: ${failedOn.filter((name) => name === "primary").length} on the primary, ` +
      `${failedOn.filter((name) => name === "backup").length} on the backup; maxReconnectAttempts counts them all, whatever the server`,
  );
  checkDelays(rig, mark);
  rig.invariant(
    "exhausted after maxReconnectAttempts",
    attempts === config.maxReconnectAttempts && failures === config.maxReconnectAttempts && service.getStatus().state === "exhausted",
    `${failures} failures in a row → max_attempts_reached { attempts: ${attempts} }`,
  );
  const acceptedBefore = proxy.accepted;
  const quietMark = rig.log.length;
  out.narrate(`watching for ${rig.quietMs} ms in exhausted`);
  await waits.observe(rig.quietMs);
  rig.invariant(
    "no attempt once exhausted",
    proxy.accepted === acceptedBefore &&
      rig.since(quietMark, "connection:failed").length === 0 &&
      service.getStatus().state === "exhausted",
    // The backup is a closed port: an attempt there leaves no trace but a connection:failed, and none came.
    `no TCP connection at the proxy and no connection:failed for ${rig.quietMs} ms after giving up`,
  );
  return {
    outcome: `exhausted after ${attempts}/${config.maxReconnectAttempts} failed attempts`,
    measuredMs: ms,
    measuredWhat: "kill→exhausted",
    attempts: retries,
  };
}

/** Resolves when `promise` does, rejects when it does; a wait like the others (timeout, cancel). */
function settled<T>(rig: StoryRig, what: string, promise: Promise<T>): Promise<T> {
  return rig.waits.until<T>(what, undefined, (done) => {
    let active = true;
    promise.then(
      (value) => {
        if (active) done(value);
      },
      () => {},
    );
    return () => {
      active = false;
    };
  }).then(async (value) => {
    await promise; // a rejection surfaces here, with its own message
    return value;
  });
}

async function call(rig: StoryRig): Promise<ChapterOutcome> {
  const { service, server, proxy, waits, out, config, notes, notesChanged } = rig;
  const cadence = Math.min(config.heartbeatInterval, config.callHeartbeatInterval);
  // A gap nearer the call cadence than the normal one is the call's.
  const midpoint = (cadence + config.heartbeatInterval) / 2;
  const normalGap = gaps(await heartbeatsArriving(rig, 2, config.heartbeatInterval))[0]!;
  out.note(`before the call: ${normalGap} ms between two heartbeats at the server (heartbeatInterval ${config.heartbeatInterval} ms)`);

  const mark = rig.log.length;
  const inCall = heartbeatsArriving(rig, 4, cadence);
  out.narrate("service.setCallActive(true): a call starts");
  service.setCallActive(true);
  const callGaps = gaps(await inCall);
  out.note(
    `in the call: ${callGaps.join(", ")} ms between heartbeats (min(heartbeatInterval, callHeartbeatInterval) = ` +
      `min(${config.heartbeatInterval}, ${config.callHeartbeatInterval}) = ${cadence} ms); the rest in progress was measured again from the last heartbeat`,
  );
  rig.invariant(
    "a call shortens the heartbeat cadence",
    service.getStatus().callActive && normalGap > midpoint && callGaps.every((gap) => gap < midpoint),
    `gaps ${callGaps.join(", ")} ms in the call, ${normalGap} ms before it (the midpoint ${midpoint} ms between the cadences)`,
  );

  out.narrate("waiting for a heartbeat ack, then proxy.blackhole() as in chapter 3");
  await waits.heartbeatAcks(1);
  const normalBound = config.heartbeatInterval + config.unhealthyThreshold * config.heartbeatTimeout;
  const bound = cadence + config.unhealthyThreshold * config.heartbeatTimeout;
  const slack = Math.max(500, Math.round(bound * 0.1));
  const lost = waits.event("connection:disconnected", {
    filter: ({ reason }) => reason === "heartbeat timeout",
    timeout: normalBound + 10_000,
  });
  const started = rig.now();
  proxy.blackhole();
  await lost;
  const detectedIn = rig.now() - started;
  const outside = rig.outcomes.get("silent-link")?.measuredMs;
  out.note(
    `silent loss detected in ${detectedIn} ms in the call (bound ${cadence} + ${config.unhealthyThreshold} × ${config.heartbeatTimeout} = ${bound} ms); ` +
      `outside a call (chapter 3): ${outside ?? "?"} ms, bound ${normalBound} ms`,
  );
  rig.invariant(
    "in a call, silent loss detected within the call bound",
    detectedIn <= bound + slack && detectedIn < normalBound,
    `${detectedIn} ms ≤ ${bound} ms (+ ${slack} ms slack), below the ${normalBound}-ms bound outside a call`,
  );
  const reconnected = waits.event("connection:reconnected");
  out.narrate("proxy.cut() + proxy.restore()");
  proxy.cut();
  proxy.restore();
  const { attempts } = await reconnected;
  const delays = rig.since(mark, "connection:reconnecting").map((payload) => payload.delay);
  rig.invariant(
    "in a call, retry delays capped at callMaxDelay",
    delays.length > 0 && delays.every((delay) => delay <= config.callMaxDelay),
    `${listed(delays)} ms, each ≤ ${config.callMaxDelay} ms`,
  );

  await waits.heartbeatAcks(1);
  const linkMark = rig.log.length;
  const socketId = service.getStatus().socketId;
  const handshakesBefore = handshakes(rig);
  const probe = waits.heartbeatAcks(1);
  const forcedAt = rig.now();
  out.narrate("service.forceReconnection() during the call, on a link that just acked a heartbeat");
  await settled(rig, "forceReconnection() to resolve", service.forceReconnection());
  await probe;
  const probedIn = rig.now() - forcedAt;
  out.note(
    `resolved; a heartbeat acked ${probedIn} ms after it (the link is probed at once), same socket, ${handshakes(rig) - handshakesBefore} new handshakes`,
  );
  rig.invariant(
    "in a call, forceReconnection() keeps a working link",
    handshakes(rig) === handshakesBefore &&
      service.getStatus().socketId === socketId &&
      rig.since(linkMark, "connection:disconnected").length === 0,
    `socket ${socketId} kept, no handshake at the servers, no connection:disconnected`,
  );

  const lostAgain = waits.event("connection:disconnected");
  out.narrate("server.kill(): a short outage during the call");
  await server.kill();
  await lostAgain;
  const notesBefore = notes.length;
  for (const seq of [1, 2, 3]) service.send("note", { seq, text: `ordinary note ${seq}` });
  service.sendWith({ priority: "call" }, "note", { seq: "call", text: "call signalling: hang-up" });
  out.narrate('service.send("note", #1..#3), then service.sendWith({ priority: "call" }, "note", hang-up)');
  const queued = service.getStatus().queuedMessages;
  const back = waits.event("connection:reconnected");
  out.narrate("server.restart()");
  await server.restart();
  await back;
  service.send("note", { seq: "end", text: "marker" });
  await waits.until(
    "the marker note at the server",
    undefined,
    notesChanged.watch(() => (notes.slice(notesBefore).some((note) => note.seq === "end") ? true : undefined)),
  );
  const order = notes
    .slice(notesBefore)
    .filter((note) => note.seq !== "end")
    .map((note) => note.seq);
  out.note(`the server received ${order.map((seq) => `#${seq}`).join(", ")}`);
  rig.invariant(
    "call signalling goes out first",
    queued === 4 && JSON.stringify(order) === JSON.stringify(["call", 1, 2, 3]),
    `${queued} held; received [${order.join(", ")}] (expected [call, 1, 2, 3]: the call message before the ordinary ones queued before it)`,
  );

  const endMark = rig.log.length;
  const endSocket = service.getStatus().socketId;
  const endHandshakes = handshakes(rig);
  const afterCall = heartbeatsArriving(rig, 2, config.heartbeatInterval);
  out.narrate("service.setCallActive(false): the call ends");
  service.setCallActive(false);
  const afterGap = gaps(await afterCall)[0]!;
  rig.invariant(
    "the call's end restores the cadence, on the same link",
    !service.getStatus().callActive &&
      afterGap > midpoint &&
      service.getStatus().socketId === endSocket &&
      handshakes(rig) === endHandshakes &&
      rig.since(endMark, "connection:disconnected").length === 0,
    `${afterGap} ms between heartbeats again, socket ${endSocket} kept, no reconnection`,
  );
  return {
    outcome: `heartbeat every ${cadence} ms; loss seen in ${detectedIn} ms vs ${outside ?? "?"} ms`,
    measuredMs: detectedIn,
    measuredWhat: "blackhole→detected (call)",
    attempts,
  };
}

async function failover(rig: StoryRig): Promise<ChapterOutcome> {
  const { service, server, backup, proxy, waits, out, config } = rig;
  out.narrate("backup.restart(): the backup server is up (the service reaches it directly, the primary through the proxy)");
  await backup.restart();
  const mark = rig.log.length;
  const changed = waits.event("connection:server_changed", { filter: ({ reason }) => reason === "failover" });
  const onBackup = waits.event("connection:connected", { filter: (payload) => payload.server === backup.url });
  const started = rig.now();
  out.narrate("server.kill(): the primary crashes");
  await server.kill();
  await changed;
  await onBackup;
  const failoverMs = rig.now() - started;
  const failedOn = rig.since(mark, "connection:failed").map((failure) => rig.serverName(failure.server));
  out.note(`on the backup ${failoverMs} ms after the kill, after ${plural(failedOn.length, "failed attempt")} on the primary`);
  rig.invariant(
    "failover after failoverAfter failures",
    failedOn.length === config.failoverAfter &&
      failedOn.every((name) => name === "primary") &&
      service.getStatus().server === backup.url,
    `${failedOn.length} failures on the primary (failoverAfter ${config.failoverAfter}), then connection:server_changed "failover"; getStatus().server is the backup`,
  );

  // While the primary is down, its checks meet the proxy, which hangs up: each is one TCP connection there.
  const acceptedBefore = proxy.accepted;
  const watchMark = rig.log.length;
  const window = config.stablePeriod + config.failbackInterval + config.failbackInterval / 2;
  out.narrate(`watching for ${window} ms with the primary still down`);
  await waits.observe(window);
  const checks = proxy.accepted - acceptedBefore;
  out.note(
    `the primary was checked ${plural(checks, "time")} (an HTTP GET, no socket: a TCP connection at the proxy each), ` +
      `stablePeriod ${config.stablePeriod} ms after connecting, then failbackInterval ${config.failbackInterval} ms after each failed check. ` +
      "A check that meets the proxy's hang-up does not fail at once: Node's fetch, sent with `connection: close`, does not report " +
      `a connection closed before any response, so the check waits out its timeout (connectionTimeout ${config.connectionTimeout} ms). ` +
      "A primary behind a load balancer that accepts and closes would be checked as slowly.",
  );
  rig.invariant(
    "no move back while the primary is down",
    checks >= 1 && service.getStatus().server === backup.url && rig.since(watchMark, "connection:disconnected").length === 0,
    `${plural(checks, "check")} of the primary, still on the backup, no disconnect`,
  );

  const failbackMark = rig.log.length;
  const movedBack = waits.event("connection:server_changed", { filter: ({ reason }) => reason === "failback" });
  const onPrimary = waits.event("connection:connected", { filter: (payload) => payload.server === proxy.url });
  out.narrate("server.restart(): the primary is back");
  await server.restart();
  const backAt = rig.now();
  await movedBack;
  await onPrimary;
  const failbackMs = rig.now() - backAt;
  const leaving = rig.since(failbackMark, "connection:disconnected").map((payload) => payload.reason);
  // A check in flight when the primary comes back may be one that waits out its timeout (above).
  const failbackBound = config.connectionTimeout + config.failbackInterval;
  const slack = Math.max(500, Math.round(failbackBound * 0.1));
  out.note(
    `back on the primary ${failbackMs} ms after it came back: at the next check, at most connectionTimeout + failbackInterval ` +
      `= ${config.connectionTimeout} + ${config.failbackInterval} = ${failbackBound} ms away`,
  );
  rig.invariant(
    "fail-back at the next check",
    failbackMs <= failbackBound + slack &&
      leaving.length === 1 &&
      leaving[0] === "moving back to the primary server" &&
      rig.since(failbackMark, "connection:failed").length === 0 &&
      service.getStatus().server === proxy.url,
    `${failbackMs} ms ≤ ${failbackBound} ms (+ ${slack} ms slack); disconnected "${leaving.join('", "')}", no failure`,
  );
  return {
    outcome: "failover to the backup; fail-back to the primary",
    measuredMs: failoverMs,
    measuredWhat: `kill→on backup (back: ${failbackMs})`,
    attempts: rig.since(mark, "connection:reconnecting").length,
    extraMs: { failback: failbackMs },
  };
}

async function plannedRestart(rig: StoryRig): Promise<ChapterOutcome> {
  const { service, server, backup, proxy, waits, out, config } = rig;
  const windowMs = rig.drainWindowMs;
  const mark = rig.log.length;
  const attemptsSeen: number[] = [];
  const offAttempts = service.on("connection:reconnecting", () => attemptsSeen.push(service.getStatus().attempt));
  try {
    const restarting = waits.event("connection:restarting");
    const changed = waits.event("connection:server_changed", { filter: ({ reason }) => reason === "drain" });
    const closed = waits.event("connection:disconnected");
    const onBackup = waits.event("connection:connected", {
      filter: (payload) => payload.server === backup.url,
      timeout: windowMs + 10_000,
    });
    out.narrate(`drainServer(server.io, { windowMs: ${windowMs} }): the primary announces a restart`);
    const drained = drainServer(server.io, { windowMs, reason: "outage story: planned restart" });
    const low = 100; // drainServer's default reconnectAfterMs is its graceMs, 100 ms
    const notice = await restarting;
    const noticeAt = rig.now();
    const announced = service.getStatus().restarting;
    const result = await settled(rig, "the drain to close every connection", drained);
    const { reason } = await closed;
    out.note(
      `the service picked its moment: back in ${notice.delay} ms, reconnectAfter ${low} ms + a point in the ${notice.windowMs}-ms window ` +
        `(getStatus().restarting ${announced}); the drain closed ${plural(result.connections, "connection")} ("${reason}" here)`,
    );
    out.narrate("server.kill(): the primary's process exits for the restart");
    await server.kill();
    await changed;
    await onBackup;
    const movedAt = rig.now() - noticeAt;
    const failures = rig.since(mark, "connection:failed").length;
    out.note(
      `on the backup ${movedAt} ms after the notice (its moment: ${notice.delay} ms); ` +
        `${plural(failures, "failure")} counted, status.attempt ${attemptsSeen.join(", ") || "?"} while backing off`,
    );
    rig.invariant(
      "a planned restart is announced",
      announced && notice.server === backup.url && notice.windowMs === windowMs && notice.delay >= low && notice.delay < low + windowMs,
      `connection:restarting to the ${rig.serverName(notice.server)} with delay ${notice.delay} ms in [${low}, ${low + windowMs}); getStatus().restarting true`,
    );
    rig.invariant(
      "the move to the backup at its moment, no failure counted",
      movedAt >= notice.delay - 50 &&
        movedAt <= notice.delay + 500 &&
        failures === 0 &&
        attemptsSeen.every((attempt) => attempt === 0) &&
        service.getStatus().server === backup.url &&
        !service.getStatus().restarting,
      `connected to the backup ${movedAt} ms after the notice (drawn ${notice.delay} ms, + 500 ms slack); ` +
        `connection:server_changed "drain"; 0 connection:failed; restarting false again`,
    );

    const failbackMark = rig.log.length;
    const onPrimary = waits.event("connection:connected", { filter: (payload) => payload.server === proxy.url });
    out.narrate("server.restart(): the primary is back after its restart");
    await server.restart();
    const backAt = rig.now();
    await onPrimary;
    const failbackMs = rig.now() - backAt;
    const movedBack = rig.since(failbackMark, "connection:server_changed").map((change) => change.reason);
    out.note(`back on the primary ${failbackMs} ms after its restart (checked stablePeriod ${config.stablePeriod} ms after connecting to the backup)`);
    rig.invariant(
      "fail-back after the restart",
      movedBack.join() === "failback" && rig.since(failbackMark, "connection:failed").length === 0,
      `connection:server_changed "${movedBack.join('", "')}", no failure`,
    );
    out.narrate("backup.kill(): the backup goes down again for the last chapter");
    await backup.kill();
    return {
      outcome: `announced; on the backup at ${movedAt} ms; fail-back`,
      measuredMs: notice.delay,
      measuredWhat: `drawn delay (window ${windowMs})`,
      attempts: rig.since(mark, "connection:reconnecting").length,
      extraMs: { movedAt, failback: failbackMs },
    };
  } finally {
    offAttempts();
  }
}

/** The story, in order. */
export const CHAPTERS: readonly Chapter[] = [
  { key: "connect", title: "Connect", subtitle: "idle → connecting → connected", run: connect },
  {
    key: "crash",
    title: "Server crash",
    subtitle: "the server dies (TCP cut); backingOff with growing delays; it comes back; reconnected",
    run: crash,
  },
  {
    key: "silent-link",
    title: "Silent link",
    subtitle: "packets vanish without a FIN: only the heartbeat can tell",
    run: silentLink,
  },
  {
    key: "offline",
    title: "Offline / online",
    subtitle: "while the network is away nothing is tried or counted; online connects at once",
    run: offline,
  },
  {
    key: "queue",
    title: "Queued messages",
    subtitle: "sends during an outage wait in the queue and arrive once each, in order",
    run: queue,
  },
  {
    key: "token-revoked",
    title: "Token revoked",
    subtitle: "a refused token leads to authRequired, not a retry loop; a new token resumes",
    run: tokenRevoked,
  },
  {
    key: "call",
    title: "Call in progress",
    subtitle: "faster heartbeats, capped retries, a kept link on forceReconnection(), call signalling first",
    run: call,
  },
  {
    key: "failover",
    title: "Failover and fail-back",
    subtitle: "the primary dies: to the backup after failoverAfter failures; back once the primary answers",
    run: failover,
  },
  {
    key: "planned-restart",
    title: "Planned restart",
    subtitle: "drainServer(): each client comes back at its moment in the window, without a failure",
    run: plannedRestart,
  },
  {
    key: "gone-for-good",
    title: "Server gone for good",
    subtitle: "maxReconnectAttempts failures in a row, then exhausted and quiet",
    run: goneForGood,
  },
];
