import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Every ```ts and ```tsx block of README.md and docs/*.md, typechecked against the BUILT
 * package (dist/, what `exports` points at), with react, socket.io, xstate, electron and
 * @statelyai/inspect types from node_modules. What people copy must compile.
 *
 * Conventions for fragments:
 * - A block that is a module on its own needs nothing. Each block is its own module.
 * - Fragments may leave out their imports of the package: every value `@softphone/websocket`
 *   and `@softphone/websocket/react` export is in scope, as if imported (read from dist).
 * - The placeholders a fragment may use without declaring them are the app's own things,
 *   declared once in {@link AMBIENT} below: `service`, `io`, `socket` (server side), `win`,
 *   `url`, `token`, `getToken`, `fetchSession`, `signIn`, `App`, `SignInButton`,
 *   `rootElement`, ... A block that declares or imports the same name uses its own.
 * - Third-party modules the docs show but this project does not install get a minimal
 *   declaration in {@link UNINSTALLED_MODULES} (`debug`).
 * - `<!-- prelude: TYPESCRIPT -->` on the line right before the fence adds TYPESCRIPT before
 *   the block (imports or declarations only that block needs); it is invisible on the page.
 * - `// @check-skip: reason` as the first line of a block skips it (for a block that is not
 *   TypeScript for this package, e.g. another server's language). Skips are listed in the
 *   output; keep them rare.
 */

const root = fileURLToPath(new URL("../../", import.meta.url));
const dist = join(root, "dist");
/** Inside node_modules, so that "react", "electron", ... resolve as they would in an app. */
const workDir = join(root, "node_modules", ".cache", `doc-blocks-${process.pid}`);

/** The app's own things that fragments use without declaring them. */
const AMBIENT = `
import type { WebSocketService } from "@softphone/websocket";
import type { Server, Socket } from "socket.io";
import type { BrowserWindow } from "electron";
import type { ReactNode } from "react";
import type { InspectorOptions } from "@statelyai/inspect";

declare global {
  /** A service created at the app's composition root. */
  const service: WebSocketService;
  /** A Socket.IO server, and one of its sockets. */
  const io: Server;
  const socket: Socket;
  /** An Electron window. */
  const win: BrowserWindow;
  /** The app's server URL, token and token sources. */
  const url: string;
  const token: string;
  function getToken(): Promise<string>;
  function fetchSession(): Promise<{ token: string }>;
  function signIn(): Promise<string>;
  /** The app's React root element and components. */
  const rootElement: HTMLElement;
  function App(): ReactNode;
  function SignInButton(): ReactNode;
  /** The inspector's payload redaction of docs/inspector.md, defined in its first block, and an inspector. */
  const redact: Pick<InspectorOptions, "sanitizeContext" | "sanitizeEvent">;
  const inspector: ReturnType<typeof import("@statelyai/inspect").createBrowserInspector>;
  /** Values of the app's domain that the queue examples send. */
  interface CallInfo { id: string }
  const id: string;
  const x: number;
  const y: number;
  /** The app's loggers and reconciliation. */
  const log: { warn(...args: unknown[]): void };
  const pinoLogger: { debug(object: object, message: string): void };
  function reconcile(event: string, args: unknown[]): void;
  /** The app's resync after a new (not recovered) session. */
  function resync(): void;
  function retryLater(): void;
  function markSaved(ok: boolean | undefined): void;
  /*PACKAGE_EXPORTS*/
}
`;

/** Modules the docs import that node_modules does not have types for: the part they use. */
const UNINSTALLED_MODULES = `
declare module "debug" {
  const debug: (namespace: string) => (formatter: unknown, ...args: unknown[]) => void;
  export default debug;
}
`;

/** `const NAME: typeof import(SPECIFIER).NAME;` for every value the built entry exports. */
async function packageExports(specifier: string, entry: string): Promise<string> {
  const names = Object.keys((await import(pathToFileURL(entry).href)) as object);
  return names.map((name) => `const ${name}: typeof import("${specifier}").${name};`).join("\n  ");
}

