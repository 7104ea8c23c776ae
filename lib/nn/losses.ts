/**
 * Loss functions, as torch.nn.functional (camelCase) and as torch.nn loss modules. Every loss
 * takes `reduction`: 'none' (one value per element or sample), 'mean' (the default) or 'sum'.
 * Cross-entropy runs on a fused, numerically stable softmax-cross-entropy kernel; the others
 * are compositions of differentiable ops, written in stable forms (log-sum-exp,
 * log(1 + e^−|x|)).
 *
 * Example:
 * ```ts
 * const loss = F.crossEntropy(logits, labels, { labelSmoothing: 0.1 });   // logits (N, C), labels int32 (N)
 * const criterion = new nn.CrossEntropyLoss({ weight: tensor([1, 2, 1]) });
 * criterion.forward(logits, labels).backward();
 * ```
 */
import { DTypeError, ShapeError } from '../errors.js';
import { isFloatingPoint } from '../dtype.js';
import { tensor } from '../ops/creation.js';
import { abs, add, clamp, eq, exp, gt, log, lt, mul, neg, relu, sqrt, square, sub, where } from '../ops/elementwise.js';
import { gather } from '../ops/index.js';
import { checkClassTargets, classTargets, classWeights, crossEntropyBlock, softmaxCrossEntropy } from '../ops/loss.js';
import { checkOptions, checkTensorArg } from '../validate.js';
import { sum } from '../ops/reduce.js';
import { logSoftmax } from '../ops/softmax.js';
import { formatShape, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { Module } from './module.js';
import { inOpContext } from '../op-context.js';

/** Checks a loss's tensor arguments (a table: name → value) and its options object, naming the loss. */
function checkLossArgs(op: string, tensors: Record<string, unknown>, options: unknown): void {
  for (const [name, value] of Object.entries(tensors)) checkTensorArg(op, name, value);
  checkOptions(op, options as object | undefined);
}

/** How a loss combines its per-element values. */
export type Reduction = 'none' | 'mean' | 'sum';

/** The option every loss takes. */
export interface ReductionOptions {
  /** Default 'mean'. */
  reduction?: Reduction;
}

/** Applies `reduction`; the mean divides by meanDivisor (default: the element count). */
function reduce(op: string, losses: Tensor, reduction: Reduction = 'mean', meanDivisor = losses.numel): Tensor {
  switch (reduction) {
    case 'none':
      return losses;
    case 'sum':
      return sum(losses);
    case 'mean':
      return mul(sum(losses), 1 / meanDivisor);
    default:
      throw new RangeError(`${op}: reduction must be 'none', 'mean' or 'sum', got '${String(reduction)}'`);
  }
}

function checkSameShape(op: string, input: Tensor, target: Tensor): void {
  if (!sameShape(input.shape, target.shape)) {
    throw new ShapeError(`${op}: target shape ${formatShape(target.shape)} must match input shape ${formatShape(input.shape)}`);
  }
}

/** A constant tensor of the input's dtype from per-sample numbers (no gradient). */
const constant = (values: number[], shape: readonly number[], like: Tensor): Tensor => tensor(values, { dtype: like.dtype }).reshape(shape);

// ---- classification ----------------------------------------------------------------------------

/** Options of crossEntropy and nllLoss. */
export interface CrossEntropyOptions extends ReductionOptions {
  /** Per-class weights (C). */
  weight?: Tensor | null;
  /** Class-index targets equal to this are skipped (and left out of the mean). Default −100. */
  ignoreIndex?: number;
  /** ε in [0, 1]: the target becomes (1 − ε)·target + ε/C. Default 0. crossEntropy only. */
  labelSmoothing?: number;
}

/** Σ w[t] over targets that are not ignored: the divisor of a weighted mean. */
function weightedCount(target: Tensor, weight: ArrayLike<number> | null, ignoreIndex: number): number {
  let total = 0;
  for (const t of target.data as Int32Array) if (t !== ignoreIndex) total += weight === null ? 1 : weight[t];
  return total;
}

/**
 * Cross-entropy between logits and targets, as F.cross_entropy: class indices (int32 or
 * int64) or class probabilities (a float tensor shaped like the input).
 *
 * Args: input: logits (N, C), (N, C, d1, ...) or (C); target: int32 or int64 (N),
 * (N, d1, ...) or (), or probabilities of the input's shape. With class indices the mean
 * divides by the summed weights of the non-ignored targets; with probabilities, by the number
 * of samples. Float targets of another shape are an error naming their dtype and shape.
 * Example: `F.crossEntropy(logits, labels, { labelSmoothing: 0.1 })`.
 */
export function crossEntropy(input: Tensor, classOrProbabilityTarget: Tensor, options: CrossEntropyOptions = {}): Tensor {
  return inOpContext('crossEntropy', () => {
    checkLossArgs('crossEntropy', { input, classOrProbabilityTarget }, options);
    const isProbabilities = isFloatingPoint(classOrProbabilityTarget.dtype) && sameShape(classOrProbabilityTarget.shape, input.shape);
    if (isProbabilities) return crossEntropyProbabilities(input, classOrProbabilityTarget, options);
    const target = classTargets('crossEntropy', classOrProbabilityTarget);
    const ignoreIndex = options.ignoreIndex ?? -100;
    const losses = softmaxCrossEntropy(input, target, { ...options, ignoreIndex });
    const weight = classWeights('crossEntropy', options.weight ?? null, input, input.shape[input.ndim === 1 ? 0 : 1]);
    return reduce('crossEntropy', losses, options.reduction, weightedCount(target, weight, ignoreIndex));
  });
}

function crossEntropyProbabilities(input: Tensor, target: Tensor, options: CrossEntropyOptions): Tensor {
  const op = 'crossEntropy';
  checkSameShape(op, input, target);
  if (input.ndim === 0) throw new ShapeError(`${op}: input must have a class dim, got a 0-d tensor`);
  const classDim = input.ndim === 1 ? 0 : 1;
  const classes = input.shape[classDim];
  const eps = options.labelSmoothing ?? 0;
  const smoothed = eps === 0 ? target : add(mul(target, 1 - eps), eps / classes);
  let terms = mul(logSoftmax(input, classDim), smoothed);
  if (options.weight) {
    classWeights(op, options.weight, input, classes);
    terms = mul(terms, options.weight.reshape([classes, ...input.shape.slice(2).map(() => 1)]));
  }
  return reduce(op, neg(sum(terms, classDim)), options.reduction, input.numel / classes);
}

/**
 * Negative log-likelihood of log-probabilities, as F.nll_loss: loss = −w[t]·input[t].
 *
 * Args: input: log-probabilities (N, C), (N, C, d1, ...) or (C); target: int32 or int64 class indices.
 * Example: `F.nllLoss(logSoftmax(logits, 1), labels)`.
 */
export function nllLoss(input: Tensor, classTarget: Tensor, options: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  checkLossArgs('nllLoss', { input, classTarget }, options);
  const op = 'nllLoss';
  const target = classTargets(op, classTarget);
  const block = crossEntropyBlock(op, input, target);
  const ignoreIndex = options.ignoreIndex ?? -100;
  checkClassTargets(op, target, block.n, ignoreIndex);
  const weight = classWeights(op, options.weight ?? null, input, block.n);
  const targets = Array.from(target.data as Int32Array);
  const safe = tensor(targets.map((t) => (t === ignoreIndex ? 0 : t)), { dtype: 'int32' });
  const coef = targets.map((t) => (t === ignoreIndex ? 0 : weight === null ? 1 : weight[t]));
  const classDim = input.ndim === 1 ? 0 : 1;
  const index = safe.reshape(input.ndim === 1 ? [1] : [block.outer, 1, ...input.shape.slice(2)]);
  const picked = gather(input, classDim, index).reshape(target.shape);
  const losses = neg(mul(picked, constant(coef, target.shape, input)));
  return reduce(op, losses, options.reduction, weightedCount(target, weight, ignoreIndex));
}

/** Options of binaryCrossEntropy. */
export interface BCEOptions extends ReductionOptions {
  /** Weights broadcast against the elementwise loss. */
  weight?: Tensor | null;
}

/**
 * Binary cross-entropy of probabilities, as F.binary_cross_entropy: −w·(y·log x + (1 − y)·log(1 − x)),
 * each log clamped at −100 like PyTorch.
 *
 * Args: input: probabilities in [0, 1]; target: same shape.
 * Example: `F.binaryCrossEntropy(sigmoid(logits), labels)`.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BCEOptions = {}): Tensor {
  return inOpContext('binaryCrossEntropy', () => {
    checkLossArgs('binaryCrossEntropy', { input, target }, options);
    const op = 'binaryCrossEntropy';
    checkSameShape(op, input, target);
    for (const x of input.data) if (!(x >= 0 && x <= 1)) throw new RangeError(`${op}: every input element must be in [0, 1], found ${x}`);
    const logX = clamp(log(input), -100);
    const log1mX = clamp(log(sub(1, input)), -100);
    let losses = neg(add(mul(target, logX), mul(sub(1, target), log1mX)));
    if (options.weight) losses = mul(losses, options.weight);
    return reduce(op, losses, options.reduction);
  });
}

/** Options of binaryCrossEntropyWithLogits. */
export interface BCEWithLogitsOptions extends BCEOptions {
  /** Weight of the positive term, broadcast along the last dim (one per class). */
  posWeight?: Tensor | null;
}

/**
 * Sigmoid + binary cross-entropy in one stable expression, as F.binary_cross_entropy_with_logits:
 * (1 − y)·x + (1 + (pw − 1)·y)·(log(1 + e^−|x|) + max(−x, 0)).
 *
 * Example: `F.binaryCrossEntropyWithLogits(logits, labels, { posWeight: tensor([3]) })`.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BCEWithLogitsOptions = {}): Tensor {
  return inOpContext('binaryCrossEntropyWithLogits', () => {
    checkLossArgs('binaryCrossEntropyWithLogits', { input, target }, options);
    const op = 'binaryCrossEntropyWithLogits';
    checkSameShape(op, input, target);
    const softplusNeg = add(log(add(exp(neg(abs(input))), 1)), relu(neg(input)));
    const logWeight = options.posWeight ? add(mul(sub(options.posWeight, 1), target), 1) : null;
    let losses = add(mul(sub(1, target), input), logWeight ? mul(logWeight, softplusNeg) : softplusNeg);
    if (options.weight) losses = mul(losses, options.weight);
    return reduce(op, losses, options.reduction);
  });
}

// ---- margins: hinge losses -------------------------------------------------------------------------

/** Options of the binary hinge losses. */
export interface HingeOptions extends ReductionOptions {
  /** Default 1. */
  margin?: number;
}

/**
 * Binary hinge loss (SVM, the lecture's): max(0, margin − y·x) with labels y ∈ {−1, +1}
 * (kiln; PyTorch has no direct equivalent).
 *
 * Example: `F.hingeLoss(scores, labels)` with labels ±1.
 */
export function hingeLoss(input: Tensor, target: Tensor, options: HingeOptions = {}): Tensor {
  checkLossArgs('hingeLoss', { input, target }, options);
  checkSameShape('hingeLoss', input, target);
  return reduce('hingeLoss', relu(sub(options.margin ?? 1, mul(input, target))), options.reduction);
}

/**
 * Squared hinge loss: max(0, margin − y·x)², y ∈ {−1, +1} (kiln).
 *
 * Example: `F.squaredHingeLoss(scores, targets)` with targets in {-1, +1}.
 */
export function squaredHingeLoss(input: Tensor, target: Tensor, options: HingeOptions = {}): Tensor {
  checkLossArgs('squaredHingeLoss', { input, target }, options);
  checkSameShape('squaredHingeLoss', input, target);
  return reduce('squaredHingeLoss', square(relu(sub(options.margin ?? 1, mul(input, target)))), options.reduction);
}

/** Options of multiMarginLoss. */
export interface MultiMarginOptions extends ReductionOptions {
  /** 1 or 2. Default 1. */
  p?: 1 | 2;
  /** Default 1. */
  margin?: number;
  /** Per-class weights (C), applied by the target class. */
  weight?: Tensor | null;
}

/** Per sample: Σ_{j ≠ y} w_y·max(0, margin − x_y + x_j)^p, input (N, C) or (C). */
function marginSums(op: string, input: Tensor, classTarget: Tensor, margin: number, p: 1 | 2, weight: Tensor | null): Tensor {
  if (input.ndim !== 1 && input.ndim !== 2) throw new ShapeError(`${op}: input must be (N, C) or (C), got ${formatShape(input.shape)}`);
  const target = classTargets(op, classTarget);
  const block = crossEntropyBlock(op, input, target);
  checkClassTargets(op, target, block.n, -1);
  const w = classWeights(op, weight, input, block.n);
  const targets = Array.from(target.data as Int32Array);
  const index = target.reshape(input.ndim === 1 ? [1] : [block.outer, 1]);
  const picked = gather(input, -1, index);
  let terms = relu(add(sub(input, picked), margin));
  if (p === 2) terms = square(terms);
  const keep = targets.flatMap((t) => Array.from({ length: block.n }, (_, j) => (j === t ? 0 : w === null ? 1 : w[t])));
  return sum(mul(terms, constant(keep, input.shape, input)), -1);
}

/**
 * Multi-class margin loss, as F.multi_margin_loss: Σ_{j ≠ y} w_y·max(0, margin − x_y + x_j)^p / C.
 *
 * Args: input: scores (N, C) or (C); target: int32 or int64 class indices (N) or ().
 * Example: `F.multiMarginLoss(scores, labels)`.
 */
export function multiMarginLoss(input: Tensor, target: Tensor, options: MultiMarginOptions = {}): Tensor {
  return inOpContext('multiMarginLoss', () => {
    checkLossArgs('multiMarginLoss', { input, target }, options);
    const p = options.p ?? 1;
    if (p !== 1 && p !== 2) throw new RangeError(`multiMarginLoss: p must be 1 or 2, got ${String(p)}`);
    const sums = marginSums('multiMarginLoss', input, target, options.margin ?? 1, p, options.weight ?? null);
    return reduce('multiMarginLoss', mul(sums, 1 / input.shape[input.ndim - 1]), options.reduction);
  });
}

/**
 * The Weston–Watkins multi-class SVM loss of the lecture: Σ_{j ≠ y} max(0, x_j − x_y + margin)
 * (multiMarginLoss without its division by C).
 *
 * Example: `F.multiClassHingeLoss(scores, labels)`.
 */
export function multiClassHingeLoss(input: Tensor, target: Tensor, options: HingeOptions = {}): Tensor {
  return inOpContext('multiClassHingeLoss', () => {
    checkLossArgs('multiClassHingeLoss', { input, target }, options);
    return reduce('multiClassHingeLoss', marginSums('multiClassHingeLoss', input, target, options.margin ?? 1, 1, null), options.reduction);
  });
}

// ---- regression ----------------------------------------------------------------------------------------

/**
 * Mean squared error, as F.mse_loss: (x − y)².
 *
 * Example: `F.mseLoss(tensor([1, 2]), tensor([1, 4]))` → 2.
 */
export function mseLoss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  checkLossArgs('mseLoss', { input, target }, options);
  checkSameShape('mseLoss', input, target);
  return reduce('mseLoss', square(sub(input, target)), options.reduction);
}

