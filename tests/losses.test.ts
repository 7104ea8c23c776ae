/**
 * Losses: float64 gradcheck and native-vs-reference parity for every case of loss-cases.ts;
 * values and gradients against PyTorch 1.13 (fixtures/torch/losses.json, made by
 * gen_optim.py); stability on extreme logits; clear errors; loss modules.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { F, nn } from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { LOSS_CASES } from './loss-cases.js';
import { makeInputs, type OpCase } from './op-cases.js';
import { expectClose } from './helpers.js';

describe('losses: gradcheck (float64, reference backend)', () => {
  for (const c of LOSS_CASES) {
    it(c.name, () => {
      const result = k.gradcheck(c.fn, makeInputs(c, 'float64', 1, true), { raiseException: false });
      expect(result.ok, result.worst).toBe(true);
    });
  }
});

function runOn(backend: k.BackendName, c: OpCase): { output: Tensor; grad: Float32Array } {
  return k.withBackend(backend, () => {
    const inputs = makeInputs(c, 'float32', 7, true);
    const output = c.fn(...inputs);
    k.sum(k.mul(output, k.randn(output.shape, { generator: new k.Generator(3) }))).backward();
    return { output, grad: inputs[0].grad!.data as Float32Array };
  });
}

describe('losses: native vs reference (float32)', () => {
  for (const c of LOSS_CASES) {
    it(c.name, () => {
      const native = runOn('native', c);
      const reference = runOn('reference', c);
      expect(native.output.shape).toEqual(reference.output.shape);
      expectClose(native.output.data, reference.output.data, 1e-5, 1e-4, 'output');
      expectClose(native.grad, reference.grad, 1e-5, 1e-4, 'grad of input 0');
    });
  }
});

interface LossFixture {
  loss: string;
  options: Record<string, unknown>;
  inputs: unknown[];
  dtypes: ('int32' | 'float64')[];
  [reduction: string]: unknown;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/losses.json', import.meta.url), 'utf8')) as { cases: LossFixture[] };

/** The fixture's options with tensors for the weight arrays. */
const optionsOf = (c: LossFixture): Record<string, unknown> =>
  Object.fromEntries(Object.entries(c.options).map(([key, v]) => [key, Array.isArray(v) ? k.tensor(v as number[], { dtype: 'float64' }) : v]));

describe('losses match PyTorch 1.13', () => {
  for (const c of fixture.cases) {
    for (const reduction of ['none', 'mean', 'sum', 'batchmean'].filter((r) => r in c)) {
      it(`${c.loss} ${JSON.stringify(c.options)} ${reduction}`, () => {
        k.withBackend('reference', () => {
          const inputs = c.inputs.map((x, i) => k.tensor(x as number[], { dtype: c.dtypes[i] }));
          inputs[0].requiresGrad_();
          const fn = (F as unknown as Record<string, (...a: unknown[]) => Tensor>)[c.loss];
          const out = fn(...inputs, { ...optionsOf(c), reduction });
          expectClose(out.data, [c[reduction] as number[]].flat(4) as number[], 1e-12, 1e-9, 'value');
          if (reduction === 'none') return;
          out.backward();
          expectClose(inputs[0].grad!.data, (c[`grad_${reduction}`] as number[]).flat(4) as number[], 1e-12, 1e-9, 'grad');
        });
      });
    }
  }
});

