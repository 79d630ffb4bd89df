import assert from "node:assert/strict";
import { capabilityImports } from "./capabilities.ts";

type State = {
  get(k: string): Uint8Array | undefined;
  set(k: string, v: Uint8Array): void;
  delete(k: string): void;
  listKeys(p: string): string[];
};

function stateOf(maxBytes: number, loaded: [string, Uint8Array][] = []) {
  const saved: number[] = [];
  const imports = capabilityImports("p", [{ capability: "state", bounds: { maxBytes, maxKeys: 10 } }], {
    log: () => {},
    loadState: () => loaded,
    saveState: (entries) => void saved.push(entries.length),
  });
  return { state: imports["skiff:host/state"] as unknown as State, saved };
}

const bytes = (n: number) => new Uint8Array(n);

Deno.test("the state store's byte bound counts keys and values, overwrites and deletes", () => {
  // 20 bytes: "a" + 9, "b" + 9.
  const { state, saved } = stateOf(20);
  state.set("a", bytes(9));
  state.set("b", bytes(9));
  assert.throws(() => state.set("c", bytes(0)), (e: { tag?: string }) => e.tag === "denied");
  // Overwriting counts the new value instead of the old one.
  state.set("a", bytes(4));
  state.set("c", bytes(4));
  assert.throws(() => state.set("a", bytes(6)), (e: { tag?: string }) => e.tag === "denied");
  // A delete frees its key and value; deleting an absent key changes nothing and saves nothing.
  state.delete("b");
  const saves = saved.length;
  state.delete("b");
  assert.equal(saved.length, saves);
  state.set("d", bytes(9));
  assert.deepEqual(state.listKeys(""), ["a", "c", "d"]);
  assert.throws(() => state.set("e", bytes(0)), (e: { tag?: string }) => e.tag === "denied");
});

Deno.test("the state store's byte bound includes what was loaded at start", () => {
  const { state } = stateOf(20, [["loaded", bytes(10)]]);
  assert.throws(() => state.set("x", bytes(4)), (e: { tag?: string }) => e.tag === "denied");
  state.set("x", bytes(3));
  assert.equal(state.get("x")?.byteLength, 3);
});
