/**
 * Symmetric int8 weight quantization as PyTorch's MinMaxObserver / PerChannelMinMaxObserver
 * (qint8, per_tensor_symmetric / per_channel_symmetric) followed by quantize_per_tensor /
 * quantize_per_channel: scale = max|w| / 127.5 (at least float32 eps), zero point 0,
 * w_q = clamp(round_half_even(w · (1 / scale)), −128, 127), all in float32.
 */
import { roundHalfEven } from '../backend/reference/elementwise.js';

/** How weights share scales: one per output channel (row), or one for the whole tensor. */
export type WeightQScheme = 'perChannelSymmetric' | 'perTensorSymmetric';

/** torch.finfo(torch.float32).eps, the observers' smallest scale. */
const FLOAT32_EPS = 2 ** -23;

/** Quantized weights: int8 values (rows, cols) and one scale per row (equal when per tensor). */
export interface QuantizedWeights {
  values: Int8Array;
  scales: Float32Array;
}

/** The observer's scale for a range whose largest magnitude is `amax`. */
function symmetricScale(amax: number): number {
  return Math.max(Math.fround(amax / 127.5), FLOAT32_EPS);
}

/** max |w| over w[begin:end]. */
function largestMagnitude(w: Float32Array, begin: number, end: number): number {
  let amax = 0;
  for (let i = begin; i < end; i++) amax = Math.max(amax, Math.abs(w[i]));
  return amax;
}

/**
 * Quantizes a finite float32 weight matrix (rows, cols), row-major, to int8 with symmetric
 * scales per row or per tensor (the caller has checked that w is finite).
 */
export function quantizeWeights(w: Float32Array, rows: number, cols: number, scheme: WeightQScheme): QuantizedWeights {
  const scales = new Float32Array(rows);
  if (scheme === 'perTensorSymmetric') scales.fill(symmetricScale(largestMagnitude(w, 0, rows * cols)));
  else for (let r = 0; r < rows; r++) scales[r] = symmetricScale(largestMagnitude(w, r * cols, (r + 1) * cols));
  const values = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const inverse = Math.fround(1 / scales[r]);
    for (let c = 0; c < cols; c++) {
      const q = roundHalfEven(Math.fround(w[r * cols + c] * inverse));
      values[r * cols + c] = Math.min(127, Math.max(-128, q));
    }
  }
  return { values, scales };
}
