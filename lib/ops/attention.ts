/**
 * Scaled dot-product attention (PyTorch 2's F.scaled_dot_product_attention):
 * softmax(q·kᵀ·scale + mask)·v over the last two dims, batch dims broadcast.
 *
 * Masks follow PyTorch 2: a float mask is added to the scores, a bool mask marks the keys a
 * query may attend to (true = takes part), and isCausal lets query i see keys j ≤ i
 * (top-left aligned when L ≠ S). A row whose keys are all masked out gives NaN, as in PyTorch.
 *
 * Unless the float mask itself needs a gradient, the op runs the backend's fused kernel
 * (attentionForward/attentionBackward: tiled online softmax, memory O(L) per head, the L×S
 * scores never stored; dropout inside the kernel, its mask a counter-based hash of a seed drawn
 * from the generator, so the backward regenerates it). Its backward is not itself
 * differentiable (no double backward, as softmax). A mask that requires grad, empty sizes and
 * scaledDotProductAttentionWithWeights take the composed path (matmul, softmax, matmul; its
 * dropout mask drawn from the generator in TypeScript). packedSelfAttention is the kernel on a
 * packed (N, L, 3E) projection, for MultiheadAttention.
 */
import { getBackend } from '../backend/index.js';
import { AttentionMaskKind, type AttentionGeometry as KernelGeometry, type AttentionLayout } from '../backend/backend.js';
import { allocate, allocateOutput, type FloatArray } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { record } from '../autograd/engine.js';
import { noGrad } from '../autograd/grad-mode.js';
import { defaultGenerator, type Generator } from '../random.js';
import { broadcastShapes, formatShape, numelOf, sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { rand } from './creation.js';
import { add, div, gt, maskedFill, mul } from './elementwise.js';
import { checkTensor } from './cast.js';
import { matmul } from './matmul.js';
import { expand, transpose } from './shape.js';
import { softmax } from './softmax.js';

/** Options of scaledDotProductAttention (PyTorch 2's keyword arguments, camelCase). */
export interface ScaledDotProductAttentionOptions {
  /**
   * Mask broadcastable to (…, L, S): bool (true = the key takes part) or float of q's dtype
   * (added to the scores, e.g. −Infinity to exclude). Default none.
   */
  attnMask?: Tensor | null;
  /** Query i attends only to keys j ≤ i (top-left aligned). Not combinable with attnMask. Default false. */
  isCausal?: boolean;
  /** Dropout probability applied to the attention weights (always, as in PyTorch 2). Default 0. */
  dropoutP?: number;
  /** Factor on q·kᵀ. Default 1/√E. */
  scale?: number;
  /** Generator of the dropout mask. Default: the global one. */
  generator?: Generator;
}

/** The output and the attention weights softmax(q·kᵀ·scale + mask) (after dropout). */
export interface AttentionWithWeights {
  /** (…, L, Ev) */
  output: Tensor;
  /** (…, L, S) */
  weights: Tensor;
}

/** The checked geometry of one attention call. */
interface AttentionGeometry {
  /** Broadcast batch dims of q, k, v. */
  batch: number[];
  L: number;
  S: number;
  E: number;
  Ev: number;
  scale: number;
}

function checkAttention(op: string, q: Tensor, k: Tensor, v: Tensor, options: ScaledDotProductAttentionOptions): AttentionGeometry {
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    checkTensor(op, t);
    if (t.ndim < 2) throw new ShapeError(`${op}: ${name} must have at least 2 dims (…, seq, features), got ${formatShape(t.shape)}`);
  }
  if (q.dtype !== 'float32' && q.dtype !== 'float64') throw new DTypeError(`${op}: q must be float32 or float64, got ${q.dtype}`);
  if (k.dtype !== q.dtype || v.dtype !== q.dtype) {
    throw new DTypeError(`${op}: q, k and v must share one float dtype, got ${q.dtype}, ${k.dtype} and ${v.dtype}`);
  }
  const [L, E] = q.shape.slice(-2);
  const [S, Ek] = k.shape.slice(-2);
  const [Sv, Ev] = v.shape.slice(-2);
  if (Ek !== E || Sv !== S) {
    throw new ShapeError(
      `${op}: q ${formatShape(q.shape)}, k ${formatShape(k.shape)}, v ${formatShape(v.shape)} do not fit ` +
        `(expected q (…, L, E), k (…, S, E), v (…, S, Ev))`,
    );
  }
  const batch = broadcastShapes(broadcastShapes(q.shape.slice(0, -2), k.shape.slice(0, -2), op), v.shape.slice(0, -2), op);
  return { batch, L, S, E, Ev, scale: checkOptions(op, q.dtype, batch, L, S, E, options) };
}