/**
 * Mean absolute error, as F.l1_loss: |x − y|.
 *
 * Example: `F.l1Loss(tensor([1, 2]), tensor([1, 4]))` → 1.
 */
export function l1Loss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  checkLossArgs('l1Loss', { input, target }, options);
  checkSameShape('l1Loss', input, target);
  return reduce('l1Loss', abs(sub(input, target)), options.reduction);
}

/**
 * Smooth L1, as F.smooth_l1_loss: 0.5·d²/β where d = |x − y| < β, else d − 0.5·β (β = 0: L1).
 *
 * Example: `F.smoothL1Loss(boxes, targets, { beta: 1 / 9 })`.
 */
export function smoothL1Loss(input: Tensor, target: Tensor, options: ReductionOptions & { beta?: number } = {}): Tensor {
  checkLossArgs('smoothL1Loss', { input, target }, options);
  checkSameShape('smoothL1Loss', input, target);
  const beta = options.beta ?? 1;
  if (!(beta >= 0)) throw new RangeError(`smoothL1Loss: beta must be ≥ 0, got ${beta}`);
  const d = abs(sub(input, target));
  const losses = beta === 0 ? d : where(lt(d, beta), mul(square(d), 0.5 / beta), sub(d, 0.5 * beta));
  return reduce('smoothL1Loss', losses, options.reduction);
}

