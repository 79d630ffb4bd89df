/**
 * The WasmPlugins admission step: calls the admission Plugins (`skiff.dev/v1alpha1`, kind
 * `admission`) in their declared order (`spec.admission.order`, then name), after the built-in
 * steps, as upstream calls admission webhooks: over HTTPS to the plugin host, with an
 * `admission.k8s.io/v1` AdmissionReview. Mutating plugins (`spec.admission.mutating`) run in the
 * mutating phase, one after the other, and their JSON Patch is applied; every matching plugin
 * validates, all at once (upstream's validating dispatcher calls its webhooks in parallel).
 *
 * A mutating plugin is called once for both phases (`mutate-validate`): when its `mutate` allows
 * without a patch, the plugin host also answers its `validate` on the same object, and the
 * validating phase uses that answer if the object is still byte-for-byte (as JSON) what the
 * plugin saw — otherwise (a later mutation changed it, or the plugin patched) it calls `validate`
 * on the final object, as upstream does. Plugins must answer deterministically (the conformance
 * suite checks it), so the answer is the one a second call would give. One difference: a failure
 * of that early `validate` fails the call in the mutating phase (same status and message).
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
 * Calls go straight to the plugin's runner on the unix socket the plugin host publishes (the
 * direct path, control/api/plugin_direct.ts: two process wake-ups instead of four; the host
 * still enforces deadlines), else over one long-lived TCP connection to the plugin host (its
 * `/channel`), falling back to `POST` over HTTP(S) when the channel cannot be opened
 * (control/api/plugin_channel.ts). Uses only web APIs, socket connects and the API server's own
 * store: it runs on Deno Deploy (configure the plugin host by URL; the sockets are unreachable
 * there, so every call goes through the host).
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
import { PluginDirectCaller } from "../../api/plugin_direct.ts";
import { ObjectCache } from "./object_cache.ts";
import { CONTROLLER_DURATION, type ObserveAdmission, WEBHOOK_DURATION } from "./admission_duration.ts";

/**
 * How to reach the plugin host (its channel, or HTTP: control/api/plugin_channel.ts), whether
 * to call plugins' runners directly when the host publishes their endpoints
 * (control/api/plugin_direct.ts; default true), and where to report how long each plugin call
 * and each phase of the step took (upstream's admission duration metrics: admission_duration.ts).
 */
