/**
 * Layers around padding, resizing, sliding blocks and distances, as PyTorch has them:
 * the padding layers (constant, zero, reflection, replication; 1-D and 2-D), Upsample,
 * Unfold, Fold, CosineSimilarity and PairwiseDistance. None has parameters.
 */
import type { Tensor } from '../../tensor.js';
import type { Size2 } from '../../ops/conv.js';
import { fold, unfold, type FoldOptions } from '../../ops/fold.js';
import { interpolate, type InterpolateMode } from '../../ops/interpolate.js';
import { pad, type PadMode } from '../../ops/padding.js';
import { cosineSimilarity, pairwiseDistance } from '../../ops/distance.js';
import { Module } from '../module.js';
import { checkIntTuple, checkNumber, checkOptions } from '../../validate.js';

/** A padding size: one number for every side, or [left, right] (1-D) / [left, right, top, bottom] (2-D). */
export type PaddingSize = number | readonly number[];

/** Shared body of the padding layers: the pad list for `dims` padded dims and the mode. */
abstract class PadBase extends Module {
  readonly padding: readonly number[];

  constructor(
    padding: PaddingSize,
    dims: number,
    readonly mode: PadMode,
    readonly value = 0,
  ) {
    super();
    this.padding = checkIntTuple(this.constructor.name, 'padding', padding, 2 * dims);
    checkNumber(this.constructor.name, 'value', value);
  }

  override forward(x: Tensor): Tensor {
    return pad(x, this.padding, this.mode, this.value);
  }

  override extraRepr(): string {
    return `padding=[${this.padding.join(', ')}]${this.mode === 'constant' ? `, value=${this.value}` : ''}`;
  }
}

/**
 * Pads the last dim with a constant. Shape: (N, C, W) → (N, C, W + left + right).
 * Example: `new nn.ConstantPad1d([1, 2], 3.5)`.
 */
export class ConstantPad1d extends PadBase {
  constructor(padding: PaddingSize, value: number) {
    super(padding, 1, 'constant', value);
  }
}

/**
 * Pads the last two dims with a constant. Shape: (N, C, H, W) → (N, C, H + top + bottom, W + left + right).
 * Example: `new nn.ConstantPad2d(1, 0.5)`.
 */
export class ConstantPad2d extends PadBase {
  constructor(padding: PaddingSize, value: number) {
    super(padding, 2, 'constant', value);
  }
}

/** Pads the last dim with zeros. Shape as ConstantPad1d. Example: `new nn.ZeroPad1d(2)`. */
export class ZeroPad1d extends PadBase {
  constructor(padding: PaddingSize) {
    super(padding, 1, 'constant', 0);
  }
}

/** Pads the last two dims with zeros. Shape as ConstantPad2d. Example: `new nn.ZeroPad2d([1, 1, 2, 0])`. */
export class ZeroPad2d extends PadBase {
  constructor(padding: PaddingSize) {
    super(padding, 2, 'constant', 0);
  }
}

/** Mirrors the last dim at its edges (edge not repeated; padding < size). Example: `new nn.ReflectionPad1d(2)`. */
export class ReflectionPad1d extends PadBase {
  constructor(padding: PaddingSize) {
    super(padding, 1, 'reflect');
  }
}

/** Mirrors the last two dims at their edges. Example: `new nn.ReflectionPad2d(1)`. */
export class ReflectionPad2d extends PadBase {
  constructor(padding: PaddingSize) {
    super(padding, 2, 'reflect');
  }
}

/** Repeats the edge values of the last dim. Example: `new nn.ReplicationPad1d([0, 3])`. */
export class ReplicationPad1d extends PadBase {
  constructor(padding: PaddingSize) {
    super(padding, 1, 'replicate');
  }
}

/** Repeats the edge values of the last two dims. Example: `new nn.ReplicationPad2d(1)`. */
export class ReplicationPad2d extends PadBase {
  constructor(padding: PaddingSize) {
    super(padding, 2, 'replicate');
  }
}

/** Options of Upsample: exactly one of size and scaleFactor. */
export interface UpsampleOptions {
  /** Output spatial size: one number for every spatial dim, or one per dim. */
  size?: number | readonly number[];
  /** Multiplier of each spatial size: one number, or one per dim. */
  scaleFactor?: number | readonly number[];
  /** Default 'nearest'. */
  mode?: InterpolateMode;
  /** linear, bilinear and bicubic only (see InterpolateOptions). */
  alignCorners?: boolean;
  /** With scaleFactor: source step from the rounded output size (see InterpolateOptions). */
  recomputeScaleFactor?: boolean;
}

/**
 * Resizes the spatial dims (F.interpolate as a layer).
 *
 * Shape: (N, C, *in) → (N, C, *out).
 *
 * Example: `new nn.Upsample({ scaleFactor: 2, mode: 'bilinear' })`.
 */
export class Upsample extends Module {
  readonly options: UpsampleOptions;

  constructor(options: UpsampleOptions) {
    super();
    this.options = checkOptions('Upsample', options);
  }

  override forward(x: Tensor): Tensor {
    return interpolate(x, this.options);
  }

  override extraRepr(): string {
    const { size, scaleFactor, mode = 'nearest' } = this.options;
    return size !== undefined ? `size=${String(size)}, mode=${mode}` : `scaleFactor=${String(scaleFactor)}, mode=${mode}`;
  }
}

/**
 * Extracts sliding local blocks (F.unfold as a layer). Shape: (N, C, H, W) → (N, C·kh·kw, L).
 * Example: `new nn.Unfold(3, { padding: 1 })`.
 */
export class Unfold extends Module {
  constructor(
    readonly kernelSize: Size2,
    readonly options: FoldOptions = {},
  ) {
    super();
    checkOptions('Unfold', options);
  }

  override forward(x: Tensor): Tensor {
    return unfold(x, this.kernelSize, this.options);
  }
}

/**
 * Sums sliding local blocks into an image (F.fold as a layer). Shape: (N, C·kh·kw, L) → (N, C, H, W).
 * Example: `new nn.Fold([4, 5], 2)`.
 */
export class Fold extends Module {
  constructor(
    readonly outputSize: Size2,
    readonly kernelSize: Size2,
    readonly options: FoldOptions = {},
  ) {
    super();
  }

  override forward(x: Tensor): Tensor {
    return fold(x, this.outputSize, this.kernelSize, this.options);
  }
}

/**
 * Cosine similarity along `dim` (default 1), eps default 1e-8.
 * Shape: (N, D), (N, D) → (N). Example: `new nn.CosineSimilarity(1)`.
 */
export class CosineSimilarity extends Module {
  constructor(
    readonly dim = 1,
    readonly eps = 1e-8,
  ) {
    super();
  }

  override forward(x1: Tensor, x2: Tensor): Tensor {
    return cosineSimilarity(x1, x2, this.dim, this.eps);
  }
}

/**
 * The p-norm of x1 − x2 + eps along the last dim (defaults p 2, eps 1e-6, keepdim false).
 * Shape: (N, D), (N, D) → (N). Example: `new nn.PairwiseDistance(1)`.
 */
export class PairwiseDistance extends Module {
  constructor(
    readonly p = 2,
    readonly eps = 1e-6,
    readonly keepdim = false,
  ) {
    super();
  }

  override forward(x1: Tensor, x2: Tensor): Tensor {
    return pairwiseDistance(x1, x2, this.p, this.eps, this.keepdim);
  }
}
