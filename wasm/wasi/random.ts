/**
 * `wasi:random` for one instance: cryptographic random bytes (Web Crypto) and a per-instance
 * insecure seed.
 * @module
 */

function randomBytes(len: bigint): Uint8Array {
  const n = Number(len);
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) {
    crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)));
  }
  return out;
}

function randomU64(): bigint {
  return crypto.getRandomValues(new BigUint64Array(1))[0];
}

/** The `wasi:random/*` imports of one instance. */
export function randomImports() {
  const seed: [bigint, bigint] = [randomU64(), randomU64()];
  return {
    "wasi:random/random": { getRandomBytes: randomBytes, getRandomU64: randomU64 },
    "wasi:random/insecure": { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: randomU64 },
    "wasi:random/insecure-seed": { insecureSeed: (): [bigint, bigint] => [seed[0], seed[1]] },
  };
}
