/**
 * MobileNetV2 (Sandler et al., 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks")
 * with torchvision 0.14's layout (`features.0` … `features.18`, `classifier.1`): 3,504,872
 * parameters for 1000 classes at width 1.
 */
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import * as init from '../nn/init.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { Module } from '../nn/module.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';
import { convBnReLU6, InvertedResidual } from '../nn/blocks/inverted-residual.js';

/** Options of mobilenetV2. */
export interface MobileNetV2Options {
  /** Number of classes. Default 1000. */
  numClasses?: number;
  /** Width multiplier of every layer's channels (rounded to multiples of 8). Default 1. */
  widthMult?: number;
  /** Dropout probability before the classifier. Default 0.2. */
  dropout?: number;
}

/** `v` rounded to the nearest multiple of `divisor`, never below 90% of v (torchvision's _make_divisible). */
function makeDivisible(v: number, divisor = 8): number {
  let rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

/** Expansion t, output channels c, repeats n, first stride s of each stage (the paper's Table 2). */
const STAGES: readonly [number, number, number, number][] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/**
 * MobileNetV2: `features` (stem, 17 inverted residuals, 1×1 to 1280), global average pool, `classifier`. Build with models.mobilenetV2.
 *
 * Example: `models.mobilenetV2({ numClasses: 10 }).forward(randn([1, 3, 64, 64]))` → (1, 10).
 */
export class MobileNetV2 extends Module {
  features: Sequential;
  classifier: Sequential;

  constructor(options: MobileNetV2Options = {}) {
    super();
    const widthMult = options.widthMult ?? 1;
    let inPlanes = makeDivisible(32 * widthMult);
    const lastPlanes = makeDivisible(1280 * Math.max(1, widthMult));
    const layers: Module[] = [convBnReLU6(3, inPlanes, 3, 2)];
    for (const [t, c, n, s] of STAGES) {
      const outPlanes = makeDivisible(c * widthMult);
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidual(inPlanes, outPlanes, i === 0 ? s : 1, t));
        inPlanes = outPlanes;
      }
    }
    layers.push(convBnReLU6(inPlanes, lastPlanes, 1));
    this.features = new Sequential(...layers);
    this.classifier = new Sequential(new Dropout(options.dropout ?? 0.2), new Linear(lastPlanes, options.numClasses ?? 1000));
    // torchvision: convolutions kaiming-normal (fan_out), Linear N(0, 0.01²) with zero bias (BatchNorm starts at 1/0 already).
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fan_out' });
      if (m instanceof Linear) {
        init.normal_(m.weight, 0, 0.01);
        if (m.bias !== null) init.zeros_(m.bias);
      }
    }
  }

  override forward(x: Tensor): Tensor {
    const features = this.features.forward(x); // (N, 1280, H/32, W/32)
    return this.classifier.forward(adaptiveAvgPool2d(features, 1).flatten(1)); // (N, numClasses)
  }
}

/**
 * MobileNetV2.
 *
 * Args: options (numClasses, widthMult, dropout).
 * Shape: (N, 3, H, W) → (N, numClasses).
 *
 * Example:
 * ```ts
 * const net = models.mobilenetV2({ numClasses: 10 });
 * net.forward(randn([1, 3, 224, 224]));   // (1, 10)
 * ```
 */
export function mobilenetV2(options: MobileNetV2Options = {}): MobileNetV2 {
  return new MobileNetV2(options);
}
