/**
 * RuntimeClasses and the node's runtime handlers. Nodes do not create RuntimeClasses (the node
 * authorizer lets them only read them): a cluster admin does — `./skiff up` creates `wasm` with
 * its admin credential ({@linkcode ensureRuntimeClass}) — and a node only checks that its handlers
 * have one ({@linkcode missingRuntimeClasses}), saying so when one is missing.
 *
 * @example
 * ```ts
 * await ensureRuntimeClass(adminClient, "wasm");
 * await missingRuntimeClasses(nodeClient, ["wasm"]); // []
 * ```
 * @module
 */
import { type Client, R } from "../control/api/client.ts";
import { isApiError } from "../control/api/status.ts";
import type { KubeObject } from "../control/api/types.ts";

/** The RuntimeClass named after `handler`. */
export function runtimeClassObject(handler: string): KubeObject {
  return { apiVersion: "node.k8s.io/v1", kind: "RuntimeClass", metadata: { name: handler }, handler };
}

/** Creates the RuntimeClass `handler` (named the same) unless it exists: a cluster admin's step. */
export async function ensureRuntimeClass(client: Client, handler: string): Promise<void> {
  try {
    await client.create(R.runtimeclasses, runtimeClassObject(handler));
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
}

/** The handlers no RuntimeClass names. */
export async function missingRuntimeClasses(client: Client, handlers: string[]): Promise<string[]> {
  const classes = (await client.list(R.runtimeclasses)).items;
  return handlers.filter((h) => !classes.some((c) => c.handler === h));
}

/** What a node says about a handler without a RuntimeClass. */
export function missingRuntimeClassMessage(handler: string): string {
  return `no RuntimeClass names the handler "${handler}": pods with runtimeClassName: ${handler} ` +
    `cannot run here until a cluster admin creates it (./skiff up does; or: kubectl apply -f - <<< ` +
    `'{"apiVersion":"node.k8s.io/v1","kind":"RuntimeClass","metadata":{"name":"${handler}"},"handler":"${handler}"}')`;
}
