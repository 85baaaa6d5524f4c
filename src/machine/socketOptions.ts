// Type-only: erased at build time, so the socket actor stays the only module that loads
// socket.io-client. The table below is checked against socket.io-client's own option types.
import type { ManagerOptions, SocketOptions } from "socket.io-client";
import { DEFAULT_CONFIG, describeUnknownValue } from "./config.js";
import { kindOf } from "./errors.js";

/**
 * What the service does with an `io()` option given in `socketOptions`:
 * - `passedThrough`: `io()` gets it as you gave it; it works as with plain socket.io-client.
 * - `overridden`: the service sets this option on every socket itself, so a value of yours
 *   would be silently lost. {@link checkSocketOptions} refuses it with a
 *   `TypeError` pointing at the package's equivalent, except a value that changes nothing
 *   (`accepts`, e.g. `reconnection: true`).
 * - `refused`: the option clashes with a service option of the same purpose (`auth`, a
 *   different `path`) or with what the service promises (`retries`): a `TypeError`.
 */
export type SocketOptionOutcome = "passedThrough" | "overridden" | "refused";

/** One row of {@link SOCKET_OPTION_POLICY}; docs/socket-options.md is the same table. */
export type SocketOptionPolicy =
  | {
      readonly outcome: "passedThrough";
      /** What it does through the service, where that is worth saying. */
      readonly why: string;
      /** The value may hold a secret (a token, a key): never printed. */
      readonly secret?: true;
    }
  | {
      readonly outcome: "overridden" | "refused";
      /** Why the service does not pass it on: the body of the `TypeError`. */
      readonly why: string;
      /** The package's own equivalent. */
      readonly instead: string;
      /** Values accepted as no-ops: the service already behaves that way. */
      readonly accepts?: readonly unknown[];
      readonly secret?: true;
    };

/**
 * Options engine.io-client hands to the `ws` WebSocket in Node (its `pick` list) that its
 * `SocketOptions` type does not declare: known, so they are neither flagged as typos nor lost.
 */
type NodeWebSocketOption = "localAddress" | "family" | "origin" | "protocolVersion" | "maxPayload" | "checkServerIdentity";

/** Every option `io(url, options)` reads in socket.io-client 4.8 (engine.io-client's included). */
export type SocketOptionName = keyof ManagerOptions | keyof SocketOptions | NodeWebSocketOption;

const SERVICE_SETS = "the service creates every socket with";

const NO_RETRY_LOOP =
  "socket.io-client's reconnection is always off (reconnection: false): the statechart is the only retry loop, with its own backoff";

const FROM_URL =
  "as with io(), which takes host, port and scheme from the url and ignores a value given here " +
  "(it even writes its own into the options object it is given, so such an object stays acceptable); set them in the service's url";

const NODE_WS = "Node's WebSocket transport (the ws package): as with io(); not in socket.io-client's types";

const AS_IO = "as with io()";

/**
 * What happens to each option of socket.io-client's `io()` given in `socketOptions`. The
 * `satisfies` makes a key missing from socket.io-client's `ManagerOptions & SocketOptions`
 * (engine.io-client's options included) a compile error after an upgrade.
 */
