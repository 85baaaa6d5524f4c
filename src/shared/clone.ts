/**
 * Whether a value survives `postMessage` as itself. The structured clone algorithm refuses
 * functions and symbols (a `DataCloneError` without a path), and silently turns an instance of
 * an app class into a plain object: its methods and prototype are gone on the other side. Both
 * are refused here, at the call, with the path of the culprit.
 */

/** Prototypes of the built-in types that the structured clone algorithm copies faithfully. */
const CLONEABLE_PROTOTYPES: ReadonlySet<unknown> = new Set(
  [
    Object.prototype,
    Array.prototype,
    Date.prototype,
    RegExp.prototype,
    Map.prototype,
    Set.prototype,
    ArrayBuffer.prototype,
    DataView.prototype,
    Boolean.prototype,
    Number.prototype,
    String.prototype,
    BigInt.prototype,
    Error.prototype,
    EvalError.prototype,
    RangeError.prototype,
    ReferenceError.prototype,
    SyntaxError.prototype,
    TypeError.prototype,
    URIError.prototype,
    globalThis.SharedArrayBuffer?.prototype,
    globalThis.Blob?.prototype,
    globalThis.File?.prototype,
  ].filter((prototype) => prototype !== undefined),
);

function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * The first part of `value` that cannot cross a message port as itself, described with its
 * path from `path` (`args[1].user.onClick is a function`); `null` when all of it can.
 */
export function cloneProblem(value: unknown, path: string): string | null {
  return problemAt(value, path, new Set());
}

function problemAt(value: unknown, path: string, seen: Set<object>): string | null {
  if (typeof value === "function") return `${path} is a function`;
  if (typeof value === "symbol") return `${path} is a symbol`;
  if (value === null || typeof value !== "object") return null;
  if (seen.has(value)) return null; // cycles clone faithfully
  seen.add(value);
  if (ArrayBuffer.isView(value)) return null; // typed arrays, DataView, Node's Buffer
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== null && !CLONEABLE_PROTOTYPES.has(prototype)) {
    const name = (prototype as { constructor?: { name?: unknown } }).constructor?.name;
    return `${path} is an instance of ${typeof name === "string" && name ? name : "a class"}, which would arrive as a plain object without its prototype`;
  }
  if (value instanceof Map) {
    let index = 0;
    for (const [key, entry] of value) {
      const problem = problemAt(key, `${path}.keys()[${index}]`, seen) ?? problemAt(entry, `${path}.get(…)[${index}]`, seen);
      if (problem) return problem;
      index += 1;
    }
    return null;
  }
  if (value instanceof Set) {
    let index = 0;
    for (const entry of value) {
      const problem = problemAt(entry, `${path}.values()[${index}]`, seen);
      if (problem) return problem;
      index += 1;
    }
    return null;
  }
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const problem = problemAt(value[index], `${path}[${index}]`, seen);
      if (problem) return problem;
    }
    return null;
  }
  if (Object.getOwnPropertySymbols(value).some((key) => Object.prototype.propertyIsEnumerable.call(value, key))) {
    return `${path} has a symbol-keyed property, which would be dropped`;
  }
  for (const key of Object.keys(value)) {
    const problem = problemAt((value as Record<string, unknown>)[key], childPath(path, key), seen);
    if (problem) return problem;
  }
  return null;
}

/** Throws a `TypeError` naming the culprit when `value` cannot cross a port as itself. */
export function assertCloneable(value: unknown, path: string, call: string): void {
  const problem = cloneProblem(value, path);
  if (problem) {
    throw new TypeError(
      `${call}: ${problem}; only structured-clone-safe data (plain objects, arrays, primitives, Date, Map, Set, typed arrays, Error) crosses the port to the shared connection`,
    );
  }
}
