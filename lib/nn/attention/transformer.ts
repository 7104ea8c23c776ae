/**
 * The Transformer (Vaswani et al. 2017) with PyTorch 1.13's modules, arguments, submodule
 * names and initialisation: TransformerEncoderLayer, TransformerDecoderLayer,
 * TransformerEncoder, TransformerDecoder and Transformer.
 */
import { KilnError, ShapeError } from '../../errors.js';
import { Generator } from '../../random.js';
import { checkArgs, checkOptions, LAYER_SIZE, type ArgRule } from '../../validate.js';
import type { Tensor } from '../../tensor.js';
import { full } from '../../ops/creation.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module } from '../module.js';
import { ModuleList } from '../containers.js';
import { deepCopy } from '../copy.js';
import { Linear } from '../layers/linear.js';
import { Dropout } from '../layers/dropout.js';
import { LayerNorm } from '../layers/normalization.js';
import { MultiheadAttention } from './multihead.js';

/** The feed-forward activation: PyTorch's 'relu' (default) or 'gelu', or any function. */
export type TransformerActivation = 'relu' | 'gelu' | ((x: Tensor) => Tensor);

/** Options of the Transformer layers (PyTorch 1.13's arguments, camelCase). */
export interface TransformerLayerOptions {
  /** Hidden size of the feed-forward block. Default 2048. */
  dimFeedforward?: number;
  /** Dropout probability (attention weights, residual branches, feed-forward). Default 0.1. */
  dropout?: number;
  /** Default 'relu'. */
  activation?: TransformerActivation;
  /** LayerNorm eps. Default 1e-5. */
  layerNormEps?: number;
  /** (N, L, E) instead of (L, N, E). Default false. */
  batchFirst?: boolean;
  /** Pre-norm (LayerNorm before each block) instead of post-norm. Default false. */
  normFirst?: boolean;
  /** Generator for the initial weights and dropout masks. */
  generator?: Generator;
}

/** Masks of an encoder (layer) call. */
export interface EncoderCallOptions {
  /** (L, L) or (N·nhead, L, L); bool true = not allowed, or float added. */
  mask?: Tensor | null;
  /** (N, L); bool true = padding. */
  srcKeyPaddingMask?: Tensor | null;
  /** A hint (PyTorch 2's is_causal): `mask` is the causal mask (or absent and meant causal); lets the fused kernel skip masked tiles. */
  isCausal?: boolean;
}

/** Masks of a decoder (layer) call. */
export interface DecoderCallOptions {
  /** Self-attention mask (T, T), e.g. Transformer.generateSquareSubsequentMask(T). */
  tgtMask?: Tensor | null;
  /** Cross-attention mask (T, S). */
  memoryMask?: Tensor | null;
  /** (N, T); bool true = padding. */
  tgtKeyPaddingMask?: Tensor | null;
  /** (N, S); bool true = padding. */
  memoryKeyPaddingMask?: Tensor | null;
  /** A hint (PyTorch 2's tgt_is_causal): tgtMask is the causal mask (or absent and meant causal). */
  tgtIsCausal?: boolean;
}

function activationFn(activation: TransformerActivation): (x: Tensor) => Tensor {
  if (typeof activation === 'function') return activation;
  if (activation === 'relu') return F.relu;
  if (activation === 'gelu') return (x) => F.gelu(x);
  throw new KilnError(`Transformer: activation should be 'relu' or 'gelu' or a function, not '${String(activation)}'`);
}

/**
 * One encoder layer: self-attention and a feed-forward block, each with dropout, a residual
 * connection and LayerNorm (after the sum, or before the block with normFirst).
 *
 * Args: dModel, nhead; options (see {@link TransformerLayerOptions}).
 *
 * Shape: src (L, N, E) ((N, L, E) with batchFirst) → same.
 * Submodules (PyTorch's keys): self_attn, linear1 (E → ff), dropout, linear2 (ff → E), norm1,
 * norm2, dropout1, dropout2.
 *
 * Example:
 * ```ts
 * const layer = new nn.TransformerEncoderLayer(256, 8, { dimFeedforward: 1024, batchFirst: true });
 * const y = layer.forward(x);   // x (32, 128, 256)
 * ```
 */
