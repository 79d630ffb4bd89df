/**
 * Discovery for controllers that act on every kind (the garbage collector, the namespace
 * controller): the served resources at their preferred versions, read from `/api` and `/apis`
 * like client-go's `ServerPreferredResources`, and a kind → resource mapper for owner references.
 * @module
 */
import type { Client, ResourceRef } from "../../api/client.ts";
import { parseApiVersion } from "../../api/types.ts";

/** One served resource at its group's preferred version. */
export interface ApiResource extends ResourceRef {
  kind: string;
  verbs: string[];
}

interface ApiResourceList {
  groupVersion: string;
  resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[];
}

/** The resources of one APIResourceList, without subresources (`pods/status`). */
export function resourcesOf(list: ApiResourceList): ApiResource[] {
  const { group, version } = parseApiVersion(list.groupVersion);
  return list.resources
    .filter((r) => !r.name.includes("/"))
    .map((r) => ({
      group,
      version,
      plural: r.name,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs ?? [],
    }));
}

/** Whether a resource supports every verb in `verbs`. */
export function supports(r: ApiResource, ...verbs: string[]): boolean {
  return verbs.every((v) => r.verbs.includes(v));
}

async function getJson<T>(client: Client, path: string): Promise<T> {
  const res = await client.request("GET", path);
  return await res.json() as T;
}

/** Failures of individual groups; discovery of the others still succeeds (as ErrGroupDiscoveryFailed). */
export class GroupDiscoveryFailed extends Error {
  constructor(readonly groups: Map<string, Error>) {
    super(
      `unable to retrieve the complete list of server APIs: ${
        [...groups].map(([gv, e]) => `${gv}: ${e.message}`).join(", ")
      }`,
    );
  }
}

/** The discovery answer: what was found, and the groups that failed (if any). */
export interface Discovery {
  resources: ApiResource[];
  failed?: GroupDiscoveryFailed;
}

/** Reads every served resource at its preferred version. */
export async function discoverResources(client: Client): Promise<Discovery> {
  const resources: ApiResource[] = [];
  const failures = new Map<string, Error>();
  const core = await getJson<{ versions: string[] }>(client, "/api");
  const groups = await getJson<{ groups: { name: string; preferredVersion?: { groupVersion: string } }[] }>(
    client,
    "/apis",
  );
  const lists: [string, string][] = [];
  if (core.versions?.length) lists.push([core.versions[0], `/api/${core.versions[0]}`]);
  for (const g of groups.groups ?? []) {
    const gv = g.preferredVersion?.groupVersion;
    if (gv) lists.push([gv, `/apis/${gv}`]);
  }
  await Promise.all(lists.map(async ([gv, path]) => {
    try {
      resources.push(...resourcesOf(await getJson<ApiResourceList>(client, path)));
    } catch (e) {
      failures.set(gv, e as Error);
    }
  }));
  resources.sort((a, b) => (a.group + "/" + a.plural).localeCompare(b.group + "/" + b.plural));
  return failures.size ? { resources, failed: new GroupDiscoveryFailed(failures) } : { resources };
}

/** Maps the `apiVersion`/`kind` of an owner reference to the resource serving it. */
export class ResourceMapper {
  readonly #byKind = new Map<string, ApiResource>();

  constructor(resources: ApiResource[] = []) {
    this.update(resources);
  }

  /** Replaces the known resources. */
  update(resources: ApiResource[]): void {
    this.#byKind.clear();
    for (const r of resources) {
      const key = `${r.group}/${r.kind}`;
      // Prefer the resource whose plural is the kind's own (not e.g. a second name for it).
      if (!this.#byKind.has(key)) this.#byKind.set(key, r);
    }
  }

  /** The resource of a kind in a group at any version (owner references may name older versions). */
  forKind(apiVersion: string, kind: string): ApiResource | undefined {
    return this.#byKind.get(`${parseApiVersion(apiVersion).group}/${kind}`);
  }
}
