/**
 * DenseNet-BC (Huang et al., 2017, "Densely Connected Convolutional Networks") with
 * torchvision 0.14's layout: `features` (conv0, norm0, relu0, pool0, denseblock1,
 * transition1, …, denseblock4, norm5) and `classifier`; keys such as
 * `features.denseblock1.denselayer1.norm1.weight`. DenseNet-121: 7,978,856 parameters for
 * 1000 classes.
 */
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import * as F from '../nn/functional.js';
import * as init from '../nn/init.js';
import { ReLU } from '../nn/layers/activation.js';
import { Linear } from '../nn/layers/linear.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { Module } from '../nn/module.js';
import { MaxPool2d } from '../nn/pooling.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';
import { DenseBlock, Transition } from '../nn/blocks/dense.js';

/** Options of the DenseNet constructors. */
export interface DenseNetOptions {
  /** Number of classes. Default 1000. */
  numClasses?: number;
  /** Channels each dense layer adds (k in the paper). Default 32. */
  growthRate?: number;
  /** Layers in each of the four dense blocks. Default [6, 12, 24, 16] (DenseNet-121). */
  blockConfig?: readonly [number, number, number, number];
  /** Channels of the stem convolution. Default 64. */
  numInitFeatures?: number;
  /** Bottleneck width as a multiple of growthRate. Default 4. */
  bnSize?: number;
  /** Dropout after each dense layer in training. Default 0. */
  dropRate?: number;
}

/**
 * DenseNet-BC: 7×7/2 stem and 3×3/2 max-pool, four dense blocks joined by transitions that
 * halve channels and resolution, a final BatchNorm, ReLU, global average pooling and a
 * linear classifier. Build with models.densenet121.
 *
 * Shape: (N, 3, H, W) with H, W ≥ 29 → (N, numClasses).
 *
 * Example: `models.densenet121({ numClasses: 10 }).forward(randn([1, 3, 64, 64]))` → (1, 10).
 */
export class DenseNet extends Module {
  features: Sequential;
  classifier: Linear;

  constructor(options: DenseNetOptions = {}) {
    super();
    const growthRate = options.growthRate ?? 32;
    let planes = options.numInitFeatures ?? 64;
    const stages: Record<string, Module> = {
      conv0: new Conv2d(3, planes, 7, { stride: 2, padding: 3, bias: false }),
      norm0: new BatchNorm2d(planes),
      relu0: new ReLU(),
      pool0: new MaxPool2d(3, { stride: 2, padding: 1 }),
    };
    const blockConfig = options.blockConfig ?? [6, 12, 24, 16];
    blockConfig.forEach((numLayers, i) => {
      const block = new DenseBlock(numLayers, planes, growthRate, { bnSize: options.bnSize ?? 4, dropRate: options.dropRate ?? 0 });
      stages[`denseblock${i + 1}`] = block;
      planes = block.outPlanes;
      if (i === blockConfig.length - 1) return;
      stages[`transition${i + 1}`] = new Transition(planes, Math.floor(planes / 2));
      planes = Math.floor(planes / 2);
    });
    stages.norm5 = new BatchNorm2d(planes);
    this.features = new Sequential(stages);
    this.classifier = new Linear(planes, options.numClasses ?? 1000);
    // torchvision: convolutions kaiming-normal (fan_in), BatchNorm 1/0, the classifier's bias 0.
    for (const m of this.modules()) if (m instanceof Conv2d) init.kaimingNormal_(m.weight);
    init.zeros_(this.classifier.bias!);
  }

  override forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new ShapeError(`DenseNet: expects input (N, 3, H, W), got shape [${x.shape.join(', ')}]`);
    const features = F.relu(this.features.forward(x)); // (N, C, H/32, W/32)
    return this.classifier.forward(adaptiveAvgPool2d(features, 1).flatten(1)); // (N, numClasses)
  }
}

/**
 * DenseNet-121: growth rate 32, blocks [6, 12, 24, 16], 64 stem channels; 7,978,856
 * parameters for 1000 classes (torchvision).
 *
 * Args: options (numClasses, growthRate, blockConfig, numInitFeatures, bnSize, dropRate).
 * Shape: (N, 3, H, W) → (N, numClasses).
 *
 * Example:
 * ```ts
 * const net = models.densenet121({ numClasses: 10 });
 * net.forward(randn([2, 3, 64, 64]));   // (2, 10)
 * ```
 */
export function densenet121(options: DenseNetOptions = {}): DenseNet {
  return new DenseNet(options);
}
