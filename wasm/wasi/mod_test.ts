import assert from "node:assert/strict";
import { createWasi, hostInterfaces } from "./mod.ts";

const WIT = decodeURIComponent(
  new URL("../../node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12", import.meta.url).pathname,
);
const EXPORT_ONLY = new Set(["wasi:cli/run", "wasi:http/incoming-handler"]);

const camel = (s: string) => s.replace(/^%/, "").replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const pascal = (s: string) => camel(s).replace(/^[a-z]/, (c) => c.toUpperCase());

interface Iface {
  functions: string[];
  resources: Map<string, { methods: string[]; statics: string[] }>;
}

/** Reads the stable interfaces of a WASI package.wit: free functions, resources and their members. */
function readWit(text: string, pkg: string): Map<string, Iface> {
  const out = new Map<string, Iface>();
  let iface: Iface | undefined;
  let resource: { methods: string[]; statics: string[] } | undefined;
  let unstable = false;
  let skipDepth = -1;
  let depth = 0;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\/\/.*$/, "").trim();
    if (!line) continue;
    if (line.startsWith("@unstable")) {
      unstable = true;
      continue;
    }
    const opens = (line.match(/\{/g) ?? []).length;
    const closes = (line.match(/\}/g) ?? []).length;
    const isUnstable = unstable;
    unstable = line.startsWith("@") ? unstable : false;
    if (skipDepth < 0 && isUnstable && opens) skipDepth = depth;
    if (skipDepth >= 0 || isUnstable) {
      depth += opens - closes;
      if (skipDepth >= 0 && depth <= skipDepth) skipDepth = -1;
      continue;
    }
    let m;
    if (depth === 0 && (m = /^interface ([a-z0-9-]+)/.exec(line))) {
      iface = { functions: [], resources: new Map() };
      out.set(`wasi:${pkg}/${m[1]}`, iface);
    } else if (iface && depth === 1 && (m = /^resource ([a-z0-9-]+)/.exec(line))) {
      resource = { methods: [], statics: [] };
      iface.resources.set(m[1], resource);
    } else if (iface && depth === 1 && (m = /^(%?[a-z0-9-]+): func/.exec(line))) {
      iface.functions.push(m[1]);
    } else if (resource && depth === 2 && (m = /^(%?[a-z0-9-]+): (static )?func/.exec(line))) {
      (m[2] ? resource.statics : resource.methods).push(m[1]);
    }
    depth += opens - closes;
    if (depth <= 1) resource = undefined;
    if (depth === 0) iface = undefined;
  }
  return out;
}

Deno.test("the host implements every stable function and resource member of WASI 0.2.12 it provides", () => {
  const wasi = createWasi({ env: [], args: [], preopens: [], stdout() {}, stderr() {} });
  const missing: string[] = [];
  try {
    for (const pkg of ["cli", "clocks", "filesystem", "http", "io", "random", "sockets"]) {
      const ifaces = readWit(Deno.readTextFileSync(`${WIT}/wasi-${pkg}/package.wit`), pkg);
      for (const [name, iface] of ifaces) {
        if (EXPORT_ONLY.has(name)) continue;
        const host = wasi.imports[name] as Record<string, unknown> | undefined;
        if (!host) {
          missing.push(name);
          continue;
        }
        for (const f of iface.functions) {
          if (typeof host[camel(f)] !== "function") missing.push(`${name}#${f}`);
        }
        for (const [r, members] of iface.resources) {
          // deno-lint-ignore no-explicit-any
          const cls = host[pascal(r)] as any;
          if (typeof cls !== "function") {
            missing.push(`${name}#${r}`);
            continue;
          }
          for (const m of members.methods) {
            if (typeof cls.prototype[camel(m)] !== "function") missing.push(`${name}#${r}.${m}`);
          }
          for (const s of members.statics) {
            if (typeof cls[camel(s)] !== "function") missing.push(`${name}#${r}.${s} (static)`);
          }
        }
      }
    }
  } finally {
    wasi.close();
  }
  assert.deepEqual(missing, []);
});

Deno.test("hostInterfaces() lists the provided interfaces with their members", () => {
  const h = hostInterfaces();
  assert.ok(h["wasi:cli/environment"].includes("getEnvironment"));
  assert.ok(h["wasi:http/types"].includes("Fields"));
  assert.equal(h["wasi:keyvalue/store"], undefined);
});

Deno.test("each instance has its own environment, arguments and output", () => {
  const out: string[] = [];
  const a = createWasi({
    env: [["A", "1"]],
    args: ["a"],
    preopens: [],
    stdout: (b) => out.push(`a:${new TextDecoder().decode(b)}`),
    stderr() {},
  });
  const b = createWasi({
    env: [["B", "2"]],
    args: ["b"],
    preopens: [],
    stdout: (b) => out.push(`b:${new TextDecoder().decode(b)}`),
    stderr() {},
  });
  // deno-lint-ignore no-explicit-any
  const env = (w: typeof a) => w.imports["wasi:cli/environment"] as any;
  assert.deepEqual(env(a).getEnvironment(), [["A", "1"]]);
  assert.deepEqual(env(b).getArguments(), ["b"]);
  // deno-lint-ignore no-explicit-any
  (b.imports["wasi:cli/stdout"] as any).getStdout().blockingWriteAndFlush(new TextEncoder().encode("x"));
  assert.deepEqual(out, ["b:x"]);
  const exit = a.imports["wasi:cli/exit"] as { exitWithCode(code: number): never };
  assert.throws(
    () => exit.exitWithCode(4),
    (e) => (e as { code: number }).code === 4,
  );
  a.close();
  b.close();
});
