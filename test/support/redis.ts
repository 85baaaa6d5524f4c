import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unusedPort } from "../../lab/tcpProxy.js";

/** A private `redis-server` on 127.0.0.1, started by {@link startRedis}. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`, for `createClient({ url })`. */
  readonly url: string;
  /** Its working directory (removed by `stop()`). */
  readonly dir: string;
  readonly pid: number;
  /** Kills the server, waits for it to exit and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** The executable. @default process.env.REDIS_SERVER ?? "redis-server" */
  binary?: string;
  /** How long to wait for "Ready to accept connections" (ms). @default 10000 */
  timeout?: number;
}

const READY = "Ready to accept connections";
/** Another process may take the port between unusedPort() and redis binding it. */
const PORT_ATTEMPTS = 3;

/**
 * Starts a throwaway `redis-server` for a test: a free loopback port, bound to 127.0.0.1
 * only, protected mode on, a temporary directory, nothing written to disk. Resolves once the
 * server reports it accepts connections.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? process.env.REDIS_SERVER ?? "redis-server";
  const timeout = options.timeout ?? 10_000;
  const dir = await mkdtemp(join(tmpdir(), "softphone-redis-"));
  let lastError: unknown;
  try {
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt += 1) {
      const port = await unusedPort();
      try {
        return await launch(binary, port, dir, timeout);
      } catch (error) {
        lastError = error;
        if (!(error instanceof PortTakenError)) throw error;
      }
    }
    throw lastError;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

class PortTakenError extends Error {}

function launch(binary: string, port: number, dir: string, timeout: number): Promise<RedisServer> {
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--protected-mode", "yes",
    "--dir", dir,
    "--save", "",
    "--appendonly", "no",
    "--daemonize", "no",
    "--logfile", "",
    "--loglevel", "notice",
  ];
  const child = spawn(binary, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  // A test runner that dies before stop() must not leave a server behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  let output = "";

  return new Promise<RedisServer>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      process.off("exit", killOnExit);
      child.kill("SIGKILL");
      void exited.then(() => reject(error));
    };
    const timer = setTimeout(
      () => fail(new Error(`redis-server did not report "${READY}" within ${timeout} ms:\n${output}`)),
      timeout,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Address already in use/.test(output)) {
        fail(new PortTakenError(`port ${port} taken`));
        return;
      }
      if (!output.includes(READY) || settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      // Keep draining its output so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
      resolve(handle(child, port, dir, exited, killOnExit));
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", (error: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      process.off("exit", killOnExit);
      reject(
        error.code === "ENOENT"
          ? new Error(
              `"${binary}" not found: the cluster tests need a Redis server. On Debian/Ubuntu: ` +
                "apt-get install redis-server (or set REDIS_SERVER to its path)",
            )
          : error,
      );
    });
    child.once("exit", (code, signal) => {
      if (/Address already in use/.test(output)) {
        fail(new PortTakenError(`port ${port} taken`));
        return;
      }
      fail(new Error(`redis-server exited (code ${code}, signal ${signal}) before it was ready:\n${output}`));
    });
  });
}

function handle(
  child: ChildProcess,
  port: number,
  dir: string,
  exited: Promise<void>,
  killOnExit: () => void,
): RedisServer {
  let stopping: Promise<void> | null = null;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    pid: child.pid!,
    stop() {
      stopping ??= (async () => {
        process.off("exit", killOnExit);
        // Nothing to save, so no reason to wait for a graceful shutdown.
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await exited;
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
