/**
 * Registry authentication decisions: parsing `WWW-Authenticate` challenges, picking credentials
 * for a registry out of `imagePullSecrets` (`kubernetes.io/dockerconfigjson` or the older
 * `.dockercfg`), and the token request of the Docker token protocol. Pure.
 * @module
 */

/** One parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  /** Lowercased scheme: `bearer` or `basic` (others are kept, and refused later). */
  scheme: string;
  /** Lowercased parameter names with their unquoted values (`realm`, `service`, `scope`). */
  params: Record<string, string>;
}

/** A user name and password (or an identity token, sent as an OAuth2 refresh token). */
export interface Credentials {
  username?: string;
  password?: string;
  identityToken?: string;
}

/**
 * Parses a `WWW-Authenticate` header into its challenges. Quoted values may hold commas and
 * escaped quotes; a header with several schemes yields several challenges.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skip = (re: RegExp) => {
    while (i < s.length && re.test(s[i])) i++;
  };
  while (i < s.length) {
    skip(/[\s,]/);
    const schemeStart = i;
    while (i < s.length && /[^\s,=]/.test(s[i])) i++;
    if (i === schemeStart) break;
    const challenge: Challenge = { scheme: s.slice(schemeStart, i).toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const save = i;
      const nameStart = i;
      while (i < s.length && /[^\s,=]/.test(s[i])) i++;
      const name = s.slice(nameStart, i);
      skip(/\s/);
      if (!name || s[i] !== "=") {
        i = save; // the next scheme starts here
        break;
      }
      i++;
      skip(/\s/);
      let value = "";
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === "\\" && i + 1 < s.length) i++;
          value += s[i++];
        }
        i++;
      } else {
        const start = i;
        while (i < s.length && s[i] !== ",") i++;
        value = s.slice(start, i).trim();
      }
      challenge.params[name.toLowerCase()] = value;
      if (i >= s.length) break;
    }
  }
  return out;
}

/** The token scope of a repository: `repository:team/app:pull` (or `pull,push`). */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(",")}`;
}

/**
 * The URL of a token request for a bearer challenge (`realm?service=…&scope=…`). The challenge's
 * own scope is used when it names one, otherwise `scope`.
 */
export function tokenUrl(challenge: Challenge, scope: string): URL {
  const realm = challenge.params.realm;
  if (!realm) throw new TypeError("The bearer challenge names no realm");
  const url = new URL(realm);
  if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
  for (const s of (challenge.params.scope || scope).split(" ").filter(Boolean)) {
    url.searchParams.append("scope", s);
  }
  return url;
}

/** `Basic base64(user:password)`. */
export function basicAuthorization(creds: Credentials): string {
  const bytes = new TextEncoder().encode(`${creds.username ?? ""}:${creds.password ?? ""}`);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

/** The credentials entry of a docker config (`auths.<key>` or a `.dockercfg` top-level key). */
interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

const DOCKER_HUB_ALIASES = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
]);

function normalizeHost(host: string): string {
  const h = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(h) ? "docker.io" : h;
}

/** Splits a config key (`https://index.docker.io/v1/`, `host:5000/team`) into host and path. */
export function parseAuthKey(key: string): { host: string; path: string } {
  let k = key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  const slash = k.indexOf("/");
  let path = "";
  if (slash >= 0) {
    path = k.slice(slash + 1);
    k = k.slice(0, slash);
  }
  path = path.replace(/^v[12]\/?$/, "").replace(/\/+$/, "");
  return { host: normalizeHost(k), path };
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  if (!pattern.includes("*")) return false;
  const [pHost, pPort] = pattern.split(":");
  const [hHost, hPort] = host.split(":");
  if ((pPort ?? "") !== (hPort ?? "")) return false;
  const p = pHost.split(".");
  const h = hHost.split(".");
  if (p.length !== h.length) return false;
  return p.every((part, i) =>
    new RegExp(`^${part.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^.]*")}$`).test(h[i])
  );
}

function entryCredentials(entry: AuthEntry): Credentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken, username: entry.username };
  if (entry.username !== undefined || entry.password !== undefined) {
    return { username: entry.username ?? "", password: entry.password ?? "" };
  }
  if (entry.auth) return decodeAuth(entry.auth);
  return undefined;
}

/** A docker config's `auth` (base64 of `user:password`); undefined when it is not one. */
export function decodeAuth(auth: string): { username: string; password: string } | undefined {
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(auth), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Finds the credentials for `registry/repository` in docker configs (the decoded
 * `.dockerconfigjson` or `.dockercfg` of each pull secret, in order). Like the kubelet, a key
 * matches on host (with `*` wildcards per label) and on a repository path prefix; the longest
 * path wins, then the earliest secret.
 */
export function findCredentials(
  configs: readonly unknown[],
  registry: string,
  repository: string,
): Credentials | undefined {
  const host = normalizeHost(registry);
  let best: { creds: Credentials; pathLength: number } | undefined;
  for (const config of configs) {
    if (!config || typeof config !== "object") continue;
    const c = config as Record<string, unknown>;
    const auths = (c.auths && typeof c.auths === "object" ? c.auths : c) as Record<string, AuthEntry>;
    for (const [key, entry] of Object.entries(auths)) {
      if (!entry || typeof entry !== "object") continue;
      const k = parseAuthKey(key);
      if (!hostMatches(k.host, host)) continue;
      if (k.path && repository !== k.path && !repository.startsWith(`${k.path}/`)) continue;
      const creds = entryCredentials(entry);
      if (creds && (!best || k.path.length > best.pathLength)) best = { creds, pathLength: k.path.length };
    }
  }
  return best?.creds;
}
