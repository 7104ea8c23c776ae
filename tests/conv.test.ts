/**
 * Convolution and pooling beyond the op cases (tests/conv-cases.ts): PyTorch fixtures,
 * impossible configurations, max-pooling ties, the checked native geometry, higher-order
 * gradients, and the nn layers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { F, nn, ShapeError, type Tensor } from '../lib/index.js';
import { loadNativeAddon } from '../lib/backend/native.js';
import { conv2dFused } from '../lib/ops/conv-fused.js';
import { expectClose } from './helpers.js';

interface Fixture {
  name: string;
  inputs: { shape: number[]; a: number; b: number }[];
  rounded: boolean;
  shape: number[];
  output: number[];
  grads: number[][];
  indices?: number[];
}

const fixtures = (
  JSON.parse(readFileSync(new URL('./fixtures/torch/conv_pool.json', import.meta.url), 'utf8')) as { cases: Fixture[] }
).cases;

/** sin(a·i + b) over the flat index, as make_conv_pool.py builds it (rounded to halves when asked). */
function wave(shape: number[], a: number, b: number, rounded: boolean, dtype: 'float32' | 'float64'): Tensor {
  const t = k.zeros(shape, { dtype });
  for (let i = 0; i < t.numel; i++) t.data[i] = rounded ? Math.round(Math.sin(a * i + b) * 2) / 2 : Math.sin(a * i + b);
  return t.requiresGrad_();
}

const FIXTURE_OPS: Record<string, (...xs: Tensor[]) => Tensor | k.PoolWithIndices> = {
  'conv2d stride dilation padding': (x, w, b) => k.conv2d(x, w, b, { stride: [2, 1], padding: [1, 0], dilation: [1, 2] }),
  'conv2d depthwise same': (x, w) => k.conv2d(x, w, null, { padding: 'same', groups: 3 }),
  'conv1d stride dilation': (x, w) => k.conv1d(x, w, null, { stride: 2, dilation: 2 }),
  'convTranspose2d stride outputPadding': (x, w, b) => k.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }),
  'maxPool2d ties ceil': (x) => k.maxPool2dWithIndices(x, 3, { stride: 2, padding: 1, ceilMode: true }),
  'avgPool2d exclude pad ceil': (x) => k.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
  'avgPool2d divisorOverride': (x) => k.avgPool2d(x, 2, { stride: 1, padding: 1, divisorOverride: 3 }),
  adaptiveAvgPool2d: (x) => k.adaptiveAvgPool2d(x, [3, 2]),
  // Recorded here (inputs require grad), so the three ops run one by one; the fused pass on
  // the same fixtures is checked in tests/conv-fused.test.ts.
  'conv2d relu maxPool2d': (x, w, b) => conv2dFused(x, w, b, { padding: 1 }, { relu: true, maxPool2x2: true }),
  'conv2d relu maxPool2d odd output': (x, w, b) => conv2dFused(x, w, b, { stride: 2, padding: 1 }, { relu: true, maxPool2x2: true }),
};

describe('PyTorch fixtures (tests/fixtures/torch/make_conv_pool.py)', () => {
  for (const backend of ['reference', 'native'] as const) {
    for (const fx of fixtures) {
      it(`${fx.name} (${backend})`, () => {
        k.withBackend(backend, () => {
          const dtype = backend === 'reference' ? 'float64' : 'float32';
          const tol = backend === 'reference' ? 1e-10 : 1e-5;
          const inputs = fx.inputs.map((spec, i) => wave(spec.shape, spec.a, spec.b, fx.rounded && i === 0, dtype));
          const result = FIXTURE_OPS[fx.name](...inputs);
          const values = result instanceof k.Tensor ? result : result.values;
          expect(values.shape).toEqual(fx.shape);
          expectClose(values.data, fx.output, tol, tol, 'output');
          if (!(result instanceof k.Tensor)) expect(Array.from(result.indices.data)).toEqual(fx.indices);
          const projection = k.zeros(values.shape, { dtype });
          for (let i = 0; i < projection.numel; i++) projection.data[i] = Math.cos(0.3 * i);
          k.sum(k.mul(values, projection)).backward();
          inputs.forEach((x, i) => expectClose(x.grad!.data, fx.grads[i], tol, tol, `grad ${i}`));
        });
      });
    }
  }
});

