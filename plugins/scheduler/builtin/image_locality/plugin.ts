/**
 * Built-in scheduler plugin `image-locality`: scores nodes that already hold the pod's images
 * higher, as upstream's ImageLocality: the sum of the sizes of the pod's images present on the
 * node, each scaled by the share of candidate nodes that have it (spread), clamped between
 * 23 MiB and 1000 MiB per container, mapped to [0, 100]. Nodes report images in `status.images`;
 * a node that reports none scores 0. It filters nothing.
 * @module
 */
import type { FilterResult, NodeView, PodView } from "skiff:scheduler/types@0.1.0";

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

export const scheduling = {
  configure(_settings: string): void {},
  filter(_pod: PodView, nodes: NodeView[]): FilterResult[] {
    return nodes.map(() => ({ code: "success" as const, reason: "" }));
  },
  score(pod: PodView, nodes: NodeView[]): number[] {
    const wanted = pod.images.map(normalize);
    // How many candidate nodes hold each image (upstream's spread factor).
    const holders = new Map<string, number>();
    const sizes = nodes.map((n) => {
      const have = new Map<string, number>();
      for (const img of n.images) for (const nm of img.names) have.set(normalize(nm), Number(img.sizeBytes));
      return have;
    });
    for (const have of sizes) for (const w of new Set(wanted)) if (have.has(w)) holders.set(w, (holders.get(w) ?? 0) + 1);
    const maxThreshold = MAX_CONTAINER_THRESHOLD * Math.max(1, wanted.length);
    return sizes.map((have) => {
      let sum = 0;
      for (const w of wanted) {
        const size = have.get(w);
        if (size !== undefined) sum += size * ((holders.get(w) ?? 0) / nodes.length);
      }
      const clamped = Math.min(Math.max(sum, MIN_THRESHOLD), maxThreshold);
      return Math.round((100 * (clamped - MIN_THRESHOLD)) / (maxThreshold - MIN_THRESHOLD));
    });
  },
};
