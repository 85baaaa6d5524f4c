export interface Series {
  name: string;
  values: readonly number[];
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  return step ?? 10 * magnitude;
}

/**
 * A line chart as a standalone SVG string: one polyline per series, x = index (seconds),
 * with axes, ticks, a legend and an optional vertical marker (e.g. the restart).
 */
export function lineChartSvg(options: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  marker?: { x: number; label: string };
  maxX?: number;
  width?: number;
  height?: number;
}): string {
  const width = options.width ?? 900;
  const height = options.height ?? 420;
  const m = { left: 70, right: 180, top: 40, bottom: 50 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const maxX = Math.max(1, options.maxX ?? Math.max(...options.series.map((s) => s.values.length)));
  const maxY = Math.max(1, ...options.series.flatMap((s) => s.values.slice(0, maxX)));
  const yStep = niceStep(maxY, 5);
  const yTop = Math.ceil(maxY / yStep) * yStep;
  const xStep = niceStep(maxX, 10);
  const x = (v: number) => m.left + (v / maxX) * plotW;
  const y = (v: number) => m.top + plotH - (v / yTop) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${m.left}" y="22" font-size="14" font-weight="bold">${escape(options.title)}</text>`,
  ];
  for (let v = 0; v <= yTop; v += yStep) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`,
    );
  }
  for (let v = 0; v <= maxX; v += xStep) {
    parts.push(
      `<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${m.top + plotH}" y2="${m.top + plotH + 4}" stroke="#333"/>`,
      `<text x="${x(v).toFixed(1)}" y="${m.top + plotH + 18}" text-anchor="middle">${v}</text>`,
    );
  }
  parts.push(
    `<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" stroke="#333"/>`,
    `<text x="${m.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escape(options.xLabel)}</text>`,
    `<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`,
  );
  if (options.marker && options.marker.x <= maxX) {
    const mx = x(options.marker.x).toFixed(1);
    parts.push(
      `<line x1="${mx}" x2="${mx}" y1="${m.top}" y2="${m.top + plotH}" stroke="#888" stroke-dasharray="4 4"/>`,
      `<text x="${Number(mx) + 4}" y="${m.top + 12}" fill="#555">${escape(options.marker.label)}</text>`,
    );
  }
  options.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const points = s.values
      .slice(0, maxX)
      .map((v, t) => `${x(t + 0.5).toFixed(1)},${y(v).toFixed(1)}`)
      .join(" ");
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${points}"/>`,
      `<line x1="${m.left + plotW + 16}" x2="${m.left + plotW + 40}" y1="${m.top + 10 + i * 20}" y2="${m.top + 10 + i * 20}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${m.left + plotW + 46}" y="${m.top + 14 + i * 20}">${escape(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
