/**
 * What a pod contributes to a Service's endpoints, pure and shared by the Endpoints and
 * EndpointSlice controllers (upstream `pkg/controller/util/endpoint` and `pkg/api/v1/pod`):
 * readiness, whether the pod belongs in the endpoints at all, its IP, and named target ports
 * resolved against its containers.
 * @module
 */
import { fromLabelSelectorObject, matchesLabels } from "../../api/selector.ts";
import type { KubeObject } from "../../api/types.ts";

export interface ServicePort {
  name?: string;
  protocol?: string;
  appProtocol?: string;
  port: number;
  targetPort?: number | string;
}

/** One resolved port of an endpoint (`EndpointPort`). */
export interface EndpointPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** Whether the pod's Ready condition is True (`IsPodReady`). */
export function isPodReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: { type: string; status: string }) =>
    c.type === "Ready" && c.status === "True"
  );
}

/** Whether the pod has finished (Succeeded or Failed). */
export function isPodTerminal(pod: KubeObject): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** The pod's IPs. */
export function podIPs(pod: KubeObject): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p: { ip: string }) => p.ip).filter(Boolean);
  if (ips.length) return ips;
  return pod.status?.podIP ? [pod.status.podIP] : [];
}

/** `IPv6` for addresses with a colon, else `IPv4`. */
export function addressTypeOf(ip: string): "IPv4" | "IPv6" {
  return ip.includes(":") ? "IPv6" : "IPv4";
}

/** The pod's IP of the given family, if any. */
export function podIPOf(pod: KubeObject, family: "IPv4" | "IPv6"): string | undefined {
  return podIPs(pod).find((ip) => addressTypeOf(ip) === family);
}

/** The address families a Service serves (`spec.ipFamilies`, IPv4 by default). */
export function serviceFamilies(svc: KubeObject): ("IPv4" | "IPv6")[] {
  const fams = (svc.spec?.ipFamilies ?? []).filter((f: string) => f === "IPv4" || f === "IPv6");
  return fams.length ? fams : ["IPv4"];
}

/** Whether a pod belongs in endpoints at all (`ShouldPodBeInEndpoints`). */
export function shouldPodBeInEndpoints(pod: KubeObject, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!podIPs(pod).length) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  return true;
}

/** Whether the endpoint gets the pod's hostname (`ShouldSetHostname`). */
export function shouldSetHostname(pod: KubeObject, svc: KubeObject): boolean {
  return !!pod.spec?.hostname && pod.spec?.subdomain === svc.metadata.name &&
    pod.metadata.namespace === svc.metadata.namespace;
}

/**
 * The container port a Service port targets on this pod (`FindPort`): a number as is, a name
 * looked up among the pod's container (and sidecar init container) ports of the same protocol.
 */
export function findPort(pod: KubeObject, sp: ServicePort): number | null {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? "TCP";
  const sidecars = (pod.spec?.initContainers ?? []).filter((c: { restartPolicy?: string }) =>
    c.restartPolicy === "Always"
  );
  for (const c of [...(pod.spec?.containers ?? []), ...sidecars]) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
    }
  }
  return null;
}

/** The endpoint ports of a pod for a Service: ports that cannot be resolved are left out. */
export function endpointPorts(pod: KubeObject, svc: KubeObject): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of (svc.spec?.ports ?? []) as ServicePort[]) {
    const port = findPort(pod, sp);
    if (port === null) continue;
    out.push({
      name: sp.name ?? "",
      port,
      protocol: sp.protocol ?? "TCP",
      ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}),
    });
  }
  return out;
}

/** Whether the Service is headless (`clusterIP: None`). */
export function isHeadless(svc: KubeObject): boolean {
  return svc.spec?.clusterIP === "None";
}

/** Whether the Service's selector (a plain map) selects these labels; a Service without selector selects nothing. */
export function serviceSelects(svc: KubeObject, labels: Record<string, string> | undefined): boolean {
  const selector = svc.spec?.selector;
  if (!selector) return false;
  return matchesLabels(fromLabelSelectorObject({ matchLabels: selector })!, labels);
}

/** The fields of a pod that endpoints depend on, as a comparable string (upstream `podEndpointsChanged`). */
export function podEndpointSignature(pod: KubeObject): string {
  return JSON.stringify([
    pod.metadata.labels ?? {},
    pod.metadata.deletionTimestamp ?? null,
    podIPs(pod),
    isPodReady(pod),
    pod.status?.phase ?? "",
    pod.spec?.nodeName ?? "",
    pod.spec?.hostname ?? "",
    pod.spec?.subdomain ?? "",
    (pod.spec?.containers ?? []).map((c: { ports?: unknown }) => c.ports ?? []),
  ]);
}

/** The Ready condition's last transition (a pod's endpoint trigger time), in ms; 0 when absent. */
export function podTriggerTime(pod: KubeObject): number {
  const ready = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === "Ready");
  return ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) || 0 : 0;
}
