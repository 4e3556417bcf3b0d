/**
 * Seeded randomness for the trainer. Every random choice is a pure function of (seed, purpose, counters),
 * so the data order and dropout of step N are the same whether training ran straight through or resumed.
 */

/** 32-bit hash of a list of integers (murmur3's finaliser over a running mix). */
export function hashInts(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Fisher–Yates shuffle (in place) driven by `random`. */
export function shuffleInPlace<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
