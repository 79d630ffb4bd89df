/**
 * Built-in admission plugin `disallow-latest`: refuses pods (and pod templates) whose images are
 * not pinned: no tag, the `latest` tag, or, with `{"requireDigest": true}`, anything without a
 * `@sha256:` digest. Settings: `{"requireDigest": boolean, "exemptImages": string[]}` (exact
 * references or prefixes ending in `*`).
 * @module
 */
import type { AdmissionRequest } from "skiff:admission/types@0.1.0";
import { ALLOW, containersOf, deny, invalid, podSpecOf } from "../pod_spec.ts";

let requireDigest = false;
let exempt: string[] = [];

/** The image's tag ("" when none), ignoring a digest. */
export function tagOf(image: string): string {
  const noDigest = image.split("@")[0];
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > slash ? noDigest.slice(colon + 1) : "";
}

function problem(image: string): string | null {
  if (exempt.some((e) => (e.endsWith("*") ? image.startsWith(e.slice(0, -1)) : image === e))) return null;
  const digest = image.includes("@sha256:");
  if (requireDigest && !digest) return "is not pinned by digest (@sha256:...)";
  if (digest) return null;
  const tag = tagOf(image);
  if (tag === "") return "has no tag (it means latest); pin a tag or a digest";
  if (tag === "latest") return "uses the latest tag; pin a tag or a digest";
  return null;
}

export const policy = {
  configure(settings: string): void {
    const s = JSON.parse(settings || "{}");
    if (typeof s !== "object" || s === null || Array.isArray(s)) invalid("settings must be a JSON object");
    if (s.requireDigest !== undefined && typeof s.requireDigest !== "boolean") invalid("requireDigest must be a boolean");
    if (s.exemptImages !== undefined && !Array.isArray(s.exemptImages)) invalid("exemptImages must be a list of strings");
    requireDigest = s.requireDigest === true;
    exempt = s.exemptImages ?? [];
  },
  validate(req: AdmissionRequest) {
    if (!req.object) return ALLOW;
    const found = podSpecOf(JSON.parse(req.object));
    if (!found) return ALLOW;
    for (const { c, path } of containersOf(found.spec, found.path)) {
      const why = problem(c.image ?? "");
      if (why) return deny(`container "${c.name}" image "${c.image}" ${why} (${path}.image)`);
    }
    return ALLOW;
  },
  mutate(_req: AdmissionRequest) {
    return ALLOW;
  },
};
