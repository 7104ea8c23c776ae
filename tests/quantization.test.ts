/**
 * int8 dynamic quantization (lib/quantization, native/kernels/qgemm): quantizeDynamic and
 * DynamicQuantizedLinear against PyTorch 1.13 (tests/fixtures/torch/gen_quantized.py), against
 * the float Linear within the derived quantization error bound, native against the reference
 * backend (non-contiguous and batched inputs), errors, state, and the LeNet main job's model
 * keeping its test accuracy.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { F, data, io, models, nn, noGrad, optim, quantization, Tensor } from '../lib/index.js';
import { chooseActivationQuantization } from '../lib/backend/reference/quantized.js';

interface FixtureCase {
  name: string;
  inFeatures: number;
  outFeatures: number;
  qscheme: quantization.WeightQScheme;
  xShape: number[];
  x: number[];
  weight: number[];
  bias: number[] | null;
  qweight: number[];
  scales: number[];
  out: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/quantized.json', import.meta.url), 'utf8')) as { cases: FixtureCase[] };

const f32 = (values: ArrayLike<number>, shape: number[]): Tensor => new Tensor(Float32Array.from(values), shape, 'float32');

/** An nn.Linear holding the given float weights. */
function linearWith(inFeatures: number, outFeatures: number, weight: ArrayLike<number>, bias: ArrayLike<number> | null): nn.Linear {
  const layer = new nn.Linear(inFeatures, outFeatures, { bias: bias !== null });
  noGrad(() => {
    layer.weight.copy_(f32(weight, [outFeatures, inFeatures]));
    if (bias !== null) layer.bias!.copy_(f32(bias, [outFeatures]));
  });
  return layer;
}

/** min and max of x. */
function range(x: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) [lo, hi] = [Math.min(lo, x[i]), Math.max(hi, x[i])];
  return [lo, hi];
}

/** Uniform values in [lo, hi) from a seeded generator. */
function uniform(shape: number[], lo: number, hi: number, seed: number): Tensor {
  return k.rand(shape, { generator: new k.Generator(seed) }).mul(hi - lo).add(lo);
}

describe.each(['native', 'reference'] as const)('quantizeDynamic against PyTorch 1.13 (%s backend)', (backend) => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      k.withBackend(backend, () => {
        const q = quantization.quantizeDynamic(linearWith(c.inFeatures, c.outFeatures, c.weight, c.bias), { qscheme: c.qscheme }) as quantization.DynamicQuantizedLinear;
        // Weights: the same int8 values and scales as PyTorch's observers and quantize_per_*.
        expect(Array.from(q.getBuffer('weight')!.data as Int8Array)).toEqual(c.qweight);
        expect(Array.from(q.getBuffer('scale')!.data as Float32Array)).toEqual(c.scales);
        // Output: within one quantization step of the output, x_scale · w_scale[j] · max_k |w_q[j, k]|
        // (one activation rounded the other way), for every element.
        const out = noGrad(() => q.forward(f32(c.x, c.xShape))).data as Float32Array;
        const xScale = chooseActivationQuantization(...range(Float32Array.from(c.x))).scale;
        let worst = 0;
        for (let i = 0; i < out.length; i++) {
          const j = i % c.outFeatures;
          const row = c.qweight.slice(j * c.inFeatures, (j + 1) * c.inFeatures);
          const step = xScale * c.scales[j] * Math.max(...row.map(Math.abs));
          worst = Math.max(worst, Math.abs(out[i] - c.out[i]) / step);
        }
        expect(worst).toBeLessThanOrEqual(1);
      });
    });
  }
});

