import { readFileSync } from "node:fs";
import type { ManagerOptions, SocketOptions } from "socket.io-client";
import ts from "typescript";
import { describe, expect, expectTypeOf, it } from "vitest";
import { DEFAULT_CONFIG, describeUnknownValue } from "../../src/machine/config.js";
import {
  checkSocketOptions,
  likelyTypoOf,
  SOCKET_OPTION_POLICY,
  type SocketOptionName,
  type SocketOptionPolicy,
} from "../../src/machine/socketOptions.js";

const SERVICE_PATH = "/socket.io/";
const ROWS = Object.entries(SOCKET_OPTION_POLICY) as [SocketOptionName, SocketOptionPolicy][];
const keysWith = (outcome: SocketOptionPolicy["outcome"]) => ROWS.filter(([, row]) => row.outcome === outcome).map(([key]) => key);

/** The TypeError `checkSocketOptions` throws for `socketOptions`, or a failure when it throws nothing. */
function refusal(socketOptions: Record<string, unknown>, servicePath = SERVICE_PATH): string {
  try {
    checkSocketOptions(socketOptions, servicePath);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as TypeError).message;
  }
  throw new Error(`expected a TypeError for ${Object.keys(socketOptions).join(", ")}`);
}

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

/** Member names of `interface name` in a declaration file, and the names it extends. */
function interfaceOf(path: string, name: string): { members: string[]; extends: string[] } {
  const source = ts.createSourceFile(path, read(path), ts.ScriptTarget.Latest);
  let found: ts.InterfaceDeclaration | undefined;
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === name) found = node;
  });
  if (!found) throw new Error(`interface ${name} not found in ${path}`);
  return {
    members: found.members.flatMap((member) => (member.name && ts.isIdentifier(member.name) ? [member.name.text] : [])),
    extends: (found.heritageClauses ?? []).flatMap((clause) => clause.types.map((type) => type.expression.getText(source))),
  };
}

describe("SOCKET_OPTION_POLICY covers every option io() accepts", () => {
  it("at compile time: socket.io-client's ManagerOptions & SocketOptions keys are the table's keys (the table's satisfies fails on a missing one)", () => {
    type IoOptionKey = keyof Partial<ManagerOptions & SocketOptions>;
    expectTypeOf<Exclude<IoOptionKey, keyof typeof SOCKET_OPTION_POLICY>>().toEqualTypeOf<never>();
    expectTypeOf<Exclude<keyof typeof SOCKET_OPTION_POLICY, IoOptionKey>>().toEqualTypeOf<
      "localAddress" | "family" | "origin" | "protocolVersion" | "maxPayload" | "checkServerIdentity"
    >();
  });

  it("at run time: every option declared in the installed socket.io-client and engine.io-client 4.8 type files has a row", () => {
    const manager = interfaceOf("node_modules/socket.io-client/build/esm/manager.d.ts", "ManagerOptions");
    const socket = interfaceOf("node_modules/socket.io-client/build/esm/socket.d.ts", "SocketOptions");
    const engine = interfaceOf("node_modules/engine.io-client/build/esm/socket.d.ts", "SocketOptions");
    // io()'s options are ManagerOptions (which extends engine.io-client's SocketOptions) and SocketOptions.
    expect(manager.extends).toEqual(["EngineOptions"]);
    const declared = new Set([...manager.members, ...socket.members, ...engine.members]);
    expect(declared.size).toBeGreaterThan(40);
    expect([...declared].filter((key) => !Object.hasOwn(SOCKET_OPTION_POLICY, key))).toEqual([]);
  });

  it("the rows beyond the types are exactly what engine.io-client's Node WebSocket transport picks from the options", () => {
    const declared = new Set([
      ...interfaceOf("node_modules/socket.io-client/build/esm/manager.d.ts", "ManagerOptions").members,
      ...interfaceOf("node_modules/socket.io-client/build/esm/socket.d.ts", "SocketOptions").members,
      ...interfaceOf("node_modules/engine.io-client/build/esm/socket.d.ts", "SocketOptions").members,
    ]);
    const picked = /pick\(this\.opts, ([^)]*)\)/.exec(read("node_modules/engine.io-client/build/esm/transports/websocket.js"))?.[1];
    expect(picked).toBeDefined();
    const pickedNames = [...picked!.matchAll(/"(\w+)"/g)].map((match) => match[1]!);
    const extras = ROWS.map(([key]) => key).filter((key) => !declared.has(key));
    expect(extras.length).toBeGreaterThan(0);
    expect(pickedNames).toEqual(expect.arrayContaining(extras));
    for (const key of extras) expect(SOCKET_OPTION_POLICY[key].outcome).toBe("passedThrough");
  });

  it("is frozen, row by row", () => {
    expect(Object.isFrozen(SOCKET_OPTION_POLICY)).toBe(true);
    for (const [key, row] of ROWS) {
      expect(Object.isFrozen(row), key).toBe(true);
      if ("accepts" in row && row.accepts) expect(Object.isFrozen(row.accepts), key).toBe(true);
    }
    expect(() => {
      (SOCKET_OPTION_POLICY as Record<string, SocketOptionPolicy>).retries = { outcome: "passedThrough", why: "" };
    }).toThrow(TypeError);
  });

  it("every option that is not passed through names the package's equivalent", () => {
    for (const [key, row] of ROWS) {
      expect(row.why.length, key).toBeGreaterThan(0);
      if (row.outcome !== "passedThrough") expect(row.instead.length, key).toBeGreaterThan(0);
    }
  });
});

