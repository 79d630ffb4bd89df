/**
 * IPv4 addresses and CIDR ranges as numbers. Pure.
 * @module
 */

export interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  bits: number;
}

export function ipToNumber(ip: string): number | null {
  const parts = ip.split(".");
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

export function ipToString(n: number): string {
  return [n >>> 24 & 255, n >>> 16 & 255, n >>> 8 & 255, n & 255].join(".");
}

export function parseCidr(cidr: string): Cidr {
  const [ip, bitsText] = cidr.split("/");
  const n = ipToNumber(ip);
  const bits = Number(bitsText);
  if (n === null || !Number.isInteger(bits) || bits < 0 || bits > 32) throw new TypeError(`Invalid CIDR "${cidr}"`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (n & mask) >>> 0, bits };
}

export function ipInCidr(ip: string, cidr: Cidr): boolean {
  const n = ipToNumber(ip);
  if (n === null) return false;
  const size = 2 ** (32 - cidr.bits);
  return n >= cidr.base && n < cidr.base + size;
}

/** The i-th address of a range (0 is the network address). */
export function nthAddress(cidr: Cidr, i: number): string {
  return ipToString(cidr.base + i);
}
