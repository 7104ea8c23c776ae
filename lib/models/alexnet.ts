/**
 * AlexNet (Krizhevsky, Sutskever & Hinton, 2012, "ImageNet Classification with Deep
 * Convolutional Neural Networks") in torchvision 0.14's single-tower variant (Krizhevsky, 2014,
 * "One weird trick…", 64/192/384/256/256 channels, no local response normalisation):
 * `features`, `avgpool` (adaptive to 6×6), `classifier`. 61,100,840 parameters for 1000
 * classes; PyTorch's default initialisation.
 */
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import { ReLU } from '../nn/layers/activation.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';

/** Options of alexnet. */
export interface AlexNetOptions {
  /** Number of classes. Default 1000. */
  numClasses?: number;
  /** Dropout probability in the classifier. Default 0.5. */
  dropout?: number;
}

/**
 * AlexNet; build with models.alexnet. Shape: (N, 3, H, W) with H, W ≥ 63 → (N, numClasses).
 *
 * Example: `models.alexnet({ numClasses: 10 }).forward(randn([1, 3, 224, 224]))` → (1, 10).
 */
export class AlexNet extends Module {
  features: Sequential;
  avgpool = new AdaptiveAvgPool2d(6);
  classifier: Sequential;

  constructor(options: AlexNetOptions = {}) {
    super();
    const pool = (): MaxPool2d => new MaxPool2d(3, { stride: 2 });
    this.features = new Sequential(
      new Conv2d(3, 64, 11, { stride: 4, padding: 2 }),
      new ReLU(),
      pool(),
      new Conv2d(64, 192, 5, { padding: 2 }),
      new ReLU(),
      pool(),
      new Conv2d(192, 384, 3, { padding: 1 }),
      new ReLU(),
      new Conv2d(384, 256, 3, { padding: 1 }),
      new ReLU(),
      new Conv2d(256, 256, 3, { padding: 1 }),
      new ReLU(),
      pool(),
    );
    const p = options.dropout ?? 0.5;
    this.classifier = new Sequential(
      new Dropout(p),
      new Linear(256 * 6 * 6, 4096),
      new ReLU(),
      new Dropout(p),
      new Linear(4096, 4096),
      new ReLU(),
      new Linear(4096, options.numClasses ?? 1000),
    );
  }

  override forward(x: Tensor): Tensor {
    const features = this.avgpool.forward(this.features.forward(x)); // (N, 256, 6, 6)
    return this.classifier.forward(features.flatten(1)); // (N, numClasses)
  }
}

/**
 * AlexNet.
 *
 * Args: options (numClasses, dropout).
 * Shape: (N, 3, H, W) → (N, numClasses).
 *
 * Example:
 * ```ts
 * const net = models.alexnet({ numClasses: 10 });
 * net.forward(randn([1, 3, 224, 224]));   // (1, 10)
 * ```
 */
export function alexnet(options: AlexNetOptions = {}): AlexNet {
  return new AlexNet(options);
}
