import type { TopLevelState } from "../../src/machine/types.js";
import type { WebSocketStatus } from "../../src/services/WebSocketService.js";

/** Where the story writes: `process.stdout`, or a buffer in tests. */
export interface StoryOutput {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

type Style = "bold" | "dim" | "red" | "green" | "yellow" | "blue" | "magenta" | "cyan";

const SGR: Record<Style, string> = {
  bold: "1",
  dim: "2",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36",
};

const STATE_STYLE: Record<TopLevelState, Style> = {
  idle: "dim",
  connecting: "cyan",
  connected: "green",
  backingOff: "yellow",
  authRequired: "magenta",
  exhausted: "red",
};

/** Whether to colour `output`: a terminal, and NO_COLOR (https://no-color.org) not set. */
export function wantsColor(output: StoryOutput, env: NodeJS.ProcessEnv = process.env): boolean {
  return output.isTTY === true && !env.NO_COLOR;
}

/** `mm:ss.mmm` of a number of milliseconds. */
export function formatElapsed(ms: number): string {
  const whole = Math.max(0, Math.floor(ms));
  const minutes = Math.floor(whole / 60_000);
  const seconds = Math.floor((whole % 60_000) / 1000);
  const millis = whole % 1000;
  return `${String(minutes).padStart(2, "0")}:${String(seconds).padStart(2, "0")}.${String(millis).padStart(3, "0")}`;
}

/** Column widths of a transition line. */
const COLUMNS = { time: 9, state: 12, failed: 6, delay: 7, health: 6 } as const;
const GAP = "  ";
/** Where notes and checks start: under the state column, so that long ones still fit. */
const NOTE_OFFSET = COLUMNS.time + GAP.length;
const RULE_WIDTH = 100;

/** `text` in lines of at most `width` characters, broken between words (a longer word stays whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(" ")) {
    if (current !== "" && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else {
      current = current === "" ? word : `${current} ${word}`;
    }
  }
  lines.push(current);
  return lines;
}

/** One row of the transition log, before layout. */
export interface TransitionRow {
  status: WebSocketStatus;
  /** A delay to show (ms) instead of the status' `nextRetryDelay`. */
  delay?: number | null;
  /** Kind of line: a state change, a service event, an action of the narrator. */
  kind: "state" | "event";
  label: string;
  detail?: string;
  /** Dims the line (routine events such as health checks). */
  quiet?: boolean;
}

/**
 * Lays out the story on a terminal: fixed-width columns for the transition log, chapter
 * headings, narration and check lines, and tables. Colours only when asked for.
 */
export class Renderer {
  readonly #output: StoryOutput;
  readonly #color: boolean;
  readonly #elapsed: () => number;

  constructor(output: StoryOutput, color: boolean, elapsed: () => number) {
    this.#output = output;
    this.#color = color;
    this.#elapsed = elapsed;
  }

