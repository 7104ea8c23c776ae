/**
 * GoogLeNet / Inception v1 (Szegedy et al., 2015, "Going Deeper with Convolutions") with
 * torchvision 0.14's layout and BatchNorm variant: conv1…conv3, inception3a…inception5b,
 * auxiliary classifiers `aux1` (after 4a) and `aux2` (after 4d) used in training, `fc`;
 * 6,624,904 parameters for 1000 classes without the auxiliary heads (13,004,888 with them).
 */
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../ops/creation.js';
import { add, mul } from '../ops/elementwise.js';
import { Conv2d } from '../nn/conv.js';
import * as init from '../nn/init.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { Module } from '../nn/module.js';
import { MaxPool2d } from '../nn/pooling.js';
import { adaptiveAvgPool2d } from '../ops/pool.js';
import { BasicConv2d, InceptionAux, InceptionModule } from '../nn/blocks/inception.js';

/** Options of googlenet. */
export interface GoogLeNetOptions {
  /** Number of classes. Default 1000. */
  numClasses?: number;
  /** Build the auxiliary classifiers aux1/aux2 and return their logits in training. Default true (torchvision's class default). */
  auxLogits?: boolean;
  /** Map inputs normalised with ImageNet's mean/std to the [−1, 1] scaling the ported weights expect. Default false. */
  transformInput?: boolean;
  /** Dropout before `fc`. Default 0.2. */
  dropout?: number;
  /** Dropout inside the auxiliary classifiers. Default 0.7. */
  dropoutAux?: number;
}

/**
 * What GoogLeNet returns in training with auxLogits (torchvision's GoogLeNetOutputs, in its
 * field order). As in torchvision, `auxLogits2` holds aux1's output (after inception4a) and
 * `auxLogits1` aux2's (after inception4d).
 */
export interface GoogLeNetOutputs {
  logits: Tensor;
  auxLogits2: Tensor;
  auxLogits1: Tensor;
}