describe('DynamicQuantizedLinear against the float Linear', () => {
  // x w − x̂ ŵ = e_x ŵ + x̂ e_w + e_x e_w with |e_x| ≤ x_scale / 2 and |e_w| ≤ w_scale / 2, so
  // |y − ŷ| ≤ x_scale / 2 · Σ|ŵ| + w_scale / 2 · Σ|x̂| + k · x_scale · w_scale / 4 per output.
  for (const qscheme of ['perChannelSymmetric', 'perTensorSymmetric'] as const) {
    it(`stays inside the derived quantization error bound (${qscheme})`, () => {
      const [m, kIn, n] = [9, 300, 37];
      const layer = new nn.Linear(kIn, n, { generator: new k.Generator(5) });
      const x = uniform([m, kIn], -2, 3, 6);
      const q = quantization.DynamicQuantizedLinear.fromFloat(layer, { qscheme });
      const exact = noGrad(() => layer.forward(x)).data as Float32Array;
      const got = noGrad(() => q.forward(x)).data as Float32Array;
      const xs = x.data as Float32Array;
      const wq = q.getBuffer('weight')!.data as Int8Array;
      const ws = q.getBuffer('scale')!.data as Float32Array;
      const xScale = chooseActivationQuantization(...range(xs)).scale;
      let used = 0;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sumW = 0;
          let sumX = 0;
          for (let p = 0; p < kIn; p++) {
            sumW += Math.abs(wq[j * kIn + p]) * ws[j];
            sumX += Math.abs(xs[i * kIn + p]) + xScale / 2;
          }
          const bound = (xScale / 2) * sumW + (ws[j] / 2) * sumX + (kIn * xScale * ws[j]) / 4 + 1e-5;
          const error = Math.abs(got[i * n + j] - exact[i * n + j]);
          expect(error).toBeLessThanOrEqual(bound);
          used = Math.max(used, error / bound);
        }
      }
      expect(used).toBeGreaterThan(0.01); // the bound is not vacuous: errors reach a visible part of it
    });
  }
});

describe('DynamicQuantizedLinear: native against the reference backend', () => {
  const layer = new nn.Linear(70, 45, { generator: new k.Generator(9) });
  const q = quantization.DynamicQuantizedLinear.fromFloat(layer);
  const inputs: [string, () => Tensor][] = [
    ['contiguous (13, 70)', () => uniform([13, 70], -1, 4, 1)],
    ['batched (2, 3, 70)', () => uniform([2, 3, 70], -3, 1, 2)],
    ['a transposed view (70, 6)ᵀ', () => uniform([70, 6], -2, 2, 3).transpose(0, 1)],
    ['one row', () => uniform([1, 70], 0, 1, 4)],
    ['a slice with a storage offset', () => uniform([10, 70], -1, 1, 5).slice(0, 3, 8)],
    ['an empty batch (0, 70)', () => k.zeros([0, 70])],
  ];
  for (const [name, make] of inputs) {
    it(name, () => {
      const x = make();
      const native = noGrad(() => k.withBackend('native', () => q.forward(x)));
      const reference = noGrad(() => k.withBackend('reference', () => q.forward(x)));
      expect(native.shape).toEqual([...x.shape.slice(0, -1), 45]);
      const a = native.data as Float32Array;
      const b = reference.data as Float32Array;
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(b[i])));
    });
  }

  it('runs inside kiln.async (packing and the product queued) with the synchronous result', async () => {
    const fresh = quantization.DynamicQuantizedLinear.fromFloat(new nn.Linear(70, 45, { generator: new k.Generator(10) }));
    const x = uniform([64, 70], -1, 2, 6);
    const queued = await k.withBackend('native', () => k.async(() => noGrad(() => fresh.forward(x)))); // packs on first use
    const expected = noGrad(() => k.withBackend('native', () => fresh.forward(x)));
    expect(Array.from(queued.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
  });

  it('packs the weights into the same bytes', () => {
    const w = q.getBuffer('weight')!.data as Int8Array;
    const packs = (['native', 'reference'] as const).map((name) => {
      const packed = new Int8Array(16 * 3 * 72);
      const sums = new Int32Array(45);
      k.withBackend(name, () => k.getBackend()).qlinearPackWeights(w, 45, 70, packed, sums);
      return [Array.from(packed), Array.from(sums)];
    });
    expect(packs[0]).toEqual(packs[1]);
  });
});

