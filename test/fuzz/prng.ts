/**
 * A small seeded PRNG (mulberry32) with the helpers the fuzz generators use, so a seed always
 * yields the same items.
 */
export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `list`. */
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)]!;
  }
}

/** The seeds a fuzz run uses: `STEM_FUZZ_SEED` alone when set, else `count` seeds from `STEM_FUZZ_BASE_SEED` (default 1). */
export function fuzzSeeds(count: number): number[] {
  const one = process.env.STEM_FUZZ_SEED;
  if (one !== undefined && one !== '') return [Number(one) >>> 0];
  const base = Number(process.env.STEM_FUZZ_BASE_SEED ?? 1);
  return Array.from({ length: count }, (_, i) => (base + i) >>> 0);
}

/** A positive integer from the environment, or `fallback`. */
export function envCount(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}
