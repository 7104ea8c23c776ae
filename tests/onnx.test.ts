/**
 * ONNX export checked by onnxruntime-node (and onnx.checker where Debian's python3-onnx is
 * installed), import checked against kiln's own modules: every exportable layer, a few
 * models, dynamic batch axes, and the errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { encodeModel } from '../lib/onnx/proto.js';
import { onnxSchema } from '../lib/onnx/schema.js';
import { onnxDescriptor } from '../scripts/onnx-schema.js';
import { expectClose } from './helpers.js';

const { nn } = k;
const dir = mkdtempSync(join(tmpdir(), 'kiln-onnx-'));
const written: string[] = [];

/** A random input of the given shape (int32 indices below `indices` when given). */
function input(shape: number[], indices?: number): k.Tensor {
  if (indices === undefined) return k.randn(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  return k.tensor(Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % indices), { shape });
}

async function runOrt(bytes: Uint8Array, x: k.Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const type = x.dtype === 'int32' ? 'int32' : 'float32';
  const result = await session.run({ input: new ort.Tensor(type, x.data as Float32Array | Int32Array, x.shape) });
  const out = result.output;
  return { data: out.data as Float32Array, dims: out.dims };
}

interface Case {
  name: string;
  model: () => k.nn.Module;
  /** The sample's shape; the batch axis (dynamic in the file) is `batchAxis`, 0 unless said. */
  shape: number[];
  batchAxis?: number;
  indices?: number;
  opset?: number;
  /** Also export and run on the reference backend (default true; off where that takes tens of seconds). */
  onReference?: boolean;
}

/** Puts BatchNorm's running statistics away from 0 / 1 with a few training passes. */
function warmBatchNorm(model: k.nn.Module, shape: number[]): void {
  model.train();
  k.noGrad(() => {
    for (let i = 0; i < 3; i++) model.forward(k.add(k.mul(k.randn(shape), 2), 0.5));
  });
}

const seq = (...modules: k.nn.Module[]) => (): k.nn.Module => new nn.Sequential(...modules);

