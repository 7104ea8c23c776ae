/**
 * Optimizers: every optimizer against 5 steps of PyTorch 1.13 (fixtures/torch/optim.json, made
 * by gen_optim.py) in float64 and float32 on both backends, native-vs-reference parity of
 * the fused kernels on large parameters, parameter groups, state dicts, clipping, penalties
 * and constraints.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { optim } from '../lib/index.js';
import { camelCase } from '../lib/optim/optimizer.js';
import { expectClose } from './helpers.js';

interface OptimCase {
  optimizer: string;
  options: Record<string, unknown>;
  params: number[][][];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/optim.json', import.meta.url), 'utf8')) as {
  param: number[][];
  grads: number[][][];
  cases: OptimCase[];
};

type AnyOptimizer = optim.Optimizer<{ lr: number }>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const CLASSES: Record<string, new (params: Tensor[], options: any) => AnyOptimizer> = {
  SGD: optim.SGD,
  Adagrad: optim.Adagrad,
  RMSprop: optim.RMSprop,
  Adadelta: optim.Adadelta,
  Adam: optim.Adam,
  AdamW: optim.AdamW,
  NAdam: optim.NAdam,
  Adamax: optim.Adamax,
};

/** PyTorch's options with kiln's (camelCase) names. */
const kilnOptions = (options: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(options).map(([key, value]) => [camelCase(key), value]));

function runCase(c: OptimCase, dtype: 'float32' | 'float64'): number[][] {
  const p = k.tensor(fixture.param, { dtype, requiresGrad: true });
  const opt = new CLASSES[c.optimizer]([p], kilnOptions(c.options));
  return fixture.grads.map((g) => {
    p.grad = k.tensor(g, { dtype });
    opt.step();
    return Array.from(p.data);
  });
}

describe('optimizers match PyTorch 1.13', () => {
  for (const c of fixture.cases) {
    const label = `${c.optimizer} ${JSON.stringify(c.options)}`;
    it(`${label}: float64`, () => {
      const steps = k.withBackend('reference', () => runCase(c, 'float64'));
      steps.forEach((actual, s) => expectClose(actual, c.params[s].flat(), 1e-12, 1e-10, `step ${s + 1}`));
    });
    for (const backend of ['native', 'reference'] as const) {
      it(`${label}: float32 on ${backend}`, () => {
        const steps = k.withBackend(backend, () => runCase(c, 'float32'));
        steps.forEach((actual, s) => expectClose(actual, c.params[s].flat(), 2e-6, 2e-5, `step ${s + 1}`));
      });
    }
  }
});

describe('fused kernels: native vs reference on large float32 parameters', () => {
  const n = 50_003; // several chunks of the thread pool, and an odd tail
  for (const c of fixture.cases) {
    it(`${c.optimizer} ${JSON.stringify(c.options)}`, () => {
      const run = (backend: k.BackendName): Float32Array =>
        k.withBackend(backend, () => {
          const g = new k.Generator(5);
          const p = k.randn([n], { generator: g }).requiresGrad_();
          const opt = new CLASSES[c.optimizer]([p], kilnOptions(c.options));
          for (let s = 0; s < 3; s++) {
            p.grad = k.randn([n], { generator: g });
            opt.step();
          }
          return p.data as Float32Array;
        });
      expectClose(run('native'), run('reference'), 1e-5, 1e-4, 'param');
    });
  }
});

