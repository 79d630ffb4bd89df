/**
 * What a pod or a PersistentVolume refers to, for the node authorizer's graph (upstream
 * `podutil.VisitPodSecretNames`, `VisitPodConfigmapNames`, `pvutil.VisitPVSecretNames` and the
 * graph populator): secrets, config maps, claims and the service account of a pod; the claim and
 * secrets of a volume. Pure.
 *
 * @example
 * ```ts
 * podRefs(pod); // ["secret/default/db", "configmap/default/cfg", "serviceaccount/default/default"]
 * ```
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { KubeObject } from "../../api/types.ts";

/** The kinds of objects a node may reach through its pods. */
export type RefKind =
  | "secret"
  | "configmap"
  | "persistentvolumeclaim"
  | "persistentvolume"
  | "serviceaccount";

/** `kind/namespace/name` (namespace empty for PersistentVolumes). */
export function refKey(kind: RefKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

function containersOf(spec: any): any[] {
  return [...arr(spec?.initContainers), ...arr(spec?.containers), ...arr(spec?.ephemeralContainers)];
}

/** Every object a pod uses, as {@link refKey}s, without duplicates. */
export function podRefs(pod: KubeObject): string[] {
  const ns = pod.metadata.namespace ?? "";
  const spec = pod.spec ?? {};
  const out = new Set<string>();
  const secret = (name: unknown) => str(name) && out.add(refKey("secret", ns, str(name)));
  const configMap = (name: unknown) => str(name) && out.add(refKey("configmap", ns, str(name)));

  for (const s of arr(spec.imagePullSecrets)) secret(s?.name);
  for (const c of containersOf(spec)) {
    for (const e of arr(c?.envFrom)) {
      secret(e?.secretRef?.name);
      configMap(e?.configMapRef?.name);
    }
    for (const e of arr(c?.env)) {
      secret(e?.valueFrom?.secretKeyRef?.name);
      configMap(e?.valueFrom?.configMapKeyRef?.name);
    }
  }
  for (const v of arr(spec.volumes)) {
    secret(v?.secret?.secretName);
    configMap(v?.configMap?.name);
    for (const src of arr(v?.projected?.sources)) {
      secret(src?.secret?.name);
      configMap(src?.configMap?.name);
    }
    secret(v?.azureFile?.secretName);
    for (const k of ["cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageos"]) {
      secret(v?.[k]?.secretRef?.name);
    }
    secret(v?.csi?.nodePublishSecretRef?.name);
    const claim = str(v?.persistentVolumeClaim?.claimName);
    if (claim) out.add(refKey("persistentvolumeclaim", ns, claim));
    if (v?.ephemeral && str(v?.name)) {
      // Generic ephemeral volumes: the claim is named `<pod>-<volume>`.
      out.add(refKey("persistentvolumeclaim", ns, `${pod.metadata.name}-${v.name}`));
    }
  }
  const sa = str(spec.serviceAccountName) || str(spec.serviceAccount);
  if (sa) out.add(refKey("serviceaccount", ns, sa));
  return [...out];
}

/** The node a pod is bound to, or "" while unscheduled. */
export function podNode(pod: KubeObject): string {
  return str(pod.spec?.nodeName);
}

/** A PersistentVolume's bound claim (`spec.claimRef`) and the secrets it names. */
export function pvRefs(pv: KubeObject): { claim: string | null; secrets: string[] } {
  const spec = pv.spec ?? {};
  const cr = spec.claimRef;
  const claim = cr && str(cr.name) ? refKey("persistentvolumeclaim", str(cr.namespace), str(cr.name)) : null;
  const secrets = new Set<string>();
  const ref = (r: any, defaultNs = "") => {
    if (r && str(r.name)) secrets.add(refKey("secret", str(r.namespace) || defaultNs, str(r.name)));
  };
  const claimNs = str(cr?.namespace);
  if (spec.azureFile && str(spec.azureFile.secretName)) {
    secrets.add(
      refKey(
        "secret",
        str(spec.azureFile.secretNamespace) || claimNs || "default",
        spec.azureFile.secretName,
      ),
    );
  }
  ref(spec.cephfs?.secretRef, claimNs);
  ref(spec.cinder?.secretRef, claimNs);
  ref(spec.flexVolume?.secretRef, claimNs);
  ref(spec.iscsi?.secretRef, claimNs);
  ref(spec.rbd?.secretRef, claimNs);
  ref(spec.scaleIO?.secretRef, claimNs);
  ref(spec.storageos?.secretRef, claimNs);
  for (
    const k of [
      "controllerPublishSecretRef",
      "nodeStageSecretRef",
      "nodePublishSecretRef",
      "controllerExpandSecretRef",
      "nodeExpandSecretRef",
    ]
  ) {
    ref(spec.csi?.[k]);
  }
  return { claim, secrets: [...secrets] };
}
