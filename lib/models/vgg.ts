/**
 * VGG (Simonyan & Zisserman, 2015, "Very Deep Convolutional Networks for Large-Scale Image
 * Recognition"), configurations A (11 layers) and D (16 layers), optionally with BatchNorm after
 * each convolution, in torchvision 0.14's layout: `features` (3×3 convs, ReLU, 2×2 max-pools),
 * `avgpool` (adaptive to 7×7), `classifier` (4096 → 4096 → numClasses with dropout).
 * Parameters for 1000 classes: vgg11 132,863,336; vgg11Bn 132,868,840; vgg16 138,357,544;
 * vgg16Bn 138,365,992.
 */
import type { Tensor } from '../tensor.js';
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import * as init from '../nn/init.js';
import { ReLU } from '../nn/layers/activation.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { BatchNorm2d } from '../nn/layers/normalization.js';
import { Module } from '../nn/module.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../nn/pooling.js';

/** Options of the VGG constructors. */
export interface VGGOptions {
  /** Number of classes. Default 1000. */
  numClasses?: number;
  /** Dropout probability in the classifier. Default 0.5. */
  dropout?: number;
}

/** Output channels of each 3×3 convolution, 'M' for a 2×2 max-pool (the paper's Table 1). */
type VGGConfig = readonly (number | 'M')[];
const CONFIG_A: VGGConfig = [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'];
const CONFIG_D: VGGConfig = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];

function vggFeatures(config: VGGConfig, batchNorm: boolean): Sequential {
  const layers: Module[] = [];
  let inChannels = 3;
  for (const v of config) {
    if (v === 'M') {
      layers.push(new MaxPool2d(2, { stride: 2 }));
      continue;
    }
    layers.push(new Conv2d(inChannels, v, 3, { padding: 1 }));
    if (batchNorm) layers.push(new BatchNorm2d(v));
    layers.push(new ReLU());
    inChannels = v;
  }
  return new Sequential(...layers);
}

/**
 * A VGG network; build one with models.vgg11 etc. Shape: (N, 3, H, W) → (N, numClasses).
 *
 * Example: `models.vgg11({ numClasses: 10 }).forward(randn([1, 3, 32, 32]))` → (1, 10).
 */
export class VGG extends Module {
  features: Sequential;
  avgpool = new AdaptiveAvgPool2d(7);
  classifier: Sequential;

  constructor(config: VGGConfig, batchNorm: boolean, options: VGGOptions = {}) {
    super();
    const p = options.dropout ?? 0.5;
    this.features = vggFeatures(config, batchNorm);
    this.classifier = new Sequential(
      new Linear(512 * 7 * 7, 4096),
      new ReLU(),
      new Dropout(p),
      new Linear(4096, 4096),
      new ReLU(),
      new Dropout(p),
      new Linear(4096, options.numClasses ?? 1000),
    );
    // torchvision: convolutions kaiming-normal (fan_out, relu), Linear N(0, 0.01²), biases 0.
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fan_out', nonlinearity: 'relu' });
      if (m instanceof Linear) init.normal_(m.weight, 0, 0.01);
      if ((m instanceof Conv2d || m instanceof Linear) && m.bias !== null) init.zeros_(m.bias);
    }
  }

  override forward(x: Tensor): Tensor {
    const features = this.avgpool.forward(this.features.forward(x)); // (N, 512, 7, 7)
    return this.classifier.forward(features.flatten(1)); // (N, numClasses)
  }
}

/** VGG-11 (configuration A). Args: options (numClasses, dropout). Shape: (N, 3, H, W) → (N, numClasses). Example: `models.vgg11({ numClasses: 10 })`. */
export function vgg11(options: VGGOptions = {}): VGG {
  return new VGG(CONFIG_A, false, options);
}

/** VGG-11 with BatchNorm after each convolution. Example: `models.vgg11Bn()`. */
export function vgg11Bn(options: VGGOptions = {}): VGG {
  return new VGG(CONFIG_A, true, options);
}

/** VGG-16 (configuration D). Example: `models.vgg16()`. */
export function vgg16(options: VGGOptions = {}): VGG {
  return new VGG(CONFIG_D, false, options);
}

/** VGG-16 with BatchNorm after each convolution. Example: `models.vgg16Bn()`. */
export function vgg16Bn(options: VGGOptions = {}): VGG {
  return new VGG(CONFIG_D, true, options);
}
