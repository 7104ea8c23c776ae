/**
 * Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_: in place on the
 * `.grad` of each parameter (parameters without a gradient are skipped).
 */
import { tensor } from '../ops/creation.js';
import { type FloatArray } from '../dtype.js';
import type { Tensor } from '../tensor.js';

/** One tensor or many, as PyTorch's clipping helpers accept. */
export type TensorOrTensors = Tensor | Iterable<Tensor>;

const gradsOf = (parameters: TensorOrTensors): Tensor[] =>
  (Symbol.iterator in parameters ? Array.from(parameters as Iterable<Tensor>) : [parameters as Tensor])
    .map((p) => p.grad)
    .filter((g): g is Tensor => g !== null);

/** The p-norm of all elements of all tensors together (p = Infinity: the largest |x|). */
function totalNorm(grads: Tensor[], normType: number): number {
  let acc = 0;
  for (const g of grads) {
    for (let i = 0; i < g.numel; i++) {
      const a = Math.abs((g.data as FloatArray)[i]);
      acc = normType === Infinity ? (a > acc || Number.isNaN(a) ? a : acc) : acc + a ** normType;
    }
  }
  return normType === Infinity ? acc : acc ** (1 / normType);
}

/**
 * Rescales the gradients so that their global norm (all gradients seen as one vector) is at
 * most maxNorm: each is multiplied by min(1, maxNorm / (total + 1e-6)).
 *
 * Args:
 * - parameters: tensors whose `.grad` to clip.
 * - maxNorm: the largest allowed norm.
 * - normType: the p of the p-norm, default 2; Infinity for the max norm.
 * - errorIfNonfinite: throw when the total norm is NaN or infinite (default false).
 * Returns: the total norm before clipping, as a 0-d float32 tensor.
 *
 * Example: `loss.backward(); optim.clipGradNorm_(model.parameters(), 1.0); opt.step();`
 */
export function clipGradNorm_(parameters: TensorOrTensors, maxNorm: number, normType = 2, errorIfNonfinite = false): Tensor {
  if (!(normType > 0)) throw new RangeError(`clipGradNorm_: normType must be > 0, got ${normType}`);
  const grads = gradsOf(parameters);
  const total = totalNorm(grads, normType);
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new RangeError(`clipGradNorm_: the total norm of order ${normType} of the gradients is ${total}; set errorIfNonfinite=false to clip anyway`);
  }
  const coef = Math.min(1, maxNorm / (total + 1e-6));
  if (coef < 1 || Number.isNaN(coef)) for (const g of grads) for (let i = 0; i < g.numel; i++) (g.data as FloatArray)[i] *= coef;
  return tensor(total);
}

/**
 * Clamps every gradient element to [−clipValue, clipValue], in place.
 *
 * Example: `optim.clipGradValue_(model.parameters(), 0.5)`.
 */
export function clipGradValue_(parameters: TensorOrTensors, clipValue: number): void {
  if (!(clipValue >= 0)) throw new RangeError(`clipGradValue_: clipValue must be ≥ 0, got ${clipValue}`);
  for (const g of gradsOf(parameters)) {
    const data = g.data as FloatArray;
    for (let i = 0; i < g.numel; i++) data[i] = Math.min(clipValue, Math.max(-clipValue, data[i]));
  }
}
