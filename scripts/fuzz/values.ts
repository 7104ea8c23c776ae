/**
 * Hostile argument values for the public-API fuzzer: mostly plausible tensors (every dtype,
 * empty and 0-d shapes, non-contiguous views, NaN and ±Infinity inside), sometimes numbers
 * at the edges, wrong types, arrays, objects and functions.
 */
import * as k from '../../lib/index.js';
import type { CallRng } from './rng.js';

const DTYPES = ['float32', 'float32', 'float32', 'float64', 'int32', 'int64', 'bool', 'float16', 'bfloat16', 'uint8', 'int8', 'int16'] as const;
const EDGE_NUMBERS = [0, -0, 1, -1, 2, 3, 0.5, -2.5, 1e-30, 1e30, NaN, Infinity, -Infinity, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 31), 1e9, 7];

/** A shape of rank 0–4 with sizes 0–5 (rarely larger). */
export function randomShape(rng: CallRng): number[] {
  const rank = rng.int(5);
  return Array.from({ length: rank }, () => (rng.chance(0.08) ? 0 : rng.chance(0.05) ? 8 + rng.int(40) : 1 + rng.int(5)));
}

/** Values for a float tensor: mostly N(0,1)-ish, sometimes NaN, ±Infinity, huge or tiny. */
function randomValues(rng: CallRng, n: number): number[] {
  return Array.from({ length: n }, () => (rng.chance(0.03) ? rng.pick([NaN, Infinity, -Infinity, 1e38, -1e-40]) : (rng.next() - 0.5) * 6));
}

/** A tensor of a random dtype and shape, sometimes a non-contiguous view, sometimes requiring grad. */
export function randomTensor(rng: CallRng, shape = randomShape(rng)): k.Tensor {
  const dtype = rng.pick(DTYPES);
  const n = shape.reduce((a, b) => a * b, 1);
  let t = k.tensor(randomValues(rng, n)).reshape(shape);
  if (dtype !== 'float32') t = t.to(dtype);
  if (shape.length >= 2 && rng.chance(0.2)) t = t.transpose(0, shape.length - 1);
  else if (shape.length >= 1 && shape[0] > 1 && rng.chance(0.15)) t = t.narrow(0, 1, shape[0] - 1);
  if ((dtype === 'float32' || dtype === 'float64') && rng.chance(0.25)) t = t.detach().requiresGrad_(true);
  return t;
}

/** Any value at all: 70% a tensor, else an edge number, a shape-like array, a string, null… */
export function randomValue(rng: CallRng): unknown {
  if (rng.chance(0.7)) return randomTensor(rng);
  switch (rng.int(10)) {
    case 0:
    case 1:
    case 2:
      return rng.pick(EDGE_NUMBERS);
    case 3:
      return randomShape(rng);
    case 4:
      return rng.pick(['', 'float32', 'mean', 'sum', 'nearest', 'x', '__proto__']);
    case 5:
      return rng.pick([null, undefined]);
    case 6:
      return rng.pick([true, false]);
    case 7:
      return rng.pick([{}, { dim: rng.int(4) - 2 }, { keepdim: true }, { dtype: rng.pick(DTYPES) }, { reduction: 'none' }]);
    case 8:
      return rng.pick([[[1, 2], [3]], [NaN], new Float32Array(3), 3n, () => 1]);
    default:
      return rng.int(4) - 2;
  }
}

/** 0–4 random arguments (legal-but-slow sizes redrawn, see LEGAL_BUT_SLOW_SIZES). */
export function randomArgs(rng: CallRng): unknown[] {
  return Array.from({ length: rng.int(5) }, () => randomValue(rng)).map((v) => (isLegalButSlowSize(v) ? 1 + rng.int(8) : v));
}

/**
 * Sizes from here up to 2^31 make legal layers and tensors of up to 8 GiB (a layer's
 * initialisation, repeatInterleave(x, 1e9), a loop over 1e9 dims) that take seconds to
 * minutes (PyTorch's too): slow, not wrong, and a fuzzing child that allocates them starves
 * the machine. Arguments in this range are redrawn small; sizes of 2^31 and more stay, since
 * kiln must reject them at once (MAX_PARAMETER_ELEMENTS, one tensor's most elements).
 */
const LEGAL_BUT_SLOW_SIZES = { from: 4096, to: 2 ** 31 };

const isLegalButSlowSize = (v: unknown): boolean => typeof v === 'number' && Math.abs(v) >= LEGAL_BUT_SLOW_SIZES.from && Math.abs(v) < LEGAL_BUT_SLOW_SIZES.to;

/** A short description of a value, for replay messages. */
export function describeValue(v: unknown): string {
  if (v instanceof k.Tensor) return `${v.dtype}${JSON.stringify(v.shape)}${v.isContiguous() ? '' : ' (view)'}${v.requiresGrad ? ' grad' : ''}`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'function';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as Float32Array).length})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
