/**
 * The OCI image config (`application/vnd.oci.image.config.v1+json`, also Docker's
 * `application/vnd.docker.container.image.v1+json`): parsing and checking the parts the node uses,
 * and the kubelet's rules for combining it with a container's `command` and `args`. Pure.
 * @module
 */

/** The execution parameters of an image (`config` of the image config). */
export interface ImageRunConfig {
  User?: string;
  ExposedPorts?: Record<string, unknown>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, unknown>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

/** What the node keeps of an image config. */
export interface ImageConfig {
  architecture: string;
  os: string;
  config: ImageRunConfig;
  /** Uncompressed layer digests, bottom first. */
  diffIds: string[];
}

/** A config this node cannot run. */
export class ImageConfigError extends Error {
  override name = "ImageConfigError";
}

function strings(v: unknown, what: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new ImageConfigError(`the image config's ${what} is not a list of strings`);
  }
  return v as string[];
}

/** Parses and checks an image config document. */
export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new ImageConfigError("the image config is not JSON");
  }
  if (!doc || typeof doc !== "object") throw new ImageConfigError("the image config is not an object");
  const rootfs = doc.rootfs as { type?: string; diff_ids?: unknown } | undefined;
  if (rootfs?.type !== "layers") throw new ImageConfigError('the image config\'s rootfs.type is not "layers"');
  const diffIds = strings(rootfs.diff_ids, "rootfs.diff_ids") ?? [];
  const cfg = (doc.config ?? {}) as Record<string, unknown>;
  const run: ImageRunConfig = {
    User: typeof cfg.User === "string" ? cfg.User : undefined,
    ExposedPorts: cfg.ExposedPorts && typeof cfg.ExposedPorts === "object"
      ? cfg.ExposedPorts as Record<string, unknown>
      : undefined,
    Env: strings(cfg.Env, "config.Env"),
    Entrypoint: strings(cfg.Entrypoint, "config.Entrypoint"),
    Cmd: strings(cfg.Cmd, "config.Cmd"),
    WorkingDir: typeof cfg.WorkingDir === "string" ? cfg.WorkingDir : undefined,
    Labels: cfg.Labels && typeof cfg.Labels === "object" ? cfg.Labels as Record<string, string> : undefined,
    StopSignal: typeof cfg.StopSignal === "string" ? cfg.StopSignal : undefined,
  };
  return {
    architecture: String(doc.architecture ?? ""),
    os: String(doc.os ?? ""),
    config: run,
    diffIds,
  };
}

/**
 * The process argv, as the kubelet and container runtimes combine them:
 * - neither `command` nor `args`: the image's Entrypoint + Cmd;
 * - `args` only: the image's Entrypoint + `args`;
 * - `command` (with or without `args`): `command` + `args` (the image's Cmd is ignored).
 */
export function processArgs(image: ImageRunConfig, command: string[], args: string[]): string[] {
  const entrypoint = image.Entrypoint ?? [];
  if (command.length) return [...command, ...args];
  if (args.length) return [...entrypoint, ...args];
  return [...entrypoint, ...(image.Cmd ?? [])];
}

/** The environment: the image's, overridden by the container's (same name wins), image order kept. */
export function mergeEnv(image: string[] | undefined, container: { key: string; value: string }[]): string[] {
  const out = new Map<string, string>();
  for (const kv of image ?? []) {
    const eq = kv.indexOf("=");
    if (eq > 0) out.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  for (const { key, value } of container) out.set(key, value);
  return [...out].map(([k, v]) => `${k}=${v}`);
}

/** Container ports the image exposes (`8080/tcp` → 8080 TCP). */
export function exposedPorts(image: ImageRunConfig): { port: number; protocol: "TCP" | "UDP" | "SCTP" }[] {
  return Object.keys(image.ExposedPorts ?? {}).flatMap((k) => {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(k);
    if (!m) return [];
    return [{ port: Number(m[1]), protocol: (m[2] ?? "tcp").toUpperCase() as "TCP" }];
  });
}
