/**
 * Kind-specific server behaviour beyond defaulting and validation, in the manner of upstream's
 * registry strategies: allocations committed with the object (Service IPs and node ports),
 * graceful pod deletion, namespace termination, CRD registration.
 * @module
 */
import type { KubeObject } from "../../api/types.ts";
import type { WriteOptions } from "../../store/mod.ts";
import type { ApiServer } from "../server.ts";

export interface DeleteOutcome {
  /** The object is gone now. */
  deleted: boolean;
  object: KubeObject;
}

export interface Strategy {
  /**
   * Serves CREATE itself instead of storing the object (create-only kinds such as access reviews
   * and token reviews). Gets the decoded, kind-checked request object; returns the response object.
   */
  create?(server: ApiServer, ctx: import("../context.ts").RequestContext, obj: KubeObject): Promise<KubeObject>;
  /** Keep `status` from the request on create (upstream resets it for most kinds with a status subresource). */
  keepStatusOnCreate?: boolean;
  /**
   * Runs after validation, before the write; returns checks and mutations committed with the object.
   * Called again if a check fails (to re-allocate).
   */
  beforeCreate?(server: ApiServer, obj: KubeObject, dryRun: boolean): Promise<WriteOptions | void> | WriteOptions | void;
  /**
   * Before defaults and validation on update (main resource only): carries over fields a client
   * may omit (a Service's cluster IP, a Namespace's finalizers).
   */
  prepareForUpdate?(obj: KubeObject, old: KubeObject): void;
  /** The same on update; sees the stored object. */
  beforeUpdate?(
    server: ApiServer,
    obj: KubeObject,
    old: KubeObject,
    dryRun: boolean,
  ): Promise<WriteOptions | void> | WriteOptions | void;
  /** Mutations committed with the final delete (releases). */
  onDelete?(server: ApiServer, obj: KubeObject): WriteOptions | void;
  /**
   * Overrides the start of a DELETE (graceful pod deletion, namespace termination). Returns null to
   * proceed with the generic deletion.
   */
  beginDelete?(
    server: ApiServer,
    obj: KubeObject,
    opts: { gracePeriodSeconds?: number; dryRun: boolean },
  ): Promise<DeleteOutcome | null>;
  /**
   * Whether an object being deleted, with no finalizers left, may now be removed (namespaces also
   * wait for their `spec.finalizers`). Default: yes.
   */
  mayRemove?(obj: KubeObject): boolean;
  /** Runs after a successful write (registry updates, side effects). */
  afterWrite?(server: ApiServer, obj: KubeObject, deleted: boolean): Promise<void> | void;
}
