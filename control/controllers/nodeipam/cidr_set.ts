/**
 * The blocks of a cluster CIDR (upstream `pkg/controller/nodeipam/ipam/cidrset`), pure: every
 * node-sized block of the pool, whether two ranges overlap, and the lowest block no taken range
 * overlaps. A taken range of any size or alignment (a node whose podCIDR was set by hand, or by
 * a simulated node with an admin credential) blocks every block it touches.
 *
 * @example
 * ```ts
 * nextFreeBlock("198.18.0.0/16", 22, ["198.18.0.0/22", "198.18.5.0/24"]); // "198.18.8.0/22"
 * ```
 * @module
 */
import { ipToString, parseCidr } from "../../api/cidr.ts";

/** Why a pool and mask do not make a CIDR set (upstream's `NewCIDRSet` checks). */
export function cidrSetError(pool: string, mask: number): string | null {
  let bits: number;
  try {
    bits = parseCidr(pool).bits;
  } catch {
    return `invalid cluster CIDR "${pool}"`;
  }
  if (!Number.isInteger(mask) || mask < bits || mask > 30) {
    return `node CIDR mask size ${mask} must be between the cluster CIDR's (${bits}) and 30`;
  }
  // Upstream: "CIDRSet doesn't support cluster cidr ... with node cidr mask size ... (max 16 bits diff)".
  if (mask - bits > 16) return `node CIDR mask size ${mask} is more than 16 bits longer than /${bits}`;
  return null;
}

/** Every block of `mask` bits in `pool`, lowest first. */
export function blocks(pool: string, mask: number): string[] {
  const err = cidrSetError(pool, mask);
  if (err) throw new RangeError(err);
  const p = parseCidr(pool);
  const size = 2 ** (32 - mask);
  return Array.from({ length: 2 ** (mask - p.bits) }, (_, i) => `${ipToString(p.base + i * size)}/${mask}`);
}

/** Whether two CIDRs share an address; false when either does not parse. */
export function overlaps(a: string, b: string): boolean {
  let x, y;
  try {
    x = parseCidr(a);
    y = parseCidr(b);
  } catch {
    return false;
  }
  const xEnd = x.base + 2 ** (32 - x.bits), yEnd = y.base + 2 ** (32 - y.bits);
  return x.base < yEnd && y.base < xEnd;
}

/** The lowest block of `mask` bits in `pool` that overlaps none of `taken`, or null when all are. */
export function nextFreeBlock(pool: string, mask: number, taken: Iterable<string>): string | null {
  const inPool = [...taken].filter((t) => overlaps(t, pool));
  return blocks(pool, mask).find((b) => !inPool.some((t) => overlaps(b, t))) ?? null;
}
