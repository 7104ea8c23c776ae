/**
 * The architecture zoo against torchvision 0.14 (tests/fixtures/torch/zoo.json, written by
 * gen_zoo.py): every model's stateDict keys, shapes, dtypes and parameter count, and for
 * ResNet-18, ResNeXt-50, SqueezeNet 1.1, MobileNetV2, DenseNet-121, GoogLeNet and Inception v3
 * (with their auxiliary heads, and with transformInput) the outputs (eval and train mode), running
 * statistics and gradients for the same weights. No weights are stored: both sides fill the state dict from the formula
 * below (gen_zoo.py's `formula`, exact 32-bit integer hashing).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

interface Layout {
  keys: string[];
  shapes: number[][];
  dtypes: string[];
  parameters: number;
}
interface Probe {
  index: number[];
  values: number[];
}
interface Outputs {
  /** The constructor, when the case's name is not one. */
  model?: string;
  /**
   * Also compare kiln's float64 reference backend at 1e-9; float32 gradients may then differ by
   * 20× torch's own float32 error (train-mode GoogLeNet at 64×64 normalises its last layers over
   * 8 values per channel: a 1e-8 change of the input moves conv1's gradient by 1e-4, so float32
   * runs that round differently land ~1e-2 apart; the float64 run is the exact check).
   */
  float64_reference?: boolean;
  num_classes: number;
  /** Extra constructor options (SqueezeNet, MobileNetV2, GoogLeNet: dropout 0, so train mode is deterministic). */
  options: Record<string, number | boolean>;
  input_shape: number[];
  eval: number[];
  train: number[];
  running: Record<string, Probe>;
  grads: Record<string, Probe>;
  /** How far torch's own float32 run is from the float64 references (relative to the largest magnitude). */
  float32_rel_error: { eval: number; train: number; grads: Record<string, number> };
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/zoo.json', import.meta.url), 'utf8')) as {
  layouts: Record<string, Layout>;
  outputs: Record<string, Outputs>;
};

type Constructor = (options?: { numClasses?: number }) => k.nn.Module;
const CONSTRUCTORS: Record<string, Constructor> = {
  resnet18: k.models.resnet18,
  resnet34: k.models.resnet34,
  resnet50: k.models.resnet50,
  resnet101: k.models.resnet101,
  wideResnet50_2: k.models.wideResnet50_2,
  resnext50_32x4d: k.models.resnext50_32x4d,
  squeezenet1_1: k.models.squeezenet1_1,
  mobilenetV2: k.models.mobilenetV2,
  alexnet: k.models.alexnet,
  vgg11: k.models.vgg11,
  vgg11Bn: k.models.vgg11Bn,
  vgg16: k.models.vgg16,
  vgg16Bn: k.models.vgg16Bn,
  googlenet: k.models.googlenet,
  inceptionV3: k.models.inceptionV3,
  densenet121: k.models.densenet121,
};

/** gen_zoo.py's key_hash: FNV-1a over the key's character codes. */
function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let j = 0; j < key.length; j++) h = Math.imul(h ^ key.charCodeAt(j), 0x01000193) >>> 0;
  return h;
}

/** gen_zoo.py's mix: murmur3's finaliser of ((i + 1) · 0x9E3779B1) xor h, in exact 32-bit arithmetic. */
function mix(i: number, h: number): number {
  let x = (Math.imul(i + 1, 0x9e3779b1) ^ h) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b) >>> 0;
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** gen_zoo.py's formula: uniform(−1, 1) hashes of (key, position), scaled by the entry's role. */
function formula(key: string, shape: readonly number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const h = keyHash(key);
  const name = key.slice(key.lastIndexOf('.') + 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const s = mix(i, h) / 2147483648 - 1;
    if (name === 'running_var') values[i] = 1 + 0.5 * s * s;
    else if (name === 'running_mean' || name === 'bias') values[i] = 0.1 * s;
    else if (shape.length === 1) values[i] = 1 + 0.1 * s;
    else values[i] = s * Math.sqrt(6 / (n / shape[0]));
  }
  return k.tensor(values, { shape });
}

function loadFormulaWeights(model: k.nn.Module): void {
  const state: Record<string, Tensor> = {};
  for (const [key, t] of Object.entries(model.stateDict())) if (t.dtype === 'float32') state[key] = formula(key, t.shape);
  const { missingKeys } = model.loadStateDict(state, { strict: false });
  expect(missingKeys.every((key) => key.endsWith('num_batches_tracked'))).toBe(true);
}

