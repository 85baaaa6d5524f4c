import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { connectToService, createWebSocketService, exposeService, type RemoteService } from "../../src/index.js";

/**
 * A thread for the shared-connection tests: a remote (`role: "remote"`) on the port it is
 * given, or a host (`role: "host"`) that creates the service and serves every port sent to it.
 * The test drives it with small commands over `parentPort`; this is the test's own plumbing,
 * not the protocol under test.
 */
export type WorkerData =
  | { role: "remote"; port: MessagePort; heartbeatTimeout?: number }
  | { role: "host"; url: string; heartbeatInterval?: number; heartbeatTimeout?: number };

export type Command =
  | { id: number; op: "request"; event: string; args: unknown[] }
  | { id: number; op: "send"; event: string; args: unknown[] }
  | { id: number; op: "sendFunction" }
  | { id: number; op: "listen"; event: string }
  | { id: number; op: "status" }
  | { id: number; op: "reattach"; port: MessagePort }
  | { id: number; op: "dispose" }
  | { id: number; op: "expose"; port: MessagePort };

export type Report =
  | { type: "reply"; id: number; ok: true; value: unknown }
  | { type: "reply"; id: number; ok: false; error: { name: string; message: string } }
  | { type: "event"; name: string; payload: unknown }
  | { type: "status"; state: string; host: string }
  | { type: "ready" };

const data = workerData as WorkerData;
const port = parentPort!;
const report = (message: Report): void => port.postMessage(message);

let remote: RemoteService | null = null;
let handle: ((command: Command) => Promise<unknown> | unknown) | null = null;

if (data.role === "remote") {
  const created = connectToService(data.port, { heartbeatTimeout: data.heartbeatTimeout });
  remote = created;
  let last = "";
  created.subscribe(() => {
    const { state, host } = created.getStatusSnapshot();
    if (`${state}/${host}` === last) return;
    last = `${state}/${host}`;
    report({ type: "status", state, host });
  });
  handle = (command) => {
    switch (command.op) {
      case "request":
        return created.request(command.event, ...command.args);
      case "send":
        return created.send(command.event, ...command.args);
      case "sendFunction":
        return created.send("bad", { onClick: () => {} });
      case "listen":
        created.on(command.event as "message", (payload) => report({ type: "event", name: command.event, payload }));
        return undefined;
      case "status":
        return created.getStatus();
      case "reattach":
        return created.reattach(command.port);
      case "dispose":
        return created.dispose();
      default:
        throw new Error(`a remote cannot ${command.op}`);
    }
  };
} else {
  const service = createWebSocketService({ url: data.url, autoConnect: true });
  handle = (command) => {
    if (command.op === "expose") {
      exposeService(service, command.port, { heartbeatInterval: data.heartbeatInterval, heartbeatTimeout: data.heartbeatTimeout });
      return undefined;
    }
    if (command.op === "status") return service.getStatus();
    throw new Error(`a host cannot ${command.op}`);
  };
}

port.on("message", (command: Command) => {
  Promise.resolve()
    .then(() => handle!(command))
    .then(
      (value) => report({ type: "reply", id: command.id, ok: true, value: value ?? null }),
      (error: unknown) =>
        report({
          type: "reply",
          id: command.id,
          ok: false,
          error: error instanceof Error ? { name: error.name, message: error.message } : { name: "Error", message: String(error) },
        }),
    );
});
report({ type: "ready" });
void remote;
