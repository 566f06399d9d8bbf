import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, client, ok, openEvents, submitToken, useAuth } from "../api/client";

const TOKEN = "the-right-token-0123";

/** A server that wants TOKEN as a Bearer token, like one started with NETCANVAS_TOKEN. */
function server(): ReturnType<typeof vi.fn> {
  return vi.fn(async (request: Request) => {
    if (request.headers.get("authorization") !== `Bearer ${TOKEN}`) {
      return new Response(JSON.stringify({ detail: "token" }), { status: 401 });
    }
    const body = request.method === "POST" ? await request.json() : null;
    return new Response(JSON.stringify(body ?? { ok: true }), { headers: { "content-type": "application/json" } });
  });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("the token", () => {
  beforeEach(() => {
    localStorage.clear();
    useAuth.setState({ asking: false, refused: false });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("is asked for once on a 401 by every waiting request, then sent with each of them", async () => {
    const fetch = server();
    vi.stubGlobal("fetch", fetch);
    const first = ok(client.GET("/api/catalog"));
    const second = ok(client.GET("/api/runs"));
    await settle();
    expect(useAuth.getState()).toEqual({ asking: true, refused: false });
    submitToken(`  ${TOKEN} `);
    expect(await first).toEqual({ ok: true });
    expect(await second).toEqual({ ok: true });
    expect(fetch).toHaveBeenCalledTimes(4);
    expect(localStorage.getItem("netcanvas.token")).toBe(TOKEN);
    expect(useAuth.getState().asking).toBe(false);
  });

  it("asks again, saying so, when the stored token is refused", async () => {
    localStorage.setItem("netcanvas.token", "an-old-wrong-token");
    vi.stubGlobal("fetch", server());
    const call = ok(client.GET("/api/runs"));
    await settle();
    expect(useAuth.getState()).toEqual({ asking: true, refused: true });
    submitToken(TOKEN);
    await expect(call).resolves.toEqual({ ok: true });
  });

  it("sends a request's body again after the dialog", async () => {
    vi.stubGlobal("fetch", server());
    const body = { format: "netcanvas.graph/2" as const, name: "g", nodes: [], edges: [] };
    const saved = ok(client.POST("/api/graphs/validate", { body }));
    await settle();
    submitToken(TOKEN);
    await expect(saved).resolves.toEqual(body);
  });

  it("raises ApiError with the server's detail on any other failure", async () => {
    localStorage.setItem("netcanvas.token", TOKEN);
    const detail = [{ loc: ["body", "nodes"], msg: "no such layer" }];
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ detail }), { status: 422 })));
    const error = await ok(client.GET("/api/runs")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 422, detail, message: "no such layer" });
  });

  it("travels to the websocket as a base64url subprotocol next to 'netcanvas'", () => {
    const opened: unknown[][] = [];
    vi.stubGlobal("WebSocket", function (this: unknown, ...args: unknown[]) {
      opened.push(args);
    });
    openEvents("r1", 0);
    localStorage.setItem("netcanvas.token", "a+b/c?~");
    openEvents("r1", 5);
    expect(opened[0][1]).toEqual([]);
    const [protocol, bearer] = opened[1][1] as string[];
    expect(protocol).toBe("netcanvas");
    const encoded = bearer.replace(/^netcanvas\.bearer\./, "");
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding: a valid subprotocol token
    expect(atob(encoded.replace(/-/g, "+").replace(/_/g, "/"))).toBe("a+b/c?~");
  });
});
