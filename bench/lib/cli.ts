/** `--name=value` / `--flag` arguments. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (const arg of argv) {
    if (!arg.startsWith("--")) continue;
    const [key, value] = arg.slice(2).split("=", 2) as [string, string | undefined];
    args.set(key, value ?? "true");
  }
  return args;
}

export function numberArg(args: Map<string, string>, key: string, fallback: number): number {
  const raw = args.get(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`--${key} must be a positive number, got ${raw}`);
  return value;
}