/**
 * Huber loss, as F.huber_loss: 0.5·d² where d = |x − y| < δ, else δ·(d − 0.5·δ).
 *
 * Example: `F.huberLoss(pred, target, { delta: 1.5 })`.
 */
export function huberLoss(input: Tensor, target: Tensor, options: ReductionOptions & { delta?: number } = {}): Tensor {
  checkLossArgs('huberLoss', { input, target }, options);
  checkSameShape('huberLoss', input, target);
  const delta = options.delta ?? 1;
  if (!(delta > 0)) throw new RangeError(`huberLoss: delta must be > 0, got ${delta}`);
  const d = abs(sub(input, target));
  return reduce('huberLoss', where(lt(d, delta), mul(square(d), 0.5), mul(sub(d, 0.5 * delta), delta)), options.reduction);
}

// ---- distributions and similarity ---------------------------------------------------------------------

/** Options of klDiv: reduction may also be 'batchmean' (sum / N, the true KL divergence per sample). */
export interface KLDivOptions {
  /** Default 'mean' (over every element, as PyTorch; 'batchmean' is the mathematically right one). */
  reduction?: Reduction | 'batchmean';
  /** The target is given as log-probabilities. Default false. */
  logTarget?: boolean;
}

/**
 * Kullback–Leibler divergence, as F.kl_div: input holds log-probabilities; pointwise
 * t·(log t − input) (0 where t = 0), or e^t·(t − input) when logTarget.
 *
 * Example: `F.klDiv(logSoftmax(student, 1), softmax(teacher, 1), { reduction: 'batchmean' })`.
 */
