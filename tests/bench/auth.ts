/**
 * Security overhead (issue 9): the same requests against two API servers in this process, one
 * without security (every request is the admin) and one with authentication, authorization over
 * 1,000 bindings, the in-flight limiter, the body limit and the audit log (to a sink that keeps
 * the lines), both over plain HTTP so that only the request pipeline differs. Requests alternate
 * between the two servers and the medians are compared; target ≤ 1.2×. The cost of TLS itself is
 * reported apart (no target).
 *
 * The authorizer is the RBAC helper's `RbacAuthorization` (control/apiserver/rbac/) with 1,000
 * RoleBindings and ClusterRoleBindings, and its admission steps; when it cannot start, a stand-in
 * that scans 1,000 binding-like entries per request (the row says which).
 *
 * Run alone: `deno run -A tests/bench/auth.ts`.
 * @module
 */
import { ensureClusterPki } from "../../cli/pki.ts";
import { LOOPBACK } from "../../control/apiserver/auth/users.ts";
import type { AdmissionPlugin, Authorizer, UserInfo } from "../../control/apiserver/context.ts";
import type { ApiServer } from "../../control/apiserver/server.ts";
import { ADMIN } from "../../control/apiserver/context.ts";
import { startControlPlane } from "../../control/mod.ts";
import { type BenchRow, percentile, table } from "./bench_row.ts";

const N = 1500;

interface Binding {
  namespace: string;
  subjects: { kind: "User" | "Group" | "ServiceAccount"; name: string; namespace?: string }[];
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

/** 1,000 bindings over 100 namespaces; the benchmark's subjects are bound in the last ones scanned. */
function bindings(): Binding[] {
  const out: Binding[] = [];
  for (let i = 0; i < 998; i++) {
    out.push({
      namespace: `team-${i % 100}`,
      subjects: [{ kind: "User", name: `user-${i}` }, { kind: "Group", name: `group-${i}` }],
      rules: [{
        apiGroups: [""],
        resources: ["configmaps", "secrets"],
        verbs: ["get", "list", "watch", "create"],
      }],
    });
  }
  const rule = { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "create"] };
  out.push({ namespace: "default", subjects: [{ kind: "User", name: "bench" }], rules: [rule] });
  out.push({
    namespace: "default",
    subjects: [{ kind: "ServiceAccount", name: "bench", namespace: "default" }],
    rules: [rule],
  });
  return out;
}

function bindingAuthorizer(list: Binding[]): Authorizer {
  const matchSubject = (user: UserInfo, s: Binding["subjects"][number]) =>
    s.kind === "User"
      ? s.name === user.username
      : s.kind === "Group"
      ? user.groups.includes(s.name)
      : user.username === `system:serviceaccount:${s.namespace}:${s.name}`;
  return {
    authorize({ user, info }) {
      for (const b of list) {
        if (b.namespace !== info.namespace || !b.subjects.some((s) => matchSubject(user, s))) continue;
        if (
          b.rules.some((r) =>
            r.apiGroups.includes(info.group) && r.resources.includes(info.resource) &&
            r.verbs.includes(info.verb)
          )
        ) {
          return Promise.resolve({ allowed: true });
        }
      }
      return Promise.resolve({ allowed: false });
    },
  };
}

async function timed(f: () => Promise<Response>, expect: number): Promise<number> {
  const t0 = performance.now();
  const res = await f();
  if (res.status !== expect) throw new Error(`expected ${expect}, got ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
  return performance.now() - t0;
}

/** Alternates `a` and `b` N times after a warm-up; returns their median latencies in ms. */
async function compare(
  a: (i: number) => Promise<number>,
  b: (i: number) => Promise<number>,
): Promise<[number, number]> {
  for (let i = 0; i < 200; i++) await a(-i - 1), await b(-i - 1);
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < N; i++) {
    if (i % 2) ta.push(await a(i)), tb.push(await b(i));
    else tb.push(await b(i)), ta.push(await a(i));
  }
  return [percentile(ta, 50), percentile(tb, 50)];
}

/** The RBAC authorizer with 1,000 bindings, or null when it is not available. */
async function rbacAuthorizer(): Promise<
  {
    authorizer: Authorizer;
    admission: AdmissionPlugin[];
    start(server: ApiServer): Promise<void>;
    close(): Promise<void>;
  } | null
> {
  try {
    const { RbacAuthorization } = await import("../../control/apiserver/rbac/mod.ts");
    const authz = new RbacAuthorization();
    return {
      authorizer: authz,
      admission: authz.admission,
      async start(server) {
        await authz.start(server);
        const post = async (path: string, obj: unknown) => {
          const res = await server.fetchAs(LOOPBACK)(
            new Request(`http://bench${path}`, {
              method: "POST",
              headers: { "Content-Type": "application/json" },
              body: JSON.stringify(obj),
            }),
          );
          if (res.status !== 201 && res.status !== 409) {
            throw new Error(`${path}: ${res.status} ${await res.text()}`);
          }
          await res.body?.cancel();
        };
        const G = "rbac.authorization.k8s.io";
        for (let i = 0; i < 100; i++) {
          await post("/api/v1/namespaces", { metadata: { name: `team-${i}` } });
        }
        for (let i = 0; i < 998; i++) {
          const subjects = [{ apiGroup: G, kind: "User", name: `user-${i}` }, {
            apiGroup: G,
            kind: "Group",
            name: `group-${i % 50}`,
          }];
          if (i < 100) {
            await post(`/apis/${G}/v1/clusterrolebindings`, {
              metadata: { name: `crb-${i}` },
              roleRef: { apiGroup: G, kind: "ClusterRole", name: "view" },
              subjects,
            });
          } else {
            await post(`/apis/${G}/v1/namespaces/team-${i % 100}/rolebindings`, {
              metadata: { name: `rb-${i}` },
              roleRef: { apiGroup: G, kind: "ClusterRole", name: "edit" },
              subjects,
            });
          }
        }
        await post(`/apis/${G}/v1/namespaces/default/rolebindings`, {
          metadata: { name: "bench" },
          roleRef: { apiGroup: G, kind: "ClusterRole", name: "edit" },
          subjects: [{ apiGroup: G, kind: "User", name: "bench" }, {
            kind: "ServiceAccount",
            name: "bench",
            namespace: "default",
          }],
        });
        await post(`/apis/${G}/v1/namespaces/default/rolebindings`, {
          metadata: { name: "bench-2" },
          roleRef: { apiGroup: G, kind: "ClusterRole", name: "view" },
          subjects: [{ apiGroup: G, kind: "User", name: "bench-other" }],
        });
        await new Promise((r) => setTimeout(r, 300)); // the caches follow the writes by watch
      },
      close: () => authz[Symbol.asyncDispose](),
    };
  } catch (e) {
    console.error(`RBAC is not available (${(e as Error).message}); using a stand-in authorizer`);
    return null;
  }
}

