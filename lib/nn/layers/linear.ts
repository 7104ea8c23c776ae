/**
 * Layers that map features linearly or reshape them: Identity, Linear, Bilinear, Flatten,
 * Unflatten, Embedding. Parameter shapes, names and default initialisations are PyTorch's.
 */
import { BIAS_OPTIONS, checkArgs, checkOptions, GENERATOR, LAYER_SIZE } from '../../validate.js';
import { ShapeError } from '../../errors.js';
import { fillWith } from '../../dtype.js';
import { int32Indices } from '../../ops/indices.js';
import type { Generator } from '../../random.js';
import { formatShape, normalizeDim, numelOf } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { zeros } from '../../ops/creation.js';
import { flatten, reshape } from '../../ops/shape.js';
import * as F from '../functional.js';
import * as init from '../init.js';
import { Module, Parameter } from '../module.js';

/** Options of layers with an optional bias. */
export interface LinearOptions {
  /** Learn an additive bias. Default true. */
  bias?: boolean;
  /** Generator for the initial weights; the global one when omitted. */
  generator?: Generator;
}

/**
 * Returns its input unchanged (a placeholder, e.g. to remove a layer from a model).
 *
 * Example: `model.fc = new nn.Identity()`.
 */
export class Identity extends Module {
  override forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * y = x·Wᵀ + b.
 *
 * Args: inFeatures, outFeatures; options.bias (default true), options.generator.
 *
 * Shape: (…, inFeatures) → (…, outFeatures). Parameters: weight (out, in), bias (out).
 * Both start as U(−1/√in, 1/√in), PyTorch's default (kaiming uniform with a = √5).
 *
 * Example: `new nn.Linear(784, 10).forward(randn([32, 784]))` has shape [32, 10].
 */
export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    checkArgs('Linear', [['inFeatures', inFeatures, LAYER_SIZE], ['outFeatures', outFeatures, LAYER_SIZE]]);
    checkOptions('Linear', options, BIAS_OPTIONS);
    this.weight = new Parameter(zeros([outFeatures, inFeatures]));
    this.bias = options.bias ?? true ? new Parameter(zeros([outFeatures])) : null;
    this.resetParameters(options.generator);
  }

  /** Redraws the weights from PyTorch's default distribution. */
  resetParameters(generator?: Generator): void {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5), generator });
    if (this.bias !== null) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      init.uniform_(this.bias, -bound, bound, { generator });
    }
  }

  override forward(x: Tensor): Tensor {
    return F.linear(checkFeatures(this, x, this.inFeatures), this.weight, this.bias);
  }

  /** One multiply–accumulate per input feature for each output element: out.numel · inFeatures. */
  override macs(_inputs: readonly unknown[], output: unknown): number {
    return (output as Tensor).numel * this.inFeatures;
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** x itself when its last dim has `expected` features; otherwise a ShapeError naming the layer. */
export function checkFeatures(layer: Module, x: Tensor, expected: number): Tensor {
  const got = x.ndim === 0 ? 0 : x.shape[x.ndim - 1];
  if (x.ndim === 0 || got !== expected) {
    throw new ShapeError(`${layerName(layer)}: input of shape ${formatShape(x.shape)} has ${got} features, expected ${expected}`);
  }
  return x;
}

/** `Linear(in=4, out=3)`-style name of a layer for error messages. */
export function layerName(layer: Module): string {
  return `${layer.constructor.name}(${layer.extraRepr()})`;
}

/**
 * y_k = x1ᵀ·W_k·x2 + b_k: a bilinear form per output feature.
 *
 * Shape: (…, in1), (…, in2) → (…, out). Parameters: weight (out, in1, in2), bias (out), both
 * U(−1/√in1, 1/√in1) as in PyTorch.
 *
 * Example: `new nn.Bilinear(2, 3, 4).forward(randn([5, 2]), randn([5, 3]))` has shape [5, 4].
 */
export class Bilinear extends Module {
  weight: Parameter;
  bias: Parameter | null;

  constructor(
    readonly in1Features: number,
    readonly in2Features: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    checkArgs('Bilinear', [['in1Features', in1Features, LAYER_SIZE], ['in2Features', in2Features, LAYER_SIZE], ['outFeatures', outFeatures, LAYER_SIZE]]);
    checkOptions('Bilinear', options, BIAS_OPTIONS);
    this.weight = new Parameter(zeros([outFeatures, in1Features, in2Features]));
    this.bias = options.bias ?? true ? new Parameter(zeros([outFeatures])) : null;
    this.resetParameters(options.generator);
  }

  /** Redraws the weights from U(−1/√in1, 1/√in1). */
  resetParameters(generator?: Generator): void {
    const bound = 1 / Math.sqrt(this.in1Features);
    init.uniform_(this.weight, -bound, bound, { generator });
    if (this.bias !== null) init.uniform_(this.bias, -bound, bound, { generator });
  }

  override forward(x1: Tensor, x2: Tensor): Tensor {
    checkFeatures(this, x1, this.in1Features);
    checkFeatures(this, x2, this.in2Features);
    return F.bilinear(x1, x2, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in1Features=${this.in1Features}, in2Features=${this.in2Features}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/**
 * Merges dims startDim..endDim (defaults 1 and −1: everything but the batch dim).
 *
 * Shape: (N, C, H, W) → (N, C·H·W) by default.
 *
 * Example: `new nn.Flatten().forward(randn([8, 16, 5, 5]))` → (8, 400).
 */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/**
 * Splits dim `dim` into the sizes `unflattenedSize` (the inverse of Flatten).
 *
 * Shape: (N, C·H·W) → (N, C, H, W) with `new nn.Unflatten(1, [C, H, W])`.
 *
 * Example: `new nn.Unflatten(1, [16, 5, 5]).forward(randn([8, 400]))` → (8, 16, 5, 5).
 */
export class Unflatten extends Module {
  constructor(
    readonly dim: number,
    readonly unflattenedSize: readonly number[],
  ) {
    super();
    checkArgs('Unflatten', [['dim', dim, { int: {} }], ['unflattenedSize', unflattenedSize, { intList: { min: 0 } }]]);
  }

  override forward(x: Tensor): Tensor {
    const d = normalizeDim(this.dim, x.ndim, 'Unflatten');
    if (numelOf(this.unflattenedSize) !== x.shape[d]) {
      throw new ShapeError(`${layerName(this)}: dim ${this.dim} of input ${formatShape(x.shape)} has size ${x.shape[d]}, not ${numelOf(this.unflattenedSize)}`);
    }
    return reshape(x, [...x.shape.slice(0, d), ...this.unflattenedSize, ...x.shape.slice(d + 1)]);
  }

  override extraRepr(): string {
    return `dim=${this.dim}, unflattenedSize=${formatShape(this.unflattenedSize)}`;
  }
}

/** Options of Embedding. */
export interface EmbeddingOptions {
  /** An index whose row stays zero at initialisation and gets no gradient (e.g. padding). */
  paddingIdx?: number;
  /** Generator for the initial weights; the global one when omitted. */
  generator?: Generator;
}

/**
 * A lookup table of numEmbeddings vectors of size embeddingDim, indexed by int32 tensors.
 *
 * Shape: indices (…) int32 → (…, embeddingDim). Parameter: weight (numEmbeddings,
 * embeddingDim), initialised N(0, 1) with the paddingIdx row zero, as PyTorch.
 *
 * Example: `new nn.Embedding(1000, 64, { paddingIdx: 0 }).forward(tokens)`.
 */
export class Embedding extends Module {
  weight: Parameter;
  readonly paddingIdx: number | undefined;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingOptions = {},
  ) {
    super();
    checkArgs('Embedding', [['numEmbeddings', numEmbeddings, LAYER_SIZE], ['embeddingDim', embeddingDim, LAYER_SIZE]]);
    checkOptions('Embedding', options, { generator: GENERATOR });
    const pad = options.paddingIdx;
    if (pad !== undefined && !(Number.isInteger(pad) && pad >= -numEmbeddings && pad < numEmbeddings)) {
      throw new RangeError(`Embedding(${numEmbeddings}, ${embeddingDim}): paddingIdx ${pad} must be an integer in [${-numEmbeddings}, ${numEmbeddings})`);
    }
    this.paddingIdx = pad === undefined || pad >= 0 ? pad : pad + numEmbeddings;
    this.weight = new Parameter(zeros([numEmbeddings, embeddingDim]));
    this.resetParameters(options.generator);
  }

  /** Redraws the weights from N(0, 1) and zeroes the padding row. */
  resetParameters(generator?: Generator): void {
    init.normal_(this.weight, 0, 1, { generator });
    if (this.paddingIdx !== undefined) fillWith(this.weight.data, 0, this.paddingIdx * this.embeddingDim, (this.paddingIdx + 1) * this.embeddingDim);
  }

  override forward(indices: Tensor): Tensor {
    return F.embedding(int32Indices(layerName(this), 'indices', indices), this.weight, this.paddingIdx);
  }

  override extraRepr(): string {
    const pad = this.paddingIdx === undefined ? '' : `, paddingIdx=${this.paddingIdx}`;
    return `${this.numEmbeddings}, ${this.embeddingDim}${pad}`;
  }
}
