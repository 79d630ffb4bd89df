/**
 * Built-in admission plugin `require-limits`: refuses pods (and pod templates) with a container
 * that does not set `resources.limits` for each required resource. Settings:
 * `{"resources": ["cpu", "memory"]}` (the default).
 * @module
 */
import type { AdmissionRequest } from "skiff:admission/types@0.1.0";
import { ALLOW, containersOf, deny, invalid, podSpecOf } from "../pod_spec.ts";

let required = ["cpu", "memory"];

export const policy = {
  configure(settings: string): void {
    const s = JSON.parse(settings || "{}");
    if (typeof s !== "object" || s === null || Array.isArray(s)) invalid("settings must be a JSON object");
    if (s.resources !== undefined) {
      if (!Array.isArray(s.resources) || s.resources.some((r: unknown) => typeof r !== "string" || r === "")) {
        invalid("resources must be a list of resource names");
      }
      required = s.resources;
    }
  },
  validate(req: AdmissionRequest) {
    if (!req.object) return ALLOW;
    const found = podSpecOf(JSON.parse(req.object));
    if (!found) return ALLOW;
    for (const { c, path } of containersOf(found.spec, found.path)) {
      const limits = c.resources?.limits ?? {};
      const missing = required.filter((r) => limits[r] === undefined || limits[r] === null || limits[r] === "");
      if (missing.length) {
        return deny(
          `container "${c.name}" has no ${missing.join(" and ")} limit (${path}.resources.limits.${missing[0]})`,
        );
      }
    }
    return ALLOW;
  },
  mutate(_req: AdmissionRequest) {
    return ALLOW;
  },
};