describe('native algorithms for many channels match the reference (float32)', () => {
  // The op cases use few channels (direct and GEMM kernels); these shapes take Winograd
  // (3×3, stride 1) and im2col + GEMM (stride 2) on the native backend. Batch 1: a 7×7
  // stride-2 RGB stem whose 50×50 output is cut into four column blocks (im2col and col2im
  // split across threads), also given x as a transposed view, and a 7×7 plane with many
  // channels (ResNet's layer4 shape, smaller: GEMMs 49 columns wide, col2im by channels).
  const shapes: [string, number[], number[], k.Conv2dOptions, boolean?][] = [
    ['winograd', [2, 32, 7, 9], [32, 32, 3, 3], { padding: 1 }],
    ['winograd padding 2', [1, 40, 5, 6], [33, 40, 3, 3], { padding: [2, 0, 1, 2] }],
    ['gemm stride 2', [2, 24, 9, 8], [20, 24, 3, 3], { stride: 2, padding: 1 }],
    ['batch 1, 7×7 stride-2 stem', [1, 3, 100, 100], [8, 3, 7, 7], { stride: 2, padding: 3 }],
    ['batch 1, 7×7 stride-2 stem, x transposed', [1, 3, 101, 99], [8, 3, 7, 7], { stride: 2, padding: 3 }, true],
    ['batch 1, 7×7 plane, 96 → 128 channels', [1, 96, 7, 7], [128, 96, 3, 3], { padding: 1 }],
    // Stride 2 through the planes' phases: ResNet's downsampling 3×3 and 1×1, x transposed
    // (columns read from a view), and an odd plane with one-sided padding.
    ['resnet downsample 3×3 stride 2, x transposed', [2, 64, 16, 16], [128, 64, 3, 3], { stride: 2, padding: 1 }, true],
    ['resnet downsample 1×1 stride 2', [3, 32, 8, 8], [64, 32, 1, 1], { stride: 2 }],
    ['3×3 stride 2, odd plane, one-sided padding', [2, 6, 11, 9], [8, 6, 3, 3], { stride: 2, padding: [0, 1, 2, 0] }],
  ];
  for (const [name, xShape, wShape, options, transposed] of shapes) {
    it(name, () => {
      const run = (backend: k.BackendName) =>
        k.withBackend(backend, () => {
          const g = new k.Generator(11);
          const [x, w, b] = [k.randn(xShape, { generator: g }), k.randn(wShape, { generator: g }), k.randn([wShape[0]], { generator: g })];
          for (const t of [x, w, b]) t.requiresGrad_();
          const y = k.conv2d(transposed === true ? x.transpose(2, 3) : x, w, b, options);
          k.sum(k.mul(y, k.randn(y.shape, { generator: g }))).backward();
          return [y, x.grad!, w.grad!, b.grad!].map((t) => t.data);
        });
      const [native, reference] = [run('native'), run('reference')];
      native.forEach((data, i) => expectClose(data, reference[i], 1e-3, 1e-3, ['output', 'x grad', 'w grad', 'b grad'][i]));
    });
  }
});

describe('impossible configurations throw a ShapeError naming the sizes', () => {
  const x = k.randn([1, 4, 5, 5]);
  const cases: [string, () => unknown, RegExp][] = [
    ['kernel larger than padded input', () => k.conv2d(x, k.randn([2, 4, 7, 3])), /kernel 7×3 .* padded input 5×5/],
    ['dilated kernel too large', () => k.conv2d(x, k.randn([2, 4, 3, 3]), null, { dilation: 3 }), /dilated 7×7/],
    ['channels not divisible by groups', () => k.conv2d(x, k.randn([3, 2, 3, 3]), null, { groups: 2 }), /groups=2 .* 4 .* 3/],
    ['wrong weight channels', () => k.conv2d(x, k.randn([2, 3, 3, 3])), /weight \[2, 3, 3, 3\] .* input \[1, 4, 5, 5\]/],
    ['negative padding', () => k.conv2d(x, k.randn([2, 4, 3, 3]), null, { padding: -1 }), /padding/],
    ['same with stride', () => k.conv2d(x, k.randn([2, 4, 3, 3]), null, { padding: 'same', stride: 2 }), /'same' needs stride 1/],
    ['bias of the wrong size', () => k.conv2d(x, k.randn([2, 4, 3, 3]), k.randn([3])), /bias must have shape \[2\]/],
    ['wrong input rank', () => k.conv2d(k.randn([4, 5]), k.randn([2, 4, 3, 3])), /input must be \(N, C, H, W\)/],
    ['conv1d kernel too large', () => k.conv1d(k.randn([1, 2, 3]), k.randn([1, 2, 5])), /padded input 1×3/],
    ['convTranspose2d outputPadding', () => k.convTranspose2d(x, k.randn([4, 2, 3, 3]), null, { outputPadding: 1 }), /outputPadding/],
    ['convTranspose2d channels', () => k.convTranspose2d(x, k.randn([3, 2, 3, 3])), /expects 3 input channels/],
    ['pool kernel larger than input', () => k.maxPool2d(x, 6), /kernel 6×6 .* padded input 5×5/],
    ['pool padding over half the kernel', () => k.avgPool2d(x, 2, { padding: 2 }), /at most half the kernel/],
    ['zero stride', () => k.maxPool2d(x, 2, { stride: 0 }), /stride must be positive/],
    ['adaptive size 0', () => k.adaptiveAvgPool2d(x, 0), /outputSize must be positive/],
  ];
  for (const [name, fn, message] of cases) {
    it(name, () => {
      expect(fn).toThrow(ShapeError);
      expect(fn).toThrow(message);
    });
  }
});

