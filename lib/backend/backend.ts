/**
 * The backend interface: one method per kernel. Two implementations exist:
 * `native` (the C++ addon, float32) and `reference` (plain TypeScript loops, every dtype).
 *
 * Conventions shared by every method:
 * - All arrays are flat, contiguous, row-major. The caller allocates outputs; a kernel
 *   overwrites its output completely unless the method says it accumulates.
 * - Sizes are element counts. Shapes and strides travel as `Int32Array` so the native
 *   binding reads them without per-element conversions.
 * - A reduction-like kernel sees its input as a 3-D block `(outer, n, inner)`: the axis it
 *   works on has length `n`, everything before it is folded into `outer`, everything after
 *   into `inner`.
 * - The op layer (lib/ops) has checked shapes and dtypes before calling; backends validate
 *   again only what could make them read or write out of bounds.
 */
import type { DataArray, FloatArray } from '../dtype.js';
import type {
  AdadeltaConfig,
  AdagradConfig,
  AdamConfig,
  AdamaxConfig,
  CrossEntropyConfig,
  NadamConfig,
  RmspropConfig,
  SgdConfig,
} from './fused-configs.js';
import type { RnnBackwardArrays, RnnForwardArrays, RnnGeometry } from './rnn-geometry.js';

/** Elementwise unary ops. Codes are shared with the native addon (native/kernels/elementwise.h). */
export const UnaryOp = {
  neg: 0,
  abs: 1,
  exp: 2,
  log: 3,
  sqrt: 4,
  sigmoid: 5,
  tanh: 6,
  relu: 7,
  sign: 8,
  reciprocal: 9,
  square: 10,
  erf: 11,
  expm1: 12,
  log1p: 13,
  sin: 14,
  cos: 15,
  tan: 16,
  sinh: 17,
  cosh: 18,
  rsqrt: 19,
  floor: 20,
  ceil: 21,
  /** Round half to even, as torch.round. */
  round: 22,
} as const;
/** A unary op code. */
export type UnaryOpCode = (typeof UnaryOp)[keyof typeof UnaryOp];

/**
 * Elementwise binary ops. `pow` is `a ** b`; `maximum`/`minimum` propagate NaN; `fmod` is C's
 * fmod (the sign of a); `remainder` is Python's a % b (the sign of b). atan2 is float only;
 * int32 fmod and remainder need a nonzero divisor (the op layer checks).
 */
export const BinaryOp = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  atan2: 7,
  fmod: 8,
  remainder: 9,
} as const;
/** A binary op code. */
export type BinaryOpCode = (typeof BinaryOp)[keyof typeof BinaryOp];

/** Elementwise comparisons; the result is a bool (0/1 byte) array. */
export const CompareOp = {
  eq: 0,
  ne: 1,
  lt: 2,
  le: 3,
  gt: 4,
  ge: 5,
} as const;
/** A comparison op code. */
export type CompareOpCode = (typeof CompareOp)[keyof typeof CompareOp];

/** Reductions along one axis. `max`/`min` propagate NaN. */
export const ReduceOp = {
  sum: 0,
  max: 1,
  min: 2,
} as const;
/** A reduction op code. */
export type ReduceOpCode = (typeof ReduceOp)[keyof typeof ReduceOp];

/** Cumulative ops along one axis (cumsum, cumprod). Codes are shared with native/kernels/scan.h. */
export const ScanOp = {
  sum: 0,
  prod: 1,
} as const;
/** A scan op code. */
export type ScanOpCode = (typeof ScanOp)[keyof typeof ScanOp];

/**
 * How two operands broadcast into an output of `shape`: for each output dim, the element
 * stride to step in `a` and in `b` (0 along a dim the operand broadcasts over).
 * Dims are coalesced by the op layer, so `shape.length` is small (usually 1 to 3).
 */
export interface BroadcastPlan {
  shape: Int32Array;
  aStrides: Int32Array;
  bStrides: Int32Array;
}

/**
 * Where batched matmul operands sit in their arrays when they are views: a[p] starts at
 * aOffset + p·aBatchStride and its stored rows are lda elements apart (lda ≥ its stored row
 * length: k, or m when transA); likewise b with bOffset and ldb (≥ n, or k when transB).
 * Transposed and sliced views reach GEMM this way without a copy.
 */
