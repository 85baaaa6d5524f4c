import { describe, expect, it } from "vitest";
import { connectionMachine } from "../../src/index.js";

// Issue 12 item 2: the machine reads in Stately as it does in code. The inspector and the
// visualiser only see the machine's JSON: guards there must be names, not `{ type: "xstate.and" }`
// or a bare function, and the explanations must be descriptions, not code comments.

type JsonTransition = { guard?: unknown; description?: string; target?: unknown };
type JsonNode = {
  key: string;
  id: string;
  description?: string;
  tags?: string[];
  on?: Record<string, JsonTransition[]>;
  always?: JsonTransition[];
  states?: Record<string, JsonNode>;
};

/** The machine's definition as the inspector receives it (serialised, so plain data). */
const definition = JSON.parse(JSON.stringify(connectionMachine.toJSON())) as JsonNode;
const guardNames = new Set(Object.keys(connectionMachine.implementations.guards));

function* nodes(node: JsonNode): Generator<JsonNode> {
  yield node;
  for (const child of Object.values(node.states ?? {})) yield* nodes(child);
}

function* transitions(node: JsonNode): Generator<[string, JsonTransition]> {
  for (const [event, list] of Object.entries(node.on ?? {})) for (const transition of list) yield [`${node.id} ${event}`, transition];
  for (const transition of node.always ?? []) yield [`${node.id} always`, transition];
}

function depthOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depthOf));
}

/** The `serializationDepthLimit` docs/inspector.md tells users to set. */
const DOCUMENTED_DEPTH_LIMIT = 20;

describe("the machine's JSON, as Stately shows it", () => {
  it("names a guard of setup() on every guarded transition (combined guards included)", () => {
    const guarded: string[] = [];
    for (const node of nodes(definition)) {
      for (const [where, transition] of transitions(node)) {
        if (transition.guard === undefined) continue;
        const name = typeof transition.guard === "string" ? transition.guard : (transition.guard as { type?: unknown }).type;
        expect(typeof name, `${where}: ${JSON.stringify(transition.guard)}`).toBe("string");
        expect(guardNames.has(name as string), `${where}: guard ${String(name)} is not named in setup`).toBe(true);
        guarded.push(`${where} [${String(name)}]`);
      }
    }
    expect(guarded.length).toBeGreaterThan(20);
    expect(guarded.join("\n")).not.toMatch(/xstate\.(and|or|not)/);
  });

  it("describes every top-level state and carries tags a UI can read with hasTag", () => {
    const topLevel = Object.values(definition.states ?? {});
    expect(topLevel.map((node) => node.key)).toEqual(["idle", "connecting", "connected", "backingOff", "authRequired", "exhausted"]);
    for (const node of topLevel) {
      expect(node.description, node.key).toEqual(expect.stringMatching(/\w{10,}/));
      expect(node.tags?.length, node.key).toBeGreaterThan(0);
    }
  });

  it("carries the non-obvious transitions' reasons as descriptions", () => {
    const described = [...nodes(definition)].flatMap((node) =>
      [...transitions(node)].filter(([, transition]) => transition.description).map(([where]) => where),
    );
    expect(described).toEqual(
      expect.arrayContaining([
        "connection.connecting socket.disconnected",
        "connection.connecting forceReconnect",
        "connection.connecting auth.updated",
        "connection.connecting socket.started",
        "connection.connected socket.started",
        "connection.connected send",
      ]),
    );
  });

  it("fits the inspector's serialisation depth the docs recommend (the default 10 cuts it)", () => {
    const depth = depthOf(definition);
    expect(depth).toBeGreaterThan(10);
    expect(depth).toBeLessThanOrEqual(DOCUMENTED_DEPTH_LIMIT - 3);
  });
});

describe("tags", () => {
  it("say what the UI needs without matching state values", async () => {
    const { createActor } = await import("xstate");
    const actor = createActor(connectionMachine, { input: { url: "http://127.0.0.1:1" } });
    actor.start();
    expect(actor.getSnapshot().hasTag("stopped")).toBe(true);
    actor.send({ type: "network.offline" });
    actor.send({ type: "connect" });
    expect(actor.getSnapshot().hasTag("waitingForNetwork")).toBe(true);
    expect(actor.getSnapshot().hasTag("retrying")).toBe(true);
    actor.stop();
  });
});
