/**
 * `npm run diagram`: renders docs/statechart.md (a Mermaid stateDiagram-v2) from the
 * production `connectionMachine` itself, so the picture cannot drift from the chart.
 * test/docs/diagram.test.ts renders it again in memory and fails when the file is stale.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from "xstate";
import { connectionMachine } from "../src/machine/connectionMachine.js";

export const STATECHART_PATH = fileURLToPath(new URL("../docs/statechart.md", import.meta.url));

/** Mermaid lexes these words anywhere (case-insensitively), so no id may start with them. */
const RESERVED = /^(default|state|note|class|classdef|scale|direction|end|hide|as)/i;
const ANY_STATE = "anyState";

type Node = AnyStateNode;
type Transition = AnyTransitionDefinition;

function ancestors(node: Node): Node[] {
  const chain: Node[] = [];
  for (let current: Node | undefined = node; current; current = current.parent) chain.unshift(current);
  return chain;
}

function isCompound(node: Node): boolean {
  return Object.keys(node.states).length > 0;
}

/** Inside a parallel state (at any depth): Mermaid cannot draw edges to or from such a composite. */
function isInsideParallel(node: Node): boolean {
  return ancestors(node).slice(0, -1).some((ancestor) => ancestor.type === "parallel");
}

function allNodes(root: Node): Node[] {
  return [root, ...Object.values(root.states).flatMap((child) => allNodes(child))];
}

function atomicDescendants(node: Node): Node[] {
  if (!isCompound(node)) return [node];
  return Object.values(node.states).flatMap((child) => atomicDescendants(child));
}

function initialLeaf(node: Node): Node {
  if (!isCompound(node)) return node;
  const first = node.initial?.target?.[0];
  return initialLeaf(first ?? Object.values(node.states)[0]!);
}

/** Ids Mermaid accepts (no dots or dashes): the shortest unique tail of the state path. */
function mermaidIds(root: Node): Map<Node, string> {
  const nodes = allNodes(root).filter((node) => node !== root);
  const paths = new Map(nodes.map((node) => [node, node.path.map((part: string) => part.replace(/\W/g, "_"))]));
  const ids = new Map<Node, string>();
  for (const node of nodes) {
    const path = paths.get(node)!;
    for (let length = 1; length <= path.length; length++) {
      const tail = path.slice(-length).join("_");
      const clash = nodes.some((other) => other !== node && paths.get(other)!.slice(-length).join("_") === tail);
      if (!clash || length === path.length) {
        ids.set(node, RESERVED.test(tail) ? `s_${tail}` : tail);
        break;
      }
    }
  }
  return ids;
}

/** Guards by name: `and`/`or`/`not` spelled out, since `&&` or `!` read badly in Mermaid labels. */
export function guardText(guard: unknown): string {
  if (guard === undefined || guard === null) return "";
  if (typeof guard === "string") return guard;
  if (typeof guard === "object" && "type" in guard) return String((guard as { type: unknown }).type);
  if (typeof guard === "function") {
    const inner = ((guard as { guards?: unknown[] }).guards ?? []).map(guardText);
    if (guard.name === "not") return `not ${inner[0] ?? "?"}`;
    if (guard.name === "and" || guard.name === "or") return inner.join(` ${guard.name} `);
    return guard.name || "inline guard";
  }
  return String(guard);
}

function actionText(action: unknown): string {
  if (typeof action === "string") return action;
  if (typeof action === "object" && action !== null && "type" in action) return String((action as { type: unknown }).type);
  if (typeof action === "function") return action.name || "inline action";
  return String(action);
}

/** `connect`, `after connectTimeout`, `always`: the trigger as the chart's author wrote it. */
function triggerText(transition: Transition): string {
  if (transition.eventType === "") return "always";
  const delay = (transition as { delay?: unknown }).delay;
  if (delay !== undefined) return `after ${String(delay)}`;
  return transition.eventType;
}

