/** The `q`-quantile (0..1) of ascending `sorted` (nearest rank), or null when empty. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** The most events in any window of `width` ms, over ascending `times`. */
export function peakInWindow(times: readonly number[], width: number): number {
  let peak = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= width) start++;
    peak = Math.max(peak, end - start + 1);
  }
  return peak;
}

/** Counts of `times` per `width` ms bucket from `from` to `to`. */
export function histogram(times: readonly number[], from: number, to: number, width: number): number[] {
  const buckets = new Array<number>(Math.max(1, Math.ceil((to - from) / width))).fill(0);
  for (const t of times) {
    const index = Math.floor((t - from) / width);
    if (index >= 0 && index < buckets.length) buckets[index]!++;
  }
  return buckets;
}

export function round(value: number | null, digits = 1): number | null {
  if (value === null || !Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Fixed-width table with a header row. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** A Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}
