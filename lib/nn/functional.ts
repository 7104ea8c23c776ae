/**
 * kiln's functional `nn` (PyTorch's `torch.nn.functional`, imported as `F`): every layer's
 * computation as a plain function of tensors, with PyTorch's names in camelCase. Each is
 * written with differentiable ops, so autograd (and createGraph) works through it.
 *
 * Example:
 * ```ts
 * import { F, randn } from 'kiln';
 * const y = F.gelu(randn([2, 3]));
 * ```
 */
import { isFloat } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { noGrad } from '../autograd/grad-mode.js';
import { defaultGenerator, Generator as GeneratorClass, type Generator } from '../random.js';
import { checkArgs, checkOptionalTensorArg, checkOptions, checkTensorArg } from '../validate.js';
import { formatShape, normalizeDim, numelOf, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { rand } from '../ops/creation.js';
import {
  abs,
  add,
  clamp,
  div,
  erf,
  exp,
  expm1,
  gt,
  log1p,
  maximum,
  mul,
  neg,
  ne,
  relu as reluOp,
  rsqrt,
  sigmoid as sigmoidOp,
  sqrt,
  square,
  sub,
  tanh as tanhOp,
  where,
} from '../ops/elementwise.js';
import { counterDropout } from '../ops/dropout.js';
import { indexSelect } from '../ops/index.js';
import { fusedBatchNorm } from '../ops/batch-norm.js';
import { fusedLayerNorm } from '../ops/layer-norm.js';
import { int32Indices } from '../ops/indices.js';
import { matmulTransposed } from '../ops/matmul.js';
import { amax, mean } from '../ops/reduce.js';
import { reshape, unsqueeze } from '../ops/shape.js';
import { logSoftmax as logSoftmaxOp, softmax as softmaxOp } from '../ops/softmax.js';

// ---------------------------------------------------------------------------------------
// Linear layers

/**
 * y = x·Wᵀ + b.
 *
 * Args: x; weight (out, in); bias (out) or null.
 *
 * Shape: x (…, in) → (…, out).
 *
 * Example: `linear(randn([8, 4]), randn([3, 4]))` has shape [8, 3].
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return inOpContext('linear', () => {
    checkArgs('linear', [['x', x, 'tensor'], ['weight', weight, 'tensor'], ['bias', bias, 'tensor?']]);
    if (weight.ndim !== 2 || x.ndim === 0 || x.shape[x.ndim - 1] !== weight.shape[1]) {
      throw new ShapeError(
        `linear: input of shape ${formatShape(x.shape)} does not fit weight of shape ${formatShape(weight.shape)} ` +
          `(the input's last dim must equal the weight's in-features ${weight.shape[1]})`,
      );
    }
    // The usual bias (out) of the input's dtype goes into the product; any other (a broadcastable
    // shape, a dtype to promote to) is added afterwards.
    const fused = bias !== null && bias.ndim === 1 && bias.shape[0] === weight.shape[0] && bias.dtype === x.dtype && weight.dtype === x.dtype;
    if (bias === null || fused) return matmulTransposed(x, weight, bias);
    return add(matmulTransposed(x, weight), bias);
  });
}

/**
 * y_k = x1ᵀ·W_k·x2 + b_k for every output feature k.
 *
 * Args: x1, x2; weight (out, in1, in2); bias (out) or null.
 *
 * Shape: x1 (…, in1), x2 (…, in2) with the same leading dims → (…, out).
 *
 * Example: `bilinear(randn([5, 2]), randn([5, 3]), randn([4, 2, 3]))` has shape [5, 4].
 */
export function bilinear(x1: Tensor, x2: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  checkArgs('bilinear', [['x1', x1, 'tensor'], ['x2', x2, 'tensor'], ['weight', weight, 'tensor'], ['bias', bias, 'tensor?']]);
  const [out, in1, in2] = weight.shape;
  const lead = x1.shape.slice(0, -1);
  if (weight.ndim !== 3 || x1.shape[x1.ndim - 1] !== in1 || x2.shape[x2.ndim - 1] !== in2 || !sameShape(lead, x2.shape.slice(0, -1))) {
    throw new ShapeError(
      `bilinear: inputs of shapes ${formatShape(x1.shape)} and ${formatShape(x2.shape)} do not fit weight of shape ` +
        `${formatShape(weight.shape)} (need (…, ${in1}) and (…, ${in2}) with the same leading dims)`,
    );
  }
  // (N, in1) · (out·in2, in1)ᵀ → (N, out, in2), then contract with x2 over in2.
  const w = reshape(weight.permute([0, 2, 1]), [out * in2, in1]);
  const left = reshape(matmulTransposed(reshape(x1, [-1, in1]), w), [-1, out, in2]);
  const y = reshape(mul(left, unsqueeze(reshape(x2, [-1, in2]), 1)).sum(-1), [...lead, out]);
  return bias === null ? y : add(y, bias);
}

/**
 * Rows of `weight` picked by integer indices: a lookup table. Rows at paddingIdx receive no
 * gradient.
 *
 * Args: indices (int32 or int64, any shape); weight (num, dim); paddingIdx (negative counts from the end).
 *
 * Shape: indices (…) → (…, dim).
 *
 * Example: `embedding(tensor([[0, 2]], { dtype: 'int32' }), weight)` has shape [1, 2, dim].
 */
export function embedding(anyIndices: Tensor, weight: Tensor, paddingIdx?: number): Tensor {
  return inOpContext('embedding', () => {
    checkArgs('embedding', [['indices', anyIndices, 'tensor'], ['weight', weight, 'tensor'], ['paddingIdx', paddingIdx, { int: {} }, 'optional']]);
    const indices = int32Indices('embedding', 'indices', anyIndices);
    if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must be (num, dim), got ${formatShape(weight.shape)}`);
    const rows = indexSelect(weight, 0, reshape(indices, [-1]));
    const out = reshape(rows, [...indices.shape, weight.shape[1]]);
    if (paddingIdx === undefined) return out;
    const pad = paddingIdx < 0 ? paddingIdx + weight.shape[0] : paddingIdx;
    // Same values, but the gradient flows only where the index is not the padding one.
    return where(unsqueeze(ne(indices, pad), -1), out, out.detach());
  });
}

// ---------------------------------------------------------------------------------------
// Activations

/**
 * max(x, 0).
 *
 * Example: `F.relu(tensor([-1, 2]))` → [0, 2].
 */
export function relu(x: Tensor): Tensor {
  return reluOp(x);
}

/**
 * Logistic sigmoid 1 / (1 + e⁻ˣ).
 *
 * Example: `F.sigmoid(tensor([0]))` → [0.5].
 */
export function sigmoid(x: Tensor): Tensor {
  return sigmoidOp(x);
}

/**
 * Hyperbolic tangent.
 *
 * Example: `F.tanh(tensor([0, 1]))` → [0, 0.762].
 */
export function tanh(x: Tensor): Tensor {
  return tanhOp(x);
}

/**
 * x limited to [minVal, maxVal] (defaults −1, 1).
 *
 * Example: `hardtanh(x, 0, 6)` is relu6.
 */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  return inOpContext('hardtanh', () => clamp(x, minVal, maxVal));
}

/**
 * min(max(x, 0), 6).
 *
 * Example: `F.relu6(tensor([-1, 3, 8]))` → [0, 3, 6].
 */
export function relu6(x: Tensor): Tensor {
  return inOpContext('relu6', () => hardtanh(x, 0, 6));
}

/**
 * x where x > 0, negativeSlope·x elsewhere (default slope 0.01).
 *
 * Example: `F.leakyRelu(tensor([-1, 2]), 0.1)` → [-0.1, 2].
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return inOpContext('leakyRelu', () => where(gt(x, 0), x, mul(x, negativeSlope)));
}

/**
 * x where x > 0, a·x elsewhere, with a learned slope per channel (dim 1) or one shared slope.
 *
 * Args: x; weight, 1 or C slopes.
 *
 * Shape: x (N, C, …) or (C) → same shape.
 *
 * Example: `F.prelu(randn([4, 3, 8, 8]), full([3], 0.25))` → (4, 3, 8, 8).
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  checkArgs('prelu', [['x', x, 'tensor'], ['weight', weight, 'tensor']]);
  const slopes = weight.numel;
  if (weight.ndim !== 1 || (slopes !== 1 && x.shape[x.ndim >= 2 ? 1 : 0] !== slopes)) {
    throw new ShapeError(`prelu: ${slopes} slopes do not fit input of shape ${formatShape(x.shape)} (need 1 or one per channel, dim 1)`);
  }
  const channelDim = x.ndim >= 2 ? 1 : 0;
  const a = slopes === 1 ? weight : reshape(weight, [slopes, ...new Array<number>(x.ndim - channelDim - 1).fill(1)]);
  return where(gt(x, 0), x, mul(x, a));
}

/**
 * x where x > 0, α·(eˣ − 1) elsewhere (default α = 1).
 *
 * Example: `elu(x)`.
 */
export function elu(x: Tensor, alpha = 1): Tensor {
  return inOpContext('elu', () => {
    // expm1 sees only x ≤ 0, so the unused branch never overflows (its gradient stays finite).
    return where(gt(x, 0), x, mul(expm1(clamp(x, undefined, 0)), alpha));
  });
}

/**
 * SELU's α, from Klambauer et al. (2017), as in PyTorch.
 *
 * Example: `F.elu(x, F.SELU_ALPHA)` times F.SELU_SCALE is F.selu(x).
 */
export const SELU_ALPHA = 1.6732632423543772;
/**
 * SELU's scale λ, from Klambauer et al. (2017), as in PyTorch.
 *
 * Example: `mul(F.elu(x, F.SELU_ALPHA), F.SELU_SCALE)` equals F.selu(x).
 */
export const SELU_SCALE = 1.0507009873554805;

/**
 * λ·elu(x, α) with the self-normalising constants SELU_ALPHA and SELU_SCALE.
 *
 * Example: `F.selu(randn([4, 8]))` → (4, 8).
 */
export function selu(x: Tensor): Tensor {
  return inOpContext('selu', () => mul(elu(x, SELU_ALPHA), SELU_SCALE));
}

/** How gelu evaluates Φ: exactly with erf, or with PyTorch's tanh approximation. */
export type GeluApproximate = 'none' | 'tanh';

/**
 * x·Φ(x), Φ the standard normal CDF: exactly 0.5·x·(1 + erf(x/√2)) by default, or
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) with approximate 'tanh'.
 *
 * Example: `gelu(x, 'tanh')`.
 */
export function gelu(x: Tensor, approximate: GeluApproximate = 'none'): Tensor {
  return inOpContext('gelu', () => {
    const inner =
      approximate === 'tanh'
        ? tanhOp(mul(add(x, mul(x.pow(3), 0.044715)), Math.sqrt(2 / Math.PI)))
        : erf(mul(x, Math.SQRT1_2));
    return mul(mul(x, 0.5), add(inner, 1));
  });
}

/**
 * x·sigmoid(x), also called swish.
 *
 * Example: `F.silu(tensor([0, 1]))` → [0, 0.731].
 */
export function silu(x: Tensor): Tensor {
  return inOpContext('silu', () => mul(x, sigmoidOp(x)));
}

/**
 * x·sigmoid(β·x) (Ramachandran et al., 2017); β = 1 is silu. β may be a tensor (learned).
 *
 * Example: `swish(x, 1.5)`.
 */
export function swish(x: Tensor, beta: Tensor | number = 1): Tensor {
  return inOpContext('swish', () => mul(x, sigmoidOp(mul(x, beta))));
}

/**
 * log(1 + e^(β·x)) / β, and x itself where β·x > threshold (defaults β = 1, threshold 20).
 * Computed as max(βx, 0) + log1p(e^(−|βx|)), which never overflows.
 *
 * Example: `F.softplus(tensor([0]))` → [0.693].
 */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  return inOpContext('softplus', () => {
    const bx = mul(x, beta);
    const smooth = div(add(maximum(bx, 0), log1p(exp(neg(abs(bx))))), beta);
    return where(gt(bx, threshold), x, smooth);
  });
}

/**
 * x / (1 + |x|).
 *
 * Example: `F.softsign(tensor([1]))` → [0.5].
 */
export function softsign(x: Tensor): Tensor {
  return inOpContext('softsign', () => div(x, add(abs(x), 1)));
}

/**
 * The maximum over groups of `pieces` consecutive channels along `dim` (the lecture's maxout
 * unit, after a Linear with out·pieces outputs). Ties share the gradient.
 *
 * Shape: (…, C·pieces, …) → (…, C, …).
 *
 * Example: `maxout(linear(x, w, b), 3)` with w of shape (4·3, in) gives 4 features.
 */
export function maxout(x: Tensor, pieces: number, dim = 1): Tensor {
  checkArgs('maxout', [['x', x, 'tensor'], ['pieces', pieces, { int: { min: 1 } }]]);
  const d = normalizeDim(dim, x.ndim, 'maxout');
  const size = x.shape[d];
  if (!Number.isInteger(pieces) || pieces < 1 || size % pieces !== 0) {
    throw new ShapeError(`maxout: dim ${dim} of input ${formatShape(x.shape)} has size ${size}, not a multiple of pieces=${pieces}`);
  }
  const grouped = reshape(x, [...x.shape.slice(0, d), size / pieces, pieces, ...x.shape.slice(d + 1)]);
  return amax(grouped, d + 1);
}

/**
 * exp(x) / Σ exp(x) along dim.
 *
 * Example: `F.softmax(tensor([[1, 2, 3]]), 1)` → [[0.090, 0.245, 0.665]].
 */
export function softmax(x: Tensor, dim: number): Tensor {
  return softmaxOp(x, dim);
}

/**
 * log(softmax(x)) along dim, computed stably.
 *
 * Example: `F.logSoftmax(randn([4, 10]), 1)` → (4, 10).
 */
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return logSoftmaxOp(x, dim);
}

// ---------------------------------------------------------------------------------------
// Dropout

function checkP(op: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${op}: p must be in [0, 1], got ${p}`);
}

/** The arguments every dropout takes: a tensor, p in [0, 1], a boolean and a Generator. */
function checkDropoutArgs(op: string, x: Tensor, p: number, training: boolean, generator: Generator): void {
  checkArgs(op, [['x', x, 'tensor'], ['p', p, { number: {} }], ['training', training, 'boolean'], ['generator', generator, { instanceOf: GeneratorClass, what: 'a Generator' }]]);
  checkP(op, p);
}

/** A float mask of `shape`: 1 with probability 1 − p, else 0. */
function keepMask(shape: readonly number[], p: number, like: Tensor, generator: Generator): Tensor {
  return noGrad(() => gt(rand(shape, { dtype: like.dtype, generator }), p).to(like.dtype));
}

/**
 * Zeroes each element with probability p and scales the rest by 1/(1 − p) (inverted
 * dropout), so nothing changes at evaluation. Identity when training is false or p = 0.
 *
 * Args: x; p (default 0.5); training (default true); generator (default: the global one).
 *
 * Example: `dropout(h, 0.2, model.training)`.
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator: Generator = defaultGenerator): Tensor {
  return inOpContext('dropout', () => {
    checkDropoutArgs('dropout', x, p, training, generator);
    if (!training || p === 0) return x;
    if (p === 1) return mul(x, 0);
    if (x.dtype !== 'float32' && x.dtype !== 'float64') return mul(x, div(keepMask(x.shape, p, x, generator), 1 - p));
    // float32/64: one fused pass, the mask a counter-based hash of a seed drawn from the generator.
    return counterDropout(x, { threshold: Math.round(p * 2 ** 24), seedHigh: generator.nextUint32(), seedLow: generator.nextUint32(), keepScale: 1 / (1 - p) });
  });
}

/**
 * Dropout of whole channels (feature maps): each (sample, channel) plane is zeroed with
 * probability p, the rest scaled by 1/(1 − p).
 *
 * Shape: (N, C, H, W), or (C, H, W) unbatched → same shape.
 *
 * Example: `F.dropout2d(randn([8, 16, 10, 10]), 0.2, model.training)`.
 */
export function dropout2d(x: Tensor, p = 0.5, training = true, generator: Generator = defaultGenerator): Tensor {
  return inOpContext('dropout2d', () => {
    checkDropoutArgs('dropout2d', x, p, training, generator);
    if (x.ndim !== 3 && x.ndim !== 4) throw new ShapeError(`dropout2d: expects (N, C, H, W) or (C, H, W), got ${formatShape(x.shape)}`);
    if (!training || p === 0) return x;
    if (p === 1) return mul(x, 0);
    const planes = x.shape.slice(0, x.ndim - 2);
    return mul(x, div(keepMask([...planes, 1, 1], p, x, generator), 1 - p));
  });
}

/** −λ·α of SELU: where alpha dropout sends a dropped unit before its affine correction. */
const ALPHA_DROPOUT_VALUE = -SELU_SCALE * SELU_ALPHA;

/**
 * Dropout for SELU networks (Klambauer et al., 2017): dropped units are set to SELU's
 * negative saturation value, then an affine map a·x + b restores zero mean and unit variance.
 * Identity when training is false or p = 0.
 *
 * Example: `F.alphaDropout(F.selu(x), 0.1, model.training)`.
 */
export function alphaDropout(x: Tensor, p = 0.5, training = true, generator: Generator = defaultGenerator): Tensor {
  return inOpContext('alphaDropout', () => {
    checkDropoutArgs('alphaDropout', x, p, training, generator);
    if (!training || p === 0) return x;
    if (p === 1) return mul(x, 0);
    const a = 1 / Math.sqrt((1 - p) * (1 + p * ALPHA_DROPOUT_VALUE * ALPHA_DROPOUT_VALUE));
    const b = -a * ALPHA_DROPOUT_VALUE * p;
    const keep = keepMask(x.shape, p, x, generator);
    // kept: a·x + b; dropped: a·α' + b.
    return add(mul(add(mul(x, keep), mul(sub(1, keep), ALPHA_DROPOUT_VALUE)), a), b);
  });
}

// ---------------------------------------------------------------------------------------
// Normalization

/** The dims of x (N, C, …) every channel's statistics run over: all but dim 1. */
function channelStatDims(x: Tensor): number[] {
  return [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
}

/** A per-channel vector (C) shaped to broadcast over x (N, C, …): (C, 1, …, 1). */
function perChannel(v: Tensor, x: Tensor): Tensor {
  return reshape(v, [v.numel, ...new Array<number>(x.ndim - 2).fill(1)]);
}

/** (x − mean) / √(var + eps) over `dims`, with the biased variance. */
function standardize(x: Tensor, dims: number[], eps: number): { y: Tensor; mean: Tensor; variance: Tensor } {
  const m = mean(x, dims, true);
  const centered = sub(x, m);
  const v = mean(square(centered), dims, true);
  return { y: div(centered, sqrt(add(v, eps))), mean: m, variance: v };
}

/** Moves a running statistic toward a batch one: running ← (1 − momentum)·running + momentum·batch. */
/** True when every element of the float tensor t is finite. */
function allFinite(t: Tensor): boolean {
  const data = (isFloat(t.dtype) ? t : t.float()).contiguous().data as Float32Array | Float64Array;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return false;
  return true;
}

function updateRunning(running: Tensor, batch: Tensor, momentum: number): void {
  noGrad(() => running.copy_(add(mul(running, 1 - momentum), mul(reshape(batch.detach(), running.shape), momentum))));
}

/** Options of batchNorm. */
export interface BatchNormOptions {
  /** Scale γ (C), or null. */
  weight?: Tensor | null;
  /** Shift β (C), or null. */
  bias?: Tensor | null;
  /** Use the batch's statistics (and update the running ones) rather than the running ones. Default false. */
  training?: boolean;
  /** Weight of the batch statistic in the running update. Default 0.1. */
  momentum?: number;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

/**
 * Batch normalization (Ioffe & Szegedy, 2015) over every dim but the channel dim 1. In
 * training, normalizes with the batch mean and biased variance and updates runningMean and
 * runningVar in place (the variance with Bessel's correction, as PyTorch), except from a batch whose
 * statistics are not finite (unlike PyTorch: one NaN batch would poison them for good);
 * otherwise uses them.
 *
 * Args: x; runningMean, runningVar (C) or null (then the batch statistics are always used).
 *
 * Shape: (N, C) or (N, C, …) → same shape.
 *
 * Example: `batchNorm(x, mean, var_, { training: true })`.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, options: BatchNormOptions = {}): Tensor {
  return inOpContext('batchNorm', () => {
    checkTensorArg('batchNorm', 'x', x);
    runningMean = checkOptionalTensorArg('batchNorm', 'runningMean', runningMean);
    runningVar = checkOptionalTensorArg('batchNorm', 'runningVar', runningVar);
    checkOptions('batchNorm', options, { weight: 'tensor?', bias: 'tensor?', eps: { number: {} }, momentum: { number: {} }, training: 'boolean' });
    const eps = options.eps ?? 1e-5;
    if (x.ndim < 2) throw new ShapeError(`batchNorm: expects (N, C, …), got ${formatShape(x.shape)}`);
    const [weight, bias] = [options.weight ?? null, options.bias ?? null];
    if (!((options.training ?? false) || runningMean === null || runningVar === null)) {
      return runningStatsAffine(x, runningMean as Tensor, runningVar as Tensor, weight, bias, eps);
    }
    const dims = channelStatDims(x);
    const count = numelOf(dims.map((d) => x.shape[d]));
    if ((options.training ?? false) && count <= 1) {
      throw new ShapeError(`batchNorm: expected more than 1 value per channel when training, got input of shape ${formatShape(x.shape)}`);
    }
    const fusable = (t: Tensor | null): boolean => t === null || (t.dtype === x.dtype && t.numel === x.shape[1]);
    const fused = (x.dtype === 'float32' || x.dtype === 'float64') && x.numel > 0 && fusable(weight) && fusable(bias);
    const stats = fused ? fusedBatchNorm(x, weight, bias, eps) : standardize(x, dims, eps);
    // A batch with a NaN or ±Infinity leaves the running statistics as they were (PyTorch would
    // fold it in, poisoning every later evaluation): the batch's own output still shows it.
    if ((options.training ?? false) && runningMean !== null && runningVar !== null && allFinite(stats.mean) && allFinite(stats.variance)) {
      const momentum = options.momentum ?? 0.1;
      updateRunning(runningMean, stats.mean, momentum);
      updateRunning(runningVar, mul(stats.variance, count / (count - 1)), momentum);
    }
    return fused ? stats.y : affine(stats.y, weight, bias, (v) => perChannel(v, x));
  });
}

/**
 * Batch norm with the running statistics, as PyTorch's CPU inference computes it: one scale
 * γ/√(var + eps) and one shift β − mean·scale per channel (C values), then x·scale + shift, two
 * passes over x instead of four. Differentiable in x, γ and β.
 */
function runningStatsAffine(x: Tensor, runningMean: Tensor, runningVar: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number): Tensor {
  const invStd = rsqrt(add(runningVar, eps)); // (C)
  const scale = weight === null ? invStd : mul(weight, invStd);
  const meanTimesScale = mul(runningMean, scale);
  const shift = bias === null ? neg(meanTimesScale) : sub(bias, meanTimesScale);
  return add(mul(x, perChannel(scale, x)), perChannel(shift, x));
}

/** y·weight + bias, each reshaped by `shape` to broadcast; a null one is skipped. */
function affine(y: Tensor, weight: Tensor | null, bias: Tensor | null, shape: (v: Tensor) => Tensor): Tensor {
  const scaled = weight === null ? y : mul(y, shape(weight));
  return bias === null ? scaled : add(scaled, shape(bias));
}

/** Options of layerNorm and groupNorm. */
export interface NormOptions {
  /** Scale γ, or null. */
  weight?: Tensor | null;
  /** Shift β, or null. */
  bias?: Tensor | null;
  /** Added to the variance. Default 1e-5. */
  eps?: number;
}

/**
 * Layer normalization (Ba et al., 2016): each sample normalized over its last dims
 * `normalizedShape` (biased variance), then scaled and shifted elementwise.
 *
 * Shape: x (…, *normalizedShape); weight and bias normalizedShape.
 *
 * Example: `layerNorm(x, [x.shape[x.ndim - 1]])`.
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], options: NormOptions = {}): Tensor {
  checkArgs('layerNorm', [['x', x, 'tensor'], ['normalizedShape', normalizedShape, { intList: { min: 0 } }]]);
  checkOptions('layerNorm', options, { weight: 'tensor?', bias: 'tensor?', eps: { number: {} } });
  const k = normalizedShape.length;
  if (k === 0 || x.ndim < k || !sameShape(x.shape.slice(x.ndim - k), normalizedShape)) {
    throw new ShapeError(`layerNorm: input of shape ${formatShape(x.shape)} does not end with normalizedShape ${formatShape(normalizedShape)}`);
  }
  const [weight, bias, eps] = [options.weight ?? null, options.bias ?? null, options.eps ?? 1e-5];
  const n = numelOf(normalizedShape);
  const fusable = (t: Tensor | null): boolean => t === null || (t.dtype === x.dtype && t.numel === n);
  if ((x.dtype === 'float32' || x.dtype === 'float64') && n > 0 && fusable(weight) && fusable(bias)) return fusedLayerNorm(x, n, weight, bias, eps);
  const dims = Array.from({ length: k }, (_, i) => x.ndim - k + i);
  const { y } = standardize(x, dims, eps);
  return affine(y, weight, bias, (v) => v);
}

/**
 * Group normalization (Wu & He, 2018): the C channels split into numGroups groups, each
 * sample's group normalized over its channels and positions, then a per-channel affine.
 *
 * Shape: (N, C, …) → same shape, C divisible by numGroups; weight and bias (C).
 *
 * Example: `F.groupNorm(randn([2, 8, 4, 4]), 4)` → (2, 8, 4, 4).
 */
export function groupNorm(x: Tensor, numGroups: number, options: NormOptions = {}): Tensor {
  return inOpContext('groupNorm', () => {
    checkArgs('groupNorm', [['x', x, 'tensor'], ['numGroups', numGroups, { int: { min: 1 } }]]);
    checkOptions('groupNorm', options, { weight: 'tensor?', bias: 'tensor?', eps: { number: {} } });
    const channels = x.shape[1];
    if (x.ndim < 2 || channels % numGroups !== 0) {
      throw new ShapeError(`groupNorm: input of shape ${formatShape(x.shape)} must be (N, C, …) with C divisible by numGroups=${numGroups}`);
    }
    const grouped = reshape(x, [x.shape[0], numGroups, -1]);
    const { y } = standardize(grouped, [2], options.eps ?? 1e-5);
    return affine(reshape(y, x.shape), options.weight ?? null, options.bias ?? null, (v) => perChannel(v, x));
  });
}

/** Options of instanceNorm. */
export interface InstanceNormOptions extends NormOptions {
  /** Running mean and variance (C) to update (when useInputStats) or use (otherwise). */
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  /** Normalize with each instance's own statistics. Default true. */
  useInputStats?: boolean;
  /** Weight of the batch statistic in the running update. Default 0.1. */
  momentum?: number;
}

/**
 * Instance normalization (Ulyanov et al., 2016): each (sample, channel) normalized over its
 * positions. With running statistics and useInputStats, they are updated with the batch
 * average of the instance statistics (variance with Bessel's correction), as PyTorch.
 *
 * Shape: (N, C, …) → same shape; weight and bias (C).
 *
 * Example: `F.instanceNorm(randn([2, 3, 16, 16]))` → (2, 3, 16, 16).
 */
export function instanceNorm(x: Tensor, options: InstanceNormOptions = {}): Tensor {
  checkTensorArg('instanceNorm', 'x', x);
  checkOptions('instanceNorm', options, { weight: 'tensor?', bias: 'tensor?', eps: { number: {} }, runningMean: 'tensor?', runningVar: 'tensor?', momentum: { number: {} }, useInputStats: 'boolean' });
  if (x.ndim < 3) throw new ShapeError(`instanceNorm: expects (N, C, …) with positions, got ${formatShape(x.shape)}`);
  const eps = options.eps ?? 1e-5;
  const runningMean = options.runningMean ?? null;
  const runningVar = options.runningVar ?? null;
  const dims = Array.from({ length: x.ndim - 2 }, (_, i) => i + 2);
  let y: Tensor;
  if (options.useInputStats ?? true) {
    const count = numelOf(dims.map((d) => x.shape[d]));
    const stats = standardize(x, dims, eps);
    y = stats.y;
    if (runningMean !== null && runningVar !== null) {
      const momentum = options.momentum ?? 0.1;
      updateRunning(runningMean, mean(stats.mean, [0, ...dims]), momentum);
      updateRunning(runningVar, mean(mul(stats.variance, count / Math.max(count - 1, 1)), [0, ...dims]), momentum);
    }
  } else {
    if (runningMean === null || runningVar === null) throw new ShapeError('instanceNorm: useInputStats false needs runningMean and runningVar');
    y = div(sub(x, perChannel(runningMean, x)), sqrt(add(perChannel(runningVar, x), eps)));
  }
  return affine(y, options.weight ?? null, options.bias ?? null, (v) => perChannel(v, x));
}
export {
  crossEntropy,
  nllLoss,
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  mseLoss,
  l1Loss,
  smoothL1Loss,
  huberLoss,
  hingeLoss,
  squaredHingeLoss,
  multiMarginLoss,
  multiClassHingeLoss,
  klDiv,
  cosineEmbeddingLoss,
  diceLoss,
  type Reduction,
  type ReductionOptions,
  type CrossEntropyOptions,
  type BCEOptions,
  type BCEWithLogitsOptions,
  type HingeOptions,
  type MultiMarginOptions,
  type KLDivOptions,
} from './losses.js';
export {
  conv1d,
  conv2d,
  convTranspose2d,
  type Conv1dOptions,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
  type Conv1dPadding,
  type Conv2dPadding,
} from '../ops/conv.js';
export {
  maxPool1d,
  maxPool2d,
  maxPool1dWithIndices,
  maxPool2dWithIndices,
  avgPool1d,
  avgPool2d,
  adaptiveAvgPool2d,
  globalAvgPool2d,
  globalMaxPool2d,
  type MaxPool1dOptions,
  type MaxPool2dOptions,
  type AvgPool1dOptions,
  type AvgPool2dOptions,
  type PoolWithIndices,
} from '../ops/pool.js';
export { pad, type PadMode } from '../ops/padding.js';
export { interpolate, type InterpolateMode, type InterpolateOptions } from '../ops/interpolate.js';
export { unfold, fold, type FoldOptions } from '../ops/fold.js';
export { cosineSimilarity, pairwiseDistance } from '../ops/distance.js';
export {
  scaledDotProductAttention,
  scaledDotProductAttentionWithWeights,
  type ScaledDotProductAttentionOptions,
  type AttentionWithWeights,
} from '../ops/attention.js';
import { inOpContext } from '../op-context.js';
