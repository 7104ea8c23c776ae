/**
 * MobileNetV2's inverted residual block (Sandler et al., 2018, "MobileNetV2: Inverted Residuals
 * and Linear Bottlenecks"): 1×1 expansion (ReLU6), 3×3 depthwise convolution (ReLU6), 1×1 linear
 * projection, with a shortcut when the shape is kept. torchvision 0.14's names: the layers sit in
 * `conv` (`conv.0.0`/`conv.0.1` conv+BN of the expansion, …), each conv+BN+ReLU6 a
 * Sequential like torchvision's Conv2dNormActivation.
 */
import { ShapeError } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { Conv2d } from '../conv.js';
import { Sequential } from '../containers.js';
import { ReLU6 } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/normalization.js';
import { Module } from '../module.js';
import { CHANNELS, checkArgs, MAX_PARAMETER_ELEMENTS } from '../../validate.js';

/**
 * torchvision's Conv2dNormActivation with ReLU6: conv (no bias, padding (k − 1)/2) + BatchNorm +
 * ReLU6 as a Sequential (keys `0.weight`, `1.*`).
 *
 * Example: `convBnReLU6(32, 32, 3, 1, 32)` is a depthwise 3×3 layer.
 */
export function convBnReLU6(inPlanes: number, outPlanes: number, kernelSize = 3, stride = 1, groups = 1): Sequential {
  const padding = (kernelSize - 1) / 2;
  return new Sequential(new Conv2d(inPlanes, outPlanes, kernelSize, { stride, padding, groups, bias: false }), new BatchNorm2d(outPlanes), new ReLU6());
}

/**
 * Expand (1×1, ×expandRatio, ReLU6, omitted when expandRatio is 1) → depthwise 3×3 (stride,
 * ReLU6) → project (1×1 + BatchNorm, no activation); adds the input when stride is 1 and
 * inPlanes = outPlanes.
 *
 * Args: inPlanes, outPlanes, stride (1 or 2), expandRatio (hidden = round(inPlanes·expandRatio)).
 * Shape: (N, inPlanes, H, W) → (N, outPlanes, ⌈H/stride⌉, ⌈W/stride⌉).
 *
 * Example:
 * ```ts
 * const block = new nn.InvertedResidual(24, 24, 1, 6);   // with shortcut
 * block.forward(randn([1, 24, 56, 56]));   // (1, 24, 56, 56)
 * ```
 */
export class InvertedResidual extends Module {
  conv: Sequential;
  /** True when the block adds its input (stride 1, same channels). */
  readonly useResConnect: boolean;

  constructor(
    readonly inPlanes: number,
    readonly outPlanes: number,
    readonly stride: number,
    readonly expandRatio: number,
  ) {
    super();
    checkArgs('InvertedResidual', [['inPlanes', inPlanes, CHANNELS], ['outPlanes', outPlanes, CHANNELS], ['expandRatio', expandRatio, { number: { min: 1e-9, max: MAX_PARAMETER_ELEMENTS } }]]);
    if (stride !== 1 && stride !== 2) throw new ShapeError(`InvertedResidual: stride must be 1 or 2, got ${stride}`);
    const hidden = Math.round(inPlanes * expandRatio);
    const layers: Module[] = expandRatio === 1 ? [] : [convBnReLU6(inPlanes, hidden, 1)];
    layers.push(convBnReLU6(hidden, hidden, 3, stride, hidden)); // depthwise
    layers.push(new Conv2d(hidden, outPlanes, 1, { bias: false }), new BatchNorm2d(outPlanes)); // linear bottleneck
    this.conv = new Sequential(...layers);
    this.useResConnect = stride === 1 && inPlanes === outPlanes;
  }

  override forward(x: Tensor): Tensor {
    const y = this.conv.forward(x);
    return this.useResConnect ? x.add(y) : y;
  }

  override extraRepr(): string {
    return `${this.inPlanes}, ${this.outPlanes}, stride=${this.stride}, expandRatio=${this.expandRatio}`;
  }
}
