// @vitest-environment happy-dom
import { act, render, screen, waitFor } from "@testing-library/react";
import { useActorRef, useSelector } from "@xstate/react";
import { describe, expect, it } from "vitest";
import { connectionMachine, createSocketActor, type WebSocketService } from "../../src/index.js";
import { WebSocketProvider, useWebSocketSelector } from "../../src/react/index.js";
import { waitForState } from "../support/events.js";
import { counted, labServer, service, varyingLatencyServer } from "./helpers.js";

// Issue 12 item 3: @xstate/react as a first-class path, both ways, beside the package's own
// hooks. docs/react.md ("With @xstate/react") shows the same code.



const topLevel = (value: unknown) => (typeof value === "string" ? value : Object.keys(value as object)[0]!);

/** Resolves after `count` changes of the measured latency. */
function latencyChanges(target: WebSocketService, count: number): Promise<void> {
  return new Promise((resolve) => {
    let last = target.getStatus().latency;
    let seen = 0;
    const unsubscribe = target.subscribe(() => {
      const { latency } = target.getStatus();
      if (latency === null || latency === last) return;
      last = latency;
      if (++seen >= count) {
        unsubscribe();
        resolve();
      }
    });
  });
}

describe("@xstate/react next to the service: useSelector(service.actor, selector)", () => {
  it("reads the chart directly; re-renders exactly as often as the package's own selector hook", async () => {
    const server = await varyingLatencyServer();
    const client = service({ url: server.url, config: { heartbeatInterval: 60, heartbeatTimeout: 500 } });
    const counts = new Map<string, number>();
    function ByXstateReact() {
      const state = useSelector(client.actor, (snapshot) => topLevel(snapshot.value));
      return <span data-testid="xstate-react">{state}</span>;
    }
    function ByPackageHook() {
      return <span data-testid="package">{useWebSocketSelector((status) => status.state)}</span>;
    }
    function LatencyByXstateReact() {
      return <span>{useSelector(client.actor, (snapshot) => snapshot.context.latency) ?? "none"}</span>;
    }
    function LatencyByPackageHook() {
      return <span>{useWebSocketSelector((status) => status.latency) ?? "none"}</span>;
    }
    render(
      <WebSocketProvider service={client}>
        {counted("stateByXstateReact", counts, <ByXstateReact />)}
        {counted("stateByPackageHook", counts, <ByPackageHook />)}
        {counted("latencyByXstateReact", counts, <LatencyByXstateReact />)}
        {counted("latencyByPackageHook", counts, <LatencyByPackageHook />)}
      </WebSocketProvider>,
    );
    act(() => client.connect());
    await waitForState(client, "connected");
    await waitFor(() => expect(screen.getByTestId("xstate-react").textContent).toBe("connected"));
    await latencyChanges(client, 10);
    await waitFor(() => expect(counts.get("latencyByPackageHook")).toBeGreaterThanOrEqual(11));
    expect(counts.get("stateByXstateReact")).toBe(3);
    expect(counts.get("stateByPackageHook")).toBe(3);
    expect(Math.abs(counts.get("latencyByXstateReact")! - counts.get("latencyByPackageHook")!)).toBeLessThanOrEqual(1);
    console.log("[xstate-react] commits over connect + 10 latency changes:", Object.fromEntries(counts));
  });
});

describe("@xstate/react for an app that owns the machine: useActorRef(connectionMachine.provide(...), { input })", () => {
  it("connects, and sends and reads through the actor", async () => {
    const server = await labServer();
    function Phone() {
      const actor = useActorRef(connectionMachine.provide({ actors: { socket: createSocketActor() } }), {
        input: { url: server.url },
      });
      const state = useSelector(actor, (snapshot) => topLevel(snapshot.value));
      const online = useSelector(actor, (snapshot) => snapshot.hasTag("connected"));
      return (
        <>
          <p data-testid="state">{state}</p>
          <p data-testid="online">{String(online)}</p>
          <button onClick={() => actor.send({ type: "connect" })}>Connect</button>
        </>
      );
    }
    const view = render(<Phone />);
    expect(screen.getByTestId("state").textContent).toBe("idle");
    act(() => screen.getByText("Connect").click());
    await waitFor(() => expect(screen.getByTestId("state").textContent).toBe("connected"), { timeout: 5_000 });
    expect(screen.getByTestId("online").textContent).toBe("true");
    await waitFor(() => expect(server.openSockets()).toBe(1));
    view.unmount();
    await waitFor(() => expect(server.openSockets()).toBe(0));
  });
});
