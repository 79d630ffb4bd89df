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