export interface MatmulLayout {
  aOffset: number;
  bOffset: number;
  lda: number;
  ldb: number;
  /**
   * An outer batch level (batch dims whose strides do not merge with the inner ones, such as
   * the (batch, heads) of a permuted attention tensor): out is (outer.count, batch, m, n) and
   * product (o, p) reads a at aOffset + o·outer.aStride + p·aBatchStride (likewise b).
   * Omitted: one level.
   */
  outer?: OuterBatch;
  /**
   * A row vector (n) added to every row of every product: out = op(a)·op(b) + bias (a Linear
   * layer's bias, fused into the product). Omitted: no bias.
   */
  bias?: FloatArray;
  /** How the product of float32 operands computes (see GemmPrecision). Omitted: 'float32'. */
  gemmPrecision?: GemmPrecision;
}

/**
 * How a float32 GEMM computes: 'float32' (sgemm), or 'bfloat16', the products of
 * autocast('bfloat16'): where the native backend runs its AVX512-BF16 kernel, each operand
 * element is rounded to bfloat16 while it is packed and the kernel accumulates in FP32 (twice
 * the multiply-adds per instruction); elsewhere, and on the reference backend, it is 'float32'.
 * Autocast's operands are bfloat16 values already, so both give the same values up to the
 * order of the FP32 sums.
 */
export type GemmPrecision = 'float32' | 'bfloat16';

/** The outer level of a two-level batched matmul (see MatmulLayout.outer); strides ≥ 0. */
export interface OuterBatch {
  count: number;
  aStride: number;
  bStride: number;
}

/**
 * Geometry of a 2-D convolution, NCHW (conv1d is h = 1). x: (n, c, h, w); weight:
 * (k, c / groups, kernelH, kernelW); y: (n, k, outH, outW) with
 * outH = ⌊(h + padTop + padBottom − dilationH·(kernelH − 1) − 1) / strideH⌋ + 1 (outW likewise).
 * Sizes, strides and dilations ≥ 1, paddings ≥ 0, groups divides c and k, outH, outW ≥ 1.
 */
export interface Conv2dGeometry {
  n: number;
  c: number;
  h: number;
  w: number;
  k: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  dilationH: number;
  dilationW: number;
  groups: number;
  outH: number;
  outW: number;
  /**
   * How the GEMMs of the im2col and 1×1 algorithms compute (see GemmPrecision); the direct,
   * depthwise and Winograd algorithms compute in float32 whatever it says. Omitted: 'float32'.
   */
  gemmPrecision?: GemmPrecision;
}

/**
 * What conv2dFused does to the convolution's output while it is in cache, in this order:
 * v·scale[k] + shift[k] per output channel when scale and shift are given (an inference
 * BatchNorm folded in; within float rounding of the separate pass), relu (x < 0 ? 0 : x), with
 * relu6 also x > 6 ? 6 : x (ReLU6, relu implied), then 2×2 max pooling at stride 2 (outH and
 * outW even; y is then (n, k, outH / 2, outW / 2)). The relu, clamp and pooling steps are bit
 * for bit the separate unary relu, clamp and maxPool2d kernels.
 */
export interface ConvEpilogue {
  relu: boolean;
  maxPool2x2: boolean;
  /** Clamp to [0, 6] after the affine map. Default false. */
  relu6?: boolean;
  /** Per-output-channel scale (k), given together with shift, or null. */
  scale?: FloatArray | null;
  /** Per-output-channel shift (k), given together with scale, or null. */
  shift?: FloatArray | null;
}

/**
 * Geometry of 2-D pooling over `planes` = n·c planes (1-D pooling is h = 1). x: (planes, h, w);
 * y: (planes, outH, outW), outH from PyTorch's floor or ceil mode. Padding (both sides) is at
 * most half the kernel; dilation is 1 for average pooling.
 */
export interface Pool2dGeometry {
  planes: number;
  h: number;
  w: number;
  kernelH: number;
  kernelW: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  outH: number;
  outW: number;
}

/** The kernels every backend provides. */
/**
 * Geometry of upsample2d: `planes` images of h×w resized to outH×outW by separable
 * interpolation with PyTorch 1.13's source-index rule (see lib/ops/interpolate.ts).
 */