describe('loss stability and errors', () => {
  it('crossEntropy stays finite on huge logits, on both backends', () => {
    for (const backend of ['native', 'reference'] as const) {
      k.withBackend(backend, () => {
        const x = k.tensor([[1000, -1000, 0], [-1e30, 1e30, 5]]).requiresGrad_();
        const loss = F.crossEntropy(x, k.tensor([1, 0], { dtype: 'int32' }));
        expect(loss.item()).toBeCloseTo((2000 + 2e30) / 2, -25);
        loss.backward();
        expect(Array.from(x.grad!.data).every(Number.isFinite)).toBe(true);
        const good = F.crossEntropy(k.tensor([[1000, -1000]]), k.tensor([0], { dtype: 'int32' }));
        expect(good.item()).toBe(0);
      });
    }
  });

  it('binaryCrossEntropyWithLogits is stable for large |x|', () => {
    const loss = F.binaryCrossEntropyWithLogits(k.tensor([100, -100], { dtype: 'float64' }), k.tensor([0, 1], { dtype: 'float64' }), { reduction: 'none' });
    expectClose(loss.data, [100, 100], 1e-12);
  });

  it('bad targets are clear errors', () => {
    const x = k.randn([4, 5]);
    expect(() => F.crossEntropy(x, k.tensor([0, 1, 5, 2], { dtype: 'int32' }))).toThrow(/target 5 at position 2 is out of range for 5 classes/);
    expect(() => F.crossEntropy(x, k.tensor([0, 1, 2], { dtype: 'int32' }))).toThrow(/needs class-index targets of shape \[4\], got \[3\]/);
    expect(() => F.crossEntropy(x, k.tensor([0, 1, 2, 3], { dtype: 'int32' }), { weight: k.ones([4]) })).toThrow(/weight must have shape \[5\]/);
    expect(() => F.mseLoss(x, k.randn([4, 4]))).toThrow(/mseLoss: target shape \[4, 4\] must match input shape \[4, 5\]/);
    expect(() => F.binaryCrossEntropy(k.tensor([1.5]), k.tensor([1]))).toThrow(/binaryCrossEntropy: every input element must be in \[0, 1\], found 1.5/);
    expect(() => F.mseLoss(x, x, { reduction: 'avg' as 'mean' })).toThrow(/reduction must be 'none', 'mean' or 'sum'/);
  });
});

describe('loss modules', () => {
  it('forward equals the functional form; weights are buffers in stateDict, as in PyTorch', () => {
    const x = k.randn([4, 3]);
    const t = k.tensor([0, 2, 1, 2], { dtype: 'int32' });
    const weight = k.tensor([1, 2, 3]);
    const criterion = new nn.CrossEntropyLoss({ weight, labelSmoothing: 0.1 });
    expect(criterion.forward(x, t).item()).toBe(F.crossEntropy(x, t, { weight, labelSmoothing: 0.1 }).item());
    expect(Object.keys(criterion.stateDict())).toEqual(['weight']);
    expect(Object.keys(new nn.BCEWithLogitsLoss({ posWeight: k.ones([3]) }).stateDict())).toEqual(['pos_weight']);
    expect(Object.keys(new nn.MSELoss().stateDict())).toEqual([]);
  });

  it('every module runs', () => {
    const x = k.randn([4, 3]);
    const p = k.sigmoid(k.randn([4, 3]));
    const t = k.tensor([0, 2, 1, 2], { dtype: 'int32' });
    const pm = k.tensor([1, -1, 1, -1]);
    const scalars = [
      new nn.NLLLoss().forward(k.logSoftmax(x, 1), t),
      new nn.BCELoss().forward(p, p),
      new nn.BCEWithLogitsLoss().forward(x, p),
      new nn.MSELoss().forward(x, p),
      new nn.L1Loss().forward(x, p),
      new nn.SmoothL1Loss().forward(x, p),
      new nn.HuberLoss().forward(x, p),
      new nn.HingeLoss().forward(k.randn([4]), pm),
      new nn.SquaredHingeLoss().forward(k.randn([4]), pm),
      new nn.MultiMarginLoss().forward(x, t),
      new nn.MultiClassHingeLoss().forward(x, t),
      new nn.KLDivLoss({ reduction: 'batchmean' }).forward(k.logSoftmax(x, 1), k.softmax(x, 1)),
      new nn.CosineEmbeddingLoss().forward(x, p, pm),
      new nn.DiceLoss().forward(p, p),
    ];
    for (const s of scalars) expect(Number.isFinite(s.item())).toBe(true);
  });
});
