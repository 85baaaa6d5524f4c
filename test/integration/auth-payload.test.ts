import { describe, expect, it } from "vitest";
import { io } from "socket.io-client";
import { waitForEvent, waitForState } from "../support/events.js";
import { FAST_RETRY, integrationRig } from "../support/integration.js";

// Issue 10 items 3 and 4: handshake payloads without a token, and what the server said when it
// refused one.

const { cleanup, service, startServer } = integrationRig();

/** A server that records every handshake's auth payload and refuses what `refuse` says. */
async function payloadServer(refuse: (auth: Record<string, unknown>) => { message: string; data?: unknown } | null = () => null) {
  const payloads: Record<string, unknown>[] = [];
  const server = await startServer();
  server.io.use((socket, next) => {
    const auth = { ...(socket.handshake.auth as Record<string, unknown>) };
    payloads.push(auth);
    const refusal = refuse(auth);
    if (!refusal) return next();
    const error = new Error(refusal.message) as Error & { data?: unknown };
    error.data = refusal.data;
    next(error);
  });
  return { server, payloads };
}

describe("auth payloads without a token", () => {
  it("auth: { sessionId } handshakes with exactly that payload, as io({ auth }) does", async () => {
    const { server, payloads } = await payloadServer();
    const svc = service({ url: server.url, auth: { sessionId: "s-42", device: "desk" }, config: FAST_RETRY });
    svc.connect();
    await waitForState(svc, "connected");
    const plain = cleanup.add(io(server.url, { forceNew: true, auth: { sessionId: "s-42", device: "desk" } }), (socket) =>
      socket.disconnect(),
    );
    await new Promise<void>((resolve) => plain.once("connect", () => resolve()));
    expect(payloads).toEqual([
      { sessionId: "s-42", device: "desk" },
      { sessionId: "s-42", device: "desk" },
    ]);
  });

  it("a provider may return a whole payload, with or without a token; the token in it stays out of everything printed", async () => {
    const answers: unknown[] = [{ sessionId: "p-1" }, { token: "provided-token-7781", tenant: "acme" }];
    const { server, payloads } = await payloadServer((auth) =>
      auth.token === undefined ? { message: "unauthorized", data: { code: "NO_TOKEN" } } : null,
    );
    const svc = service({ url: server.url, auth: () => answers.shift() as string, config: FAST_RETRY });
    svc.connect();
    await waitForState(svc, "connected");
    expect(payloads).toEqual([{ sessionId: "p-1" }, { token: "provided-token-7781", tenant: "acme" }]);
    expect(JSON.stringify(svc.getStatus())).not.toContain("provided-token-7781");
  });

  it("auth: { token: null } still waits for setAuthToken (a token is expected), with the other fields kept", async () => {
    const { server, payloads } = await payloadServer();
    const svc = service({ url: server.url, auth: { token: null, tenant: "acme" }, config: FAST_RETRY });
    svc.connect();
    await waitForState(svc, "authRequired");
    expect(payloads).toEqual([]);
    svc.setAuthToken("set-later-0001");
    await waitForState(svc, "connected");
    expect(payloads).toEqual([{ tenant: "acme", token: "set-later-0001" }]);
  });
});

describe("what the server said", () => {
  it("connection:failed carries the refusal's data as plain data", async () => {
    const { server } = await payloadServer(() => ({
      message: "server busy",
      data: { code: "BUSY", retryAfter: 100, detail: { region: "eu", nodes: [1, 2] } },
    }));
    const svc = service({ url: server.url, config: FAST_RETRY });
    const failed = waitForEvent(svc, "connection:failed");
    svc.connect();
    expect(await failed).toEqual({
      attempt: 1,
      error: { message: "server busy", data: { code: "BUSY", retryAfter: 100, detail: { region: "eu", nodes: [1, 2] } } },
      server: expect.any(String),
    });
    expect(svc.getStatus().lastError?.data).toEqual({ code: "BUSY", retryAfter: 100, detail: { region: "eu", nodes: [1, 2] } });
  });

  it("connection:auth_failed tells 'account disabled' from a bad token through data, the held token redacted", async () => {
    const { server } = await payloadServer((auth) => ({
      message: "unauthorized",
      data: { reason: "account_disabled", echoed: `token ${String(auth.token)}` },
    }));
    const svc = service({ url: server.url, auth: { token: "held-token-55555" }, config: FAST_RETRY });
    const failed = waitForEvent(svc, "connection:auth_failed");
    svc.connect();
    expect(await failed).toEqual({
      error: { message: "unauthorized", data: { reason: "account_disabled", echoed: "token [redacted]" } },
    });
  });
});
