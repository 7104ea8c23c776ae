/**
 * Inception v3 (Szegedy et al., 2016, "Rethinking the Inception Architecture for Computer
 * Vision") with torchvision 0.14's layout: stem Conv2d_1a_3x3 … Conv2d_4a_3x3, Mixed_5b…Mixed_7c
 * (InceptionA–E: 5×5 as two 3×3, factorised 1×7/7×1 and expanded 1×3/3×1 convolutions, grid
 * reductions), the auxiliary head `AuxLogits` used in training, `fc`; 27,161,264 parameters for
 * 1000 classes with the auxiliary head, 23,834,568 without it.
 * Designed for 299×299 inputs; accepts H, W ≥ 75 in eval mode or without the auxiliary head,
 * whose unpadded 5×5 convolution on the pooled 17×17 grid needs H, W ≥ 299 (as in torchvision).
 */
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { avgPool2d, adaptiveAvgPool2d, maxPool2d } from '../ops/pool.js';
import { cat } from '../ops/shape.js';
import { Conv2d } from '../nn/conv.js';
import * as init from '../nn/init.js';
import { Dropout } from '../nn/layers/dropout.js';
import { Linear } from '../nn/layers/linear.js';
import { Module } from '../nn/module.js';
import { MaxPool2d } from '../nn/pooling.js';
import { BasicConv2d } from '../nn/blocks/inception.js';
import { checkImageInput, transformImagenetInput } from './googlenet.js';

/** Options of inceptionV3. */
export interface InceptionV3Options {
  /** Number of classes. Default 1000. */
  numClasses?: number;
  /** Build the auxiliary head AuxLogits and return its logits in training. Default true (torchvision's class default). */
  auxLogits?: boolean;
  /** Map ImageNet-normalised inputs to the [−1, 1] scaling of the ported weights. Default false. */
  transformInput?: boolean;
  /** Dropout before `fc`. Default 0.5. */
  dropout?: number;
}

/** What Inception v3 returns in training with auxLogits (torchvision's InceptionOutputs). */
export interface InceptionV3Outputs {
  logits: Tensor;
  auxLogits: Tensor;
}

/** 3×3 average pool, stride 1, padding 1 (the pooling branch of InceptionA, C and E). */
function poolSame(x: Tensor): Tensor {
  return avgPool2d(x, 3, { stride: 1, padding: 1 });
}

/** Runs a chain of units. */
function chain(x: Tensor, ...units: BasicConv2d[]): Tensor {
  return units.reduce((y, unit) => unit.forward(y), x);
}

/** 35×35 module: 1×1 | 1×1 → 5×5 | 1×1 → 3×3 → 3×3 | avg-pool → 1×1 (poolFeatures); 224 + poolFeatures channels. */
class InceptionA extends Module {
  branch1x1: BasicConv2d;
  branch5x5_1: BasicConv2d;
  branch5x5_2 = new BasicConv2d(48, 64, 5, { padding: 2 });
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
  branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { padding: 1 });
  branch_pool: BasicConv2d;

  constructor(inPlanes: number, poolFeatures: number) {
    super();
    this.branch1x1 = new BasicConv2d(inPlanes, 64, 1);
    this.branch5x5_1 = new BasicConv2d(inPlanes, 48, 1);
    this.branch3x3dbl_1 = new BasicConv2d(inPlanes, 64, 1);
    this.branch_pool = new BasicConv2d(inPlanes, poolFeatures, 1);
  }

  override forward(x: Tensor): Tensor {
    return cat(
      [
        this.branch1x1.forward(x),
        chain(x, this.branch5x5_1, this.branch5x5_2),
        chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2, this.branch3x3dbl_3),
        this.branch_pool.forward(poolSame(x)),
      ],
      1,
    );
  }
}

/** Grid reduction 35 → 17: 3×3/2 | 1×1 → 3×3 → 3×3/2 | max-pool 3×3/2; 480 + inPlanes channels. */
class InceptionB extends Module {
  branch3x3: BasicConv2d;
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2 = new BasicConv2d(64, 96, 3, { padding: 1 });
  branch3x3dbl_3 = new BasicConv2d(96, 96, 3, { stride: 2 });