export interface Upsample2dGeometry {
  planes: number;
  h: number;
  w: number;
  outH: number;
  outW: number;
  /** 'bilinear': 2 taps per axis; 'bicubic': 4 taps (A = −0.75), edge indices clamped. */
  mode: 'bilinear' | 'bicubic';
  /** Map corner pixel centres onto each other (scale (in−1)/(out−1)). */
  alignCorners: boolean;
  /** The user's scale factors (output/input) per axis, or 0 to use in/out: PyTorch's `scales_h`, `scales_w`. */
  scaleH: number;
  scaleW: number;
}

/** How attention scores are masked. Codes are shared with the native addon (native/kernels/attention.h). */
export const AttentionMaskKind = { none: 0, float: 1, bool: 2, causal: 3 } as const;
export type AttentionMaskKindCode = (typeof AttentionMaskKind)[keyof typeof AttentionMaskKind];

/**
 * Where the slices of one attention operand sit in its array: slice b = (b / heads, b % heads)
 * has element (row, col) at (b / heads)·batchStride + (b % heads)·headStride + row·rowStride +
 * col. Dense (batch, rows, cols) is { batchStride: rows·cols, headStride: 0, rowStride: cols }.
 */
export interface AttentionLayout {
  batchStride: number;
  headStride: number;
  rowStride: number;
}

/**
 * One fused attention call over `batch` (batch × heads) slices: q (batch, L, E), k (batch, S, E),
 * v (batch, S, Ev), out (batch, L, Ev), each in its layout (dq, dk, dv share q's, k's, v's; dout
 * shares out's), lse (batch, L) dense. Mask element (b, i, j) is
 * mask[maskOffsets[b] + i·maskRowStride + j·maskColStride] (strides 0 where the mask broadcasts).
 * Dropout on the weights: weight (b, i, j) is kept, scaled by 1/(1 − p), where the counter-based
 * hash of (seed, b·L + i, j) says so (native/kernels/attention.h; dropoutThreshold = round(p·2²⁴),
 * 0 for none), so the backward regenerates the forward's mask.
 */
export interface AttentionGeometry {
  batch: number;
  L: number;
  /** ≥ 1 */
  S: number;
  E: number;
  Ev: number;
  scale: number;
  maskKind: AttentionMaskKindCode;
  /** The float mask (maskKind float), of q's dtype; else null. */
  floatMask: FloatArray | null;
  /** The bool mask (maskKind bool; nonzero = the key takes part); else null. */
  boolMask: Uint8Array | null;
  /** batch entries for a float or bool mask; else empty. */
  maskOffsets: Int32Array;
  maskRowStride: number;
  maskColStride: number;
  /** ≥ 1, divides batch: slices are (batch / heads, heads). */
  heads: number;
  qLayout: AttentionLayout;
  kLayout: AttentionLayout;
  vLayout: AttentionLayout;
  outLayout: AttentionLayout;
  /** round(p·2²⁴) of the dropout probability p; 0 = no dropout. */
  dropoutThreshold: number;
  /** The dropout seed's high and low 32 bits (unsigned). */
  dropoutSeedHigh: number;
  dropoutSeedLow: number;
}

export interface Backend {
  /** `'native'` or `'reference'`. */
  readonly name: 'native' | 'reference';

  /**
   * out[i] = op(x[i]). x and out have the same length and dtype.
   * Float dtypes support every op; int32 supports neg, abs, sign, square (wrapping on
   * overflow, two's complement). NaN stays NaN through every op, relu and sign included.
   */
  unary(op: UnaryOpCode, x: DataArray, out: DataArray): void;

  /**
   * out = op(a, b) elementwise with broadcasting. a, b and out share one dtype
   * (float32, float64 or int32; int32 supports add, sub, mul, maximum, minimum, fmod and
   * remainder, and wraps on overflow).
   * With `plan === null`, a.length and b.length are each either out.length or 1 (a scalar).
   */
  binary(op: BinaryOpCode, a: DataArray, b: DataArray, out: DataArray, plan: BroadcastPlan | null): void;

  /** out = (a op b) as 0/1 bytes, broadcasting as in `binary`. a and b share one dtype. */
  compare(op: CompareOpCode, a: DataArray, b: DataArray, out: Uint8Array, plan: BroadcastPlan | null): void;