export function klDiv(input: Tensor, target: Tensor, options: KLDivOptions = {}): Tensor {
  checkLossArgs('klDiv', { input, target }, options);
  checkSameShape('klDiv', input, target);
  const pointwise = options.logTarget
    ? mul(exp(target), sub(target, input))
    : mul(target, sub(log(where(gt(target, 0), target, 1)), input));
  if (options.reduction !== 'batchmean') return reduce('klDiv', pointwise, options.reduction);
  return mul(sum(pointwise), 1 / (input.ndim === 0 ? 1 : input.shape[0]));
}

/**
 * Cosine embedding loss, as F.cosine_embedding_loss: 1 − cos(x1, x2) where y = 1,
 * max(0, cos(x1, x2) − margin) where y = −1 (cosine along dim 1, or 0 for 1-D inputs).
 *
 * Args: x1, x2: (N, D) or (D); y: (N) or () of ±1.
 * Example: `F.cosineEmbeddingLoss(a, b, labels, { margin: 0.2 })`.
 */
export function cosineEmbeddingLoss(x1: Tensor, x2: Tensor, y: Tensor, options: ReductionOptions & { margin?: number } = {}): Tensor {
  checkLossArgs('cosineEmbeddingLoss', { x1, x2, y }, options);
  checkSameShape('cosineEmbeddingLoss', x1, x2);
  if (x1.ndim !== 1 && x1.ndim !== 2) throw new ShapeError(`cosineEmbeddingLoss: inputs must be (N, D) or (D), got ${formatShape(x1.shape)}`);
  const dim = x1.ndim - 1;
  if (!sameShape(y.shape, x1.shape.slice(0, dim))) {
    throw new ShapeError(`cosineEmbeddingLoss: y must have shape ${formatShape(x1.shape.slice(0, dim))}, got ${formatShape(y.shape)}`);
  }
  const EPS = 1e-12;
  const dot = sum(mul(x1, x2), dim);
  const norms = sqrt(mul(add(sum(square(x1), dim), EPS), add(sum(square(x2), dim), EPS)));
  const cos = mul(dot, norms.reciprocal());
  const positive = where(eq(y, 1), sub(1, cos), 0);
  const negative = where(eq(y, -1), relu(sub(cos, options.margin ?? 0)), 0);
  return reduce('cosineEmbeddingLoss', add(positive, negative), options.reduction);
}