/** Checks the mask, dropout and scale options of a call with these sizes; returns the scale. */
function checkOptions(op: string, dtype: Tensor['dtype'], batch: number[], L: number, S: number, E: number, options: ScaledDotProductAttentionOptions): number {
  const mask = options.attnMask ?? null;
  if (mask !== null) {
    checkTensor(op, mask);
    if (options.isCausal) throw new ShapeError(`${op}: give either attnMask or isCausal, not both`);
    if (mask.dtype !== 'bool' && mask.dtype !== dtype) {
      throw new DTypeError(`${op}: attnMask must be bool or of q's dtype ${dtype}, got ${mask.dtype}`);
    }
    const scores = [...batch, L, S];
    let fits = mask.ndim <= scores.length;
    if (fits) {
      try {
        fits = sameShape(broadcastShapes(mask.shape, scores, op), scores);
      } catch {
        fits = false;
      }
    }
    if (!fits) throw new ShapeError(`${op}: attnMask of shape ${formatShape(mask.shape)} must broadcast to the scores' shape ${formatShape(scores)}`);
  }
  const p = options.dropoutP ?? 0;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${op}: dropoutP must be in [0, 1], got ${p}`);
  const scale = options.scale ?? 1 / Math.sqrt(E);
  if (!Number.isFinite(scale)) throw new RangeError(`${op}: scale must be a finite number, got ${scale}`);
  return scale;
}

/** The (L, S) bool mask of the keys each query may not see under isCausal (j > i). */
export function causalExclusionMask(L: number, S: number): Tensor {
  const excluded = allocate('bool', L * S);
  for (let i = 0; i < L; i++) excluded.fill(1, i * S + Math.min(i + 1, S), (i + 1) * S);
  return new Tensor(excluded, [L, S], 'bool');
}

/** The negation of a bool mask (a constant: masks carry no gradient). */
function logicalNot(mask: Tensor): Tensor {
  const src = mask.data as Uint8Array;
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] ? 0 : 1;
  return new Tensor(out, mask.shape, 'bool');
}

/** softmax(q·kᵀ·scale + mask) and its product with v, written with differentiable ops. */
function composedAttention(q: Tensor, k: Tensor, v: Tensor, g: AttentionGeometry, options: ScaledDotProductAttentionOptions): AttentionWithWeights {
  let scores = mul(matmul(q, transpose(k, -1, -2)), g.scale);
  const mask = options.attnMask ?? null;
  if (options.isCausal) scores = maskedFill(scores, causalExclusionMask(g.L, g.S), -Infinity);
  else if (mask !== null && mask.dtype === 'bool') scores = maskedFill(scores, logicalNot(mask), -Infinity);
  else if (mask !== null) scores = add(scores, mask);
  let weights = softmax(scores, -1);
  const p = options.dropoutP ?? 0;
  if (p === 1) weights = mul(weights, 0);
  else if (p > 0) {
    const keep = noGrad(() => gt(rand(weights.shape, { dtype: weights.dtype, generator: options.generator ?? defaultGenerator }), p).to(weights.dtype));
    weights = mul(weights, div(keep, 1 - p));
  }
  return { output: matmul(weights, v), weights };
}

/** The mask's geometry for the kernel: per-slice offsets and row/column strides into its contiguous data. */
function maskGeometry(mask: Tensor, batch: readonly number[], L: number, S: number): Pick<KernelGeometry, 'maskOffsets' | 'maskRowStride' | 'maskColStride'> {
  const ndim = batch.length + 2;
  const shape = [...new Array<number>(ndim - mask.ndim).fill(1), ...mask.shape];
  const strides = new Array<number>(ndim).fill(0);
  for (let d = ndim - 1, step = 1; d >= 0; d--) {
    strides[d] = shape[d] === 1 ? 0 : step;
    step *= shape[d];
  }
  const count = numelOf(batch);
  const maskOffsets = new Int32Array(count);
  for (let b = 0; b < count; b++) {
    let rest = b;
    let offset = 0;
    for (let d = batch.length - 1; d >= 0; d--) {
      offset += (rest % batch[d]) * strides[d];
      rest = Math.floor(rest / batch[d]);
    }
    maskOffsets[b] = offset;
  }
  return { maskOffsets, maskRowStride: L === 1 ? 0 : strides[ndim - 2], maskColStride: S === 1 ? 0 : strides[ndim - 1] };
}

/** True when the fused kernel computes this call (see the file's comment). */
function fusedApplies(g: AttentionGeometry, options: ScaledDotProductAttentionOptions): boolean {
  const mask = options.attnMask ?? null;
  return !(mask !== null && mask.requiresGrad) && g.L > 0 && g.S > 0 && numelOf(g.batch) > 0;
}

/** The layout of dense (…, rows, cols) slices. */
function denseLayout(rows: number, cols: number): AttentionLayout {
  return { batchStride: rows * cols, headStride: 0, rowStride: cols };
}

/**
 * The kernel geometry of a call: its sizes, mask (causal, bool or float, broadcast over the
 * batch dims `batch`), dropout (a seed drawn from the generator when p > 0) and dense layouts
 * (callers with other layouts replace them).
 */
function kernelGeometry(g: AttentionGeometry, options: ScaledDotProductAttentionOptions): KernelGeometry {
  const mask = options.attnMask ?? null;
  const p = options.dropoutP ?? 0;
  const generator = options.generator ?? defaultGenerator;
  const geometry: KernelGeometry = {
    batch: numelOf(g.batch), L: g.L, S: g.S, E: g.E, Ev: g.Ev, scale: g.scale,
    maskKind: options.isCausal ? AttentionMaskKind.causal : AttentionMaskKind.none,
    floatMask: null, boolMask: null, maskOffsets: new Int32Array(0), maskRowStride: 0, maskColStride: 0,
    heads: 1, qLayout: denseLayout(g.L, g.E), kLayout: denseLayout(g.S, g.E), vLayout: denseLayout(g.S, g.Ev), outLayout: denseLayout(g.L, g.Ev),
    dropoutThreshold: p > 0 ? Math.round(p * 2 ** 24) : 0,
    dropoutSeedHigh: p > 0 ? generator.nextUint32() : 0,
    dropoutSeedLow: p > 0 ? generator.nextUint32() : 0,
  };
  if (mask === null) return geometry;
  const data = mask.contiguous().data;
  return {
    ...geometry,
    ...maskGeometry(mask, g.batch, g.L, g.S),
    maskKind: mask.dtype === 'bool' ? AttentionMaskKind.bool : AttentionMaskKind.float,
    floatMask: mask.dtype === 'bool' ? null : (data as FloatArray),
    boolMask: mask.dtype === 'bool' ? (data as Uint8Array) : null,
  };
}

/** The fused kernel's forward, with its backward recorded. q, k, v are made contiguous at (…batch, L/S, E/Ev). */
function fusedAttention(q: Tensor, k: Tensor, v: Tensor, g: AttentionGeometry, options: ScaledDotProductAttentionOptions): Tensor {
  const qc = expand(q, [...g.batch, g.L, g.E]).contiguous();
  const kc = expand(k, [...g.batch, g.S, g.E]).contiguous();
  const vc = expand(v, [...g.batch, g.S, g.Ev]).contiguous();
  const batch = numelOf(g.batch);
  const geometry = kernelGeometry(g, options);
  const out = allocateOutput(qc.dtype, batch * g.L * g.Ev) as FloatArray;
  const lse = allocateOutput(qc.dtype, batch * g.L) as FloatArray;
  const qd = qc.data as FloatArray;
  const kd = kc.data as FloatArray;
  const vd = vc.data as FloatArray;
  getBackend().attentionForward(qd, kd, vd, out, lse, geometry);
  const y = new Tensor(out, [...g.batch, g.L, g.Ev], qc.dtype);
  return record(y, 'scaledDotProductAttention', [qc, kc, vc], (grad) => {
    const dq = allocateOutput(qc.dtype, qd.length) as FloatArray;
    const dk = allocateOutput(qc.dtype, kd.length) as FloatArray;
    const dv = allocateOutput(qc.dtype, vd.length) as FloatArray;
    getBackend().attentionBackward(qd, kd, vd, out, lse, grad.data as FloatArray, dq, dk, dv, geometry);
    return [new Tensor(dq, qc.shape, qc.dtype), new Tensor(dk, kc.shape, qc.dtype), new Tensor(dv, vc.shape, qc.dtype)];
  }, [qc, kc, vc, y]);
}

/**
 * Attention of queries q over keys k and values v: softmax(q·kᵀ·scale + mask)·v.
 *
 * Args: q, k, v (one float dtype); options { attnMask, isCausal, dropoutP, scale, generator }
 * (see ScaledDotProductAttentionOptions; PyTorch 2's defaults: no mask, not causal, no
 * dropout, scale 1/√E).
 *
 * Shape: q (…, L, E), k (…, S, E), v (…, S, Ev) → (…, L, Ev); batch dims (…, e.g. N, heads)
 * broadcast; attnMask broadcasts to (…, L, S).
 *
 * Example:
 * ```ts
 * const q = randn([2, 8, 16, 64]); // (batch, heads, L, E)
 * const y = F.scaledDotProductAttention(q, q, q, { isCausal: true }); // [2, 8, 16, 64]
 * ```
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: ScaledDotProductAttentionOptions = {}): Tensor {
  const g = checkAttention('scaledDotProductAttention', q, k, v, options);
  return fusedApplies(g, options) ? fusedAttention(q, k, v, g, options) : composedAttention(q, k, v, g, options).output;
}

/**
 * scaledDotProductAttention that also returns the attention weights (…, L, S), for
 * MultiheadAttention's needWeights and for plotting alignments. Stores the L×S weights.
 *
 * Args, Shape: as scaledDotProductAttention; weights (…, L, S).
 *
 * Example: `const { output, weights } = scaledDotProductAttentionWithWeights(q, k, v);`
 */
export function scaledDotProductAttentionWithWeights(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: ScaledDotProductAttentionOptions = {},
): AttentionWithWeights {
  const g = checkAttention('scaledDotProductAttentionWithWeights', q, k, v, options);
  return composedAttention(q, k, v, g, options);
}

/**
 * Multi-head self-attention over a packed projection: qkv (N, L, 3·E) holds q, k and v side by
 * side (MultiheadAttention's in_proj output), each split into numHeads heads of d = E/numHeads
 * columns. The fused kernel reads every head in place and writes the context with the heads
 * side by side, (N, L, E), ready for the output projection; the backward writes d(qkv) into one
 * array. No head split or merge copies. options as scaledDotProductAttention's (attnMask
 * broadcastable to (N, numHeads, L, L); scale 1/√d by default).
 *
 * Example: `const ctx = packedSelfAttention(F.linear(x, w, b), 8, { isCausal: true }); // x (N, L, E)`
 */
export function packedSelfAttention(qkv: Tensor, numHeads: number, options: ScaledDotProductAttentionOptions = {}): Tensor {
  const op = 'packedSelfAttention';
  checkTensor(op, qkv);
  const [N, L, width] = qkv.shape;
  if (qkv.ndim !== 3 || width % (3 * numHeads) !== 0 || !Number.isInteger(numHeads) || numHeads < 1) {
    throw new ShapeError(`${op}: qkv of shape ${formatShape(qkv.shape)} must be (N, L, 3·E) with E divisible by numHeads=${numHeads}`);
  }
  if (qkv.dtype !== 'float32' && qkv.dtype !== 'float64') throw new DTypeError(`${op}: qkv must be float32 or float64, got ${qkv.dtype}`);
  const E = width / 3;
  const d = E / numHeads;
  const batch = [N, numHeads];
  const g: AttentionGeometry = { batch, L, S: L, E: d, Ev: d, scale: checkOptions(op, qkv.dtype, batch, L, L, d, options) };
  if (!fusedApplies(g, options)) throw new ShapeError(`${op}: needs N, L > 0 and a mask that does not require grad, got qkv ${formatShape(qkv.shape)}`);
  const qc = qkv.contiguous();
  const data = qc.data as FloatArray;
  const packed: AttentionLayout = { batchStride: L * width, headStride: d, rowStride: width };
  const geometry: KernelGeometry = { ...kernelGeometry(g, options), heads: numHeads, qLayout: packed, kLayout: packed, vLayout: packed, outLayout: { batchStride: L * E, headStride: d, rowStride: E } };
  const parts = (x: FloatArray): [FloatArray, FloatArray, FloatArray] => [x, x.subarray(E), x.subarray(2 * E)];
  const out = allocateOutput(qc.dtype, N * L * E) as FloatArray;
  const lse = allocateOutput(qc.dtype, N * numHeads * L) as FloatArray;
  getBackend().attentionForward(...parts(data), out, lse, geometry);
  const y = new Tensor(out, [N, L, E], qc.dtype);
  return record(y, op, [qc], (grad) => {
    const dqkv = allocateOutput(qc.dtype, data.length) as FloatArray;
    getBackend().attentionBackward(...parts(data), out, lse, grad.data as FloatArray, ...parts(dqkv), geometry);
    return [new Tensor(dqkv, qc.shape, qc.dtype)];
  }, [qc, y]);
}
