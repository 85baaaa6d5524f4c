import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { Server, type ServerOptions } from "socket.io";
import { io } from "socket.io-client";
import { describe, expect, it } from "vitest";
import type { ServiceEventMap } from "../../src/machine/types.js";
import { createAdmissionControl } from "../../src/server/index.js";
import { eventually, Tally, waitForEvent, waitForEvents } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

/**
 * One request per attempt (issue 15 part 4): what a real Socket.IO server's HTTP server sees
 * (`request` and `upgrade` events) of a service with DEFAULT socketOptions. A refused attempt
 * must cost the server one request: one WebSocket upgrade, or, where WebSocket is blocked, one
 * polling handshake, remembered for the next attempt. Plain socket.io-client with its defaults
 * is counted beside it.
 */

const { cleanup, service } = integrationRig();

/** What reached the HTTP server, in order: "request <transport> <handshake|sid>" or "upgrade <transport>". */
interface Traffic {
  requests: number;
  upgrades: number;
  log: string[];
  /** Requests and upgrades together. */
  readonly total: number;
}

interface Counted {
  io: Server;
  url: string;
  traffic: Traffic;
  /** Zeroes the counters (between the service's run and the plain client's). */
  reset(): void;
}

function describeRequest(kind: "request" | "upgrade", request: IncomingMessage): string {
  const query = new URL(request.url ?? "/", "http://127.0.0.1").searchParams;
  const sid = query.get("sid");
  return `${kind} ${query.get("transport") ?? "?"} ${request.method ?? ""} ${sid ? "sid" : "handshake"}`;
}

/**
 * A Socket.IO server on 127.0.0.1 whose HTTP server counts what arrives. The counters are
 * added after Socket.IO attached: Engine.IO takes over the `request` listeners present at
 * attach time and calls them only for requests that are not its own.
 */
async function countedServer(
  options: Partial<ServerOptions> = {},
  setup: (io: Server) => void = () => {},
  blockUpgrades = false,
): Promise<Counted> {
  const http = createServer();
  const io = new Server(http, { cors: { origin: true }, ...options });
  setup(io);
  const traffic: Traffic = {
    requests: 0,
    upgrades: 0,
    log: [],
    get total() {
      return this.requests + this.upgrades;
    },
  };
  http.on("request", (request: IncomingMessage) => {
    traffic.requests += 1;
    traffic.log.push(describeRequest("request", request));
  });
  if (blockUpgrades) {
    // A network without WebSocket: every upgrade is cut before Engine.IO sees it.
    http.removeAllListeners("upgrade");
  }
  // A polling-only Engine.IO listens to no upgrade: Node then hands the upgrade request to
  // the `request` listeners (Engine.IO answers 400), where it is counted. A listener here
  // would take it over and leave it hanging.
  if (blockUpgrades || http.listenerCount("upgrade") > 0) {
    http.on("upgrade", (request: IncomingMessage, socket: Duplex) => {
      traffic.upgrades += 1;
      traffic.log.push(describeRequest("upgrade", request));
      if (blockUpgrades) socket.destroy();
    });
  }
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  cleanup.add(io, (server) => server.close());
  const { port } = http.address() as AddressInfo;
  return {
    io,
    url: `http://127.0.0.1:${port}`,
    traffic,
    reset() {
      traffic.requests = 0;
      traffic.upgrades = 0;
      traffic.log.length = 0;
    },
  };
}

/** Until the server holds no Engine.IO connection (what a client left behind has gone). */
function untilNoClients(server: Counted): Promise<void> {
  return eventually(() => expect(server.io.engine.clientsCount).toBe(0));
}

/**
 * A service with default socketOptions makes `attempts` attempts that the server refuses;
 * resolves with the failures once the service is disposed and the server holds nothing.
 */
async function serviceAttempts(server: Counted, attempts: number) {
  const svc = service({ url: server.url, config: { ...FAST_RETRY, maxReconnectAttempts: attempts + 5 } });
  const failed = waitForEvents(svc, "connection:failed", attempts);
  svc.connect();
  const failures = await failed;
  // The next retry waits at least the server's retryAfter: none is under way now.
  svc.dispose();
  await untilNoClients(server);
  return failures;
}

