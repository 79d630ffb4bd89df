/**
 * The node's cgroup v1 hierarchies, where container and pod cgroups live (crun makes them; the
 * node removes the pods' and its own when they are done).
 * @module
 */

/** The cgroup v1 hierarchies mounted under /sys/fs/cgroup (`memory`, `cpu`, `name=systemd` → `systemd`). */
export function cgroupHierarchies(): string[] {
  try {
    return [...Deno.readDirSync("/sys/fs/cgroup")]
      .filter((e) => e.isDirectory && e.name !== "unified")
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/** Removes a parent cgroup and the cgroups under it (two levels: pods, containers) in every hierarchy. */
export function removeCgroups(parent: string): void {
  for (const h of cgroupHierarchies()) {
    const top = `/sys/fs/cgroup/${h}${parent}`;
    try {
      for (const e of Deno.readDirSync(top)) {
        if (!e.isDirectory) continue;
        for (const c of Deno.readDirSync(`${top}/${e.name}`)) {
          if (c.isDirectory) Deno.removeSync(`${top}/${e.name}/${c.name}`);
        }
        Deno.removeSync(`${top}/${e.name}`);
      }
      Deno.removeSync(top);
    } catch { /* not there */ }
  }
}