const LAYERS: Case[] = [
  { name: 'Linear (2-d input → Gemm)', model: seq(new nn.Linear(6, 4)), shape: [3, 6] },
  { name: 'Linear (3-d input → MatMul + Add)', model: seq(new nn.Linear(6, 4)), shape: [3, 5, 6] },
  { name: 'Linear without bias', model: seq(new nn.Linear(6, 4, { bias: false })), shape: [3, 6] },
  { name: 'Conv1d stride 2 padding 1', model: seq(new nn.Conv1d(3, 4, 3, { stride: 2, padding: 1 })), shape: [2, 3, 10] },
  { name: "Conv2d padding 'same' dilation 2", model: seq(new nn.Conv2d(3, 4, 3, { padding: 'same', dilation: 2 })), shape: [2, 3, 9, 8] },
  { name: 'Conv2d groups 2, [t, b, l, r] padding, stride 2', model: seq(new nn.Conv2d(4, 6, [3, 2], { groups: 2, padding: [1, 0, 2, 1], stride: 2 })), shape: [2, 4, 9, 8] },
  { name: 'ConvTranspose2d stride 2 outputPadding 1', model: seq(new nn.ConvTranspose2d(4, 3, 3, { stride: 2, padding: 1, outputPadding: 1 })), shape: [2, 4, 5, 5] },
  { name: 'MaxPool2d 3 stride 2 padding 1 ceilMode', model: seq(new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true })), shape: [2, 3, 10, 9] },
  { name: 'AvgPool2d 2', model: seq(new nn.AvgPool2d(2)), shape: [2, 3, 8, 8] },
  { name: 'AvgPool2d 3 padding 1 countIncludePad false', model: seq(new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false })), shape: [2, 3, 9, 9] },
  { name: 'AdaptiveAvgPool2d 1 (global)', model: seq(new nn.AdaptiveAvgPool2d(1)), shape: [2, 3, 7, 5] },
  { name: 'AdaptiveAvgPool2d 2 on 8×8', model: seq(new nn.AdaptiveAvgPool2d(2)), shape: [2, 3, 8, 8] },
  { name: 'BatchNorm1d on (N, C)', model: seq(new nn.BatchNorm1d(5)), shape: [4, 5] },
  { name: 'BatchNorm1d on (N, C, L)', model: seq(new nn.BatchNorm1d(5)), shape: [4, 5, 7] },
  { name: 'BatchNorm2d', model: seq(new nn.BatchNorm2d(3)), shape: [4, 3, 5, 5] },
  { name: 'BatchNorm2d without affine', model: seq(new nn.BatchNorm2d(3, { affine: false })), shape: [4, 3, 5, 5] },
  { name: 'LayerNorm [4, 5]', model: seq(new nn.LayerNorm([4, 5])), shape: [3, 2, 4, 5] },
  { name: 'GroupNorm 2 groups of 3', model: seq(new nn.GroupNorm(2, 6)), shape: [3, 6, 4, 4] },
  { name: 'ReLU', model: seq(new nn.ReLU()), shape: [3, 7] },
  { name: 'LeakyReLU 0.2', model: seq(new nn.LeakyReLU(0.2)), shape: [3, 7] },
  { name: 'ELU 0.7', model: seq(new nn.ELU(0.7)), shape: [3, 7] },
  { name: 'SELU', model: seq(new nn.SELU()), shape: [3, 7] },
  { name: 'GELU (erf, opset 17)', model: seq(new nn.GELU()), shape: [3, 7] },
  { name: 'GELU (tanh, opset 17)', model: seq(new nn.GELU('tanh')), shape: [3, 7] },
  { name: 'GELU (Gelu operator, opset 20)', model: seq(new nn.GELU()), shape: [3, 7], opset: 20 },
  { name: 'SiLU', model: seq(new nn.SiLU()), shape: [3, 7] },
  { name: 'Swish β 1.5', model: seq(new nn.Swish(1.5)), shape: [3, 7] },
  { name: 'Swish learnable β', model: seq(new nn.Swish(0.8, { learnable: true })), shape: [3, 7] },
  { name: 'Sigmoid', model: seq(new nn.Sigmoid()), shape: [3, 7] },
  { name: 'Tanh', model: seq(new nn.Tanh()), shape: [3, 7] },
  { name: 'Softmax dim 1', model: seq(new nn.Softmax(1)), shape: [3, 7] },
  { name: 'LogSoftmax dim -1', model: seq(new nn.LogSoftmax(-1)), shape: [3, 2, 7] },
  { name: 'ReLU6', model: seq(new nn.ReLU6()), shape: [3, 7] },
  { name: 'Hardtanh -0.5..0.5', model: seq(new nn.Hardtanh(-0.5, 0.5)), shape: [3, 7] },
  { name: 'Softplus β 2', model: seq(new nn.Softplus(2)), shape: [3, 7] },
  { name: 'Softsign', model: seq(new nn.Softsign()), shape: [3, 7] },
  { name: 'Dropout (identity in eval)', model: seq(new nn.Linear(5, 5), new nn.Dropout(0.3)), shape: [3, 5] },
  { name: 'Flatten', model: seq(new nn.Flatten()), shape: [2, 3, 4, 5] },
  { name: 'Flatten dims 1..2', model: seq(new nn.Flatten(1, 2)), shape: [2, 3, 4, 5] },
  { name: 'Embedding (int32 indices → Gather)', model: seq(new nn.Embedding(10, 4)), shape: [3, 5], indices: 10 },
  { name: 'LSTM 2 layers bidirectional batchFirst', model: seq(new nn.LSTM(4, 6, { numLayers: 2, bidirectional: true, batchFirst: true })), shape: [3, 5, 4] },
  { name: 'LSTM time-major (dynamic axis 1)', model: seq(new nn.LSTM(4, 6)), shape: [5, 3, 4], batchAxis: 1 },
  { name: 'GRU bidirectional', model: seq(new nn.GRU(4, 6, { bidirectional: true })), shape: [5, 3, 4], batchAxis: 1 },
  { name: 'GRU 2 layers batchFirst without bias', model: seq(new nn.GRU(4, 6, { numLayers: 2, batchFirst: true, bias: false })), shape: [3, 5, 4] },
  { name: 'RNN relu 2 layers', model: seq(new nn.RNN(4, 5, { nonlinearity: 'relu', numLayers: 2 })), shape: [5, 3, 4], batchAxis: 1 },
  { name: 'RNN tanh bidirectional', model: seq(new nn.RNN(4, 5, { bidirectional: true, batchFirst: true })), shape: [3, 5, 4] },
];