/** ImageNet's per-channel std / 0.5 and (mean − 0.5) / 0.5, torchvision's _transform_input. */
const TRANSFORM_SCALE = [0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5];
const TRANSFORM_SHIFT = [(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5];

/**
 * torchvision's `transform_input` of GoogLeNet and Inception v3: x·std/0.5 + (mean − 0.5)/0.5
 * per channel, turning ImageNet-normalised inputs into the [−1, 1] scaling of the original
 * weights.
 *
 * Shape: (N, 3, H, W) → (N, 3, H, W).
 *
 * Example: `models.transformImagenetInput(randn([1, 3, 224, 224]))`.
 */
export function transformImagenetInput(x: Tensor): Tensor {
  const scale = tensor(TRANSFORM_SCALE, { dtype: x.dtype }).reshape([1, 3, 1, 1]);
  const shift = tensor(TRANSFORM_SHIFT, { dtype: x.dtype }).reshape([1, 3, 1, 1]);
  return add(mul(x, scale), shift);
}

/** The input check GoogLeNet and Inception v3 share. */
export function checkImageInput(model: string, x: Tensor, minSize: number): void {
  if (x.ndim !== 4 || x.shape[1] !== 3 || x.shape[2] < minSize || x.shape[3] < minSize) {
    throw new ShapeError(`${model}: expects input (N, 3, H, W) with H, W ≥ ${minSize}, got shape [${x.shape.join(', ')}]`);
  }
}

/**
 * GoogLeNet. Build with models.googlenet.
 *
 * Shape: (N, 3, H, W), H, W ≥ 15 → (N, numClasses) in eval mode or without auxLogits; in
 * training with auxLogits, GoogLeNetOutputs of three (N, numClasses) tensors.
 *
 * Example: `models.googlenet({ numClasses: 10, auxLogits: false }).forward(randn([1, 3, 64, 64]))` → (1, 10).
 */
export class GoogLeNet extends Module {
  conv1 = new BasicConv2d(3, 64, 7, { stride: 2, padding: 3 });
  maxpool1 = new MaxPool2d(3, { stride: 2, ceilMode: true });
  conv2 = new BasicConv2d(64, 64, 1);
  conv3 = new BasicConv2d(64, 192, 3, { padding: 1 });
  maxpool2 = new MaxPool2d(3, { stride: 2, ceilMode: true });
  inception3a = new InceptionModule(192, 64, 96, 128, 16, 32, 32);
  inception3b = new InceptionModule(256, 128, 128, 192, 32, 96, 64);
  maxpool3 = new MaxPool2d(3, { stride: 2, ceilMode: true });
  inception4a = new InceptionModule(480, 192, 96, 208, 16, 48, 64);
  inception4b = new InceptionModule(512, 160, 112, 224, 24, 64, 64);
  inception4c = new InceptionModule(512, 128, 128, 256, 24, 64, 64);
  inception4d = new InceptionModule(512, 112, 144, 288, 32, 64, 64);
  inception4e = new InceptionModule(528, 256, 160, 320, 32, 128, 128);
  maxpool4 = new MaxPool2d(2, { stride: 2, ceilMode: true });
  inception5a = new InceptionModule(832, 256, 160, 320, 32, 128, 128);
  inception5b = new InceptionModule(832, 384, 192, 384, 48, 128, 128);
  aux1: InceptionAux | null;
  aux2: InceptionAux | null;
  dropout: Dropout;
  fc: Linear;
  readonly transformInput: boolean;

  constructor(options: GoogLeNetOptions = {}) {
    super();
    const numClasses = options.numClasses ?? 1000;
    const auxLogits = options.auxLogits ?? true;
    this.aux1 = auxLogits ? new InceptionAux(512, numClasses, options.dropoutAux ?? 0.7) : null;
    this.aux2 = auxLogits ? new InceptionAux(528, numClasses, options.dropoutAux ?? 0.7) : null;
    this.dropout = new Dropout(options.dropout ?? 0.2);
    this.fc = new Linear(1024, numClasses);
    this.transformInput = options.transformInput ?? false;
    // torchvision: every conv and linear weight N(0, 0.01²) truncated to [−2, 2]; BatchNorm 1/0.
    for (const m of this.modules()) if (m instanceof Conv2d || m instanceof Linear) init.truncNormal_(m.weight, 0, 0.01, -2, 2);
  }

  override forward(x: Tensor): Tensor | GoogLeNetOutputs {
    checkImageInput('GoogLeNet', x, 15);
    let y = this.transformInput ? transformImagenetInput(x) : x;
    for (const m of [this.conv1, this.maxpool1, this.conv2, this.conv3, this.maxpool2, this.inception3a, this.inception3b, this.maxpool3, this.inception4a]) y = m.forward(y) as Tensor;
    const aux1 = this.training && this.aux1 !== null ? this.aux1.forward(y) : null; // (N, numClasses)
    for (const m of [this.inception4b, this.inception4c, this.inception4d]) y = m.forward(y);
    const aux2 = this.training && this.aux2 !== null ? this.aux2.forward(y) : null;
    for (const m of [this.inception4e, this.maxpool4, this.inception5a, this.inception5b]) y = m.forward(y) as Tensor; // (N, 1024, H/32, W/32)
    const logits = this.fc.forward(this.dropout.forward(adaptiveAvgPool2d(y, 1).flatten(1))); // (N, numClasses)
    return aux1 !== null && aux2 !== null ? { logits, auxLogits2: aux1, auxLogits1: aux2 } : logits;
  }
}

/**
 * GoogLeNet (Inception v1), torchvision 0.14's variant with BatchNorm.
 *
 * Args: options (numClasses, auxLogits, transformInput, dropout, dropoutAux).
 * Shape: (N, 3, H, W) → (N, numClasses), or GoogLeNetOutputs in training with auxLogits.
 *
 * Example:
 * ```ts
 * const net = models.googlenet({ numClasses: 10 });
 * const { logits, auxLogits1, auxLogits2 } = net.forward(randn([2, 3, 64, 64])) as models.GoogLeNetOutputs;
 * const loss = add(crossEntropy(logits, y), mul(add(crossEntropy(auxLogits1, y), crossEntropy(auxLogits2, y)), 0.3));
 * ```
 */
export function googlenet(options: GoogLeNetOptions = {}): GoogLeNet {
  return new GoogLeNet(options);
}
