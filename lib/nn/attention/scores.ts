/**
 * The lecture's attention score functions as modules: Bahdanau's additive score
 * `vᵀ tanh(W_q s + W_k h)` (= `vᵀ tanh(W[s; h])`), the dot score `sᵀh`, the scaled dot score
 * `sᵀh/√n`, Luong's general score `sᵀWh` (with Luong's local attention as an option) and the
 * content-based cosine score of Neural Turing Machines. Each turns a query (a decoder state s)
 * and the keys/values of a source sequence (encoder states h) into alignment weights (a softmax
 * of the scores over the source positions) and a context vector (the weighted sum of values).
 */
import { checkArgs, checkOptions, GENERATOR, LAYER_SIZE } from '../../validate.js';
import { ShapeError } from '../../errors.js';
import type { Generator } from '../../random.js';
import { formatShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { arange, ones } from '../../ops/creation.js';
import { maskedFill } from '../../ops/elementwise.js';
import { Module } from '../module.js';
import { Linear } from '../layers/linear.js';

/** What every score module returns. */
export interface AttentionOutput {
  /** The weighted sum of the values: (N, Dv), or (N, T, Dv) for T queries per sequence. */
  context: Tensor;
  /** The alignment weights over the source positions: (N, S), or (N, T, S); rows sum to 1. */
  weights: Tensor;
}

/** Options of a score module's forward. */
export interface AttentionCallOptions {
  /** The values to average; the keys when omitted. Shape (N, S, Dv). */
  values?: Tensor;
  /**
   * Bool (N, S): true marks a padded source position, which gets weight 0 (PyTorch's
   * key_padding_mask convention). A row with every position masked gives NaN weights.
   */
  mask?: Tensor;
}

/**
 * The common part of every score module: checks shapes, lifts a single query per sequence
 * to (N, 1, Dq), computes scores (N, T, S) with the subclass's `score`, masks, softmaxes and
 * averages the values.
 *
 * Example (a new score function: scores are query·key summed over features, as dot attention):
 * ```ts
 * class SumDot extends nn.AttentionScore {
 *   override score(query: Tensor, keys: Tensor): Tensor { return query.matmul(keys.transpose(1, 2)); } // (N, T, S)
 * }
 * const { context, weights } = new SumDot().forward(randn([2, 8]), randn([2, 5, 8])); // (2, 8), (2, 5)
 * ```
 */
export abstract class AttentionScore extends Module {
  constructor() {
    super();
    if (new.target === AttentionScore) throw new TypeError('AttentionScore: the class is abstract; use AdditiveAttention, DotAttention or CosineAttention');
  }

  /** The raw scores (N, T, S) of queries (N, T, Dq) against keys (N, S, Dk). */
  abstract score(query: Tensor, keys: Tensor): Tensor;

  /**
   * Args: query (N, Dq) or (N, T, Dq); keys (N, S, Dk); options.values (N, S, Dv), default the
   * keys; options.mask bool (N, S), true = padding.
   *
   * Shape: returns context (N, Dv) / (N, T, Dv) and weights (N, S) / (N, T, S).
   */
  override forward(query: Tensor, keys: Tensor, options: AttentionCallOptions = {}): AttentionOutput {
    const name = this.constructor.name;
    checkArgs(name, [['query', query, 'tensor'], ['keys', keys, 'tensor']]);
    checkOptions(name, options, { values: 'tensor?', mask: 'tensor?' });
    const values = options.values ?? keys;
    if ((query.ndim !== 2 && query.ndim !== 3) || keys.ndim !== 3 || values.ndim !== 3) {
      throw new ShapeError(`${name}: expected query (N, Dq) or (N, T, Dq), keys (N, S, Dk) and values (N, S, Dv), got ${formatShape(query.shape)}, ${formatShape(keys.shape)} and ${formatShape(values.shape)}`);
    }
    if (query.shape[0] !== keys.shape[0] || values.shape[0] !== keys.shape[0] || values.shape[1] !== keys.shape[1]) {
      throw new ShapeError(`${name}: query ${formatShape(query.shape)}, keys ${formatShape(keys.shape)} and values ${formatShape(values.shape)} must share N, and keys and values S`);
    }
    const single = query.ndim === 2;
    const q = single ? query.unsqueeze(1) : query;
    let scores = this.score(q, keys);
    const mask = options.mask ?? undefined;
    if (mask !== undefined) {
      const [n, s] = [keys.shape[0], keys.shape[1]];
      if (mask.dtype !== 'bool' || mask.ndim !== 2 || mask.shape[0] !== n || mask.shape[1] !== s) {
        throw new ShapeError(`${name}: mask must be a bool tensor of shape (N, S) = ${formatShape([n, s])}, got ${mask.dtype} ${formatShape(mask.shape)}`);
      }
      scores = maskedFill(scores, mask.unsqueeze(1), -Infinity);
    }
    const weights = this.align(scores, q, mask);
    const context = weights.matmul(values);
    return single ? { context: context.squeeze(1), weights: weights.squeeze(1) } : { context, weights };
  }

  /** Scores (N, T, S) with padding already at −∞ → weights: a softmax over S (local attention overrides it). */
  protected align(scores: Tensor, _query: Tensor, _mask: Tensor | undefined): Tensor {
    return scores.softmax(-1);
  }
}

/** Options of AdditiveAttention. */
export interface AdditiveAttentionOptions {
  /** Size of the tanh layer; default keyDim. */
  hiddenDim?: number;
  /** Generator for the initial weights. */
  generator?: Generator;
}

/**
 * Bahdanau's additive (concat) score `vᵀ tanh(W[s; h])`, written as
 * `vᵀ tanh(W_q s + W_k h + b)` so the key projection is computed once per source sequence.
 *
 * Args: queryDim (Dq), keyDim (Dk); options.hiddenDim (default Dk).
 *
 * Shape: see {@link AttentionScore.forward}. Parameters: queryProj.weight (H, Dq), keyProj.weight
 * (H, Dk), keyProj.bias (H), v.weight (1, H).
 *
 * Example:
 * ```ts
 * const att = new nn.AdditiveAttention(32, 64);
 * const { context, weights } = att.forward(decoderState, encoderStates, { mask: padMask });
 * ```
 */
export class AdditiveAttention extends AttentionScore {
  queryProj: Linear;
  keyProj: Linear;
  v: Linear;

  constructor(
    readonly queryDim: number,
    readonly keyDim: number,
    options: AdditiveAttentionOptions = {},
  ) {
    super();
    checkArgs('AdditiveAttention', [['queryDim', queryDim, LAYER_SIZE], ['keyDim', keyDim, LAYER_SIZE]]);
    checkOptions('AdditiveAttention', options, { hiddenDim: LAYER_SIZE, generator: GENERATOR });
    const hidden = options.hiddenDim ?? keyDim;
    this.queryProj = new Linear(queryDim, hidden, { bias: false, generator: options.generator });
    this.keyProj = new Linear(keyDim, hidden, { generator: options.generator });
    this.v = new Linear(hidden, 1, { bias: false, generator: options.generator });
  }

  override score(query: Tensor, keys: Tensor): Tensor {
    const q = this.queryProj.forward(query).unsqueeze(2); // (N, T, 1, H)
    const k = this.keyProj.forward(keys).unsqueeze(1); // (N, 1, S, H)
    return this.v.forward(q.add(k).tanh()).squeeze(-1); // (N, T, S)
  }

  override extraRepr(): string {
    return `queryDim=${this.queryDim}, keyDim=${this.keyDim}`;
  }
}

/** Luong's local attention: only a window of 2D+1 source positions around p_t is attended. */
export interface LocalAttentionOptions {
  /** Half-width D of the window; the Gaussian's σ is D/2. */
  window: number;
  /**
   * 'predictive' (local-p, default): p_t = S·sigmoid(v_pᵀ tanh(W_p s_t)), learned, and the
   * weights are multiplied by exp(−(j − p_t)²/(2σ²)). 'monotonic' (local-m): p_t = t, the index
   * of the query, with no Gaussian.
   */
  mode?: 'predictive' | 'monotonic';
  /** Size of the position predictor's tanh layer (local-p); default queryDim. */
  hiddenDim?: number;
}

/** Options of DotAttention. */
export interface DotAttentionOptions {
  /** Divide the scores by √n (n = the size of the dot product). Default false. */
  scaled?: boolean;
  /** Luong's general score sᵀWh with a learned W (queryDim × keyDim). Default false. */
  general?: boolean;
  /** Query size; needed with `general` or `local` (else the keys' size must match). */
  queryDim?: number;
  /** Key size; needed with `general`. */
  keyDim?: number;
  /** Luong's local attention; see {@link LocalAttentionOptions}. */
  local?: LocalAttentionOptions;
  /** Generator for the initial weights. */
  generator?: Generator;
}

/**
 * The dot score `sᵀh`, the scaled dot score `sᵀh/√n` (`scaled: true`) and Luong's general
 * score `sᵀWh` (`general: true`), with Luong's local attention (predictive or monotonic
 * window) as an option.
 *
 * Shape: see {@link AttentionScore.forward}. Parameters: W.weight (Dq, Dk) with `general`;
 * predictor.weight (Hp, Dq) and vp.weight (1, Hp) with `local.mode = 'predictive'`.
 *
 * Example:
 * ```ts
 * const att = new nn.DotAttention({ general: true, queryDim: 32, keyDim: 64, local: { window: 2 } });
 * const { context, weights } = att.forward(s, h);   // s (N, 32), h (N, S, 64)
 * ```
 */
export class DotAttention extends AttentionScore {
  W: Linear | null;
  predictor: Linear | null;
  vp: Linear | null;
  readonly scaled: boolean;
  readonly local: Required<LocalAttentionOptions> | null;

  constructor(options: DotAttentionOptions = {}) {
    super();
    checkOptions('DotAttention', options, { scaled: 'boolean', general: 'boolean', queryDim: LAYER_SIZE, keyDim: LAYER_SIZE, local: 'object', generator: GENERATOR });
    this.scaled = options.scaled ?? false;
    const g = options.generator;
    if (options.general === true && (options.queryDim === undefined || options.keyDim === undefined)) {
      throw new ShapeError('DotAttention: the general score needs queryDim and keyDim');
    }
    this.W = options.general === true ? new Linear(options.keyDim as number, options.queryDim as number, { bias: false, generator: g }) : null;
    const local = options.local;
    if (local !== undefined && !(Number.isInteger(local.window) && local.window >= 1)) {
      throw new RangeError(`DotAttention: local.window must be an integer ≥ 1, got ${local.window}`);
    }
    const predictive = local !== undefined && (local.mode ?? 'predictive') === 'predictive';
    if (predictive && options.queryDim === undefined) throw new ShapeError('DotAttention: predictive local attention needs queryDim');
    const hidden = local?.hiddenDim ?? options.queryDim ?? 0;
    this.local = local === undefined ? null : { window: local.window, mode: local.mode ?? 'predictive', hiddenDim: hidden };
    this.predictor = predictive ? new Linear(options.queryDim as number, hidden, { bias: false, generator: g }) : null;
    this.vp = predictive ? new Linear(hidden, 1, { bias: false, generator: g }) : null;
  }

  override score(query: Tensor, keys: Tensor): Tensor {
    const k = this.W === null ? keys : this.W.forward(keys); // (N, S, Dq)
    if (k.shape[2] !== query.shape[2]) {
      throw new ShapeError(`${this.constructor.name}: query ${formatShape(query.shape)} and keys ${formatShape(k.shape)} need the same feature size for a dot score`);
    }
    const scores = query.matmul(k.transpose(1, 2)); // (N, T, S)
    return this.scaled ? scores.div(Math.sqrt(query.shape[2])) : scores;
  }

  /**
   * Local attention: a softmax over the window |j − p_t| ≤ D only, times the Gaussian
   * exp(−(j − p_t)²/(2σ²)), σ = D/2, for local-p (Luong et al. 2015, eq. 10).
   */
  protected override align(scores: Tensor, query: Tensor, mask: Tensor | undefined): Tensor {
    if (this.local === null) return scores.softmax(-1);
    const [n, t, s] = scores.shape;
    const positions = arange(0, s, 1, { dtype: scores.dtype }).reshape([1, 1, s]);
    let center: Tensor; // p_t: (N, T, 1)
    if (this.predictor !== null && this.vp !== null) {
      // Source lengths (N, 1, 1): p_t ∈ [0, length].
      const lengths = mask === undefined ? s : maskedFill(ones(mask.shape, { dtype: scores.dtype }), mask, 0).sum(-1, true).unsqueeze(-1);
      center = this.vp.forward(this.predictor.forward(query).tanh()).sigmoid().mul(lengths);
    } else {
      center = arange(0, t, 1, { dtype: scores.dtype }).reshape([1, t, 1]).expand([n, t, 1]);
    }
    const distance = positions.sub(center); // (N, T, S)
    const weights = maskedFill(scores, distance.abs().gt(this.local.window), -Infinity).softmax(-1);
    if (this.predictor === null) return weights;
    const sigma = this.local.window / 2;
    return weights.mul(distance.square().div(-2 * sigma * sigma).exp());
  }

  override extraRepr(): string {
    const local = this.local === null ? '' : `, local=${this.local.mode}(window=${this.local.window})`;
    return `scaled=${this.scaled}, general=${this.W !== null}${local}`;
  }
}

/** Options of CosineAttention. */
export interface CosineAttentionOptions {
  /** Key strength β (the NTM's sharpening): scores are β·cos(s, h). Default 1. */
  beta?: number;
  /** Guards the norms against zero vectors. Default 1e-8. */
  eps?: number;
}

/**
 * The content-based score of Neural Turing Machines: `β · cos(s, h)`, the cosine similarity of
 * the query and each key (both of the same size), sharpened by β.
 *
 * Shape: see {@link AttentionScore.forward}. No parameters.
 *
 * Example: `new nn.CosineAttention({ beta: 5 }).forward(s, h)` with s (N, D), h (N, S, D).
 */
export class CosineAttention extends AttentionScore {
  readonly beta: number;
  readonly eps: number;

  constructor(options: CosineAttentionOptions = {}) {
    super();
    checkOptions('CosineAttention', options, { beta: { number: {} }, eps: { number: {} } });
    this.beta = options.beta ?? 1;
    this.eps = options.eps ?? 1e-8;
  }

  override score(query: Tensor, keys: Tensor): Tensor {
    if (keys.shape[2] !== query.shape[2]) {
      throw new ShapeError(`CosineAttention: query ${formatShape(query.shape)} and keys ${formatShape(keys.shape)} need the same feature size`);
    }
    const unit = (x: Tensor): Tensor => x.div(x.square().sum(-1, true).add(this.eps * this.eps).sqrt());
    return unit(query).matmul(unit(keys).transpose(1, 2)).mul(this.beta);
  }

  override extraRepr(): string {
    return `beta=${this.beta}`;
  }
}