export const SOCKET_OPTION_POLICY: Readonly<Record<SocketOptionName, SocketOptionPolicy>> = freezeRows({
  // socket.io-client's Manager
  forceNew: {
    outcome: "overridden",
    why: `${SERVICE_SETS} forceNew: true and multiplex: false: one service holds one dedicated connection, and closing it releases the transport at once`,
    instead: "nothing (true is what the service does); to share one connection, share the service instance",
    accepts: [true],
  },
  multiplex: {
    outcome: "overridden",
    why: `${SERVICE_SETS} forceNew: true and multiplex: false: one service holds one dedicated connection, never a Manager shared with other sockets`,
    instead: "nothing (false is what the service does); one service per namespace (the namespace is the url's path)",
    accepts: [false],
  },
  path: {
    outcome: "refused",
    why: "the service gives every socket its own path option; a different value here would be silently lost (the service's own path, with or without the trailing slash, is accepted)",
    instead: "the service's path option",
  },
  reconnection: {
    outcome: "overridden",
    why: `${NO_RETRY_LOOP}, and it always reconnects after a loss (true changes nothing)`,
    instead:
      "disconnect() to stop reconnecting until connect(); config.maxReconnectAttempts to bound the retries; config.reconnectOnServerDisconnect for a disconnect by the server",
    accepts: [true],
  },
  reconnectionAttempts: {
    outcome: "overridden",
    why: NO_RETRY_LOOP,
    instead: "config.maxReconnectAttempts (failed attempts in a row before exhausted)",
  },
  reconnectionDelay: {
    outcome: "overridden",
    why: NO_RETRY_LOOP,
    instead: "config.baseDelay (the first retry's envelope, grown by config.backoffMultiplier)",
  },
  reconnectionDelayMax: {
    outcome: "overridden",
    why: NO_RETRY_LOOP,
    instead: "config.maxDelay (the cap of the envelope)",
  },
  randomizationFactor: {
    outcome: "overridden",
    why: NO_RETRY_LOOP,
    instead: "config.jitterStrategy and config.jitterRange",
  },
  timeout: {
    outcome: "overridden",
    why: `${SERVICE_SETS} timeout: config.connectionTimeout, the same limit after which the chart counts an attempt as failed`,
    instead: "config.connectionTimeout",
  },
  autoConnect: {
    outcome: "overridden",
    why: `${SERVICE_SETS} autoConnect: false and opens it when the chart starts an attempt`,
    instead: "the service's autoConnect option (connect at creation), or connect()",
  },
  parser: { outcome: "passedThrough", why: `${AS_IO}: it must match the server's parser` },

  // socket.io-client's Socket
  auth: {
    outcome: "refused",
    why: "the service builds the handshake auth payload itself for every attempt (token from auth or a token provider, setAuthToken, auth-aware retries)",
    instead: "the service's auth option (a payload object, or a token provider)",
    secret: true,
  },
  retries: {
    outcome: "refused",
    why:
      "socket.io-client's retry queue lives inside one socket object and is lost when the service replaces the socket; " +
      "it also makes every emit wait for an ack, one at a time, so a heartbeat or a send the server never acks blocks everything behind it",
    instead:
      "requestWith({ timeout }, event, ...args), retrying in the app when it rejects; sends made while disconnected wait in the outage queue " +
      "(config.maxQueueSize, config.queueTtl); a plain send lost with the link is announced as message:unconfirmed",
  },
  ackTimeout: {
    outcome: "passedThrough",
    why:
      "ack callbacks are then called as (err, ...args): send(..., callback) passes that shape on as io() does; " +
      "request() resolves with the server's value or rejects with a timeout error; the heartbeat keeps its own ack timeout",
  },

  // engine.io-client's Socket
  host: { outcome: "passedThrough", why: FROM_URL },
  hostname: { outcome: "passedThrough", why: FROM_URL },
  port: { outcome: "passedThrough", why: FROM_URL },
  secure: { outcome: "passedThrough", why: FROM_URL },
  query: {
    outcome: "passedThrough",
    why: "sent with every handshake; as with io(), a query string in the url replaces it entirely; the static auth token is refused in it",
    secret: true,
  },
  transports: {
    outcome: "passedThrough",
    why: 'without it each attempt uses one transport: ["websocket"], or ["polling", "websocket"] after WebSocket itself failed, the one that worked remembered per server; a list starting with polling lets a hung server hold one HTTP request per timed-out attempt',
  },
  transportImplementations: {
    outcome: "passedThrough",
    why: `${AS_IO}; the service's default transports are then left out (engine.io-client refuses both)`,
  },
  tryAllTransports: { outcome: "passedThrough", why: "false, as in io(): the service tries the other transport on the next attempt instead, so that one attempt is one request" },
  upgrade: { outcome: "passedThrough", why: AS_IO },
  rememberUpgrade: { outcome: "passedThrough", why: `${AS_IO} (engine.io-client remembers per process, across sockets)` },
  forceBase64: { outcome: "passedThrough", why: AS_IO },
  timestampParam: { outcome: "passedThrough", why: AS_IO },
  timestampRequests: { outcome: "passedThrough", why: AS_IO },
  requestTimeout: {
    outcome: "passedThrough",
    why: `${AS_IO}: Engine.IO's timeout of each HTTP long-polling request; not config.requestTimeout (the ack wait of request())`,
  },
  transportOptions: {
    outcome: "passedThrough",
    why: `${AS_IO}: options per transport name; also the place for a custom transport's own options`,
    secret: true,
  },
  extraHeaders: {
    outcome: "passedThrough",
    why: `${AS_IO}: on every HTTP request and, in Node, the WebSocket upgrade (browsers cannot add WebSocket headers)`,
    secret: true,
  },
  withCredentials: {
    outcome: "passedThrough",
    why: `${AS_IO}; in Node its cookie jar belongs to one Engine.IO connection, which io() also replaces on each reconnection`,
  },
  closeOnBeforeunload: { outcome: "passedThrough", why: AS_IO },
  useNativeTimers: {
    outcome: "passedThrough",
    why: `${AS_IO}: socket.io-client's own timers only; the chart's timers come from the service's clock option`,
  },
  autoUnref: {
    outcome: "passedThrough",
    why: `${AS_IO}: socket.io-client's timers and socket only; the service's own timers keep Node running until dispose()`,
  },
  perMessageDeflate: { outcome: "passedThrough", why: AS_IO },
  addTrailingSlash: { outcome: "passedThrough", why: `${AS_IO}, applied to the service's path` },
  protocols: { outcome: "passedThrough", why: AS_IO },
  agent: { outcome: "passedThrough", why: `${AS_IO} (Node)` },
  pfx: { outcome: "passedThrough", why: `${AS_IO} (Node TLS)`, secret: true },
  key: { outcome: "passedThrough", why: `${AS_IO} (Node TLS)`, secret: true },
  passphrase: { outcome: "passedThrough", why: `${AS_IO} (Node TLS)`, secret: true },
  cert: { outcome: "passedThrough", why: `${AS_IO} (Node TLS)` },
  ca: { outcome: "passedThrough", why: `${AS_IO} (Node TLS)` },
  ciphers: { outcome: "passedThrough", why: `${AS_IO} (Node TLS)` },
  rejectUnauthorized: { outcome: "passedThrough", why: `${AS_IO} (Node TLS); false turns off certificate checks` },

  // engine.io-client's WebSocket transport in Node, beyond its types
  localAddress: { outcome: "passedThrough", why: NODE_WS },
  family: { outcome: "passedThrough", why: NODE_WS },
  origin: { outcome: "passedThrough", why: NODE_WS },
  protocolVersion: { outcome: "passedThrough", why: NODE_WS },
  maxPayload: { outcome: "passedThrough", why: NODE_WS },
  checkServerIdentity: { outcome: "passedThrough", why: NODE_WS },
} satisfies Record<SocketOptionName, SocketOptionPolicy>);