/**
 * Dice loss for segmentation (kiln; the Sørensen–Dice coefficient):
 * 1 − (2·Σ p·t + smooth) / (Σ p + Σ t + smooth), per sample over every dim but the first.
 *
 * Args: input: probabilities (N, ...) with at least 2 dims; target: same shape.
 * Example: `F.diceLoss(sigmoid(maskLogits), masks)`.
 */
export function diceLoss(input: Tensor, target: Tensor, options: ReductionOptions & { smooth?: number } = {}): Tensor {
  checkLossArgs('diceLoss', { input, target }, options);
  checkSameShape('diceLoss', input, target);
  if (input.ndim < 2) throw new ShapeError(`diceLoss: input must be (N, ...) with at least 2 dims, got ${formatShape(input.shape)}`);
  const dims = input.shape.map((_, d) => d).slice(1);
  const smooth = options.smooth ?? 1;
  const overlap = add(mul(sum(mul(input, target), dims), 2), smooth);
  const total = add(add(sum(input, dims), sum(target, dims)), smooth);
  return reduce('diceLoss', sub(1, mul(overlap, total.reciprocal())), options.reduction);
}

// ---- modules ------------------------------------------------------------------------------------------------

/** The base of the loss modules: a reduction, and optional weight buffers saved in stateDict as PyTorch does. */
abstract class Loss<O extends object> extends Module {
  protected readonly options: O;
  /** Args: options of the loss (all optional); buffers: tensors to register (class weights). */
  constructor(options: O = {} as O, buffers: Record<string, Tensor | null | undefined> = {}) {
    super();
    this.options = checkOptions(this.constructor.name, options);
    for (const [name, t] of Object.entries(buffers ?? {})) if (t) this.registerBuffer(name, t);
  }
}