describe('parameter groups', () => {
  const grads = [k.tensor([1, -2, 3]), k.tensor([0.5, 0.5])];
  const makeParams = (): Tensor[] => [k.tensor([1, 2, 3]).requiresGrad_(), k.tensor([4, 5]).requiresGrad_()];

  it('per-group options override the defaults', () => {
    const [a, b] = makeParams();
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    [a.grad, b.grad] = grads;
    opt.step();
    expectClose(a.data, [0.9, 2.2, 2.7]);
    expectClose(b.data, [3.75, 4.75]);
    expect(opt.paramGroups[1].lr).toBe(0.5);
    expect(opt.paramGroups[1].momentum).toBe(0);
  });

  it('an lr 0 group is frozen (transfer learning)', () => {
    const [a, b] = makeParams();
    const opt = new optim.Adam([{ params: [a], lr: 0 }, { params: [b] }], { lr: 0.1 });
    [a.grad, b.grad] = grads;
    opt.step();
    expect(Array.from(a.data)).toEqual([1, 2, 3]);
    expect(Array.from(b.data)).not.toEqual([4, 5]);
  });

  it('parameters without a gradient are skipped', () => {
    const [a, b] = makeParams();
    const opt = new optim.SGD([a, b], { lr: 1 });
    a.grad = grads[0];
    opt.step();
    expect(Array.from(b.data)).toEqual([4, 5]);
    expect(opt.state.has(b)).toBe(false);
  });

  it('zeroGrad sets gradients to null, or to zeros', () => {
    const [a] = makeParams();
    const opt = new optim.SGD([a], { lr: 1 });
    a.grad = k.tensor([1, 1, 1]);
    opt.zeroGrad(false);
    expect(Array.from(a.grad.data)).toEqual([0, 0, 0]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
  });

  it('step(closure) evaluates the closure with grad enabled and returns its loss', () => {
    const w = k.tensor([2]).requiresGrad_();
    const opt = new optim.SGD([w], { lr: 0.25 });
    const loss = k.noGrad(() =>
      opt.step(() => {
        opt.zeroGrad();
        const l = k.sum(k.square(w));
        l.backward();
        return l;
      }),
    );
    expect((loss as Tensor).item()).toBe(4);
    expect(w.data[0]).toBe(1);
  });

  it('rejects bad options and bad parameter lists with a clear error', () => {
    const [a, b] = makeParams();
    expect(() => new optim.SGD([a], { lr: -1 })).toThrow(/SGD: invalid lr -1/);
    expect(() => new optim.SGD([a], { lr: 0.1, nesterov: true })).toThrow(/Nesterov momentum requires a momentum > 0/);
    expect(() => new optim.Adam([a], { betas: [1, 0.9] })).toThrow(/Adam: invalid beta1 1/);
    expect(() => new optim.SGD([{ params: [a] }, { params: [a, b] }], { lr: 1 })).toThrow(/more than one parameter group/);
    expect(() => new optim.Adam([])).toThrow(/empty parameter list/);
    expect(() => new optim.Adam([k.tensor([1], { dtype: 'int32' })])).toThrow(/only optimize float tensors/);
  });
});

describe('stateDict / loadStateDict', () => {
  const step = (opt: AnyOptimizer, p: Tensor, s: number): void => {
    p.grad = k.tensor([Math.sin(s), Math.cos(s), 0.5 * s]);
    opt.step();
  };

  it('PyTorch layout: state per parameter index, param_groups with snake_case hyperparameters', () => {
    const p = k.tensor([1, 2, 3]).requiresGrad_();
    const opt = new optim.Adam([p], { lr: 0.01, amsgrad: true });
    step(opt, p, 1);
    const sd = opt.stateDict();
    expect(Object.keys(sd.state[0]).sort()).toEqual(['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', 'step']);
    expect(sd.state[0].step).toBe(1);
    expect(sd.param_groups[0]).toMatchObject({ lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0, amsgrad: true, params: [0] });
  });

  for (const [name, make] of Object.entries({
    'SGD momentum': (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.1, momentum: 0.9 }),
    NAdam: (ps: Tensor[]) => new optim.NAdam(ps),
    'RMSprop centered': (ps: Tensor[]) => new optim.RMSprop(ps, { centered: true, momentum: 0.5 }),
    Adagrad: (ps: Tensor[]) => new optim.Adagrad(ps),
  })) {
    it(`${name}: a restored optimizer continues exactly like the original`, () => {
      const p1 = k.tensor([1, 2, 3]).requiresGrad_();
      const opt1 = make([p1]) as AnyOptimizer;
      for (let s = 0; s < 2; s++) step(opt1, p1, s);
      const p2 = k.tensor(Array.from(p1.data)).requiresGrad_();
      const opt2 = make([p2]) as AnyOptimizer;
      opt2.loadStateDict(opt1.stateDict());
      for (let s = 2; s < 5; s++) {
        step(opt1, p1, s);
        step(opt2, p2, s);
      }
      expect(Array.from(p2.data)).toEqual(Array.from(p1.data));
    });
  }

  it('loadStateDict names mismatched groups, counts and shapes', () => {
    const p = k.tensor([1, 2, 3]).requiresGrad_();
    const opt = new optim.Adam([p]);
    step(opt, p, 1);
    const sd = opt.stateDict();
    const q = k.tensor([1, 2]).requiresGrad_();
    expect(() => new optim.Adam([{ params: [q] }, { params: [k.tensor([1]).requiresGrad_()] }]).loadStateDict(sd)).toThrow(
      /state dict has 1 parameter groups but the optimizer has 2/,
    );
    expect(() => new optim.Adam([q, k.tensor([1]).requiresGrad_()]).loadStateDict(sd)).toThrow(/group 0 has 1 parameters in the state dict but 2/);
    expect(() => new optim.Adam([q]).loadStateDict(sd)).toThrow(/state 'exp_avg' of parameter 0 has shape \[3\] but the parameter has shape \[2\]/);
  });
});

