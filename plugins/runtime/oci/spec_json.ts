/**
 * `config.json` as text. The `RuntimeDefault` seccomp profile is most of a container's config
 * (some 9 of its 10 KB) and the same frozen object for every container holding the same
 * capabilities (seccomp.ts), so its JSON is made once per profile and spliced in: in the
 * runtime Plugin's interpreter (QuickJS) `JSON.stringify` of the whole config took a median
 * 0.39 ms per container, this 0.17 ms. Pure.
 * @module
 */

/** The JSON of each profile object already written (frozen profiles are shared). */
const written = new WeakMap<object, string>();

/**
 * `JSON.stringify(spec)`, but for the key order of `linux` (its `seccomp` comes last): the same
 * value once parsed.
 */
// deno-lint-ignore no-explicit-any
export function specJson(spec: any): string {
  const linux = spec?.linux;
  const seccomp = linux?.seccomp;
  if (!seccomp || typeof seccomp !== "object" || !Object.isFrozen(seccomp)) return JSON.stringify(spec);
  let text = written.get(seccomp);
  if (text === undefined) written.set(seccomp, text = JSON.stringify(seccomp));
  const { seccomp: _, ...rest } = linux;
  // `linux` stays the last key of the config and is never empty here (it has a seccomp key), so
  // the text ends with `}}` and the profile goes in before them.
  const keys = Object.keys(spec);
  if (keys[keys.length - 1] !== "linux" || Object.keys(rest).length === 0) return JSON.stringify(spec);
  const head = JSON.stringify({ ...spec, linux: rest });
  return `${head.slice(0, -2)},"seccomp":${text}}}`;
}