const floatOnly = (op: string, t: Tensor | null | undefined): void => {
  if (t && t.dtype !== 'float32' && t.dtype !== 'float64') throw new DTypeError(`${op}: weight must be a float tensor, got ${t.dtype}`);
};

/** nn.CrossEntropyLoss: see crossEntropy. Example: `new nn.CrossEntropyLoss({ ignoreIndex: 0 }).forward(logits, labels)`. */
export class CrossEntropyLoss extends Loss<CrossEntropyOptions> {
  constructor(options: CrossEntropyOptions = {}) {
    floatOnly('CrossEntropyLoss', checkOptions('CrossEntropyLoss', options, { weight: 'tensor?' }).weight);
    super(options, { weight: options.weight });
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, this.options);
  }
}

/**
 * nn.NLLLoss: see nllLoss.
 *
 * Example: `new nn.NLLLoss().forward(F.logSoftmax(logits, 1), labels)`.
 */
export class NLLLoss extends Loss<Omit<CrossEntropyOptions, 'labelSmoothing'>> {
  constructor(options: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}) {
    floatOnly('NLLLoss', checkOptions('NLLLoss', options, { weight: 'tensor?' }).weight);
    super(options, { weight: options.weight });
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, this.options);
  }
}

/**
 * nn.BCELoss: see binaryCrossEntropy.
 *
 * Example: `new nn.BCELoss().forward(probabilities, targets)`.
 */
export class BCELoss extends Loss<BCEOptions> {
  constructor(options: BCEOptions = {}) {
    super(options, { weight: checkOptions('BCELoss', options, { weight: 'tensor?' }).weight });
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, this.options);
  }
}

/**
 * nn.BCEWithLogitsLoss: see binaryCrossEntropyWithLogits.
 *
 * Example: `new nn.BCEWithLogitsLoss().forward(logits, targets)`.
 */
