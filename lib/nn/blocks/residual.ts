/**
 * ResNet's residual blocks (He et al., 2016, "Deep Residual Learning for Image Recognition")
 * with torchvision 0.14's submodule names, so their stateDict keys match torchvision's:
 * BasicBlock (two 3×3 convolutions, expansion 1) and Bottleneck (1×1 → 3×3 → 1×1, expansion 4,
 * stride on the 3×3 as in "ResNet v1.5"; groups and widthPerGroup give ResNeXt (Xie et al.,
 * 2017) and wide ResNets (Zagoruyko & Komodakis, 2016)). Both take an optional
 * Squeeze-and-Excitation gate on the residual branch (SE-ResNet, Hu et al., 2018) and
 * stochastic depth (Huang et al., 2016).
 */
import { CHANNELS, checkArgs, checkOptions } from '../../validate.js';
import { ShapeError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { Conv2d } from '../conv.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/normalization.js';
import { Module } from '../module.js';
import { Sequential } from '../containers.js';
import { forwardFused } from '../fusion.js';
import { SqueezeExcitation } from './squeeze-excitation.js';
import { StochasticDepth } from './stochastic-depth.js';

/** Options of the residual blocks. */
export interface ResidualBlockOptions {
  /** Stride of the block's spatial convolution. Default 1. */
  stride?: number;
  /**
   * The shortcut's projection (torchvision: 1×1 conv + BatchNorm, under `downsample`). Default:
   * one is built when stride ≠ 1 or the channel count changes; pass null for none.
   */
  downsample?: Module | null;
  /** Groups of the 3×3 convolution (Bottleneck only; ResNeXt cardinality). Default 1. */
  groups?: number;
  /** Channels per group at planes = 64 (Bottleneck only; 128 for wide ResNets). Default 64. */
  widthPerGroup?: number;
  /** Squeeze channels of a Squeeze-and-Excitation gate on the branch (under `se`); none when omitted. */
  seSqueezeChannels?: number;
  /** Drop probability of the residual branch (stochastic depth, row mode, under `stochastic_depth`). Default 0 (none). */
  stochasticDepthP?: number;
}

/**
 * torchvision's shortcut projection: 1×1 conv (stride, no bias) + BatchNorm, keys `0.*` and `1.*`.
 *
 * Example: `nn.projectionShortcut(64, 128, 2)` → Sequential(Conv2d 1×1 stride 2, BatchNorm2d), keys `0.weight`, `1.weight`, …
 */
export function projectionShortcut(inPlanes: number, outPlanes: number, stride: number): Sequential {
  return new Sequential(new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false }), new BatchNorm2d(outPlanes));
}

/** The shortcut of a block: the given one, or a projection when the shape changes. */
function shortcutFor(options: ResidualBlockOptions, inPlanes: number, outPlanes: number, stride: number): Module | null {
  if (options.downsample !== undefined) return options.downsample;
  return stride !== 1 || inPlanes !== outPlanes ? projectionShortcut(inPlanes, outPlanes, stride) : null;
}

function conv3x3(inPlanes: number, outPlanes: number, stride = 1, groups = 1): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, groups, bias: false });
}

function conv1x1(inPlanes: number, outPlanes: number): Conv2d {
  return new Conv2d(inPlanes, outPlanes, 1, { bias: false });
}

/** The checked stride of a block. */
function blockStride(name: string, inPlanes: number, planes: number, options: ResidualBlockOptions): number {
  checkArgs(name, [['inPlanes', inPlanes, CHANNELS], ['planes', planes, CHANNELS]]);
  checkOptions(name, options, { stride: { number: {} }, groups: { int: { min: 1 } }, widthPerGroup: { int: { min: 1 } } });
  const stride = options.stride ?? 1;
  if (!Number.isInteger(stride) || stride < 1) throw new ShapeError(`${name}: stride must be a positive integer, got ${stride}`);
  return stride;
}

/** The optional parts after the branch (declared last in each block, so its keys follow torchvision's order), and the block's ReLU. */
interface ResidualTail {
  relu: ReLU;
  downsample: Module | null;
  se: SqueezeExcitation | null;
  stochastic_depth: StochasticDepth | null;
}

function seGate(options: ResidualBlockOptions, channels: number): SqueezeExcitation | null {
  return options.seSqueezeChannels === undefined ? null : new SqueezeExcitation(channels, options.seSqueezeChannels);
}

function dropPath(options: ResidualBlockOptions): StochasticDepth | null {
  const p = options.stochasticDepthP ?? 0;
  return p > 0 ? new StochasticDepth(p, 'row') : null;
}

/** relu(drop(se(branch)) + shortcut(x)). */
function mergeResidual(block: ResidualTail, branch: Tensor, x: Tensor): Tensor {
  let out = branch;
  if (block.se !== null) out = block.se.forward(out);
  if (block.stochastic_depth !== null) out = block.stochastic_depth.forward(out);
  const identity = block.downsample === null ? x : (block.downsample.forward(x) as Tensor);
  return block.relu.forward(out.add(identity));
}

