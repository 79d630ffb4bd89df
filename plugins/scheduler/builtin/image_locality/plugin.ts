/**
 * Built-in scheduler plugin `image-locality`: scores nodes that already hold the pod's images
 * higher, as upstream's ImageLocality: the sum of the sizes of the pod's images present on the
 * node, each scaled by the share of candidate nodes that have it (spread), clamped between
 * 23 MiB and 1000 MiB per container, mapped to [0, 100]. Nodes report images in `status.images`;
 * a node that reports none scores 0. It filters nothing.
 *
 * `skiff:scheduler@0.2.0`: the images of each node are normalized once, when the host puts the
 * node, and kept by handle; a cycle only looks up the pod's images on the cycle's nodes.
 * @module
 */
import type { NodeEntry, Phases, PodView, Verdict } from "skiff:scheduler/types@0.2.0";

const MB = 1024 * 1024;
const MIN_THRESHOLD = 23 * MB;
const MAX_CONTAINER_THRESHOLD = 1000 * MB;

/** Docker's normalization: `nginx` → `docker.io/library/nginx:latest`. */
export function normalize(image: string): string {
  let name = image;
  if (!name.includes("@") && !/:[^/]*$/.test(name)) name += ":latest";
  const first = name.split("/")[0];
  if (!name.includes("/") || !(first.includes(".") || first.includes(":") || first === "localhost")) {
    name = (name.includes("/") ? "docker.io/" : "docker.io/library/") + name;
  }
  return name;
}

/** Per node handle: the node's images, normalized, with their sizes. */
const held = new Map<number, Map<string, number>>();

export const scheduling = {
  configure(_settings: string): void {},
  putNodes(entries: NodeEntry[]): void {
    for (const { id, node } of entries) {
      const have = new Map<string, number>();
      for (const img of node.images) for (const nm of img.names) have.set(normalize(nm), Number(img.sizeBytes));
      held.set(id, have);
    }
  },
  removeNodes(ids: Uint32Array | number[]): void {
    for (const id of ids) held.delete(id);
  },
  filterAndScore(pod: PodView, ids: Uint32Array | number[], phases: Phases): Verdict {
    if (!phases.score) return { rejected: [], scores: new Uint32Array() };
    const wanted: string[] = pod.images.map(normalize);
    const unique = [...new Set(wanted)];
    const n = ids.length;
    const sizes: Map<string, number>[] = new Array(n);
    // How many candidate nodes hold each image (upstream's spread factor).
    const holders = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const have = held.get(ids[i]);
      if (!have) throw new Error(`node handle ${ids[i]} was never put`);
      sizes[i] = have;
      if (have.size) for (const w of unique) if (have.has(w)) holders.set(w, (holders.get(w) ?? 0) + 1);
    }
    const maxThreshold = MAX_CONTAINER_THRESHOLD * Math.max(1, wanted.length);
    const scores = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const have = sizes[i];
      if (!have.size) continue; // sum 0: clamped to the minimum, score 0
      let sum = 0;
      for (const w of wanted) {
        const size = have.get(w);
        if (size !== undefined) sum += size * ((holders.get(w) ?? 0) / n);
      }
      const clamped = Math.min(Math.max(sum, MIN_THRESHOLD), maxThreshold);
      scores[i] = Math.round((100 * (clamped - MIN_THRESHOLD)) / (maxThreshold - MIN_THRESHOLD));
    }
    return { rejected: [], scores };
  },
};