describe('max pooling ties and NaN follow PyTorch', () => {
  it('the first maximum in window order takes the gradient', () => {
    const x = k.tensor([[[[1, 3, 3], [3, 2, 3], [0, 3, 1]]]]).requiresGrad_();
    for (const backend of ['native', 'reference'] as const) {
      k.withBackend(backend, () => {
        x.zeroGrad();
        const { values, indices } = k.maxPool2dWithIndices(x, 2, { stride: 1 });
        expect(values.toArray()).toEqual([[[[3, 3], [3, 3]]]]);
        expect(indices.toArray()).toEqual([[[[1, 1], [3, 5]]]]);
        k.sum(values).backward();
        expect(x.grad!.toArray()).toEqual([[[[0, 2, 0], [1, 0, 1], [0, 0, 0]]]]);
      });
    }
  });

  it('a NaN wins its window', () => {
    const x = k.tensor([[[1, NaN, 2, 5]]]);
    for (const backend of ['native', 'reference'] as const) {
      const { values, indices } = k.withBackend(backend, () => k.maxPool1dWithIndices(x, 2));
      expect(Number.isNaN(values.data[0])).toBe(true);
      expect(Array.from(indices.data)).toEqual([1, 3]);
    }
  });
});

describe('native geometry checks', () => {
  const addon = loadNativeAddon();
  const geometry = (patch: Record<number, number>) => {
    const g = Int32Array.of(2, 3, 5, 5, 4, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 3, 3);
    for (const [i, v] of Object.entries(patch)) g[Number(i)] = v;
    return g;
  };
  const conv = (g: Int32Array) => () => addon.conv2d(new Float32Array(150), new Float32Array(108), null, new Float32Array(72), g, 'float32');
  it('rejects inconsistent or out-of-range conv geometry with a RangeError', () => {
    expect(conv(Int32Array.of(1, 2, 3))).toThrow(/geometry must have 18 entries/);
    expect(conv(geometry({ 16: 4 }))).toThrow(/outH=4, outW=3 do not match .*expected 3x3/);
    expect(conv(geometry({ 15: 2 }))).toThrow(/groups=2 must divide c=3/);
    expect(conv(geometry({ 7: 0 }))).toThrow(/strideH must be >= 1/);
    expect(conv(geometry({ 9: -1 }))).toThrow(/padTop must be >= 0/);
    expect(conv(geometry({ 0: 3 }))).toThrow(/x has 150 elements/);
    expect(conv(geometry({ 5: 9, 16: 1 }))).toThrow(RangeError);
  });
  it('rejects max-pooling indices outside the plane', () => {
    const g = Int32Array.of(2, 4, 4, 2, 2, 2, 2, 0, 0, 1, 1, 2, 2);
    const indices = new Int32Array(8);
    indices[5] = 16;
    expect(() => addon.maxPool2dBackward(new Float32Array(8), indices, new Float32Array(32), g)).toThrow(
      /indices\[5\]=16 is outside \[0, h\*w=16\)/,
    );
    indices[5] = -1;
    expect(() => addon.maxPool2dBackward(new Float32Array(8), indices, new Float32Array(32), g)).toThrow(RangeError);
  });
  it('rejects pooling padding over half the kernel and average-pooling dilation', () => {
    const pool = (g: number[]) => () => addon.avgPool2d(new Float32Array(32), new Float32Array(8), Int32Array.from(g), true, 0);
    expect(pool([2, 4, 4, 2, 2, 2, 2, 2, 0, 1, 1, 2, 2])).toThrow(/at most half the kernel/);
    expect(pool([2, 4, 4, 2, 2, 2, 2, 0, 0, 2, 1, 2, 2])).toThrow(RangeError);
  });
});

