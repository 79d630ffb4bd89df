import assert from "node:assert/strict";
import type { KubeObject } from "../../api/types.ts";
import { NodeAuthorizer } from "./node_authorizer.ts";
import { NodeGraph } from "./node_graph.ts";
import { attributes } from "./types.ts";

const node1 = { username: "system:node:node-1", groups: ["system:nodes", "system:authenticated"] };

function pod(name: string, nodeName: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name, namespace: "default" },
    spec: {
      nodeName,
      serviceAccountName: "robot",
      containers: [{
        name: "c",
        image: "x",
        env: [{ name: "A", valueFrom: { secretKeyRef: { name: `${name}-env`, key: "k" } } }],
      }],
      volumes: [
        { name: "s", secret: { secretName: `${name}-secret` } },
        { name: "p", projected: { sources: [{ configMap: { name: `${name}-cm` } }] } },
        { name: "d", persistentVolumeClaim: { claimName: `${name}-claim` } },
      ],
      ...extra,
    },
  };
}

function setup() {
  const graph = new NodeGraph();
  graph.setPod(pod("mine", "node-1"));
  graph.setPod(pod("theirs", "node-2"));
  graph.setPV({
    metadata: { name: "pv-mine" },
    spec: {
      claimRef: { namespace: "default", name: "mine-claim" },
      csi: { nodePublishSecretRef: { namespace: "kube-system", name: "csi-creds" } },
    },
  });
  return { graph, authz: new NodeAuthorizer(graph) };
}

const decide = (authz: NodeAuthorizer, a: Parameters<typeof attributes>[1]) =>
  authz.authorize(attributes(node1, a)).decision;

Deno.test("NodeAuthorizer lets a node read only the secrets and config maps of its own pods", () => {
  const { authz } = setup();
  assert.equal(
    decide(authz, { verb: "get", resource: "secrets", namespace: "default", name: "mine-secret" }),
    "allow",
  );
  assert.equal(
    decide(authz, { verb: "get", resource: "secrets", namespace: "default", name: "mine-env" }),
    "allow",
  );
  assert.equal(
    decide(authz, { verb: "watch", resource: "configmaps", namespace: "default", name: "mine-cm" }),
    "allow",
  );
  assert.equal(
    decide(authz, { verb: "get", resource: "secrets", namespace: "default", name: "theirs-secret" }),
    "noOpinion",
  );
  assert.equal(decide(authz, { verb: "list", resource: "secrets", namespace: "default" }), "noOpinion");
  assert.equal(
    decide(authz, { verb: "update", resource: "secrets", namespace: "default", name: "mine-secret" }),
    "noOpinion",
  );
  const r = authz.authorize(
    attributes(node1, { verb: "get", resource: "secrets", namespace: "default", name: "theirs-secret" }),
  );
  assert.equal(r.reason, "no relationship found between node 'node-1' and this object");
});

Deno.test("NodeAuthorizer follows claims to their volumes and the volumes' secrets", () => {
  const { authz } = setup();
  assert.equal(
    decide(authz, {
      verb: "get",
      resource: "persistentvolumeclaims",
      namespace: "default",
      name: "mine-claim",
    }),
    "allow",
  );
  assert.equal(
    decide(authz, {
      verb: "get",
      resource: "persistentvolumeclaims",
      namespace: "default",
      name: "theirs-claim",
    }),
    "noOpinion",
  );
  assert.equal(decide(authz, { verb: "get", resource: "persistentvolumes", name: "pv-mine" }), "allow");
  assert.equal(
    decide(authz, { verb: "get", resource: "secrets", namespace: "kube-system", name: "csi-creds" }),
    "allow",
  );
  assert.equal(
    decide(authz, {
      verb: "create",
      resource: "serviceaccounts",
      subresource: "token",
      namespace: "default",
      name: "robot",
    }),
    "allow",
  );
  assert.equal(
    decide(authz, {
      verb: "create",
      resource: "serviceaccounts",
      subresource: "token",
      namespace: "other",
      name: "robot",
    }),
    "noOpinion",
  );
});

Deno.test("NodeAuthorizer scopes pods, the Node and the Lease to the node itself", () => {
  const { authz, graph } = setup();
  assert.equal(
    decide(authz, { verb: "list", resource: "pods", fieldSelector: "spec.nodeName=node-1" }),
    "allow",
  );
  assert.equal(
    decide(authz, { verb: "watch", resource: "pods", fieldSelector: "spec.nodeName=node-2" }),
    "noOpinion",
  );
  assert.equal(decide(authz, { verb: "list", resource: "pods" }), "noOpinion");
  assert.equal(decide(authz, { verb: "get", resource: "pods", namespace: "default", name: "mine" }), "allow");
  assert.equal(
    decide(authz, {
      verb: "patch",
      resource: "pods",
      subresource: "status",
      namespace: "default",
      name: "mine",
    }),
    "allow",
  );
  assert.equal(
    decide(authz, {
      verb: "update",
      resource: "pods",
      subresource: "status",
      namespace: "default",
      name: "theirs",
    }),
    "noOpinion",
  );
  assert.equal(
    decide(authz, { verb: "delete", resource: "pods", namespace: "default", name: "theirs" }),
    "noOpinion",
  );
  assert.equal(
    decide(authz, {
      verb: "create",
      resource: "pods",
      subresource: "eviction",
      namespace: "default",
      name: "mine",
    }),
    "allow",
  );
  assert.equal(decide(authz, { verb: "get", resource: "nodes", name: "node-1" }), "allow");
  assert.equal(
    decide(authz, { verb: "patch", resource: "nodes", subresource: "status", name: "node-1" }),
    "allow",
  );
  assert.equal(decide(authz, { verb: "get", resource: "nodes", name: "node-2" }), "noOpinion");
  assert.equal(decide(authz, { verb: "update", resource: "nodes", name: "node-2" }), "noOpinion");
  assert.equal(
    decide(authz, {
      verb: "update",
      group: "coordination.k8s.io",
      resource: "leases",
      namespace: "kube-node-lease",
      name: "node-1",
    }),
    "allow",
  );
  assert.equal(
    decide(authz, {
      verb: "update",
      group: "coordination.k8s.io",
      resource: "leases",
      namespace: "kube-node-lease",
      name: "node-2",
    }),
    "noOpinion",
  );
  assert.equal(decide(authz, { verb: "create", resource: "events", namespace: "default" }), "allow");
  // A pod rescheduled elsewhere takes its objects with it.
  graph.setPod(pod("mine", "node-2"));
  assert.equal(
    decide(authz, { verb: "get", resource: "secrets", namespace: "default", name: "mine-secret" }),
    "noOpinion",
  );
  graph.deletePod(pod("theirs", "node-2"));
  assert.equal(graph.podCount, 1);
});

Deno.test("NodeAuthorizer has no opinion about users that are not nodes", () => {
  const { authz } = setup();
  const alice = { username: "alice", groups: ["system:nodes"] };
  assert.equal(
    authz.authorize(attributes(alice, { verb: "get", resource: "nodes", name: "alice" })).decision,
    "noOpinion",
  );
  const impostor = { username: "system:node:node-1", groups: [] };
  assert.equal(
    authz.authorize(attributes(impostor, { verb: "get", resource: "nodes", name: "node-1" })).decision,
    "noOpinion",
  );
});