  /** out[i] = cond[i] ? a[i] : b[i]. All four arrays have the same length; a, b, out share a dtype. */
  where(cond: Uint8Array, a: DataArray, b: DataArray, out: DataArray): void;

  /** ReLU's backward pass: out[i] = x[i] > 0 ? g[i] : 0 (NaN x gives 0). g, x, out: (len). */
  reluBackward(g: FloatArray, x: FloatArray, out: FloatArray): void;

  /**
   * Dropout with a counter-based mask: out[i] = x[i]·keepScale where element i is kept, else
   * 0. Element i is kept when the hash of (seed, row i / 2³², column i mod 2³²) says so
   * (native/kernels/counter_hash.h; dropped with probability threshold / 2²⁴, threshold ≤ 2²⁴;
   * seedHigh, seedLow unsigned 32-bit), so the same call on the gradient is the backward.
   * out is x (in place) or does not overlap it.
   */
  dropout(x: FloatArray, out: FloatArray, threshold: number, seedHigh: number, seedLow: number, keepScale: number): void;

  /**
   * Layer normalization over rows of n ≥ 1 elements: x, out (rows, n); weight, bias (n) or null;
   * mean, rstd (rows) written: mean_r = Σ x_r / n, rstd_r = 1/√(Σ (x_r − mean_r)²/n + eps),
   * out_r = (x_r − mean_r)·rstd_r·weight + bias.
   */
  layerNorm(x: FloatArray, weight: FloatArray | null, bias: FloatArray | null, out: FloatArray, mean: FloatArray, rstd: FloatArray, rows: number, n: number, eps: number): void;

  /**
   * Batch normalization with the batch's statistics over x, out (n, c, inner), n·inner ≥ 1;
   * weight, bias (c) or null; mean, variance, rstd (c) written: per channel the mean and biased
   * variance of its n·inner values, rstd = 1/√(variance + eps), out = (x − mean)·rstd·weight + bias.
   * Each channel's result does not depend on the thread count.
   */
  batchNorm(
    x: FloatArray,
    weight: FloatArray | null,
    bias: FloatArray | null,
    out: FloatArray,
    mean: FloatArray,
    variance: FloatArray,
    rstd: FloatArray,
    n: number,
    c: number,
    inner: number,
    eps: number,
  ): void;

  /**
   * The gradients of batchNorm given gy (n, c, inner) and its mean and rstd: gx (n, c, inner), and
   * gw, gb (c) when not null (Σ gy·x̂ and Σ gy per channel), overwritten. With x̂ = (x − mean)·rstd
   * and m = n·inner: gx = weight·rstd·(gy − Σgy/m − x̂·Σ(gy·x̂)/m).
   */
  batchNormBackward(
    gy: FloatArray,
    x: FloatArray,
    weight: FloatArray | null,
    mean: FloatArray,
    rstd: FloatArray,
    gx: FloatArray,
    gw: FloatArray | null,
    gb: FloatArray | null,
    n: number,
    c: number,
    inner: number,
  ): void;

  /**
   * The gradients of layerNorm given gy (rows, n) and its mean and rstd: gx (rows, n), and gw,
   * gb (n) when not null (Σ over rows of gy·x̂ and gy), overwritten. With x̂ = (x − mean)·rstd
   * and g = gy·weight: gx = rstd·(g − mean(g) − x̂·mean(g·x̂)).
   */
  layerNormBackward(
    gy: FloatArray,
    x: FloatArray,
    weight: FloatArray | null,
    mean: FloatArray,
    rstd: FloatArray,
    gx: FloatArray,
    gw: FloatArray | null,
    gb: FloatArray | null,
    rows: number,
    n: number,
  ): void;

  /**
   * out[i] = min(max(x[i], lo), hi); lo may be -Infinity and hi +Infinity; lo > hi gives hi
   * everywhere. NaN stays NaN.
   */
  clamp(x: FloatArray, lo: number, hi: number, out: FloatArray): void;

  /**
   * Reduces x seen as (outer, n, inner) along n: out (outer, inner).
   * For n = 0: sum gives 0, max gives -Infinity, min gives +Infinity (the op layer rejects
   * max/min of empty axes before calling).
   */
  reduce(op: ReduceOpCode, x: DataArray, out: DataArray, outer: number, n: number, inner: number): void;