interface Block {
  file: string;
  /** 1-based line of the first line of code (after the fence). */
  line: number;
  lang: "ts" | "tsx";
  code: string;
  prelude: string;
  skip: string | null;
}

/** The blocks of one markdown file. */
export function extractBlocks(file: string, markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const fence = /^(\s*)```(ts|tsx)\s*$/.exec(lines[index]!);
    if (!fence) {
      // Skip other fenced blocks whole, so that a ```ts inside a ```md example is not taken.
      if (/^\s*```\S*/.test(lines[index]!)) {
        const close = lines.findIndex((line, at) => at > index && /^\s*```\s*$/.test(line));
        index = close === -1 ? lines.length : close;
      }
      continue;
    }
    const close = lines.findIndex((line, at) => at > index && /^\s*```\s*$/.test(line));
    if (close === -1) throw new Error(`${file}:${index + 1}: unclosed \`\`\`${fence[2]} block`);
    const indent = fence[1]!.length;
    const code = lines.slice(index + 1, close).map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)));
    const before = index > 0 ? lines[index - 1]! : "";
    const prelude = /^\s*<!--\s*prelude:\s*([\s\S]*?)\s*-->\s*$/.exec(before)?.[1] ?? "";
    const skip = /^\s*\/\/\s*@check-skip:\s*(.+)$/.exec(code[0] ?? "")?.[1] ?? null;
    blocks.push({ file, line: index + 2, lang: fence[2] as "ts" | "tsx", code: code.join("\n"), prelude, skip });
    index = close;
  }
  return blocks;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => join("docs", name));
  return ["README.md", ...docs];
}

/** The newest modification time under `dir` (files only). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than src/ (`npm test` builds it before vitest anyway). */
function ensureBuilt(): void {
  const entry = join(dist, "react", "index.d.ts");
  if (existsSync(entry) && existsSync(join(dist, "index.d.ts")) && newestMtime(dist) >= newestMtime(join(root, "src"))) return;
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: "pipe" });
}

const compilerOptions: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  jsx: ts.JsxEmit.ReactJSX,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  esModuleInterop: true,
  isolatedModules: true,
  types: ["node"],
  typeRoots: [join(root, "node_modules", "@types")],
  baseUrl: root,
  paths: {
    "@softphone/websocket": [join(dist, "index.d.ts")],
    "@softphone/websocket/react": [join(dist, "react", "index.d.ts")],
  },
};

interface Checked {
  blocks: Block[];
  /** `file:line: message` per error, lines of the markdown file. */
  errors: string[];
  skipped: string[];
}

