/**
 * Generates `proto_schema.json`, the derived table of Kubernetes protobuf messages the request
 * decoder needs (field numbers, types and JSON facts), for every type of the schema table
 * `control/api/schema/types.json` plus the envelope and the apimachinery types.
 *
 * Inputs are local, uncommitted copies of three upstream repositories at tag v0.34.0 (the
 * Kubernetes 1.34 release that types.json was generated from): `kubernetes/api`,
 * `kubernetes/apimachinery` and `kubernetes/apiextensions-apiserver` on GitHub, e.g. a
 * `git archive v0.34.0 | tar -x -C <dir>` of each. From each API package the script reads:
 * - `generated.proto`, parsed with protobufjs: messages, field numbers, types, maps, repeats;
 * - the Go types (`*.go`): JSON names, `omitempty`, pointers, inline embedding and which structs
 *   are kinds. The `.proto` files do not carry these, and JSON equivalence needs them.
 *
 * Run from the repository root:
 * `deno run -A control/apiserver/protobuf/generate.ts <api-dir> <apimachinery-dir> <apiextensions-dir>`
 *
 * The output is deterministic (sorted, formatted as `deno fmt` formats JSON). The script fails when
 * a message has a field it cannot place, or a model of types.json maps to no message, so a new
 * upstream release cannot silently produce a wrong table.
 * @module
 */
import protobuf from "protobufjs";
import { denoFmtJson } from "../../api/schema/generate.ts";
import TYPES from "../../api/schema/types.json" with { type: "json" };
import { type GoStruct, parseGoStructs } from "./go_structs.ts";
import {
  type FieldEntry,
  isScalar,
  type MessageEntry,
  type ProtoSchema,
  type Representation,
  UNKNOWN,
} from "./schema.ts";

/** The upstream tag the committed table was generated from. */
export const UPSTREAM_TAG = "v0.34.0";

/** One API package: which checkout holds it, and its folder there. */
interface PackageSource {
  repo: "api" | "apimachinery" | "apiextensions";
  dir: string;
}

/** Every package loaded. Each package's API group comes from its `register.go` or `doc.go`. */
export const PACKAGES: readonly PackageSource[] = [
  { repo: "apimachinery", dir: "pkg/runtime/schema" },
  { repo: "apimachinery", dir: "pkg/runtime" },
  { repo: "apimachinery", dir: "pkg/util/intstr" },
  { repo: "apimachinery", dir: "pkg/api/resource" },
  { repo: "apimachinery", dir: "pkg/apis/meta/v1" },
  ...[
    "core/v1",
    "apps/v1",
    "batch/v1",
    "autoscaling/v1",
    "policy/v1",
    "rbac/v1",
    "networking/v1",
    "storage/v1",
    "authorization/v1",
    "authentication/v1",
    "coordination/v1",
    "discovery/v1",
    "events/v1",
    "scheduling/v1",
    "node/v1",
  ].map((dir) => ({ repo: "api" as const, dir })),
  { repo: "apiextensions", dir: "pkg/apis/apiextensions/v1" },
];

/** Messages whose Go type has its own JSON marshaller (upstream `MarshalJSON`). */
export const REPRESENTATIONS: Record<string, Representation> = {
  "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "time",
  "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "microtime",
  "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "duration",
  "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "raw",
  "k8s.io.apimachinery.pkg.runtime.RawExtension": "raw",
  "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "intorstring",
  "k8s.io.apimachinery.pkg.api.resource.Quantity": "quantity",
  "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSON": "raw",
  "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBool": "schemaOrBool",
  "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArray": "schemaOrArray",
  "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArray":
    "schemaOrStringArray",
};

/** Roots types.json does not list: `kubectl auth whoami`'s kind, Duration, the envelope. */
const EXTRA_ROOTS = [
  "k8s.io.api.authentication.v1.SelfSubjectReview",
  "k8s.io.apimachinery.pkg.apis.meta.v1.Duration",
  UNKNOWN,
];

