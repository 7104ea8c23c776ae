/**
 * defaultCollate: turns a list of samples into one batch, field by field.
 */
import { allocate, copyInto } from '../dtype.js';
import { formatShape } from '../shape.js';
import { stack } from '../ops/shape.js';
import { Tensor } from '../tensor.js';
import { DataError } from './errors.js';

/**
 * Batches samples like PyTorch's default_collate: tensors are stacked along a new first dim,
 * numbers become a 1-D tensor (int32 when all are integers, float32 otherwise), booleans a bool
 * tensor, and arrays (tuples) and plain objects are collated per position or key.
 *
 * Args: samples, a non-empty list of same-structured samples.
 * Shape: B samples of tensors (…) give (B, …); B numbers give (B,).
 *
 * Example: `defaultCollate([[x0, 3], [x1, 7]])` → `[stack([x0, x1]), tensor([3, 7], int32)]`.
 */
export function defaultCollate(samples: readonly unknown[]): unknown {
  if (samples.length === 0) throw new DataError('defaultCollate: no samples to collate');
  const first = samples[0];
  if (first instanceof Tensor) return stackTensors(samples as Tensor[]);
  if (typeof first === 'number') return collateNumbers(samples as number[]);
  if (typeof first === 'boolean') return new Tensor(Uint8Array.from(samples as boolean[], Number), [samples.length], 'bool');
  if (Array.isArray(first)) return first.map((_, j) => defaultCollate(samples.map((s) => field(s, j, first.length))));
  if (first !== null && typeof first === 'object') {
    return Object.fromEntries(Object.keys(first).map((key) => [key, defaultCollate(samples.map((s) => (s as Record<string, unknown>)[key]))]));
  }
  throw new DataError(`defaultCollate: cannot batch samples of type ${first === null ? 'null' : typeof first}`);
}

function field(sample: unknown, j: number, size: number): unknown {
  if (!Array.isArray(sample) || sample.length !== size) throw new DataError(`defaultCollate: samples are tuples of different lengths (expected ${size})`);
  return sample[j];
}

function collateNumbers(values: readonly number[]): Tensor {
  if (values.some((v) => typeof v !== 'number')) throw new DataError('defaultCollate: a field mixes numbers and other types');
  const isInt = values.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31);
  return isInt ? new Tensor(Int32Array.from(values), [values.length], 'int32') : new Tensor(Float32Array.from(values), [values.length], 'float32');
}

/** Copies same-shaped, same-dtype tensors into one (B, …) tensor; mixed dtypes or grads go through stack(). */
function stackTensors(tensors: readonly Tensor[]): Tensor {
  const { shape, dtype } = tensors[0];
  for (const t of tensors) {
    if (!(t instanceof Tensor) || t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new DataError(`defaultCollate: tensors must share one shape to stack, got ${formatShape(shape)} and ${t instanceof Tensor ? formatShape(t.shape) : typeof t}`);
    }
  }
  if (tensors.some((t) => t.dtype !== dtype || t.requiresGrad)) return stack(tensors);
  const size = tensors[0].numel;
  const out = allocate(dtype, tensors.length * size);
  tensors.forEach((t, k) => copyInto(out, t.data, k * size));
  return new Tensor(out, [tensors.length, ...shape], dtype);
}
