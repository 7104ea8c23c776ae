/**
 * The 16-bit float formats kiln stores (float16 and bfloat16), as raw bit patterns in a
 * Uint16Array, and their exact conversions from and to float32.
 *
 * - float16 (IEEE 754 binary16): 1 sign, 5 exponent, 10 mantissa bits; largest finite 65504,
 *   smallest subnormal 2⁻²⁴.
 * - bfloat16: the top half of a float32 (1 sign, 8 exponent, 7 mantissa bits).
 *
 * Rounding is to nearest, ties to even, as PyTorch's c10::Half and c10::BFloat16 do: values
 * past the largest finite one round to ±Infinity, tiny ones to subnormals or ±0. NaN becomes
 * the NaN PyTorch 1.13's CPU tensor conversions give (float16: sign | 0x7E00; bfloat16:
 * 0xFFFF, from its vectorized path). Decoding is exact, NaN sign and payload included.
 * A float64 value is first rounded to float32 (PyTorch converts double → half through float).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 bits of `v` (after rounding v to float32). */
function float32Bits(v: number): number {
  f32[0] = v;
  return u32[0];
}

/**
 * The float16 bit pattern nearest to `v` (rounded to float32 first), ties to even.
 *
 * Example: `float32ToFloat16Bits(1)` → `0x3C00`; `float32ToFloat16Bits(65520)` → `0x7C00` (Infinity).
 */
export function float32ToFloat16Bits(v: number): number {
  if (typeof v !== 'number') throw new TypeError(`float32ToFloat16Bits: v must be a number, got ${typeof v}`);
  return float32BitsToFloat16Bits(float32Bits(v));
}

/** float32ToFloat16Bits on the float32 bit pattern `x` (an unsigned 32-bit integer). */
function float32BitsToFloat16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return mantissa !== 0 ? sign | 0x7e00 : sign | 0x7c00;
  const e = exponent - 127 + 15; // the float16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) return sign | roundShift((e << 23) | mantissa, 13); // a carry may reach Infinity: correct
  // Subnormal result m·2⁻²⁴: v = (2²³ + mantissa)·2^(exponent − 150), so m = (2²³ + mantissa) / 2^(14 − e).
  const shift = 14 - e;
  if (shift > 24) return sign; // below half the smallest subnormal
  return sign | roundShift(0x800000 | mantissa, shift);
}

/** ⌊x / 2^shift⌉ with ties to even, for 0 ≤ x < 2³¹ and 1 ≤ shift ≤ 24. */
function roundShift(x: number, shift: number): number {
  const kept = x >>> shift;
  const rest = x & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/**
 * The value of the float16 bit pattern `h` (exact: every float16 is a float32).
 *
 * Example: `float16BitsToFloat32(0x3C00)` → 1; `float16BitsToFloat32(0x0001)` → 2⁻²⁴.
 */
export function float16BitsToFloat32(h: number): number {
  if (typeof h !== 'number') throw new TypeError(`float16BitsToFloat32: h must be a number (16 bits), got ${typeof h}`);
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f && mantissa !== 0) {
    u32[0] = ((h & 0x8000) << 16) | 0x7f800000 | (mantissa << 13); // NaN with its sign and payload
    return f32[0];
  }
  if (exponent === 0x1f) return sign * Infinity;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/**
 * The bfloat16 bit pattern nearest to `v` (rounded to float32 first), ties to even.
 *
 * Example: `float32ToBFloat16Bits(1)` → `0x3F80`; NaN → `0xFFFF`.
 */
export function float32ToBFloat16Bits(v: number): number {
  if (typeof v !== 'number') throw new TypeError(`float32ToBFloat16Bits: v must be a number, got ${typeof v}`);
  return float32BitsToBFloat16Bits(float32Bits(v));
}

/** float32ToBFloat16Bits on the float32 bit pattern `x` (an unsigned 32-bit integer). */
function float32BitsToBFloat16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return 0xffff; // NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * The value of the bfloat16 bit pattern `b` (exact).
 *
 * Example: `bfloat16BitsToFloat32(0x3F80)` → 1.
 */
export function bfloat16BitsToFloat32(b: number): number {
  if (typeof b !== 'number') throw new TypeError(`bfloat16BitsToFloat32: b must be a number (16 bits), got ${typeof b}`);
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** Bit-pattern encoders and decoders of the two 16-bit float dtypes. */
export const HALF_CODECS = {
  float16: { encode: float32ToFloat16Bits, decode: float16BitsToFloat32 },
  bfloat16: { encode: float32ToBFloat16Bits, decode: bfloat16BitsToFloat32 },
} as const;

let float16Values: Float32Array | null = null;

/** The value of every float16 bit pattern (256 KiB, built on first use): decoding is a lookup. */
function float16Table(): Float32Array {
  if (float16Values === null) {
    float16Values = new Float32Array(0x10000);
    for (let h = 0; h < 0x10000; h++) float16Values[h] = float16BitsToFloat32(h);
  }
  return float16Values;
}

/** Decodes every element of `bits` (float16 or bfloat16 patterns) into `out` (same length). */
export function decodeHalf(dtype: 'float16' | 'bfloat16', bits: Uint16Array, out: Float32Array | Float64Array): void {
  const n = bits.length;
  if (dtype === 'float16') {
    const table = float16Table();
    for (let i = 0; i < n; i++) out[i] = table[bits[i]];
  } else if (out instanceof Float32Array) {
    const out32 = new Uint32Array(out.buffer, out.byteOffset, n); // bfloat16 is a float32's top half
    for (let i = 0; i < n; i++) out32[i] = bits[i] << 16;
  } else {
    for (let i = 0; i < n; i++) out[i] = bfloat16BitsToFloat32(bits[i]);
  }
}

/**
 * Encodes every element of `values` into float16 or bfloat16 patterns in `out` (same length).
 * float32 sources are read as bit patterns directly.
 */
export function encodeHalf(dtype: 'float16' | 'bfloat16', values: ArrayLike<number>, out: Uint16Array): void {
  const n = values.length;
  if (values instanceof Float32Array) {
    const x = new Uint32Array(values.buffer, values.byteOffset, n);
    if (dtype === 'float16') for (let i = 0; i < n; i++) out[i] = float32BitsToFloat16Bits(x[i]);
    else for (let i = 0; i < n; i++) out[i] = float32BitsToBFloat16Bits(x[i]);
    return;
  }
  const encode = HALF_CODECS[dtype].encode;
  for (let i = 0; i < n; i++) out[i] = encode(values[i]);
}
