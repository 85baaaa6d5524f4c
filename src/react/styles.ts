/**
 * The colours of the stylesheet, on `.ws-status` as custom properties: a theme overrides
 * only these. Each one reaches at least 4.5:1 (WCAG AA for text) on white and on #f6f8fa;
 * `test/react/contrast.test.ts` computes it, and checks the theming example in
 * `docs/react.md` against them.
 */
export const webSocketStatusColors = Object.freeze({
  /** connected */
  "--ws-status-ok": "#1a7f37",
  /** connecting, backingOff, degraded/poor connections, connected while reported offline */
  "--ws-status-busy": "#9a6700",
  /** authRequired, exhausted */
  "--ws-status-error": "#cf222e",
  /** idle; also the terms of the details */
  "--ws-status-idle": "#57606a",
});

const colorDeclarations = Object.entries(webSocketStatusColors)
  .map(([name, value]) => `  ${name}: ${value};`)
  .join("\n");

/**
 * An optional stylesheet for `<WebSocketStatus>`: inject it once (a `<style>` element, your
 * bundler's CSS, or the component's `injectStyles` prop). Colours are CSS custom properties
 * on `.ws-status`, so a theme overrides only those. See `docs/react.md`.
 *
 * Layout: the root wraps; the details are a list of term/value rows that put the value under
 * its term when the row is narrower than both (never one letter per line), and long values
 * wrap between words.
 */
export const webSocketStatusStyles = `
.ws-status {
${colorDeclarations}
  --ws-status-color: var(--ws-status-idle);
  display: inline-flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 0.25em 0.5em;
  max-width: 100%;
  min-width: 0;
  box-sizing: border-box;
  font: inherit;
  line-height: 1.4;
}
.ws-status[data-state="connected"] { --ws-status-color: var(--ws-status-ok); }
.ws-status[data-state="connected"][data-quality="degraded"],
.ws-status[data-state="connected"][data-quality="poor"],
.ws-status[data-state="connected"][data-network="offline"],
.ws-status[data-state="connecting"],
.ws-status[data-state="backingOff"] { --ws-status-color: var(--ws-status-busy); }
.ws-status[data-state="authRequired"],
.ws-status[data-state="exhausted"] { --ws-status-color: var(--ws-status-error); }
.ws-status__dot {
  flex: none;
  box-sizing: border-box;
  width: 0.75em;
  height: 0.75em;
  border-radius: 50%;
  border: 2px solid var(--ws-status-color);
  background: var(--ws-status-color);
}
.ws-status[data-state="idle"] .ws-status__dot { background: transparent; }
.ws-status[data-state="connecting"] .ws-status__dot,
.ws-status[data-state="backingOff"] .ws-status__dot { background: transparent; border-style: dashed; }
.ws-status[data-state="authRequired"] .ws-status__dot,
.ws-status[data-state="exhausted"] .ws-status__dot { border-radius: 2px; }
.ws-status__label { font-weight: 600; overflow-wrap: break-word; min-width: 0; }
.ws-status__call { font-size: 0.85em; padding: 0 0.4em; border-radius: 0.6em; border: 1px solid currentColor; }
.ws-status__server { overflow-wrap: anywhere; }
.ws-status__health { font-variant-numeric: tabular-nums; }
.ws-status__hint { flex-basis: 100%; margin: 0; overflow-wrap: break-word; }
.ws-status__details {
  flex-basis: 100%;
  display: grid;
  gap: 0.125em;
  margin: 0;
  min-width: 0;
}
.ws-status__item { display: flex; flex-wrap: wrap; gap: 0 0.75em; min-width: 0; }
.ws-status__item dt { flex: 0 0 8.5em; color: var(--ws-status-idle); }
.ws-status__item dd {
  flex: 1 1 10em;
  min-width: 0;
  margin: 0;
  font-variant-numeric: tabular-nums;
  overflow-wrap: break-word;
}
.ws-status__reconnect {
  font: inherit;
  padding: 0.125em 0.75em;
  border: 1px solid currentColor;
  border-radius: 4px;
  background: transparent;
  color: inherit;
  cursor: pointer;
}
.ws-status__reconnect:focus-visible { outline: 3px solid var(--ws-status-color); outline-offset: 2px; }
.ws-status__reconnect[aria-busy="true"] { cursor: progress; opacity: 0.75; }
`;
