/**
 * nn.functional beyond the layer cases: the erf/expm1/log1p ops exact GELU, ELU and Softplus
 * rest on; the statistics of every dropout variant (mask rate, scaling, eval identity,
 * seeding); Embedding's padding row; stability at extreme inputs.
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { F, nn } from '../lib/index.js';
import { expectClose } from './helpers.js';

const f64 = (...v: number[]): k.Tensor => k.tensor(Float64Array.from(v));

describe('erf, expm1, log1p', () => {
  // erf values from Python's math.erf.
  const xs = [-3, -1, -1e-9, 0, 0.5, 1, 2.5, 4, 7];
  const erfs = [-0.9999779095030014, -0.8427007929497149, -1.1283791670955126e-9, 0, 0.5204998778130465, 0.8427007929497149, 0.999593047982555, 0.9999999845827421, 1];

  it('erf matches the C library on the reference backend (float64) and the native one (float32)', () => {
    k.withBackend('reference', () => expectClose(k.erf(f64(...xs)).data, erfs, 0, 1e-15, 'erf float64'));
    k.withBackend('native', () => expectClose(k.erf(k.tensor(xs)).data, erfs, 1e-7, 1e-6, 'erf float32'));
    k.withBackend('reference', () => {
      const special = k.erf(f64(NaN, Infinity, -Infinity)).data;
      expect(Array.from(special)).toEqual([NaN, 1, -1]);
    });
  });

  it('expm1 and log1p stay accurate near 0', () => {
    for (const backend of ['reference', 'native'] as const) {
      k.withBackend(backend, () => {
        const tiny = Math.fround(1e-10); // exp(x) − 1 and log(1 + x) would round this to 0
        expectClose(k.expm1(k.tensor([tiny])).data, [tiny], 0, 1e-6, 'expm1');
        expectClose(k.log1p(k.tensor([tiny])).data, [tiny], 0, 1e-6, 'log1p');
        expectClose(k.expm1(k.tensor([-2, 3])).data, [Math.expm1(-2), Math.expm1(3)], 1e-6, 1e-6);
        expectClose(k.log1p(k.tensor([0.5, 9])).data, [Math.log1p(0.5), Math.log1p(9)], 1e-6, 1e-6);
      });
    }
  });
});

describe('stability at extreme inputs', () => {
  it('softplus, elu, selu and gelu give finite values and gradients far from 0', () => {
    for (const fn of [(x: k.Tensor) => F.softplus(x), (x: k.Tensor) => F.elu(x), F.selu, (x: k.Tensor) => F.gelu(x), F.silu]) {
      const x = k.tensor([-1000, -50, 50, 1000], { requiresGrad: true });
      const y = fn(x);
      k.sum(y).backward();
      expect(Array.from(y.data).every(Number.isFinite)).toBe(true);
      expect(Array.from(x.grad!.data).every(Number.isFinite)).toBe(true);
    }
    expect(Array.from(F.softplus(k.tensor([-1000, 1000])).data)).toEqual([0, 1000]);
  });

  it("softplus has gradient 1/2 at 0, and elu has gradient α there (PyTorch's convention)", () => {
    const x = k.tensor([0], { requiresGrad: true });
    F.softplus(x).backward();
    expect(x.grad!.item()).toBeCloseTo(0.5, 7);
    x.zeroGrad();
    F.elu(x, 0.7).backward();
    expect(x.grad!.item()).toBeCloseTo(0.7, 7);
  });
});

describe('dropout statistics', () => {
  const n = 40_000;

  it('Dropout zeroes a fraction p and scales the rest by 1/(1 − p); eval and p = 0 are the identity', () => {
    const drop = new nn.Dropout(0.3, { generator: new k.Generator(5) });
    const x = k.ones([n]);
    const y = Array.from(drop.forward(x).data);
    const zeros = y.filter((v) => v === 0).length;
    expect(Math.abs(zeros / n - 0.3)).toBeLessThan(0.01);
    expect(y.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    drop.eval();
    expect(drop.forward(x)).toBe(x);
    expect(F.dropout(x, 0)).toBe(x);
    expect(Array.from(F.dropout(k.ones([4]), 1).data)).toEqual([0, 0, 0, 0]);
  });

  it('the same generator seed gives the same mask; the global seed is the default', () => {
    const x = k.ones([50]);
    const a = F.dropout(x, 0.5, true, new k.Generator(2));
    const b = F.dropout(x, 0.5, true, new k.Generator(2));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    k.manualSeed(9);
    const c = new nn.Dropout().forward(x);
    k.manualSeed(9);
    expect(Array.from(new nn.Dropout().forward(x).data)).toEqual(Array.from(c.data));
  });

  it('the gradient takes the forward mask (a counter hash of the seed); native and reference draw the same mask', () => {
    const run = (backend: k.BackendName): k.Tensor[] =>
      k.withBackend(backend, () => {
        const x = k.randn([3000], { generator: new k.Generator(1), requiresGrad: true });
        const y = F.dropout(x, 0.3, true, new k.Generator(4));
        y.mul(k.arange(3000).float()).sum().backward();
        return [x, y, x.grad!];
      });
    const [x, y, g] = run('reference');
    let dropped = 0;
    for (let i = 0; i < 3000; i++) {
      const kept = y.data[i] !== 0;
      dropped += kept ? 0 : 1;
      expect(y.data[i]).toBeCloseTo(kept ? x.data[i] / 0.7 : 0, 5);
      expect(g.data[i]).toBeCloseTo(kept ? i / 0.7 : 0, 3);
    }
    expect(Math.abs(dropped / 3000 - 0.3)).toBeLessThan(0.03);
    if (!k.isNativeAvailable()) return;
    const [, yn, gn] = run('native');
    expectClose(yn.data, y.data, 1e-6, 1e-6, 'native output');
    expectClose(gn.data, g.data, 1e-6, 1e-6, 'native gradient');
  });

  it('Dropout2d drops whole channels at rate p', () => {
    const y = F.dropout2d(k.ones([100, 100, 2, 2]), 0.25, true, new k.Generator(1));
    const planes = y.reshape([10_000, 4]).toArray() as number[][];
    expect(planes.every((p) => p.every((v) => v === p[0]))).toBe(true);
    const dropped = planes.filter((p) => p[0] === 0).length;
    expect(Math.abs(dropped / 10_000 - 0.25)).toBeLessThan(0.015);
    expect(planes.find((p) => p[0] !== 0)?.[0]).toBeCloseTo(1 / 0.75, 6);
  });

  it('AlphaDropout keeps zero mean and unit variance of standard normal inputs', () => {
    const x = k.randn([n], { generator: new k.Generator(4) });
    const y = F.alphaDropout(x, 0.2, true, new k.Generator(6));
    const mean = k.mean(y).item();
    const variance = k.variance(y).item();
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    // Every dropped unit lands on the same value a·(−λα) + b.
    const counts = new Map<number, number>();
    for (const v of y.data) counts.set(v, (counts.get(v) ?? 0) + 1);
    const [, most] = [...counts.entries()].reduce((best, e) => (e[1] > best[1] ? e : best));
    expect(Math.abs(most / n - 0.2)).toBeLessThan(0.01);
  });

  it('DropConnect drops a fraction p of the weights in training and is a plain Linear in eval', () => {
    const layer = new nn.DropConnect(200, 100, { p: 0.4, generator: new k.Generator(3) });
    k.sum(layer.forward(k.ones([1, 200]))).backward();
    const zeroGrads = Array.from(layer.weight.grad!.data).filter((v) => v === 0).length;
    expect(Math.abs(zeroGrads / layer.weight.numel - 0.4)).toBeLessThan(0.01);
    layer.eval();
    const plain = new nn.Linear(200, 100);
    plain.loadStateDict(layer.stateDict());
    const x = k.randn([3, 200]);
    expect(Array.from(layer.forward(x).data)).toEqual(Array.from(plain.forward(x).data));
  });
});

describe('Embedding padding', () => {
  it('the padding row starts at zero and receives no gradient', () => {
    const emb = new nn.Embedding(5, 3, { paddingIdx: 0 });
    const indices = k.tensor([[0, 2, 0], [4, 2, 1]], { dtype: 'int32' });
    const y = emb.forward(indices);
    expect(y.shape).toEqual([2, 3, 3]);
    expect(Array.from(y.data.slice(0, 3))).toEqual([0, 0, 0]);
    k.sum(y).backward();
    const grad = emb.weight.grad!.toArray() as number[][];
    expect(grad).toEqual([[0, 0, 0], [1, 1, 1], [2, 2, 2], [0, 0, 0], [1, 1, 1]]);
  });
});

describe('functional forms', () => {
  it('F.batchNorm without running statistics normalizes with the batch', () => {
    const x = k.tensor([[1, 10], [3, 30]]);
    const y = F.batchNorm(x, null, null, { eps: 0 });
    expectClose(y.data, [-1, -1, 1, 1], 1e-6);
  });

  it('F.linear checks shapes', () => {
    expect(() => F.linear(k.zeros([2, 3]), k.zeros([4, 2]))).toThrow(/must equal the weight's in-features 2/);
  });
});

describe('layerNorm (fused kernel)', () => {
  it('under createGraph its backward is differentiable: second derivatives match the composed formula', () => {
    k.withBackend('reference', () => {
      const make = (): k.Tensor[] => [[4, 6], [6], [6]].map((shape, i) => k.randn(shape, { dtype: 'float64', generator: new k.Generator(30 + i), requiresGrad: true }));
      const composed = (x: k.Tensor, w: k.Tensor, b: k.Tensor): k.Tensor => {
        const centered = x.sub(x.mean(-1, true));
        return centered.div(centered.square().mean(-1, true).add(1e-5).sqrt()).mul(w).add(b);
      };
      const secondOrder = (norm: (x: k.Tensor, w: k.Tensor, b: k.Tensor) => k.Tensor): number[][] => {
        const [x, w, b] = make();
        const loss = norm(x, w, b).mul(k.randn([4, 6], { dtype: 'float64', generator: new k.Generator(9) })).sum();
        const [gx, gw, gb] = k.autograd.grad(loss, [x, w, b], { createGraph: true });
        const penalty = gx.square().sum().add(gw.mul(gx.sum(0)).sum());
        const [hx, hw] = k.autograd.grad(penalty, [x, w]);
        return [gx, gw, gb, hx, hw].map((t) => Array.from(t.data));
      };
      const fused = secondOrder((x, w, b) => F.layerNorm(x, [6], { weight: w, bias: b }));
      const want = secondOrder(composed);
      fused.forEach((values, i) => expectClose(values, want[i], 1e-10, 1e-8, `result ${i}`));
    });
  });
});
