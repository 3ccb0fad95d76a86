/** A uniform draw in the open interval (0, 1): never exactly 0 (safe for log) nor 1. */
export type Random = () => number;

/**
 * A seeded generator (xoshiro128**, state filled by splitmix32): the same seed gives the same sequence
 * in every process and Node version, so seeded sampling is reproducible. Not for cryptography.
 */
export function createSeededRandom(seed: number): Random {
  let s = seed >>> 0;
  const splitmix32 = () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix32();
  let b = splitmix32();
  let c = splitmix32();
  let d = splitmix32();
  return () => {
    const result = Math.imul(rotateLeft(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotateLeft(d, 11);
    return (result + 0.5) / 4294967296;
  };
}

function rotateLeft(x: number, bits: number): number {
  return (x << bits) | (x >>> (32 - bits));
}
