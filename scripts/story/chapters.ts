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
  const first = failures[0]!.error.message;
  if (/socket hang up/.test(first)) {
    out.note(
      `"${first}": the proxy still accepts TCP connections and hangs up at once, since the server behind it is down ` +
        "(a closed port would read ECONNREFUSED). The service tries WebSocket first and HTTP long-polling after it; " +
        'Socket.IO reports only the last transport\'s error, hence "xhr poll error" for a server reached over WebSocket.',
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
  out.narrate(`server.revokeToken("${tokens.first}"): the session is cut and the token refused from now on`);
  server.revokeToken(tokens.first);
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
  out.narrate(`server.acceptToken("${tokens.second}"); service.setAuthToken("${tokens.second}")`);
  server.acceptToken(tokens.second);
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
  checkDelays(rig, mark);
  rig.invariant(
    "exhausted after maxReconnectAttempts",
    attempts === config.maxReconnectAttempts && failures === config.maxReconnectAttempts && service.getStatus().state === "exhausted",
    `${failures} failures in a row → max_attempts_reached { attempts: ${attempts} }`,
  );
  const acceptedBefore = proxy.accepted;
  out.narrate(`watching for ${rig.quietMs} ms in exhausted`);
  await waits.observe(rig.quietMs);
  rig.invariant(
    "no attempt once exhausted",
    proxy.accepted === acceptedBefore && service.getStatus().state === "exhausted",
    `no TCP connection for ${rig.quietMs} ms after giving up`,
  );
  return {
    outcome: `exhausted after ${attempts}/${config.maxReconnectAttempts} failed attempts`,
    measuredMs: ms,
    measuredWhat: "kill→exhausted",
    attempts: retries,
  };
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
    key: "gone-for-good",
    title: "Server gone for good",
    subtitle: "maxReconnectAttempts failures in a row, then exhausted and quiet",
    run: goneForGood,
  },
];
