import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { AnyStateNode } from "xstate";
import { connectionMachine } from "../../src/machine/connectionMachine.js";
import { renderMermaid, renderStatechart, STATECHART_PATH } from "../../scripts/generate-diagram.js";

function stateNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap((child) => stateNodes(child))];
}

describe("docs/statechart.md", () => {
  it("matches the diagram rendered from connectionMachine", () => {
    const committed = existsSync(STATECHART_PATH) ? readFileSync(STATECHART_PATH, "utf8") : "";
    expect(committed === renderStatechart(), "docs/statechart.md is stale: run npm run diagram").toBe(true);
  });

  it("is Mermaid that names every state with a safe id and draws the parallel regions", () => {
    const mermaid = renderMermaid();
    const lines = mermaid.trimEnd().split("\n").map((line) => line.trim());
    expect(lines[0]).toBe("stateDiagram-v2");
    for (const line of lines.slice(1)) {
      // Every statement is a state declaration, a block end, a region divider or an edge.
      expect(line, `unexpected Mermaid line: ${line}`).toMatch(
        /^(state "[^"]+" as \w+|state \w+ \{|\w+|\}|--|(\[\*\]|\w+) --> \w+( : [^:;#\n{}]+)?)$/,
      );
    }
    for (const node of stateNodes(connectionMachine.root).slice(1)) {
      expect(mermaid, `state ${node.id} is missing`).toMatch(new RegExp(`\\b${node.key}\\b`));
    }
    expect(lines.filter((line) => line === "--")).toHaveLength(2);
    expect(mermaid).toContain("after heartbeatAckTimeout [isLastToleratedMiss]");
  });
});
