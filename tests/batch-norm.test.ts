/**
 * The fused batch norm (lib/ops/batch-norm.ts, Backend.batchNorm / batchNormBackward) that
 * F.batchNorm uses with the batch's statistics: against PyTorch 1.13 (output, running
 * statistics, gradients; tests/fixtures/torch/gen_batch_norm.py), a float64 gradcheck, native
 * against reference (non-contiguous inputs, many channels), second derivatives under
 * createGraph, and bad arguments.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { F, type Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

interface Stored {
  shape: number[];
  data: number[];
}
interface FixtureCase {
  name: string;
  settings: { affine: boolean; momentum: number; eps: number };
  inputs: Record<'x' | 'gy' | 'weight' | 'bias', Stored>;
  outputs: Record<string, Stored>;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/batch_norm.json', import.meta.url), 'utf8')) as { cases: FixtureCase[] };

function stored(s: Stored, dtype: k.FloatDType, requiresGrad = false): Tensor {
  const t = k.tensor(dtype === 'float64' ? Float64Array.from(s.data) : Float32Array.from(s.data), { shape: s.shape });
  return requiresGrad ? t.requiresGrad_() : t;
}

/** Runs a training-mode batch norm of the case and returns everything the fixture holds. */
function runCase(c: FixtureCase, dtype: k.FloatDType): Record<string, Tensor> {
  const x = stored(c.inputs.x, dtype, true);
  const channels = c.inputs.weight.shape[0];
  const [weight, bias] = c.settings.affine ? [stored(c.inputs.weight, dtype, true), stored(c.inputs.bias, dtype, true)] : [null, null];
  const runningMean = k.zeros([channels], { dtype });
  const runningVar = k.ones([channels], { dtype });
  const y = F.batchNorm(x, runningMean, runningVar, { weight, bias, training: true, momentum: c.settings.momentum, eps: c.settings.eps });
  y.backward(stored(c.inputs.gy, dtype));
  return { y, gx: x.grad!, running_mean: runningMean, running_var: runningVar, ...(weight !== null && { gw: weight.grad!, gb: bias!.grad! }) };
}

describe('F.batchNorm in training matches PyTorch 1.13', () => {
  for (const c of fixture.cases) {
    for (const [backend, dtype, atol] of [['reference', 'float64', 1e-10], ['native', 'float32', 2e-4]] as const) {
      it(`${c.name} (${backend}, ${dtype}): output, running statistics, gradients of x, weight and bias`, () => k.withBackend(backend, () => {
        const got = runCase(c, dtype);
        expect(Object.keys(got).sort()).toEqual(Object.keys(c.outputs).sort());
        for (const [key, want] of Object.entries(c.outputs)) {
          expect(got[key].shape, `${c.name} ${key}`).toEqual(want.shape);
          expectClose(got[key].data, want.data, atol, atol, `${c.name} ${key}`);
        }
      }));
    }
  }
});