export type WasmAdmissionOptions = PluginHostCallerOptions & { direct?: boolean; observe?: ObserveAdmission };

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
  /** Straight to the plugins' runners, when the host publishes where they listen. */
  readonly #direct: PluginDirectCaller | null;
  /** Per write in flight: the validating answers given with the mutating call, by plugin. */
  readonly #validated = new WeakMap<AdmissionAttributes, Map<string, { json: string; response: AdmissionResponse }>>();
  /** Until when mutating plugins get `mutate` alone: the plugin host answered 404 to `mutate-validate`. */
  #unfusedUntil = 0;
  /** Validating answers taken from the mutating call instead of a second call (tests, benchmarks). */
  readonly stats = { reused: 0 };

  constructor(server: { store: Store; hub: WatchHub; resource(g: string, v: string, p: string): Served | undefined }, opts: WasmAdmissionOptions) {
    const served = server.resource(PLUGINS.group, PLUGINS.version, PLUGINS.plural);
    if (!served) throw new Error("the API server does not serve plugins.skiff.dev; WasmPlugins admission needs it");
    this.#plugins = new ObjectCache(server.store, server.hub, served.store);
    this.#opts = opts;
    this.#caller = new PluginHostCaller(opts);
    this.#direct = opts.direct === false ? null : new PluginDirectCaller((path, body, ms) => this.#caller.post(path, body, ms, { counted: false }));
  }

  /** Calls made over the plugin host's channel and over HTTP (benchmarks, tests). */
  get calls(): { channel: number; http: number; direct: number } {
    return { ...this.#caller.stats, direct: this.#direct?.stats.direct ?? 0 };
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

  admit(attrs: AdmissionAttributes): Promise<void> {
    return this.#opts.observe ? this.#timed("admit", attrs, () => this.#admit(attrs)) : this.#admit(attrs);
  }

  /**
   * The validating phase. As upstream dispatches validating webhooks, the plugins are called in
   * parallel (one round trip for all of them, not one each); their answers are then taken in the
   * declared order, so the error a client sees does not depend on which answered first.
   */
  validate(attrs: AdmissionAttributes): Promise<void> {
    return this.#opts.observe ? this.#timed("validate", attrs, () => this.#validate(attrs)) : this.#validate(attrs);
  }

  /** One phase of the step, timed (`apiserver_admission_controller_admission_duration_seconds`). */
  async #timed(type: "admit" | "validate", attrs: AdmissionAttributes, phase: () => Promise<void>): Promise<void> {
    const t = performance.now();
    let rejected = true;
    try {
      await phase();
      rejected = false;
    } finally {
      const seconds = (performance.now() - t) / 1000;
      this.#opts.observe!({ metric: CONTROLLER_DURATION, name: this.name, type, operation: attrs.operation, rejected, seconds }, attrs);
    }
  }

  async #admit(attrs: AdmissionAttributes): Promise<void> {
    if (!attrs.object) return;
    for (const p of await this.matching(attrs, true)) {
      const review = await this.#mutate(p, attrs);
      if (!review) continue;
      const response = review.response!;
      this.#denied(p, response, attrs);
      if (review.validated) {
        // No patch: the plugin validated the object as it is now; kept while it stays so.
        let kept = this.#validated.get(attrs);
        if (!kept) this.#validated.set(attrs, kept = new Map());
        kept.set(p.metadata.name!, { json: JSON.stringify(attrs.object), response: review.validated });
      }
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

  async #validate(attrs: AdmissionAttributes): Promise<void> {
    const kept = this.#validated.get(attrs);
    this.#validated.delete(attrs);
    let now: string | undefined;
    const plugins = await this.matching(attrs, false);
    const answers = await Promise.allSettled(plugins.map((p) => {
      const early = kept?.get(p.metadata.name!);
      // The answer of the mutating call holds only for exactly the object it saw.
      if (early && early.json === (now ??= JSON.stringify(attrs.object))) {
        this.stats.reused++;
        return { response: early.response } as Review;
      }
      return this.#call(p, "validate", attrs);
    }));
    answers.forEach((a, i) => {
      if (a.status === "rejected") throw a.reason;
      if (a.value) this.#denied(plugins[i], a.value.response!, attrs);
    });
  }

  /**
   * A mutating plugin's call: both phases in one round trip (`mutate-validate`), or `mutate`
   * alone from a plugin host that does not serve it (an older version answers 404).
   */
  async #mutate(p: PluginObject, attrs: AdmissionAttributes): Promise<Review | null> {
    if (Date.now() >= this.#unfusedUntil) {
      const r = await this.#call(p, "mutate-validate", attrs);
      if (r !== NO_ROUTE) return r;
      // An older plugin host: ask again in a minute (it may have been upgraded).
      this.#unfusedUntil = Date.now() + 60_000;
    }
    const r = await this.#call(p, "mutate", attrs);
    return r === NO_ROUTE ? this.#failed(p, "the plugin host answered 404") : r;
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

  /**
   * One call; null when it failed and the plugin's failurePolicy is Ignore; NO_ROUTE when the
   * plugin host does not serve the phase. Timed when observed
   * (`apiserver_admission_webhook_admission_duration_seconds`).
   */
  #call(p: PluginObject, phase: AdmissionPhase, attrs: AdmissionAttributes): Promise<Review | null> {
    const observe = this.#opts.observe;
    if (!observe) return this.#callOnce(p, phase, attrs);
    const t = performance.now();
    const done = (r: Review | null, rejected: boolean) => {
      const seconds = (performance.now() - t) / 1000;
      const type = phase === "validate" ? "validating" : "admit";
      observe({ metric: WEBHOOK_DURATION, name: p.metadata.name!, type, operation: attrs.operation, rejected, seconds }, attrs);
      return r;
    };
    return this.#callOnce(p, phase, attrs).then(
      (r) => done(r, r?.response?.allowed === false || r?.validated?.allowed === false),
      (e) => {
        done(null, true);
        throw e;
      },
    );
  }

  async #callOnce(p: PluginObject, phase: AdmissionPhase, attrs: AdmissionAttributes): Promise<Review | null> {
    const name = p.metadata.name!;
    const deadlineMs = (p.spec.timeoutSeconds ?? 10) * 1000;
    const timeoutMs = deadlineMs + 1000;
    let failure: string;
    try {
      const path = `/admission/${encodeURIComponent(name)}/${phase}`;
      const uid = crypto.randomUUID();
      const review = admissionReview(attrs, uid);
      const started = Date.now();
      // Straight to the plugin's runner when it can be reached; else through the plugin host.
      const res = await this.#direct?.post(name, path, review, uid, deadlineMs) ??
        await this.#caller.post(path, review, Math.max(1, timeoutMs - (Date.now() - started)));
      const body = res.body as Review | null;
      if (res.status >= 200 && res.status < 300 && body?.response) return body;
      const f = body as PluginFailure | null;
      if (res.status === 404 && phase === "mutate-validate" && f?.kind !== "PluginFailure") return NO_ROUTE;
      failure = f?.kind === "PluginFailure" ? `${f.reason}: ${f.message}` : `the plugin host answered ${res.status}`;
    } catch (e) {
      failure = `Unreachable: the plugin host at ${this.#opts.url} did not answer: ${(e as Error).message}`;
    }
    return this.#failed(p, failure);
  }

  /** A failed call: null (skip the plugin) with failurePolicy Ignore; else throws the 500. */
  #failed(p: PluginObject, failure: string): null {
    if (this.#failOpen(p)) return null;
    throw internalError(`Internal error occurred: failed calling webhook "${p.metadata.name}": ${failure}`);
  }

  /** Closes the channel to the plugin host (the Plugin cache stops with the watch hub). */
  close(): void {
    this.#direct?.close();
    this.#caller.close();
  }
}

/** The plugin host's admission calls (plugins/admission/binding.ts `ADMISSION_PHASES`). */
type AdmissionPhase = "validate" | "mutate" | "mutate-validate";

/** The plugin host's answer: an AdmissionReview, with `validated` after `mutate-validate`. */
interface Review {
  response?: AdmissionResponse;
  validated?: AdmissionResponse;
}

/** The plugin host does not serve a phase (an older version). */
const NO_ROUTE = { response: undefined } as Review;

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
