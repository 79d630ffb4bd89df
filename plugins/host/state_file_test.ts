import assert from "node:assert/strict";
import {
  base64,
  changesFrom,
  COMPACT_FLOOR,
  decodeState,
  encodeChanges,
  HEADER,
  overgrown,
  readStateFile,
  StateFile,
} from "./state_file.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => b && new TextDecoder().decode(b);

/** A state store as the state capability keeps it: a copy of each value it is given. */
class Store {
  map = new Map<string, Uint8Array>();
  constructor(entries: [string, Uint8Array][] = []) {
    this.map = new Map(entries);
  }
  set(k: string, v: string) {
    this.map.set(k, bytes(v).slice());
  }
  delete(k: string) {
    this.map.delete(k);
  }
  get entries(): [string, Uint8Array][] {
    return [...this.map];
  }
}

function asObject(m: Map<string, Uint8Array> | [string, Uint8Array][]): Record<string, string | undefined> {
  return Object.fromEntries([...m].map(([k, v]) => [k, text(v)]));
}

async function scratch(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-state-file-" });
  return { path: `${dir}/plugin.json`, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

const lines = (path: string) => Deno.readTextFileSync(path).split("\n").filter(Boolean);

Deno.test("StateFile appends one line per save with only the changed and deleted keys, and a reopen replays them", async () => {
  await using dir = await scratch();
  const f = StateFile.open(dir.path);
  assert.deepEqual(f.entries(), []);
  const store = new Store();
  store.set("s/a", "sandbox a");
  store.set("c/a1", "container a1");
  f.save(store.entries); // the first save writes the file (header + the entries)
  assert.equal(lines(dir.path)[0], HEADER);
  const before = lines(dir.path).length;
  store.set("c/a1", "container a1 running");
  store.set("c/a2", "container a2");
  store.delete("s/a");
  f.save(store.entries);
  const after = lines(dir.path);
  assert.equal(after.length, before + 1, "one line per save");
  assert.deepEqual(JSON.parse(after.at(-1)!), [
    ["c/a1", base64(bytes("container a1 running"))],
    ["c/a2", base64(bytes("container a2"))],
    ["s/a", null],
  ]);
  f.save(store.entries); // nothing changed: nothing written
  assert.equal(lines(dir.path).length, after.length);
  f.close();
  const again = StateFile.open(dir.path);
  assert.deepEqual(asObject(again.entries()), { "c/a1": "container a1 running", "c/a2": "container a2" });
  assert.deepEqual(asObject(readStateFile(dir.path)), {
    "c/a1": "container a1 running",
    "c/a2": "container a2",
  });
  again.close();
});

Deno.test("StateFile ignores a torn last line on replay (a call's changes are all or nothing) and rewrites the file at start", async () => {
  await using dir = await scratch();
  const f = StateFile.open(dir.path);
  const store = new Store();
  store.set("k1", "one");
  f.save(store.entries);
  store.set("k2", "two");
  store.set("k3", "three");
  f.save(store.entries);
  f.close();
  const whole = Deno.readTextFileSync(dir.path);
  // A crash in the middle of the last write: the line is cut short (no newline).
  Deno.writeTextFileSync(dir.path, whole.slice(0, whole.length - 7));
  assert.equal(decodeState(Deno.readTextFileSync(dir.path)).torn, true);
  const reopened = StateFile.open(dir.path);
  assert.deepEqual(asObject(reopened.entries()), { k1: "one" }, "neither k2 nor k3");
  // Rewritten: no torn tail stays for the next append to be glued to.
  assert.deepEqual(decodeState(Deno.readTextFileSync(dir.path)).torn, false);
  const s2 = new Store(reopened.entries());
  s2.set("k4", "four");
  reopened.save(s2.entries);
  reopened.close();
  assert.deepEqual(asObject(readStateFile(dir.path)), { k1: "one", k4: "four" });
});

Deno.test("decodeState stops at an unreadable line even with a newline after it", () => {
  const t = HEADER + "\n" + encodeChanges([["a", "YQ=="]]) + '[["b", "Yg=="\n' +
    encodeChanges([["c", "Yw=="]]);
  const d = decodeState(t);
  assert.equal(d.torn, true);
  assert.deepEqual([...d.entries], [["a", "YQ=="]]);
});

Deno.test("StateFile compacts past twice the live size plus the floor, keeping exactly the live entries", async () => {
  await using dir = await scratch();
  const f = StateFile.open(dir.path);
  const store = new Store();
  const value = "x".repeat(2000);
  let compactions = 0;
  let last = 0;
  for (let i = 0; i < 200; i++) {
    store.set(`c/${i % 10}`, `${value}-${i}`);
    if (i % 3 === 0) store.delete(`c/${(i + 5) % 10}`);
    f.save(store.entries);
    const size = Deno.statSync(dir.path).size;
    if (size < last) compactions++;
    last = size;
    assert.ok(
      !overgrown(f.sizes.log, f.sizes.live),
      `log ${f.sizes.log} stays within 2×${f.sizes.live}+floor`,
    );
    assert.equal(f.sizes.log, size);
  }
  assert.ok(compactions >= 2, `compacted ${compactions} times`);
  f.close();
  assert.deepEqual(asObject(readStateFile(dir.path)), asObject(store.map));
  // Right after a compaction the file is the header and one line of the live entries.
  const g = StateFile.open(dir.path);
  const s2 = new Store(g.entries());
  s2.set("big", "y".repeat(3 * COMPACT_FLOOR));
  g.save(s2.entries);
  for (let i = 0; i < 40; i++) {
    s2.set("big", `${"z".repeat(3 * COMPACT_FLOOR)}${i}`);
    g.save(s2.entries);
  }
  g.close();
  assert.deepEqual(asObject(readStateFile(dir.path)), asObject(s2.map));
  assert.ok(Deno.statSync(dir.path).size <= 3 * (3 * COMPACT_FLOOR * 4 / 3 + 100 * 10) + COMPACT_FLOOR);
});

Deno.test("StateFile compacts an overgrown log at start", async () => {
  await using dir = await scratch();
  const v = (i: number) => btoa(`${"v".repeat(1000)}${i}`);
  const log = HEADER + "\n" + Array.from({ length: 200 }, (_, i) => encodeChanges([["only", v(i)]])).join("");
  Deno.writeTextFileSync(dir.path, log);
  const f = StateFile.open(dir.path);
  f.close();
  assert.equal(text(new Map(f.entries()).get("only")), atob(v(199)));
  assert.deepEqual(lines(dir.path), [HEADER, JSON.stringify([["only", v(199)]])]);
});

Deno.test("StateFile loads the older whole-array format and rewrites it as a log", async () => {
  await using dir = await scratch();
  Deno.writeTextFileSync(dir.path, JSON.stringify([["s/a", btoa("sandbox")], ["c/b", btoa("container")]]));
  assert.deepEqual(asObject(readStateFile(dir.path)), { "s/a": "sandbox", "c/b": "container" });
  const f = StateFile.open(dir.path);
  assert.deepEqual(asObject(f.entries()), { "s/a": "sandbox", "c/b": "container" });
  assert.equal(lines(dir.path)[0], HEADER, "migrated at start");
  const store = new Store(f.entries());
  store.delete("s/a");
  f.save(store.entries);
  f.close();
  assert.deepEqual(asObject(readStateFile(dir.path)), { "c/b": "container" });
});

Deno.test("StateFile starts empty, with a problem to report, when the file is not a state file", async () => {
  await using dir = await scratch();
  Deno.writeTextFileSync(dir.path, "not json");
  const f = StateFile.open(dir.path);
  assert.deepEqual(f.entries(), []);
  assert.match(f.problem ?? "", /not a state file/);
  f.close();
});

Deno.test("changesFrom compares values by identity and lists deletions", () => {
  const a = bytes("a");
  const b = bytes("b");
  const saved = new Map([["a", a], ["b", b]]);
  assert.deepEqual(changesFrom(saved, [["a", a], ["b", b]]), []);
  const b2 = bytes("b");
  assert.deepEqual(changesFrom(saved, [["b", b2], ["c", a]]), [["b", b2], ["c", a], ["a", null]]);
});

Deno.test("through a runner: an older state file loads, a call's changes are on disk when it answers, a new runner sees them", async () => {
  const { buildPlugin } = await import("./build.ts");
  const { PluginHost } = await import("./server.ts");
  const source = new URL("../network/builtin/host_local/plugin.ts", import.meta.url).pathname;
  const { bytes: component } = await buildPlugin({ kind: "ipam", source });
  const dataDir = await Deno.makeTempDir({ prefix: "skiff-state-runner-" });
  const path = `${dataDir}/state/ipam.json`;
  const config = JSON.stringify({ ipam: { ranges: [[{ subnet: "198.18.250.0/24" }]] } });
  const attachment = (containerId: string) => ({
    containerId,
    netns: "/var/run/netns/x",
    ifname: "eth0",
    args: [],
    config,
    prevResult: undefined,
  });
  const host = () =>
    new PluginHost({
      dataDir,
      pull: () => Promise.resolve({ digest: "sha256:test", bytes: component }),
      accepts: () => true,
      log: () => {},
    });
  const plugin = {
    apiVersion: "skiff.dev/v1alpha1",
    kind: "Plugin",
    metadata: { name: "ipam", generation: 1 },
    spec: { kind: "ipam", image: "test:1", grants: [{ capability: "state" }], timeoutSeconds: 5 },
  } as const;
  const address = (r: unknown) => (r as { ips: { address: string }[] }).ips[0].address;
  try {
    // What an older runner left: c0 holds .7, in the whole-array format.
    await Deno.mkdir(`${dataDir}/state`);
    const b = (s: string) => btoa(s);
    Deno.writeTextFileSync(
      path,
      JSON.stringify([["ip/198.18.250.7", b("c0/eth0")], ["a/c0/eth0", b("198.18.250.7")], [
        "last",
        b("198.18.250.7"),
      ]]),
    );
    {
      await using h = host();
      await h.apply(structuredClone(plugin) as never);
      assert.equal(
        address(await h.call("ipam", "add", [attachment("c0")])),
        "198.18.250.7/24",
        "the older file loaded",
      );
      assert.equal(address(await h.call("ipam", "add", [attachment("c1")])), "198.18.250.8/24");
      await h.call("ipam", "del", [attachment("c0")]);
      // Answered: on disk, in the log format.
      assert.equal(lines(path)[0], HEADER);
      assert.deepEqual(asObject(readStateFile(path)), {
        "ip/198.18.250.8": "c1/eth0",
        "a/c1/eth0": "198.18.250.8",
        last: "198.18.250.8",
      });
    }
    {
      await using h = host();
      await h.apply(structuredClone(plugin) as never);
      assert.equal(
        address(await h.call("ipam", "add", [attachment("c1")])),
        "198.18.250.8/24",
        "the new runner sees c1's address",
      );
      assert.equal(
        address(await h.call("ipam", "add", [attachment("c2")])),
        "198.18.250.9/24",
        "and the last one given",
      );
    }
    assert.deepEqual(Object.keys(asObject(readStateFile(path))).sort(), [
      "a/c1/eth0",
      "a/c2/eth0",
      "ip/198.18.250.8",
      "ip/198.18.250.9",
      "last",
    ]);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("StateFile writes the whole store again when its file was removed under it", async () => {
  await using dir = await scratch();
  const f = StateFile.open(dir.path);
  const store = new Store();
  store.set("a", "1");
  f.save(store.entries);
  f.close();
  Deno.removeSync(dir.path);
  store.set("b", "2");
  f.save(store.entries);
  f.close();
  assert.deepEqual(asObject(readStateFile(dir.path)), { a: "1", b: "2" });
});
