/**
 * Normalization layers: BatchNorm1d/2d (running statistics, momentum, eval mode),
 * LayerNorm, GroupNorm, InstanceNorm2d. Parameter and buffer names, shapes, initial values
 * and update rules are PyTorch's (`weight`, `bias`, `running_mean`, `running_var`,
 * `num_batches_tracked`).
 */
import { checkArgs, checkIntList, checkNumberOrList, checkOptions, checkParameterSize, checkTensorArg, LAYER_SIZE } from '../../validate.js';
import { ShapeError } from '../../errors.js';
import { noGrad } from '../../autograd/grad-mode.js';
import { formatShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { ones, zeros } from '../../ops/creation.js';
import { add } from '../../ops/elementwise.js';
import * as F from '../functional.js';
import { Module, Parameter } from '../module.js';
import { layerName } from './linear.js';

/** Options of BatchNorm1d/2d and InstanceNorm2d. */
export interface BatchNormOptions {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Weight of each batch in the running statistics, or null for a cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learn a per-channel scale `weight` (ones) and shift `bias` (zeros). Default true (false for InstanceNorm2d). */
  affine?: boolean;
  /** Keep running statistics and use them in eval mode. Default true (false for InstanceNorm2d). */
  trackRunningStats?: boolean;
}

/**
 * What BatchNorm and InstanceNorm share: per-channel affine parameters and the running
 * statistics buffers, registered (as null when off) under PyTorch's names.
 */
abstract class NormBase extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly trackRunningStats: boolean;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions,
    defaults: { affine: boolean; trackRunningStats: boolean },
  ) {
    super();
    checkArgs(this.constructor.name, [['numFeatures', numFeatures, LAYER_SIZE]]);
    checkOptions(this.constructor.name, options, { eps: { number: {} }, affine: 'boolean', trackRunningStats: 'boolean' });
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    const affine = options.affine ?? defaults.affine;
    this.trackRunningStats = options.trackRunningStats ?? defaults.trackRunningStats;
    this.weight = affine ? new Parameter(ones([numFeatures])) : null;
    this.bias = affine ? new Parameter(zeros([numFeatures])) : null;
    const track = this.trackRunningStats;
    this.registerBuffer('running_mean', track ? zeros([numFeatures]) : null);
    this.registerBuffer('running_var', track ? ones([numFeatures]) : null);
    this.registerBuffer('num_batches_tracked', track ? zeros([], { dtype: 'int64' }) : null); // int64 as in PyTorch
  }

  /** The running mean (C), or null without trackRunningStats. */
  get runningMean(): Tensor | null {
    return this.getBuffer('running_mean');
  }

  /** The running (unbiased) variance (C), or null without trackRunningStats. */
  get runningVar(): Tensor | null {
    return this.getBuffer('running_var');
  }

  /** How many training batches updated the running statistics (int32 scalar), or null. */
  get numBatchesTracked(): Tensor | null {
    return this.getBuffer('num_batches_tracked');
  }

  /** Resets the running statistics to mean 0, variance 1 and no batches. */
  resetRunningStats(): void {
    this.runningMean?.copy_(0);
    this.runningVar?.copy_(1);
    this.numBatchesTracked?.copy_(0);
  }

  /** Throws unless x has `ranks` dims and numFeatures channels in dim 1. */
  protected checkInput(x: Tensor, ranks: number[], layout: string): void {
    checkTensorArg(layerName(this), 'x', x);
    if (!ranks.includes(x.ndim)) throw new ShapeError(`${layerName(this)}: expects ${layout}, got input of shape ${formatShape(x.shape)}`);
    if (x.shape[1] !== this.numFeatures) {
      throw new ShapeError(`${layerName(this)}: input of shape ${formatShape(x.shape)} has ${x.shape[1]} channels (dim 1), expected ${this.numFeatures}`);
    }
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.weight !== null}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** Batch normalization over dim 1; BatchNorm1d and BatchNorm2d differ only in the input ranks they accept. */
abstract class BatchNormBase extends NormBase {
  constructor(numFeatures: number, options: BatchNormOptions) {
    super(numFeatures, options, { affine: true, trackRunningStats: true });
  }

  /** Normalizes x (N, C, …) with the batch's statistics (training, or no running ones) or the running ones. */
  protected normalize(x: Tensor): Tensor {
    const momentum = this.training && this.trackRunningStats ? this.advanceBatchCount() : 0;
    // The buffers are null without trackRunningStats; the batch statistics are then used in eval mode too.
    return F.batchNorm(x, this.runningMean, this.runningVar, {
      weight: this.weight,
      bias: this.bias,
      training: this.training || !this.trackRunningStats,
      momentum,
      eps: this.eps,
    });
  }

  /** Counts one more training batch and returns the momentum for it (1/count when momentum is null). */
  private advanceBatchCount(): number {
    const count = this.numBatchesTracked as Tensor;
    noGrad(() => count.copy_(add(count, 1)));
    return this.momentum ?? 1 / count.item();
  }
}