/** A nested module: submodules in properties, forward passing tensors from one to the next. */
class Nested extends nn.Module {
  features = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2));
  pool = new nn.AdaptiveAvgPool2d(1);
  head = new nn.Sequential({ flat: new nn.Flatten(), fc: new nn.Linear(4, 3) });
  override forward(x: k.Tensor): k.Tensor {
    return this.head.forward(this.pool.forward(this.features.forward(x)));
  }
}

/**
 * A custom forward with tensor ops between modules: a residual add with a constant factor,
 * flatten, permute / transpose, a residual Linear, matmul, softmax, mean, sum, sigmoid, cat,
 * reshape / squeeze, an in-place relu_ and a clamp.
 */
class Mixer extends nn.Module {
  conv = new nn.Conv2d(3, 4, 3, { padding: 1 });
  fc = new nn.Linear(4, 4);
  head = new nn.Linear(8, 5);
  override forward(x: k.Tensor): k.Tensor {
    const c = this.conv.forward(x); // (N, 4, H, W)
    const r = k.relu(c.add(c.mul(0.5)));
    const tokens = r.flatten(2).permute([0, 2, 1]); // (N, H·W, 4)
    const mixed = tokens.add(this.fc.forward(tokens));
    const attention = mixed.matmul(mixed.transpose(1, 2)).div(2).softmax(-1); // (N, H·W, H·W)
    const context = attention.matmul(mixed); // (N, H·W, 4)
    const pooled = k.cat([context.mean(1), mixed.sigmoid().sum(1).mul(1 / tokens.shape[1])], 1); // (N, 8)
    const y = this.head.forward(pooled).reshape([x.shape[0], 5, 1]).squeeze(2);
    y.relu_();
    return y.clamp(-3, 3);
  }
}

/** Functional calls between modules: F.linear (a transposed matmul; with a bias, the fused 'linear' op → Gemm), leakyRelu / elu / softplus (where over comparisons), gelu, silu, expand, narrow / select / slice. */
class Functional extends nn.Module {
  fc = new nn.Linear(6, 8);
  weight = new nn.Parameter(k.randn([5, 8]));
  bias = new nn.Parameter(k.randn([5]));
  override forward(x: k.Tensor): k.Tensor {
    const h = k.F.leakyRelu(this.fc.forward(x), 0.1).add(k.F.elu(x.sum(1, true).expand([x.shape[0], 8]), 0.5));
    const g = k.F.gelu(h).add(k.F.silu(h)).add(k.F.softplus(h, 2));
    const y = k.F.linear(g, this.weight).add(k.F.linear(g, this.weight, this.bias)); // (N, 5)
    return k.cat([y.narrow(1, 1, 3), x.select(1, 0).unsqueeze(1), x.slice(1, 1, 6, 2)], 1); // (N, 7)
  }
}

const MODELS: Case[] = [
  { name: 'models.lenet5()', model: () => k.models.lenet5(), shape: [2, 1, 28, 28] },
  { name: 'functional ops between modules (F.linear, leakyRelu, elu, gelu, silu, softplus, expand, narrow, select, slice)', model: () => new Functional(), shape: [3, 6] },
  { name: 'tensor ops between modules (residual adds, permute, matmul, softmax, mean, cat, reshape, in-place)', model: () => new Mixer(), shape: [2, 3, 4, 4] },
  { name: 'models.resnet18({ smallInput: true }) (BasicBlocks: residual adds, F.relu, flatten)', model: () => k.models.resnet18({ numClasses: 10, smallInput: true }), shape: [2, 3, 8, 8], onReference: false },
  { name: 'models.mobilenetV2({ widthMult: 0.5 }) (inverted residual adds, functional pooling)', model: () => k.models.mobilenetV2({ numClasses: 10, widthMult: 0.5 }), shape: [2, 3, 32, 32] },
  { name: 'a nested module (features / pool / head)', model: () => new Nested(), shape: [2, 1, 8, 8] },
  {
    name: 'an embedding + LSTM classifier',
    model: seq(new nn.Embedding(20, 8), new nn.LSTM(8, 12, { batchFirst: true }), new nn.Flatten(), new nn.Linear(6 * 12, 3), new nn.LogSoftmax(1)),
    shape: [2, 6],
    indices: 20,
  },
  {
    name: 'a CNN with GroupNorm, LayerNorm, GELU, ConvTranspose2d',
    model: seq(
      new nn.Conv2d(3, 8, 3, { padding: 1 }),
      new nn.GroupNorm(4, 8),
      new nn.GELU(),
      new nn.ConvTranspose2d(8, 4, 2, { stride: 2 }),
      new nn.LayerNorm([4, 12, 12]),
      new nn.SiLU(),
      new nn.AvgPool2d(2),
      new nn.Flatten(),
      new nn.Linear(4 * 6 * 6, 5),
    ),
    shape: [2, 3, 6, 6],
  },
];