  constructor(inPlanes: number) {
    super();
    this.branch3x3 = new BasicConv2d(inPlanes, 384, 3, { stride: 2 });
    this.branch3x3dbl_1 = new BasicConv2d(inPlanes, 64, 1);
  }

  override forward(x: Tensor): Tensor {
    const pooled = maxPool2d(x, 3, { stride: 2 });
    return cat([this.branch3x3.forward(x), chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2, this.branch3x3dbl_3), pooled], 1);
  }
}

/** 1×7 then 7×1 (or 7×1 then 1×7) keeping the size. */
function factorised7(inPlanes: number, outPlanes: number, rowFirst: boolean): BasicConv2d {
  return rowFirst ? new BasicConv2d(inPlanes, outPlanes, [1, 7], { padding: [0, 3] }) : new BasicConv2d(inPlanes, outPlanes, [7, 1], { padding: [3, 0] });
}

/** 17×17 module with factorised 7×7 convolutions of c7 channels; 768 channels out. */
class InceptionC extends Module {
  branch1x1: BasicConv2d;
  branch7x7_1: BasicConv2d;
  branch7x7_2: BasicConv2d;
  branch7x7_3: BasicConv2d;
  branch7x7dbl_1: BasicConv2d;
  branch7x7dbl_2: BasicConv2d;
  branch7x7dbl_3: BasicConv2d;
  branch7x7dbl_4: BasicConv2d;
  branch7x7dbl_5: BasicConv2d;
  branch_pool: BasicConv2d;

  constructor(inPlanes: number, c7: number) {
    super();
    this.branch1x1 = new BasicConv2d(inPlanes, 192, 1);
    this.branch7x7_1 = new BasicConv2d(inPlanes, c7, 1);
    this.branch7x7_2 = factorised7(c7, c7, true);
    this.branch7x7_3 = factorised7(c7, 192, false);
    this.branch7x7dbl_1 = new BasicConv2d(inPlanes, c7, 1);
    this.branch7x7dbl_2 = factorised7(c7, c7, false);
    this.branch7x7dbl_3 = factorised7(c7, c7, true);
    this.branch7x7dbl_4 = factorised7(c7, c7, false);
    this.branch7x7dbl_5 = factorised7(c7, 192, true);
    this.branch_pool = new BasicConv2d(inPlanes, 192, 1);
  }

  override forward(x: Tensor): Tensor {
    const branch7x7 = chain(x, this.branch7x7_1, this.branch7x7_2, this.branch7x7_3);
    const branch7x7dbl = chain(x, this.branch7x7dbl_1, this.branch7x7dbl_2, this.branch7x7dbl_3, this.branch7x7dbl_4, this.branch7x7dbl_5);
    return cat([this.branch1x1.forward(x), branch7x7, branch7x7dbl, this.branch_pool.forward(poolSame(x))], 1);
  }
}

/** Grid reduction 17 → 8: 1×1 → 3×3/2 | 1×1 → 1×7 → 7×1 → 3×3/2 | max-pool 3×3/2; 512 + inPlanes channels. */
class InceptionD extends Module {
  branch3x3_1: BasicConv2d;
  branch3x3_2 = new BasicConv2d(192, 320, 3, { stride: 2 });
  branch7x7x3_1: BasicConv2d;
  branch7x7x3_2 = factorised7(192, 192, true);
  branch7x7x3_3 = factorised7(192, 192, false);
  branch7x7x3_4 = new BasicConv2d(192, 192, 3, { stride: 2 });

  constructor(inPlanes: number) {
    super();
    this.branch3x3_1 = new BasicConv2d(inPlanes, 192, 1);
    this.branch7x7x3_1 = new BasicConv2d(inPlanes, 192, 1);
  }

