/**
 * Compiled seccomp filters, so crun compiles each distinct profile once per node agent rather
 * than once per container (about 15–50 ms of every `crun create` on these machines; the Debian
 * crun is built without its own compiled-profile cache).
 *
 * crun writes the filter it compiled (or was given) to `<crun root>/<id>/seccomp.bpf`, where
 * `crun exec` reads it back. After a container with a profile not seen yet is created, that file
 * is learned here, keyed by the profile's JSON; later containers with the same profile carry the
 * filter in the `run.oci.seccomp_bpf_data` annotation (base64 of the raw `sock_filter` program,
 * see `man crun`), and crun loads it as it is instead of compiling the `seccomp` section, which
 * stays in config.json. The profile enforced is the same: the bytes are crun's own output for
 * that very profile, from the same crun, libseccomp and kernel (the cache lives as long as the
 * agent process).
 * @module
 */
import type { SeccompProfile } from "../../../plugins/runtime/oci/seccomp.ts";

/** crun's annotation carrying a compiled filter. */
export const SECCOMP_BPF_ANNOTATION = "run.oci.seccomp_bpf_data";

/** Size of one BPF instruction (`struct sock_filter`). */
const INSTRUCTION_BYTES = 8;

/** Annotations crun interprets (`run.oci.*`), defined beside the config.json they filter. */
export { isRuntimeAnnotation } from "../../../plugins/runtime/oci/spec.ts";

/** The cache key of a profile (its JSON). Pure. */
export function profileKey(profile: SeccompProfile): string {
  return JSON.stringify(profile);
}

/** Whether `bytes` can be a BPF program (a non-empty whole number of instructions). Pure. */
export function isBpfProgram(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes.length % INSTRUCTION_BYTES === 0;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Filters crun compiled, by profile. */
export class SeccompBpfCache {
  readonly #bpf = new Map<string, string>();

  get size(): number {
    return this.#bpf.size;
  }

  /** The base64 filter of `profile`, when learned. */
  lookup(profile: SeccompProfile): string | undefined {
    return this.#bpf.get(profileKey(profile));
  }

  /** Learns the filter crun compiled for `profile` from its state file (`<root>/<id>/seccomp.bpf`). */
  async learn(profile: SeccompProfile, stateFile: string): Promise<void> {
    const key = profileKey(profile);
    if (this.#bpf.has(key)) return;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(stateFile);
    } catch {
      return; // not written (no seccomp support): crun keeps compiling
    }
    if (isBpfProgram(bytes)) this.#bpf.set(key, base64(bytes));
  }
}
