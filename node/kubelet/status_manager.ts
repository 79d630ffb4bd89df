/**
 * Writes pod statuses to the API, as the kubelet's status manager: only when the generated status
 * differs from both the last one written and the one the API holds; through the `pods/status`
 * subresource with the object's resourceVersion (so a status never lands on a newer pod of the
 * same name), re-reading and retrying on conflict.
 * @module
 */
import { trace } from "../../plugins/host/trace.ts";
import type { Pod, PodStatus } from "kubernetes-types/core/v1.d.ts";
import { type Client, R } from "../../control/api/client.ts";
import { isApiError } from "../../control/api/status.ts";
import { deepEqual, type KubeObject } from "../../control/api/types.ts";

export class StatusManager {
  readonly #client: Client;
  readonly #written = new Map<string, PodStatus>();
  /** The status being written per pod (its watch event may arrive before the write's answer). */
  readonly #writing = new Map<string, PodStatus>();

  constructor(client: Client) {
    this.#client = client;
  }

  /** The last status written for `uid`. */
  lastWritten(uid: string): PodStatus | undefined {
    return this.#written.get(uid);
  }

  /** The statuses of `uid` this manager wrote last or is writing now (kubelet.ts: pod_update.ts). */
  ownStatuses(uid: string): PodStatus[] {
    return [this.#writing.get(uid), this.#written.get(uid)].filter((s): s is PodStatus => s !== undefined);
  }

  /** Writes `status` for `pod` unless it is already there. Resolves to whether it wrote. */
  async setStatus(pod: Pod, status: PodStatus): Promise<boolean> {
    const uid = pod.metadata!.uid!;
    if (deepEqual(this.#written.get(uid), status) || deepEqual(pod.status, status)) {
      this.#written.set(uid, status);
      return false;
    }
    this.#writing.set(uid, status);
    try {
      return await this.#write(uid, pod as KubeObject, status);
    } finally {
      if (this.#writing.get(uid) === status) this.#writing.delete(uid);
    }
  }

  async #write(uid: string, current: KubeObject, status: PodStatus): Promise<boolean> {
    const pod = current as Pod;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        trace("status-put>", pod.metadata!.name);
        await this.#client.updateStatus(R.pods, { ...current, status } as KubeObject);
        trace("status-put<", pod.metadata!.name);
        this.#written.set(uid, status);
        return true;
      } catch (e) {
        if (isApiError(e, 404)) return false; // gone: nothing to report on
        if (!isApiError(e, 409)) throw e;
        const fresh = await this.#client.tryGet(R.pods, pod.metadata!.namespace!, pod.metadata!.name!);
        if (!fresh || fresh.metadata.uid !== uid) return false;
        current = fresh;
      }
    }
    throw new Error(
      `could not write the status of pod ${pod.metadata!.namespace}/${
        pod.metadata!.name
      }: too many conflicts`,
    );
  }

  forget(uid: string): void {
    this.#written.delete(uid);
    this.#writing.delete(uid);
  }
}
