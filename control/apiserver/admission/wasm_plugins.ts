/**
 * The WasmPlugins admission step: calls the admission Plugins (`skiff.dev/v1alpha1`, kind
 * `admission`) in their declared order (`spec.admission.order`, then name), after the built-in
 * steps, as upstream calls admission webhooks: over HTTPS to the plugin host, with an
 * `admission.k8s.io/v1` AdmissionReview. Mutating plugins (`spec.admission.mutating`) run in the
 * mutating phase and their JSON Patch is applied; every matching plugin validates.
 *
 * The Plugin objects are read from a watch-fed cache of this API server, so a Plugin applied,
 * changed or deleted takes effect on the next request, without a restart. Plugin objects
 * themselves are never sent to plugins (a broken plugin could otherwise lock itself in), as
 * upstream exempts webhook configurations.
 *
 * Outcomes, as upstream's webhook admission:
 * - denied: `admission webhook "<plugin>" denied the request: <message>` with the plugin's code
 *   (403 Forbidden by default);
 * - failed (trap, timeout, memory, capability, garbage, not loaded, host unreachable) with
 *   failurePolicy Fail: 500 `Internal error occurred: failed calling webhook "<plugin>": …`;
 *   with Ignore the plugin is skipped.
 *
 * Calls travel over one long-lived WebSocket to the plugin host (its `/channel`), falling back to
 * `POST` over HTTP(S) when the channel cannot be opened (control/api/plugin_channel.ts). Uses only
 * web APIs and the API server's own store: it runs on Deno Deploy (configure the plugin host by
 * URL).
 * @module
 */
import {
  type PluginFailure,
  type PluginObject,
  PLUGINS,
  ruleMatches,
} from "../../api/plugins.ts";
import { ApiError, internalError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { Store, WatchHub } from "../../store/mod.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "../context.ts";
import { applyJsonPatch } from "../patch/json_patch.ts";
import type { Served } from "../resources.ts";
import { PluginHostCaller, type PluginHostCallerOptions } from "../../api/plugin_channel.ts";
import { ObjectCache } from "./object_cache.ts";

/** How to reach the plugin host (its channel, or HTTP: control/api/plugin_channel.ts). */
export type WasmAdmissionOptions = PluginHostCallerOptions;

const STATUS_REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  409: "Conflict",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
};

/** Whether a Plugin applies to a write. Pure. */
export function pluginApplies(p: PluginObject, attrs: Pick<AdmissionAttributes, "operation" | "def" | "namespace" | "subresource">): boolean {
  const adm = p.spec.admission ?? {};
  if (adm.namespaces?.length && !adm.namespaces.includes(attrs.namespace)) return false;
  if (adm.excludeNamespaces?.includes(attrs.namespace)) return false;
  const req = {
    operation: attrs.operation,
    group: attrs.def.group,
    version: attrs.def.version,
    resource: attrs.def.plural,
    subresource: attrs.subresource,
  };
  return (adm.rules ?? [{}]).some((r) => ruleMatches(r, req));
}

/** The AdmissionReview request of a write. Pure. */
export function admissionReview(attrs: AdmissionAttributes, uid: string): Record<string, unknown> {
  const d = attrs.def;
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: d.group, version: d.version, kind: d.kind },
      resource: { group: d.group, version: d.version, resource: d.plural },
      ...(attrs.subresource ? { subResource: attrs.subresource } : {}),
      requestKind: { group: d.group, version: d.version, kind: d.kind },
      requestResource: { group: d.group, version: d.version, resource: d.plural },
      name: attrs.name,
      namespace: attrs.namespace,
      operation: attrs.operation,
      userInfo: {
        username: attrs.user.username,
        ...(attrs.user.uid ? { uid: attrs.user.uid } : {}),
        groups: attrs.user.groups,
        ...(attrs.user.extra ? { extra: attrs.user.extra } : {}),
      },
      object: attrs.object,
      oldObject: attrs.oldObject,
      dryRun: attrs.dryRun,
    },
  };
}

/** The admission step. `close()` stops its Plugin cache (it also stops with the hub). */
export class WasmAdmission implements AdmissionPlugin {
  readonly name = "WasmPlugins";
  readonly #plugins: ObjectCache;
  readonly #opts: WasmAdmissionOptions;
  readonly #caller: PluginHostCaller;

  constructor(server: { store: Store; hub: WatchHub; resource(g: string, v: string, p: string): Served | undefined }, opts: WasmAdmissionOptions) {
    const served = server.resource(PLUGINS.group, PLUGINS.version, PLUGINS.plural);
    if (!served) throw new Error("the API server does not serve plugins.skiff.dev; WasmPlugins admission needs it");
    this.#plugins = new ObjectCache(server.store, server.hub, served.store);
    this.#opts = opts;
    this.#caller = new PluginHostCaller(opts);
  }