describe('quantizeDynamic on models', () => {
  const makeModel = (): nn.Sequential =>
    new nn.Sequential(new nn.Linear(20, 16, { generator: new k.Generator(1) }), new nn.ReLU(), new nn.Linear(16, 4, { generator: new k.Generator(2) }));

  it('returns a quantized copy and leaves the model untouched', () => {
    const model = makeModel();
    const before = Array.from((model.at(0) as nn.Linear).weight.data as Float32Array);
    const qmodel = quantization.quantizeDynamic(model, { dtype: 'qint8', modules: [nn.Linear] }) as nn.Sequential;
    expect(qmodel.at(0)).toBeInstanceOf(quantization.DynamicQuantizedLinear);
    expect(qmodel.at(2)).toBeInstanceOf(quantization.DynamicQuantizedLinear);
    expect(model.at(0)).toBeInstanceOf(nn.Linear);
    expect(Array.from((model.at(0) as nn.Linear).weight.data as Float32Array)).toEqual(before);
    expect(qmodel.training).toBe(false);
    expect(qmodel.parameters()).toHaveLength(0);
    expect(Object.keys(qmodel.stateDict())).toEqual(['0.weight', '0.scale', '0.bias', '2.weight', '2.scale', '2.bias']);
    expect(qmodel.stateDict()['0.weight'].dtype).toBe('int8');
    const x = uniform([5, 20], -1, 1, 3);
    const close = noGrad(() => [model.forward(x), qmodel.forward(x)]);
    const [a, b] = close.map((t) => t.data as Float32Array);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(0.02);
  });

  it('quantizes only the submodules named, and a bare Linear itself', () => {
    const qmodel = quantization.quantizeDynamic(makeModel(), { modules: ['2'] }) as nn.Sequential;
    expect(qmodel.at(0)).toBeInstanceOf(nn.Linear);
    expect(qmodel.at(2)).toBeInstanceOf(quantization.DynamicQuantizedLinear);
    expect(quantization.quantizeDynamic(new nn.Linear(3, 2))).toBeInstanceOf(quantization.DynamicQuantizedLinear);
  });

  it('keeps a Linear shared by two parents shared', () => {
    const shared = new nn.Linear(4, 4);
    const model = new nn.Sequential(shared, new nn.Sequential(shared));
    const qmodel = quantization.quantizeDynamic(model) as nn.Sequential;
    expect((qmodel.at(1) as nn.Sequential).at(0)).toBe(qmodel.at(0));
  });

  it('saves and loads its int8 state through safetensors, repacking the loaded weights', () => {
    const qmodel = quantization.quantizeDynamic(makeModel());
    const other = quantization.quantizeDynamic(new nn.Sequential(new nn.Linear(20, 16), new nn.ReLU(), new nn.Linear(16, 4)));
    const x = uniform([3, 20], -1, 1, 8);
    const dir = mkdtempSync(join(tmpdir(), 'kiln-int8-'));
    try {
      const before = noGrad(() => other.forward(x)).data; // packs other's original weights
      io.saveStateDict(join(dir, 'q.safetensors'), qmodel);
      other.loadStateDict(io.loadStateDict(join(dir, 'q.safetensors')));
      const [a, b] = noGrad(() => [qmodel.forward(x), other.forward(x)]).map((t) => Array.from(t.data as Float32Array));
      expect(b).toEqual(a);
      expect(Array.from(before as Float32Array)).not.toEqual(a);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('quantizeDynamic / DynamicQuantizedLinear: bad input', () => {
  const q = quantization.DynamicQuantizedLinear.fromFloat(new nn.Linear(8, 3));

  it('names the layer, the shapes and dtypes, and what was expected', () => {
    expect(() => q.forward(k.zeros([2, 8], { dtype: 'float64' }))).toThrow('DynamicQuantizedLinear: expected a float32 input, got float64 of shape [2, 8]');
    expect(() => q.forward(k.zeros([2, 7]))).toThrow(/DynamicQuantizedLinear\(inFeatures=8, outFeatures=3, .*\): input of shape \[2, 7\] has 7 features, expected 8/);
    expect(() => q.forward(null as unknown as Tensor)).toThrow('DynamicQuantizedLinear: x must be a Tensor, got null');
    expect(() => q.forward(k.zeros([2, 8], { requiresGrad: true }))).toThrow(/DynamicQuantizedLinear: the input of shape \[2, 8\] requires grad, but a quantized layer has no backward/);
    expect(() => q.forward(f32([1, 2, 3, NaN, 5, 6, 7, 8], [1, 8]))).toThrow('qlinearDynamic: x holds NaN or infinity, which has no int8 quantization');
    expect(() => k.withBackend('reference', () => q.forward(f32([1, 2, 3, Infinity, 5, 6, 7, 8], [1, 8])))).toThrow('qlinearDynamic: x holds NaN or infinity');
  });

  it('refuses training', () => {
    expect(() => q.train()).toThrow(/train\(\) is not supported: a dynamic-quantized model runs inference only/);
    const qmodel = quantization.quantizeDynamic(new nn.Sequential(new nn.Linear(2, 2)));
    expect(() => qmodel.train()).toThrow(/inference only/);
    expect(qmodel.eval().training).toBe(false);
    expect(nn.deepCopy(q).training).toBe(false);
    const x = uniform([3, 8], -1, 1, 4);
    const float64Buffers = nn.deepCopy(q).double(); // scale and bias become float64, the int8 weight stays
    expect(Array.from(noGrad(() => float64Buffers.forward(x)).data)).toEqual(Array.from(noGrad(() => q.forward(x)).data));
    expect(() => nn.deepCopy(q).train()).toThrow(/inference only/);
  });

  it('rejects unsupported options, layers and weights', () => {
    const model = new nn.Sequential(new nn.Linear(2, 2));
    expect(() => quantization.quantizeDynamic({} as nn.Module)).toThrow('quantizeDynamic: model must be a Module, got an object (Object)');
    expect(() => quantization.quantizeDynamic(model, { dtype: 'float16' as 'qint8' })).toThrow("quantizeDynamic: dtype must be 'qint8'");
    expect(() => quantization.quantizeDynamic(model, { modules: [nn.GRU] })).toThrow('quantizeDynamic: GRU cannot be dynamically quantized; only nn.Linear and nn.LSTM are supported');
    expect(() => quantization.quantizeDynamic(model, { modules: ['fc9'] })).toThrow("quantizeDynamic: the model has no submodule 'fc9'");
    expect(() => quantization.quantizeDynamic(model, { qscheme: 'perRow' as 'perChannelSymmetric' })).toThrow('quantizeDynamic: qscheme must be one of');
    const broken = new nn.Linear(3, 2);
    noGrad(() => broken.weight.fill_(NaN));
    expect(() => quantization.quantizeDynamic(broken)).toThrow('quantizeDynamic: Linear(3, 2) has a NaN or infinite weight');
    expect(() => new quantization.DynamicQuantizedLinear(70000, 1, k.zeros([1, 70000], { dtype: 'int8' }), k.zeros([1]), null)).toThrow(
      'DynamicQuantizedLinear: inFeatures=70000 exceeds 65536',
    );
    expect(() => new quantization.DynamicQuantizedLinear(4, 2, k.zeros([2, 4], { dtype: 'int8' }), k.zeros([2]), null)).toThrow(
      'DynamicQuantizedLinear: scale must hold finite positive values',
    );
    expect(() => new quantization.DynamicQuantizedLinear(4, 2, k.zeros([2, 4]), k.zeros([2]), null)).toThrow(
      'DynamicQuantizedLinear: weight must be a int8 Tensor of shape [2, 4], got float32 of shape [2, 4]',
    );
  });
});

describe('the LeNet main job model, dynamic-quantized', () => {
  const EPOCHS = 3;
  it(`keeps its Fashion-MNIST test accuracy within 0.5 points (embedded subset, ${EPOCHS} epochs)`, () => {
    k.manualSeed(20);
    const normalize = (t: Tensor): Tensor => t.sub(0.286).div(0.353);
    const trainSet = data.loadFashionMnist({ split: 'train', full: false });
    const testSet = data.loadFashionMnist({ split: 'test', full: false });
    const model = models.lenet5();
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.02, momentum: 0.9 });
    for (let epoch = 0; epoch < EPOCHS; epoch++) {
      const order = Int32Array.from(data.randperm(trainSet.labels.shape[0], new k.Generator(3 + epoch)));
      for (let start = 0; start < order.length; start += 64) {
        const batch = k.tensor(order.subarray(start, start + 64), { dtype: 'int32' });
        const loss = F.crossEntropy(model.forward(normalize(trainSet.images.indexSelect(0, batch))), trainSet.labels.indexSelect(0, batch));
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
      }
    }
    model.eval();
    const qmodel = quantization.quantizeDynamic(model);
    const accuracy = (m: nn.Module): number =>
      noGrad(() => {
        const predicted = (m.forward(normalize(testSet.images)) as Tensor).argmax(1).data as Int32Array;
        const labels = testSet.labels.data as Int32Array;
        return (100 * predicted.filter((p, i) => p === labels[i]).length) / labels.length;
      });
    const [floatAccuracy, int8Accuracy] = [accuracy(model), accuracy(qmodel)];
    console.log(`LeNet-5, ${EPOCHS} epochs on the embedded subset: float32 ${floatAccuracy.toFixed(2)}%, int8 dynamic ${int8Accuracy.toFixed(2)}% (${testSet.labels.shape[0]} test images)`);
    expect(floatAccuracy).toBeGreaterThan(75);
    expect(Math.abs(int8Accuracy - floatAccuracy)).toBeLessThanOrEqual(0.5);
  }, 120_000);
});
