import { useActorRef, useSelector } from "@xstate/react";
import { StrictMode, useEffect } from "react";
import { createRoot } from "react-dom/client";
import { connectionMachine, createSocketActor } from "../src/index.js";
import type { ServerState } from "./App.js";

/**
 * The machine as an app that owns it embeds it: `useActorRef` under `<StrictMode>`, `connect`
 * sent from an effect. StrictMode runs that effect, stops the actor and runs it again; the
 * restart-safe chart opens a new socket at once instead of waiting out the connect timeout.
 * (The e2e test opens this page; the main demo uses the service instead.)
 */
function Phone({ url, token }: { url: string; token: string }) {
  const actor = useActorRef(
    connectionMachine.provide({ actors: { socket: createSocketActor({ credentials: { token } }) } }),
    { input: { url, config: { connectionTimeout: 30_000 } } },
  );
  const state = useSelector(actor, (snapshot) =>
    typeof snapshot.value === "string" ? snapshot.value : Object.keys(snapshot.value)[0],
  );
  useEffect(() => {
    actor.send({ type: "connect" });
  }, [actor]);
  return (
    <p id="phone" data-state={state}>
      {state}
    </p>
  );
}

async function boot(): Promise<void> {
  const initial = (await (await fetch("/api/state")).json()) as ServerState;
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <Phone url={initial.socketUrl} token={initial.token} />
    </StrictMode>,
  );
}

boot().catch((error: unknown) => {
  document.getElementById("root")!.textContent = `The page could not start: ${String(error)}`;
});
