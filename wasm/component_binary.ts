/**
 * Reading a WebAssembly binary's outer shape without compiling it: whether it is a core module
 * or a component, and a component's top-level import and export names with their versions
 * (`wasi:http/incoming-handler@0.2.12`). Nested modules and components are skipped. Pure.
 * @module
 */

/** What kind of item a top-level import or export is. */
export type ExternKind = "module" | "func" | "value" | "type" | "component" | "instance";

/** One top-level import or export of a component. */
export interface ComponentItem {
  name: string;
  kind: ExternKind;
}

/** The outer shape of a binary. */
export type BinaryShape =
  | { kind: "component"; imports: ComponentItem[]; exports: ComponentItem[] }
  | { kind: "module" };

/** Thrown for bytes that are not a WebAssembly binary this parser understands. */
export class BinaryFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BinaryFormatError";
  }
}

const KINDS: ExternKind[] = ["module", "func", "value", "type", "component", "instance"];

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly end = bytes.length) {}

  byte(): number {
    if (this.pos >= this.end) throw new BinaryFormatError("Unexpected end of the binary");
    return this.bytes[this.pos++];
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
      shift += 7;
      if (shift > 35) throw new BinaryFormatError("Malformed LEB128 number");
    }
    return result;
  }

  /** A signed LEB128 (s33 / s64); only its length matters here. */
  sleb(): void {
    for (let i = 0; i < 10; i++) if (!(this.byte() & 0x80)) return;
    throw new BinaryFormatError("Malformed signed LEB128 number");
  }

  string(): string {
    const len = this.u32();
    if (this.pos + len > this.end) throw new BinaryFormatError("A name runs past its section");
    const s = new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
}

/** `importname'` / `exportname'`: a discriminant byte, then the name. */
function readName(r: Reader): string {
  const tag = r.byte();
  if (tag !== 0x00 && tag !== 0x01) {
    throw new BinaryFormatError(`Unknown name encoding 0x${tag.toString(16)}`);
  }
  return r.string();
}

function readExternDesc(r: Reader): ExternKind {
  const k = r.byte();
  switch (k) {
    case 0x00:
      if (r.byte() !== 0x11) throw new BinaryFormatError("Malformed core module import");
      r.u32();
      break;
    case 0x01:
    case 0x04:
    case 0x05:
      r.u32();
      break;
    case 0x02: {
      const b = r.byte();
      if (b === 0x00) r.u32();
      else r.sleb();
      break;
    }
    case 0x03:
      if (r.byte() === 0x00) r.u32();
      break;
    default:
      throw new BinaryFormatError(`Unknown extern kind 0x${k.toString(16)}`);
  }
  return KINDS[k];
}

function readSort(r: Reader): ExternKind {
  const s = r.byte();
  if (s === 0x00) {
    r.byte();
    return "module";
  }
  if (s > 0x05) throw new BinaryFormatError(`Unknown sort 0x${s.toString(16)}`);
  return KINDS[s];
}

/** Reads the outer shape of a WebAssembly binary; throws {@linkcode BinaryFormatError}. */
export function readBinaryShape(bytes: Uint8Array): BinaryShape {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new BinaryFormatError("Not a WebAssembly binary (no \\0asm header)");
  }
  const layer = bytes[6] | (bytes[7] << 8);
  if (layer === 0) return { kind: "module" };
  if (layer !== 1) throw new BinaryFormatError(`Unknown WebAssembly binary layer ${layer}`);
  const r = new Reader(bytes);
  r.pos = 8;
  const imports: ComponentItem[] = [];
  const exports: ComponentItem[] = [];
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (end > bytes.length) throw new BinaryFormatError("A section runs past the end of the binary");
    if (id === 0x0a || id === 0x0b) {
      const s = new Reader(bytes, end);
      s.pos = r.pos;
      const count = s.u32();
      for (let i = 0; i < count; i++) {
        const name = readName(s);
        if (id === 0x0a) {
          imports.push({ name, kind: readExternDesc(s) });
        } else {
          const kind = readSort(s);
          s.u32();
          if (s.byte() === 0x01) readExternDesc(s);
          exports.push({ name, kind });
        }
      }
    }
    r.pos = end;
  }
  return { kind: "component", imports, exports };
}

/** Splits `ns:pkg/iface@1.2.3` into its unversioned name and version (if any). */
export function splitVersion(name: string): { name: string; version?: string } {
  const at = name.lastIndexOf("@");
  return at > 0 ? { name: name.slice(0, at), version: name.slice(at + 1) } : { name };
}
