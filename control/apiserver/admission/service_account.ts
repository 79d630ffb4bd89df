/**
 * The ServiceAccount admission step (upstream `plugin/pkg/admission/serviceaccount`), on pod
 * creation: `serviceAccountName` defaults to `default`; a pod whose ServiceAccount does not exist is
 * refused (403 `error looking up service account <ns>/<name>: serviceaccount "<name>" not found`,
 * after waiting briefly for the `default` account the serviceaccount controller creates); the
 * account's imagePullSecrets are copied; and unless `automountServiceAccountToken: false` (pod
 * first, then account) every container and init container mounts the projected volume
 * `kube-api-access-<5 random>` read-only at `/var/run/secrets/kubernetes.io/serviceaccount`: a
 * bound token (`token`, 3607 s), the cluster CA (`ca.crt` from the ConfigMap `kube-root-ca.crt`)
 * and the namespace (`namespace`). Wasm pods get the same volume; the node agent preopens it.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { forbidden } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { ObjectReader } from "./lookup.ts";
import type { AdmissionPlugin } from "../context.ts";
import { admissionName } from "./resource_quota.ts";

export const DEFAULT_SERVICE_ACCOUNT = "default";
/** Upstream `DefaultAPITokenMountPath`. */
export const TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
/** Upstream `ServiceAccountVolumeName`: the prefix of the generated volume name. */
export const TOKEN_VOLUME_PREFIX = "kube-api-access";
/** Upstream `WarnOnlyBoundTokenExpirationSeconds`. */
export const TOKEN_EXPIRATION_SECONDS = 3607;
/** The ConfigMap the root CA publisher writes in every namespace. */
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";

/** Upstream `names.SimpleNameGenerator`: base plus 5 characters from a vowel-free alphabet. */
export function randomSuffix(n = 5): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return [...bytes].map((b) => alphabet[b % alphabet.length]).join("");
}

/** Upstream `TokenVolumeSource`: the projected volume of a pod's API credentials. */
export function tokenVolume(name: string): Record<string, unknown> {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: "token" } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
          },
        },
      ],
    },
  };
}

/** Upstream `shouldAutomount`: the pod's preference wins, then the account's, else true. */
export function shouldAutomount(sa: KubeObject, pod: KubeObject): boolean {
  if (typeof pod.spec?.automountServiceAccountToken === "boolean") {
    return pod.spec.automountServiceAccountToken;
  }
  if (typeof sa.automountServiceAccountToken === "boolean") return sa.automountServiceAccountToken;
  return true;
}

/**
 * Upstream `mountServiceAccountToken`, pure on `pod`: every container and init container without
 * a mount at the token path mounts the token volume, which is added if some container needs it.
 */
export function mountServiceAccountToken(
  pod: KubeObject,
  volumeName = `${TOKEN_VOLUME_PREFIX}-${randomSuffix()}`,
): void {
  const spec = pod.spec;
  const volumes: any[] = Array.isArray(spec.volumes) ? spec.volumes : [];
  const existing = volumes.find((v) =>
    typeof v?.name === "string" && v.name.startsWith(`${TOKEN_VOLUME_PREFIX}-`)
  );
  const name: string = existing?.name ?? volumeName;
  let needed = false;
  for (const list of [spec.initContainers, spec.containers]) {
    for (const c of Array.isArray(list) ? list : []) {
      if (!c || typeof c !== "object") continue;
      const mounts: any[] = Array.isArray(c.volumeMounts) ? c.volumeMounts : [];
      if (mounts.some((m) => m?.mountPath === TOKEN_MOUNT_PATH)) continue;
      c.volumeMounts = [...mounts, { name, readOnly: true, mountPath: TOKEN_MOUNT_PATH }];
      needed = true;
    }
  }
  if (!existing && needed) spec.volumes = [...volumes, tokenVolume(name)];
}

/** Options of {@linkcode serviceAccountAdmission}. */
export interface ServiceAccountOptions {
  /**
   * Add the token volume (upstream `MountServiceAccountToken`, default true). Turn it off while
   * the node agent cannot project service account tokens.
   */
  mountServiceAccountToken?: boolean;
  /** Lookups of the `default` account before refusing (upstream 10, 100-200 ms apart). */
  defaultLookupAttempts?: number;
  /** Pause between lookups, ms (default 100-200, random). */
  lookupIntervalMs?: () => number;
}

/** The ServiceAccount plugin, reading ServiceAccounts through `accounts`. */
export function serviceAccountAdmission(
  accounts: ObjectReader,
  opts: ServiceAccountOptions = {},
): AdmissionPlugin {
  const mount = opts.mountServiceAccountToken ?? true;
  const attempts = opts.defaultLookupAttempts ?? 10;
  const interval = opts.lookupIntervalMs ?? (() => 100 + Math.floor(Math.random() * 100));

  /** Upstream `getServiceAccount`: the `default` account is waited for, others are looked up once. */
  const lookup = async (ns: string, name: string): Promise<KubeObject | null> => {
    const n = name === DEFAULT_SERVICE_ACCOUNT ? attempts : 1;
    for (let i = 0; i < n; i++) {
      if (i) await new Promise((r) => setTimeout(r, interval()));
      const sa = await accounts.get(ns, name);
      if (sa) return sa;
    }
    return null;
  };

  return {
    name: "ServiceAccount",
    async admit(a) {
      if (
        a.def.group !== "" || a.def.plural !== "pods" || a.subresource || a.operation !== "CREATE" ||
        !a.object
      ) return;
      const pod = a.object;
      pod.spec ??= {};
      const gr = { group: "", resource: "pods" };
      if (pod.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) {
        // A mirror pod's spec is the kubelet's: it may not reference accounts (upstream).
        if (pod.spec.serviceAccountName && pod.spec.serviceAccountName !== DEFAULT_SERVICE_ACCOUNT) {
          throw forbidden(gr, admissionName(a), "a mirror pod may not reference service accounts");
        }
        return;
      }
      if (!pod.spec.serviceAccountName) pod.spec.serviceAccountName = DEFAULT_SERVICE_ACCOUNT;
      pod.spec.serviceAccount = pod.spec.serviceAccountName;
      const name: string = pod.spec.serviceAccountName;
      const sa = await lookup(a.namespace, name);
      if (!sa) {
        throw forbidden(
          gr,
          admissionName(a),
          `error looking up service account ${a.namespace}/${name}: serviceaccount "${name}" not found`,
        );
      }
      if (mount && shouldAutomount(sa, pod)) mountServiceAccountToken(pod);
      if (!pod.spec.imagePullSecrets?.length && sa.imagePullSecrets?.length) {
        pod.spec.imagePullSecrets = sa.imagePullSecrets.map((s: any) => ({ name: s?.name }));
      }
    },
  };
}
