/**
 * The RuntimeProbes admission step: a pod whose runtime cannot run `exec` handlers is refused at
 * creation, with a message naming each offending field, instead of failing later on the node.
 * WebAssembly components have no processes to exec into, so `exec` probes (startup, liveness,
 * readiness) and `exec` lifecycle hooks are refused on pods of RuntimeClass `wasm` (or of any
 * RuntimeClass whose handler is `wasm`). 403 Forbidden, as upstream admission plugins answer.
 *
 * @example
 * ```ts
 * new ApiServer({ kv, admission: [runtimeProbes()] });
 * ```
 * @module
 */
import { forbidden } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";
import type { AdmissionPlugin } from "../context.ts";

/** Runtime handlers without exec support. */
export const NO_EXEC_HANDLERS = ["wasm"];

/** The fields of `spec` that need exec: `containers[0].livenessProbe.exec`, ... */
export function execFields(spec: KubeObject["spec"]): string[] {
  const out: string[] = [];
  for (const list of ["initContainers", "containers"] as const) {
    (spec?.[list] ?? []).forEach((c: Record<string, Record<string, Record<string, unknown>>>, i: number) => {
      for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
        if (c?.[probe]?.exec) out.push(`spec.${list}[${i}].${probe}.exec`);
      }
      for (const hook of ["postStart", "preStop"]) {
        if (c?.lifecycle?.[hook] && (c.lifecycle[hook] as Record<string, unknown>).exec) {
          out.push(`spec.${list}[${i}].lifecycle.${hook}.exec`);
        }
      }
    });
  }
  return out;
}

/**
 * The admission plugin. `handlerOf` maps a RuntimeClass name to its handler (e.g. from the store);
 * without it the class name itself is taken as the handler.
 */
export function runtimeProbes(
  handlerOf?: (runtimeClassName: string) => Promise<string | undefined>,
): AdmissionPlugin {
  return {
    name: "RuntimeProbes",
    async validate(a) {
      if (a.operation !== "CREATE" || a.def.group !== "" || a.def.plural !== "pods" || a.subresource) return;
      const pod = a.object;
      const rc: string | undefined = pod?.spec?.runtimeClassName;
      if (!pod || !rc) return;
      const handler = (handlerOf ? await handlerOf(rc) : undefined) ?? rc;
      if (!NO_EXEC_HANDLERS.includes(handler)) return;
      const fields = execFields(pod.spec);
      if (!fields.length) return;
      throw forbidden(
        { group: "", resource: "pods" },
        a.name,
        `RuntimeClass "${rc}" (handler "${handler}") cannot run exec handlers: ${fields.join(", ")}; ` +
          `use httpGet or tcpSocket probes instead`,
      );
    },
  };
}
