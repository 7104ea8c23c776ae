/**
 * The int8 dynamic-quantized Linear on plain TypeScript loops: the oracle of the native int8
 * GEMM (native/kernels/qgemm), with the same packed weight layout and the same quantization
 * rules (docs/ARCHITECTURE.md, "int8 dynamic quantization").
 */
import type { FloatArray } from '../../dtype.js';
import { roundHalfEven } from './elementwise.js';

/** Output channels per packed weight panel. */
const PANEL_COLUMNS = 16;
/** Consecutive k stored together per channel (what one vpmaddubsw + vpmaddwd pair sums). */
const GROUP_DEPTH = 4;
/** Largest k: Σ (x_q − zero point) · w_q must stay inside int32 (2 · 127 · 128 · k < 2³¹). */
export const QLINEAR_MAX_DEPTH = 65536;
/** Activations are quantized to [0, QLINEAR_ACTIVATION_MAX]: u8 with fbgemm's reduce_range. */
const ACTIVATION_MAX = 127;
/** PyTorch's SMALL_SCALE_THRESHOLD: the smallest activation scale (a float32). */
const SMALL_SCALE = Math.fround(6.1e-5);

/**
 * Bytes of the packed int8 weights of an (n, k) matrix: n and k rounded up to 16 and 4.
 *
 * Example: `qlinearPackedBytes(10, 6)` → 128.
 */
export function qlinearPackedBytes(n: number, k: number): number {
  return Math.ceil(n / PANEL_COLUMNS) * PANEL_COLUMNS * Math.ceil(k / GROUP_DEPTH) * GROUP_DEPTH;
}

/** The offset of w[j, p] in the packed layout of a matrix with `groups` groups of k. */
function packedOffset(j: number, p: number, groups: number): number {
  const panel = Math.floor(j / PANEL_COLUMNS);
  const g = Math.floor(p / GROUP_DEPTH);
  return ((panel * groups + g) * PANEL_COLUMNS + (j % PANEL_COLUMNS)) * GROUP_DEPTH + (p % GROUP_DEPTH);
}

/** Backend.qlinearPackWeights. */
export function qlinearPackWeights(weight: Int8Array, n: number, k: number, packed: Int8Array, columnSums: Int32Array): void {
  const groups = Math.ceil(k / GROUP_DEPTH);
  packed.fill(0);
  for (let j = 0; j < n; j++) {
    let sum = 0;
    for (let p = 0; p < k; p++) {
      packed[packedOffset(j, p, groups)] = weight[j * k + p];
      sum += weight[j * k + p];
    }
    columnSums[j] = sum;
  }
}

/** An activation's per-tensor quantization: x ≈ scale · (x_q − zeroPoint), x_q in [0, 127]. */
export interface ActivationQuantization {
  scale: number;
  zeroPoint: number;
}

/**
 * PyTorch's ChooseQuantizationParams for u8 with reduce_range (qmin 0, qmax 127): the range
 * widened to hold 0, scale = range / 127 (0.1 for an all-zero range, at least 6.1e-5), and the
 * zero point from whichever end loses less to rounding, clamped and rounded half to even.
 *
 * Example: `chooseActivationQuantization(-1, 1)` → `{ scale: 2 / 127 (as float32), zeroPoint: 64 }`.
 */
export function chooseActivationQuantization(min: number, max: number): ActivationQuantization {
  let lo = Math.min(min, 0);
  let hi = Math.max(max, 0);
  let scale = (hi - lo) / ACTIVATION_MAX;
  if (Math.fround(scale) === 0 || !Number.isFinite(Math.fround(1 / Math.fround(scale)))) scale = 0.1;
  if (scale < SMALL_SCALE) {
    const widen = SMALL_SCALE / scale;
    scale = SMALL_SCALE;
    if (lo === 0) hi = SMALL_SCALE * ACTIVATION_MAX;
    else if (hi === 0) lo = -SMALL_SCALE * ACTIVATION_MAX;
    else [lo, hi] = [lo * widen, hi * widen];
  }
  const fromMin = -lo / scale;
  const fromMax = ACTIVATION_MAX - hi / scale;
  const errorMin = -Math.abs(lo / scale);
  const errorMax = ACTIVATION_MAX - Math.abs(hi / scale);
  const initial = errorMin < errorMax ? fromMin : fromMax;
  return { scale: Math.fround(scale), zeroPoint: roundHalfEven(Math.min(ACTIVATION_MAX, Math.max(0, initial))) };
}

/** x_q = clamp(round_half_even(x · (1 / scale) + zeroPoint), 0, 127), in float32 as the kernels. */
function quantizeActivation(x: number, inverseScale: number, zeroPoint: number): number {
  return Math.min(ACTIVATION_MAX, Math.max(0, roundHalfEven(Math.fround(x * inverseScale + zeroPoint))));
}

/** min and max of x, or null when x holds NaN or an infinity. */
function finiteRange(x: FloatArray): [number, number] | null {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) return null;
    if (i === 0 || v < lo) lo = v;
    if (i === 0 || v > hi) hi = v;
  }
  return [lo, hi];
}

/** Backend.qlinearDynamic. */
export function qlinearDynamic(
  x: FloatArray,
  m: number,
  k: number,
  packed: Int8Array,
  n: number,
  columnSums: Int32Array,
  weightScales: Float32Array,
  bias: Float32Array | null,
  out: FloatArray,
): void {
  const range = finiteRange(x.subarray(0, m * k));
  if (range === null) throw new RangeError('qlinearDynamic: x holds NaN or infinity, which has no int8 quantization');
  const { scale, zeroPoint } = chooseActivationQuantization(range[0], range[1]);
  const inverseScale = Math.fround(1 / scale);
  const groups = Math.ceil(k / GROUP_DEPTH);
  const xq = new Int32Array(m * k);
  for (let i = 0; i < m * k; i++) xq[i] = quantizeActivation(x[i], inverseScale, zeroPoint);
  for (let j = 0; j < n; j++) {
    const combined = Math.fround(scale * weightScales[j]);
    const b = bias === null ? 0 : bias[j];
    for (let i = 0; i < m; i++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += xq[i * k + p] * packed[packedOffset(j, p, groups)];
      out[i * n + j] = (acc - zeroPoint * columnSums[j]) * combined + b;
    }
  }
}