describe('F.batchNorm in training (fused kernel)', () => {
  const gen = (seed: number): k.Generator => new k.Generator(seed);

  it('passes a float64 gradcheck in x, weight and bias (4-D and 2-D inputs, with and without affine)', () => k.withBackend('reference', () => {
    for (const shape of [[3, 2, 2, 3], [5, 3]]) {
      const c = shape[1];
      const x = k.randn(shape, { dtype: 'float64', generator: gen(1), requiresGrad: true });
      const w = k.randn([c], { dtype: 'float64', generator: gen(2), requiresGrad: true });
      const b = k.randn([c], { dtype: 'float64', generator: gen(3), requiresGrad: true });
      // A weighted sum, so the gradient of x is not identically zero (Σ of a normalized batch is constant).
      const weights = k.randn(shape, { dtype: 'float64', generator: gen(4) });
      const affine = k.gradcheck((xi, wi, bi) => F.batchNorm(xi, null, null, { weight: wi, bias: bi, training: true }).mul(weights).sum(), [x, w, b]);
      expect(affine.ok).toBe(true);
      const plain = k.gradcheck((xi) => F.batchNorm(xi, null, null, { training: true, eps: 1e-3 }).mul(weights).sum(), [x]);
      expect(plain.ok).toBe(true);
    }
  }));

  it('native float32 matches the reference in float64, for contiguous and non-contiguous inputs and 70 channels', () => {
    const cases: { shape: number[]; permute?: number[]; affine: boolean }[] = [
      { shape: [8, 70, 5, 7], affine: true },
      { shape: [8, 5, 7, 70], permute: [0, 3, 1, 2], affine: true }, // channels last in memory
      { shape: [16, 9], affine: false },
      { shape: [4, 6, 33], affine: true },
    ];
    for (const { shape, permute, affine } of cases) {
      const results = (['native', 'reference'] as const).map((backend) => k.withBackend(backend, () => {
        const dtype = backend === 'native' ? 'float32' : 'float64';
        const base = k.randn(shape, { generator: gen(5) }).mul(3).add(2).to(dtype).requiresGrad_();
        const x = permute === undefined ? base : base.permute(permute);
        const c = x.shape[1];
        const [w, b] = affine ? [6, 7].map((s) => k.randn([c], { generator: gen(s) }).to(dtype).requiresGrad_()) : [null, null];
        const [rm, rv] = [k.zeros([c], { dtype }), k.ones([c], { dtype })];
        const y = F.batchNorm(x, rm, rv, { weight: w, bias: b, training: true });
        y.backward(k.randn(x.shape, { generator: gen(8) }).to(dtype));
        return [y, rm, rv, base.grad!, ...(w === null ? [] : [w.grad!, b!.grad!])].map((t) => Array.from(t.contiguous().data as Float32Array));
      }));
      const [native, reference] = results;
      native.forEach((values, i) => expectClose(values, reference[i], 2e-4, 2e-4, `${shape.join('×')} result ${i}`));
    }
  });

  it('is bit-identical on 1 and 2 threads (each channel summed by one thread)', () => k.withBackend('native', () => {
    const run = (): number[][] => {
      const x = k.randn([4, 32, 9, 9], { generator: gen(11), requiresGrad: true });
      const w = k.randn([32], { generator: gen(12), requiresGrad: true });
      F.batchNorm(x, null, null, { weight: w, training: true }).mul(k.randn([4, 32, 9, 9], { generator: gen(13) })).sum().backward();
      return [x.grad!, w.grad!].map((t) => Array.from(t.data));
    };
    const threads = k.getNumThreads();
    try {
      k.setNumThreads(1);
      const one = run();
      k.setNumThreads(2);
      expect(run()).toEqual(one);
    } finally {
      k.setNumThreads(threads);
    }
  }));

  it('under createGraph its backward is differentiable: second derivatives match the composed formula', () => k.withBackend('reference', () => {
    const shape = [3, 2, 2, 2];
    const composed = (x: Tensor, w: Tensor, b: Tensor): Tensor => {
      const centered = x.sub(x.mean([0, 2, 3], true));
      const y = centered.div(centered.square().mean([0, 2, 3], true).add(1e-5).sqrt());
      return y.mul(w.reshape([2, 1, 1])).add(b.reshape([2, 1, 1]));
    };
    const secondOrder = (norm: (x: Tensor, w: Tensor, b: Tensor) => Tensor): number[][] => {
      const [x, w, b] = [shape, [2], [2]].map((s, i) => k.randn(s, { dtype: 'float64', generator: gen(20 + i), requiresGrad: true }));
      const loss = norm(x, w, b).mul(k.randn(shape, { dtype: 'float64', generator: gen(9) })).sum();
      const [gx, gw, gb] = k.autograd.grad(loss, [x, w, b], { createGraph: true });
      const penalty = gx.square().sum().add(gw.mul(gb).sum());
      const [hx, hw] = k.autograd.grad(penalty, [x, w]);
      return [gx, gw, gb, hx, hw].map((t) => Array.from(t.data));
    };
    const fused = secondOrder((x, w, b) => F.batchNorm(x, null, null, { weight: w, bias: b, training: true }));
    const want = secondOrder(composed);
    fused.forEach((values, i) => expectClose(values, want[i], 1e-10, 1e-8, `result ${i}`));
  }));
});
