/**
 * train.diagnose (the lecture's checks before training) on a healthy MLP and on broken ones —
 * output scaled by 100, output detached, a wrong backward — and nn.deepCopy, the copy every
 * check runs on so the user's model is never touched.
 */
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { defaultGenerator, F, Generator, nn, noGrad, train } from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { record } from '../lib/autograd/engine.js';

const D = 6;
const K = 3;
const N = 48;

/** A small classification batch: 48 Gaussian points, 3 random classes. */
function batch(): { inputs: Tensor; targets: Tensor } {
  const g = new Generator(3);
  return { inputs: k.randn([N, D], { generator: g }), targets: k.randint(0, K, [N], { generator: g }) };
}

class Mlp extends nn.Module {
  fc1 = new nn.Linear(D, 32);
  fc2 = new nn.Linear(32, K);
  override forward(x: Tensor): Tensor {
    return this.fc2.forward(this.fc1.forward(x).relu());
  }
}

/** Broken: logits 100× too large, so the initial loss is far above ln K. */
class ScaledMlp extends Mlp {
  override forward(x: Tensor): Tensor {
    return super.forward(x).mul(100);
  }
}

/** Broken: the output is cut from the graph, so no gradient reaches the weights. */
class DetachedMlp extends Mlp {
  override forward(x: Tensor): Tensor {
    return super.forward(x).detach();
  }
}

/** y = 2x whose backward wrongly returns 3·g: a hand-written op with a gradient bug. */
function doubleWithWrongGradient(x: Tensor): Tensor {
  const y = noGrad(() => x.mul(2));
  return record(y, 'doubleWrong', [x], (g) => [g.mul(3)]);
}

/** Broken: a custom op in the middle whose backward is wrong by a factor 1.5. */
class WrongGradientMlp extends Mlp {
  override forward(x: Tensor): Tensor {
    return this.fc2.forward(doubleWithWrongGradient(this.fc1.forward(x)).relu());
  }
}

/** Runs diagnose with its output collected instead of printed. */
function run(model: nn.Module, options: Partial<train.DiagnoseOptions> = {}): { report: train.DiagnoseReport; lines: string[] } {
  const lines: string[] = [];
  const report = train.diagnose(model, { ...batch(), loss: F.crossEntropy, numClasses: K, log: (line) => lines.push(line), ...options });
  return { report, lines };
}

