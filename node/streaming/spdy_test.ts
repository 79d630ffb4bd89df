import assert from "node:assert/strict";
import zlib from "node:zlib";
import { decodeClientMessage, exitStatus, frame, negotiate } from "./channel.ts";
import {
  adler32,
  decodeHeaders,
  encodeHeaders,
  type SpdyStream,
  SpdyServerSession,
  spdyDictionary,
  StoredZlibWriter,
} from "./spdy.ts";

Deno.test("the SPDY/3 dictionary is the one the spec defines (1423 bytes, Adler-32 e3c6a7c2)", () => {
  const d = spdyDictionary();
  assert.equal(d.length, 1423);
  assert.equal(adler32(d).toString(16), "e3c6a7c2");
});

Deno.test("header blocks written as stored deflate blocks inflate with the dictionary, one after another", async () => {
  const dict = spdyDictionary();
  const w = new StoredZlibWriter(dict);
  const inflate = zlib.createInflate({ dictionary: dict });
  const out: Uint8Array[] = [];
  inflate.on("data", (c: Uint8Array) => out.push(c));
  for (const h of [{ a: "1" }, {}, { "streamtype": "data", port: "8080" }] as Record<string, string>[]) {
    out.length = 0;
    inflate.write(w.write(encodeHeaders(h)));
    await new Promise<void>((r) => inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    assert.deepEqual(decodeHeaders(new Uint8Array(Buffer.concat(out))), h);
  }
  inflate.close();
});

/** A SPDY client as spdystream frames it (zlib with the dictionary, sync-flushed). */
function client() {
  const deflate = zlib.createDeflate({ dictionary: spdyDictionary() });
  const chunks: Uint8Array[] = [];
  deflate.on("data", (c: Uint8Array) => chunks.push(c));
  const compress = async (b: Uint8Array) => {
    chunks.length = 0;
    deflate.write(b);
    await new Promise<void>((r) => deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    return new Uint8Array(Buffer.concat(chunks));
  };
  const control = (type: number, flags: number, payload: Uint8Array) => {
    const f = new Uint8Array(8 + payload.length);
    f.set([0x80, 3, type >> 8, type & 255, flags, payload.length >> 16, (payload.length >> 8) & 255, payload.length & 255]);
    f.set(payload, 8);
    return f;
  };
  return {
    async syn(id: number, headers: Record<string, string>, fin = false) {
      const nv = await compress(encodeHeaders(headers));
      const p = new Uint8Array(10 + nv.length);
      new DataView(p.buffer).setUint32(0, id);
      p.set(nv, 10);
      return control(1, fin ? 1 : 0, p);
    },
    data(id: number, bytes: Uint8Array, fin = false) {
      const f = new Uint8Array(8 + bytes.length);
      new DataView(f.buffer).setUint32(0, id);
      f.set([fin ? 1 : 0, bytes.length >> 16, (bytes.length >> 8) & 255, bytes.length & 255], 4);
      f.set(bytes, 8);
      return f;
    },
    ping: (id: number) => control(6, 0, new Uint8Array([0, 0, 0, id])),
    close: () => deflate.close(),
  };
}

Deno.test("a SPDY session opens streams, replies, echoes pings, and carries data with FIN both ways", async () => {
  const sent: Uint8Array[] = [];
  const streams: SpdyStream[] = [];
  const received: string[] = [];
  const session = new SpdyServerSession((b) => sent.push(b), (s) => {
    streams.push(s);
    s.onData = (d) => received.push(new TextDecoder().decode(d));
    s.onEnd = (reset) => received.push(reset ? "<reset>" : "<fin>");
  });
  const c = client();
  // Two frames in one message, and a frame split across two messages.
  const a = await c.syn(1, { streamType: "error", port: "80", requestID: "0" }, true);
  const b = await c.syn(3, { streamType: "data", port: "80", requestID: "0" });
  await session.receive(new Uint8Array([...a, ...b.subarray(0, 5)]));
  await session.receive(b.subarray(5));
  assert.deepEqual(streams.map((s) => [s.id, s.headers.streamtype, s.headers.port]), [[1, "error", "80"], [3, "data", "80"]]);
  assert.equal(sent.filter((f) => f[0] === 0x80 && f[3] === 2).length, 2, "a SYN_REPLY per stream");
  await session.receive(c.data(3, new TextEncoder().encode("hello")));
  await session.receive(c.data(3, new Uint8Array(), true));
  assert.deepEqual(received, ["<fin>", "hello", "<fin>"]);
  sent.length = 0;
  await session.receive(c.ping(1));
  assert.deepEqual([...sent[0]], [0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1]);
  sent.length = 0;
  streams[1].write(new TextEncoder().encode("back"));
  streams[1].end();
  assert.deepEqual([...sent[0].subarray(0, 8)], [0, 0, 0, 3, 0, 0, 0, 4]);
  assert.equal(new TextDecoder().decode(sent[0].subarray(8)), "back");
  assert.deepEqual([...sent[1]], [0, 0, 0, 3, 1, 0, 0, 0]);
  session.close();
  c.close();
});

Deno.test("the channel protocol frames streams and reports exit codes as kubectl reads them", () => {
  assert.equal(negotiate("v5.channel.k8s.io, v4.channel.k8s.io", ["v4.channel.k8s.io", "v5.channel.k8s.io"]), "v5.channel.k8s.io");
  assert.equal(negotiate("channel.k8s.io", ["v5.channel.k8s.io"]), undefined);
  assert.deepEqual([...frame(1, new Uint8Array([7]))], [1, 7]);
  assert.deepEqual(decodeClientMessage(new TextEncoder().encode('\x04{"Width":80,"Height":24}')), {
    kind: "resize",
    cols: 80,
    rows: 24,
  });
  assert.deepEqual(decodeClientMessage(new Uint8Array([255, 0])), { kind: "close", stream: 0 });
  assert.deepEqual(exitStatus(0, ["true"]), { metadata: {}, status: "Success" });
  assert.deepEqual(exitStatus(3, ["sh", "-c", "exit 3"]), {
    metadata: {},
    status: "Failure",
    message: "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: "3" }] },
  });
});
