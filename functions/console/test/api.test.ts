import { test } from "node:test";
import assert from "node:assert/strict";
import { Api, ApiError, errorOf, path, type TokenStore } from "../src/api";

class Memory implements TokenStore {
  map = new Map<string, string>();
  getItem(k: string) { return this.map.get(k) ?? null; }
  setItem(k: string, v: string) { this.map.set(k, v); }
  removeItem(k: string) { this.map.delete(k); }
}

interface Sent { url: string; init: RequestInit }

function fake(status: number, body: unknown, sent: Sent[]) {
  return (url: string, init: RequestInit) => {
    sent.push({ url, init });
    return Promise.resolve(new Response(body === undefined ? "" : JSON.stringify(body), { status }));
  };
}

test("sign-in keeps the token only after the API accepts it, and never puts it in a URL", async () => {
  const store = new Memory();
  const sent: Sent[] = [];
  const api = new Api(store, fake(200, { groups: [] }, sent));
  await api.signIn("  s3cret-token ");
  assert.equal(api.signedIn, true);
  assert.equal(sent[0]?.url, "/api/v1/groups");
  assert.deepEqual(sent[0]?.init.headers, { authorization: "Bearer s3cret-token" });
  assert.equal(sent[0]?.init.credentials, "omit");
  assert.ok(!sent.some((s) => s.url.includes("s3cret")));
});

test("a refused token is not kept", async () => {
  const store = new Memory();
  const api = new Api(store, fake(401, { error: "missing or invalid admin bearer token" }, []));
  await assert.rejects(api.signIn("wrong"), (e: unknown) => e instanceof ApiError && e.status === 401);
  assert.equal(api.signedIn, false);
  await assert.rejects(api.signIn("   "), ApiError);
});

test("a 401 later ends the session", async () => {
  const store = new Memory();
  store.setItem("edgepack.admin_token", "old");
  const api = new Api(store, fake(401, { error: "no" }, []));
  await assert.rejects(api.get("/groups"));
  assert.equal(api.signedIn, false);
});

test("a 400 names the field and what is allowed", async () => {
  const store = new Memory();
  store.setItem("edgepack.admin_token", "t");
  const sent: Sent[] = [];
  const api = new Api(store, fake(400, { error: "invalid value for `segment_count`: allowed an integer from 2 to 100", field: "segment_count", allowed: "an integer from 2 to 100" }, sent));
  await assert.rejects(api.post("/groups/g/channels/c/endpoints", { segment_count: 1 }), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.status, 400);
    assert.equal(e.field, "segment_count");
    assert.equal(e.allowed, "an integer from 2 to 100");
    return true;
  });
  assert.equal(sent[0]?.init.method, "POST");
  assert.equal(sent[0]?.init.body, '{"segment_count":1}');
  assert.deepEqual(sent[0]?.init.headers, { authorization: "Bearer t", "content-type": "application/json" });
});

test("answers that are not the API's JSON still give an error", () => {
  const e = errorOf(502, null);
  assert.equal(e.message, "HTTP 502");
  assert.equal(e.field, undefined);
  assert.equal(errorOf(400, { error: 3, field: ["x"] }).field, undefined);
});

test("names in paths are encoded", () => {
  assert.equal(path("groups", "a b", "channels", "c/d"), "/groups/a%20b/channels/c%2Fd");
});
