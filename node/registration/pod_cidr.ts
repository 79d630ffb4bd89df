/**
 * The node's pod CIDR, as the kubelet gets it: the node IPAM controller of the control plane
 * writes `spec.podCIDR` (and `spec.podCIDRs`) onto the Node after it registered, and the node
 * waits for it, watching its own Node (`fieldSelector=metadata.name=<node>`, which the node
 * authorizer allows), before it wires pod networking. Until then the node reports NotReady.
 *
 * Pure helpers plus {@linkcode waitForPodCidr}, which only listens to an informer.
 * @module
 */
import type { Informer } from "../../control/api/informer.ts";
import type { KubeObject } from "../../control/api/types.ts";

/** The Node's pod CIDR (the first of `spec.podCIDRs`, else `spec.podCIDR`), or undefined. */
export function assignedPodCidr(node: KubeObject | undefined): string | undefined {
  const list = node?.spec?.podCIDRs;
  const first = Array.isArray(list) && typeof list[0] === "string" ? list[0] : undefined;
  return first || (typeof node?.spec?.podCIDR === "string" && node.spec.podCIDR) || undefined;
}

/** Whether two IPv4 CIDRs share an address (false when either does not parse). */
export function overlaps(a: string, b: string): boolean {
  const parse = (c: string) => {
    const m = c.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/);
    if (!m) return null;
    const n = m.slice(1, 5).reduce((acc, p) => acc * 256 + Number(p), 0);
    const bits = Number(m[5]);
    const size = 2 ** (32 - bits);
    return { base: n - (n % size), size };
  };
  const x = parse(a), y = parse(b);
  return !!x && !!y && x.base < y.base + y.size && y.base < x.base + x.size;
}

/**
 * Why `podCIDR` cannot be wired on this machine: it overlaps a subnet already on one of its
 * interfaces (another cluster's bridge, say), which would clash in the routing table. Null when
 * it is fine.
 */
export function localOverlap(podCIDR: string, localSubnets: string[]): string | null {
  const clash = localSubnets.find((s) => overlaps(s, podCIDR));
  return clash
    ? `pod CIDR ${podCIDR} overlaps the subnet ${clash} already on this machine's interfaces`
    : null;
}

/**
 * Resolves with the pod CIDR once the Node (as the `metadata.name=<name>` informer `nodes` sees
 * it) has one. `onSlow` is called once when that takes longer than `slowAfterMs` (default 5 s).
 * Rejects when `signal` aborts.
 */
export function waitForPodCidr(
  nodes: Informer,
  name: string,
  opts: { signal?: AbortSignal; slowAfterMs?: number; onSlow?: () => void } = {},
): Promise<string> {
  const done = Promise.withResolvers<string>();
  const check = (n: KubeObject) => {
    const cidr = n.metadata.name === name ? assignedPodCidr(n) : undefined;
    if (cidr) done.resolve(cidr);
  };
  nodes.addHandler({ onAdd: check, onUpdate: (_, n) => check(n) });
  const slow = setTimeout(() => opts.onSlow?.(), opts.slowAfterMs ?? 5_000);
  const onAbort = () => done.reject(new Error(`stopped while waiting for node ${name}'s pod CIDR`));
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  return done.promise.finally(() => {
    clearTimeout(slow);
    opts.signal?.removeEventListener("abort", onAbort);
  });
}