/** Exports the case with a dynamic batch axis and checks onnxruntime and onnx.load at another batch size. */
async function checkCase(c: Case): Promise<void> {
  k.manualSeed(1);
  const model = c.model();
  const axis = c.batchAxis ?? 0;
  if (model.modules().some((m) => m instanceof nn.BatchNorm1d || m instanceof nn.BatchNorm2d)) warmBatchNorm(model, c.shape);
  const sample = input(c.shape, c.indices);
  const path = join(dir, `${written.length}.onnx`);
  k.onnx.export(model, sample, path, { opset: c.opset, dynamicAxes: { input: { [axis]: 'batch' }, output: { [axis]: 'batch' } } });
  written.push(path);
  expect(model.training, 'export restores the training flag').toBe(true);
  model.eval();
  const shape = c.shape.map((s, i) => (i === axis ? s + 2 : s));
  const x = input(shape, c.indices);
  const expected = k.noGrad(() => model.forward(x) as k.Tensor);
  const bytes = new Uint8Array(readFileSync(path));
  const got = await runOrt(bytes, x);
  expect([...got.dims]).toEqual(expected.shape);
  expectClose(got.data, expected.data, 1e-5, 1e-4, `${c.name} (onnxruntime)`);
  const loaded = k.onnx.load(path);
  const back = k.noGrad(() => loaded.forward(x) as k.Tensor);
  expect(back.shape).toEqual(expected.shape);
  expectClose(back.data, expected.data, 1e-5, 1e-4, `${c.name} (onnx.load)`);
}

describe('onnx.export → onnxruntime-node and onnx.load, per layer (dynamic batch axis)', () => {
  for (const c of LAYERS) it(c.name, () => checkCase(c));
});

describe('onnx.export → onnxruntime-node and onnx.load, models', () => {
  for (const c of MODELS) it(c.name, () => checkCase(c));

  it('loaded models are trainable: Parameters under sanitized initializer names, a step changes the output', () => {
    k.manualSeed(2);
    const net = k.models.lenet5();
    const bytes = k.onnx.exportToBytes(net, k.randn([1, 1, 28, 28]), { dynamicAxes: { input: [0], output: [0] } });
    const loaded = k.onnx.load(bytes);
    expect(Object.keys(loaded.stateDict())).toEqual(['0_weight', '0_bias', '3_weight', '3_bias', '7_weight', '7_bias', '9_weight', '9_bias', '11_weight', '11_bias']);
    const x = k.randn([4, 1, 28, 28]);
    const labels = k.tensor(Int32Array.of(1, 2, 3, 4), { shape: [4] });
    const opt = new k.optim.SGD(loaded.parameters(), { lr: 0.1 });
    const before = k.F.crossEntropy(loaded.forward(x) as k.Tensor, labels);
    before.backward();
    expect(loaded.parameters().every((p) => p.grad !== null)).toBe(true);
    opt.step();
    const after = k.noGrad(() => k.F.crossEntropy(loaded.forward(x) as k.Tensor, labels));
    expect(after.item()).toBeLessThan(before.item());
  });
});

describe('the reference backend agrees: onnxruntime vs kiln-reference, export and load on the reference backend', () => {
  for (const c of MODELS.filter((m) => m.onReference !== false)) {
    it(c.name, async () => {
      k.manualSeed(4);
      const model = c.model().eval();
      const x = input(c.shape, c.indices);
      const { bytes, expected, loaded } = k.withBackend('reference', () => {
        const b = k.onnx.exportToBytes(model, x);
        return { bytes: b, expected: k.noGrad(() => model.forward(x) as k.Tensor), loaded: k.noGrad(() => k.onnx.load(b).forward(x) as k.Tensor) };
      });
      const got = await runOrt(bytes, x);
      expectClose(got.data, expected.data, 1e-5, 1e-4, `${c.name} (onnxruntime vs reference)`);
      expectClose(loaded.data, expected.data, 1e-5, 1e-4, `${c.name} (onnx.load on reference)`);
    });
  }
});