describe("checkSocketOptions: options passed through", () => {
  it.each(keysWith("passedThrough"))("%s is accepted whatever its value (io() judges its own options)", (key) => {
    for (const value of [true, 0, "x", ["polling"], { a: 1 }, () => {}, null]) {
      expect(() => checkSocketOptions({ [key]: value }, SERVICE_PATH)).not.toThrow();
    }
  });

  it("the brief's examples are passed through", () => {
    expect(keysWith("passedThrough")).toEqual(
      expect.arrayContaining([
        "transports",
        "extraHeaders",
        "withCredentials",
        "query",
        "rememberUpgrade",
        "upgrade",
        "timestampRequests",
        "parser",
        "closeOnBeforeunload",
        "agent",
        "ca",
        "rejectUnauthorized",
        "ackTimeout",
      ]),
    );
    expect(() =>
      checkSocketOptions(
        {
          transports: ["polling"],
          extraHeaders: { authorization: "Bearer x" },
          withCredentials: true,
          query: { room: "a" },
          ackTimeout: 5000,
          requestTimeout: 2000,
        },
        SERVICE_PATH,
      ),
    ).not.toThrow();
  });

  it("an options object a plain io() call has written into is accepted (io() adds path, hostname, secure and port to it)", () => {
    // What io("http://127.0.0.1:3000", options) leaves in `options` (socket.io-client 4.8).
    const touched = { transports: ["websocket"], path: "/socket.io", hostname: "127.0.0.1", secure: false, port: "3000" };
    expect(() => checkSocketOptions(touched, SERVICE_PATH)).not.toThrow();
  });

  it("nothing at all, an empty object and keys set to undefined are accepted", () => {
    expect(() => checkSocketOptions(undefined, SERVICE_PATH)).not.toThrow();
    expect(() => checkSocketOptions({}, SERVICE_PATH)).not.toThrow();
    expect(() => checkSocketOptions({ auth: undefined, retries: undefined, path: undefined, baseDelay: undefined }, SERVICE_PATH)).not.toThrow();
  });
});

/**
 * For every option that is not passed through: values a user could give that the service
 * would otherwise lose, and what the TypeError must point at. Checked below to cover every such row.
 */
