import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/index.js";

// Issue 12 item 5: the defaults live in one place, DEFAULT_CONFIG. The `@default` tags of
// ConnectionConfig (what an editor shows) and the table in docs/configuration.md (what people
// read) are checked against it, so they cannot drift.

const root = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");

/** `@default` of each key of `interface ConnectionConfig` in src/machine/types.ts. */
function defaultTags(): Record<string, string> {
  const source = read("src/machine/types.ts");
  const body = source.slice(source.indexOf("export interface ConnectionConfig {"));
  const block = body.slice(0, body.indexOf("\n}\n"));
  const tags: Record<string, string> = {};
  // Each key is preceded by its TSDoc comment; the tag is the last @default in that comment.
  for (const match of block.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+):/g)) {
    const tag = /@default\s+(\S+)/.exec(match[1]!);
    if (tag) tags[match[2]!] = tag[1]!;
  }
  return tags;
}

/** The default column of the `config` keys table in docs/configuration.md. */
function documentedDefaults(): Record<string, string> {
  const rows = read("docs/configuration.md")
    .split("\n")
    .filter((line) => /^\| `\w+` \| `[^`]+`/.test(line));
  const documented: Record<string, string> = {};
  for (const row of rows) {
    const [, key, value] = /^\| `(\w+)` \| `([^`]+)`/.exec(row)!;
    if (Object.hasOwn(DEFAULT_CONFIG, key!)) documented[key!] = value!;
  }
  return documented;
}

const literal = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : String(value));

describe("DEFAULT_CONFIG is the one source of the defaults", () => {
  it("every ConnectionConfig key has an @default tag equal to DEFAULT_CONFIG", () => {
    const tags = defaultTags();
    expect(Object.keys(tags).sort()).toEqual(Object.keys(DEFAULT_CONFIG).sort());
    for (const [key, value] of Object.entries(DEFAULT_CONFIG)) expect(tags[key], key).toBe(literal(value));
  });

  it("docs/configuration.md lists every key with DEFAULT_CONFIG's value", () => {
    const documented = documentedDefaults();
    expect(Object.keys(documented).sort()).toEqual(Object.keys(DEFAULT_CONFIG).sort());
    for (const [key, value] of Object.entries(DEFAULT_CONFIG)) expect(documented[key], key).toBe(literal(value));
  });
});
