/** Option checks shared by the server companion: each failure is a TypeError naming the option and the value. */

export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  try {
    return JSON.stringify(value) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** The options object itself, with unknown keys refused (a misspelt option is silently ignored otherwise). */
export function checkOptions(
  where: string,
  options: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${where}: unknown option ${JSON.stringify(key)} (known: ${known.join(", ")})`);
    }
  }
  return options as Record<string, unknown>;
}

export function fail(where: string, key: string, rule: string, value: unknown): never {
  throw new TypeError(`${where}: ${key} must be ${rule}, got ${describeValue(value)}`);
}

/** `value` when it is a finite number meeting `test`, the default when undefined, otherwise a TypeError. */
export function numberOption(
  where: string,
  key: string,
  value: unknown,
  rule: string,
  test: (value: number) => boolean,
  fallback?: number,
): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || !test(value)) fail(where, key, rule, value);
  return value;
}

export function booleanOption(where: string, key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") fail(where, key, "a boolean", value);
  return value;
}