describe('higher-order gradients', () => {
  it('conv2d backward with createGraph is differentiable (float64 gradcheck of the input gradient)', () => {
    const w = k.randn([3, 2, 3, 3], { dtype: 'float64', generator: new k.Generator(5) }).requiresGrad_();
    const x = k.randn([2, 2, 5, 4], { dtype: 'float64', generator: new k.Generator(6) }).requiresGrad_();
    // The input gradient of Σ conv2d(x, w)², itself a function of x and w (recorded with createGraph).
    const fn = (xi: Tensor, wi: Tensor) =>
      k.enableGrad(() => {
        const saved = [xi.grad, wi.grad];
        [xi.grad, wi.grad] = [null, null];
        k.sum(k.square(k.conv2d(xi, wi, null, { padding: 1, stride: [1, 2] }))).backward(undefined, { createGraph: true });
        const gx = xi.grad!;
        [xi.grad, wi.grad] = saved;
        return gx;
      });
    const result = k.gradcheck(fn, [x, w], { raiseException: false });
    expect(result.ok, result.worst).toBe(true);
  });
});

describe('nn layers', () => {
  it('Conv2d: parameter shapes, PyTorch default init bounds, stateDict keys, output shape', () => {
    const conv = new nn.Conv2d(6, 16, 5, { groups: 2, generator: new k.Generator(1) });
    expect(conv.weight.shape).toEqual([16, 3, 5, 5]);
    expect(Object.keys(conv.stateDict())).toEqual(['weight', 'bias']);
    const bound = 1 / Math.sqrt(3 * 25);
    expect(k.amax(k.abs(conv.weight)).item()).toBeLessThanOrEqual(bound);
    expect(k.amax(k.abs(conv.bias!)).item()).toBeLessThanOrEqual(bound);
    expect(k.amax(k.abs(conv.weight)).item()).toBeGreaterThan(0.9 * bound);
    expect(conv.forward(k.randn([2, 6, 14, 14])).shape).toEqual([2, 16, 10, 10]);
  });

  it('Conv1d and ConvTranspose2d: PyTorch weight layouts and output shapes', () => {
    const c1 = new nn.Conv1d(4, 8, 3, { padding: 'same', bias: false });
    expect(c1.weight.shape).toEqual([8, 4, 3]);
    expect(c1.bias).toBeNull();
    expect(c1.forward(k.randn([2, 4, 10])).shape).toEqual([2, 8, 10]);
    const t = new nn.ConvTranspose2d(8, 4, 2, { stride: 2 });
    expect(t.weight.shape).toEqual([8, 4, 2, 2]);
    expect(t.forward(k.randn([1, 8, 7, 7])).shape).toEqual([1, 4, 14, 14]);
  });

  it('rejects channel counts that groups do not divide', () => {
    expect(() => new nn.Conv2d(6, 16, 3, { groups: 4 })).toThrow(ShapeError);
  });

  it('pooling layers and F forms agree', () => {
    const x = k.randn([2, 3, 9, 9]);
    expect(new nn.MaxPool2d(3, { stride: 2 }).forward(x).toArray()).toEqual(F.maxPool2d(x, 3, { stride: 2 }).toArray());
    expect(new nn.AvgPool2d(2).forward(x).shape).toEqual([2, 3, 4, 4]);
    expect(new nn.AdaptiveAvgPool2d([2, 3]).forward(x).shape).toEqual([2, 3, 2, 3]);
  });

  it('a LeNet-style model trains one step (gradients reach every parameter)', () => {
    const model = new nn.Sequential(
      new nn.Conv2d(1, 6, 5, { padding: 2 }),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Conv2d(6, 16, 5),
      new nn.ReLU(),
      new nn.AdaptiveAvgPool2d(1),
      new nn.Flatten(),
      new nn.Linear(16, 10),
    );
    const loss = F.crossEntropy(model.forward(k.randn([4, 1, 28, 28])), k.tensor([1, 2, 3, 4]).int());
    loss.backward();
    for (const p of model.parameters()) expect(p.grad?.shape).toEqual(p.shape);
  });
});