  override forward(x: Tensor): Tensor {
    const branch7x7x3 = chain(x, this.branch7x7x3_1, this.branch7x7x3_2, this.branch7x7x3_3, this.branch7x7x3_4);
    return cat([chain(x, this.branch3x3_1, this.branch3x3_2), branch7x7x3, maxPool2d(x, 3, { stride: 2 })], 1);
  }
}

/** 1×3 and 3×1 side by side on the same input (the expanded filter bank of InceptionE). */
function expanded(x: Tensor, row: BasicConv2d, column: BasicConv2d): Tensor {
  return cat([row.forward(x), column.forward(x)], 1);
}

/** 8×8 module with expanded 1×3 | 3×1 filter banks; 2048 channels out. */
class InceptionE extends Module {
  branch1x1: BasicConv2d;
  branch3x3_1: BasicConv2d;
  branch3x3_2a = new BasicConv2d(384, 384, [1, 3], { padding: [0, 1] });
  branch3x3_2b = new BasicConv2d(384, 384, [3, 1], { padding: [1, 0] });
  branch3x3dbl_1: BasicConv2d;
  branch3x3dbl_2 = new BasicConv2d(448, 384, 3, { padding: 1 });
  branch3x3dbl_3a = new BasicConv2d(384, 384, [1, 3], { padding: [0, 1] });
  branch3x3dbl_3b = new BasicConv2d(384, 384, [3, 1], { padding: [1, 0] });
  branch_pool: BasicConv2d;

  constructor(inPlanes: number) {
    super();
    this.branch1x1 = new BasicConv2d(inPlanes, 320, 1);
    this.branch3x3_1 = new BasicConv2d(inPlanes, 384, 1);
    this.branch3x3dbl_1 = new BasicConv2d(inPlanes, 448, 1);
    this.branch_pool = new BasicConv2d(inPlanes, 192, 1);
  }

  override forward(x: Tensor): Tensor {
    const branch3x3 = expanded(this.branch3x3_1.forward(x), this.branch3x3_2a, this.branch3x3_2b);
    const branch3x3dbl = expanded(chain(x, this.branch3x3dbl_1, this.branch3x3dbl_2), this.branch3x3dbl_3a, this.branch3x3dbl_3b);
    return cat([this.branch1x1.forward(x), branch3x3, branch3x3dbl, this.branch_pool.forward(poolSame(x))], 1);
  }
}

/** Inception v3's auxiliary head on the 17×17 grid: avg-pool 5×5/3 → 1×1 (128) → 5×5 (768) → global pool → fc. */
class InceptionV3Aux extends Module {
  conv0: BasicConv2d;
  conv1 = new BasicConv2d(128, 768, 5);
  fc: Linear;

  constructor(inPlanes: number, numClasses: number) {
    super();
    this.conv0 = new BasicConv2d(inPlanes, 128, 1);
    this.fc = new Linear(768, numClasses);
  }

  override forward(x: Tensor): Tensor {
    const y = chain(avgPool2d(x, 5, { stride: 3 }), this.conv0, this.conv1); // (N, 768, h, w)
    return this.fc.forward(adaptiveAvgPool2d(y, 1).flatten(1)); // (N, numClasses)
  }
}

/**
 * Inception v3. Build with models.inceptionV3.
 *
 * Shape: (N, 3, H, W), H, W ≥ 75 (299 by design) → (N, numClasses) in eval mode or without
 * auxLogits; in training with auxLogits, InceptionV3Outputs.
 *
 * Example: `models.inceptionV3({ numClasses: 10, auxLogits: false }).forward(randn([1, 3, 75, 75]))` → (1, 10).
 */
