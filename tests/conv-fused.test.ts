/**
 * The fused inference convolution (lib/ops/conv-fused.ts, the backends' conv2dFused) and
 * nn.Sequential's fusion of Conv2d → ReLU (→ MaxPool2d(2)) (lib/nn/fusion.ts): the same values
 * as the ops one by one, on both backends, against PyTorch, and never while autograd records.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as k from '../lib/index.js';
import { nn, ShapeError, type Tensor } from '../lib/index.js';
import type { Backend } from '../lib/backend/backend.js';
import { getBackend } from '../lib/backend/index.js';
import { loadNativeAddon, packConv2dGeometry } from '../lib/backend/native.js';
import { conv2dFused, type ConvEpilogueOptions } from '../lib/ops/conv-fused.js';
import { expectClose } from './helpers.js';

const BACKENDS = ['reference', 'native'] as const;

/** A float tensor's values as a plain array (NaN compares equal to NaN in toEqual). */
const values = (t: Tensor): number[] => Array.from(t.data as Float32Array | Float64Array);

/** The ops one by one: what conv2dFused computes. */
function separately(x: Tensor, w: Tensor, b: Tensor | null, options: k.Conv2dOptions, e: ConvEpilogueOptions): Tensor {
  let y = k.conv2d(x, w, b, options);
  if (e.relu) y = k.relu(y);
  return e.maxPool2x2 ? k.maxPool2d(y, 2) : y;
}

