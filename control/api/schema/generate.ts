/**
 * Generates `types.json`, the schema table of every built-in kind the API server serves, from the
 * generated models of `@kubernetes/client-node` (a dev dependency, so the table is committed).
 *
 * Run with `deno task gen`. The output is deterministic: types sorted by name, fields in the
 * models' order, formatted as `deno fmt` formats JSON.
 *
 * Each type maps wire field names (`baseName`) to a compact type code:
 *
 * | code | meaning                                    |
 * |------|--------------------------------------------|
 * | `s`  | string                                     |
 * | `y`  | string holding base64 bytes (`format: byte`) |
 * | `i`  | integer (`int32`, `int64`)                 |
 * | `n`  | number (`double`)                          |
 * | `b`  | boolean                                    |
 * | `t`  | date-time (`Time`, `MicroTime`)            |
 * | `u`  | int-or-string                              |
 * | `*`  | anything (`RawExtension`, `JSON`, `object`) |
 * | `[X` | list of X                                  |
 * | `{X` | map from string to X                       |
 * | name | another type of the table (`V1PodSpec`)    |
 *
 * @module
 */

/** The root types: every kind (and options/review type) the API server accepts in a body. */
export const ROOTS: readonly string[] = [
  "V1Namespace",
  "V1Pod",
  "V1Binding",
  "V1Node",
  "V1Service",
  "V1Endpoints",
  "V1ConfigMap",
  "V1Secret",
  "V1ServiceAccount",
  "CoreV1Event",
  "V1ResourceQuota",
  "V1LimitRange",
  "V1PersistentVolume",
  "V1PersistentVolumeClaim",
  "V1PodTemplate",
  "V1ReplicationController",
  "V1Deployment",
  "V1ReplicaSet",
  "V1DaemonSet",
  "V1StatefulSet",
  "V1Scale",
  "V1Job",
  "V1CronJob",
  "V1Lease",
  "V1RuntimeClass",
  "V1EndpointSlice",
  "EventsV1Event",
  "V1CustomResourceDefinition",
  "V1DeleteOptions",
  "V1PriorityClass",
  "V1Role",
  "V1ClusterRole",
  "V1RoleBinding",
  "V1ClusterRoleBinding",
  "V1Ingress",
  "V1IngressClass",
  "V1NetworkPolicy",
  "V1StorageClass",
  "V1CSIDriver",
  "V1VolumeAttachment",
  "V1SelfSubjectAccessReview",
  "V1SelfSubjectReview",
  "V1SubjectAccessReview",
  "V1SelfSubjectRulesReview",
  "AuthenticationV1TokenRequest",
  "V1TokenReview",
  "V1PodDisruptionBudget",
  "V1HorizontalPodAutoscaler",
  "V1ControllerRevision",
  "V1Eviction",
  "V1Status",
  "V1ComponentStatus",
];

/** One entry of a client-node model's `attributeTypeMap`. */
export interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

/** Reads the attributes of a model by name, or `undefined` when client-node has no such model. */
export type ModelReader = (name: string) => Promise<Attribute[] | undefined>;

/** Names client-node uses for types that have no model file of their own. */
const ALIASES: Record<string, string> = {
  string: "s",
  boolean: "b",
  Date: "t",
  V1MicroTime: "t",
  IntOrString: "u",
  any: "*",
  object: "*",
};

/**
 * Encodes one client-node type string (`Array<V1EnvVar>`, `{ [key: string]: string; }`, ...) as a
 * type code; `format` applies to the innermost scalar. `refs` collects the model names used.
 */
export function encodeType(type: string, format: string, refs: Set<string> = new Set()): string {
  const t = type.trim();
  const array = /^Array<(.+)>$/.exec(t);
  if (array) return "[" + encodeType(array[1], format, refs);
  const map = /^\{ *\[key: string\]: *(.+?);? *\}$/.exec(t);
  if (map) return "{" + encodeType(map[1], format, refs);
  if (t === "string") {
    if (format === "byte") return "y";
    if (format === "date-time" || format === "date-time-micro") return "t";
    if (format === "int-or-string") return "u";
    return "s";
  }
  if (t === "number") return format === "int32" || format === "int64" ? "i" : "n";
  if (t in ALIASES) return ALIASES[t];
  if (!/^[A-Z][A-Za-z0-9]*$/.test(t)) throw new Error(`unsupported client-node type "${type}"`);
  refs.add(t);
  return t;
}

/** Builds the table of every type reachable from `roots`, sorted by name. */
export async function buildTable(
  roots: readonly string[],
  read: ModelReader,
): Promise<Record<string, Record<string, string>>> {
  const types: Record<string, Record<string, string>> = {};
  const queue = [...roots];
  const seen = new Set(queue);
  while (queue.length) {
    const name = queue.shift()!;
    const attributes = await read(name);
    if (!attributes) throw new Error(`client-node has no model named ${name}`);
    const refs = new Set<string>();
    const fields: Record<string, string> = {};
    for (const a of attributes) fields[a.baseName] = encodeType(a.type, a.format, refs);
    types[name] = fields;
    for (const r of refs) {
      if (!seen.has(r)) {
        seen.add(r);
        queue.push(r);
      }
    }
  }
  const sorted: Record<string, Record<string, string>> = {};
  for (const name of Object.keys(types).sort()) sorted[name] = types[name];
  return sorted;
}

/** Serialises the table compactly, one type per line (`main` then formats it as `deno fmt` does). */
export function renderTable(source: string, types: Record<string, Record<string, string>>): string {
  const lines = Object.entries(types).map(([name, fields]) =>
    `${JSON.stringify(name)}:${JSON.stringify(fields)}`
  );
  return `{"source":${JSON.stringify(source)},"types":{\n${lines.join(",\n")}\n}}\n`;
}

const MODELS = new URL("../../../node_modules/@kubernetes/client-node/dist/gen/models/", import.meta.url);

/** Reads a model from the installed client-node package. */
export const readInstalledModel: ModelReader = async (name) => {
  const url = new URL(`${name}.js`, MODELS);
  try {
    await Deno.stat(url);
  } catch {
    return undefined;
  }
  const mod = await import(url.href);
  return mod[name]?.attributeTypeMap as Attribute[] | undefined;
};

/** The `source` line of the table: which client-node (and OpenAPI) version it came from. */
export async function installedSource(): Promise<string> {
  const pkg = JSON.parse(
    await Deno.readTextFile(new URL("../package.json", new URL("../../", MODELS))),
  );
  const pod = await Deno.readTextFile(new URL("V1Pod.js", MODELS));
  const spec = /OpenAPI spec version: (\S+)/.exec(pod)?.[1] ?? "unknown";
  return `@kubernetes/client-node ${pkg.version} (Kubernetes OpenAPI ${spec})`;
}

/** Generates the table text from the installed client-node. */
export async function generate(): Promise<string> {
  return renderTable(await installedSource(), await buildTable(ROOTS, readInstalledModel));
}

/** Formats JSON text as `deno fmt` does, so the committed file passes `deno fmt --check`. */
export async function denoFmtJson(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=json", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { success, stdout } = await child.output();
  if (!success) throw new Error("deno fmt failed on the generated table");
  return new TextDecoder().decode(stdout);
}

if (import.meta.main) {
  const out = new URL("./types.json", import.meta.url);
  const text = await denoFmtJson(await generate());
  await Deno.writeTextFile(out, text);
  const count = Object.keys(JSON.parse(text).types).length;
  console.log(`wrote ${out.pathname}: ${count} types, ${text.length} bytes`);
}
