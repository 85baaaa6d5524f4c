import { type ReactNode, useEffect, useState } from "react";
import { currentStatus, useWebSocketService } from "../src/react/index.js";

interface Sample {
  at: number;
  health: number;
  latency: number | null;
}

const WINDOW = 60;
const WIDTH = 480;
const HEIGHT = 150;
const PAD = 6;
const HEALTH_COLOUR = "#1a7f37";
const LATENCY_COLOUR = "#0969da";

/** Samples the status once a second (a demo-only timer) and draws the last minute. */
export function Chart(): ReactNode {
  const service = useWebSocketService();
  const [samples, setSamples] = useState<Sample[]>([]);
  useEffect(() => {
    const sample = (): void => {
      const { healthScore, latency } = currentStatus(service);
      setSamples((previous) => [...previous, { at: Date.now(), health: healthScore, latency }].slice(-WINDOW));
    };
    sample();
    const timer = setInterval(sample, 1_000);
    return () => clearInterval(timer);
  }, [service]);

  const latencies = samples.map((s) => s.latency).filter((l): l is number => l !== null);
  const latencyMax = Math.max(20, ...latencies) * 1.2;
  // Newest sample at the right edge; one sample per second.
  const x = (index: number): number => WIDTH - ((samples.length - 1 - index) / (WINDOW - 1)) * WIDTH;
  const y = (fraction: number): number => PAD + (1 - fraction) * (HEIGHT - 2 * PAD);
  const healthPoints = samples.map((s, i) => `${x(i)},${y(s.health / 100)}`).join(" ");
  const latencyPoints = samples
    .map((s, i) => (s.latency === null ? null : `${x(i)},${y(s.latency / latencyMax)}`))
    .filter(Boolean)
    .join(" ");
  const last = samples.at(-1);
  return (
    <figure style={{ margin: 0 }} data-samples={samples.length}>
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Health ${last?.health ?? 0} percent, latency ${last?.latency ?? "not measured"} ms`}
      >
        <rect width={WIDTH} height={HEIGHT} fill="#f6f8fa" />
        {[0.25, 0.5, 0.75].map((f) => (
          <line key={f} x1={0} x2={WIDTH} y1={HEIGHT * f} y2={HEIGHT * f} stroke="#d0d7de" strokeDasharray="4 4" />
        ))}
        <polyline points={healthPoints} fill="none" stroke={HEALTH_COLOUR} strokeWidth={2} />
        <polyline points={latencyPoints} fill="none" stroke={LATENCY_COLOUR} strokeWidth={2} strokeDasharray="6 3" />
      </svg>
      <figcaption className="legend">
        <span>
          <span className="swatch" style={{ background: HEALTH_COLOUR }} />
          health 0–100 % (solid)
        </span>
        <span>
          <span className="swatch" style={{ background: LATENCY_COLOUR }} />
          latency 0–{Math.round(latencyMax)} ms (dashed)
        </span>
      </figcaption>
    </figure>
  );
}
