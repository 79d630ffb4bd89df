/**
 * The UTF-8 length of a string without encoding it: what `new TextEncoder().encode(s).length`
 * returns (a lone surrogate counts as U+FFFD, 3 bytes), without the array. Size limits
 * (ConfigMap and Secret data, annotations) check it on every write.
 *
 * @example
 * ```ts
 * utf8Length("héllo"); // 6
 * ```
 * @module
 */
// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

export function utf8Length(s: string): number {
  // Most values are ASCII: one byte per code unit (the regular expression scan is native).
  if (!NON_ASCII.test(s)) return s.length;
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 2 code units, 4 bytes
      i++;
    } else n += 2; // the rest of the BMP, and lone surrogates (U+FFFD): 3 bytes
  }
  return n;
}
