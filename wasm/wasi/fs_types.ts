/**
 * The vocabulary of `wasi:filesystem` over Deno: error codes from Deno errors, stat records and
 * descriptor types. Pure.
 * @module
 */

/** A `wasi:filesystem` error code (an enum case name). */
export type ErrorCode = string;
/** `wasi:clocks/wall-clock.datetime`. */
export type Datetime = { seconds: bigint; nanoseconds: number };
/** `descriptor-flags`. */
export type DescriptorFlags = {
  read?: boolean;
  write?: boolean;
  fileIntegritySync?: boolean;
  dataIntegritySync?: boolean;
  requestedWriteSync?: boolean;
  mutateDirectory?: boolean;
};
/** `path-flags`. */
export type PathFlags = { symlinkFollow?: boolean };
/** `open-flags`. */
export type OpenFlags = { create?: boolean; directory?: boolean; exclusive?: boolean; truncate?: boolean };
/** `new-timestamp`. */
export type NewTimestamp = { tag: "no-change" } | { tag: "now" } | { tag: "timestamp"; val: Datetime };

const CODES: Record<string, ErrorCode> = {
  EACCES: "access",
  EPERM: "not-permitted",
  EAGAIN: "would-block",
  EBADF: "bad-descriptor",
  EBUSY: "busy",
  EDQUOT: "quota",
  EEXIST: "exist",
  EFBIG: "file-too-large",
  EINVAL: "invalid",
  EIO: "io",
  EISDIR: "is-directory",
  ELOOP: "loop",
  EMLINK: "too-many-links",
  ENAMETOOLONG: "name-too-long",
  ENOENT: "no-entry",
  ENOMEM: "insufficient-memory",
  ENOSPC: "insufficient-space",
  ENOTDIR: "not-directory",
  ENOTEMPTY: "not-empty",
  ENOTSUP: "unsupported",
  EOPNOTSUPP: "unsupported",
  EROFS: "read-only",
  ESPIPE: "invalid-seek",
  EXDEV: "cross-device",
  ETXTBSY: "text-file-busy",
  EOVERFLOW: "overflow",
  EPIPE: "pipe",
};

/** Maps a thrown Deno error to a `wasi:filesystem` error code. */
export function errorCode(e: unknown): ErrorCode {
  if (typeof e === "string") return e;
  const code = (e as { code?: string })?.code;
  if (code && CODES[code]) return CODES[code];
  if (e instanceof Deno.errors.NotFound) return "no-entry";
  if (e instanceof Deno.errors.AlreadyExists) return "exist";
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) return "access";
  if (e instanceof Deno.errors.IsADirectory) return "is-directory";
  if (e instanceof Deno.errors.NotADirectory) return "not-directory";
  return "io";
}

/** Runs a Deno file-system call, turning what it throws into an error code. */
export function fsCall<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw errorCode(e);
  }
}

/** A Date as a WASI datetime. */
export function datetime(d: Date | null): Datetime | undefined {
  if (!d) return undefined;
  const ms = d.getTime();
  return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1_000_000 };
}

/** The `descriptor-type` of a file. */
export function typeOf(info: Deno.FileInfo): string {
  if (info.isFile) return "regular-file";
  if (info.isDirectory) return "directory";
  if (info.isSymlink) return "symbolic-link";
  if (info.isBlockDevice) return "block-device";
  if (info.isCharDevice) return "character-device";
  if (info.isFifo) return "fifo";
  if (info.isSocket) return "socket";
  return "unknown";
}

/** A `descriptor-stat` record. */
export function statOf(info: Deno.FileInfo) {
  return {
    type: typeOf(info),
    linkCount: BigInt(info.nlink ?? 1),
    size: BigInt(info.size),
    dataAccessTimestamp: datetime(info.atime),
    dataModificationTimestamp: datetime(info.mtime),
    statusChangeTimestamp: datetime(info.ctime ?? null),
  };
}