  paint(text: string, ...styles: Style[]): string {
    if (!this.#color || styles.length === 0) return text;
    return `\x1b[${styles.map((style) => SGR[style]).join(";")}m${text}\x1b[0m`;
  }

  line(text = ""): void {
    this.#output.write(`${text}\n`);
  }

  title(text: string, details: readonly [string, string][]): void {
    this.line(this.paint(text, "bold"));
    const width = Math.max(...details.map(([key]) => key.length));
    for (const [key, value] of details) this.line(`  ${this.paint(key.padEnd(width), "dim")}  ${value}`);
  }

  /** The column header of the transition log. */
  columns(): void {
    const cells: [string, number, "l" | "r"][] = [
      ["time", COLUMNS.time, "l"],
      ["state", COLUMNS.state, "l"],
      ["failed", COLUMNS.failed, "l"],
      ["delay", COLUMNS.delay, "r"],
      ["health", COLUMNS.health, "r"],
      ["what", 40, "l"],
    ];
    this.line();
    this.line(this.paint(cells.map(([name, width, align]) => (align === "r" ? name.padStart(width) : name.padEnd(width))).join(GAP).trimEnd(), "bold"));
    this.line(this.paint(cells.map(([, width]) => "─".repeat(width)).join(GAP), "dim"));
  }

  heading(index: number, title: string, subtitle: string): void {
    const text = `── ${index}. ${title} `;
    this.line();
    this.line(this.paint(text.padEnd(RULE_WIDTH, "─"), "bold", "blue"));
    this.line(this.paint(`   ${subtitle}`, "dim"));
  }

  /** A state change or a service event, with the status at that moment. */
  transition(row: TransitionRow): void {
    const { status } = row;
    const delay = row.delay !== undefined ? row.delay : status.state === "backingOff" ? status.nextRetryDelay : null;
    // A quiet line is dimmed as a whole, so its cells stay plain.
    const paint = (text: string, ...styles: Style[]) => (row.quiet ? text : this.paint(text, ...styles));
    const time = formatElapsed(this.#elapsed()).padEnd(COLUMNS.time);
    const state = paint(status.state.padEnd(COLUMNS.state), STATE_STYLE[status.state], ...(row.kind === "state" ? (["bold"] as const) : []));
    // status.attempt: attempts failed in a row, out of maxReconnectAttempts (docs/events.md).
    const attempt = `${status.attempt}/${status.maxAttempts}`.padEnd(COLUMNS.failed);
    const delayText = paint((delay === null ? "·" : `${Math.round(delay)}ms`).padStart(COLUMNS.delay), delay === null ? "dim" : "yellow");
    const healthStyle: Style = status.healthScore >= 70 ? "green" : status.healthScore >= 40 ? "yellow" : "dim";
    const health = paint(`${status.healthScore}%`.padStart(COLUMNS.health), healthStyle);
    const marker = row.kind === "state" ? "→" : "·";
    const label = row.kind === "state" ? paint(row.label, "bold") : row.label.padEnd(26);
    const what = `${marker} ${label}${row.detail ? `  ${row.detail}` : ""}`.trimEnd();
    const text = [time, state, attempt, delayText, health, what].join(GAP);
    this.line(row.quiet ? this.paint(text, "dim") : text);
  }

  /** Something the narrator does to the world (kill the server, cut the link...). */
  narrate(text: string): void {
    const time = formatElapsed(this.#elapsed()).padEnd(COLUMNS.time);
    this.line(`${time}${GAP}${this.paint(`▸ ${text}`, "bold")}`);
  }

  /** A long wait still going: dimmed, so that it reads as a heartbeat of the story, not an event. */
  progress(text: string): void {
    const time = formatElapsed(this.#elapsed()).padEnd(COLUMNS.time);
    this.line(this.paint(`${time}${GAP}… ${text}`, "dim"));
  }

  /** A measurement or an observation, indented under the log; a long one wraps between words. */
  note(text: string): void {
    const indent = " ".repeat(NOTE_OFFSET);
    for (const [index, part] of wrap(text, RULE_WIDTH - NOTE_OFFSET - 2).entries()) {
      this.line(`${indent}${this.paint(`${index === 0 ? "»" : " "} ${part}`, "cyan")}`);
    }
  }

  /** An invariant checked: ✓ or ✗ and what it says. */
  check(ok: boolean, text: string): void {
    const mark = ok ? this.paint("✓", "green") : this.paint("✗", "red", "bold");
    this.line(`${" ".repeat(NOTE_OFFSET)}${mark} ${ok ? text : this.paint(text, "red")}`);
  }

  error(text: string): void {
    this.line(this.paint(`✗ ${text}`, "red", "bold"));
  }

  /** A plain table with a header row; `align` per column ("l" or "r"). */
  table(header: readonly string[], rows: readonly (readonly string[])[], align: readonly ("l" | "r")[]): void {
    const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? "").length)));
    const render = (row: readonly string[]) =>
      row
        .map((cell, column) => (align[column] === "r" ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
        .join(GAP)
        .trimEnd();
    this.line(`  ${this.paint(render(header), "bold")}`);
    this.line(`  ${this.paint(widths.map((width) => "─".repeat(width)).join(GAP), "dim")}`);
    for (const row of rows) this.line(`  ${render(row)}`);
  }
}
