/**
 * apps/v1 defaulting (`pkg/apis/apps/v1/defaults.go`) plus pod template defaults.
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import type { KubeObject } from "../../api/types.ts";
import { defaultPodTemplate } from "./pod_defaults.ts";
import { defaultPVC } from "./core_storage.ts";

type Obj = Record<string, any>;

function spec(obj: KubeObject): Obj {
  if (!obj.spec || typeof obj.spec !== "object") obj.spec = {};
  return obj.spec;
}

/** `SetDefaults_Deployment`: 1 replica, RollingUpdate 25%/25%, 10 revisions, 600s deadline. */
export function defaultDeployment(obj: KubeObject): void {
  const s = spec(obj);
  s.replicas ??= 1;
  s.strategy ??= {};
  s.strategy.type ||= "RollingUpdate";
  if (s.strategy.type === "RollingUpdate") {
    s.strategy.rollingUpdate ??= {};
    s.strategy.rollingUpdate.maxUnavailable ??= "25%";
    s.strategy.rollingUpdate.maxSurge ??= "25%";
  }
  s.revisionHistoryLimit ??= 10;
  s.progressDeadlineSeconds ??= 600;
  defaultPodTemplate(s.template);
  obj.status ??= {};
}

/** `SetDefaults_ReplicaSet`: 1 replica. */
export function defaultReplicaSet(obj: KubeObject): void {
  const s = spec(obj);
  s.replicas ??= 1;
  defaultPodTemplate(s.template);
  obj.status ??= { replicas: 0 };
}

/** `SetDefaults_DaemonSet`: RollingUpdate with maxUnavailable 1 and maxSurge 0, 10 revisions. */
export function defaultDaemonSet(obj: KubeObject): void {
  const s = spec(obj);
  s.updateStrategy ??= {};
  s.updateStrategy.type ||= "RollingUpdate";
  if (s.updateStrategy.type === "RollingUpdate") {
    s.updateStrategy.rollingUpdate ??= {};
    s.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    s.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
  s.revisionHistoryLimit ??= 10;
  defaultPodTemplate(s.template);
  obj.status ??= {
    currentNumberScheduled: 0,
    desiredNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
  };
}

/**
 * `SetDefaults_StatefulSet`: OrderedReady, RollingUpdate with partition 0, Retain/Retain PVC
 * retention, 1 replica, 10 revisions; volume claim templates get PVC defaults.
 */
export function defaultStatefulSet(obj: KubeObject): void {
  const s = spec(obj);
  s.podManagementPolicy ||= "OrderedReady";
  s.updateStrategy ??= {};
  if (!s.updateStrategy.type) {
    s.updateStrategy.type = "RollingUpdate";
    s.updateStrategy.rollingUpdate ??= {};
  }
  if (s.updateStrategy.type === "RollingUpdate" && s.updateStrategy.rollingUpdate) {
    s.updateStrategy.rollingUpdate.partition ??= 0;
  }
  s.persistentVolumeClaimRetentionPolicy ??= {};
  s.persistentVolumeClaimRetentionPolicy.whenDeleted ||= "Retain";
  s.persistentVolumeClaimRetentionPolicy.whenScaled ||= "Retain";
  s.replicas ??= 1;
  s.revisionHistoryLimit ??= 10;
  defaultPodTemplate(s.template);
  for (const pvc of Array.isArray(s.volumeClaimTemplates) ? s.volumeClaimTemplates : []) {
    if (pvc && typeof pvc === "object") {
      pvc.apiVersion ??= "v1";
      pvc.kind ??= "PersistentVolumeClaim";
      defaultPVC(pvc);
    }
  }
  obj.status ??= { replicas: 0, availableReplicas: 0 };
}