const REFUSED_CASES: Record<string, { values: unknown[]; equivalent: RegExp }> = {
  forceNew: { values: [false], equivalent: /share the service instance/ },
  multiplex: { values: [true], equivalent: /one service per namespace/ },
  path: { values: ["/other/", "/", 7], equivalent: /the service's path option/ },
  reconnection: { values: [false], equivalent: /disconnect\(\).*config\.maxReconnectAttempts/ },
  reconnectionAttempts: { values: [5, Infinity, 0], equivalent: /config\.maxReconnectAttempts/ },
  reconnectionDelay: { values: [500], equivalent: /config\.baseDelay/ },
  reconnectionDelayMax: { values: [10_000], equivalent: /config\.maxDelay/ },
  randomizationFactor: { values: [0, 0.5], equivalent: /config\.jitterStrategy and config\.jitterRange/ },
  timeout: { values: [5000], equivalent: /config\.connectionTimeout/ },
  autoConnect: { values: [true, false], equivalent: /the service's autoConnect option.*connect\(\)/ },
  auth: { values: [{ token: "tok-1234567890" }, { sessionId: "sess-0451-unique" }, "tok-1234567890", () => {}], equivalent: /the service's auth option/ },
  retries: {
    values: [3, Infinity],
    equivalent: /requestWith\(\{ timeout \}, event, \.\.\.args\).*outage queue.*message:unconfirmed/,
  },
};

describe("checkSocketOptions: options the service sets or refuses", () => {
  it("the cases below cover every row that is not passed through, and nothing else", () => {
    expect(Object.keys(REFUSED_CASES).sort()).toEqual([...keysWith("overridden"), ...keysWith("refused")].sort());
    expect(keysWith("refused").sort()).toEqual(["auth", "path", "retries"]);
  });

  it.each(Object.entries(REFUSED_CASES))("%s throws a TypeError naming it, its value (unless secret) and the equivalent", (key, { values, equivalent }) => {
    const row = SOCKET_OPTION_POLICY[key as SocketOptionName];
    for (const value of values) {
      const message = refusal({ transports: ["websocket"], [key]: value });
      expect(message).toContain(`socketOptions.${key} `);
      expect(message).toMatch(equivalent);
      expect(message).toContain(row.why);
      if (row.secret) {
        expect(message).toMatch(/\(got an? \w+, not shown\)/);
        if (typeof value === "object" && value !== null) {
          for (const field of Object.values(value)) expect(message).not.toContain(String(field));
        } else if (typeof value === "string") {
          expect(message).not.toContain(value);
        }
      } else {
        expect(message).toContain(`(got ${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
      }
    }
  });

  it("keeps the wording of the service's earlier checks for auth and path, and says retries is refused", () => {
    expect(refusal({ auth: { token: "x" } })).toMatch(/^socketOptions\.auth is set by the service/);
    expect(refusal({ path: "/x/" })).toMatch(/^socketOptions\.path is set by the service/);
    expect(refusal({ retries: 3 })).toMatch(/^socketOptions\.retries is refused \(got 3\): socket\.io-client's retry queue/);
    expect(refusal({ reconnectionAttempts: 5 })).toMatch(/^socketOptions\.reconnectionAttempts is set by the service \(got 5\)/);
  });

  it("values that change nothing are accepted: reconnection: true, forceNew: true, multiplex: false", () => {
    expect(() => checkSocketOptions({ reconnection: true, forceNew: true, multiplex: false }, SERVICE_PATH)).not.toThrow();
    // Truthy is not true: io() would read 1 as true, but the table accepts exactly the documented values.
    expect(refusal({ reconnection: 0 })).toMatch(/socketOptions\.reconnection/);
    expect(refusal({ forceNew: "yes" })).toMatch(/socketOptions\.forceNew/);
  });

  it("path: the service's own path is accepted with or without its trailing slash; another one shows both", () => {
    for (const [given, servicePath] of [
      ["/socket.io/", "/socket.io/"],
      ["/socket.io", "/socket.io/"],
      ["/rt/", "/rt"],
      ["/rt", "/rt"],
    ] as const) {
      expect(() => checkSocketOptions({ path: given }, servicePath), `${given} vs ${servicePath}`).not.toThrow();
    }
    expect(refusal({ path: "/rt/" })).toContain(`(got "/rt/", the service's path is "/socket.io/")`);
    expect(refusal({ path: "/socket.io/" }, "/rt/")).toContain(`(got "/socket.io/", the service's path is "/rt/")`);
    expect(refusal({ path: "/socket.io//" })).toMatch(/socketOptions\.path/);
  });

  it("auth never shows its value, whatever its shape", () => {
    const token = "eyJhbGciOiJIUzI1NiJ9.secret-payload.sig";
    for (const value of [token, { token }, [token], 42]) {
      const message = refusal({ auth: value });
      expect(message).not.toContain(token);
      expect(message).not.toContain("42");
      expect(message).toMatch(/not shown/);
    }
  });
});

describe("checkSocketOptions: keys io() does not know", () => {
  it("are passed through (a custom transport may read its own options)", () => {
    expect(() => checkSocketOptions({ myTransportSetting: 1, x: "y", compression: { level: 3 } }, SERVICE_PATH)).not.toThrow();
  });

  it("a config key is refused and pointed at config", () => {
    for (const key of Object.keys(DEFAULT_CONFIG).filter((name) => !Object.hasOwn(SOCKET_OPTION_POLICY, name))) {
      expect(refusal({ [key]: 1 })).toBe(
        `socketOptions.${key} is not an io() option (got ${describeUnknownValue(key, 1)}): it is a service setting, config.${key}; move it there`,
      );
    }
  });

  it("requestTimeout is io()'s polling request timeout, passed through, not config.requestTimeout", () => {
    expect(Object.hasOwn(DEFAULT_CONFIG, "requestTimeout")).toBe(true);
    expect(SOCKET_OPTION_POLICY.requestTimeout).toMatchObject({ outcome: "passedThrough", why: expect.stringMatching(/not config\.requestTimeout/) });
    expect(() => checkSocketOptions({ requestTimeout: 1000 }, SERVICE_PATH)).not.toThrow();
  });

  it.each([
    ["reconectionAttempts", "reconnectionAttempts"],
    ["reconnectionDelaymax", "reconnectionDelayMax"],
    ["ExtraHeaders", "extraHeaders"],
    ["extraHeader", "extraHeaders"],
    ["transport", "transports"],
    ["withCredential", "withCredentials"],
    ["ackTimout", "ackTimeout"],
    ["retry", null],
    ["Retries", "retries"],
    ["Query", "query"],
    ["keys", null],
    ["cas", null],
    ["ports", null],
    ["headers", null],
  ])("%s: a likely typo of %s", (key, meant) => {
    expect(likelyTypoOf(key)).toBe(meant);
    if (meant === null) {
      expect(() => checkSocketOptions({ [key]: 1 }, SERVICE_PATH)).not.toThrow();
    } else {
      const shown = SOCKET_OPTION_POLICY[meant as SocketOptionName].secret ? "a number, not shown" : describeUnknownValue(key, 1);
      expect(refusal({ [key]: 1 })).toBe(
        `socketOptions.${key} is not an io() option (got ${shown}); did you mean socketOptions.${meant}? ` +
          "Options of a custom transport belong in socketOptions.transportOptions[transportName]",
      );
    }
  });

  it("a typo never shows a value that may be a secret", () => {
    const token = "Bearer abcdefghijklmnopqrstuvwxyz0123456789";
    for (const options of [{ ExtraHeaders: { authorization: token } }, { Auth: token }, { Query: { t: token } }, { passphrse: token }]) {
      const message = refusal(options);
      expect(message).not.toContain(token);
      expect(message).toMatch(/not shown/);
    }
  });

  it("a typo only counts when close to a real name; a long key costs no quadratic work", () => {
    const long = "x".repeat(100_000);
    const started = performance.now();
    expect(likelyTypoOf(long)).toBeNull();
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("socketOptions that are not an object throw a TypeError", () => {
    for (const value of [null, 7, "x", [1]]) {
      expect(() => checkSocketOptions(value as unknown as Record<string, unknown>, SERVICE_PATH)).toThrow(
        /^socketOptions must be an object, got/,
      );
    }
  });
});

/** docs/socket-options.md's table, rendered from SOCKET_OPTION_POLICY (refused, overridden, then passed through). */
function renderTable(): string {
  const order: SocketOptionPolicy["outcome"][] = ["refused", "overridden", "passedThrough"];
  const words = { refused: "refused", overridden: "overridden", passedThrough: "passed through" } as const;
  const outcomeOf = (key: SocketOptionName, row: SocketOptionPolicy) => {
    if (key === "path") return `${words[row.outcome]} (the service's own path accepted)`;
    if (row.outcome !== "passedThrough" && row.accepts) {
      return `${words[row.outcome]} (${row.accepts.map((value) => `\`${String(value)}\``).join(", ")} accepted)`;
    }
    return words[row.outcome];
  };
  const lines = ["| option | outcome | why | use instead |", "| --- | --- | --- | --- |"];
  for (const outcome of order) {
    for (const [key, row] of ROWS.filter(([, candidate]) => candidate.outcome === outcome)) {
      const instead = row.outcome === "passedThrough" ? "—" : row.instead;
      lines.push(`| \`${key}\` | ${outcomeOf(key, row)} | ${row.why} | ${instead} |`);
    }
  }
  return lines.join("\n");
}

describe("docs/socket-options.md", () => {
  it("shows exactly the table of SOCKET_OPTION_POLICY between its markers", () => {
    const doc = read("docs/socket-options.md");
    const section = /<!-- table:begin -->\n([\s\S]*?)\n<!-- table:end -->/.exec(doc)?.[1];
    expect(section, "the table section of docs/socket-options.md is missing").toBeDefined();
    expect(section).toBe(renderTable());
  });
});