export async function benchAuth(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "skiff-bench-auth-" });
  const pki = await ensureClusterPki(dir);
  const audit: string[] = [];
  const rbac = await rbacAuthorizer();
  const authzName = rbac ? "RBAC" : "stand-in authz";
  const open = await startControlPlane({ kvPath: `${dir}/open.kv`, port: 0, compactionIntervalMs: 0 });
  const secured = await startControlPlane({
    kvPath: `${dir}/secured.kv`,
    port: 0,
    compactionIntervalMs: 0,
    authentication: {
      signingKey: { privateKey: pki.serviceAccountKey },
      tokens: { [pki.adminToken]: ADMIN, "bench-token": { username: "bench", groups: [] } },
    },
    authorizer: rbac?.authorizer ?? bindingAuthorizer(bindings()),
    admission: rbac?.admission ?? [],
    audit: { sink: (line) => audit.length < 10_000 ? audit.push(line) : (audit.length = 0) },
  });
  await rbac?.start(secured.server);
  const tls = await startControlPlane({
    kvPath: `${dir}/tls.kv`,
    port: 0,
    compactionIntervalMs: 0,
    tls: pki.serving,
  });
  const http = Deno.createHttpClient({ caCerts: [pki.caCert] });
  try {
    const cm = "/api/v1/namespaces/default/configmaps";
    const body = (name: string) => JSON.stringify({ metadata: { name }, data: { k: "v".repeat(256) } });
    const get = (url: string, token?: string, client?: Deno.HttpClient) => (_i: number) =>
      timed(
        () =>
          fetch(`${url}${cm}/bench`, {
            headers: token ? { Authorization: `Bearer ${token}` } : {},
            ...(client ? { client } : {}),
          }),
        200,
      );
    const create = (url: string, prefix: string, token?: string) => (i: number) =>
      timed(() =>
        fetch(`${url}${cm}`, {
          method: "POST",
          headers: {
            "Content-Type": "application/json",
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
          },
          body: body(`${prefix}-${i < 0 ? `w${-i}` : i}`),
        }), 201);
    for (
      const [url, token] of [[open.url, undefined], [secured.url, pki.adminToken], [
        tls.url,
        undefined,
      ]] as const
    ) {
      const res = await fetch(`${url}${cm}`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: body("bench"),
        ...(url.startsWith("https") ? { client: http } : {}),
      });
      await res.body?.cancel();
    }
    // A ServiceAccount token: an ES256 JWT, verified (cached) and checked against the stored account.
    const sa = await fetch(`${secured.url}/api/v1/namespaces/default/serviceaccounts`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${pki.adminToken}` },
      body: JSON.stringify({ metadata: { name: "bench" } }),
    });
    await sa.body?.cancel();
    const tr = await fetch(`${secured.url}/api/v1/namespaces/default/serviceaccounts/bench/token`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${pki.adminToken}` },
      body: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} }),
    });
    const saToken = (await tr.json()).status.token as string;

    const rows: BenchRow[] = [];
    const row = (name: string, [base, value]: [number, number], target?: number): BenchRow => ({
      name,
      value: value * 1000,
      unit: "µs p50",
      baseline: { name: "no security", value: base * 1000, unit: "µs p50" },
      ratio: value / base,
      ...(target ? { target: `≤ ${target}×`, met: value / base <= target } : {}),
    });
    rows.push(
      row(
        `GET configmap: static token + ${authzName} (1,000 bindings) + audit + limits`,
        await compare(get(open.url), get(secured.url, "bench-token")),
        1.2,
      ),
    );
    rows.push(
      row(
        `GET configmap: ServiceAccount JWT (ES256) + ${authzName} + audit`,
        await compare(get(open.url), get(secured.url, saToken)),
        1.2,
      ),
    );
    rows.push(
      row(
        `POST configmap: ServiceAccount JWT + ${authzName} + admission + audit (Request level)`,
        await compare(create(open.url, "o"), create(secured.url, "s", saToken)),
        1.2,
      ),
    );
    const [plain, https] = await compare(get(open.url), get(tls.url, undefined, http));
    rows.push({
      ...row("GET configmap over HTTPS (TLS only, no auth)", [plain, https]),
      target: "informational",
    });
    return rows;
  } finally {
    http.close();
    await open.close();
    await secured.close();
    await rbac?.close();
    await tls.close();
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) console.log(table(await benchAuth()));
