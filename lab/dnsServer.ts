import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { type LookupAddress, type LookupOptions, Resolver } from "node:dns";
import type { AddressInfo, LookupFunction } from "node:net";

/** DNS header flags of an answer: QR (response) and RA (recursion available). */
const QR = 0x80;
const RA = 0x80;
/** The query's opcode and RD bits, echoed in the answer. */
const OPCODE_AND_RD = 0x79;
/** RCODE 3: the name does not exist. */
const NXDOMAIN = 3;
const HEADER_LENGTH = 12;

/**
 * Reads the question of a DNS query: its name (dotted) and where the question ends (the
 * name, then QTYPE and QCLASS). Null for anything that is not one well-formed question.
 */
function readQuestion(query: Buffer): { name: string; end: number } | null {
  if (query.length < HEADER_LENGTH || query.readUInt16BE(4) !== 1) return null;
  const labels: string[] = [];
  let offset = HEADER_LENGTH;
  for (;;) {
    if (offset >= query.length) return null;
    const length = query[offset]!;
    offset += 1;
    if (length === 0) break;
    // Compression pointers (top bits set) have no place in a question.
    if (length > 63 || offset + length > query.length) return null;
    labels.push(query.toString("latin1", offset, offset + length));
    offset += length;
  }
  const end = offset + 4;
  return end > query.length ? null : { name: labels.join("."), end };
}

/**
 * A DNS responder on 127.0.0.1 (UDP, random port) for which no name exists: every query is
 * answered NXDOMAIN, its question echoed. With {@link DnsServer.lookup} as the `lookup` of
 * an `http.Agent`, a client resolves host names for real (c-ares, UDP, a DNS answer) while
 * no packet leaves loopback (the system resolver may be off the machine).
 *
 * @example
 * const dns = await DnsServer.start();
 * const agent = new http.Agent({ lookup: dns.lookup });
 * // ... connect to http://no-such-host.invalid:80 through `agent`: ENOTFOUND
 * await dns.close();
 */
export class DnsServer {
  readonly #socket: UdpSocket;
  #port = 0;
  /** Queries answered since start. */
  queries = 0;
  /** The name asked in each query, in order. */
  readonly names: string[] = [];
  /** A `lookup` (as `net.connect` and `http.Agent` take it) that asks this server only. */
  readonly lookup: LookupFunction;
  readonly #resolver: Resolver;

  private constructor() {
    this.#socket = createSocket("udp4");
    this.#socket.on("message", (query, peer) => this.#answer(query, peer.port, peer.address));
    // One try with a short timeout: this server always answers, and a lost datagram on
    // loopback should fail a test quickly rather than hang it.
    this.#resolver = new Resolver({ timeout: 1_000, tries: 1 });
    this.lookup = lookupThrough(this.#resolver);
  }

  static async start(): Promise<DnsServer> {
    const server = new DnsServer();
    await new Promise<void>((resolve, reject) => {
      server.#socket.once("error", reject);
      server.#socket.bind(0, "127.0.0.1", () => {
        server.#socket.off("error", reject);
        resolve();
      });
    });
    server.#port = (server.#socket.address() as AddressInfo).port;
    server.#resolver.setServers([server.address]);
    return server;
  }

  get port(): number {
    return this.#port;
  }

  /** `127.0.0.1:PORT`, as `Resolver.setServers` takes it. */
  get address(): string {
    return `127.0.0.1:${this.#port}`;
  }

  #answer(query: Buffer, port: number, address: string): void {
    const question = readQuestion(query);
    if (!question) return;
    this.queries += 1;
    this.names.push(question.name);
    const answer = Buffer.alloc(question.end);
    query.copy(answer, 0, 0, question.end);
    answer[2] = QR | (query[2]! & OPCODE_AND_RD);
    answer[3] = RA | NXDOMAIN;
    // One question, no answer, authority or additional records.
    answer.writeUInt16BE(1, 4);
    answer.writeUInt16BE(0, 6);
    answer.writeUInt16BE(0, 8);
    answer.writeUInt16BE(0, 10);
    this.#socket.send(answer, port, address);
  }

  /** Cancels lookups in flight (they fail with ECANCELLED) and closes the UDP socket. */
  async close(): Promise<void> {
    this.#resolver.cancel();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }
}

type LookupCallback = Parameters<LookupFunction>[2];

/**
 * A `lookup` for `net.connect`/`http.Agent` that resolves with `resolver` (A, or AAAA when
 * family 6 is asked) instead of the system's getaddrinfo. A name that does not exist fails
 * as getaddrinfo reports it: an Error "getaddrinfo ENOTFOUND <host>" with `code`
 * "ENOTFOUND", `syscall` and `hostname`.
 */
export function lookupThrough(resolver: Resolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: LookupCallback) => {
    const family = options.family === 6 || options.family === "IPv6" ? 6 : 4;
    const answer = (error: NodeJS.ErrnoException | null, addresses: string[]) => {
      if (error) {
        callback(error.code === "ENOTFOUND" || error.code === "ENODATA" ? notFound(hostname) : error, "");
        return;
      }
      const found: LookupAddress[] = addresses.map((address) => ({ address, family }));
      if (options.all) callback(null, found);
      else if (found[0]) callback(null, found[0].address, family);
      else callback(notFound(hostname), "");
    };
    if (family === 6) resolver.resolve6(hostname, answer);
    else resolver.resolve4(hostname, answer);
  };
}

function notFound(hostname: string): NodeJS.ErrnoException & { hostname: string } {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: "ENOTFOUND",
    syscall: "getaddrinfo",
    hostname,
  });
}