function formulaInput(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return k.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(0.05 * i)), { shape });
}

/** A model's output as one flat tensor: GoogLeNetOutputs / InceptionV3Outputs concatenated in field order (gen_zoo.py's flat). */
function flatOutput(y: unknown): Tensor {
  if (y instanceof k.Tensor) return y;
  return k.cat(Object.values(y as Record<string, Tensor>).map((t) => t.flatten()), 0);
}

function probed(t: Tensor, probe: Probe): number[] {
  const data = t.contiguous().data;
  return probe.index.map((i) => Number(data[i]));
}

/**
 * |a − e| ≤ tol · max|e| with tol = max(1e-4, factor (4) × torch's own float32 error for that quantity):
 * the references are float64 and kiln computes in float32 like torch.
 */
function expectRelClose(actual: ArrayLike<number>, expected: readonly number[], torchFloat32Error: number, what: string, factor = 4): void {
  const scale = Math.max(...expected.map(Math.abs));
  const tol = Math.max(1e-4, factor * torchFloat32Error);
  expectClose(Array.from(actual), expected, tol * scale, 0, what);
}

/**
 * VGG-11 and VGG-16-BN take about a minute each to build on a loaded 2-core machine (130M
 * parameters drawn in JS); their layouts are checked only with KILN_SLOW_ZOO=1. VGG-11-BN and
 * VGG-16 cover both configurations with and without BatchNorm in every run.
 */
const SLOW_LAYOUTS = new Set(['vgg11', 'vgg16Bn']);
const runSlow = process.env.KILN_SLOW_ZOO === '1';

describe('zoo layouts match torchvision 0.14', () => {
  for (const [name, layout] of Object.entries(fixture.layouts)) {
    (SLOW_LAYOUTS.has(name) && !runSlow ? it.skip : it)(`${name}: keys, shapes, dtypes and ${layout.parameters} parameters`, { timeout: 300_000 }, () => {
      const model = CONSTRUCTORS[name]();
      const state = model.stateDict();
      expect(Object.keys(state)).toEqual(layout.keys);
      expect(Object.values(state).map((t) => t.shape)).toEqual(layout.shapes);
      expect(Object.values(state).map((t) => t.dtype)).toEqual(layout.dtypes);
      expect(model.parameters().reduce((n, p) => n + p.numel, 0)).toBe(layout.parameters);
    });
  }
});

describe('zoo outputs match torchvision 0.14 for the same weights', () => {
  for (const [name, expected] of Object.entries(fixture.outputs)) {
    it(`${name}: eval and train outputs, running statistics, gradients`, { timeout: 300_000 }, () => {
      const model = CONSTRUCTORS[expected.model ?? name]({ numClasses: expected.num_classes, ...expected.options });
      loadFormulaWeights(model);
      const errors = expected.float32_rel_error;
      const x = formulaInput(expected.input_shape);
      model.eval();
      const evalOut = k.noGrad(() => flatOutput(model.forward(x)));
      expectRelClose(evalOut.data as Float32Array, expected.eval, errors.eval, 'eval output');
      model.train();
      const trainOut = flatOutput(model.forward(x));
      expectRelClose(trainOut.data as Float32Array, expected.train, errors.train, 'train output');
      const weights = k.tensor(Float32Array.from({ length: trainOut.numel }, (_, i) => Math.cos(0.3 * i)), { shape: trainOut.shape });
      k.sum(k.mul(trainOut, weights)).backward();
      const state = model.stateDict();
      for (const [key, probe] of Object.entries(expected.running)) expectRelClose(probed(state[key], probe), probe.values, errors.train, key);
      const params = Object.fromEntries(model.namedParameters());
      for (const [key, probe] of Object.entries(expected.grads)) {
        const grad = params[key].grad;
        expect(grad, `grad of ${key}`).not.toBeNull();
        expectRelClose(probed(grad as Tensor, probe), probe.values, errors.grads[key], `grad of ${key}`, expected.float64_reference ? 20 : 4);
      }
    });
  }
});

