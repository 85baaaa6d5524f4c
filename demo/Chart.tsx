import { type ReactNode, useEffect, useState } from "react";
import { useWebSocketService } from "../src/react/index.js";

interface Sample {
  at: number;
  health: number;
  /** The round trip measured on the live connection; null when not connected (no stale value). */
  latency: number | null;
}

const WINDOW = 60;
const WIDTH = 400;
const HEIGHT = 170;
/** Room for the axis values: health on the left, latency on the right, seconds below. */
const MARGIN = { left: 40, right: 52, top: 10, bottom: 22 } as const;
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;
const HEALTH_COLOUR = "#1a7f37";
const LATENCY_COLOUR = "#0969da";
const AXIS_COLOUR = "#57606a";
/** Latency scales: the smallest that holds the window's highest value, so the scale moves rarely. */
const LATENCY_SCALES = [20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000];

/** The latency scale in ms for the values on screen: a round number, changed only when a value outgrows it. */
export function latencyScale(latencies: readonly number[]): number {
  const highest = Math.max(0, ...latencies);
  return LATENCY_SCALES.find((scale) => highest <= scale) ?? Math.ceil(highest / 10_000) * 10_000;
}

/** Consecutive runs of non-null values, as polyline point lists (a gap where the link was down). */
function segments(points: readonly (string | null)[]): string[] {
  const runs: string[][] = [[]];
  for (const point of points) {
    if (point === null) runs.push([]);
    else runs.at(-1)!.push(point);
  }
  return runs.filter((run) => run.length > 0).map((run) => run.join(" "));
}

/** Samples the status once a second (a demo-only timer) and draws the last minute. */
export function Chart(): ReactNode {
  const service = useWebSocketService();
  const [samples, setSamples] = useState<Sample[]>([]);
  useEffect(() => {
    const sample = (): void => {
      const { healthScore, latency, state } = service.getStatusSnapshot();
      const live = state === "connected" ? latency : null;
      setSamples((previous) => [...previous, { at: Date.now(), health: healthScore, latency: live }].slice(-WINDOW));
    };
    sample();
    const timer = setInterval(sample, 1_000);
    return () => clearInterval(timer);
  }, [service]);

  const scale = latencyScale(samples.map((s) => s.latency).filter((l): l is number => l !== null));
  // Newest sample at the right edge; one sample per second.
  const x = (index: number): number => MARGIN.left + PLOT_WIDTH - ((samples.length - 1 - index) / (WINDOW - 1)) * PLOT_WIDTH;
  const y = (fraction: number): number => MARGIN.top + (1 - Math.min(1, fraction)) * PLOT_HEIGHT;
  const healthPoints = samples.map((s, i) => `${x(i).toFixed(1)},${y(s.health / 100).toFixed(1)}`).join(" ");
  const latencyRuns = segments(
    samples.map((s, i) => (s.latency === null ? null : `${x(i).toFixed(1)},${y(s.latency / scale).toFixed(1)}`)),
  );
  const last = samples.at(-1);
  const ticks = [0, 0.5, 1];
  return (
    <figure className="chart-figure" data-samples={samples.length} data-latency-scale={scale}>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Health ${last?.health ?? 0} percent, latency ${last?.latency ?? "not measured"}${last?.latency == null ? "" : " ms"}`}
      >
        <rect x={MARGIN.left} y={MARGIN.top} width={PLOT_WIDTH} height={PLOT_HEIGHT} fill="#f6f8fa" />
        {ticks.map((fraction) => (
          <g key={fraction}>
            <line
              x1={MARGIN.left}
              x2={MARGIN.left + PLOT_WIDTH}
              y1={y(fraction)}
              y2={y(fraction)}
              stroke="#d0d7de"
              strokeDasharray={fraction === 0 ? undefined : "4 4"}
            />
            <text x={MARGIN.left - 4} y={y(fraction)} className="axis health-axis" textAnchor="end" dominantBaseline="middle" fill={HEALTH_COLOUR}>
              {Math.round(fraction * 100)}%
            </text>
            <text
              x={MARGIN.left + PLOT_WIDTH + 4}
              y={y(fraction)}
              className="axis latency-axis"
              textAnchor="start"
              dominantBaseline="middle"
              fill={LATENCY_COLOUR}
            >
              {Math.round(fraction * scale)} ms
            </text>
          </g>
        ))}
        <text x={MARGIN.left} y={HEIGHT - 4} className="axis" fill={AXIS_COLOUR}>
          −60 s
        </text>
        <text x={MARGIN.left + PLOT_WIDTH} y={HEIGHT - 4} className="axis" textAnchor="end" fill={AXIS_COLOUR}>
          now
        </text>
        <polyline points={healthPoints} fill="none" stroke={HEALTH_COLOUR} strokeWidth={2} />
        {latencyRuns.map((points, index) => (
          <polyline
            key={index}
            className="latency-line"
            points={points}
            fill="none"
            stroke={LATENCY_COLOUR}
            strokeWidth={2}
            strokeDasharray="6 3"
          />
        ))}
      </svg>
      <figcaption className="legend">
        <span>
          <span className="swatch" style={{ background: HEALTH_COLOUR }} />
          health, % (solid, left axis)
        </span>
        <span>
          <span className="swatch" style={{ background: LATENCY_COLOUR }} />
          latency while connected, ms (dashed, right axis; a gap while disconnected)
        </span>
      </figcaption>
    </figure>
  );
}