describe('loaded graphs are differentiable: float64 gradcheck on the reference backend (inputs and parameters)', () => {
  const cases: [string, () => k.nn.Module, number[]][] = [
    ['Linear, GELU, LayerNorm, Linear', () => new nn.Sequential(new nn.Linear(3, 4), new nn.GELU(), new nn.LayerNorm(4), new nn.Linear(4, 2)), [2, 3]],
    ['Conv2d, BatchNorm2d, SiLU, AvgPool2d, Flatten, Linear', () => new nn.Sequential(new nn.Conv2d(2, 3, 3, { padding: 1 }), new nn.BatchNorm2d(3), new nn.SiLU(), new nn.AvgPool2d(2), new nn.Flatten(), new nn.Linear(3 * 2 * 2, 2)), [2, 2, 4, 4]],
    ['LSTM (ONNX gate order regrouped at each forward)', () => new nn.Sequential(new nn.LSTM(3, 2, { batchFirst: true, bidirectional: true })), [2, 3, 3]],
    ['GRU', () => new nn.Sequential(new nn.GRU(3, 2)), [3, 2, 3]],
  ];
  for (const [name, build, shape] of cases) {
    it(name, () => {
      k.withBackend('reference', () => {
        k.manualSeed(5);
        const loaded = k.onnx.load(k.onnx.exportToBytes(build().eval(), k.randn(shape))).double();
        expect(loaded.parameters().every((p) => p.dtype === 'float64')).toBe(true);
        const x = k.randn(shape, { dtype: 'float64', requiresGrad: true });
        const params = loaded.parameters();
        const result = k.gradcheck((...all) => loaded.forward(all[0]) as k.Tensor, [x, ...params], { raiseException: false });
        expect(result.ok, result.worst).toBe(true);
      });
    });
  }
});

describe('lib/onnx/schema.ts', () => {
  it('is the descriptor of the committed onnx.proto (regenerate with scripts/onnx-schema.ts)', () => {
    expect(onnxSchema).toEqual(onnxDescriptor(new URL('../lib/onnx/onnx.proto', import.meta.url).pathname));
  });
});

describe('onnx.export options', () => {
  it('names the graph input and output, and keeps every size fixed without dynamicAxes', async () => {
    k.manualSeed(3);
    const net = new nn.Sequential(new nn.Linear(4, 3), new nn.Tanh());
    const x = k.randn([2, 4]);
    const bytes = k.onnx.exportToBytes(net, x, { inputNames: ['pixels'], outputNames: ['scores'], opset: 13 });
    const session = await ort.InferenceSession.create(bytes);
    expect([session.inputNames, session.outputNames]).toEqual([['pixels'], ['scores']]);
    const out = (await session.run({ pixels: new ort.Tensor('float32', x.data as Float32Array, x.shape) })).scores;
    expectClose(out.data as Float32Array, k.noGrad(() => net.forward(x)).data, 1e-5, 1e-4, 'named');
    const loaded = k.onnx.load(bytes);
    expect(loaded.inputs).toEqual([{ name: 'pixels', shape: [2, 4] }]);
    expect(() => loaded.forward(k.randn([3, 4]))).toThrow(/input 'pixels' must have shape \[2, 4\]/);
  });
});

describe('int64 indices (PyTorch\'s default integer dtype)', () => {
  it('an Embedding exported with int64 token ids runs in onnxruntime and in onnx.load', async () => {
    k.manualSeed(8);
    const net = new nn.Sequential(new nn.Embedding(10, 4), new nn.Flatten(), new nn.Linear(12, 2)).eval();
    const tokens = k.tensor([[1, 2, 3], [9, 0, 4]], { dtype: 'int64' });
    const bytes = k.onnx.exportToBytes(net, tokens, { dynamicAxes: { input: [0], output: [0] } });
    const expected = k.noGrad(() => net.forward(tokens) as k.Tensor);
    const session = await ort.InferenceSession.create(bytes);
    const got = await session.run({ input: new ort.Tensor('int64', tokens.data as BigInt64Array, tokens.shape) });
    expectClose(got.output.data as Float32Array, expected.data, 1e-5, 1e-4, 'onnxruntime');
    expectClose(k.noGrad(() => k.onnx.load(bytes).forward(tokens) as k.Tensor).data, expected.data, 1e-5, 1e-4, 'onnx.load');
  });
});