/**
 * Plain socket.io-client with its defaults (`reconnection: true`, polling then WebSocket),
 * honouring the refusal's retryAfter as an app would (socket.io-client does not retry a
 * CONNECT_ERROR on its own): `attempts` refused attempts, then closed.
 */
async function plainAttempts(server: Counted, attempts: number): Promise<number> {
  const refusals = new Tally<unknown>();
  const client = io(server.url, { forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
  cleanup.add(client, (socket) => socket.close());
  client.on("connect_error", (error: Error & { data?: { retryAfter?: number } }) => {
    refusals.push(error.message);
    if (refusals.count >= attempts) {
      client.close();
      return;
    }
    const retryAfter = error.data?.retryAfter;
    if (typeof retryAfter === "number") setTimeout(() => client.connect(), retryAfter);
  });
  await refusals.waitFor(attempts);
  client.close();
  await untilNoClients(server);
  return refusals.count;
}

const ATTEMPTS = 5;

describe("one request per attempt, with default socketOptions", () => {
  it("a middleware refusing every handshake: one WebSocket upgrade per attempt (plain socket.io-client side by side)", async () => {
    const server = await countedServer({}, (io) =>
      io.use((_socket, next) => next(Object.assign(new Error("busy"), { data: { retryAfter: 50 } }))),
    );
    const failures = await serviceAttempts(server, ATTEMPTS);
    const serviceTraffic = { requests: server.traffic.requests, upgrades: server.traffic.upgrades, log: [...server.traffic.log] };
    expect(failures.map((failure) => failure.error.message)).toEqual(Array(ATTEMPTS).fill("busy"));
    expect(failures.map((failure) => failure.error.data)).toEqual(Array(ATTEMPTS).fill({ retryAfter: 50 }));

    server.reset();
    const plainRefusals = await plainAttempts(server, ATTEMPTS);
    const plainTraffic = { requests: server.traffic.requests, upgrades: server.traffic.upgrades };
    console.log(
      `middleware refusal, ${ATTEMPTS} attempts each: service ${serviceTraffic.requests} requests + ${serviceTraffic.upgrades} upgrades` +
        ` (${((serviceTraffic.requests + serviceTraffic.upgrades) / ATTEMPTS).toFixed(1)} per attempt);` +
        ` socket.io-client defaults ${plainTraffic.requests} requests + ${plainTraffic.upgrades} upgrades` +
        ` (${((plainTraffic.requests + plainTraffic.upgrades) / plainRefusals).toFixed(1)} per attempt)`,
    );

    expect(serviceTraffic.log).toEqual(Array(ATTEMPTS).fill("upgrade websocket GET handshake"));
    expect(plainRefusals).toBe(ATTEMPTS);
    // Polling first: a handshake, the CONNECT post and the poll that brings the refusal at least.
    expect(plainTraffic.requests + plainTraffic.upgrades).toBeGreaterThanOrEqual(3 * ATTEMPTS);
  });

  it("admission control (createAdmissionControl) refusing, then admitting: one upgrade per attempt, the last one connects", async () => {
    // 10 a second, one per 100-ms slot. Its clock stands still in the first slot, taken by
    // the handshake decided here, until the service has been refused; then it runs.
    let startedAt: number | null = null;
    const admission = createAdmissionControl({
      perSecond: 10,
      burst: 1,
      now: () => (startedAt === null ? 0 : performance.now() - startedAt),
    });
    const server = await countedServer({}, (io) => io.use(admission));
    expect(admission.decide()).toEqual({ admitted: true });

    const svc = service({ url: server.url, config: FAST_RETRY });
    const failed = new Tally<ServiceEventMap["connection:failed"]>();
    svc.on("connection:failed", (failure) => {
      startedAt ??= performance.now();
      failed.push(failure);
    });
    const connected = waitForEvent(svc, "connection:connected");
    svc.connect();
    await connected;
    console.log(
      `admission: ${failed.count} refusals (retryAfter ${failed.values.map((failure) => JSON.stringify(failure.error.data)).join(", ")}), ` +
        `then admitted: ${server.traffic.requests} requests + ${server.traffic.upgrades} upgrades`,
    );

    expect(failed.count).toBeGreaterThanOrEqual(1);
    expect(failed.values.every((failure) => (failure.error.data as { reason?: unknown }).reason === "admission")).toBe(true);
    expect(server.traffic.log).toEqual(Array(failed.count + 1).fill("upgrade websocket GET handshake"));
    expect(admission.stats()).toMatchObject({ admitted: 2, refused: failed.count });
  });

  it("a refusal at the engine level (allowRequest): one request per attempt", async () => {
    const server = await countedServer({ allowRequest: (_request, callback) => callback("busy", false) });
    const failures = await serviceAttempts(server, ATTEMPTS);
    console.log(`allowRequest refusal: ${ATTEMPTS} attempts, ${server.traffic.log.join("; ")}`);
    console.log(`  errors: ${failures.map((failure) => failure.error.message).join("; ")}`);

    expect(server.traffic.total).toBe(ATTEMPTS);
    // Engine.IO refuses an upgrade with a 400, as a server without WebSocket does: the next
    // attempts poll, where the refusal is a 403 (the server answered) and polling stays.
    expect(server.traffic.log).toEqual([
      "upgrade websocket GET handshake",
      ...Array(ATTEMPTS - 1).fill("request polling GET handshake"),
    ]);
    expect(failures.slice(1).map((failure) => failure.error.message)).toEqual(Array(ATTEMPTS - 1).fill("xhr poll error: HTTP 403"));
  });

  it.each([
    {
      blocked: "upgrades cut by the network",
      options: {},
      blockUpgrades: true,
      firstAttempt: "upgrade websocket GET handshake",
      error: "websocket error: socket hang up",
    },
    {
      blocked: 'a polling-only server (transports: ["polling"])',
      options: { transports: ["polling"] },
      blockUpgrades: false,
      firstAttempt: "request websocket GET handshake",
      error: "websocket error: Unexpected server response: 400",
    },
  ] satisfies { blocked: string; options: Partial<ServerOptions>; blockUpgrades: boolean; firstAttempt: string; error: string }[])("WebSocket blocked ($blocked): falls back to polling and connects, and the next attempt after a loss starts with polling", async ({ options, blockUpgrades, firstAttempt, error }) => {
    const server = await countedServer(options, () => {}, blockUpgrades);
    const svc = service({ url: server.url, config: FAST_RETRY });
    const failed = new Tally<ServiceEventMap["connection:failed"]>();
    svc.on("connection:failed", (failure) => failed.push(failure));
    const connected = waitForEvent(svc, "connection:connected");
    svc.connect();
    await connected;
    const firstLife = [...server.traffic.log];
    console.log(`WebSocket blocked, first connection after ${failed.count} failure(s): ${firstLife.join("; ")}`);
    console.log(`  errors: ${failed.values.map((failure) => failure.error.message).join("; ")}`);
    expect(failed.values.map((failure) => failure.error.message)).toEqual([error]);
    expect(firstLife[0]).toBe(firstAttempt);
    expect(firstLife[1]).toBe("request polling GET handshake");
    expect([...server.io.of("/").sockets.values()].map((socket) => socket.conn.transport.name)).toEqual(["polling"]);

    // A later loss (the connection closed under it): the next attempt remembers polling.
    server.reset();
    const lost = waitForEvent(svc, "connection:disconnected");
    const back = waitForEvent(svc, "connection:connected");
    for (const socket of server.io.of("/").sockets.values()) socket.conn.close();
    await lost;
    await back;
    console.log(`after the loss: ${server.traffic.log.join("; ")}`);
    expect(failed.count).toBe(1);
    // The old connection's last polls come first; the new attempt's handshake polls.
    expect(server.traffic.log.filter((entry) => entry.endsWith("handshake"))).toEqual(["request polling GET handshake"]);
    // At most the upgrade probe of the connected socket (never a WebSocket-first attempt).
    expect(server.traffic.upgrades).toBeLessThanOrEqual(1);
    expect(server.traffic.log.filter((entry) => entry.startsWith("upgrade")).every((entry) => entry.endsWith("sid"))).toBe(true);
  });
});
