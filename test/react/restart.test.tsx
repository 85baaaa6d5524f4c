// @vitest-environment happy-dom
import { render, waitFor } from "@testing-library/react";
import { useActorRef, useSelector } from "@xstate/react";
import { Activity, StrictMode, useEffect } from "react";
import { createActor } from "xstate";
import { describe, expect, it } from "vitest";
import { connectionMachine, createSocketActor, type ConnectionMachineInput } from "../../src/index.js";
import { labServer } from "./helpers.js";

// Issue 12 item 1: whatever starts, restarts or restores the actor, the socket and the chart
// agree within one handshake. Before the fix a restarted actor came back with no socket while
// the chart still said connecting (for the whole connectionTimeout) or connected (for good).

/** The machine as an app that owns it would use it: the socket actor provided, input given. */
const ownMachine = () => connectionMachine.provide({ actors: { socket: createSocketActor() } });

const CONFIG = { connectionTimeout: 10_000, baseDelay: 50, maxDelay: 200, heartbeatInterval: 300, heartbeatTimeout: 300 };

function Phone({ input, onState }: { input: ConnectionMachineInput; onState: (state: string) => void }) {
  const actor = useActorRef(ownMachine(), { input });
  const state = useSelector(actor, (snapshot) => (typeof snapshot.value === "string" ? snapshot.value : Object.keys(snapshot.value)[0]!));
  useEffect(() => {
    actor.send({ type: "connect" });
  }, [actor]);
  useEffect(() => {
    onState(state);
  }, [state, onState]);
  return <p data-state={state}>{state}</p>;
}

describe("a restart-safe chart", () => {
  it("under <StrictMode> (effects run, stop, run again): connected within one handshake, one socket on the server", async () => {
    const server = await labServer();
    const states: string[] = [];
    const view = render(
      <StrictMode>
        <Phone input={{ url: server.url, config: CONFIG }} onState={(state) => states.push(state)} />
      </StrictMode>,
    );
    const startedAt = Date.now();
    await waitFor(() => expect(view.container.querySelector("[data-state]")?.getAttribute("data-state")).toBe("connected"), {
      timeout: 5_000,
    });
    // Well inside the 10 s connectionTimeout the stale attempt used to wait out.
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    await waitFor(() => expect(server.openSockets()).toBe(1));
    view.unmount();
    await waitFor(() => expect(server.openSockets()).toBe(0));
  });

  it("hidden and shown again under <Activity>: connected again with a live socket, not a chart that only says so", async () => {
    const server = await labServer();
    const input = { url: server.url, config: CONFIG };
    const onState = () => {};
    const view = render(
      <Activity mode="visible">
        <Phone input={input} onState={onState} />
      </Activity>,
    );
    await waitFor(() => expect(server.openSockets()).toBe(1), { timeout: 5_000 });
    const handshakes = server.handshakes;
    view.rerender(
      <Activity mode="hidden">
        <Phone input={input} onState={onState} />
      </Activity>,
    );
    // Hidden: its effects are cleaned up, the actor stopped: the socket is closed.
    await waitFor(() => expect(server.openSockets()).toBe(0), { timeout: 5_000 });
    view.rerender(
      <Activity mode="visible">
        <Phone input={input} onState={onState} />
      </Activity>,
    );
    await waitFor(() => expect(server.openSockets()).toBe(1), { timeout: 5_000 });
    expect(server.handshakes).toBe(handshakes + 1);
    await waitFor(() => expect(view.container.querySelector("[data-state]")?.getAttribute("data-state")).toBe("connected"));
  });
});

describe("a persisted snapshot restored with createActor(machine, { snapshot })", () => {
  it("restored in connected: it says what happened, reconnects and holds a real socket again", async () => {
    const server = await labServer();
    const input = { url: server.url, config: CONFIG };
    const first = createActor(ownMachine(), { input });
    first.start();
    first.send({ type: "connect" });
    await waitFor(() => expect(first.getSnapshot().matches("connected")).toBe(true), { timeout: 5_000 });
    const persisted = first.getPersistedSnapshot();
    first.stop();
    await waitFor(() => expect(server.openSockets()).toBe(0));

    const restored = createActor(ownMachine(), { input, snapshot: persisted });
    const disconnected: string[] = [];
    restored.on("connection:disconnected", ({ reason }) => void disconnected.push(reason));
    restored.start();
    await waitFor(() => expect(server.openSockets()).toBe(1), { timeout: 5_000 });
    await waitFor(() => expect(restored.getSnapshot().matches("connected")).toBe(true));
    expect(disconnected).toEqual(["socket actor restarted"]);
    // The heartbeat goes over the new socket and is acked.
    const seq = restored.getSnapshot().context.heartbeatSeq;
    await waitFor(() => expect(restored.getSnapshot().context.heartbeatSeq).toBeGreaterThan(seq + 1), { timeout: 3_000 });
    expect(restored.getSnapshot().context.consecutiveFailures).toBe(0);
    restored.stop();
  });

  it("restored in connecting: a new handshake at once, not after the stale attempt's timeout", async () => {
    const server = await labServer();
    server.holdHandshakes("forever");
    const input = { url: server.url, config: CONFIG };
    const first = createActor(ownMachine(), { input });
    first.start();
    first.send({ type: "connect" });
    await server.waitForHandshakes(1);
    const persisted = first.getPersistedSnapshot();
    first.stop();
    server.holdHandshakes(null);
    server.releaseHandshakes();

    const restored = createActor(ownMachine(), { input, snapshot: persisted });
    restored.start();
    await waitFor(() => expect(restored.getSnapshot().matches("connected")).toBe(true), { timeout: 3_000 });
    restored.stop();
  });
});
