import assert from "node:assert/strict";
import { fitErrorMessage, newDiagnosis, truncateMessage } from "./fit_error.ts";
import { status } from "./types.ts";

Deno.test("fitErrorMessage() counts nodes per reason, sorted as strings (count first), as upstream's FitError", () => {
  const d = newDiagnosis();
  d.nodeToStatus.set("a", status("Unschedulable", "Insufficient cpu"));
  d.nodeToStatus.set("b", status("Unschedulable", "Insufficient cpu"));
  d.nodeToStatus.set(
    "c",
    status("UnschedulableAndUnresolvable", "node(s) had untolerated taint {key: value}"),
  );
  d.postFilterMsg = "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";
  assert.equal(
    fitErrorMessage(3, d),
    // sort.Strings over "<count> <reason>": "1 node(s)..." sorts before "2 Insufficient cpu".
    "0/3 nodes are available: 1 node(s) had untolerated taint {key: value}, 2 Insufficient cpu. " +
      "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..",
  );
});

Deno.test("fitErrorMessage() counts every reason of a node that failed several resources", () => {
  const d = newDiagnosis();
  d.nodeToStatus.set("a", status("Unschedulable", "Insufficient cpu", "Insufficient memory"));
  d.nodeToStatus.set("b", status("Unschedulable", "Insufficient memory"));
  assert.equal(fitErrorMessage(2, d), "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory.");
});

Deno.test("fitErrorMessage() attributes nodes never evaluated to the absent status", () => {
  const d = newDiagnosis();
  d.nodeToStatus.absent = status(
    "UnschedulableAndUnresolvable",
    "node(s) didn't satisfy plugin(s) [NodeAffinity]",
  );
  d.nodeToStatus.set("a", status("Unschedulable", "Too many pods"));
  assert.equal(
    fitErrorMessage(5, d),
    "0/5 nodes are available: 1 Too many pods, 4 node(s) didn't satisfy plugin(s) [NodeAffinity].",
  );
});

Deno.test("fitErrorMessage() shows only the PreFilter message when PreFilter rejected the pod", () => {
  const d = newDiagnosis();
  d.preFilterMsg = `RuntimeClass "gvisor" not found`;
  d.nodeToStatus.absent = status("UnschedulableAndUnresolvable", `RuntimeClass "gvisor" not found`);
  assert.equal(fitErrorMessage(4, d), `0/4 nodes are available: RuntimeClass "gvisor" not found.`);
});

Deno.test("truncateMessage() cuts long messages to 1024 characters ending in ' ...'", () => {
  const m = truncateMessage("x".repeat(2000));
  assert.equal(m.length, 1024);
  assert.ok(m.endsWith(" ..."));
  assert.equal(truncateMessage("short"), "short");
});