  /**
   * Max or min along n of x seen as (outer, n, inner), with the index where it occurs:
   * values and indices are (outer, inner). Ties give the first index; NaN counts as the
   * extreme (its first occurrence wins), as in PyTorch. Requires n ≥ 1.
   */
  argReduce(
    op: typeof ReduceOp.max | typeof ReduceOp.min,
    x: DataArray,
    values: DataArray,
    indices: Int32Array,
    outer: number,
    n: number,
    inner: number,
  ): void;

  /**
   * Softmax (or log-softmax when `log`) along n of x seen as (outer, n, inner), computed
   * stably (max subtracted first). out has x's shape.
   */
  softmax(x: FloatArray, out: FloatArray, outer: number, n: number, inner: number, log: boolean): void;

  /**
   * Gradient of `softmax` given its output y and the output gradient gy, into gx:
   * softmax: gx = y · (gy − Σ gy·y); log-softmax: gx = gy − exp(y) · Σ gy (sums along n).
   */
  softmaxBackward(
    y: FloatArray,
    gy: FloatArray,
    gx: FloatArray,
    outer: number,
    n: number,
    inner: number,
    log: boolean,
  ): void;

  /**
   * Batched matrix product, out[p] = op(a[p]) · op(b[p]) for p < batch, overwriting out.
   * op(a[p]) is (m, k): a[p] is stored (m, k), or (k, m) when transA. op(b[p]) is (k, n):
   * b[p] is stored (k, n), or (n, k) when transB. a[p] starts at p·aBatchStride and b[p] at
   * p·bBatchStride (strides ≥ 0; 0 broadcasts one matrix over the batch); out is
   * (batch, m, n) contiguous. k = 0 gives zeros (or the bias). `layout` (optional) gives the
   * operands' start offsets and row strides when they are views, an outer batch level and a
   * bias (n) added to every row; omitted, both are dense from 0 and there is no bias.
   */
  matmul(
    a: FloatArray,
    b: FloatArray,
    out: FloatArray,
    batch: number,
    m: number,
    k: number,
    n: number,
    aBatchStride: number,
    bBatchStride: number,
    transA: boolean,
    transB: boolean,
    layout?: MatmulLayout,
  ): void;

  /**
   * Batched matrix product of bfloat16 operands (bit patterns) with FP32 accumulation:
   * `matmul`'s operands, batch and layout (no bias). A Float32Array `out` receives the FP32
   * sums; a Uint16Array `out` receives them rounded to bfloat16 (nearest, ties to even), as
   * PyTorch's bfloat16 matmul. The native backend runs an AVX512-BF16 kernel where the CPU has
   * it, else widens the operands while packing them for its FP32 micro-kernels
   * (native/kernels/gemm/gemm_bf16.h).
   */
  matmulBFloat16(
    a: Uint16Array,
    b: Uint16Array,
    out: Uint16Array | Float32Array,
    batch: number,
    m: number,
    k: number,
    n: number,
    aBatchStride: number,
    bBatchStride: number,
    transA: boolean,
    transB: boolean,
    layout?: MatmulLayout,
  ): void;

  /**
   * out[i] = x[i] rounded to the nearest bfloat16 (ties to even; a carry may reach ±Infinity;
   * NaN stays a quiet NaN), kept as float32: the casts autocast puts around its products.
   * out may be x.
   */
  roundBFloat16(x: Float32Array, out: Float32Array): void;

  /**
   * Gathers a strided view of src into contiguous dst:
   * dst[i0, i1, …] = src[srcOffset + Σ i_d · srcStrides[d]] for i in `shape`.
   * Strides may be 0 (expand) or negative. Covers permute, expand and slicing.
   */
  stridedCopy(src: DataArray, srcOffset: number, shape: Int32Array, srcStrides: Int32Array, dst: DataArray): void;

  /**
   * The inverse of `stridedCopy`: writes contiguous src into a strided view of dst,
   * dst[dstOffset + Σ i_d · dstStrides[d]] = src[i] (or `+=` when `accumulate`; with
   * accumulate, zero strides sum the elements that land on one place, which is the
   * gradient of expand). Accumulate is for numeric dtypes only, not bool.
   */
  stridedScatter(
    src: DataArray,
    dst: DataArray,
    dstOffset: number,
    shape: Int32Array,
    dstStrides: Int32Array,
    accumulate: boolean,
  ): void;

