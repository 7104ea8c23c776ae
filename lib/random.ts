/**
 * Seedable pseudo-random numbers (xoshiro128**, seeded through splitmix32). Every random
 * creation op and, later, dropout, initialisers and data shuffling draw from a Generator;
 * `manualSeed(s)` reseeds the default one so whole runs are reproducible.
 */

/**
 * A seedable random number generator.
 *
 * Example: `const g = new Generator(42); randn([3], { generator: g })` draws the same values on every run.
 */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spareNormal: number | null = null;

  /** Args: seed, any integer (default 0). */
  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Resets the generator to the stream of `seed`. */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new RangeError(`manualSeed: seed must be a finite number, got ${seed}`);
    let x = Math.trunc(seed) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    this.spareNormal = null;
    return this;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal sample (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const spare = this.spareNormal;
      this.spareNormal = null;
      return spare;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Writes out.length successive nextUint32() values into out, with the state in locals: the
   * same words and the same state afterwards as that many calls.
   */
  fillUint32(out: Uint32Array): void {
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
    }
    [this.s0, this.s1, this.s2, this.s3] = [s0, s1, s2, s3];
  }

  /**
   * Fills out with low + (high − low)·uniform() for each element in turn: the same values and
   * final state as a loop of uniform() calls, drawn in bulk (fillUint32) for large tensors.
   *
   * Example: `new Generator(0).fillUniform(new Float32Array(1 << 20), -0.1, 0.1)`.
   */
  fillUniform(out: Float32Array | Float64Array, low = 0, high = 1): void {
    const span = high - low;
    const words = new Uint32Array(2 * Math.min(out.length, BULK_DRAWS));
    for (let start = 0; start < out.length; start += BULK_DRAWS) {
      const count = Math.min(BULK_DRAWS, out.length - start);
      this.fillUint32(words.subarray(0, 2 * count));
      for (let j = 0; j < count; j++) out[start + j] = low + span * (((words[2 * j] >>> 5) * 67108864 + (words[2 * j + 1] >>> 6)) / 9007199254740992);
    }
  }

  /**
   * Fills out with mean + std·normal() for each element in turn: the same values and final
   * state (including the kept second value of a Box–Muller pair) as a loop of normal() calls,
   * with the uniforms drawn in bulk.
   *
   * Example: `new Generator(0).fillNormal(new Float32Array(1 << 20), 0, 0.02)`.
   */
  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): void {
    let i = 0;
    if (this.spareNormal !== null && out.length > 0) {
      out[i++] = mean + std * this.spareNormal;
      this.spareNormal = null;
    }
    const uniforms = new Float64Array(2 * Math.min(Math.ceil((out.length - i) / 2), BULK_DRAWS));
    while (i < out.length) {
      const pairs = Math.min(uniforms.length / 2, Math.ceil((out.length - i) / 2));
      const chunk = uniforms.subarray(0, 2 * pairs);
      this.fillUniform(chunk);
      let cursor = 0; // each pair takes two draws; a zero u (probability 2^-53) takes one more, past the chunk from uniform()
      const next = (): number => (cursor < chunk.length ? chunk[cursor++] : this.uniform());
      for (let p = 0; p < pairs; p++) {
        let u = next();
        while (u === 0) u = next();
        const v = next();
        const r = Math.sqrt(-2 * Math.log(u));
        out[i++] = mean + std * (r * Math.cos(2 * Math.PI * v));
        const second = r * Math.sin(2 * Math.PI * v);
        if (i < out.length) out[i++] = mean + std * second;
        else this.spareNormal = second;
      }
    }
  }

  /** A uniform integer in [low, high). */
  integer(low: number, high: number): number {
    return low + Math.floor(this.uniform() * (high - low));
  }

  /** The generator's state, to checkpoint and later restore with setState(). */
  getState(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.spareNormal ?? Number.NaN];
  }

  /** Restores a state returned by getState(). */
  setState(state: readonly number[]): void {
    if (state.length !== 5) throw new RangeError(`setState: expected 5 numbers, got ${state.length}`);
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v >>> 0);
    this.spareNormal = Number.isNaN(state[4]) ? null : state[4];
  }
}

/** Draws per bulk chunk of fillUniform/fillNormal (bounded scratch memory). */
const BULK_DRAWS = 1 << 14;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * The generator random ops use when none is passed.
 *
 * Example: `manualSeed(0)` reseeds defaultGenerator; `randn([3])` draws from it.
 */
export const defaultGenerator = new Generator(0x6b696c6e);

/**
 * Reseeds the default generator, like `torch.manual_seed`.
 *
 * Example: `manualSeed(42); const w = randn([3, 3]);` gives the same w on every run.
 */
export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}