/**
 * Batch normalization (Ioffe & Szegedy, 2015) of (N, C) or (N, C, L) inputs: in training,
 * each channel is normalized with the batch mean and variance and the running statistics are
 * updated (running ← (1 − momentum)·running + momentum·batch, the variance unbiased); in eval
 * mode the running statistics are used. Then y = γ·x̂ + β per channel.
 *
 * Shape: (N, C) or (N, C, L) → same. Parameters weight, bias (C); buffers running_mean,
 * running_var (C), num_batches_tracked (scalar).
 *
 * Example: `new nn.BatchNorm1d(64)`.
 */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options);
  }

  override forward(x: Tensor): Tensor {
    this.checkInput(x, [2, 3], '(N, C) or (N, C, L)');
    return this.normalize(x);
  }
}

/**
 * Batch normalization of (N, C, H, W) inputs, per channel over N, H and W; see BatchNorm1d.
 *
 * Shape: (N, C, H, W) → same.
 *
 * Example: `new nn.BatchNorm2d(32, { momentum: 0.01 })`.
 */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options);
  }

  override forward(x: Tensor): Tensor {
    this.checkInput(x, [4], '(N, C, H, W)');
    return this.normalize(x);
  }
}

/**
 * Instance normalization (Ulyanov et al., 2016) of (N, C, H, W) or unbatched (C, H, W)
 * inputs: each sample's channel normalized over H and W. By default no affine parameters and
 * no running statistics (PyTorch's defaults); with trackRunningStats, eval mode uses them.
 *
 * Shape: (N, C, H, W) or (C, H, W) → same.
 *
 * Example: `new nn.InstanceNorm2d(3, { affine: true })`.
 */
export class InstanceNorm2d extends NormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, { affine: false, trackRunningStats: false });
  }

  override forward(x: Tensor): Tensor {
    checkTensorArg(layerName(this), 'x', x);
    if (x.ndim === 3) return this.forward(x.unsqueeze(0)).squeeze(0);
    this.checkInput(x, [4], '(N, C, H, W) or (C, H, W)');
    return F.instanceNorm(x, {
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      weight: this.weight,
      bias: this.bias,
      useInputStats: this.training || !this.trackRunningStats,
      momentum: this.momentum ?? 0.1,
      eps: this.eps,
    });
  }
}

/** Options of LayerNorm. */
export interface LayerNormOptions {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Learn an elementwise scale `weight` (ones) and shift `bias` (zeros). Default true. */
  elementwiseAffine?: boolean;
  /** With elementwiseAffine, also learn the shift. Default true. */
  bias?: boolean;
}

/**
 * Layer normalization (Ba et al., 2016): each sample normalized over its last dims
 * (normalizedShape), with an elementwise affine of that shape.
 *
 * Shape: (…, *normalizedShape) → same. Parameters weight, bias (normalizedShape).
 *
 * Example: `new nn.LayerNorm(512)` or `new nn.LayerNorm([C, H, W])`.
 */
export class LayerNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly normalizedShape: readonly number[];
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = [...checkNumberOrList('LayerNorm', 'normalizedShape', normalizedShape)];
    checkIntList('LayerNorm', 'normalizedShape', this.normalizedShape, { min: 0 });
    checkParameterSize('LayerNorm', this.normalizedShape);
    checkOptions('LayerNorm', options, { eps: { number: {} }, elementwiseAffine: 'boolean', bias: 'boolean' });
    this.eps = options.eps ?? 1e-5;
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? new Parameter(ones(this.normalizedShape)) : null;
    this.bias = affine && (options.bias ?? true) ? new Parameter(zeros(this.normalizedShape)) : null;
  }

  override forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${formatShape(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.weight !== null}`;
  }
}

/** Options of GroupNorm. */
export interface GroupNormOptions {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Learn a per-channel scale `weight` (ones) and shift `bias` (zeros). Default true. */
  affine?: boolean;
}

/**
 * Group normalization (Wu & He, 2018): channels split into numGroups groups, each sample's
 * group normalized over its channels and positions; independent of the batch size.
 *
 * Shape: (N, C, …) → same, C = numChannels divisible by numGroups. Parameters weight, bias (C).
 *
 * Example: `new nn.GroupNorm(8, 64)`.
 */
export class GroupNorm extends Module {
  weight: Parameter | null;
  bias: Parameter | null;
  readonly eps: number;

  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    options: GroupNormOptions = {},
  ) {
    super();
    checkArgs('GroupNorm', [['numChannels', numChannels, LAYER_SIZE]]);
    checkOptions('GroupNorm', options, { eps: { number: {} }, affine: 'boolean' });
    if (!Number.isInteger(numGroups) || numGroups < 1 || numChannels % numGroups !== 0) {
      throw new ShapeError(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    }
    this.eps = options.eps ?? 1e-5;
    const affine = options.affine ?? true;
    this.weight = affine ? new Parameter(ones([numChannels])) : null;
    this.bias = affine ? new Parameter(zeros([numChannels])) : null;
  }

  override forward(x: Tensor): Tensor {
    checkTensorArg(layerName(this), 'x', x);
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new ShapeError(`${layerName(this)}: input of shape ${formatShape(x.shape)} must be (N, ${this.numChannels}, …)`);
    }
    return F.groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${this.eps}, affine=${this.weight !== null}`;
  }
}
