/**
 * Resolving the user a container runs as, from the image's `User` (`uid`, `uid:gid`, `name`,
 * `name:group`), the securityContext's `runAsUser`/`runAsGroup`/`supplementalGroups`, and the
 * image's own `/etc/passwd` and `/etc/group`; and the kubelet's `runAsNonRoot` check. Pure.
 * @module
 */

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** The user name when the image named one (for error messages). */
  name?: string;
}

/** A user spec that cannot be resolved. */
export class UserError extends Error {
  override name = "UserError";
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  return text.split("\n").flatMap((line) => {
    const f = line.split(":");
    if (f.length < 4 || line.startsWith("#")) return [];
    const uid = Number(f[2]), gid = Number(f[3]);
    return Number.isInteger(uid) && Number.isInteger(gid) ? [{ name: f[0], uid, gid }] : [];
  });
}

export function parseGroup(text: string): GroupEntry[] {
  return text.split("\n").flatMap((line) => {
    const f = line.split(":");
    if (f.length < 4 || line.startsWith("#")) return [];
    const gid = Number(f[2]);
    return Number.isInteger(gid) ? [{ name: f[0], gid, members: f[3].split(",").filter(Boolean) }] : [];
  });
}

const NUMERIC = /^[0-9]+$/;

export interface UserInputs {
  /** The image config's `User` ("" means root). */
  imageUser: string;
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups?: number[];
  /** The image's /etc/passwd and /etc/group (empty when it has none). */
  passwd: string;
  group: string;
}

/** The uid, gid and supplementary groups of the container's process. */
export function resolveUser(i: UserInputs): ResolvedUser {
  const passwd = parsePasswd(i.passwd);
  const groups = parseGroup(i.group);
  let uid: number, gid: number | undefined, name: string | undefined;
  const [userPart, groupPart] = i.imageUser ? i.imageUser.split(":", 2) : ["", undefined];
  if (i.runAsUser !== undefined) {
    uid = i.runAsUser;
    const entry = passwd.find((p) => p.uid === uid);
    name = entry?.name;
    gid = entry?.gid;
  } else if (!userPart) {
    uid = 0;
    name = "root";
    gid = passwd.find((p) => p.uid === 0)?.gid ?? 0;
  } else if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => p.uid === uid);
    name = entry?.name;
    gid = entry?.gid;
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw new UserError(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = entry.uid;
    gid = entry.gid;
    name = entry.name;
  }
  if (i.runAsGroup !== undefined) gid = i.runAsGroup;
  else if (groupPart && i.runAsUser === undefined) {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new UserError(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  gid ??= 0;
  // The primary group first, then the user's groups in /etc/group, then supplementalGroups
  // (as containerd lists them).
  const extra = new Set<number>([gid]);
  if (name) for (const g of groups) if (g.members.includes(name)) extra.add(g.gid);
  for (const g of i.supplementalGroups ?? []) extra.add(g);
  return { uid, gid, additionalGids: [...extra], name };
}

/**
 * The kubelet's `verifyRunAsNonRoot`: the message to refuse the container with, or undefined.
 * `imageUser` is the image's `User`; `runAsUser` the effective securityContext value.
 */
export function runAsNonRootViolation(
  runAsNonRoot: boolean | undefined,
  runAsUser: number | undefined,
  imageUser: string,
  where: { pod: string; container: string },
): string | undefined {
  if (!runAsNonRoot) return undefined;
  const at = `(pod: "${where.pod}", container: ${where.container})`;
  if (runAsUser !== undefined) {
    return runAsUser === 0 ? `container's runAsUser breaks non-root policy ${at}` : undefined;
  }
  const user = imageUser.split(":", 1)[0];
  if (!user) return `container has runAsNonRoot and image will run as root ${at}`;
  if (!NUMERIC.test(user)) {
    return `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root ${at}`;
  }
  return Number(user) === 0 ? `container has runAsNonRoot and image will run as root ${at}` : undefined;
}
