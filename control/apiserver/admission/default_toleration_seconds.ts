/**
 * The DefaultTolerationSeconds admission step (upstream
 * `plugin/pkg/admission/defaulttolerationseconds`): on CREATE and UPDATE of a pod (not its
 * subresources), a pod that does not already tolerate the `node.kubernetes.io/not-ready` or
 * `node.kubernetes.io/unreachable` NoExecute taint gets a toleration for it with
 * `tolerationSeconds` from kube-apiserver's `--default-not-ready-toleration-seconds` and
 * `--default-unreachable-toleration-seconds` (300 each by default). The taint eviction controller
 * then evicts the pods of an unreachable node after that time.
 *
 * A toleration counts when its key is the taint's or empty, and its effect is NoExecute or empty,
 * as upstream (the operator is not looked at).
 *
 * @example
 * ```ts
 * new ApiServer({ kv, defaultTolerationSeconds: { notReady: 60, unreachable: 60 } });
 * ```
 * @module
 */
import type { AdmissionPlugin } from "../context.ts";

export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";
export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";

/** The two flags of kube-apiserver, in seconds. */
export interface DefaultTolerationSecondsOptions {
  /** `--default-not-ready-toleration-seconds` (default 300). */
  notReady?: number;
  /** `--default-unreachable-toleration-seconds` (default 300). */
  unreachable?: number;
}

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/**
 * `tolerations` plus the default not-ready/unreachable tolerations the pod lacks; the same array
 * when it lacks none. Pure.
 */
export function withDefaultTolerations(
  tolerations: Toleration[] | undefined,
  opts: DefaultTolerationSecondsOptions = {},
): Toleration[] {
  const list = Array.isArray(tolerations) ? tolerations : [];
  const tolerates = (key: string) =>
    list.some((t) => (!t?.key || t.key === key) && (!t?.effect || t.effect === "NoExecute"));
  const add: Toleration[] = [];
  const wanted: [string, number][] = [
    [TAINT_NOT_READY, opts.notReady ?? 300],
    [TAINT_UNREACHABLE, opts.unreachable ?? 300],
  ];
  for (const [key, seconds] of wanted) {
    if (!tolerates(key)) {
      add.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: seconds });
    }
  }
  return add.length ? [...list, ...add] : list;
}

/** The admission plugin. */
export function defaultTolerationSeconds(opts: DefaultTolerationSecondsOptions = {}): AdmissionPlugin {
  return {
    name: "DefaultTolerationSeconds",
    admit(attrs) {
      if (attrs.operation !== "CREATE" && attrs.operation !== "UPDATE") return;
      if (attrs.def.group !== "" || attrs.def.plural !== "pods" || attrs.subresource) return;
      const spec = attrs.object?.spec;
      if (!spec || typeof spec !== "object") return;
      const next = withDefaultTolerations(spec.tolerations, opts);
      if (next !== spec.tolerations && next.length) spec.tolerations = next;
    },
  };
}
