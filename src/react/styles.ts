/**
 * An optional stylesheet for `<WebSocketStatus>`: inject it once (a `<style>` element, your
 * bundler's CSS, or the component's `injectStyles` prop). Colours are CSS custom properties
 * on `.ws-status`, so a theme overrides only those. See `docs/react.md`.
 */
export const webSocketStatusStyles = `
.ws-status {
  --ws-status-ok: #1a7f37;
  --ws-status-busy: #9a6700;
  --ws-status-error: #cf222e;
  --ws-status-idle: #6e7781;
  --ws-status-color: var(--ws-status-idle);
  display: inline-flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 0.25em 0.5em;
  font: inherit;
  line-height: 1.4;
}
.ws-status[data-state="connected"] { --ws-status-color: var(--ws-status-ok); }
.ws-status[data-state="connected"][data-quality="degraded"],
.ws-status[data-state="connected"][data-quality="poor"],
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
.ws-status__label { font-weight: 600; }
.ws-status__health { font-variant-numeric: tabular-nums; }
.ws-status__details {
  flex-basis: 100%;
  display: grid;
  grid-template-columns: max-content 1fr;
  gap: 0.125em 0.75em;
  margin: 0;
}
.ws-status__details dt { color: var(--ws-status-idle); }
.ws-status__details dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
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