/** Freezes the table, each row and each `accepts` list: nobody can loosen a policy at run time. */
function freezeRows<T extends Record<string, SocketOptionPolicy>>(table: T): Readonly<T> {
  for (const row of Object.values(table)) {
    if ("accepts" in row && row.accepts) Object.freeze(row.accepts);
    Object.freeze(row);
  }
  return Object.freeze(table);
}

/** The path engine.io-client requests: a trailing slash is its own choice (`addTrailingSlash`). */
function samePath(value: unknown, servicePath: string): boolean {
  const trimmed = (path: string) => path.replace(/\/$/, "");
  return typeof value === "string" && trimmed(value) === trimmed(servicePath);
}

/** Optimal string alignment distance (a swap of two neighbours counts as one edit). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => rows[i]![j]!;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      rows[i]![j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The known option an unknown key most likely misspells, or null. Case is ignored; beyond
 * that, one edit is allowed for names of 5+ letters and two for 9+, so that short names
 * (`ca`, `key`, `port`) never claim an unrelated extra of a custom transport.
 */
export function likelyTypoOf(key: string): SocketOptionName | null {
  const lower = key.toLowerCase();
  let best: { name: SocketOptionName; distance: number } | null = null;
  for (const name of Object.keys(SOCKET_OPTION_POLICY) as SocketOptionName[]) {
    const allowed = name.length >= 9 ? 2 : name.length >= 5 ? 1 : 0;
    if (Math.abs(name.length - key.length) > allowed) continue;
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= allowed && (best === null || distance < best.distance)) best = { name, distance };
  }
  return best?.name ?? null;
}

