/**
 * Choosing and claiming a node's pod CIDR out of the cluster pool (198.18.0.0/16).
 *
 * Several nodes may register at once, so the choice needs a uniqueness check the API server
 * enforces: the node first creates a claim — a Lease in `kube-node-lease` named after the block
 * (`skiff-podcidr-198-18-4-0-22`), held by the node and owned by its Node object — and only then
 * writes `spec.podCIDR`. Creating an object is atomic: when two nodes race for a block, one gets
 * 409 AlreadyExists and tries the next. A claim whose Node is gone is reclaimed (the garbage
 * collector removes it too, through the owner reference).
 *
 * The block size is the node's choice: /22 by default (1,022 pod addresses, enough for the
 * 1,000-pod Wasm density target; 64 nodes per pool), `--pod-cidr-mask 24` for 254.
 * @module
 */
import { ipToString, parseCidr } from "../../control/api/cidr.ts";

export const POD_CIDR_POOL = "198.18.0.0/16";
export const CLAIM_PREFIX = "skiff-podcidr-";

/** The claim Lease name of a block. */
export function claimName(cidr: string): string {
  return CLAIM_PREFIX + cidr.replace(/[./]/g, "-");
}

/** The block a claim name stands for, or undefined. */
export function cidrOfClaim(name: string): string | undefined {
  if (!name.startsWith(CLAIM_PREFIX)) return undefined;
  const parts = name.slice(CLAIM_PREFIX.length).split("-");
  if (parts.length !== 5) return undefined;
  return `${parts.slice(0, 4).join(".")}/${parts[4]}`;
}

/** Every block of `mask` bits in `pool`, in order. */
export function blocks(pool: string, mask: number): string[] {
  const p = parseCidr(pool);
  if (mask < p.bits || mask > 30) throw new RangeError(`a /${mask} block does not fit the pool ${pool}`);
  const size = 2 ** (32 - mask);
  return Array.from({ length: 2 ** (mask - p.bits) }, (_, i) => `${ipToString(p.base + i * size)}/${mask}`);
}

/** Whether two CIDRs overlap. */
export function overlaps(a: string, b: string): boolean {
  const x = parseCidr(a), y = parseCidr(b);
  const xEnd = x.base + 2 ** (32 - x.bits), yEnd = y.base + 2 ** (32 - y.bits);
  return x.base < yEnd && y.base < xEnd;
}

/** The blocks of `mask` bits in `pool` that overlap none of `taken`, lowest first. */
export function freeBlocks(pool: string, mask: number, taken: string[]): string[] {
  const valid = taken.filter((t) => {
    try {
      parseCidr(t);
      return true;
    } catch {
      return false;
    }
  });
  return blocks(pool, mask).filter((b) => !valid.some((t) => overlaps(b, t)));
}