export class BCEWithLogitsLoss extends Loss<BCEWithLogitsOptions> {
  constructor(options: BCEWithLogitsOptions = {}) {
    checkOptions('BCEWithLogitsLoss', options, { weight: 'tensor?', posWeight: 'tensor?' });
    super(options, { weight: options.weight, pos_weight: options.posWeight });
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, this.options);
  }
}

/**
 * nn.MSELoss: see mseLoss.
 *
 * Example: `new nn.MSELoss().forward(prediction, target)`.
 */
export class MSELoss extends Loss<ReductionOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.options);
  }
}

/**
 * nn.L1Loss: see l1Loss.
 *
 * Example: `new nn.L1Loss({ reduction: 'sum' }).forward(prediction, target)`.
 */
export class L1Loss extends Loss<ReductionOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, this.options);
  }
}

/**
 * nn.SmoothL1Loss: see smoothL1Loss.
 *
 * Example: `new nn.SmoothL1Loss({ beta: 0.5 }).forward(prediction, target)`.
 */
export class SmoothL1Loss extends Loss<ReductionOptions & { beta?: number }> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, this.options);
  }
}

/**
 * nn.HuberLoss: see huberLoss.
 *
 * Example: `new nn.HuberLoss({ delta: 1 }).forward(prediction, target)`.
 */
export class HuberLoss extends Loss<ReductionOptions & { delta?: number }> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return huberLoss(input, target, this.options);
  }
}

/**
 * Binary hinge loss module (kiln): see hingeLoss.
 *
 * Example: `new nn.HingeLoss().forward(scores, targets)` with targets in {-1, +1}.
 */
export class HingeLoss extends Loss<HingeOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return hingeLoss(input, target, this.options);
  }
}

/**
 * Squared hinge loss module (kiln): see squaredHingeLoss.
 *
 * Example: `new nn.SquaredHingeLoss().forward(scores, targets)` with targets in {-1, +1}.
 */
export class SquaredHingeLoss extends Loss<HingeOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return squaredHingeLoss(input, target, this.options);
  }
}

/**
 * nn.MultiMarginLoss: see multiMarginLoss.
 *
 * Example: `new nn.MultiMarginLoss().forward(logits, labels)`.
 */
export class MultiMarginLoss extends Loss<MultiMarginOptions> {
  constructor(options: MultiMarginOptions = {}) {
    floatOnly('MultiMarginLoss', checkOptions('MultiMarginLoss', options, { weight: 'tensor?' }).weight);
    super(options, { weight: options.weight });
  }
  override forward(input: Tensor, target: Tensor): Tensor {
    return multiMarginLoss(input, target, this.options);
  }
}

/**
 * Weston–Watkins multi-class SVM loss module (kiln): see multiClassHingeLoss.
 *
 * Example: `new nn.MultiClassHingeLoss().forward(logits, labels)`.
 */
export class MultiClassHingeLoss extends Loss<HingeOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return multiClassHingeLoss(input, target, this.options);
  }
}

/**
 * nn.KLDivLoss: see klDiv.
 *
 * Example: `new nn.KLDivLoss({ reduction: 'batchmean' }).forward(F.logSoftmax(logits, 1), targetProbabilities)`.
 */
export class KLDivLoss extends Loss<KLDivOptions> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return klDiv(input, target, this.options);
  }
}

/**
 * nn.CosineEmbeddingLoss: see cosineEmbeddingLoss; forward(x1, x2, y).
 *
 * Example: `new nn.CosineEmbeddingLoss({ margin: 0.2 }).forward(a, b, same)` with same in {-1, +1}.
 */
export class CosineEmbeddingLoss extends Loss<ReductionOptions & { margin?: number }> {
  override forward(x1: Tensor, x2: Tensor, y: Tensor): Tensor {
    return cosineEmbeddingLoss(x1, x2, y, this.options);
  }
}

/**
 * Dice loss module (kiln): see diceLoss.
 *
 * Example: `new nn.DiceLoss().forward(maskProbabilities, targetMask)`.
 */
export class DiceLoss extends Loss<ReductionOptions & { smooth?: number }> {
  override forward(input: Tensor, target: Tensor): Tensor {
    return diceLoss(input, target, this.options);
  }
}