describe('OnnxModule state', () => {
  it('loadStateDict moves weights between loaded graphs of the same architecture', () => {
    const make = (seed: number): k.onnx.OnnxModule => {
      k.manualSeed(seed);
      const net = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.BatchNorm2d(2), new nn.ReLU(), new nn.Flatten(), new nn.Linear(2 * 4 * 4, 3));
      warmBatchNorm(net, [4, 1, 6, 6]);
      return k.onnx.load(k.onnx.exportToBytes(net.eval(), k.randn([1, 1, 6, 6]), { dynamicAxes: { input: [0] } }));
    };
    const [a, b] = [make(6), make(7)];
    const x = k.randn([2, 1, 6, 6]);
    expect(Object.keys(a.stateDict())).toContain('1_running_mean');
    b.loadStateDict(a.stateDict());
    expect(k.noGrad(() => b.forward(x) as k.Tensor).data).toEqual(k.noGrad(() => a.forward(x) as k.Tensor).data);
  });
});

describe('onnx errors', () => {
  it('names an op that has no exporter, its inputs and the module whose forward ran it', () => {
    class Angle extends nn.Module {
      fc = new nn.Linear(4, 4);
      override forward(x: k.Tensor): k.Tensor {
        return this.fc.forward(x.atan2(x.add(1)));
      }
    }
    const model = new nn.Sequential({ angle: new Angle() });
    expect(() => k.onnx.exportToBytes(model, k.randn([2, 4]))).toThrow(/no ONNX exporter for op 'atan2' \(inputs float32 \[2, 4\], float32 \[2, 4\]\) in the forward of 'angle'/);
  });

  it('ignores ops whose results do not reach the output', async () => {
    class Unused extends nn.Module {
      fc = new nn.Linear(4, 3);
      override forward(x: k.Tensor): k.Tensor {
        x.atan2(x); // unsupported, but dropped
        return this.fc.forward(x).mul(3);
      }
    }
    const model = new Unused();
    const x = k.randn([2, 4]);
    const bytes = k.onnx.exportToBytes(model, x);
    const got = await runOrt(bytes, x);
    expectClose(got.data, k.noGrad(() => model.forward(x)).data, 1e-5, 1e-4, 'Unused (onnxruntime)');
  });

  it('refuses a tensor that shares memory with a traced value without a traced op (detach)', () => {
    class Detached extends nn.Module {
      fc = new nn.Linear(4, 4);
      override forward(x: k.Tensor): k.Tensor {
        return this.fc.forward(x).detach().mul(2);
      }
    }
    expect(() => k.onnx.exportToBytes(new Detached(), k.randn([2, 4]))).toThrow(/the float32 \[2, 4\] tensor passed as argument 0 of op 'mul' in the model's forward shares memory with a traced value but was not produced by a traced op/);
  });

  it('refuses an in-place write through a view, which the graph cannot follow', () => {
    class ViewWrite extends nn.Module {
      fc = new nn.Linear(4, 4);
      override forward(x: k.Tensor): k.Tensor {
        const y = this.fc.forward(x);
        y.narrow(1, 0, 2).mul_(0);
        return y.add(1);
      }
    }
    expect(() => k.onnx.exportToBytes(new ViewWrite(), k.randn([2, 4]))).toThrow(/was modified in place after it was computed/);
  });

  it('checks the opset and what each layer needs of it', () => {
    expect(() => k.onnx.exportToBytes(new nn.Sequential(new nn.ReLU()), k.randn([2, 4]), { opset: 12 })).toThrow(/opset must be an integer in \[13, 20\], got 12/);
    expect(() => k.onnx.exportToBytes(new nn.Sequential(new nn.LayerNorm(4)), k.randn([2, 4]), { opset: 16 })).toThrow(/LayerNormalization needs opset ≥ 17/);
  });

  it('checks dynamicAxes names and ranges', () => {
    const m = new nn.Sequential(new nn.ReLU());
    expect(() => k.onnx.exportToBytes(m, k.randn([2, 4]), { dynamicAxes: { x: [0] } })).toThrow(/dynamicAxes names 'x', which is neither the input nor the output/);
    expect(() => k.onnx.exportToBytes(m, k.randn([2, 4]), { dynamicAxes: { input: [2] } })).toThrow(/dynamic axis 2 of 'input' is out of range for shape \[2, 4\]/);
  });

  it('load lists every unsupported operator at once', () => {
    const bytes = encodeModel({
      ir_version: 8,
      opset_import: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        node: [
          { op_type: 'Relu', input: ['x'], output: ['a'] },
          { op_type: 'Foo', input: ['a'], output: ['b'] },
          { op_type: 'Bar', input: ['b'], output: ['c'] },
          { op_type: 'Foo', input: ['c'], output: ['y'] },
        ],
        input: [{ name: 'x' }],
        output: [{ name: 'y' }],
      },
    });
    expect(() => k.onnx.load(bytes)).toThrow(/uses operators kiln does not support: Foo \(×2\), Bar \(×1\)\. Supported: Gemm, MatMul/);
  });

  it('load names the node, its input shapes and what is unsupported when a graph cannot run', () => {
    const graph = (node: object, inputs: string[]) =>
      encodeModel({
        ir_version: 8,
        opset_import: [{ domain: '', version: 17 }],
        graph: {
          name: 'g',
          node: [node as never],
          initializer: [{ name: 'w', dims: [3, 5], data_type: 1, float_data: Array(15).fill(0.5) }],
          input: inputs.map((name) => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'n' }, { dim_value: 4 }] } } } })),
          output: [{ name: 'y' }],
        },
      });
    const gemm = k.onnx.load(graph({ name: 'fc', op_type: 'Gemm', input: ['x', 'w'], output: ['y'], attribute: [{ name: 'transB', type: 2, i: 1 }] }, ['x']));
    expect(() => gemm.forward(k.randn([2, 4]))).toThrow(/OnnxModule: Gemm 'fc' failed on inputs \[2, 4\], \[3, 5\]: /);
    const pool = k.onnx.load(graph({ name: 'p', op_type: 'MaxPool', input: ['x'], output: ['y'], attribute: [{ name: 'kernel_shape', type: 7, ints: [2] }, { name: 'pads', type: 7, ints: [0, 1] }] }, ['x']));
    expect(() => pool.forward(k.randn([2, 4]))).toThrow(/MaxPool 'p': asymmetric pads \[0,1\] is not supported by kiln/);
  });

  it('load rejects a file that is not a model, and a wrongly shaped input', () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect(() => k.onnx.load(bad)).toThrow(/is not an ONNX model/);
    const net = k.onnx.load(k.onnx.exportToBytes(new nn.Sequential(new nn.Linear(4, 2)), k.randn([3, 4]), { dynamicAxes: { input: [0] } }));
    expect(() => net.forward(k.randn([3, 5]))).toThrow(/input 'input' must have shape \[-1, 4\] \(-1: any\), got \[3, 5\]/);
  });
});

