import assert from "node:assert/strict";
import { countSteps, pathKind } from "./trace_counts.ts";

Deno.test("pathKind() hides namespaces and names but keeps resources and subresources", () => {
  assert.equal(pathKind("/api/v1/namespaces/bench/pods/s-1/status"), "/api/v1/namespaces/*/pods/*/status");
  assert.equal(pathKind("/api/v1/namespaces/bench/events"), "/api/v1/namespaces/*/events");
  assert.equal(pathKind("/api/v1/nodes/bench-node"), "/api/v1/nodes/*");
  assert.equal(
    pathKind("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1"),
    "/apis/coordination.k8s.io/v1/namespaces/*/leases/*",
  );
  assert.equal(pathKind("/api/v1/pods?watch=1"), "/api/v1/pods");
});

Deno.test("countSteps() counts requests, watch events, syncs and calls inside the window only", () => {
  const text = [
    "TRACE 1.0 api> POST /api/v1/namespaces/a/events",
    "TRACE 2.0 api> PUT /api/v1/namespaces/a/pods/p/status",
    "TRACE 2.5 api-watch-event /api/v1/pods",
    "TRACE 3.0 sync> p",
    "TRACE 3.5 call> crun.startContainer",
    "TRACE 3.6 host> host-process.exec conmon 0ac0dc7a-httpd-0-d088cc09",
    "TRACE 9.0 api> PUT /api/v1/namespaces/a/pods/q/status",
  ].join("\n");
  const c = countSteps(text, 1.5, 5);
  assert.deepEqual(Object.fromEntries(c), {
    "API PUT /api/v1/namespaces/*/pods/*/status": 1,
    "watch event /api/v1/pods": 1,
    "kubelet sync": 1,
    "runner call crun.startContainer": 1,
    "host call host-process.exec conmon": 1,
  });
});