describe('train.diagnose', () => {
  it('passes a healthy MLP on all three checks, with the figures to prove it', () => {
    k.manualSeed(1);
    const { report, lines } = run(new Mlp());
    expect(report.ok).toBe(true);
    expect(report.gradient.status).toBe('pass');
    expect(report.gradient.maxRelError).toBeLessThan(1e-6); // float64 central differences: ~1e-8
    expect(report.gradient.elements).toBe(8 + 8 + 8 + 3); // 8 per tensor, fc2.bias has only 3
    expect(report.gradient.samples).toBe(4);
    expect(report.initialLoss.status).toBe('pass');
    expect(report.initialLoss.chance).toBeCloseTo(Math.log(3), 12);
    expect(Math.abs(report.initialLoss.loss - Math.log(3))).toBeLessThan(0.1 * Math.log(3));
    expect(report.overfit.status).toBe('pass');
    expect(report.overfit.samples).toBe(16);
    expect(report.overfit.accuracy).toBe(1);
    expect(report.overfit.lossAfter).toBeLessThan(0.01 * report.overfit.lossBefore);
    expect(lines.length).toBe(3);
    expect(lines[0]).toMatch(/^PASS {2}gradient check: max relative error .* over 27 parameter elements, 4 samples, float64$/);
    expect(lines[1]).toMatch(/^PASS {2}initial loss 1\.\d{4} vs chance ln\(3\) = 1\.0986/);
    expect(lines[2]).toMatch(/^PASS {2}overfit 16 samples: .* after 300 Adam steps .* training accuracy 100\.0%/);
  });

  it('leaves the model, its gradients, buffers and mode, and the default generator as they were', () => {
    k.manualSeed(2);
    const model = new nn.Sequential(new nn.Linear(D, 16), new nn.BatchNorm1d(16), new nn.ReLU(), new nn.Dropout(0.1), new nn.Linear(16, K));
    const fc = model.at(0) as nn.Linear;
    const grad = k.ones(fc.weight.shape);
    fc.weight.grad = grad;
    const before = Object.fromEntries(Object.entries(model.stateDict()).map(([key, t]) => [key, Array.from(t.data)]));
    const generatorState = defaultGenerator.getState();
    const parameters = model.parameters();
    run(model);
    expect(Object.fromEntries(Object.entries(model.stateDict()).map(([key, t]) => [key, Array.from(t.data)]))).toEqual(before);
    expect(model.parameters()).toEqual(parameters);
    expect(model.parameters().every((p, i) => p === parameters[i] && p.dtype === 'float32')).toBe(true);
    expect(fc.weight.grad).toBe(grad);
    expect(fc.bias?.grad).toBeNull();
    expect(model.training).toBe(true);
    expect(model.at(1).training).toBe(true);
    // The Dropout draws its masks from the default generator; its stream goes on where it was.
    const expected = new Generator();
    expected.setState(generatorState);
    expect([defaultGenerator.uniform(), defaultGenerator.uniform()]).toEqual([expected.uniform(), expected.uniform()]);
  });

  it('fails the initial-loss check of a model whose output is scaled by 100 (its gradients are right)', () => {
    k.manualSeed(1);
    const { report, lines } = run(new ScaledMlp());
    expect(report.ok).toBe(false);
    expect(report.initialLoss.status).toBe('fail');
    expect(report.initialLoss.loss).toBeGreaterThan(5 * Math.log(3));
    expect(report.gradient.status).toBe('pass');
    expect(lines[1]).toMatch(/^FAIL {2}initial loss \d+\.\d{4} vs chance ln\(3\)/);
  });

  it('fails the gradient and overfit checks of a model whose output is detached', () => {
    k.manualSeed(1);
    const { report, lines } = run(new DetachedMlp());
    expect(report.ok).toBe(false);
    expect(report.gradient.status).toBe('fail');
    expect(report.gradient.maxRelError).toBe(1); // backprop 0 against a nonzero numeric gradient
    expect(lines[0]).toMatch(/^FAIL {2}gradient check: .*; worst .*: backprop 0, numeric /);
    expect(report.initialLoss.status).toBe('pass'); // the forward pass itself is fine
    expect(report.overfit.status).toBe('fail');
    expect(report.overfit.lossAfter).toBe(report.overfit.lossBefore); // nothing could train
    expect(report.overfit.accuracy).toBeLessThan(1);
  });

  it('finds a backward that is wrong by a factor 1.5: relative error 1/3 in the layer below it', () => {
    k.manualSeed(1);
    const { report } = run(new WrongGradientMlp(), { gradientElements: 64 });
    expect(report.gradient.status).toBe('fail');
    // fc1's gradients are 3/2 of the true ones: |1.5n − n| / 1.5|n| = 1/3 (for gradients above the 1e-4 floor).
    expect(report.gradient.maxRelError).toBeCloseTo(1 / 3, 6);
    expect(report.gradient.worst).toMatch(/^fc1\./);
  });

  it('skips the initial-loss check without numClasses and judges the overfit by the loss alone', () => {
    k.manualSeed(4);
    const g = new Generator(9);
    const model = new nn.Sequential(new nn.Linear(D, 32), new nn.Tanh(), new nn.Linear(32, 1));
    const { report, lines } = run(model, { inputs: k.randn([N, D], { generator: g }), targets: k.randn([N, 1], { generator: g }), loss: F.mseLoss, numClasses: undefined });
    expect(report.initialLoss.status).toBe('skip');
    expect(Number.isNaN(report.initialLoss.chance)).toBe(true);
    expect(lines[1]).toMatch(/^SKIP {2}initial loss .*numClasses not given/);
    expect(report.overfit.accuracy).toBeNull();
    expect(report.overfit.status).toBe('pass');
    expect(report.overfit.lossAfter).toBeLessThan(0.01 * report.overfit.lossBefore);
    expect(report.gradient.status).toBe('pass');
    expect(report.ok).toBe(true); // a skipped check is not a failure
  });

  it('takes a loss module and names bad options', () => {
    k.manualSeed(1);
    expect(run(new Mlp(), { loss: new nn.CrossEntropyLoss() }).report.ok).toBe(true);
    expect(() => run(new Mlp(), { targets: k.zeros([N - 1], { dtype: 'int32' }) })).toThrow(/inputs \[48, 6\] and targets \[47\] must hold the same number/);
    expect(() => run(new Mlp(), { numClasses: 1 })).toThrow(/numClasses must be an integer ≥ 2, got 1/);
    expect(() => run(new Mlp(), { overfitSteps: 0 })).toThrow(/overfitSteps must be an integer ≥ 1, got 0/);
  });
});

describe('nn.deepCopy', () => {
  it('copies values into new tensors; training the copy leaves the original untouched', () => {
    k.manualSeed(5);
    const model = new Mlp().eval();
    const copy = nn.deepCopy(model);
    expect(copy).toBeInstanceOf(Mlp);
    expect(copy.training).toBe(false);
    expect(Object.keys(copy.stateDict())).toEqual(Object.keys(model.stateDict()));
    copy.parameters().forEach((p, i) => {
      expect(p).not.toBe(model.parameters()[i]);
      expect(p.data).toEqual(model.parameters()[i].data);
      expect(p.requiresGrad).toBe(true);
    });
    const original = Array.from(model.fc1.weight.data);
    copy.fc1.weight.data.fill(0);
    expect(Array.from(model.fc1.weight.data)).toEqual(original);
  });

  it('keeps tied parameters tied and copies a generator with its state', () => {
    const shared = new nn.Linear(4, 4);
    const dropout = new nn.Dropout(0.5, { generator: new Generator(8) });
    const model = new nn.Sequential(shared, dropout, shared);
    const copy = nn.deepCopy(model);
    expect(copy.at(0)).toBe(copy.at(2));
    expect(copy.at(0)).not.toBe(shared);
    const x = k.ones([2, 4]);
    const maskOriginal = noGrad(() => dropout.forward(x));
    const maskCopy = noGrad(() => (copy.at(1) as nn.Dropout).forward(x));
    expect(maskCopy.data).toEqual(maskOriginal.data); // same generator state at copy time
  });
});