export class TransformerEncoderLayer extends Module {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  readonly normFirst: boolean;
  readonly activation: (x: Tensor) => Tensor;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    checkLayerArgs('TransformerEncoderLayer', dModel, nhead, options);
    const p = options.dropout ?? 0.1;
    const g = options.generator;
    const ff = options.dimFeedforward ?? 2048;
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst: options.batchFirst, generator: g });
    this.linear1 = new Linear(dModel, ff, { generator: g });
    this.dropout = new Dropout(p, { generator: g });
    this.linear2 = new Linear(ff, dModel, { generator: g });
    this.normFirst = options.normFirst ?? false;
    this.norm1 = new LayerNorm(dModel, { eps: options.layerNormEps ?? 1e-5 });
    this.norm2 = new LayerNorm(dModel, { eps: options.layerNormEps ?? 1e-5 });
    this.dropout1 = new Dropout(p, { generator: g });
    this.dropout2 = new Dropout(p, { generator: g });
    this.activation = activationFn(options.activation ?? 'relu');
  }

  override forward(src: Tensor, options: EncoderCallOptions = {}): Tensor {
    const sa = (x: Tensor): Tensor =>
      this.dropout1.forward(this.self_attn.forward(x, x, x, { attnMask: options.mask, keyPaddingMask: options.srcKeyPaddingMask, needWeights: false, isCausal: options.isCausal })[0]);
    const ffBlock = (x: Tensor): Tensor => this.dropout2.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
    if (this.normFirst) {
      const x = src.add(sa(this.norm1.forward(src)));
      return x.add(ffBlock(this.norm2.forward(x)));
    }
    const x = this.norm1.forward(src.add(sa(src)));
    return this.norm2.forward(x.add(ffBlock(x)));
  }
}

/**
 * One decoder layer: masked self-attention, attention over the encoder's output (memory) and a
 * feed-forward block, each with dropout, a residual connection and LayerNorm.
 *
 * Args: dModel, nhead; options (see {@link TransformerLayerOptions}).
 *
 * Shape: tgt (T, N, E), memory (S, N, E) ((N, T, E), (N, S, E) with batchFirst) → (T, N, E).
 * Submodules (PyTorch's keys): self_attn, multihead_attn, linear1, dropout, linear2, norm1,
 * norm2, norm3, dropout1, dropout2, dropout3.
 *
 * Example: `new nn.TransformerDecoderLayer(64, 4).forward(tgt, memory, { tgtMask })`.
 */
export class TransformerDecoderLayer extends Module {
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  readonly normFirst: boolean;
  readonly activation: (x: Tensor) => Tensor;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    checkLayerArgs('TransformerDecoderLayer', dModel, nhead, options);
    const p = options.dropout ?? 0.1;
    const g = options.generator;
    const ff = options.dimFeedforward ?? 2048;
    const eps = options.layerNormEps ?? 1e-5;
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst: options.batchFirst, generator: g });
    this.multihead_attn = new MultiheadAttention(dModel, nhead, { dropout: p, batchFirst: options.batchFirst, generator: g });
    this.linear1 = new Linear(dModel, ff, { generator: g });
    this.dropout = new Dropout(p, { generator: g });
    this.linear2 = new Linear(ff, dModel, { generator: g });
    this.normFirst = options.normFirst ?? false;
    this.norm1 = new LayerNorm(dModel, { eps });
    this.norm2 = new LayerNorm(dModel, { eps });
    this.norm3 = new LayerNorm(dModel, { eps });
    this.dropout1 = new Dropout(p, { generator: g });
    this.dropout2 = new Dropout(p, { generator: g });
    this.dropout3 = new Dropout(p, { generator: g });
    this.activation = activationFn(options.activation ?? 'relu');
  }

  override forward(tgt: Tensor, memory: Tensor, options: DecoderCallOptions = {}): Tensor {
    const sa = (x: Tensor): Tensor =>
      this.dropout1.forward(this.self_attn.forward(x, x, x, { attnMask: options.tgtMask, keyPaddingMask: options.tgtKeyPaddingMask, needWeights: false, isCausal: options.tgtIsCausal })[0]);
    const mha = (x: Tensor): Tensor =>
      this.dropout2.forward(
        this.multihead_attn.forward(x, memory, memory, { attnMask: options.memoryMask, keyPaddingMask: options.memoryKeyPaddingMask, needWeights: false })[0],
      );
    const ffBlock = (x: Tensor): Tensor => this.dropout3.forward(this.linear2.forward(this.dropout.forward(this.activation(this.linear1.forward(x)))));
    if (this.normFirst) {
      let x = tgt.add(sa(this.norm1.forward(tgt)));
      x = x.add(mha(this.norm2.forward(x)));
      return x.add(ffBlock(this.norm3.forward(x)));
    }
    let x = this.norm1.forward(tgt.add(sa(tgt)));
    x = this.norm2.forward(x.add(mha(x)));
    return this.norm3.forward(x.add(ffBlock(x)));
  }
}