  /** Calls made over the plugin host's channel and over HTTP (benchmarks, tests). */
  get calls(): { channel: number; http: number } {
    return this.#caller.stats;
  }

  /** Admission Plugins that apply to a write, in order. */
  async matching(attrs: AdmissionAttributes, mutating: boolean): Promise<PluginObject[]> {
    if (attrs.def.group === PLUGINS.group && attrs.def.plural === PLUGINS.plural) return [];
    const all = (await this.#plugins.list("")) as PluginObject[];
    return all
      .filter((p) => p.spec?.kind === "admission" && !p.metadata.deletionTimestamp)
      .filter((p) => !mutating || p.spec.admission?.mutating === true)
      .filter((p) => pluginApplies(p, attrs))
      .sort((a, b) => (a.spec.admission?.order ?? 0) - (b.spec.admission?.order ?? 0) || a.metadata.name!.localeCompare(b.metadata.name!));
  }

  async admit(attrs: AdmissionAttributes): Promise<void> {
    if (!attrs.object) return;
    for (const p of await this.matching(attrs, true)) {
      const response = await this.#call(p, "mutate", attrs);
      if (!response) continue;
      this.#denied(p, response, attrs);
      if (response.patch && response.patchType === "JSONPatch") {
        let patched: unknown;
        try {
          const ops = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(response.patch), (c) => c.charCodeAt(0))));
          patched = applyJsonPatch(structuredClone(attrs.object), ops);
        } catch (e) {
          if (this.#failOpen(p)) continue;
          throw internalError(`Internal error occurred: failed calling webhook "${p.metadata.name}": the patch does not apply: ${(e as Error).message}`);
        }
        const obj = attrs.object as Record<string, unknown>;
        for (const k of Object.keys(obj)) delete obj[k];
        Object.assign(obj, patched as KubeObject);
      }
    }
  }

  async validate(attrs: AdmissionAttributes): Promise<void> {
    for (const p of await this.matching(attrs, false)) {
      const response = await this.#call(p, "validate", attrs);
      if (response) this.#denied(p, response, attrs);
    }
  }

  #failOpen(p: PluginObject): boolean {
    return p.spec.failurePolicy === "Ignore";
  }

  #denied(p: PluginObject, r: AdmissionResponse, attrs: AdmissionAttributes): void {
    for (const w of r.warnings ?? []) attrs.warnings?.push(w);
    if (r.allowed) return;
    const code = r.status?.code || 403;
    const message = r.status?.message
      ? `admission webhook "${p.metadata.name}" denied the request: ${r.status.message}`
      : `admission webhook "${p.metadata.name}" denied the request without explanation`;
    throw new ApiError({ code, reason: r.status?.reason ?? STATUS_REASONS[code] ?? "Forbidden", message });
  }

  /** One call; null when it failed and the plugin's failurePolicy is Ignore. */
  async #call(p: PluginObject, phase: "mutate" | "validate", attrs: AdmissionAttributes): Promise<AdmissionResponse | null> {
    const name = p.metadata.name!;
    const timeoutMs = ((p.spec.timeoutSeconds ?? 10) + 1) * 1000;
    let failure: string;
    try {
      const res = await this.#caller.post(
        `/admission/${encodeURIComponent(name)}/${phase}`,
        admissionReview(attrs, crypto.randomUUID()),
        timeoutMs,
      );
      const body = res.body as { response?: AdmissionResponse } | null;
      if (res.status >= 200 && res.status < 300 && body?.response) return body.response;
      const f = body as PluginFailure | null;
      failure = f?.kind === "PluginFailure" ? `${f.reason}: ${f.message}` : `the plugin host answered ${res.status}`;
    } catch (e) {
      failure = `Unreachable: the plugin host at ${this.#opts.url} did not answer: ${(e as Error).message}`;
    }
    if (this.#failOpen(p)) return null;
    throw internalError(`Internal error occurred: failed calling webhook "${name}": ${failure}`);
  }

  /** Closes the channel to the plugin host (the Plugin cache stops with the watch hub). */
  close(): void {
    this.#caller.close();
  }
}

interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code?: number; message?: string; reason?: string };
  patchType?: string;
  patch?: string;
  warnings?: string[];
}

/** Builds the step (what the lead adds to `ApiServerOptions.admission`). */
export function wasmAdmission(
  server: { store: Store; hub: WatchHub; resource(g: string, v: string, p: string): Served | undefined },
  opts: WasmAdmissionOptions,
): WasmAdmission {
  return new WasmAdmission(server, opts);
}
