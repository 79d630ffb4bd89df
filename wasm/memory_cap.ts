/**
 * A per-instance memory limit for core modules: rewriting the maximum of every memory a module
 * defines (its memory section), so that `memory.grow` past `resources.limits.memory` fails
 * inside the guest instead of growing the sandbox. jco components define their memories inside
 * core modules, so this is the only per-instance cap V8 enforces. Pure.
 *
 * @example
 * ```ts ignore
 * import { capMemory } from "./memory_cap.ts";
 *
 * const capped = capMemory(coreBytes, 64 * 1024 * 1024); // at most 64 MiB per memory
 * const module = await WebAssembly.compile(capped);
 * ```
 * @module
 */

const PAGE = 65536;

/** Thrown when a module needs more memory at start than the limit allows. */
export class MemoryLimitError extends RangeError {
  readonly neededBytes: number;
  readonly limitBytes: number;

  constructor(neededBytes: number, limitBytes: number) {
    super(
      `The component needs at least ${mib(neededBytes)} of memory at start; the limit is ${mib(limitBytes)}`,
    );
    this.name = "MemoryLimitError";
    this.neededBytes = neededBytes;
    this.limitBytes = limitBytes;
  }
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(n % 1048576 ? 1 : 0)} MiB`;
}

function readLeb(b: Uint8Array, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= b.length) throw new RangeError("Truncated LEB128 in a WebAssembly module");
    const byte = b[pos++];
    result += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return [result, pos];
    shift += 7;
    if (shift > 63) throw new RangeError("Malformed LEB128 in a WebAssembly module");
  }
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/** The memories a core module defines: their minimum and maximum in bytes. */
export function definedMemories(bytes: Uint8Array): { minBytes: number; maxBytes?: number }[] {
  const found: { minBytes: number; maxBytes?: number }[] = [];
  rewrite(bytes, (m) => {
    found.push({
      minBytes: m.min * m.pageSize,
      maxBytes: m.max === undefined ? undefined : m.max * m.pageSize,
    });
    return m;
  });
  return found;
}

/**
 * Caps every memory a core module defines at `limitBytes` (rounded down to whole pages; a
 * lower existing maximum is kept). Returns the bytes unchanged when the module defines no
 * memory. Throws {@linkcode MemoryLimitError} when a memory's minimum is above the limit.
 */
export function capMemory(bytes: Uint8Array, limitBytes: number): Uint8Array {
  return rewrite(bytes, (m) => {
    const capPages = Math.floor(limitBytes / m.pageSize);
    if (m.min > capPages) throw new MemoryLimitError(m.min * m.pageSize, limitBytes);
    return { ...m, max: m.max === undefined ? capPages : Math.min(m.max, capPages) };
  });
}

interface Limits {
  flags: number;
  min: number;
  max?: number;
  pageSize: number;
  pageSizeLog2?: number;
}

function rewrite(bytes: Uint8Array, change: (m: Limits) => Limits): Uint8Array {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new RangeError("Not a WebAssembly module");
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) {
    throw new RangeError("Not a core WebAssembly module");
  }
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos];
    const [size, contentStart] = readLeb(bytes, pos + 1);
    const end = contentStart + size;
    if (end > bytes.length) throw new RangeError("A section runs past the end of the module");
    if (id === 5) {
      let p = contentStart;
      let count: number;
      [count, p] = readLeb(bytes, p);
      const out: number[] = [...leb(count)];
      for (let i = 0; i < count; i++) {
        const flags = bytes[p++];
        let min: number;
        let max: number | undefined;
        let pageSizeLog2: number | undefined;
        [min, p] = readLeb(bytes, p);
        if (flags & 0x01) [max, p] = readLeb(bytes, p);
        if (flags & 0x08) [pageSizeLog2, p] = readLeb(bytes, p);
        const pageSize = pageSizeLog2 === undefined ? PAGE : 2 ** pageSizeLog2;
        const next = change({ flags, min, max, pageSize, pageSizeLog2 });
        const newFlags = (flags & ~0x01) | (next.max !== undefined ? 0x01 : 0);
        out.push(newFlags, ...leb(next.min));
        if (next.max !== undefined) out.push(...leb(next.max));
        if (pageSizeLog2 !== undefined) out.push(...leb(pageSizeLog2));
      }
      if (p !== end) throw new RangeError("Malformed memory section");
      const section = [5, ...leb(out.length), ...out];
      const result = new Uint8Array(pos + section.length + (bytes.length - end));
      result.set(bytes.subarray(0, pos), 0);
      result.set(section, pos);
      result.set(bytes.subarray(end), pos + section.length);
      return result;
    }
    pos = end;
  }
  return bytes;
}