  /**
   * out (outer, m, inner) = x (outer, n, inner) picked along n by idx (m = idx.length):
   * out[o, j, i] = x[o, idx[j], i]. Throws a RangeError for an index outside [0, n).
   */
  indexSelect(x: DataArray, idx: Int32Array, out: DataArray, outer: number, n: number, inner: number): void;

  /**
   * The gradient of indexSelect, accumulating: dst[o, idx[j], i] += src[o, j, i], with
   * src (outer, m, inner), dst (outer, n, inner), m = idx.length. Throws on a bad index.
   */
  indexAdd(src: DataArray, idx: Int32Array, dst: DataArray, outer: number, n: number, inner: number): void;

  /**
   * out[o, j, i] = x[o, idx[o, j, i], i], with x (outer, n, inner) and idx, out
   * (outer, m, inner). Throws a RangeError for an index outside [0, n).
   */
  gather(x: DataArray, idx: Int32Array, out: DataArray, outer: number, n: number, m: number, inner: number): void;

  /**
   * The gradient of gather, accumulating: dst[o, idx[o, j, i], i] += src[o, j, i], with
   * src and idx (outer, m, inner), dst (outer, n, inner). Throws on a bad index.
   */
  scatterAdd(src: DataArray, idx: Int32Array, dst: DataArray, outer: number, n: number, m: number, inner: number): void;

  /**
   * Fused softmax cross-entropy with class-index targets (native/kernels/loss.h has the
   * formula): logits (outer, n, inner), target (outer, inner), weight (n) or null; writes the
   * per-sample loss and log-sum-exp lse, each (outer, inner). Throws a RangeError for a
   * target that is neither c.ignoreIndex nor in [0, n).
   */
  softmaxCrossEntropy(
    logits: FloatArray,
    target: Int32Array,
    weight: FloatArray | null,
    loss: FloatArray,
    lse: FloatArray,
    c: CrossEntropyConfig,
  ): void;

  /**
   * The gradient of `softmaxCrossEntropy` with respect to the logits, from its lse and the
   * per-sample output gradient gradLoss (outer, inner), into gradLogits (outer, n, inner).
   */
  softmaxCrossEntropyBackward(
    logits: FloatArray,
    target: Int32Array,
    weight: FloatArray | null,
    lse: FloatArray,
    gradLoss: FloatArray,
    gradLogits: FloatArray,
    c: CrossEntropyConfig,
  ): void;

  // Fused optimizer steps: one pass over a parameter, its gradient (same length and dtype)
  // and its state buffers, all updated in place with PyTorch's update rule (the formulas are
  // in native/kernels/optim.h). A buffer the options do not use may be null.

  /** SGD with momentum, dampening, Nesterov and weight decay; momentumBuffer is used when c.momentum ≠ 0. */
  sgdStep(param: FloatArray, grad: FloatArray, momentumBuffer: FloatArray | null, c: SgdConfig): void;
  /** Adagrad; sum is the running sum of squared gradients. */
  adagradStep(param: FloatArray, grad: FloatArray, sum: FloatArray, c: AdagradConfig): void;
  /** RMSprop; gradAvg is used when c.centered, momentumBuffer when c.momentum > 0. */
  rmspropStep(
    param: FloatArray,
    grad: FloatArray,
    squareAvg: FloatArray,
    gradAvg: FloatArray | null,
    momentumBuffer: FloatArray | null,
    c: RmspropConfig,
  ): void;
  /** Adadelta. */
  adadeltaStep(param: FloatArray, grad: FloatArray, squareAvg: FloatArray, accDelta: FloatArray, c: AdadeltaConfig): void;
  /** Adam, AMSGrad and AdamW; maxExpAvgSq is used when c.amsgrad. */
  adamStep(
    param: FloatArray,
    grad: FloatArray,
    expAvg: FloatArray,
    expAvgSq: FloatArray,
    maxExpAvgSq: FloatArray | null,
    c: AdamConfig,
  ): void;
  /** NAdam. */
  nadamStep(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, c: NadamConfig): void;
  /** Adamax; expInf is the exponentially weighted infinity norm. */
  adamaxStep(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expInf: FloatArray, c: AdamaxConfig): void;

