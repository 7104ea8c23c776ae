/**
 * nn.MultiheadAttention with PyTorch 1.13's parameters, initialisation, state-dict keys, masks
 * and outputs.
 */
import { DTypeError, ShapeError } from '../../errors.js';
import { Generator } from '../../random.js';
import { checkArgs, checkOptions, LAYER_SIZE } from '../../validate.js';
import { formatShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { zeros } from '../../ops/creation.js';
import { maskedFill } from '../../ops/elementwise.js';
import { cat } from '../../ops/shape.js';
import { packedSelfAttention, scaledDotProductAttention, scaledDotProductAttentionWithWeights } from '../../ops/attention.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module, Parameter } from '../module.js';
import { Linear } from '../layers/linear.js';

/** Options of MultiheadAttention (PyTorch 1.13's arguments, camelCase). */
export interface MultiheadAttentionOptions {
  /** Dropout on the attention weights during training. Default 0. */
  dropout?: number;
  /** Biases of the input and output projections. Default true. */
  bias?: boolean;
  /** Learned bias_k, bias_v (1, 1, E) appended to the keys and values. Default false. */
  addBiasKV?: boolean;
  /** Appends a zero key and value (after the projections). Default false. */
  addZeroAttn?: boolean;
  /** Key feature size; default embedDim. */
  kdim?: number;
  /** Value feature size; default embedDim. */
  vdim?: number;
  /** Inputs and outputs are (N, L, E) instead of (L, N, E). Default false. */
  batchFirst?: boolean;
  /** Generator for the initial weights and the dropout masks. */
  generator?: Generator;
}

/** Options of MultiheadAttention.forward (PyTorch 1.13's keyword arguments, camelCase). */
export interface MultiheadAttentionCallOptions {
  /**
   * (N, S) or (S,) for unbatched input: bool, true = the key is padding and is ignored; or
   * float, added to the scores.
   */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights too. Default true. */
  needWeights?: boolean;
  /**
   * (L, S) or (N·numHeads, L, S): bool, **true = NOT allowed** (PyTorch 1.13's convention, the
   * opposite of scaledDotProductAttention's), or float, added to the scores (−∞ blocks).
   */
  attnMask?: Tensor | null;
  /** Average the returned weights over the heads. Default true. */
  averageAttnWeights?: boolean;
  /**
   * A hint (PyTorch 2's is_causal): attnMask is the causal mask, so with needWeights false and
   * no key padding the fused kernel applies causality itself and skips the masked tiles (the
   * attnMask may then be omitted). Default false.
   */
  isCausal?: boolean;
}

/**
 * Multi-head attention (Vaswani et al. 2017): `concat(head_1, …, head_h) W_O` with
 * `head_i = softmax(Q W_Qi (K W_Ki)ᵀ / √d + mask) V W_Vi`, d = embedDim / numHeads.
 *
 * Args: embedDim E, numHeads; options (see {@link MultiheadAttentionOptions}).
 *
 * Shape: query (L, N, E), key (S, N, kdim), value (S, N, vdim) ((N, L, E)… with batchFirst;
 * (L, E), (S, kdim), (S, vdim) unbatched) → [output (L, N, E), weights (N, L, S) averaged over
 * heads or (N, numHeads, L, S), or null when needWeights is false].
 *
 * Parameters (PyTorch's keys and init): in_proj_weight (3E, E) xavier-uniform — or
 * q_proj_weight (E, E), k_proj_weight (E, kdim), v_proj_weight (E, vdim) when kdim or vdim
 * differ from E —, in_proj_bias (3E) zeros, bias_k, bias_v (1, 1, E) xavier-normal,
 * out_proj.weight (E, E) Linear's default, out_proj.bias zeros.
 *
 * Example:
 * ```ts
 * const mha = new nn.MultiheadAttention(256, 8, { batchFirst: true });
 * const mask = nn.Transformer.generateSquareSubsequentMask(128);
 * const [y, w] = mha.forward(x, x, x, { attnMask: mask });   // x (32, 128, 256)
 * ```
 */
export class MultiheadAttention extends Module {
  in_proj_weight: Parameter | null;
  q_proj_weight: Parameter | null;
  k_proj_weight: Parameter | null;
  v_proj_weight: Parameter | null;
  in_proj_bias: Parameter | null;
  bias_k: Parameter | null;
  bias_v: Parameter | null;
  out_proj: Linear;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly addZeroAttn: boolean;
  private readonly generator: Generator | undefined;

  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    options: MultiheadAttentionOptions = {},
  ) {
    super();
    checkArgs('MultiheadAttention', [['embedDim', embedDim, LAYER_SIZE], ['numHeads', numHeads, { int: { min: 1 } }]]);
    checkOptions('MultiheadAttention', options, {
      dropout: { number: { min: 0, max: 1 } },
      bias: 'boolean',
      addBiasKV: 'boolean',
      addZeroAttn: 'boolean',
      kdim: LAYER_SIZE,
      vdim: LAYER_SIZE,
      batchFirst: 'boolean',
      generator: { instanceOf: Generator, what: 'a Generator' },
    });
    if (!(Number.isInteger(embedDim) && Number.isInteger(numHeads) && numHeads > 0 && embedDim % numHeads === 0)) {
      throw new ShapeError(`MultiheadAttention: embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    }
    this.headDim = embedDim / numHeads;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.dropout = options.dropout ?? 0;
    this.batchFirst = options.batchFirst ?? false;
    this.addZeroAttn = options.addZeroAttn ?? false;
    this.generator = options.generator;
    const packed = this.kdim === embedDim && this.vdim === embedDim;
    const bias = options.bias ?? true;
    this.in_proj_weight = packed ? new Parameter(zeros([3 * embedDim, embedDim])) : null;
    this.q_proj_weight = packed ? null : new Parameter(zeros([embedDim, embedDim]));
    this.k_proj_weight = packed ? null : new Parameter(zeros([embedDim, this.kdim]));
    this.v_proj_weight = packed ? null : new Parameter(zeros([embedDim, this.vdim]));
    this.in_proj_bias = bias ? new Parameter(zeros([3 * embedDim])) : null;
    this.bias_k = options.addBiasKV === true ? new Parameter(zeros([1, 1, embedDim])) : null;
    this.bias_v = options.addBiasKV === true ? new Parameter(zeros([1, 1, embedDim])) : null;
    this.out_proj = new Linear(embedDim, embedDim, { bias, generator: options.generator });
    this.resetParameters(options.generator);
  }

  /** PyTorch 1.13's _reset_parameters (out_proj.weight keeps Linear's default init). */
  resetParameters(generator?: Generator): void {
    for (const w of [this.in_proj_weight, this.q_proj_weight, this.k_proj_weight, this.v_proj_weight]) {
      if (w !== null) init.xavierUniform_(w, 1, { generator });
    }
    if (this.in_proj_bias !== null) init.zeros_(this.in_proj_bias);
    if (this.out_proj.bias !== null) init.zeros_(this.out_proj.bias);
    for (const b of [this.bias_k, this.bias_v]) if (b !== null) init.xavierNormal_(b, 1, { generator });
  }

  override forward(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionCallOptions = {}): [Tensor, Tensor | null] {
    const batched = this.checkInputs(query, key, value);
    // Work batch-first: (N, L, E).
    const toBatchFirst = (x: Tensor): Tensor => (!batched ? x.unsqueeze(0) : this.batchFirst ? x : x.transpose(0, 1));
    const [q0, k0, v0] = [toBatchFirst(query), toBatchFirst(key), toBatchFirst(value)];
    const [n, l, s0] = [q0.shape[0], q0.shape[1], k0.shape[1]];
    const dtype = q0.dtype;
    const givenMask = options.attnMask ?? (options.isCausal === true ? causalMask(l, s0, dtype) : null);
    let attnMask = this.scoreMask('attnMask', givenMask, dtype, n, l, s0, false);
    let padMask = this.scoreMask('keyPaddingMask', options.keyPaddingMask ?? null, dtype, n, l, s0, true, batched);
    const dropoutP = this.training ? this.dropout : 0;
    const output = (context: Tensor): Tensor => {
      const out = this.out_proj.forward(context); // (N, L, E)
      return !batched ? out.squeeze(0) : this.batchFirst ? out : out.transpose(0, 1);
    };
    if (this.fusesPackedSelfAttention(query, key, value, options, attnMask, padMask)) {
      // One projection GEMM, the heads attended in place: no split, merge or gradient copies.
      const causal = options.isCausal === true && padMask === null;
      const mask = causal ? null : combineMasks(attnMask, padMask);
      const qkv = F.linear(q0, this.in_proj_weight as Tensor, this.in_proj_bias);
      return [output(packedSelfAttention(qkv, this.numHeads, { attnMask: mask, isCausal: causal, dropoutP, generator: this.generator })), null];
    }
    const { q, k, v } = this.project(q0, k0, v0);
    let keys = k; // (N, S, E)
    let values = v;
    if (this.bias_k !== null && this.bias_v !== null) {
      keys = cat([keys, this.bias_k.expand([n, 1, this.embedDim])], 1);
      values = cat([values, this.bias_v.expand([n, 1, this.embedDim])], 1);
      [attnMask, padMask] = [padLastWithZero(attnMask), padLastWithZero(padMask)];
    }
    if (this.addZeroAttn) {
      keys = cat([keys, zeros([n, 1, this.embedDim], { dtype: keys.dtype })], 1);
      values = cat([values, zeros([n, 1, this.embedDim], { dtype: values.dtype })], 1);
      [attnMask, padMask] = [padLastWithZero(attnMask), padLastWithZero(padMask)];
    }
    const s = keys.shape[1];
    const heads = (x: Tensor, len: number): Tensor => x.reshape([n, len, this.numHeads, this.headDim]).transpose(1, 2); // (N, h, len, d)
    const [qh, kh, vh] = [heads(q, l), heads(keys, s), heads(values, s)];
    const merge = (context: Tensor): Tensor => output(context.transpose(1, 2).reshape([n, l, this.embedDim]));
    const mask = combineMasks(attnMask, padMask);
    if (options.needWeights === false) {
      // The fused kernel (no L×S matrix stored); isCausal skips the masked tiles.
      const causal = options.isCausal === true && padMask === null && this.bias_k === null && !this.addZeroAttn;
      const context = scaledDotProductAttention(qh, kh, vh, { attnMask: causal ? null : mask, isCausal: causal, dropoutP, generator: this.generator });
      return [merge(context), null];
    }
    const { output: context, weights: kept } = scaledDotProductAttentionWithWeights(qh, kh, vh, { attnMask: mask, dropoutP, generator: this.generator });
    const out = merge(context);
    // PyTorch 1.13 returns the weights after dropout.
    let weights = kept;
    if (options.averageAttnWeights ?? true) weights = weights.mean(1);
    return [out, batched ? weights : weights.squeeze(0)];
  }

  /**
   * Whether a call takes the packed self-attention kernel: one input for query, key and value,
   * the packed in_proj_weight, no bias_k/v or zero attention, no weights returned, a non-empty
   * input and masks that need no gradient.
   */
  private fusesPackedSelfAttention(query: Tensor, key: Tensor, value: Tensor, options: MultiheadAttentionCallOptions, attnMask: Tensor | null, padMask: Tensor | null): boolean {
    const plain = this.in_proj_weight !== null && this.bias_k === null && !this.addZeroAttn && options.needWeights === false;
    const masksConstant = !(attnMask?.requiresGrad ?? false) && !(padMask?.requiresGrad ?? false);
    return plain && query === key && key === value && query.numel > 0 && masksConstant;
  }

  /** Checks ranks and sizes; returns whether the input is batched. */
  private checkInputs(query: Tensor, key: Tensor, value: Tensor): boolean {
    checkArgs('MultiheadAttention', [['query', query, 'tensor'], ['key', key, 'tensor'], ['value', value, 'tensor']]);
    const batched = query.ndim === 3;
    const rank = batched ? 3 : 2;
    const ok =
      (query.ndim === 2 || query.ndim === 3) &&
      key.ndim === rank &&
      value.ndim === rank &&
      query.shape[rank - 1] === this.embedDim &&
      key.shape[rank - 1] === this.kdim &&
      value.shape[rank - 1] === this.vdim &&
      key.shape.slice(0, -1).every((d, i) => d === value.shape[i]) &&
      (!batched || query.shape[this.batchFirst ? 0 : 1] === key.shape[this.batchFirst ? 0 : 1]);
    if (!ok) {
      const layout = this.batchFirst ? '(N, L, E), (N, S, kdim), (N, S, vdim)' : '(L, N, E), (S, N, kdim), (S, N, vdim)';
      throw new ShapeError(
        `MultiheadAttention: expected query, key, value of shapes ${layout} (or unbatched (L, E), (S, kdim), (S, vdim)) with E=${this.embedDim}, kdim=${this.kdim}, vdim=${this.vdim}; got ${formatShape(query.shape)}, ${formatShape(key.shape)}, ${formatShape(value.shape)}`,
      );
    }
    return batched;
  }

  /** The input projections: q (N, L, E), k (N, S, E), v (N, S, E). */
  private project(query: Tensor, key: Tensor, value: Tensor): { q: Tensor; k: Tensor; v: Tensor } {
    const E = this.embedDim;
    const b = this.in_proj_bias;
    const biasPart = (i: number): Tensor | null => (b === null ? null : b.narrow(0, i * E, E));
    if (this.in_proj_weight !== null) {
      const w = this.in_proj_weight;
      if (query === key && key === value) {
        const [q, k, v] = F.linear(query, w, b).chunk(3, -1);
        return { q, k, v };
      }
      return {
        q: F.linear(query, w.narrow(0, 0, E), biasPart(0)),
        k: F.linear(key, w.narrow(0, E, E), biasPart(1)),
        v: F.linear(value, w.narrow(0, 2 * E, E), biasPart(2)),
      };
    }
    return {
      q: F.linear(query, this.q_proj_weight as Tensor, biasPart(0)),
      k: F.linear(key, this.k_proj_weight as Tensor, biasPart(1)),
      v: F.linear(value, this.v_proj_weight as Tensor, biasPart(2)),
    };
  }

  /**
   * A mask as an additive float tensor broadcastable to the scores (N, h, L, S): bool true →
   * −∞, float added as is. attnMask: (L, S) or (N·h, L, S); keyPaddingMask: (N, S) or (S,).
   */
  private scoreMask(name: string, mask: Tensor | null, dtype: Tensor['dtype'], n: number, l: number, s: number, padding: boolean, batched = true): Tensor | null {
    if (mask === null) return null;
    const h = this.numHeads;
    const shapes = padding ? (batched ? [[n, s]] : [[s]]) : [[l, s], [n * h, l, s]];
    if (!shapes.some((shape) => shape.length === mask.ndim && shape.every((d, i) => d === mask.shape[i]))) {
      throw new ShapeError(`MultiheadAttention: ${name} of shape ${formatShape(mask.shape)} must be one of ${shapes.map(formatShape).join(' or ')}`);
    }
    if (mask.dtype !== 'bool' && mask.dtype !== 'float32' && mask.dtype !== 'float64') {
      throw new DTypeError(`MultiheadAttention: ${name} must be bool or float, got ${mask.dtype}`);
    }
    const additive = mask.dtype === 'bool' ? maskedFill(zeros(mask.shape, { dtype }), mask, -Infinity) : mask.to(dtype);
    if (padding) return additive.reshape([n, 1, 1, s]);
    return mask.ndim === 2 ? additive : additive.reshape([n, h, l, s]);
  }

  override extraRepr(): string {
    return `embedDim=${this.embedDim}, numHeads=${this.numHeads}, batchFirst=${this.batchFirst}`;
  }
}

/** The additive causal mask (L, S): −∞ where key j > query i. */
function causalMask(l: number, s: number, dtype: Tensor['dtype']): Tensor {
  const mask = zeros([l, s], { dtype });
  const data = mask.data as Float32Array | Float64Array;
  for (let i = 0; i < l; i++) for (let j = i + 1; j < s; j++) data[i * s + j] = -Infinity;
  return mask;
}

/** The sum of two additive masks (either may be absent), broadcasting to (N, h, L, S). */
function combineMasks(attnMask: Tensor | null, padMask: Tensor | null): Tensor | null {
  return attnMask === null ? padMask : padMask === null ? attnMask : attnMask.add(padMask);
}

/** Appends a zero column on the last dim (PyTorch's F.pad(mask, (0, 1))) of an additive mask. */
function padLastWithZero(mask: Tensor | null): Tensor | null {
  if (mask === null) return null;
  return cat([mask, zeros([...mask.shape.slice(0, -1), 1], { dtype: mask.dtype })], -1);
}