function typecheck(blocks: Block[], packageGlobals = ""): Checked {
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  writeFileSync(join(workDir, "ambient.d.ts"), `${AMBIENT.replace("/*PACKAGE_EXPORTS*/", packageGlobals)}\nexport {};\n`);
  writeFileSync(join(workDir, "modules.d.ts"), UNINSTALLED_MODULES);
  const files = new Map<string, { block: Block; offset: number }>();
  const skipped: string[] = [];
  for (const block of blocks) {
    if (block.skip !== null) {
      skipped.push(`${block.file}:${block.line}: ${block.skip}`);
      continue;
    }
    const name = `${block.file.replace(/[/.]/g, "_")}_L${block.line}.${block.lang}`;
    const prelude = block.prelude ? `${block.prelude}\n` : "";
    // `export {}` makes every block a module, so its names never clash with another block's.
    writeFileSync(join(workDir, name), `${prelude}${block.code}\nexport {};\n`);
    files.set(join(workDir, name), { block, offset: prelude ? prelude.split("\n").length - 1 : 0 });
  }
  const program = ts.createProgram(
    [join(workDir, "ambient.d.ts"), join(workDir, "modules.d.ts"), ...files.keys()],
    compilerOptions,
  );
  const errors = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
    const source = diagnostic.file && files.get(diagnostic.file.fileName);
    if (!diagnostic.file || diagnostic.start === undefined || !source) {
      return `${diagnostic.file ? relative(root, diagnostic.file.fileName) : "(program)"}: TS${diagnostic.code} ${message}`;
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const inBlock = line - source.offset;
    const where = inBlock < 0 ? `${source.block.file}:${source.block.line - 1} (prelude)` : `${source.block.file}:${source.block.line + inBlock}`;
    return `${where}: TS${diagnostic.code} ${message}`;
  });
  return { blocks, errors, skipped };
}

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe("TypeScript blocks in README.md and docs/*.md", () => {
  let checked: Checked;

  beforeAll(async () => {
    ensureBuilt();
    const packageGlobals = [
      await packageExports("@softphone/websocket", join(dist, "index.js")),
      await packageExports("@softphone/websocket/react", join(dist, "react", "index.js")),
    ].join("\n  ");
    const blocks = markdownFiles().flatMap((file) => extractBlocks(file, readFileSync(join(root, file), "utf8")));
    checked = typecheck(blocks, packageGlobals);
    const counted = `${blocks.length} blocks, ${checked.skipped.length} skipped`;
    console.log(
      checked.skipped.length === 0
        ? `doc blocks: ${counted}`
        : `doc blocks: ${counted}:\n${checked.skipped.map((skip) => `  skipped ${skip}`).join("\n")}`,
    );
  }, 60_000);

  it("finds the blocks of every file that has some", () => {
    const files = new Set(checked.blocks.map((block) => block.file));
    for (const file of ["README.md", "docs/react.md", "docs/electron.md", "docs/queue.md", "docs/configuration.md"]) {
      expect(files).toContain(file);
    }
    expect(checked.blocks.length).toBeGreaterThanOrEqual(20);
  });

  it("typechecks every block against the built package", () => {
    expect(checked.errors, "fragments: see the conventions at the top of test/docs/code-blocks.test.ts").toEqual([]);
  });

  it("skips few blocks, each with a reason", () => {
    expect(checked.skipped.length).toBeLessThanOrEqual(3);
  });
});

describe("the block extraction", () => {
  it("takes ts and tsx fences, the prelude comment right before one, and the skip marker", () => {
    const markdown = [
      "text",
      "<!-- prelude: declare const a: number; -->",
      "```ts",
      "a + 1;",
      "```",
      "```tsx",
      "// @check-skip: not ours",
      "```",
      "```sh",
      "npm test",
      "```",
      "```md",
      "```ts",
      "not a block",
      "```",
    ].join("\n");
    expect(extractBlocks("x.md", markdown)).toEqual([
      { file: "x.md", line: 4, lang: "ts", code: "a + 1;", prelude: "declare const a: number;", skip: null },
      { file: "x.md", line: 7, lang: "tsx", code: "// @check-skip: not ours", prelude: "", skip: "not ours" },
    ]);
  });

  it("checks Electron code against Electron's own types: powerMonitor.on with a union of names is refused", () => {
    const code = [
      'import { powerMonitor } from "electron";',
      'for (const name of ["suspend", "resume"] as const) powerMonitor.on(name, () => {});',
      'powerMonitor.on("resume", () => {});',
    ].join("\n");
    const result = typecheck([{ file: "e.md", line: 1, lang: "ts", code, prelude: "", skip: null }]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatch(/^e\.md:2: TS2769 No overload matches this call/);
  });

  it("reports an error at the markdown line of the block", () => {
    const result = typecheck([{ file: "x.md", line: 10, lang: "ts", code: "const a = 1;\nconst b: string = a;", prelude: "", skip: null }]);
    expect(result.errors).toEqual(["x.md:11: TS2322 Type 'number' is not assignable to type 'string'."]);
  });
});