describe('zoo outputs match torchvision 0.14 exactly in float64 (reference backend)', () => {
  for (const [name, expected] of Object.entries(fixture.outputs).filter(([, e]) => e.float64_reference)) {
    it(`${name}: eval and train outputs and gradients within 1e-9 (slow: ~1 min on the reference backend)`, { timeout: 600_000 }, () =>
      k.withBackend('reference', () => {
        const model = CONSTRUCTORS[expected.model ?? name]({ numClasses: expected.num_classes, ...expected.options });
        loadFormulaWeights(model);
        model.double();
        const x = formulaInput(expected.input_shape).double(); // the float32 values, as torch's .to(float64)
        const close = (actual: ArrayLike<number>, values: readonly number[], what: string): void => {
          const scale = Math.max(...values.map(Math.abs));
          expectClose(Array.from(actual), values, 1e-9 * scale, 0, what);
        };
        model.eval();
        close(k.noGrad(() => flatOutput(model.forward(x))).data as Float64Array, expected.eval, 'eval output');
        model.train();
        const trainOut = flatOutput(model.forward(x));
        close(trainOut.data as Float64Array, expected.train, 'train output');
        const weights = k.tensor(Float64Array.from({ length: trainOut.numel }, (_, i) => Math.cos(0.3 * i)), { shape: trainOut.shape });
        k.sum(k.mul(trainOut, weights)).backward();
        const params = Object.fromEntries(model.namedParameters());
        for (const [key, probe] of Object.entries(expected.grads)) close(probed(params[key].grad as Tensor, probe), probe.values, `grad of ${key}`);
      }),
    );
  }
});

describe('ResNet options torchvision lacks', () => {
  it('smallInput: 3×3 stride-1 stem, no max-pool, otherwise the same keys', { timeout: 120_000 }, () => {
    const small = k.models.resnet18({ numClasses: 10, smallInput: true });
    const state = small.stateDict();
    expect(Object.keys(state)).toEqual(fixture.layouts.resnet18.keys);
    expect(state['conv1.weight'].shape).toEqual([64, 3, 3, 3]);
    const stem = small.maxpool.forward(small.conv1.forward(k.randn([2, 3, 32, 32]))) as Tensor;
    expect(stem.shape).toEqual([2, 64, 32, 32]);
    expect(small.forward(k.randn([2, 3, 32, 32])).shape).toEqual([2, 10]);
  });

  it('baseWidth: the same keys with every stage narrowed; PyTorch\'s parameter count for the same net', () => {
    const narrow = k.models.resnet18({ numClasses: 10, inChannels: 1, smallInput: true, baseWidth: 16 });
    const state = narrow.stateDict();
    expect(Object.keys(state)).toEqual(fixture.layouts.resnet18.keys);
    expect(state['conv1.weight'].shape).toEqual([16, 1, 3, 3]);
    expect(state['layer2.0.downsample.0.weight'].shape).toEqual([32, 16, 1, 1]);
    expect(state['layer4.1.conv2.weight'].shape).toEqual([128, 128, 3, 3]);
    expect(state['fc.weight'].shape).toEqual([10, 128]);
    // bench/anchors/torch_resnet_recipe.py's small_input_resnet18(16): 701,178 parameters.
    expect(narrow.parameters().reduce((n, p) => n + p.numel, 0)).toBe(701_178);
    expect(narrow.forward(k.randn([2, 1, 28, 28])).shape).toEqual([2, 10]);
    const bottleneck = k.models.resnet50({ numClasses: 10, baseWidth: 8 });
    expect(bottleneck.stateDict()['fc.weight'].shape).toEqual([10, 8 * 8 * 4]);
    expect(() => k.models.resnet18({ baseWidth: 0 })).toThrow(/baseWidth must be a positive integer, got 0/);
  });

  it('stochasticDepth: linear decay over the blocks, no keys, identity at eval', { timeout: 120_000 }, () => {
    const plain = k.models.resnet18({ numClasses: 10, smallInput: true });
    const dropped = k.models.resnet18({ numClasses: 10, smallInput: true, stochasticDepth: 0.7 });
    expect(Object.keys(dropped.stateDict())).toEqual(Object.keys(plain.stateDict()));
    const blocks = [dropped.layer1, dropped.layer2, dropped.layer3, dropped.layer4].flatMap((layer) => [...layer]) as k.nn.BasicBlock[];
    expect(blocks.map((b) => b.stochastic_depth?.p ?? 0)).toEqual(blocks.map((_, i) => (0.7 * i) / 7));
    dropped.loadStateDict(plain.stateDict());
    plain.eval();
    dropped.eval();
    const x = k.randn([2, 3, 32, 32]);
    expect(Array.from(dropped.forward(x).data as Float32Array)).toEqual(Array.from(plain.forward(x).data as Float32Array));
  });

  it('seResnet18: an SE gate with squeeze ratio 16 in every block', { timeout: 120_000 }, () => {
    const net = k.models.seResnet18({ numClasses: 10, smallInput: true });
    const state = net.stateDict();
    expect(state['layer1.0.se.fc1.weight'].shape).toEqual([4, 64, 1, 1]);
    expect(state['layer4.1.se.fc2.weight'].shape).toEqual([512, 32, 1, 1]);
    expect(Object.keys(state).filter((key) => key.includes('.se.')).length).toBe(8 * 4);
    expect(net.forward(k.randn([1, 3, 32, 32])).shape).toEqual([1, 10]);
  });

  it('rejects an input with the wrong rank or channel count, naming the model and shape', { timeout: 120_000 }, () => {
    const net = k.models.resnet18({ numClasses: 10, smallInput: true });
    expect(() => net.forward(k.randn([1, 1, 32, 32]))).toThrow(/ResNet: expects input \(N, 3, H, W\), got shape \[1, 1, 32, 32\]/);
    expect(() => net.forward(k.randn([3, 32, 32]))).toThrow(/ResNet: expects input/);
  });
});

