import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * docs/testing.md shows the code of test/testing/app-example.test.ts between its region
 * markers; this keeps the two the same, so that the doc's example is one that runs.
 */

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

/** The lines between `// #region name` and `// #endregion name`. */
function region(source: string, name: string): string {
  const lines = source.split("\n");
  const start = lines.indexOf(`// #region ${name}`);
  const end = lines.indexOf(`// #endregion ${name}`);
  if (start === -1 || end <= start) throw new Error(`no region "${name}"`);
  return lines.slice(start + 1, end).join("\n");
}

/** The fenced block right after the line `<!-- example: FILE#REGION -->`, and what it names. */
function exampleBlocks(markdown: string): { file: string; region: string; code: string }[] {
  const lines = markdown.split("\n");
  const blocks: { file: string; region: string; code: string }[] = [];
  lines.forEach((line, index) => {
    const marker = /^<!-- example: (\S+)#(\S+) -->$/.exec(line);
    if (!marker) return;
    expect(lines[index + 1], `the line after ${line}`).toMatch(/^```ts$/);
    const close = lines.findIndex((candidate, at) => at > index + 1 && candidate === "```");
    blocks.push({ file: marker[1]!, region: marker[2]!, code: lines.slice(index + 2, close).join("\n") });
  });
  return blocks;
}

describe("docs/testing.md", () => {
  const blocks = exampleBlocks(read("docs/testing.md"));

  it("shows the example test, as it runs", () => {
    expect(blocks.map(({ file, region: name }) => `${file}#${name}`)).toEqual(["test/testing/app-example.test.ts#app-example"]);
    for (const block of blocks) expect(block.code).toBe(region(read(block.file), block.region));
  });

  it("the example imports the package by name only, as an app does", () => {
    const imports = [...blocks[0]!.code.matchAll(/from "([^"]+)"/g)].map((match) => match[1]);
    expect(imports).toEqual(["@softphone/websocket", "@softphone/websocket/testing", "vitest"]);
  });

  it("finds a difference (the comparison is not vacuous)", () => {
    const source = read("test/testing/app-example.test.ts");
    expect(region(source.replace("Back online", "Welcome back"), "app-example")).not.toBe(blocks[0]!.code);
  });
});