function shown(key: string, value: unknown, policy: SocketOptionPolicy | undefined): string {
  return policy?.secret ? `${kindOf(value)}, not shown` : describeUnknownValue(key, value);
}

/**
 * Checks `socketOptions` against {@link SOCKET_OPTION_POLICY} before anything connects.
 * Options passed through are not judged (io() checks its own). A key set to `undefined`
 * counts as not given. An unknown key is passed through (a custom transport may read its
 * own options), unless it is a `config` key in the wrong place or close to a known option's
 * name (`reconectionAttempts`, `ExtraHeaders`): those would be silently lost.
 *
 * @param servicePath the service's `path` option (its default `"/socket.io/"` when not given)
 * @throws TypeError naming the option (`socketOptions.retries`), its value unless it may hold
 *   a secret, and the package's equivalent.
 */
export function checkSocketOptions(socketOptions: Record<string, unknown> | undefined, servicePath: string): void {
  if (socketOptions === undefined) return;
  if (socketOptions === null || typeof socketOptions !== "object" || Array.isArray(socketOptions)) {
    throw new TypeError(`socketOptions must be an object, got ${describeUnknownValue("socketOptions", socketOptions)}`);
  }
  for (const [key, value] of Object.entries(socketOptions)) {
    if (value === undefined) continue;
    const policy = Object.hasOwn(SOCKET_OPTION_POLICY, key) ? SOCKET_OPTION_POLICY[key as SocketOptionName] : undefined;
    if (policy === undefined) {
      checkUnknownOption(key, value);
      continue;
    }
    if (policy.outcome === "passedThrough") continue;
    const accepted = key === "path" ? samePath(value, servicePath) : (policy.accepts ?? []).some((ok) => Object.is(ok, value));
    if (accepted) continue;
    const verdict = policy.outcome === "overridden" || key === "auth" || key === "path" ? "is set by the service" : "is refused";
    const context = key === "path" ? `, the service's path is ${describeUnknownValue("path", servicePath)}` : "";
    throw new TypeError(
      `socketOptions.${key} ${verdict} (got ${shown(key, value, policy)}${context}): ${policy.why}. Use instead: ${policy.instead}`,
    );
  }
}

function checkUnknownOption(key: string, value: unknown): void {
  if (Object.hasOwn(DEFAULT_CONFIG, key)) {
    throw new TypeError(
      `socketOptions.${key} is not an io() option (got ${shown(key, value, undefined)}): it is a service setting, config.${key}; move it there`,
    );
  }
  const meant = likelyTypoOf(key);
  if (meant !== null) {
    throw new TypeError(
      `socketOptions.${key} is not an io() option (got ${shown(key, value, SOCKET_OPTION_POLICY[meant])}); did you mean socketOptions.${meant}? ` +
        "Options of a custom transport belong in socketOptions.transportOptions[transportName]",
    );
  }
}