/** Mermaid ends a label at `:`, `;` or a newline and treats `#` as an entity start. */
function labelSafe(text: string): string {
  return text.replace(/[:;#\n{}]/g, " ").replace(/\s+/g, " ").trim();
}

function edgeLabel(transition: Transition): string {
  const guard = guardText(transition.guard);
  return labelSafe(guard ? `${triggerText(transition)} [${guard}]` : triggerText(transition));
}

interface Edge {
  from: string;
  to: string;
  label: string;
  /** The state whose block the edge is written in: the common ancestor of both ends. */
  block: Node;
}

interface InPlace {
  state: string;
  trigger: string;
  guard: string;
  actions: string;
  note: string;
}

function transitionsOf(node: Node): Transition[] {
  return [...node.transitions.values()].flat().concat(node.always ?? []);
}

function commonAncestor(a: Node, b: Node): Node {
  const chainA = ancestors(a);
  const chainB = ancestors(b);
  let common = chainA[0]!;
  for (let i = 0; i < Math.min(chainA.length, chainB.length) && chainA[i] === chainB[i]; i++) common = chainA[i]!;
  // A block holds its descendants' edges: a self-loop (or an edge to a child) belongs to the parent.
  if ((common === a || common === b) && common.parent) common = common.parent;
  // Edges between regions of a parallel state go one level up: a region block holds its own only.
  while (common.type === "parallel" && common.parent) common = common.parent;
  return common;
}

function collect(machine: AnyStateMachine) {
  const root: Node = machine.root;
  const ids = mermaidIds(root);
  const edges: Edge[] = [];
  const inPlace: InPlace[] = [];
  const nameOf = (node: Node) => (node === root ? "(any state)" : node.path.join("."));

  for (const source of allNodes(root)) {
    for (const transition of transitionsOf(source)) {
      const targets: readonly Node[] = transition.target ?? [];
      const actions = transition.actions.map(actionText).join(", ");
      const selfCompound = targets.length === 1 && targets[0] === source && isCompound(source);
      if (targets.length === 0 || selfCompound) {
        inPlace.push({
          state: nameOf(source),
          trigger: triggerText(transition),
          guard: guardText(transition.guard),
          actions: actions || "(nothing: the event stops here)",
          note: selfCompound ? "re-enters the state" : "",
        });
        continue;
      }
      // Mermaid cannot attach an edge to a composite inside a parallel state: use its leaves.
      const sources = source === root ? [root] : isCompound(source) && isInsideParallel(source) ? atomicDescendants(source) : [source];
      for (const from of sources) {
        for (const rawTarget of targets) {
          const to = isCompound(rawTarget) && isInsideParallel(rawTarget) ? initialLeaf(rawTarget) : rawTarget;
          edges.push({
            from: from === root ? ANY_STATE : ids.get(from)!,
            to: ids.get(to)!,
            label: edgeLabel(transition),
            block: from === root ? root : commonAncestor(from, to),
          });
        }
      }
    }
  }
  return { root, ids, edges, inPlace };
}

/** The Mermaid stateDiagram-v2 source of a chart (without the code fence). */
export function renderMermaid(machine: AnyStateMachine = connectionMachine): string {
  const { root, ids, edges } = collect(machine);
  const lines: string[] = ["stateDiagram-v2"];
  const edgeLine = (edge: Edge) => `${edge.from} --> ${edge.to} : ${edge.label}`;

  const declare = (node: Node, indent: string) => {
    const id = ids.get(node)!;
    const name = String(node.key);
    if (!isCompound(node)) {
      lines.push(id === name ? `${indent}${id}` : `${indent}state "${labelSafe(name)}" as ${id}`);
      return;
    }
    // Composites take a bare id: `state "label" as id {` is mis-parsed by some Mermaid versions.
    lines.push(`${indent}state ${id} {`);
    body(node, `${indent}  `);
    lines.push(`${indent}}`);
  };

  const body = (node: Node, indent: string) => {
    const children = Object.values(node.states) as Node[];
    if (node.type === "parallel") {
      // Mermaid only lets edges leave a parallel state from its first region: put such regions first.
      const leaves = (region: Node) =>
        edges.some((edge) => edge.block !== region && atomicDescendants(region).some((leaf) => ids.get(leaf) === edge.from));
      const regions = [...children].sort((a, b) => Number(leaves(b)) - Number(leaves(a)));
      regions.forEach((region, index) => {
        if (index > 0) lines.push(`${indent}--`);
        declare(region, indent);
      });
    } else {
      const initial = node.initial?.target?.[0];
      if (initial) lines.push(`${indent}[*] --> ${ids.get(initial)!}`);
      for (const child of children) declare(child, indent);
    }
    if (node !== root) for (const edge of edges.filter((candidate) => candidate.block === node)) lines.push(`${indent}${edgeLine(edge)}`);
  };

  lines.push(`  state "any state" as ${ANY_STATE}`);
  body(root, "  ");
  for (const edge of edges.filter((candidate) => candidate.block === root)) lines.push(`  ${edgeLine(edge)}`);
  return `${lines.join("\n")}\n`;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|") || " ";
}

/** The whole docs/statechart.md: intro, the diagram, and the transitions a diagram cannot draw. */
export function renderStatechart(machine: AnyStateMachine = connectionMachine): string {
  const { inPlace } = collect(machine);
  const rows = inPlace.map(
    (row) =>
      `| ${cell(row.state)} | ${cell(row.trigger)} | ${cell(row.guard)} | ${cell(row.note ? `${row.actions}; ${row.note}` : row.actions)} |`,
  );
  return [
    "# Connection statechart",
    "",
    "Generated by `npm run diagram` (scripts/generate-diagram.ts) from the production `connectionMachine`: do not edit by hand.",
    "Edges carry the event (or `after <delay name>`, or `always`) and the guard in brackets.",
    "`any state` stands for the machine's own handlers, which apply wherever a state does not handle the event itself.",
    "Edges that would start or end on a region of `connected` are drawn from or to that region's states.",
    "",
    "```mermaid",
    renderMermaid(machine).trimEnd(),
    "```",
    "",
    "## Handled in place",
    "",
    "Transitions without a target (actions only) and re-entries of a compound state, which the diagram does not draw.",
    "",
    "| state | event | guard | actions |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  writeFileSync(STATECHART_PATH, renderStatechart());
  process.stdout.write(`wrote ${STATECHART_PATH}\n`);
}
