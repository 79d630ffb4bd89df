import assert from "node:assert/strict";
import type { ComponentItem } from "./component_binary.ts";
import { checkWorld, glueImports } from "./world.ts";

const host = {
  "wasi:cli/environment": ["getArguments", "getEnvironment", "initialCwd"],
  "wasi:cli/stdout": ["getStdout"],
  "wasi:http/types": ["Fields"],
};
const inst = (name: string): ComponentItem => ({ name, kind: "instance" });

Deno.test("checkWorld() recognizes a command and a proxy by their exports", () => {
  assert.deepEqual(
    checkWorld({ imports: [inst("wasi:cli/stdout@0.2.3")], exports: [inst("wasi:cli/run@0.2.12")] }, host),
    {
      ok: true,
      kind: "command",
    },
  );
  const proxy = checkWorld({
    imports: [],
    exports: [{ name: "init", kind: "func" }, inst("wasi:http/incoming-handler@0.2.0")],
  }, host);
  assert.deepEqual(proxy, { ok: true, kind: "proxy" });
});

Deno.test("checkWorld() refuses an import the host does not provide and names it", () => {
  const r = checkWorld({
    imports: [inst("wasi:cli/stdout@0.2.12"), inst("wasi:keyvalue/store@0.2.0-draft")],
    exports: [inst("wasi:cli/run@0.2.12")],
  }, host);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.match(r.reason, /imports wasi:keyvalue\/store@0\.2\.0-draft, which this node does not provide/);
    assert.match(r.reason, /provides wasi:cli, wasi:http at 0\.2\.x/);
  }
});

Deno.test("checkWorld() refuses WASI 0.3, worlds it does not run, and functions it lacks", () => {
  const p3 = checkWorld({
    imports: [],
    exports: [inst("wasi:http/handler@0.3.0"), inst("wasi:cli/run@0.3.0")],
  }, host);
  assert.match(
    p3.ok ? "" : p3.reason,
    /exports wasi:cli\/run@0\.3\.0; this node runs WASI 0\.2\.x worlds only/,
  );
  const reactor = checkWorld({ imports: [], exports: [inst("example:plugin/api@1.0.0")] }, host);
  assert.match(
    reactor.ok ? "" : reactor.reason,
    /exports neither wasi:cli\/run .* it exports example:plugin\/api@1\.0\.0/,
  );
  const newer = checkWorld({
    imports: [inst("wasi:cli/stdout@0.3.0")],
    exports: [inst("wasi:cli/run@0.2.1")],
  }, host);
  assert.match(newer.ok ? "" : newer.reason, /wasi:cli\/stdout@0\.3\.0 \(only 0\.2\.x is provided\)/);
  const fn = checkWorld(
    { imports: [inst("wasi:cli/stdout@0.2.12")], exports: [inst("wasi:cli/run@0.2.12")] },
    host,
    { "wasi:cli/stdout": ["getStdout", "getStdoutV2"] },
  );
  assert.match(
    fn.ok ? "" : fn.reason,
    /calls wasi:cli\/stdout#getStdoutV2, which this node does not implement/,
  );
});

Deno.test("glueImports() reads what the jco glue takes out of each import", () => {
  const glue = `const { getArguments, getEnvironment } = imports['wasi:cli/environment'];\n` +
    `const { now: now$1, resolution: resolution$1 } = imports['wasi:clocks/wall-clock'];`;
  assert.deepEqual(glueImports(glue), {
    "wasi:cli/environment": ["getArguments", "getEnvironment"],
    "wasi:clocks/wall-clock": ["now", "resolution"],
  });
});