export class InceptionV3 extends Module {
  Conv2d_1a_3x3 = new BasicConv2d(3, 32, 3, { stride: 2 });
  Conv2d_2a_3x3 = new BasicConv2d(32, 32, 3);
  Conv2d_2b_3x3 = new BasicConv2d(32, 64, 3, { padding: 1 });
  maxpool1 = new MaxPool2d(3, { stride: 2 });
  Conv2d_3b_1x1 = new BasicConv2d(64, 80, 1);
  Conv2d_4a_3x3 = new BasicConv2d(80, 192, 3);
  maxpool2 = new MaxPool2d(3, { stride: 2 });
  Mixed_5b = new InceptionA(192, 32);
  Mixed_5c = new InceptionA(256, 64);
  Mixed_5d = new InceptionA(288, 64);
  Mixed_6a = new InceptionB(288);
  Mixed_6b = new InceptionC(768, 128);
  Mixed_6c = new InceptionC(768, 160);
  Mixed_6d = new InceptionC(768, 160);
  Mixed_6e = new InceptionC(768, 192);
  AuxLogits: InceptionV3Aux | null;
  Mixed_7a = new InceptionD(768);
  Mixed_7b = new InceptionE(1280);
  Mixed_7c = new InceptionE(2048);
  dropout: Dropout;
  fc: Linear;
  readonly transformInput: boolean;

  constructor(options: InceptionV3Options = {}) {
    super();
    const numClasses = options.numClasses ?? 1000;
    this.AuxLogits = options.auxLogits ?? true ? new InceptionV3Aux(768, numClasses) : null;
    this.dropout = new Dropout(options.dropout ?? 0.5);
    this.fc = new Linear(2048, numClasses);
    this.transformInput = options.transformInput ?? false;
    // torchvision: conv and linear weights N(0, 0.1²) truncated to [−2, 2], the auxiliary fc's N(0, 0.001²).
    for (const m of this.modules()) {
      if (m instanceof Conv2d || m instanceof Linear) init.truncNormal_(m.weight, 0, m === this.AuxLogits?.fc ? 0.001 : 0.1, -2, 2);
    }
  }

  override forward(x: Tensor): Tensor | InceptionV3Outputs {
    checkImageInput('InceptionV3', x, 75);
    if (this.training && this.AuxLogits !== null && (x.shape[2] < 299 || x.shape[3] < 299)) {
      throw new ShapeError(`InceptionV3: the auxiliary head (training with auxLogits) needs H, W ≥ 299 (its 5×5 conv on the pooled 17×17 grid), got shape [${x.shape.join(', ')}]; use eval() or auxLogits: false for smaller inputs`);
    }
    let y = this.transformInput ? transformImagenetInput(x) : x;
    const stem = [this.Conv2d_1a_3x3, this.Conv2d_2a_3x3, this.Conv2d_2b_3x3, this.maxpool1, this.Conv2d_3b_1x1, this.Conv2d_4a_3x3, this.maxpool2];
    for (const m of [...stem, this.Mixed_5b, this.Mixed_5c, this.Mixed_5d, this.Mixed_6a, this.Mixed_6b, this.Mixed_6c, this.Mixed_6d, this.Mixed_6e]) {
      y = m.forward(y) as Tensor; // ends at (N, 768, 17, 17) for 299×299
    }
    const auxLogits = this.training && this.AuxLogits !== null ? this.AuxLogits.forward(y) : null;
    for (const m of [this.Mixed_7a, this.Mixed_7b, this.Mixed_7c]) y = m.forward(y); // (N, 2048, 8, 8)
    const logits = this.fc.forward(this.dropout.forward(adaptiveAvgPool2d(y, 1)).flatten(1)); // (N, numClasses)
    return auxLogits !== null ? { logits, auxLogits } : logits;
  }
}

/**
 * Inception v3, torchvision 0.14's layout.
 *
 * Args: options (numClasses, auxLogits, transformInput, dropout).
 * Shape: (N, 3, 299, 299) → (N, numClasses), or InceptionV3Outputs in training with auxLogits.
 *
 * Example:
 * ```ts
 * const net = models.inceptionV3({ numClasses: 10, auxLogits: false });
 * net.forward(randn([1, 3, 299, 299]));   // (1, 10)
 * ```
 */
export function inceptionV3(options: InceptionV3Options = {}): InceptionV3 {
  return new InceptionV3(options);
}
