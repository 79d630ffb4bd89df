import assert from "node:assert/strict";
import { BinaryFormatError, readBinaryShape, splitVersion } from "./component_binary.ts";

const utf8 = (s: string) => [...new TextEncoder().encode(s)];
const name = (s: string) => [0x00, utf8(s).length, ...utf8(s)];
const section = (id: number, body: number[]) => [id, body.length, ...body];
const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

Deno.test("readBinaryShape() lists a component's imported and exported interfaces with versions", () => {
  const bytes = new Uint8Array([
    ...HEADER,
    ...section(0x00, [4, ...utf8("name"), 1, 2, 3]), // a custom section is skipped
    ...section(0x0a, [
      2,
      ...name("wasi:io/poll@0.2.12"),
      0x05,
      0x00,
      ...name("wasi:cli/stdout@0.2.0"),
      0x05,
      0x01,
    ]),
    ...section(0x01, [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]), // a nested core module is skipped
    ...section(0x0b, [1, ...name("wasi:cli/run@0.2.12"), 0x05, 0x00, 0x00]),
  ]);
  assert.deepEqual(readBinaryShape(bytes), {
    kind: "component",
    imports: [{ name: "wasi:io/poll@0.2.12", kind: "instance" }, {
      name: "wasi:cli/stdout@0.2.0",
      kind: "instance",
    }],
    exports: [{ name: "wasi:cli/run@0.2.12", kind: "instance" }],
  });
});

Deno.test("readBinaryShape() reads export descriptors and every extern kind", () => {
  const bytes = new Uint8Array([
    ...HEADER,
    ...section(0x0a, [
      3,
      ...name("f"),
      0x01,
      0x03,
      ...name("m"),
      0x00,
      0x11,
      0x00,
      ...name("v"),
      0x02,
      0x01,
      0x73,
    ]),
    ...section(0x0b, [
      2,
      ...name("init"),
      0x01,
      0x04,
      0x01,
      0x01,
      0x05,
      ...name("core"),
      0x00,
      0x11,
      0x00,
      0x00,
    ]),
  ]);
  const shape = readBinaryShape(bytes);
  assert.equal(shape.kind, "component");
  if (shape.kind !== "component") return;
  assert.deepEqual(shape.imports.map((i) => i.kind), ["func", "module", "value"]);
  assert.deepEqual(shape.exports, [{ name: "init", kind: "func" }, { name: "core", kind: "module" }]);
});

Deno.test("readBinaryShape() tells core modules apart and refuses what is not WebAssembly", () => {
  assert.deepEqual(readBinaryShape(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])), {
    kind: "module",
  });
  assert.throws(() => readBinaryShape(new TextEncoder().encode("#!/bin/sh\necho")), BinaryFormatError);
  assert.throws(() => readBinaryShape(new Uint8Array([...HEADER, 0x0a, 0x20, 1])), /past the end/);
});

Deno.test("splitVersion() separates an interface name from its version", () => {
  assert.deepEqual(splitVersion("wasi:http/types@0.2.12"), { name: "wasi:http/types", version: "0.2.12" });
  assert.deepEqual(splitVersion("local:x/y"), { name: "local:x/y" });
});
