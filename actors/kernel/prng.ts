/**
 * A small seeded pseudo-random generator (sfc32, seeded by hashing a string key), so the data
 * generator, the simulator and the pump are reproducible: same seed, same numbers, on every
 * platform (only integer arithmetic and V8's deterministic Math.log/cos/sqrt are used).
 *
 *   const rng = createPrng(42);
 *   rng.float()            // [0, 1)
 *   rng.int(1, 6)          // integer in [1, 6], both ends included
 *   rng.pick(['a', 'b'])   // one element
 *   rng.gaussian(0, 1)     // normal
 *   rng.poisson(3)         // Poisson count
 *   rng.fork('customer/7') // an independent stream named by a label
 *
 * `fork(label)` depends only on this generator's key and the label, never on how many numbers were
 * drawn: a per-entity stream (`fork(\`customer/${id}\`)`) stays the same when other entities are
 * added, removed or drawn in another order.
 *
 * A machine's context holds a generator's state (`PrngState`: plain numbers, so a snapshot keeps it), never the
 * generator: an action resumes one from the state, draws, and assigns the state it reached (`resumePrng`, `state()`).
 */

/** Where a generator stands: its key and its four 32-bit words (data: JSON keeps it whole). */
export interface PrngState {
  key: string;
  s: [number, number, number, number];
}

export interface Prng {
  /** The string this generator was seeded from (forks append `/label`). */
  readonly key: string;
  /** Next 32-bit unsigned integer. */
  uint32(): number;
  /** Uniform in [0, 1). */
  float(): number;
  /** Uniform integer in [lo, hi], both included. */
  int(lo: number, hi: number): number;
  /** true with probability p. */
  chance(p: number): boolean;
  /** One element, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** Shuffles in place (Fisher–Yates) and returns the array. */
  shuffle<T>(items: T[]): T[];
  /** Normal deviate (Box–Muller). */
  gaussian(mean?: number, sd?: number): number;
  /** Poisson-distributed count (Knuth below 30, rounded normal above). */
  poisson(lambda: number): number;
  /** An independent generator for the label. */
  fork(label: string | number): Prng;
  /** Where it stands now (a copy: drawing on does not change it). */
  state(): PrngState;
}

/** cyrb128: four 32-bit seeds from a string. */
function hash128(key: string): [number, number, number, number] {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < key.length; i++) {
    const k = key.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

class Sfc32 implements Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** From a key (hashed and mixed), or from a state a generator reached. */
  constructor(
    readonly key: string,
    from?: PrngState['s'],
  ) {
    [this.a, this.b, this.c, this.d] = from ?? hash128(key);
    if (!from) for (let i = 0; i < 12; i++) this.uint32(); // mix the seed in
  }

  state(): PrngState {
    return { key: this.key, s: [this.a, this.b, this.c, this.d] };
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  float(): number {
    return this.uint32() / 4294967296;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.float() * items.length)];
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.float() * (i + 1));
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  gaussian(mean = 0, sd = 1): number {
    const u = 1 - this.float(); // (0, 1]: log stays finite
    const v = this.float();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda >= 30) return Math.max(0, Math.round(this.gaussian(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0,
      p = this.float();
    while (p > limit) {
      k++;
      p *= this.float();
    }
    return k;
  }

  fork(label: string | number): Prng {
    return new Sfc32(`${this.key}/${label}`);
  }
}

/** A generator for the seed (a number or any string). */
export function createPrng(seed: number | string): Prng {
  return new Sfc32(String(seed));
}

/** A generator going on from `state` (the state itself is not changed). */
export function resumePrng(state: PrngState): Prng {
  return new Sfc32(state.key, state.s);
}

/** The state `n` 32-bit draws after `state` (what drawing `n` integers or floats leaves). */
export function skipped(state: PrngState, n: number): PrngState {
  const rng = new Sfc32(state.key, state.s);
  for (let i = 0; i < n; i++) rng.uint32();
  return rng.state();
}