  /** Convolution forward: y = conv2d(x, weight) + bias (bias (k) or null). See Conv2dGeometry. */
  conv2d(x: FloatArray, weight: FloatArray, bias: FloatArray | null, y: FloatArray, g: Conv2dGeometry): void;

  /**
   * Inference convolution: conv2d followed by the epilogue e (see ConvEpilogue), in one pass
   * per image. y: (n, k, outH, outW), or (n, k, outH / 2, outW / 2) when e.maxPool2x2.
   */
  conv2dFused(x: FloatArray, weight: FloatArray, bias: FloatArray | null, y: FloatArray, g: Conv2dGeometry, e: ConvEpilogue): void;

  /** Convolution input gradient gx (n, c, h, w) from gy (n, k, outH, outW), overwritten. Also convTranspose2d's forward. */
  conv2dBackwardInput(gy: FloatArray, weight: FloatArray, gx: FloatArray, g: Conv2dGeometry): void;

  /** Convolution weight gradient gweight (k, c / groups, kernelH, kernelW) and bias gradient gbias (k, or null), overwritten. */
  conv2dBackwardWeight(x: FloatArray, gy: FloatArray, gweight: FloatArray, gbias: FloatArray | null, g: Conv2dGeometry): void;

  /**
   * Max pooling: y = the max of each window (padding never wins) and indices = its position in
   * the plane, ih·w + iw. Ties go to the first in row-major window order; NaN wins (PyTorch).
   */
  maxPool2d(x: FloatArray, y: FloatArray, indices: Int32Array, g: Pool2dGeometry): void;

  /** gx (planes, h, w) = zeros plus gy added at indices (from maxPool2d). Throws a RangeError for an index outside the plane. */
  maxPool2dBackward(gy: FloatArray, indices: Int32Array, gx: FloatArray, g: Pool2dGeometry): void;

  /**
   * Average pooling. Windows are clipped to the padded input; the divisor is divisorOverride
   * when > 0, else the clipped window's size (countIncludePad) or its count of input elements.
   */
  avgPool2d(x: FloatArray, y: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number): void;

  /** The gradient of avgPool2d: gx (planes, h, w), overwritten. */
  avgPool2dBackward(gy: FloatArray, gx: FloatArray, g: Pool2dGeometry, countIncludePad: boolean, divisorOverride: number): void;

  /**
   * Adaptive average pooling x (planes, h, w) → y (planes, outH, outW): output row i averages
   * input rows [⌊i·h/outH⌋, ⌈(i+1)·h/outH⌉), columns likewise.
   */
  adaptiveAvgPool2d(x: FloatArray, y: FloatArray, planes: number, h: number, w: number, outH: number, outW: number): void;

  /** The gradient of adaptiveAvgPool2d: gx (planes, h, w), overwritten. */
  adaptiveAvgPool2dBackward(gy: FloatArray, gx: FloatArray, planes: number, h: number, w: number, outH: number, outW: number): void;

  /** Resizes x (planes, h, w) into y (planes, outH, outW), overwritten; see Upsample2dGeometry. */
  upsample2d(x: FloatArray, y: FloatArray, g: Upsample2dGeometry): void;

  /** The gradient of upsample2d (its adjoint): gx (planes, h, w), overwritten, from gy (planes, outH, outW). */
  upsample2dBackward(gy: FloatArray, gx: FloatArray, g: Upsample2dGeometry): void;

  /**
   * One recurrent layer and direction over a whole sequence (Elman RNN, LSTM or GRU; see
   * rnn-geometry.ts): outputs y, hN, cN, and the workspace rnnBackward needs.
   */
  rnnForward(g: RnnGeometry, a: RnnForwardArrays): void;

  /** Backpropagation through time of rnnForward: every input gradient at once, overwritten. */
  rnnBackward(g: RnnGeometry, a: RnnBackwardArrays): void;

