import assert from "node:assert/strict";
import {
  Fields,
  FutureIncomingResponse,
  IncomingRequest,
  OutgoingBody,
  OutgoingResponse,
  toResponse,
} from "./http_types.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const tag = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { tag: string }).tag;
  }
  return "ok";
};

Deno.test("Fields validates names and values, refuses forbidden headers and is immutable once attached", () => {
  const f = Fields.fromList([["Content-Type", enc("text/plain")]]);
  assert.deepEqual(f.get("content-type"), [enc("text/plain")]);
  assert.equal(tag(() => f.append("bad name", enc("x"))), "invalid-syntax");
  assert.equal(tag(() => f.append("x-a", enc("a\r\nb"))), "invalid-syntax");
  assert.equal(tag(() => f.set("Connection", [enc("close")])), "forbidden");
  const res = new OutgoingResponse(f);
  assert.equal(tag(() => res.headers().append("x-late", enc("1"))), "immutable");
  assert.equal(tag(() => f.delete("content-type")), "immutable");
  assert.equal(f.clone().has("content-type"), true);
});

Deno.test("toResponse() sends a finished body as bytes and an unfinished one as a stream", async () => {
  const res = new OutgoingResponse(Fields.fromList([["x-a", enc("1")]]));
  res.setStatusCode(201);
  const body = res.body();
  const out = body.write();
  out.write(enc("hel"));
  out.write(enc("lo"));
  OutgoingBody.finish(body);
  const r = toResponse({ tag: "ok", val: res });
  assert.equal(r.status, 201);
  assert.equal(r.headers.get("x-a"), "1");
  assert.equal(await r.text(), "hello");

  const streaming = new OutgoingResponse(new Fields());
  const sb = streaming.body();
  const so = sb.write();
  so.write(enc("first,"));
  const sr = toResponse({ tag: "ok", val: streaming });
  so.write(enc("second"));
  OutgoingBody.finish(sb);
  assert.equal(await sr.text(), "first,second");

  const err = toResponse({ tag: "err", val: { tag: "internal-error", val: "boom" } });
  assert.equal(err.status, 500);
  assert.match(await err.text(), /internal-error: boom/);
});

Deno.test("IncomingRequest shows a Request to the guest: method, path, authority, headers and body", async () => {
  const req = new IncomingRequest(
    new Request("http://pod:8080/a/b?q=1", { method: "POST", headers: { "X-Y": "z" }, body: "data" }),
  );
  assert.deepEqual(req.method(), { tag: "post" });
  assert.equal(req.pathWithQuery(), "/a/b?q=1");
  assert.equal(req.authority(), "pod:8080");
  assert.deepEqual(req.headers().get("x-y"), [enc("z")]);
  const stream = req.consume().stream();
  const chunk = await stream.blockingRead(100n);
  assert.equal(new TextDecoder().decode(chunk), "data");
  assert.throws(() => req.consume(), (e) => e === undefined, "a body is consumed once");
});

Deno.test("FutureIncomingResponse answers none, then its result once, then an error", async () => {
  let resolve!: (v: never) => void;
  const f = new FutureIncomingResponse(new Promise((r) => (resolve = r)), () => ({ tag: "internal-error" }));
  assert.equal(f.get(), undefined);
  resolve(undefined as never);
  await f.subscribe().block();
  assert.equal(f.get()?.tag, "ok");
  assert.deepEqual(f.get(), { tag: "err", val: undefined });
});
