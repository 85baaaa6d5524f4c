/**
 * The one adapter between this module and the three message ports it runs on:
 *
 * - the DOM `MessagePort` (windows, dedicated workers, `SharedWorker.port`): `addEventListener`,
 *   a `MessageEvent` whose `data` is the message, `start()`;
 * - Node's `worker_threads` `MessagePort`: the same `addEventListener` shape, plus a `close`
 *   event when the other side closes or its thread ends;
 * - Electron's `MessagePortMain`: an `EventEmitter` (`on("message", ({ data }) => …)`,
 *   `on("close")`) that delivers nothing before `start()`.
 *
 * Only the shape is used; `electron` is never imported.
 */

/** A listener as the ports call it: DOM and Node pass a `MessageEvent`, Electron `{ data, ports }`. */
type PortListener = (event: { data?: unknown }) => void;

/**
 * A listener as the ports' own types accept it: the DOM's `EventListener` takes an `Event`,
 * Electron's a `MessageEvent` of its own; both are objects.
 */
type AnyPortListener = (event: object) => void;

/**
 * A message port of any of the three kinds: the DOM `MessagePort`, Node's `worker_threads`
 * `MessagePort`, or Electron's `MessagePortMain`. Only the members used are described; the
 * methods are written as methods so that each runtime's own (overloaded) signatures fit.
 */
export interface MessagePortLike {
  postMessage(message: unknown): void;
  close(): void;
  start?(): void;
  addEventListener?(type: "message" | "close", listener: AnyPortListener): void;
  removeEventListener?(type: "message" | "close", listener: AnyPortListener): void;
  on?(type: "message" | "close", listener: AnyPortListener): unknown;
  removeListener?(type: "message" | "close", listener: AnyPortListener): unknown;
}

/** What the host and the remote see of a port. */
export interface PortLink {
  /** Posts one message; throws what the port throws (a `DataCloneError`, a closed port's error). */
  post(message: unknown): void;
  /** Removes this link's listeners and closes the port; later calls do nothing. */
  close(): void;
  readonly closed: boolean;
}

/** Throws a `TypeError` naming `name` unless `port` has the shape of a message port. */
export function checkPort(port: unknown, name: string): asserts port is MessagePortLike {
  const candidate = port as Partial<MessagePortLike> | null;
  if (
    candidate === null ||
    typeof candidate !== "object" ||
    typeof candidate.postMessage !== "function" ||
    typeof candidate.close !== "function" ||
    (typeof candidate.addEventListener !== "function" && typeof candidate.on !== "function")
  ) {
    throw new TypeError(
      `${name} must be a message port (DOM MessagePort, worker_threads MessagePort or Electron MessagePortMain), got ${
        candidate === null ? "null" : typeof candidate === "object" ? "an object without postMessage/close/addEventListener/on" : `a ${typeof candidate}`
      }`,
    );
  }
}

/**
 * Listens on `port` and starts it. `onMessage` gets each message's data; `onClose` is called
 * once if the port reports that it closed (Node, Electron, and browsers that implement the
 * `close` event), never after `close()` of the link itself.
 */
export function linkPort(port: MessagePortLike, onMessage: (data: unknown) => void, onClose: () => void): PortLink {
  let closed = false;
  const message: PortListener = (event) => {
    if (!closed) onMessage(event?.data);
  };
  const close: PortListener = () => {
    if (closed) return;
    closed = true;
    detach();
    onClose();
  };
  // Node's port has both shapes: addEventListener first, whose event always carries `data`.
  const dom = typeof port.addEventListener === "function";
  const detach = (): void => {
    if (dom) {
      port.removeEventListener?.("message", message as AnyPortListener);
      port.removeEventListener?.("close", close as AnyPortListener);
    } else {
      port.removeListener?.("message", message as AnyPortListener);
      port.removeListener?.("close", close as AnyPortListener);
    }
  };
  if (dom) {
    port.addEventListener!("message", message as AnyPortListener);
    port.addEventListener!("close", close as AnyPortListener);
  } else {
    port.on!("message", message as AnyPortListener);
    port.on!("close", close as AnyPortListener);
  }
  port.start?.();
  return {
    post(data) {
      if (closed) throw new Error("the port is closed");
      port.postMessage(data);
    },
    close() {
      if (closed) return;
      closed = true;
      detach();
      try {
        port.close();
      } catch {
        // Already closed by the other side: nothing left to release.
      }
    },
    get closed() {
      return closed;
    },
  };
}