/** Debian's python3-onnx (onnx.checker), when installed. */
const checker = spawnSync('/usr/bin/python3', ['-c', 'import onnx.checker'], { encoding: 'utf8' });
const hasChecker = checker.status === 0;

describe('onnx.checker.check_model(full_check=True) on every exported file', () => {
  it.skipIf(!hasChecker)(hasChecker ? 'passes' : 'skipped: python3-onnx is not installed (apt-get install python3-onnx)', () => {
    expect(written.length).toBe(LAYERS.length + MODELS.length);
    // Debian's onnx 1.12 knows IR ≤ 8 (opset ≤ 18): newer files are counted, not checked.
    const script = [
      'import sys, onnx',
      'checked = newer = 0',
      'for p in sys.argv[1:]:',
      '    m = onnx.load(p)',
      '    if m.ir_version > onnx.IR_VERSION:',
      '        newer += 1',
      '        continue',
      '    onnx.checker.check_model(m, full_check=True)',
      '    checked += 1',
      'print(checked, newer)',
    ].join('\n');
    const r = spawnSync('/usr/bin/python3', ['-c', script, ...written], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const newer = [...LAYERS, ...MODELS].filter((c) => (c.opset ?? 17) > 18).length;
    expect(r.stdout.trim()).toBe(`${written.length - newer} ${newer}`);
  });
});