/**
 * ResNet-18/34's block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), 3×3 convolutions
 * without bias. Expansion 1: the output has `planes` channels.
 *
 * Args: inPlanes, planes, options (stride, downsample, seSqueezeChannels, stochasticDepthP).
 * Shape: (N, inPlanes, H, W) → (N, planes, ⌈H/stride⌉, ⌈W/stride⌉). Keys: conv1, bn1, conv2, bn2,
 * downsample.0/1 (when projecting), se.fc1/fc2 (with SE).
 *
 * Example:
 * ```ts
 * const block = new nn.BasicBlock(64, 128, { stride: 2 });
 * block.forward(randn([1, 64, 32, 32]));   // (1, 128, 16, 16)
 * ```
 */
export class BasicBlock extends Module implements ResidualTail {
  /** Output channels per `planes`. */
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  /** torchvision's one ReLU module of the block, called after bn1 and after the addition (so hooks see every ReLU). */
  relu: ReLU;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Module | null;
  se: SqueezeExcitation | null;
  stochastic_depth: StochasticDepth | null;

  constructor(inPlanes: number, planes: number, options: ResidualBlockOptions = {}) {
    super();
    const stride = blockStride('BasicBlock', inPlanes, planes, options);
    if ((options.groups ?? 1) !== 1 || (options.widthPerGroup ?? 64) !== 64) {
      throw new ShapeError(`BasicBlock: supports only groups=1 and widthPerGroup=64, got ${options.groups ?? 1} and ${options.widthPerGroup ?? 64} (use Bottleneck)`);
    }
    this.conv1 = conv3x3(inPlanes, planes, stride);
    this.bn1 = new BatchNorm2d(planes);
    this.relu = new ReLU();
    this.conv2 = conv3x3(planes, planes);
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = shortcutFor(options, inPlanes, planes, stride);
    this.se = seGate(options, planes);
    this.stochastic_depth = dropPath(options);
  }

  /** conv1 → bn1 → relu → conv2 → bn2, as fused convolutions in eval mode under noGrad (nn/fusion.ts), then the residual. */
  override forward(x: Tensor): Tensor {
    const out = forwardFused([this.conv1, this.bn1, this.relu, this.conv2, this.bn2], x);
    return mergeResidual(this, out, x);
  }
}

/**
 * ResNet-50/101's block (torchvision's "v1.5", stride on the 3×3): 1×1 inPlanes → width,
 * 3×3 width → width (stride, groups), 1×1 width → 4·planes, BatchNorm after each, ReLU between,
 * added to the shortcut and ReLU'd. width = ⌊planes · widthPerGroup / 64⌋ · groups.
 *
 * Args: inPlanes, planes, options (stride, downsample, groups, widthPerGroup, seSqueezeChannels,
 * stochasticDepthP).
 * Shape: (N, inPlanes, H, W) → (N, 4·planes, ⌈H/stride⌉, ⌈W/stride⌉). Keys: conv1, bn1, conv2,
 * bn2, conv3, bn3, downsample.0/1, se.fc1/fc2.
 *
 * Example:
 * ```ts
 * const block = new nn.Bottleneck(256, 64, { groups: 32, widthPerGroup: 4 });   // ResNeXt-50 32×4d
 * block.forward(randn([1, 256, 8, 8]));   // (1, 256, 8, 8)
 * ```
 */
export class Bottleneck extends Module implements ResidualTail {
  /** Output channels per `planes`. */
  static readonly expansion = 4;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  conv3: Conv2d;
  bn3: BatchNorm2d;
  /** torchvision's one ReLU module of the block, called three times (so hooks see every ReLU). */
  relu: ReLU;
  downsample: Module | null;
  se: SqueezeExcitation | null;
  stochastic_depth: StochasticDepth | null;

  constructor(inPlanes: number, planes: number, options: ResidualBlockOptions = {}) {
    super();
    const stride = blockStride('Bottleneck', inPlanes, planes, options);
    const groups = options.groups ?? 1;
    const width = Math.floor((planes * (options.widthPerGroup ?? 64)) / 64) * groups;
    const outPlanes = planes * Bottleneck.expansion;
    this.conv1 = conv1x1(inPlanes, width);
    this.bn1 = new BatchNorm2d(width);
    this.conv2 = conv3x3(width, width, stride, groups);
    this.bn2 = new BatchNorm2d(width);
    this.conv3 = conv1x1(width, outPlanes);
    this.bn3 = new BatchNorm2d(outPlanes);
    this.relu = new ReLU();
    this.downsample = shortcutFor(options, inPlanes, outPlanes, stride);
    this.se = seGate(options, outPlanes);
    this.stochastic_depth = dropPath(options);
  }

  /** The three convolutions with their batch norms and ReLUs, fused in eval mode under noGrad (nn/fusion.ts), then the residual. */
  override forward(x: Tensor): Tensor {
    // (N, inPlanes, H, W) → (N, width, H, W) → (N, width, H/stride, W/stride) → (N, 4·planes, H/stride, W/stride)
    const out = forwardFused([this.conv1, this.bn1, this.relu, this.conv2, this.bn2, this.relu, this.conv3, this.bn3], x);
    return mergeResidual(this, out, x);
  }
}
