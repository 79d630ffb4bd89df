import assert from "node:assert/strict";
import { parseCommandArgs } from "./args.ts";
import { defaultNodeName, kubeconfigCredentials, nodeCommand, withKubeconfigToken } from "./node.ts";
import { logTail } from "./node_agent.ts";

Deno.test("kubeconfigCredentials() reads the current context's server, token and CA", () => {
  const text = `
apiVersion: v1
kind: Config
current-context: b
clusters:
- name: one
  cluster: { server: "http://127.0.0.1:1" }
- name: two
  cluster: { server: "https://127.0.0.1:2", certificate-authority-data: ${btoa("PEM")} }
users:
- name: u
  user: { token: s3cret }
contexts:
- name: a
  context: { cluster: one, user: u }
- name: b
  context: { cluster: two, user: u }
`;
  assert.deepEqual(kubeconfigCredentials(text), {
    server: "https://127.0.0.1:2",
    token: "s3cret",
    caCert: "PEM",
  });
  assert.deepEqual(kubeconfigCredentials("apiVersion: v1\nkind: Config\n"), {
    server: undefined,
    token: undefined,
    caCert: undefined,
  });
});

Deno.test("defaultNodeName() makes a valid node name of the host name", () => {
  assert.equal(defaultNodeName("My_Host.Example.COM"), "my-host.example.com");
  assert.equal(defaultNodeName("--"), "skiff-node");
});

Deno.test("./skiff node takes its flags with defaults", () => {
  const parsed = parseCommandArgs(nodeCommand, ["--server", "http://x", "--port", "0", "--keep-pods"]);
  assert.equal(parsed.kind, "run");
  if (parsed.kind !== "run") return;
  assert.equal(parsed.flags["server"], "http://x");
  assert.equal(parsed.flags["port"], 0);
  assert.equal(parsed.flags["data-dir"], "./.skiff-node");
  assert.equal(parsed.flags["pod-cidr"], undefined, "the control plane assigns the pod CIDR");
  assert.equal(parsed.flags["keep-pods"], true);
  assert.deepEqual(nodeCommand.packages, ["iproute2", "nftables", "crun", "conmon"]);
});

Deno.test("withKubeconfigToken() replaces only the current context's user token", () => {
  const text = `
apiVersion: v1
kind: Config
current-context: n
clusters:
- name: c
  cluster: { server: "https://127.0.0.1:6443", certificate-authority-data: ${btoa("PEM")} }
users:
- name: system:node:n1
  user: { token: old }
- name: other
  user: { token: keep }
contexts:
- name: n
  context: { cluster: c, user: system:node:n1 }
`;
  const next = withKubeconfigToken(text, "new");
  assert.deepEqual(kubeconfigCredentials(next), { server: "https://127.0.0.1:6443", token: "new", caCert: "PEM" });
  assert.match(next, /token: keep/);
});

Deno.test("logTail() quotes the end of the node agent's log without stack frames, and names the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(logTail(dir), `; see ${dir}/logs/node.log`);
    await Deno.mkdir(`${dir}/logs`);
    await Deno.writeTextFile(
      `${dir}/logs/node.log`,
      "starting\nerror: Uncaught (in promise) Error: bridge skiff0 is in use\n    at startNode (file:///x.ts:1:1)\n\n",
    );
    assert.equal(
      logTail(dir),
      `; see ${dir}/logs/node.log, which ends with:\n  starting\n  error: Uncaught (in promise) Error: bridge skiff0 is in use`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