  /**
   * One LSTM step's cell update (inference) for `batch` rows from the two halves of the gate
   * pre-activations, both (batch, 4H) in PyTorch's gate order [i f g o]: gates = W_hh h + b_hh
   * (overwritten: scratch) and inputGates = W_ih x + b_ih. With z = gates + inputGates,
   * c = σ(z_f) ⊙ cPrev + σ(z_i) ⊙ tanh(z_g) and h = σ(z_o) ⊙ tanh(c), both (batch, H),
   * overwritten. No two arrays overlap. The dynamic-quantized LSTM's step (its gate GEMMs
   * are int8).
   */
  lstmCellsForward(batch: number, hidden: number, gates: FloatArray, inputGates: FloatArray, cPrev: FloatArray, c: FloatArray, h: FloatArray): void;

  /**
   * Cumulative sum or product along n of x seen as (outer, n, inner) into out (same shape):
   * out[o, j, i] = x[o, 0, i] op … op x[o, j, i]. Float sums and products accumulate in double
   * (as PyTorch's CPU kernels) and round once per output; int32 wraps.
   */
  scan(op: ScanOpCode, x: DataArray, out: DataArray, outer: number, n: number, inner: number): void;

  /**
   * Sorts each row of x (rows, n) ascending, or descending when `descending`, into values and
   * indices (rows, n): indices are positions in the row. Stable (equal values keep index
   * order in both directions); NaN sorts as the largest value; −0 equals +0. (PyTorch order.)
   */
  sort(x: DataArray, values: DataArray, indices: Int32Array, rows: number, n: number, descending: boolean): void;

  /**
   * The k largest (or smallest unless `largest`) values of each row of x (rows, n), best
   * first, into values and indices (rows, k), 0 ≤ k ≤ n: the first k entries of `sort` with
   * descending = largest.
   */
  topk(x: DataArray, values: DataArray, indices: Int32Array, rows: number, n: number, k: number, largest: boolean): void;

  /**
   * Fused scaled dot-product attention, dropout(softmax(q·kᵀ·scale + mask))·v, tiled with an
   * online softmax (the L×S scores are never stored): out, and lse = the log-sum-exp of each row
   * of masked scores (−∞ for a fully masked row, whose output is NaN). Operands are read and
   * written through their layouts (see AttentionGeometry); out must not overlap q, k, v.
   */
  attentionForward(q: FloatArray, k: FloatArray, v: FloatArray, out: FloatArray, lse: FloatArray, g: AttentionGeometry): void;

  /**
   * The gradients of attentionForward given dout and the forward's out and lse; dq, dk, dv
   * (in q's, k's, v's layouts) overwritten. Scores and the dropout mask are recomputed from q,
   * k, lse and the seed. dq, dk and dv may be views of one array (a packed projection's
   * gradient) when their layouts write disjoint column bands.
   */
  attentionBackward(
    q: FloatArray,
    k: FloatArray,
    v: FloatArray,
    out: FloatArray,
    lse: FloatArray,
    dout: FloatArray,
    dq: FloatArray,
    dk: FloatArray,
    dv: FloatArray,
    g: AttentionGeometry,
  ): void;

  /**
   * Packs int8 weights (n, k) row-major for qlinearDynamic: panels of 16 output channels,
   * groups of 4 consecutive k, each channel's 4 values together, zeros past n and k
   * (`packed` holds qlinearPackedBytes(n, k) int8 bytes); columnSums[j] = Σ_k weight[j, k].
   */
  qlinearPackWeights(weight: Int8Array, n: number, k: number, packed: Int8Array, columnSums: Int32Array): void;

  /**
   * The int8 dynamic-quantized Linear (PyTorch's quantized::linear_dynamic, fbgemm on x86):
   * x (m, k) quantized per tensor to u8 in [0, 127] from its min and max, times the packed
   * symmetric int8 weights, accumulated in int32, dequantized with x's scale times
   * weightScales[j], plus bias (n) when given; out (m, n) overwritten. k ≤ 65536. Throws a
   * RangeError when x holds NaN or an infinity.
   */
  qlinearDynamic(
    x: FloatArray,
    m: number,
    k: number,
    packed: Int8Array,
    n: number,
    columnSums: Int32Array,
    weightScales: Float32Array,
    bias: Float32Array | null,
    out: FloatArray,
  ): void;

  /** Sets how many threads kernels may use (≥ 1). The reference backend is single-threaded. */
  setNumThreads(n: number): void;

  /** The number of threads kernels may use. */
  getNumThreads(): number;
}