describe('nn.StochasticDepth', () => {
  it('row mode drops whole samples and rescales the rest by 1/(1 − p); identity at eval; p is checked', () => {
    const drop = new k.nn.StochasticDepth(0.5, 'row', { generator: new k.Generator(3) });
    const x = k.ones([64, 3]);
    const rows = drop.forward(x).toArray() as number[][];
    for (const row of rows) expect(row.every((v) => v === row[0]) && (row[0] === 0 || row[0] === 2)).toBe(true);
    const kept = rows.filter((row) => row[0] === 2).length;
    expect(kept).toBeGreaterThan(16);
    expect(kept).toBeLessThan(48);
    drop.eval();
    expect(drop.forward(x)).toBe(x);
    expect(() => new k.nn.StochasticDepth(1.5)).toThrow(/StochasticDepth: p must be in \[0, 1\], got 1.5/);
    expect(() => new k.nn.StochasticDepth(0.1, 'col' as never)).toThrow(/StochasticDepth: mode must be 'row' or 'batch'/);
  });
});

describe('Inception and DenseNet options', () => {
  it('googlenet: three outputs in training with auxLogits, logits only in eval or without them; no aux keys without them', { timeout: 120_000 }, () => {
    const net = k.models.googlenet({ numClasses: 7 });
    const out = net.forward(k.randn([2, 3, 32, 32])) as k.models.GoogLeNetOutputs;
    expect(Object.keys(out)).toEqual(['logits', 'auxLogits2', 'auxLogits1']);
    for (const t of Object.values(out)) expect(t.shape).toEqual([2, 7]);
    net.eval();
    expect((net.forward(k.randn([2, 3, 32, 32])) as Tensor).shape).toEqual([2, 7]);
    const plain = k.models.googlenet({ numClasses: 7, auxLogits: false });
    expect(Object.keys(plain.stateDict()).some((key) => key.startsWith('aux'))).toBe(false);
    expect((plain.forward(k.randn([2, 3, 32, 32])) as Tensor).shape).toEqual([2, 7]); // training: BatchNorm needs 2 samples at 1×1
    expect(plain.parameters().reduce((n, p) => n + p.numel, 0)).toBe(6_624_904 + (7 - 1000) * 1025); // torchvision: 6,624,904 without aux heads for 1000 classes; fc is 1024 → classes
    expect(() => plain.forward(k.randn([1, 3, 8, 8]))).toThrow(/GoogLeNet: expects input \(N, 3, H, W\) with H, W ≥ 15, got shape \[1, 3, 8, 8\]/);
  });

  it('inceptionV3: factorised 1×7/7×1 and 1×3/3×1 kernels; 75×75 is the smallest input in eval; the auxiliary head needs 299×299 (slow: ~12 GMACs)', { timeout: 300_000 }, () => {
    const net = k.models.inceptionV3({ numClasses: 5 });
    const state = net.stateDict();
    expect(state['Mixed_6b.branch7x7_2.conv.weight'].shape).toEqual([128, 128, 1, 7]);
    expect(state['Mixed_6b.branch7x7_3.conv.weight'].shape).toEqual([192, 128, 7, 1]);
    expect(state['Mixed_7b.branch3x3_2b.conv.weight'].shape).toEqual([384, 384, 3, 1]);
    expect(() => net.forward(k.randn([2, 3, 75, 75]))).toThrow(/InceptionV3: the auxiliary head \(training with auxLogits\) needs H, W ≥ 299/);
    const out = net.forward(k.randn([2, 3, 299, 299])) as k.models.InceptionV3Outputs;
    expect(out.logits.shape).toEqual([2, 5]);
    expect(out.auxLogits.shape).toEqual([2, 5]);
    net.eval();
    expect((net.forward(k.randn([1, 3, 75, 75])) as Tensor).shape).toEqual([1, 5]);
    expect(() => net.forward(k.randn([1, 3, 64, 64]))).toThrow(/InceptionV3: expects input \(N, 3, H, W\) with H, W ≥ 75/);
    const noAux = k.models.inceptionV3({ numClasses: 5, auxLogits: false });
    expect((noAux.forward(k.randn([2, 3, 75, 75])) as Tensor).shape).toEqual([2, 5]);
  });

  it('nn.DenseBlock and nn.Transition: channel growth, halved resolution, torchvision key names', () => {
    const block = new k.nn.DenseBlock(3, 16, 8, { bnSize: 2 });
    expect(block.outPlanes).toBe(40);
    expect(Object.keys(block.stateDict()).slice(0, 3)).toEqual(['denselayer1.norm1.weight', 'denselayer1.norm1.bias', 'denselayer1.norm1.running_mean']);
    expect(block.stateDict()['denselayer3.conv1.weight'].shape).toEqual([16, 32, 1, 1]);
    const y = block.forward(k.randn([2, 16, 6, 6]));
    expect(y.shape).toEqual([2, 40, 6, 6]);
    const transition = new k.nn.Transition(40, 20);
    expect(Object.keys(transition.stateDict())).toContain('conv.weight');
    expect(transition.forward(y).shape).toEqual([2, 20, 3, 3]);
    expect(() => block.forward(k.randn([2, 8, 6, 6]))).toThrow(/DenseBlock: expects input \(N, 16, H, W\), got shape \[2, 8, 6, 6\]/);
  });
});