/** What one loaded package contributes. */
export interface LoadedPackage {
  protoPackage: string;
  /** API group ("" for core), or undefined for packages that serve no kinds. */
  group: string | undefined;
  version: string;
  structs: Map<string, GoStruct>;
}

/** The three upstream checkouts. */
export interface Sources {
  api: string;
  apimachinery: string;
  apiextensions: string;
}

async function readGoStructs(dir: string): Promise<Map<string, GoStruct>> {
  const out = new Map<string, GoStruct>();
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".go") || e.name.endsWith("_test.go")) continue;
    if (e.name.startsWith("zz_generated") || e.name === "generated.pb.go") continue;
    for (const [name, s] of parseGoStructs(await Deno.readTextFile(`${dir}/${e.name}`))) out.set(name, s);
  }
  return out;
}

/** The API group of a package: `register.go`'s `GroupName`, or `doc.go`'s `+groupName=`. */
async function groupName(dir: string): Promise<string | undefined> {
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`).catch(() => "");
  return /const GroupName = "([\w.-]*)"/.exec(await read("register.go"))?.[1] ??
    /\+groupName=([\w.-]*)/.exec(await read("doc.go"))?.[1];
}

/** Parses every package into one protobufjs root and reads its Go structs. */
export async function loadPackages(
  src: Sources,
): Promise<{ root: protobuf.Root; packages: LoadedPackage[] }> {
  const root = new protobuf.Root();
  const packages: LoadedPackage[] = [];
  for (const p of PACKAGES) {
    const dir = `${src[p.repo]}/${p.dir}`;
    const parsed = protobuf.parse(await Deno.readTextFile(`${dir}/generated.proto`), root, {
      keepCase: true,
      alternateCommentMode: true,
    });
    const group = await groupName(dir);
    packages.push({
      protoPackage: parsed.package!,
      group,
      version: p.dir.split("/").at(-1)!,
      structs: await readGoStructs(dir),
    });
  }
  root.resolveAll();
  return { root, packages };
}

function allTypes(ns: protobuf.NamespaceBase, out: protobuf.Type[] = []): protobuf.Type[] {
  for (const child of ns.nestedArray) {
    if (child instanceof protobuf.Type) out.push(child);
    if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) allTypes(child, out);
  }
  return out;
}

const fullName = (t: protobuf.ReflectionObject): string => t.fullName.replace(/^\./, "");

/** A named Go slice that go-to-protobuf wraps in a message with one `items` field. */
function isItemsWrapper(t: protobuf.Type): boolean {
  return /\+protobuf\.nullable=true/.test(t.comment ?? "") && t.fieldsArray.length === 1 &&
    t.fieldsArray[0].name === "items" && t.fieldsArray[0].repeated;
}

/** Builds one message entry, checking every field against its Go struct. */
export function messageEntry(t: protobuf.Type, structs: Map<string, GoStruct>): MessageEntry {
  const name = fullName(t);
  const as = REPRESENTATIONS[name] ?? (isItemsWrapper(t) ? "items" : undefined);
  const struct = structs.get(t.name);
  if (!struct && !as) throw new Error(`${name}: no Go struct ${t.name} and no custom JSON form`);
  const f: FieldEntry[] = t.fieldsArray.map((field) => {
    let type: string;
    if (field instanceof protobuf.MapField) {
      if (field.keyType !== "string") throw new Error(`${name}.${field.name}: map key ${field.keyType}`);
      type = "{" + (field.resolvedType ? fullName(field.resolvedType) : field.type);
    } else {
      type = (field.repeated ? "[" : "") + (field.resolvedType ? fullName(field.resolvedType) : field.type);
    }
    const base = type.replace(/^[[{]/, "");
    if (!field.resolvedType && !isScalar(base)) {
      throw new Error(`${name}.${field.name}: unresolved type ${base}`);
    }
    // A message with a custom JSON form takes nothing from its Go fields.
    const go = as ? undefined : struct?.fields.find((g) => g.number === field.id);
    if (struct && !as && !go) {
      throw new Error(`${name}.${field.name}: no Go field with protobuf number ${field.id}`);
    }
    if (go && go.protoName !== field.name) {
      throw new Error(`${name}.${field.name}: Go tag names it ${go.protoName}`);
    }
    let flags = "";
    if (
      go && isScalar(base) && !field.repeated && !field.map && base !== "bytes" &&
      (go.pointer || !go.omitEmpty)
    ) {
      flags += "z";
    }
    if (go?.inline) {
      if (!field.resolvedType) throw new Error(`${name}.${field.name}: inline field of scalar type`);
      flags += "i";
    }
    const entry: FieldEntry = [field.id, field.name, type];
    const jsonName = go && !go.inline && go.jsonName !== "-" ? go.jsonName : field.name;
    if (jsonName !== field.name) entry.push(flags, jsonName);
    else if (flags) entry.push(flags);
    return entry;
  });
  return as ? { f, as } : { f };
}

/** The JSON field names of a message, with inline fields expanded. */
function jsonFields(schema: Record<string, MessageEntry>, name: string): string[] {
  return schema[name].f.flatMap(([, protoName, type, flags = "", jsonName]) =>
    flags.includes("i") ? jsonFields(schema, type) : [jsonName ?? protoName]
  );
}

/** Parses a client-node model name: `AuthenticationV1TokenRequest` → Authentication, v1, TokenRequest. */
export function parseModelName(model: string): { group?: string; version: string; kind: string } | undefined {
  const m = /^([A-Z][a-z]+)?(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$/.exec(model);
  if (!m) return undefined;
  return { group: m[1]?.toLowerCase(), version: m[2].toLowerCase(), kind: m[3] };
}

/** The group segment of a protobuf package, as client-node prefixes it (`core`, `rbac`, `meta`). */
export function packageSegment(protoPackage: string): string {
  const parts = protoPackage.split(".");
  return parts.at(-2)!;
}

/** Options of {@link buildSchema}. */
export interface BuildOptions {
  /** The table's `source` line. */
  source: string;
  /** Messages kept besides those of the models (default: SelfSubjectReview, Duration, Unknown). */
  extraRoots?: readonly string[];
}

/** Builds the whole table from loaded packages and the types.json models. */
export function buildSchema(
  loaded: { root: protobuf.Root; packages: LoadedPackage[] },
  models: Record<string, Record<string, string>>,
  opts: BuildOptions,
): ProtoSchema {
  const { root, packages } = loaded;
  const byPackage = new Map(packages.map((p) => [p.protoPackage, p]));
  const types = new Map<string, protobuf.Type>();
  for (const t of allTypes(root)) {
    if (!byPackage.has(fullName(t.parent!))) {
      throw new Error(`${fullName(t)}: message outside the loaded packages`);
    }
    types.set(fullName(t), t);
  }
  // Entries are built on demand: only the messages the table keeps must be fully understood.
  const built: Record<string, MessageEntry> = {};
  const entries = new Proxy(built, {
    get(target, n: string) {
      const t = types.get(n);
      if (!t) throw new Error(`no message ${n}`);
      return target[n] ??= messageEntry(t, byPackage.get(fullName(t.parent!))!.structs);
    },
  });
  // Map each client-node model to a message: by version, kind and group prefix, then by fields.
  const modelMap: Record<string, string> = {};
  const problems: string[] = [];
  for (const [model, fields] of Object.entries(models)) {
    const parsed = parseModelName(model);
    if (!parsed) {
      problems.push(`${model}: not a client-node model name`);
      continue;
    }
    // A kind's apiVersion and kind are its inline TypeMeta, which is not on the wire.
    const want = (n: string) => {
      const t = types.get(n)!;
      const kind = byPackage.get(fullName(t.parent!))!.structs.get(t.name)?.hasTypeMeta;
      return Object.keys(fields).filter((k) => !kind || (k !== "apiVersion" && k !== "kind")).sort().join(
        ",",
      );
    };
    let candidates = [...types.keys()].filter((n) => {
      const t = types.get(n)!;
      const pkg = byPackage.get(fullName(t.parent!))!;
      return t.name === parsed.kind && pkg.version === parsed.version &&
        (!parsed.group || packageSegment(pkg.protoPackage) === parsed.group);
    });
    if (candidates.length > 1) {
      candidates = candidates.filter((n) => jsonFields(entries, n).sort().join(",") === want(n));
    }
    if (candidates.length !== 1) {
      problems.push(`${model}: ${candidates.length} candidate messages`);
      continue;
    }
    const got = jsonFields(entries, candidates[0]).sort().join(",");
    if (got !== want(candidates[0])) {
      problems.push(`${model}: fields differ: protobuf ${got} / types.json ${want(candidates[0])}`);
    }
    modelMap[model] = candidates[0];
  }
  if (problems.length) {
    throw new Error(`types.json and the protobuf messages disagree:\n${problems.join("\n")}`);
  }

  // Keep what the roots reach.
  const keep = new Set<string>();
  const queue = [...Object.values(modelMap), ...(opts.extraRoots ?? EXTRA_ROOTS)];
  while (queue.length) {
    const n = queue.pop()!;
    if (keep.has(n)) continue;
    keep.add(n);
    for (const [, , type] of entries[n].f) {
      const base = type.replace(/^[[{]/, "");
      if (!isScalar(base)) queue.push(base);
    }
  }
  const kinds: Record<string, string> = {};
  for (const n of keep) {
    const t = types.get(n)!;
    const pkg = byPackage.get(fullName(t.parent!))!;
    if (pkg.group === undefined || !pkg.structs.get(t.name)?.hasTypeMeta || t.name.endsWith("List")) continue;
    kinds[`${pkg.group ? pkg.group + "/" : ""}${pkg.version}/${t.name}`] = n;
  }
  const sorted = <T>(r: Record<string, T>) =>
    Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const messages = sorted(Object.fromEntries([...keep].map((n) => [n, entries[n]])));
  return { source: opts.source, kinds: sorted(kinds), models: sorted(modelMap), messages };
}

/** Serialises the table with one message, kind or model per line (then formatted by `deno fmt`). */
export function renderSchema(schema: ProtoSchema): string {
  const block = (r: Record<string, unknown>) =>
    Object.entries(r).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",\n");
  return `{"source":${JSON.stringify(schema.source)},\n"kinds":{\n${block(schema.kinds)}},\n` +
    `"models":{\n${block(schema.models)}},\n"messages":{\n${block(schema.messages)}}}\n`;
}

async function main(args: string[]): Promise<void> {
  if (args.length !== 3) {
    console.error(
      "usage: generate.ts <kubernetes/api dir> <kubernetes/apimachinery dir> <apiextensions-apiserver dir>",
    );
    Deno.exit(2);
  }
  const [api, apimachinery, apiextensions] = args;
  const source =
    `kubernetes/api, kubernetes/apimachinery and kubernetes/apiextensions-apiserver ${UPSTREAM_TAG}: ` +
    `generated.proto and Go struct tags`;
  const schema = buildSchema(await loadPackages({ api, apimachinery, apiextensions }), TYPES.types, {
    source,
  });
  const out = new URL("./proto_schema.json", import.meta.url);
  await Deno.writeTextFile(out, await denoFmtJson(renderSchema(schema)));
  console.log(
    `${out.pathname}: ${Object.keys(schema.messages).length} messages, ${
      Object.keys(schema.kinds).length
    } kinds`,
  );
}

if (import.meta.main) await main(Deno.args);
