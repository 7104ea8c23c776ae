/**
 * The architecture zoo against torchvision 0.14 (tests/fixtures/torch/zoo.json, written by
 * gen_zoo.py): every model's stateDict keys, shapes, dtypes and parameter count, and for
 * ResNet-18, ResNeXt-50, SqueezeNet 1.1 and MobileNetV2 the outputs (eval and train mode), running statistics and gradients
 * for the same weights. No weights are stored: both sides fill the state dict from the formula
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
  num_classes: number;
  /** Extra constructor options (SqueezeNet, MobileNetV2: dropout 0, so train mode is deterministic). */
  options: Record<string, number>;
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

function probed(t: Tensor, probe: Probe): number[] {
  const data = t.contiguous().data;
  return probe.index.map((i) => Number(data[i]));
}

/**
 * |a − e| ≤ tol · max|e| with tol = max(1e-4, 4 × torch's own float32 error for that quantity):
 * the references are float64 and kiln computes in float32 like torch.
 */
function expectRelClose(actual: ArrayLike<number>, expected: readonly number[], torchFloat32Error: number, what: string): void {
  const scale = Math.max(...expected.map(Math.abs));
  const tol = Math.max(1e-4, 4 * torchFloat32Error);
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
      const model = CONSTRUCTORS[name]({ numClasses: expected.num_classes, ...expected.options });
      loadFormulaWeights(model);
      const errors = expected.float32_rel_error;
      const x = formulaInput(expected.input_shape);
      model.eval();
      const evalOut = k.noGrad(() => model.forward(x) as Tensor);
      expectRelClose(evalOut.data as Float32Array, expected.eval, errors.eval, 'eval output');
      model.train();
      const trainOut = model.forward(x) as Tensor;
      expectRelClose(trainOut.data as Float32Array, expected.train, errors.train, 'train output');
      const weights = k.tensor(Float32Array.from({ length: trainOut.numel }, (_, i) => Math.cos(0.3 * i)), { shape: trainOut.shape });
      k.sum(k.mul(trainOut, weights)).backward();
      const state = model.stateDict();
      for (const [key, probe] of Object.entries(expected.running)) expectRelClose(probed(state[key], probe), probe.values, errors.train, key);
      const params = Object.fromEntries(model.namedParameters());
      for (const [key, probe] of Object.entries(expected.grads)) {
        const grad = params[key].grad;
        expect(grad, `grad of ${key}`).not.toBeNull();
        expectRelClose(probed(grad as Tensor, probe), probe.values, errors.grads[key], `grad of ${key}`);
      }
    });
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
