/**
 * MobileNet (v1) of Howard et al., 2017, "MobileNets: Efficient Convolutional Neural Networks
 * for Mobile Vision Applications": a 3×3 stride-2 convolution, then 13 depthwise-separable
 * layers (3×3 depthwise conv + BN + ReLU, 1×1 pointwise conv + BN + ReLU; the paper's Table 1),
 * global average pooling and a linear classifier. The width multiplier α scales every layer's
 * channels. 4,231,976 parameters at α = 1 for 1000 classes (the paper's 4.2M). torchvision has
 * no MobileNet v1; the keys are kiln's: `features.0` (stem conv/BN/ReLU), `features.1` …
 * `features.13` (each `depthwise.0/1`, `pointwise.0/1`), `fc`.
 */
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import { ReLU } from '../nn/layers/activation.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { Module } from '../nn/module.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';

/** Options of mobilenetV1. */
export interface MobileNetV1Options {
  /** Number of classes. Default 1000. */
  numClasses?: number;
  /** Width multiplier α (the paper uses 1, 0.75, 0.5, 0.25). Default 1. */
  widthMult?: number;
  /** Channels of the input images. Default 3. */
  inChannels?: number;
  /** Dropout before the classifier. Default 0 (the paper's table has none). */
  dropout?: number;
}

/** conv (no bias) + BatchNorm + ReLU as a Sequential (keys `0.weight`, `1.*`). */
function convBnReLU(inPlanes: number, outPlanes: number, kernelSize: number, stride: number, groups: number): Sequential {
  const padding = (kernelSize - 1) / 2;
  return new Sequential(new Conv2d(inPlanes, outPlanes, kernelSize, { stride, padding, groups, bias: false }), new BatchNorm2d(outPlanes), new ReLU());
}

/**
 * One depthwise-separable layer: 3×3 depthwise (stride) then 1×1 pointwise, each with BN + ReLU.
 * Shape: (N, inPlanes, H, W) → (N, outPlanes, ⌈H/stride⌉, ⌈W/stride⌉).
 *
 * Example: `new models.DepthwiseSeparable(32, 64, 1).forward(randn([1, 32, 16, 16]))` → (1, 64, 16, 16).
 */
export class DepthwiseSeparable extends Module {
  depthwise: Sequential;
  pointwise: Sequential;

  constructor(inPlanes: number, outPlanes: number, stride: number) {
    super();
    this.depthwise = convBnReLU(inPlanes, inPlanes, 3, stride, inPlanes);
    this.pointwise = convBnReLU(inPlanes, outPlanes, 1, 1, 1);
  }

  override forward(x: Tensor): Tensor {
    return this.pointwise.forward(this.depthwise.forward(x));
  }
}

/** Output channels and stride of the 13 depthwise-separable layers (Table 1). */
const LAYERS: readonly [number, number][] = [
  [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
  [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
];

/**
 * MobileNet v1; build with models.mobilenetV1. Shape: (N, C, H, W) → (N, numClasses).
 *
 * Example: `models.mobilenetV1({ numClasses: 10, widthMultiplier: 0.5 }).forward(randn([1, 3, 64, 64]))` → (1, 10).
 */
export class MobileNetV1 extends Module {
  features: Sequential;
  dropout: Dropout;
  fc: Linear;

  constructor(options: MobileNetV1Options = {}) {
    super();
    const alpha = options.widthMult ?? 1;
    const width = (c: number): number => Math.max(8, Math.round(c * alpha));
    let inPlanes = width(32);
    const layers: Module[] = [convBnReLU(options.inChannels ?? 3, inPlanes, 3, 2, 1)];
    for (const [c, s] of LAYERS) {
      layers.push(new DepthwiseSeparable(inPlanes, width(c), s));
      inPlanes = width(c);
    }
    this.features = new Sequential(...layers);
    this.dropout = new Dropout(options.dropout ?? 0);
    this.fc = new Linear(inPlanes, options.numClasses ?? 1000);
  }

  override forward(x: Tensor): Tensor {
    const pooled = adaptiveAvgPool2d(this.features.forward(x), 1).flatten(1); // (N, 1024·α)
    return this.fc.forward(this.dropout.forward(pooled)); // (N, numClasses)
  }
}

/**
 * MobileNet v1 (Howard et al., 2017).
 *
 * Args: options (numClasses, widthMult, inChannels, dropout).
 * Shape: (N, 3, H, W) → (N, numClasses).
 *
 * Example:
 * ```ts
 * const net = models.mobilenetV1({ widthMult: 0.5, numClasses: 10 });
 * net.forward(randn([1, 3, 96, 96]));   // (1, 10)
 * ```
 */
export function mobilenetV1(options: MobileNetV1Options = {}): MobileNetV1 {
  return new MobileNetV1(options);
}
