/**
 * Writing a controller's status through the `status` subresource, retrying once on a conflict
 * with a fresh read (as upstream's `updateReplicaSetStatus` and friends do).
 * @module
 */
import type { Client, ResourceRef } from "../../api/client.ts";
import { isApiError } from "../../api/status.ts";
import type { KubeObject } from "../../api/types.ts";

/** PUTs `obj` with `status` to `/status`; on 409 re-reads the object (same UID) and tries again. */
export async function writeStatus<T extends KubeObject>(
  client: Client,
  ref: ResourceRef,
  obj: T,
  status: unknown,
): Promise<T> {
  try {
    return await client.updateStatus<T>(ref, { ...obj, status });
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
    const fresh = await client.get<T>(ref, obj.metadata.namespace!, obj.metadata.name!);
    if (fresh.metadata.uid !== obj.metadata.uid) throw e;
    return await client.updateStatus<T>(ref, { ...fresh, status });
  }
}