/** fn's result, with how many times the active backend's conv2dFused ran during it. */
function countingFusedCalls<T>(fn: () => T): { result: T; calls: number } {
  const spy = vi.spyOn(getBackend() as Backend, 'conv2dFused');
  try {
    return { result: fn(), calls: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

// name, x shape, weight shape, bias, options. Outputs: even planes (pooled in the pass) and
// odd ones (pooled after), and each native algorithm: direct (pixel lanes, channel lanes),
// GEMM, depthwise, Winograd.
const SHAPES: [string, number[], number[], boolean, k.Conv2dOptions][] = [
  ['LeNet layer 1', [5, 1, 28, 28], [6, 1, 5, 5], true, { padding: 2 }],
  ['LeNet layer 2', [5, 6, 14, 14], [16, 6, 5, 5], true, {}],
  ['odd sizes, no bias', [3, 3, 9, 13], [5, 3, 3, 4], false, { padding: [1, 2] }],
  ['stride 2', [2, 24, 9, 8], [20, 24, 3, 3], true, { stride: 2, padding: 1 }],
  ['dilation', [2, 3, 12, 12], [4, 3, 3, 3], true, { dilation: 2, padding: 1 }],
  ['groups', [2, 4, 10, 10], [6, 2, 3, 3], true, { groups: 2, padding: 1 }],
  ['depthwise', [2, 8, 8, 8], [8, 1, 3, 3], true, { groups: 8, padding: 1 }],
  ['many channels', [2, 32, 8, 10], [32, 32, 3, 3], true, { padding: 1 }],
];
const EPILOGUES: ConvEpilogueOptions[] = [{ relu: true }, { relu: true, maxPool2x2: true }, { maxPool2x2: true }];

function operands(xShape: number[], wShape: number[], withBias: boolean, dtype: 'float32' | 'float64'): [Tensor, Tensor, Tensor | null] {
  const g = new k.Generator(5);
  return [k.randn(xShape, { generator: g, dtype }), k.randn(wShape, { generator: g, dtype }), withBias ? k.randn([wShape[0]], { generator: g, dtype }) : null];
}

describe('conv2dFused equals conv2d, relu and maxPool2d one by one, bit for bit', () => {
  for (const backend of BACKENDS) {
    for (const [name, xShape, wShape, withBias, options] of SHAPES) {
      it(`${name} (${backend})`, () => {
        k.withBackend(backend, () => {
          const [x, w, b] = operands(xShape, wShape, withBias, backend === 'native' ? 'float32' : 'float64');
          for (const e of EPILOGUES) {
            const { result, calls } = countingFusedCalls(() => k.noGrad(() => conv2dFused(x, w, b, options, e)));
            const expected = k.noGrad(() => separately(x, w, b, options, e));
            expect(calls).toBe(1);
            expect(result.shape).toEqual(expected.shape);
            expect(values(result)).toEqual(values(expected));
          }
        });
      });
    }
  }

  it('NaN, ±Infinity and ties in the convolution output (native)', () => {
    // A 1×1 identity convolution hands x to the epilogue unchanged.
    const x = k.tensor([[[[1, Number.NaN, -2, 5], [3, 3, -Infinity, -1], [-1, -1, Infinity, 0], [-3, -4, 2, Number.NaN]]]]);
    const w = k.ones([1, 1, 1, 1]);
    for (const e of EPILOGUES) {
      const fused = k.noGrad(() => conv2dFused(x, w, null, {}, e));
      const expected = k.noGrad(() => separately(x, w, null, {}, e));
      expect(values(fused)).toEqual(values(expected));
    }
  });
});

describe('native against the reference backend (float32)', () => {
  it('contiguous and non-contiguous operands, every shape and epilogue', () => {
    for (const [name, xShape, wShape, withBias, options] of SHAPES) {
      const run = (backend: k.BackendName, transposed: boolean) =>
        k.withBackend(backend, () => {
          const [x, w, b] = operands(xShape, wShape, withBias, 'float32');
          // The same values through a transposed view: (N, C, W, H) storage read as (N, C, H, W).
          const input = transposed ? x.transpose(2, 3).contiguous().transpose(2, 3) : x;
          return EPILOGUES.map((e) => k.noGrad(() => conv2dFused(input, w, b, options, e)).data);
        });
      const reference = run('reference', false);
      for (const transposed of [false, true]) {
        run('native', transposed).forEach((data, i) => expectClose(data, reference[i], 1e-4, 1e-4, `${name} epilogue ${i} transposed ${transposed}`));
      }
    }
  });

  it('a channel prefix of a wider tensor: read in place (depthwise, 1×1), gathered (3×3); the contiguous copy\'s values, both backends', () => {
    const cases: [string, number[], boolean, k.Conv2dOptions, number][] = [
      ['depthwise 1×1 (BatchNorm → ReLU)', [6, 1, 1, 1], true, { groups: 6 }, 3],
      ['1×1', [5, 6, 1, 1], false, {}, 3],
      ['3×3 (gathered)', [5, 6, 3, 3], false, { padding: 1 }, 1],
    ];
    for (const backend of BACKENDS) {
      k.withBackend(backend, () => {
        const dtype = backend === 'native' ? 'float32' : 'float64';
        const wide = k.randn([3, 10, 5, 7], { generator: new k.Generator(4), dtype });
        const prefix = wide.narrow(1, 0, 6); // strides [350, 35, 7, 1]: each image contiguous
        expect(prefix.isContiguous()).toBe(false);
        for (const [name, wShape, withBias, options, expectedCalls] of cases) {
          const [, w, b] = operands([1, 1, 1, 1], wShape, withBias, dtype);
          const e = { channelAffine: { scale: k.randn([wShape[0]], { dtype }), shift: k.randn([wShape[0]], { dtype }) }, relu: true };
          const { result, calls } = countingFusedCalls(() => k.noGrad(() => conv2dFused(prefix, w, b, options, e)));
          expect(calls, name).toBe(expectedCalls);
          expect(values(result), `${name} (${backend})`).toEqual(values(k.noGrad(() => conv2dFused(prefix.contiguous(), w, b, options, e))));
        }
      });
    }
  });

  it('an unbatched input (C, H, W) gives (K, H_out, W_out)', () => {
    const [x, w, b] = operands([2, 8, 8], [3, 2, 3, 3], true, 'float32');
    const y = k.noGrad(() => conv2dFused(x, w, b, { padding: 1 }, { relu: true, maxPool2x2: true }));
    expect(y.shape).toEqual([3, 4, 4]);
    expect(values(y)).toEqual(values(k.noGrad(() => separately(x, w, b, { padding: 1 }, { relu: true, maxPool2x2: true }))));
  });
});

interface Fixture {
  name: string;
  inputs: { shape: number[]; a: number; b: number }[];
  shape: number[];
  output: number[];
}

describe('PyTorch fixtures, fused pass (tests/fixtures/torch/make_conv_pool.py)', () => {
  const fixtures = (JSON.parse(readFileSync(new URL('./fixtures/torch/conv_pool.json', import.meta.url), 'utf8')) as { cases: Fixture[] }).cases;
  const options: Record<string, k.Conv2dOptions> = { 'conv2d relu maxPool2d': { padding: 1 }, 'conv2d relu maxPool2d odd output': { stride: 2, padding: 1 } };
  for (const backend of BACKENDS) {
    for (const name of Object.keys(options)) {
      it(`${name} (${backend})`, () => {
        const fx = fixtures.find((f) => f.name === name)!;
        k.withBackend(backend, () => {
          const dtype = backend === 'reference' ? 'float64' : 'float32';
          const [x, w, b] = fx.inputs.map(({ shape, a, b: phase }) => {
            const t = k.zeros(shape, { dtype });
            for (let i = 0; i < t.numel; i++) t.data[i] = Math.sin(a * i + phase);
            return t;
          });
          const { result, calls } = countingFusedCalls(() => k.noGrad(() => conv2dFused(x, w, b, options[name], { relu: true, maxPool2x2: true })));
          expect(calls).toBe(1);
          expect(result.shape).toEqual(fx.shape);
          const tol = backend === 'reference' ? 1e-10 : 1e-5;
          expectClose(result.data, fx.output, tol, tol, 'output');
        });
      });
    }
  }
});

describe('autograd', () => {
  it('records the separate ops when an input requires grad (gradcheck, float64, reference)', () => {
    k.withBackend('reference', () => {
      const [x, w, b] = operands([2, 2, 6, 6], [3, 2, 3, 3], true, 'float64');
      for (const t of [x, w, b!]) t.requiresGrad_();
      const { calls } = countingFusedCalls(() => conv2dFused(x, w, b, { padding: 1 }, { relu: true, maxPool2x2: true }));
      expect(calls).toBe(0);
      const result = k.gradcheck((xi, wi, bi) => conv2dFused(xi, wi, bi, { padding: 1 }, { relu: true, maxPool2x2: true }), [x, w, b!], { raiseException: false });
      expect(result.ok, result.worst).toBe(true);
    });
  });

  it('runs fused when grad mode is on but nothing requires grad', () => {
    const [x, w, b] = operands([2, 1, 8, 8], [2, 1, 3, 3], true, 'float32');
    const { result, calls } = countingFusedCalls(() => conv2dFused(x, w, b, {}, { relu: true }));
    expect(calls).toBe(1);
    expect(result.requiresGrad).toBe(false);
  });
});

describe('nn.Sequential fuses Conv2d → ReLU (→ MaxPool2d(2)) when nothing records', () => {
  /** The modules' forwards one by one, as Sequential ran them before fusion. */
  const oneByOne = (model: nn.Sequential, x: Tensor): Tensor => [...model].reduce((y, m) => m.forward(y) as Tensor, x);

  it('LeNet-5: two fused runs, the same logits bit for bit (native)', () => {
    k.manualSeed(3);
    const net = k.models.lenet5().eval();
    const x = k.randn([9, 1, 28, 28]);
    const { result, calls } = countingFusedCalls(() => k.noGrad(() => net.forward(x)));
    expect(calls).toBe(2);
    expect(values(result)).toEqual(values(k.noGrad(() => oneByOne(net, x))));
  });

  it('while training: unfused, with the same output and gradients', () => {
    k.manualSeed(4);
    const net = k.models.lenet5();
    const x = k.randn([3, 1, 28, 28]);
    const { result, calls } = countingFusedCalls(() => net.forward(x));
    expect(calls).toBe(0);
    k.sum(result).backward();
    const grads = net.parameters().map((p) => values(p.grad!));
    net.zeroGrad();
    k.sum(oneByOne(net, x)).backward();
    expect(net.parameters().map((p) => values(p.grad!))).toEqual(grads);
  });

  it('never fuses a module with hooks, or pools that are not 2×2 at stride 2', () => {
    const conv = () => new nn.Conv2d(2, 4, 3, { padding: 1 });
    const x = k.randn([2, 2, 8, 8]);
    const hooked = new nn.Sequential(conv(), new nn.ReLU(), new nn.MaxPool2d(2));
    const seen: number[][] = [];
    hooked.at(1).registerForwardHook((_m, _inputs, out) => void seen.push([...(out as Tensor).shape]));
    expect(countingFusedCalls(() => k.noGrad(() => hooked.forward(x))).calls).toBe(0);
    expect(seen).toEqual([[2, 4, 8, 8]]);

    for (const pool of [new nn.MaxPool2d(3), new nn.MaxPool2d(2, { stride: 1 }), new nn.MaxPool2d(2, { ceilMode: true }), new nn.MaxPool2d(2, { padding: 1 })]) {
      const model = new nn.Sequential(conv(), new nn.ReLU(), pool);
      const { result, calls } = countingFusedCalls(() => k.noGrad(() => model.forward(x)));
      expect(calls).toBe(1); // conv and ReLU only
      expect(values(result)).toEqual(values(k.noGrad(() => oneByOne(model, x))));
    }
    const noRelu = new nn.Sequential(conv(), new nn.Tanh(), new nn.MaxPool2d(2));
    expect(countingFusedCalls(() => k.noGrad(() => noRelu.forward(x))).calls).toBe(0);
  });

  it('onnx.export traces the layers one by one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-conv-fused-'));
    try {
      const net = k.models.lenet5().eval();
      const { calls } = countingFusedCalls(() => k.noGrad(() => k.onnx.export(net, k.randn([1, 1, 28, 28]), join(dir, 'lenet.onnx'))));
      expect(calls).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- the folded BatchNorm: channelAffine with ReLU, ReLU6 or nothing ----------------------

/** The ops one by one with the affine map: conv2d, y·scale + shift per channel, relu or relu6, pool. */
function separatelyAffine(x: Tensor, w: Tensor, b: Tensor | null, options: k.Conv2dOptions, e: ConvEpilogueOptions): Tensor {
  let y = k.conv2d(x, w, b, options);
  const { scale, shift } = e.channelAffine!;
  y = y.mul(scale.reshape([1, -1, 1, 1])).add(shift.reshape([1, -1, 1, 1]));
  if (e.relu6) y = k.F.relu6(y);
  else if (e.relu) y = k.relu(y);
  return e.maxPool2x2 ? k.maxPool2d(y, 2) : y;
}

// MobileNet-v2's kinds at small sizes: pointwise expand and project (one tile, several tiles,
// channels cut between tiles), depthwise stride 1 and 2 with odd planes, a 3×3 stem-like conv.
const AFFINE_SHAPES: [string, number[], number[], boolean, k.Conv2dOptions][] = [
  ['pointwise expand 7×7', [1, 16, 7, 7], [96, 16, 1, 1], false, {}],
  ['pointwise project, odd plane, bias', [2, 40, 9, 11], [24, 40, 1, 1], true, {}],
  ['pointwise, plane of several tiles', [1, 8, 40, 41], [20, 8, 1, 1], false, {}],
  ['depthwise stride 2, odd', [1, 12, 15, 13], [12, 1, 3, 3], false, { stride: 2, padding: 1, groups: 12 }],
  ['depthwise stride 1', [2, 8, 10, 9], [8, 1, 3, 3], false, { padding: 1, groups: 8 }],
  ['3×3 stride 2 from 3 channels', [1, 3, 17, 16], [16, 3, 3, 3], false, { stride: 2, padding: 1 }],
  ['3×3 many channels', [2, 32, 8, 10], [32, 32, 3, 3], true, { padding: 1 }],
];
const AFFINE_EPILOGUES = (scale: Tensor, shift: Tensor): ConvEpilogueOptions[] => [
  { channelAffine: { scale, shift } },
  { channelAffine: { scale, shift }, relu: true },
  { channelAffine: { scale, shift }, relu6: true },
  { channelAffine: { scale, shift }, relu: true, maxPool2x2: true },
];

describe('conv2dFused with a channelAffine (folded BatchNorm) equals the ops one by one', () => {
  for (const backend of BACKENDS) {
    it(`every shape and epilogue (${backend})`, () => {
      k.withBackend(backend, () => {
        const dtype = backend === 'native' ? 'float32' : 'float64';
        for (const [name, xShape, wShape, withBias, options] of AFFINE_SHAPES) {
          const [x, w, b] = operands(xShape, wShape, withBias, dtype);
          const g = new k.Generator(9);
          const [scale, shift] = [k.randn([wShape[0]], { generator: g, dtype }).mul(3), k.randn([wShape[0]], { generator: g, dtype })];
          for (const e of AFFINE_EPILOGUES(scale, shift)) {
            const { result, calls } = countingFusedCalls(() => k.noGrad(() => conv2dFused(x, w, b, options, e)));
            const expected = k.noGrad(() => separatelyAffine(x, w, b, options, e));
            expect(calls).toBe(1);
            expect(result.shape).toEqual(expected.shape);
            const tol = backend === 'native' ? 1e-5 : 1e-12;
            expectClose(result.data, expected.data, tol, tol, `${name} ${JSON.stringify({ ...e, channelAffine: true })}`);
          }
        }
      });
    });
  }

  it('native against reference, non-contiguous input, 1 and 2 threads', () => {
    for (const [name, xShape, wShape, withBias, options] of AFFINE_SHAPES) {
      const run = (backend: k.BackendName, transposed: boolean) =>
        k.withBackend(backend, () => {
          const [x, w, b] = operands(xShape, wShape, withBias, 'float32');
          const g = new k.Generator(9);
          const [scale, shift] = [k.randn([wShape[0]], { generator: g }).mul(3), k.randn([wShape[0]], { generator: g })];
          const input = transposed ? x.transpose(2, 3).contiguous().transpose(2, 3) : x;
          return AFFINE_EPILOGUES(scale, shift).map((e) => k.noGrad(() => conv2dFused(input, w, b, options, e)).data);
        });
      const reference = run('reference', false);
      for (const threads of [1, 2]) {
        k.setNumThreads(threads);
        for (const transposed of [false, true]) {
          run('native', transposed).forEach((data, i) => expectClose(data, reference[i], 1e-4, 1e-4, `${name} epilogue ${i} transposed ${transposed} threads ${threads}`));
        }
      }
    }
  });

  it('records the separate ops when an input requires grad (gradcheck, float64, reference)', () => {
    k.withBackend('reference', () => {
      const [x, w] = operands([1, 3, 5, 5], [4, 3, 1, 1], false, 'float64');
      const [scale, shift] = [k.randn([4], { dtype: 'float64' }), k.randn([4], { dtype: 'float64' })];
      for (const t of [x, w, scale, shift]) t.requiresGrad_();
      const f = (xi: Tensor, wi: Tensor, si: Tensor, hi: Tensor) => conv2dFused(xi, wi, null, {}, { channelAffine: { scale: si, shift: hi }, relu6: true });
      expect(countingFusedCalls(() => f(x, w, scale, shift)).calls).toBe(0);
      const result = k.gradcheck(f, [x, w, scale, shift], { raiseException: false });
      expect(result.ok, result.worst).toBe(true);
    });
  });
});

interface ConvBnFixture {
  name: string;
  x_shape: number[];
  conv: { in: number; out: number; kernel: number; stride: number; padding: number; groups: number };
  activation: 'relu' | 'relu6' | 'none';
  shape: number[];
  output: number[];
}

/** sin(a·i + b) over the flat index, as make_conv_bn_act.py writes it. */
function wave(n: number, a: number, b: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(a * i + b));
}

describe('nn.Sequential folds Conv2d → BatchNorm2d (→ ReLU/ReLU6) at inference', () => {
  /** A Conv2d → BatchNorm2d → activation stack with make_conv_bn_act.py's weights and statistics. */
  function fixtureStack(fx: ConvBnFixture, dtype: 'float32' | 'float64'): nn.Sequential {
    const { in: c, out, kernel, stride, padding, groups } = fx.conv;
    const conv = new nn.Conv2d(c, out, kernel, { stride, padding, groups, bias: false });
    const bn = new nn.BatchNorm2d(out);
    const activation = { relu: [new nn.ReLU()], relu6: [new nn.ReLU6()], none: [] }[fx.activation];
    const net = new nn.Sequential(conv, bn, ...activation);
    if (dtype === 'float64') net.double();
    const set = (t: Tensor, values: number[]) => k.noGrad(() => t.copy_(k.tensor(values, { dtype }).reshape(t.shape)));
    set(conv.weight, wave(conv.weight.numel, 0.71, 0.3));
    set(bn.weight!, wave(out, 0.37, 1.1).map((v) => v * 2));
    set(bn.bias!, wave(out, 0.53, 0.2));
    set(bn.runningMean!, wave(out, 0.29, 0.6).map((v) => v * 0.5));
    set(bn.runningVar!, wave(out, 0.43, 0.9).map((v) => 0.5 + v * v));
    return net.eval();
  }

  const fixtures = (JSON.parse(readFileSync(new URL('./fixtures/torch/conv_bn_act.json', import.meta.url), 'utf8')) as { cases: ConvBnFixture[] }).cases;
  for (const backend of BACKENDS) {
    for (const fx of fixtures) {
      it(`PyTorch: ${fx.name} (${backend}), one fused call`, () => {
        k.withBackend(backend, () => {
          const dtype = backend === 'reference' ? 'float64' : 'float32';
          const net = fixtureStack(fx, dtype);
          const x = k.tensor(wave(fx.x_shape.reduce((a, b) => a * b, 1), 0.61, 0.4).map((v) => v * 3), { dtype }).reshape(fx.x_shape);
          const { result, calls } = countingFusedCalls(() => k.noGrad(() => net.forward(x)));
          expect(calls).toBe(1);
          expect(result.shape).toEqual(fx.shape);
          const tol = backend === 'reference' ? 1e-10 : 1e-5;
          expectClose(result.data, fx.output, tol, tol, fx.name);
        });
      });
    }
  }

  /** net with random BatchNorm statistics and scales, as after training (not the identity of a fresh one). */
  function trainedLike<T extends nn.Module>(net: T): T {
    k.noGrad(() => {
      for (const m of net.modules()) {
        if (!(m instanceof nn.BatchNorm2d)) continue;
        m.runningMean!.copy_(k.randn([m.numFeatures]).mul(0.1));
        m.runningVar!.copy_(k.rand([m.numFeatures]).add(0.5));
        m.weight!.copy_(k.rand([m.numFeatures]).add(0.5));
      }
    });
    return net;
  }

  /** The modules' forwards one by one (each wrapped, so nothing fuses). */
  function unfusedForward(model: nn.Module, x: Tensor): Tensor {
    const restore: (() => void)[] = [];
    for (const m of model.modules()) {
      const own = m.forward;
      m.forward = (...args: never[]) => (own as (...a: never[]) => unknown).apply(m, args);
      restore.push(() => delete (m as { forward?: unknown }).forward);
    }
    try {
      return model.forward(x) as Tensor;
    } finally {
      for (const undo of restore) undo();
    }
  }

  it('MobileNet-v2 (eval, trained-like statistics): 52 fused calls, the unfused logits within 1e-4', () => {
    k.manualSeed(6);
    const net = trainedLike(k.models.mobilenetV2({ numClasses: 10 }).eval());
    const x = k.randn([1, 3, 64, 64]);
    const { result, calls } = countingFusedCalls(() => k.noGrad(() => net.forward(x)));
    expect(calls).toBe(52); // every Conv2d → BatchNorm2d of features
    const expected = k.noGrad(() => unfusedForward(net, x));
    const scale = Math.max(...Array.from(expected.data as Float32Array, Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    expectClose(result.data, expected.data, 1e-4 * scale, 1e-4, 'logits');
  });

  it('a BatchNorm2d in training mode, or a forward that records, runs the layers one by one', () => {
    const net = new nn.Sequential(new nn.Conv2d(3, 8, 1, { bias: false }), new nn.BatchNorm2d(8), new nn.ReLU6());
    const x = k.randn([2, 3, 5, 5]);
    expect(countingFusedCalls(() => k.noGrad(() => net.forward(x))).calls).toBe(0); // training: batch statistics
    net.eval();
    const { result, calls } = countingFusedCalls(() => net.forward(x)); // grad mode, parameters require grad
    expect(calls).toBe(0);
    expect(result.requiresGrad).toBe(true);
    k.sum(result).backward();
    expect(net.at(1).parameters()[0].grad).not.toBeNull();
    expect(countingFusedCalls(() => k.noGrad(() => net.forward(x))).calls).toBe(1);
  });

  it('BatchNorm2d → ReLU (pre-activation) is one pass, close to the layers one by one; not in training', () => {
    k.manualSeed(8);
    const bn = new nn.BatchNorm2d(6);
    k.noGrad(() => {
      bn.runningMean!.copy_(k.randn([6]));
      bn.runningVar!.copy_(k.rand([6]).add(0.2));
      bn.bias!.copy_(k.randn([6]));
    });
    const net = new nn.Sequential(bn, new nn.ReLU());
    const x = k.randn([3, 6, 7, 9]).transpose(2, 3); // non-contiguous
    expect(countingFusedCalls(() => k.noGrad(() => net.forward(x))).calls).toBe(0);
    net.eval();
    const { result, calls } = countingFusedCalls(() => k.noGrad(() => net.forward(x)));
    expect(calls).toBe(1);
    expectClose(result.data, k.noGrad(() => k.relu(bn.forward(x))).data, 1e-5, 1e-5, 'bn relu');
  });

  it('DenseNet-121 (eval, trained-like statistics): fused, close to the unfused logits; a hooked layer keeps its intermediates', () => {
    k.manualSeed(7);
    const net = trainedLike(k.models.densenet121({ numClasses: 10 }).eval());
    const x = k.randn([2, 3, 48, 48]);
    const { result, calls } = countingFusedCalls(() => k.tidy(() => k.noGrad(() => net.forward(x))));
    // conv0+norm0+relu0; per dense layer BN+ReLU (one call per image: it reads the block's
    // shared features in place) and conv1+BN+ReLU; per transition BN+ReLU
    expect(calls).toBe(1 + 58 * (x.shape[0] + 1) + 3);
    const expected = k.noGrad(() => unfusedForward(net, x));
    const scale = Math.max(...Array.from(expected.data as Float32Array, Math.abs));
    expectClose(result.data, expected.data, 1e-4 * scale, 1e-4, 'logits');

    const block = net.features.at(4) as nn.DenseBlock;
    let seen: Tensor | null = null;
    block.layers[0].norm1.registerForwardHook((_m, _inputs, out) => void (seen = out as Tensor));
    k.tidy(() => void k.noGrad(() => block.forward(k.randn([1, 64, 12, 12]))));
    expect(() => seen!.sum().item()).toThrow(); // released with the caller's scope, as before
    const kept = k.noGrad(() => block.forward(k.randn([1, 64, 12, 12])));
    expect(Number.isFinite(seen!.sum().item())).toBe(true); // not released by the block's own scopes
    expect(kept.shape).toEqual([1, 256, 12, 12]);
  });

  it('ResNet-18 and ResNet-50 (eval, trained-like statistics): every convolution fused with its BatchNorm (and ReLU), close to the unfused logits; not in training', () => {
    k.manualSeed(9);
    const x = k.randn([1, 3, 64, 64]);
    // stem + 2 per BasicBlock (8) + 3 downsamples; stem + 3 per Bottleneck (16) + 4 downsamples
    const cases: [string, () => nn.Module, number][] = [
      ['resnet18', () => k.models.resnet18({ numClasses: 10 }), 1 + 2 * 8 + 3],
      ['resnet50', () => k.models.resnet50({ numClasses: 10 }), 1 + 3 * 16 + 4],
    ];
    for (const [name, make, convolutions] of cases) {
      const net = trainedLike(make().eval());
      const { result, calls } = countingFusedCalls(() => k.tidy(() => k.noGrad(() => net.forward(x))));
      expect(calls, name).toBe(convolutions);
      const expected = k.noGrad(() => unfusedForward(net, x));
      const scale = Math.max(...Array.from(expected.data as Float32Array, Math.abs));
      expectClose(result.data, expected.data, 1e-4 * scale, 1e-4, name);
      net.train();
      expect(countingFusedCalls(() => k.noGrad(() => net.forward(x))).calls, name).toBe(0);
    }
  });

  it('InceptionModule (eval, trained-like statistics): its six BasicConv2d units fused, close to the unfused output', () => {
    k.manualSeed(13);
    const block = trainedLike(new nn.InceptionModule(16, 8, 6, 8, 4, 4, 4)).eval();
    const x = k.randn([2, 16, 9, 9]);
    const { result, calls } = countingFusedCalls(() => k.noGrad(() => block.forward(x)));
    expect(calls).toBe(6);
    expect(result.shape).toEqual([2, 24, 9, 9]);
    expectClose(result.data, k.noGrad(() => unfusedForward(block, x)).data, 1e-5, 1e-5, 'inception');
  });

  it('Fire: each convolution and its ReLU one fused call, bit for bit the layers (while recording too); PreActBlock: BN → ReLU and conv → BN → ReLU fused in eval', () => {
    k.manualSeed(15);
    const fire = new nn.Fire(12, 4, 6, 6);
    const x = k.randn([2, 12, 7, 7]);
    const { result, calls } = countingFusedCalls(() => k.noGrad(() => fire.forward(x)));
    expect(calls).toBe(3);
    expect(values(result)).toEqual(values(k.noGrad(() => unfusedForward(fire, x))));
    const recorded = fire.forward(x.detach().requiresGrad_());
    expect(values(recorded)).toEqual(values(result));

    const block = trainedLike(new nn.PreActBlock(8, 16, 2)).eval();
    const y = k.randn([2, 8, 8, 8]);
    const fused = countingFusedCalls(() => k.noGrad(() => block.forward(y)));
    expect(fused.calls).toBe(2);
    expect(fused.result.shape).toEqual([2, 16, 4, 4]);
    expectClose(fused.result.data, k.noGrad(() => unfusedForward(block, y)).data, 1e-5, 1e-5, 'preact');
  });

  it('BasicBlock with a hook on bn1: conv1, bn1 and relu run one by one (the hook sees the BatchNorm output), conv2 → bn2 still fuses', () => {
    k.manualSeed(10);
    const block = trainedLike(new nn.BasicBlock(8, 8)).eval();
    let seen: Tensor | null = null;
    block.bn1.registerForwardHook((_m, _inputs, out) => void (seen = out as Tensor));
    const x = k.randn([2, 8, 6, 6]);
    const { result, calls } = countingFusedCalls(() => k.noGrad(() => block.forward(x)));
    expect(calls).toBe(1);
    expect(seen!.shape).toEqual([2, 8, 6, 6]);
    expect(seen!.min().item()).toBeLessThan(0); // before the ReLU
    expectClose(result.data, k.noGrad(() => unfusedForward(block, x)).data, 1e-5, 1e-5, 'hooked block');
  });

  it('DenseBlock at inference: one shared feature tensor, read in place; the unfused values within 1e-5, both backends', () => {
    for (const backend of BACKENDS) {
      k.withBackend(backend, () => {
        k.manualSeed(11);
        const dtype = backend === 'native' ? 'float32' : 'float64';
        const block = trainedLike(new nn.DenseBlock(4, 6, 5, { bnSize: 2 })).to(dtype).eval();
        const x = k.randn([3, 6, 9, 8], { dtype }).transpose(2, 3).contiguous().transpose(2, 3).narrow(3, 0, 7); // non-contiguous
        const spy = vi.spyOn(getBackend() as Backend, 'conv2dFused');
        try {
          const result = k.noGrad(() => block.forward(x));
          expect(result.shape).toEqual([3, 26, 9, 7]);
          // every BatchNorm → ReLU pass (groups = its channels) read a slice of the block's output
          const bnReluInputs = spy.mock.calls.filter(([, , , , g]) => g.groups > 1).map(([input]) => input.buffer);
          expect(bnReluInputs).toHaveLength(4 * 3);
          for (const buffer of bnReluInputs) expect(buffer).toBe(result.storage.buffer);
          const expected = k.noGrad(() => unfusedForward(block, x));
          const tol = backend === 'native' ? 1e-5 : 1e-12;
          const scale = Math.max(...values(expected).map(Math.abs));
          expectClose(result.data, expected.data, tol * scale, tol, `DenseBlock (${backend})`);
        } finally {
          spy.mockRestore();
        }
      });
    }
  });

  it('DenseBlock → Transition under kiln.async: the shared features and per-image views queue, the same values as at once', async () => {
    k.manualSeed(14);
    const net = trainedLike(new nn.Sequential(new nn.DenseBlock(3, 8, 4, { bnSize: 2 }), new nn.Transition(20, 10))).eval();
    const x = k.randn([3, 8, 10, 10]);
    const now = k.noGrad(() => net.forward(x));
    const queued = await k.async(() => k.noGrad(() => net.forward(x)));
    expect(values(queued)).toEqual(values(now));
  });

  it('DenseBlock while autograd records: concatenations, the same values and gradients as the layers one by one', () => {
    k.manualSeed(12);
    const block = trainedLike(new nn.DenseBlock(2, 4, 3, { bnSize: 2 })).eval();
    const x = k.randn([2, 4, 5, 5]).requiresGrad_();
    const { result, calls } = countingFusedCalls(() => block.forward(x));
    expect(calls).toBe(0);
    expect(k.noGrad(() => block.to('float64').forward(x.detach())).dtype).toBe('float64'); // promoted, as the concatenations do
    block.to('float32');
    const expected = unfusedForward(block, x);
    expectClose(result.data, expected.data, 1e-6, 1e-6, 'DenseBlock recorded');
    const [gx] = k.autograd.grad([result.sum()], [x]);
    const [gxExpected] = k.autograd.grad([expected.sum()], [x]);
    expectClose(gx.data, gxExpected.data, 1e-5, 1e-5, 'DenseBlock input gradient');
  });

  /** fn's result, with the input heights of the active backend's plain conv2d calls during it. */
  function conv2dInputHeights<T>(fn: () => T): { result: T; heights: number[] } {
    const spy = vi.spyOn(getBackend() as Backend, 'conv2d');
    try {
      return { result: fn(), heights: spy.mock.calls.map(([, , , , g]) => g.h) };
    } finally {
      spy.mockRestore();
    }
  }

  it('1×1 Conv2d → AvgPool2d(2) (DenseNet\'s transitions) pools first at inference: the layers\' values within 1e-5, both backends, odd sizes', () => {
    for (const backend of BACKENDS) {
      k.withBackend(backend, () => {
        k.manualSeed(13);
        const dtype = backend === 'native' ? 'float32' : 'float64';
        const transition = trainedLike(new nn.Transition(12, 6)).to(dtype).eval();
        const withBias = new nn.Sequential(new nn.Conv2d(12, 5, 1), new nn.AvgPool2d(2)).to(dtype);
        for (const net of [transition, withBias]) {
          const x = k.randn([3, 12, 9, 7], { dtype }).transpose(2, 3).contiguous().transpose(2, 3); // odd H and W, non-contiguous
          const { result, heights } = conv2dInputHeights(() => k.noGrad(() => net.forward(x)));
          expect(heights).toEqual([4]); // the convolution saw the pooled input
          const expected = k.noGrad(() => unfusedForward(net, x));
          expect(result.shape).toEqual(expected.shape);
          const tol = backend === 'native' ? 1e-5 : 1e-12;
          expectClose(result.data, expected.data, tol, tol, `${backend} ${net.constructor.name}`);
        }
      });
    }
  });

  it('1×1 Conv2d → AvgPool2d keeps the layers\' order while recording, and for other pools or convolutions', () => {
    const x = k.randn([2, 4, 6, 6]);
    const net = new nn.Sequential(new nn.Conv2d(4, 3, 1), new nn.AvgPool2d(2));
    const recorded = conv2dInputHeights(() => net.forward(x));
    expect(recorded.heights).toEqual([6]);
    expect(recorded.result.requiresGrad).toBe(true);
    const others = [
      new nn.Sequential(new nn.Conv2d(4, 3, 1), new nn.AvgPool2d(2, { divisorOverride: 3 })),
      new nn.Sequential(new nn.Conv2d(4, 3, 1), new nn.AvgPool2d(2, { ceilMode: true })),
      new nn.Sequential(new nn.Conv2d(4, 3, 1), new nn.AvgPool2d(3)),
      new nn.Sequential(new nn.Conv2d(4, 3, 1, { padding: 1 }), new nn.AvgPool2d(2)),
      new nn.Sequential(new nn.Conv2d(4, 3, 3, { padding: 1 }), new nn.AvgPool2d(2)),
    ];
    for (const other of others) expect(conv2dInputHeights(() => k.noGrad(() => other.forward(x))).heights[0]).toBeGreaterThan(3);
  });

  it('onnx.export traces a DenseBlock and a transition layer by layer (convolution before pooling); the export runs to the same values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-dense-onnx-'));
    try {
      const net = trainedLike(new nn.Sequential(new nn.DenseBlock(2, 4, 3, { bnSize: 2 }), new nn.Transition(10, 5))).eval();
      const x = k.randn([2, 4, 6, 6]);
      const { result: heights, calls } = countingFusedCalls(() => conv2dInputHeights(() => k.noGrad(() => k.onnx.export(net, x, join(dir, 'dense.onnx')))).heights);
      expect(calls).toBe(0);
      expect(heights).toEqual([6, 6, 6, 6, 6]); // the dense layers' convolutions, then the transition's on the unpooled input
      const y = k.onnx.load(join(dir, 'dense.onnx')).forward(x) as Tensor;
      expectClose(y.data, k.noGrad(() => unfusedForward(net, x)).data, 1e-5, 1e-5, 'exported DenseBlock → Transition');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a BatchNorm2d over other channels than the conv has is not folded', () => {
    const net = new nn.Sequential(new nn.Conv2d(3, 8, 1), new nn.BatchNorm2d(4)).eval();
    expect(() => k.noGrad(() => net.forward(k.randn([1, 3, 4, 4])))).toThrow(/BatchNorm2d.*8 channels/);
  });
});

describe('bad input', () => {
  it('conv2dFused names itself and the sizes', () => {
    expect(() => conv2dFused(k.randn([1, 3, 8, 8]), k.randn([4, 2, 3, 3]), null, {}, { relu: true })).toThrow(ShapeError);
    expect(() => conv2dFused(k.randn([1, 3, 8, 8]), k.randn([4, 2, 3, 3]), null, {}, { relu: true })).toThrow(/conv2dFused: weight \[4, 2, 3, 3\]/);
    expect(() => conv2dFused(k.randn([1, 3, 8, 8]), k.randn([4, 3, 3, 3]), k.randn([3]), {}, { relu: true })).toThrow(/conv2dFused: bias must have shape \[4\]/);
  });

  it('the binding checks the pooled size and an even output', () => {
    const addon = loadNativeAddon();
    const geometry = (outH: number) =>
      packConv2dGeometry({ n: 1, c: 1, h: outH, w: 4, k: 1, kernelH: 1, kernelW: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1, outH, outW: 4 });
    const w = new Float32Array(1);
    expect(() => addon.conv2dFused(new Float32Array(12), w, null, new Float32Array(6), geometry(3), true, true, false, null, null)).toThrow(/conv2dFused: maxPool2x2 needs an even outH and outW, got 3x4/);
    expect(() => addon.conv2dFused(new Float32Array(16), w, null, new Float32Array(16), geometry(4), true, true, false, null, null)).toThrow(/conv2dFused.*y/);
    expect(() => addon.conv2dFused(new Float32Array(16), w, null, new Float32Array(4), geometry(4), true, 1 as unknown as boolean, false, null, null)).toThrow(/conv2dFused.*maxPool2x2/);
    const one = new Float32Array(1);
    expect(() => addon.conv2dFused(new Float32Array(16), w, null, new Float32Array(16), geometry(4), false, false, true, one, null)).toThrow(/conv2dFused: scale and shift must both be/);
    expect(() => addon.conv2dFused(new Float32Array(16), w, null, new Float32Array(16), geometry(4), false, false, false, new Float32Array(2), one)).toThrow(/conv2dFused.*scale/);
  });

  it('a channelAffine of the wrong length names conv2dFused, K and the shapes', () => {
    const x = k.randn([1, 3, 8, 8]), w = k.randn([4, 3, 1, 1]);
    const e = { channelAffine: { scale: k.ones([3]), shift: k.zeros([4]) } };
    expect(() => k.noGrad(() => conv2dFused(x, w, null, {}, e))).toThrow(/conv2dFused: channelAffine scale and shift must hold K = 4 values each, got shapes \[3\] and \[4\]/);
  });
});
