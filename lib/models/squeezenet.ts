/**
 * SqueezeNet 1.1 (Iandola et al., 2016; the v1.1 revision from the authors' repository, 2.4×
 * fewer MACs than 1.0) with torchvision 0.14's layout: `features` and `classifier`
 * Sequentials, 1,235,496 parameters for 1000 classes.
 */
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import * as init from '../nn/init.js';
import { ReLU } from '../nn/layers/activation.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';
import { Fire } from '../nn/blocks/fire.js';

/** Options of squeezenet1_1. */
export interface SqueezeNetOptions {
  /** Number of classes. Default 1000. */
  numClasses?: number;
  /** Dropout probability before the final convolution. Default 0.5. */
  dropout?: number;
}

/**
 * SqueezeNet: features (conv, Fire modules, max-pools) and a convolutional classifier. Build with models.squeezenet1_1.
 *
 * Example: `models.squeezenet1_1({ numClasses: 10 }).forward(randn([1, 3, 64, 64]))` → (1, 10).
 */
export class SqueezeNet extends Module {
  features: Sequential;
  classifier: Sequential;

  constructor(options: SqueezeNetOptions = {}) {
    super();
    const numClasses = options.numClasses ?? 1000;
    const pool = (): MaxPool2d => new MaxPool2d(3, { stride: 2, ceilMode: true });
    this.features = new Sequential(
      new Conv2d(3, 64, 3, { stride: 2 }),
      new ReLU(),
      pool(),
      new Fire(64, 16, 64, 64),
      new Fire(128, 16, 64, 64),
      pool(),
      new Fire(128, 32, 128, 128),
      new Fire(256, 32, 128, 128),
      pool(),
      new Fire(256, 48, 192, 192),
      new Fire(384, 48, 192, 192),
      new Fire(384, 64, 256, 256),
      new Fire(512, 64, 256, 256),
    );
    const finalConv = new Conv2d(512, numClasses, 1);
    this.classifier = new Sequential(new Dropout(options.dropout ?? 0.5), finalConv, new ReLU(), new AdaptiveAvgPool2d(1));
    // torchvision: the final conv N(0, 0.01²), the others kaiming-uniform (a = 0), biases 0.
    for (const m of this.modules()) {
      if (!(m instanceof Conv2d)) continue;
      if (m === finalConv) init.normal_(m.weight, 0, 0.01);
      else init.kaimingUniform_(m.weight);
      if (m.bias !== null) init.zeros_(m.bias);
    }
  }

  override forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x)).flatten(1); // (N, numClasses)
  }
}

/**
 * SqueezeNet 1.1.
 *
 * Args: options (numClasses, dropout).
 * Shape: (N, 3, H, W) with H, W ≥ 17 → (N, numClasses).
 *
 * Example:
 * ```ts
 * const net = models.squeezenet1_1({ numClasses: 10 });
 * net.forward(randn([1, 3, 224, 224]));   // (1, 10)
 * ```
 */
export function squeezenet1_1(options: SqueezeNetOptions = {}): SqueezeNet {
  return new SqueezeNet(options);
}
