/**
 * Finite-difference gradient checking, the lecture's recipe: float64, central differences,
 * relative error. The output is projected on a fixed random vector, so one backward pass
 * checks the whole Jacobian-vector product against 2 forward passes per input element.
 */
import { checkArgs, checkOptions, checkTensorArg, describeValue } from '../validate.js';
import { DTypeError, KilnError } from '../errors.js';
import { Generator } from '../random.js';
import type { Tensor } from '../tensor.js';
import { noGrad } from './grad-mode.js';
import { randn } from '../ops/creation.js';
import { mul } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';

/** Options of gradcheck. */
export interface GradcheckOptions {
  /** Finite-difference step h. Default 1e-6 (float64). */
  eps?: number;
  /** Absolute tolerance, for gradients near zero. Default 1e-6. */
  atol?: number;
  /** Relative tolerance on |analytic − numeric| / max(|analytic|, |numeric|). Default 1e-4. */
  rtol?: number;
  /** Throw a GradcheckError on failure (default true); otherwise just return the result. */
  raiseException?: boolean;
  /** Seed of the random projection vector. Default 0. */
  seed?: number;
}

/** What gradcheck found: the worst element over all checked inputs. */
export interface GradcheckResult {
  ok: boolean;
  maxAbsError: number;
  maxRelError: number;
  /** Where the worst mismatch is, e.g. `input 1, element 3: analytic 0.5, numeric 0.25`. */
  worst: string;
}

/**
 * A gradient check that failed.
 *
 * Example: `try { gradcheck(f, [x]); } catch (e) { if (e instanceof GradcheckError) console.error(e.message); }` (the worst mismatch).
 */
export class GradcheckError extends KilnError {
  override name = 'GradcheckError';
}

/**
 * Compares the gradients backward() computes for `fn` with central finite differences.
 *
 * Args:
 * - fn: maps the inputs to one tensor (any shape).
 * - inputs: float64 tensors; those with requiresGrad are checked, the rest held fixed.
 *
 * Example:
 * ```ts
 * const x = randn([3, 4], { dtype: 'float64', requiresGrad: true });
 * gradcheck((x) => x.tanh().sum(1), [x]); // throws GradcheckError on a mismatch
 * ```
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], options: GradcheckOptions = {}): GradcheckResult {
  checkArgs('gradcheck', [['fn', fn, 'function']]);
  if (!Array.isArray(inputs)) throw new TypeError(`gradcheck: inputs must be an array of Tensors, got ${describeValue(inputs)}`);
  inputs.forEach((t, i) => checkTensorArg('gradcheck', `inputs[${i}]`, t));
  checkOptions('gradcheck', options, { eps: { number: {} }, atol: { number: {} }, rtol: { number: {} } });
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-4;
  const checked = inputs.filter((t) => t.requiresGrad);
  for (const t of inputs) {
    if (t.requiresGrad && t.dtype !== 'float64') {
      throw new DTypeError(`gradcheck: inputs that require grad must be float64 (finite differences in float32 are too coarse), got ${t.dtype}`);
    }
  }
  const output = fn(...inputs);
  const projection = randn(output.shape, { dtype: 'float64', generator: new Generator(options.seed ?? 0) });
  const objective = (): number => sum(mul(fn(...inputs), projection)).item();

  for (const t of checked) t.grad = null; // not zeroGrad(): a gradient the caller still holds stays readable inside tidy()
  if (!output.requiresGrad) throw new GradcheckError('gradcheck: the output does not depend on any input that requires grad');
  sum(mul(output, projection)).backward();

  const result: GradcheckResult = { ok: true, maxAbsError: 0, maxRelError: 0, worst: 'no mismatch' };
  noGrad(() => {
    checked.forEach((t, which) => {
      const data = t.data as Float64Array;
      const analytic = t.grad?.data as Float64Array | undefined;
      for (let j = 0; j < data.length; j++) {
        const saved = data[j];
        data[j] = saved + eps;
        const plus = objective();
        data[j] = saved - eps;
        const minus = objective();
        data[j] = saved;
        const numeric = (plus - minus) / (2 * eps);
        compare(result, analytic === undefined ? 0 : analytic[j], numeric, { atol, rtol }, `input ${inputs.indexOf(t)} (checked #${which}), element ${j}`);
      }
    });
  });
  if (!result.ok && (options.raiseException ?? true)) {
    throw new GradcheckError(`gradcheck failed: ${result.worst} (max abs error ${result.maxAbsError.toExponential(3)}, max rel error ${result.maxRelError.toExponential(3)})`);
  }
  return result;
}

function compare(result: GradcheckResult, analytic: number, numeric: number, tol: { atol: number; rtol: number }, where: string): void {
  const absError = Math.abs(analytic - numeric);
  const relError = absError / Math.max(Math.abs(analytic), Math.abs(numeric), Number.MIN_VALUE);
  const passes = absError <= tol.atol || relError <= tol.rtol;
  const worse = !passes && (result.ok || absError > result.maxAbsError);
  if (absError > result.maxAbsError) result.maxAbsError = absError;
  if (absError > tol.atol && relError > result.maxRelError) result.maxRelError = relError;
  if (worse || Number.isNaN(absError)) {
    result.ok = false;
    result.worst = `${where}: analytic ${analytic}, numeric ${numeric}`;
  }
}
