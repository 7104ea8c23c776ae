/**
 * GoogLeNet's building blocks (Szegedy et al., 2015, "Going Deeper with Convolutions"), with
 * torchvision 0.14's names and its BatchNorm variant: BasicConv2d (conv without bias +
 * BatchNorm with eps 0.001 + ReLU; also Inception v3's unit), the Inception module (four
 * parallel branches concatenated) and the auxiliary classifier.
 */
import type { Tensor } from '../../tensor.js';
import { adaptiveAvgPool2d } from '../../ops/pool.js';
import { cat } from '../../ops/shape.js';
import { Conv2d, type Conv2dLayerOptions } from '../conv.js';
import { Sequential } from '../containers.js';
import * as F from '../functional.js';
import { forwardFused } from '../fusion.js';
import { ReLU } from '../layers/activation.js';
import { Dropout } from '../layers/dropout.js';
import { Linear } from '../layers/linear.js';
import { BatchNorm2d } from '../layers/normalization.js';
import { Module } from '../module.js';
import { MaxPool2d } from '../pooling.js';
import { CHANNELS, checkArgs, LAYER_SIZE } from '../../validate.js';
import { inOpContext } from '../../op-context.js';

/**
 * conv (no bias) → BatchNorm (eps 0.001) → ReLU, under the names `conv` and `bn`.
 *
 * Args: inPlanes, outPlanes, kernelSize (int or [kH, kW]), options stride, padding.
 * Shape: (N, inPlanes, H, W) → (N, outPlanes, H_out, W_out) as Conv2d.
 *
 * Example:
 * ```ts
 * const unit = new nn.BasicConv2d(64, 192, 3, { padding: 1 });
 * unit.forward(randn([1, 64, 56, 56]));   // (1, 192, 56, 56)
 * ```
 */
export class BasicConv2d extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;
  /** torchvision's F.relu as a module no one can hook (not registered: no state-dict key), so the unit fuses. */
  private static readonly relu = new ReLU();

  constructor(inPlanes: number, outPlanes: number, kernelSize: number | [number, number], options: Pick<Conv2dLayerOptions, 'stride' | 'padding'> = {}) {
    super();
    checkArgs('BasicConv2d', [['inPlanes', inPlanes, CHANNELS], ['outPlanes', outPlanes, CHANNELS]]);
    this.conv = inOpContext('BasicConv2d', () => new Conv2d(inPlanes, outPlanes, kernelSize, { ...options, bias: false }));
    this.bn = new BatchNorm2d(outPlanes, { eps: 0.001 });
  }

  /** conv → bn → ReLU: one fused convolution in eval mode under noGrad (nn/fusion.ts). */
  override forward(x: Tensor): Tensor {
    return forwardFused([this.conv, this.bn, BasicConv2d.relu], x);
  }
}

/**
 * GoogLeNet's Inception module: 1×1 | 1×1 → 3×3 | 1×1 → "5×5" | 3×3 max-pool → 1×1,
 * concatenated along channels. As in torchvision, the "5×5" branch uses a 3×3 kernel (a
 * known quirk of its port of the original weights), so checkpoints load unchanged.
 *
 * Args: inPlanes, ch1x1, ch3x3Reduce, ch3x3, ch5x5Reduce, ch5x5, poolProj.
 * Shape: (N, inPlanes, H, W) → (N, ch1x1 + ch3x3 + ch5x5 + poolProj, H, W).
 *
 * Example:
 * ```ts
 * const inception3a = new nn.InceptionModule(192, 64, 96, 128, 16, 32, 32);
 * inception3a.forward(randn([1, 192, 28, 28]));   // (1, 256, 28, 28)
 * ```
 */
export class InceptionModule extends Module {
  branch1: BasicConv2d;
  branch2: Sequential;
  branch3: Sequential;
  branch4: Sequential;

  constructor(inPlanes: number, ch1x1: number, ch3x3Reduce: number, ch3x3: number, ch5x5Reduce: number, ch5x5: number, poolProj: number) {
    super();
    const sizes = { inPlanes, ch1x1, ch3x3Reduce, ch3x3, ch5x5Reduce, ch5x5, poolProj };
    checkArgs('InceptionModule', Object.entries(sizes).map(([name, value]) => [name, value, CHANNELS] as const));
    this.branch1 = new BasicConv2d(inPlanes, ch1x1, 1);
    this.branch2 = new Sequential(new BasicConv2d(inPlanes, ch3x3Reduce, 1), new BasicConv2d(ch3x3Reduce, ch3x3, 3, { padding: 1 }));
    this.branch3 = new Sequential(new BasicConv2d(inPlanes, ch5x5Reduce, 1), new BasicConv2d(ch5x5Reduce, ch5x5, 3, { padding: 1 }));
    this.branch4 = new Sequential(new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), new BasicConv2d(inPlanes, poolProj, 1));
  }

  override forward(x: Tensor): Tensor {
    return cat([this.branch1.forward(x), this.branch2.forward(x), this.branch3.forward(x), this.branch4.forward(x)], 1);
  }
}

/**
 * GoogLeNet's auxiliary classifier: adaptive average pool to 4×4 → BasicConv2d 1×1 (128) →
 * fc1 (2048 → 1024) + ReLU → dropout → fc2 (→ numClasses).
 *
 * Args: inPlanes, numClasses, dropout (default 0.7).
 * Shape: (N, inPlanes, H, W) → (N, numClasses).
 *
 * Example:
 * ```ts
 * const aux = new nn.InceptionAux(512, 10);
 * aux.forward(randn([2, 512, 14, 14]));   // (2, 10)
 * ```
 */
export class InceptionAux extends Module {
  conv: BasicConv2d;
  fc1: Linear;
  fc2: Linear;
  dropout: Dropout;

  constructor(inPlanes: number, numClasses: number, dropout = 0.7) {
    super();
    checkArgs('InceptionAux', [['inPlanes', inPlanes, CHANNELS], ['numClasses', numClasses, LAYER_SIZE], ['dropout', dropout, { number: { min: 0, max: 1 } }]]);
    this.conv = new BasicConv2d(inPlanes, 128, 1);
    this.fc1 = new Linear(2048, 1024);
    this.fc2 = new Linear(1024, numClasses);
    this.dropout = new Dropout(dropout);
  }

  override forward(x: Tensor): Tensor {
    const y = this.conv.forward(adaptiveAvgPool2d(x, 4)).flatten(1); // (N, 2048)
    return this.fc2.forward(this.dropout.forward(F.relu(this.fc1.forward(y)))); // (N, numClasses)
  }
}
