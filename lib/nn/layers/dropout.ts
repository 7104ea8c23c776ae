/**
 * Dropout layers, active only in training mode (see Module.train/eval): Dropout, Dropout2d,
 * AlphaDropout, and DropConnect, the lecture's generalisation that drops a Linear layer's
 * weights instead of its outputs. Masks come from options.generator or the global generator.
 */
import { checkArgs, checkOptions, GENERATOR, LAYER_SIZE } from '../../validate.js';
import { defaultGenerator, type Generator } from '../../random.js';
import type { Tensor } from '../../tensor.js';
import * as F from '../functional.js';
import { Module } from '../module.js';
import { checkFeatures, Linear, type LinearOptions } from './linear.js';

/** Options of the dropout layers. */
export interface DropoutOptions {
  /** Generator for the masks; the global one when omitted. */
  generator?: Generator;
}

/** Shared settings of the dropout layers: p and the mask generator. */
abstract class DropoutBase extends Module {
  private readonly generator: Generator | undefined;

  constructor(
    readonly p: number,
    options: DropoutOptions,
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`${this.constructor.name}: p must be in [0, 1], got ${p}`);
    this.generator = checkOptions(this.constructor.name, options, { generator: GENERATOR }).generator;
  }

  /** The generator masks are drawn from. */
  protected get maskGenerator(): Generator {
    return this.generator ?? defaultGenerator;
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/**
 * Zeroes each element with probability p (default 0.5) during training and scales the rest
 * by 1/(1 − p); the identity in eval mode.
 *
 * Shape: any → same.
 *
 * Example: `new nn.Dropout(0.2)`.
 */
export class Dropout extends DropoutBase {
  constructor(p = 0.5, options: DropoutOptions = {}) {
    super(p, options);
  }

  override forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training, this.maskGenerator);
  }
}

/**
 * Zeroes whole channels (feature maps) with probability p during training, scaling the rest
 * by 1/(1 − p); suits convolutional features, whose neighbours are correlated.
 *
 * Shape: (N, C, H, W) or (C, H, W) → same.
 *
 * Example: `new nn.Dropout2d(0.2).forward(randn([8, 16, 10, 10]))` zeroes whole channels in training.
 */
export class Dropout2d extends DropoutBase {
  constructor(p = 0.5, options: DropoutOptions = {}) {
    super(p, options);
  }

  override forward(x: Tensor): Tensor {
    return F.dropout2d(x, this.p, this.training, this.maskGenerator);
  }
}

/**
 * Dropout that keeps SELU's self-normalising property: dropped units go to SELU's negative
 * saturation value and an affine correction keeps mean 0 and variance 1.
 *
 * Shape: any → same.
 *
 * Example: `new nn.Sequential(new nn.Linear(64, 64), new nn.SELU(), new nn.AlphaDropout(0.1))`.
 */
export class AlphaDropout extends DropoutBase {
  constructor(p = 0.5, options: DropoutOptions = {}) {
    super(p, options);
  }

  override forward(x: Tensor): Tensor {
    return F.alphaDropout(x, this.p, this.training, this.maskGenerator);
  }
}

/** Options of DropConnect: those of Linear, plus p. */
export interface DropConnectOptions extends LinearOptions {
  /** Probability of dropping each weight. Default 0.5. */
  p?: number;
}

/**
 * A Linear layer whose weights, rather than outputs, are dropped (Wan et al., 2013): during
 * training each forward draws a fresh mask over the weight matrix, zeroes each weight with
 * probability p and scales the rest by 1/(1 − p); in eval mode it is a plain Linear. The bias
 * is not dropped. Parameters and stateDict keys are Linear's, so trained weights load into a
 * plain Linear.
 *
 * Shape: (…, inFeatures) → (…, outFeatures).
 *
 * Example: `new nn.DropConnect(128, 10, { p: 0.3 })`.
 */
export class DropConnect extends Linear {
  readonly p: number;
  private readonly maskGenerator: Generator | undefined;

  constructor(inFeatures: number, outFeatures: number, options: DropConnectOptions = {}) {
    checkArgs('DropConnect', [['inFeatures', inFeatures, LAYER_SIZE], ['outFeatures', outFeatures, LAYER_SIZE]]);
    checkOptions('DropConnect', options, { p: { number: { min: 0, max: 1 } }, bias: 'boolean', generator: GENERATOR });
    super(inFeatures, outFeatures, options);
    this.p = options.p ?? 0.5;
    if (!(this.p >= 0 && this.p <= 1)) throw new RangeError(`DropConnect: p must be in [0, 1], got ${this.p}`);
    this.maskGenerator = options.generator;
  }

  override forward(x: Tensor): Tensor {
    const weight = F.dropout(this.weight, this.p, this.training, this.maskGenerator ?? defaultGenerator);
    return F.linear(checkFeatures(this, x, this.inFeatures), weight, this.bias);
  }

  override extraRepr(): string {
    return `${super.extraRepr()}, p=${this.p}`;
  }
}