/**
 * A stack of numLayers copies of an encoder layer (deep copies, as PyTorch's _get_clones),
 * then an optional final norm.
 *
 * Shape: as the layer. Submodules: layers.0 … layers.{n−1}, norm.
 *
 * Example: `new nn.TransformerEncoder(new nn.TransformerEncoderLayer(64, 4), 2).forward(x, { mask })`.
 */
export class TransformerEncoder extends Module {
  layers: ModuleList;
  norm: Module | null;

  constructor(encoderLayer: TransformerEncoderLayer, readonly numLayers: number, norm: Module | null = null) {
    super();
    checkStackArgs('TransformerEncoder', ['encoderLayer', encoderLayer, TransformerEncoderLayer], numLayers, norm);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => deepCopy(encoderLayer)));
    this.norm = norm;
  }

  override forward(src: Tensor, options: EncoderCallOptions = {}): Tensor {
    let x = src;
    for (const layer of this.layers.children()) x = (layer as TransformerEncoderLayer).forward(x, options);
    return this.norm === null ? x : (this.norm.forward(x) as Tensor);
  }
}

/**
 * A stack of numLayers copies of a decoder layer, then an optional final norm.
 *
 * Shape: as the layer. Submodules: layers.0 … layers.{n−1}, norm.
 *
 * Example: `new nn.TransformerDecoder(new nn.TransformerDecoderLayer(64, 4), 2).forward(tgt, memory, { tgtMask })`.
 */
export class TransformerDecoder extends Module {
  layers: ModuleList;
  norm: Module | null;

  constructor(decoderLayer: TransformerDecoderLayer, readonly numLayers: number, norm: Module | null = null) {
    super();
    checkStackArgs('TransformerDecoder', ['decoderLayer', decoderLayer, TransformerDecoderLayer], numLayers, norm);
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => deepCopy(decoderLayer)));
    this.norm = norm;
  }

  override forward(tgt: Tensor, memory: Tensor, options: DecoderCallOptions = {}): Tensor {
    let x = tgt;
    for (const layer of this.layers.children()) x = (layer as TransformerDecoderLayer).forward(x, memory, options);
    return this.norm === null ? x : (this.norm.forward(x) as Tensor);
  }
}

/** The most layers a Transformer stack may have (as the recurrent modules). */
const MAX_LAYERS = 65536;

/** Rules of the options every Transformer layer takes. */
const LAYER_OPTION_RULES: { readonly [K in keyof TransformerLayerOptions]: ArgRule } = {
  dimFeedforward: LAYER_SIZE,
  dropout: { number: { min: 0, max: 1 } },
  layerNormEps: { number: {} },
  batchFirst: 'boolean',
  normFirst: 'boolean',
  generator: { instanceOf: Generator, what: 'a Generator' },
};

/** Checks a Transformer layer's sizes and options, naming the layer. */
function checkLayerArgs(op: string, dModel: number, nhead: number, options: TransformerLayerOptions): void {
  checkArgs(op, [['dModel', dModel, LAYER_SIZE], ['nhead', nhead, { int: { min: 1 } }]]);
  if (dModel % nhead !== 0) throw new ShapeError(`${op}: dModel (${dModel}) must be divisible by nhead (${nhead})`);
  checkOptions(op, options, LAYER_OPTION_RULES);
}

/** Checks a Transformer stack's layer, layer count and norm, naming the stack. */
function checkStackArgs(op: string, layer: readonly [string, unknown, abstract new (...args: never[]) => unknown], numLayers: number, norm: unknown): void {
  checkArgs(op, [
    [layer[0], layer[1], { instanceOf: layer[2], what: `a ${layer[2].name}` }],
    ['numLayers', numLayers, { int: { min: 0, max: MAX_LAYERS } }],
    ['norm', norm ?? undefined, { instanceOf: Module, what: 'a Module or null' }, 'optional'],
  ]);
}