describe('models.nin (Network in Network)', () => {
  it('ImageNet layout: mlpconv layers end in one map per class, global average pooling, no parameters after the last conv', { timeout: 120_000 }, () => {
    const net = k.models.nin({ numClasses: 10 });
    const state = net.stateDict();
    expect(state['features.0.0.weight'].shape).toEqual([96, 3, 11, 11]);
    expect(state['features.0.2.weight'].shape).toEqual([96, 96, 1, 1]);
    expect(state['features.7.4.weight'].shape).toEqual([10, 10, 1, 1]);
    // 3 mlpconv blocks of (k²·in + 1)·c + 2·(c + 1)·c, plus the class block
    const block = (inPlanes: number, c: number, kernel: number): number => (kernel * kernel * inPlanes + 1) * c + 2 * (c + 1) * c;
    expect(net.parameters().reduce((n, p) => n + p.numel, 0)).toBe(block(3, 96, 11) + block(96, 256, 5) + block(256, 384, 3) + block(384, 10, 3));
    net.eval();
    expect(net.forward(k.randn([1, 3, 67, 67])).shape).toEqual([1, 10]);
    expect(() => net.forward(k.randn([1, 3, 66, 66]))).toThrow(/NiN: expects input \(N, 3, H, W\) with H, W ≥ 67/);
  });

  it('smallInput: the paper\'s CIFAR-10 network on 28×28 grey images; equals the mean of the last class maps', () => {
    const net = k.models.nin({ numClasses: 10, inChannels: 1, smallInput: true });
    net.eval();
    const x = k.randn([2, 1, 28, 28]);
    const y = net.forward(x);
    expect(y.shape).toEqual([2, 10]);
    const maps = net.features.forward(x); // (2, 10, 7, 7)
    expect(maps.shape).toEqual([2, 10, 7, 7]);
    expectClose(Array.from(y.data as Float32Array), Array.from(k.mean(maps, [2, 3]).data as Float32Array), 1e-6, 1e-5, 'global average pool');
    expect(net.forward(k.randn([1, 1, 6, 6])).shape).toEqual([1, 10]);
    expect(() => net.forward(k.randn([1, 1, 5, 5]))).toThrow(/NiN: expects input \(N, 1, H, W\) with H, W ≥ 6/);
  });
});
