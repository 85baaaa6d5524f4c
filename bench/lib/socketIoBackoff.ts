import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

/** socket.io-client's `Backoff` (contrib/backo2.js), the object its `Manager` keeps as `manager.backoff`. */
export interface SocketIoBackoff {
  attempts: number;
  duration(): number;
  reset(): void;
}

type BackoffConstructor = new (options: { min: number; max: number; jitter: number }) => SocketIoBackoff;

let loaded: BackoffConstructor | null = null;

/**
 * Loads the real backoff code of the installed socket.io-client. The file is not exported
 * from the package root, so it is imported by its path inside the package (no copy).
 */
export async function loadSocketIoBackoff(): Promise<BackoffConstructor> {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("socket.io-client/package.json"));
  const file = join(root, "build", "esm", "contrib", "backo2.js");
  const module = (await import(pathToFileURL(file).href)) as { Backoff: BackoffConstructor };
  loaded = module.Backoff;
  return loaded;
}

/** The Manager's defaults: reconnectionDelay 1000, reconnectionDelayMax 5000, randomizationFactor 0.5. */
export const SOCKET_IO_DEFAULTS = { min: 1000, max: 5000, jitter: 0.5 } as const;