describe('clipping', () => {
  it('clipGradNorm_ rescales by the global 2-norm and returns it', () => {
    const a = k.tensor([3, 0]).requiresGrad_();
    const b = k.tensor([0]).requiresGrad_();
    a.grad = k.tensor([3, 0]);
    b.grad = k.tensor([4]);
    const total = optim.clipGradNorm_([a, b], 1);
    expect(total.item()).toBeCloseTo(5, 6);
    expectClose(a.grad.data, [3 / (5 + 1e-6), 0], 1e-7);
    expectClose(b.grad.data, [4 / (5 + 1e-6)], 1e-7);
    expect(optim.clipGradNorm_([a, b], 10).item()).toBeCloseTo(1, 5);
    expectClose(b.grad.data, [4 / (5 + 1e-6)], 1e-7);
  });

  it('clipGradNorm_ with the infinity norm, and the non-finite check', () => {
    const a = k.tensor([0, 0]).requiresGrad_();
    a.grad = k.tensor([-4, 2]);
    expect(optim.clipGradNorm_(a, 2, Infinity).item()).toBe(4);
    expectClose(a.grad.data, [-2, 1], 1e-6);
    a.grad = k.tensor([NaN, 1]);
    expect(() => optim.clipGradNorm_(a, 1, 2, true)).toThrow(/total norm of order 2 of the gradients is NaN/);
  });

  it('clipGradValue_ clamps each element', () => {
    const a = k.tensor([0, 0, 0]).requiresGrad_();
    a.grad = k.tensor([-3, 0.2, 7]);
    optim.clipGradValue_([a], 0.5);
    expectClose(a.grad.data, [-0.5, 0.2, 0.5]);
  });
});

describe('regularization', () => {
  const grad = k.tensor([0.5, -1, 2]);
  const start = [1, -2, 0.5];

  it('weightDecay gives the same step as adding l2Penalty to the loss', () => {
    const a = k.tensor(start).requiresGrad_();
    new optim.SGD([a], { lr: 0.1, weightDecay: 0.3 });
    const b = k.tensor(start, { dtype: 'float64' }).requiresGrad_();
    optim.l2Penalty([b], 0.3).backward();
    expectClose(b.grad!.data, [0.3, -0.6, 0.15], 1e-12);
    const opt = new optim.SGD([a], { lr: 0.1, weightDecay: 0.3 });
    a.grad = grad;
    opt.step();
    expectClose(a.data, start.map((w, i) => w - 0.1 * ((grad.data[i] as number) + 0.3 * w)), 1e-6);
  });

  it('the l1 option adds l1·sign(w) to the gradient, like l1Penalty', () => {
    const a = k.tensor(start).requiresGrad_();
    const opt = new optim.SGD([a], { lr: 0.1, l1: 0.2 });
    a.grad = grad;
    opt.step();
    expectClose(a.data, start.map((w, i) => w - 0.1 * ((grad.data[i] as number) + 0.2 * Math.sign(w))), 1e-6);
    const b = k.tensor(start, { dtype: 'float64' }).requiresGrad_();
    optim.l1Penalty([b], 0.2).backward();
    expectClose(b.grad!.data, [0.2, -0.2, 0.2], 1e-12);
  });

  it('elasticNetPenalty = l1·Σ|w| + l2/2·Σw²', () => {
    const w = k.tensor(start, { dtype: 'float64' });
    expect(optim.elasticNetPenalty([w], { l1: 0.1, l2: 0.4 }).item()).toBeCloseTo(0.1 * 3.5 + 0.2 * 5.25, 12);
  });

  it('maxNorm and unitNorm project each row after the step; per-group settings', () => {
    const w = k.tensor([[3, 4], [0.3, 0.4]]).requiresGrad_();
    const u = k.tensor([[2, 0], [1, 1]]).requiresGrad_();
    const bias = k.tensor([10, -10]).requiresGrad_();
    const opt = new optim.SGD([{ params: [w], maxNorm: 1 }, { params: [u], unitNorm: true }, { params: [bias] }], { lr: 0 });
    for (const p of [w, u, bias]) p.grad = k.zerosLike(p);
    opt.step();
    expectClose(w.data, [0.6, 0.8, 0.3, 0.4], 1e-6);
    expectClose(u.data, [1, 0, Math.SQRT1_2, Math.SQRT1_2], 1e-6);
    expect(Array.from(bias.data)).toEqual([10, -10]);
  });
});