/** Options of Transformer (PyTorch 1.13's arguments, camelCase). */
export interface TransformerOptions extends TransformerLayerOptions {
  /** Default 512. */
  dModel?: number;
  /** Default 8. */
  nhead?: number;
  /** Default 6. */
  numEncoderLayers?: number;
  /** Default 6. */
  numDecoderLayers?: number;
  /** Replaces the encoder stack. */
  customEncoder?: Module;
  /** Replaces the decoder stack. */
  customDecoder?: Module;
}

/** Masks of a Transformer call (PyTorch's keyword arguments, camelCase). */
export interface TransformerCallOptions extends DecoderCallOptions {
  /** Encoder self-attention mask (S, S). */
  srcMask?: Tensor | null;
  /** (N, S); bool true = padding. */
  srcKeyPaddingMask?: Tensor | null;
}

/**
 * The encoder–decoder Transformer: encoder (with a final LayerNorm), decoder (with a final
 * LayerNorm), every parameter of rank > 1 xavier-uniform, as PyTorch 1.13.
 *
 * Shape: src (S, N, E), tgt (T, N, E) ((N, S, E), (N, T, E) with batchFirst) → (T, N, E).
 * Submodules: encoder.layers.i…, encoder.norm, decoder.layers.i…, decoder.norm.
 *
 * Example:
 * ```ts
 * const model = new nn.Transformer({ dModel: 64, nhead: 4, numEncoderLayers: 2, numDecoderLayers: 2 });
 * const y = model.forward(src, tgt, { tgtMask: nn.Transformer.generateSquareSubsequentMask(tgt.shape[0]) });
 * ```
 */
export class Transformer extends Module {
  encoder: Module;
  decoder: Module;
  readonly dModel: number;
  readonly nhead: number;
  readonly batchFirst: boolean;

  constructor(options: TransformerOptions = {}) {
    super();
    checkOptions('Transformer', options, {
      ...LAYER_OPTION_RULES,
      dModel: LAYER_SIZE,
      nhead: { int: { min: 1 } },
      numEncoderLayers: { int: { min: 0, max: MAX_LAYERS } },
      numDecoderLayers: { int: { min: 0, max: MAX_LAYERS } },
      customEncoder: { instanceOf: Module, what: 'a Module' },
      customDecoder: { instanceOf: Module, what: 'a Module' },
    });
    this.dModel = options.dModel ?? 512;
    this.nhead = options.nhead ?? 8;
    this.batchFirst = options.batchFirst ?? false;
    const eps = options.layerNormEps ?? 1e-5;
    this.encoder =
      options.customEncoder ??
      new TransformerEncoder(new TransformerEncoderLayer(this.dModel, this.nhead, options), options.numEncoderLayers ?? 6, new LayerNorm(this.dModel, { eps }));
    this.decoder =
      options.customDecoder ??
      new TransformerDecoder(new TransformerDecoderLayer(this.dModel, this.nhead, options), options.numDecoderLayers ?? 6, new LayerNorm(this.dModel, { eps }));
    for (const p of this.parameters()) if (p.ndim > 1) init.xavierUniform_(p, 1, { generator: options.generator });
  }

  override forward(src: Tensor, tgt: Tensor, options: TransformerCallOptions = {}): Tensor {
    checkArgs('Transformer', [['src', src, 'tensor'], ['tgt', tgt, 'tensor']]);
    checkOptions('Transformer', options);
    const memory = this.encoder.forward(src, { mask: options.srcMask, srcKeyPaddingMask: options.srcKeyPaddingMask }) as Tensor;
    return this.decoder.forward(tgt, memory, {
      tgtMask: options.tgtMask,
      memoryMask: options.memoryMask,
      tgtKeyPaddingMask: options.tgtKeyPaddingMask,
      memoryKeyPaddingMask: options.memoryKeyPaddingMask,
      tgtIsCausal: options.tgtIsCausal,
    }) as Tensor;
  }

  /**
   * The causal mask (sz, sz) as PyTorch: float, −∞ above the diagonal (position i may not
   * attend to j > i), 0 elsewhere.
   *
   * Example: `nn.Transformer.generateSquareSubsequentMask(3)` is [[0, −∞, −∞], [0, 0, −∞], [0, 0, 0]].
   */
  static generateSquareSubsequentMask(sz: number, options: { dtype?: 'float32' | 'float64' } = {}): Tensor {
    const mask = full([sz, sz], 0, { dtype: options.dtype ?? 'float32' });
    const data = mask.data as Float32Array | Float64Array;
    for (let i = 0; i < sz; i++) for (let j = i + 1; j < sz; j++) data[i * sz + j] = -Infinity;
    return mask;
  }
}
