import assert from "node:assert/strict";
import type { WitContainerStatus } from "../../../plugins/runtime/binding.ts";
import { changedSandbox, ContainerLists, isContainerStatus } from "./container_lists.ts";

const status = (id: string, sandbox: string, state: WitContainerStatus["state"]): WitContainerStatus => ({
  id,
  name: id,
  attempt: 0,
  state,
  createdAt: 1,
  startedAt: 0,
  finishedAt: 0,
  exitCode: 0,
  image: "busybox",
  imageRef: "sha256:x",
  reason: "",
  message: "",
  logPath: "",
  podSandboxId: sandbox,
  labels: [],
  annotations: [],
  mounts: [],
  stdin: false,
  tty: false,
});

Deno.test("changedSandbox() names the sandbox a verb may change, none for reads, any when unknown", () => {
  const of = (c: string) => (c === "c1" ? "sb1" : undefined);
  assert.equal(changedSandbox("listContainers", ["sb1"], of), null);
  assert.equal(changedSandbox("runPodSandbox", [{}, ""], of), null);
  assert.equal(changedSandbox("execSync", ["c1", ["true"], 1], of), null);
  assert.equal(changedSandbox("createContainer", ["sb1", {}, {}], of), "sb1");
  assert.equal(changedSandbox("stopPodSandbox", ["sb2"], of), "sb2");
  assert.equal(changedSandbox("startContainer", ["c1"], of), "sb1");
  assert.equal(changedSandbox("containerExited", ["c1", {}], of), "sb1");
  assert.equal(changedSandbox("stopContainer", ["c9", 0], of), undefined, "an unknown container: any sandbox");
  assert.equal(changedSandbox("configure", ["{}"], of), undefined);
  assert.equal(changedSandbox("somethingNew", [], of), undefined);
});

Deno.test("ContainerLists: a new sandbox's create and start answers make its list without a read", () => {
  const l = new ContainerLists();
  l.seed("sb1");
  assert.deepEqual(l.list("sb1"), []);
  const create = l.begin("sb1");
  assert.equal(l.list("sb1"), undefined, "dropped while the create runs");
  l.end(create, status("c1", "sb1", "container-created"));
  assert.equal(l.list("sb1")?.[0].state, "container-created");
  assert.equal(l.sandboxOf("c1"), "sb1");
  const start = l.begin(changedSandbox("startContainer", ["c1"], (c) => l.sandboxOf(c)) as string);
  l.end(start, status("c1", "sb1", "container-running"));
  assert.equal(l.container("c1")?.state, "container-running");
});

Deno.test("ContainerLists: a change without an answered status (0.1.0, a failure) leaves the list to be read", () => {
  const l = new ContainerLists();
  l.seed("sb1");
  l.end(l.begin("sb1"));
  assert.equal(l.list("sb1"), undefined);
  const mark = l.reading("sb1");
  l.answered("sb1", mark, [status("c1", "sb1", "container-running")]);
  assert.equal(l.list("sb1")?.length, 1);
});

Deno.test("ContainerLists: answers that crossed another change are not kept", () => {
  const l = new ContainerLists();
  // A read sent before a change and answered after it.
  const mark = l.reading("sb1");
  const exit = l.begin("sb1");
  l.end(exit);
  l.answered("sb1", mark, [status("c1", "sb1", "container-running")]);
  assert.equal(l.list("sb1"), undefined, "the read may predate the exit");
  // Two creates at once: neither answer is kept on a list the other changed.
  l.seed("sb2");
  const a = l.begin("sb2");
  const b = l.begin("sb2");
  l.end(a, status("a", "sb2", "container-created"));
  l.end(b, status("b", "sb2", "container-created"));
  assert.equal(l.list("sb2"), undefined);
  // A change of any sandbox (an unknown container) drops every list and in-flight read.
  l.seed("sb3");
  const m3 = l.reading("sb4");
  const any = l.begin(undefined);
  assert.equal(l.list("sb3"), undefined);
  l.end(any);
  l.answered("sb4", m3, []);
  assert.equal(l.list("sb4"), undefined);
  // Another sandbox's change does not touch this one.
  l.seed("sb5");
  l.end(l.begin("sb6"));
  assert.deepEqual(l.list("sb5"), []);
  // A removed sandbox is forgotten.
  l.forget("sb5");
  assert.equal(l.list("sb5"), undefined);
});

Deno.test("isContainerStatus() tells a 0.2.0 answer from a 0.1.0 id", () => {
  assert.ok(isContainerStatus(status("c1", "sb1", "container-created")));
  assert.ok(!isContainerStatus("c1"));
  assert.ok(!isContainerStatus(null));
});

Deno.test("ContainerLists: a list is used for maxAgeMs after the Plugin answered it, then read again", () => {
  let now = 1000;
  const l = new ContainerLists({ maxAgeMs: 50, now: () => now });
  l.answered("sb1", l.reading("sb1"), [status("c1", "sb1", "container-running")]);
  now += 50;
  assert.equal(l.container("c1")?.state, "container-running");
  now += 1;
  assert.equal(l.list("sb1"), undefined);
  assert.equal(l.container("c1"), undefined);
  // An answered status renews the list it updates.
  l.seed("sb2");
  now += 40;
  l.end(l.begin("sb2"), status("c2", "sb2", "container-created"));
  now += 40;
  assert.equal(l.list("sb2")?.length, 1);
});
