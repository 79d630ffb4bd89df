import assert from "node:assert/strict";
import { compactRules, compactString, covers, escalationMessage } from "./covers.ts";

Deno.test("covers() finds the broken-down rules the owner lacks", () => {
  const owner = [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods", "*/log"] }];
  assert.deepEqual(covers(owner, [{ verbs: ["get"], apiGroups: [""], resources: ["pods", "pods/log"] }]), [
    true,
    [],
  ]);
  const [ok, missing] = covers(owner, [{
    verbs: ["get", "delete"],
    apiGroups: [""],
    resources: ["pods", "secrets"],
  }]);
  assert.equal(ok, false);
  assert.deepEqual(missing, [
    { apiGroups: [""], resources: ["pods"], verbs: ["delete"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["delete"] },
  ]);
});

Deno.test("covers() treats resource names and non-resource URL prefixes as upstream", () => {
  const named = [{ verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] }];
  assert.equal(
    covers(named, [{ verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["a"] }])[0],
    true,
  );
  assert.equal(covers(named, [{ verbs: ["get"], apiGroups: [""], resources: ["configmaps"] }])[0], false);
  const urls = [{ verbs: ["get"], nonResourceURLs: ["/apis/*"] }];
  assert.equal(covers(urls, [{ verbs: ["get"], nonResourceURLs: ["/apis/apps"] }])[0], true);
  assert.equal(covers(urls, [{ verbs: ["get"], nonResourceURLs: ["/metrics"] }])[0], false);
  assert.equal(
    covers([{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }], [{
      verbs: ["get"],
      nonResourceURLs: ["/x"],
    }])[0],
    false,
  );
});

Deno.test("escalationMessage() prints compacted, sorted rules as upstream's CompactString", () => {
  const missing = [
    { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["list"] },
    { apiGroups: ["apps"], resources: ["deployments"], verbs: ["create"] },
  ];
  assert.equal(compactRules(missing).length, 2);
  assert.equal(
    compactString({ apiGroups: [""], resources: ["pods"], resourceNames: ["a"], verbs: ["get"] }),
    '{APIGroups:[""], Resources:["pods"], ResourceNames:["a"], Verbs:["get"]}',
  );
  assert.equal(
    escalationMessage({ username: "alice", groups: ["team-a", "system:authenticated"] }, missing),
    'user "alice" (groups=["team-a" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n' +
      '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}\n' +
      '{APIGroups:["apps"], Resources:["deployments"], Verbs:["create"]}',
  );
});
