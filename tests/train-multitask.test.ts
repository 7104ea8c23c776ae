/**
 * Multi-task train.fit: a model with two heads (a record or an array of tensors) trained on a
 * loss per head, with fixed weights or learned uncertainty weights (Kendall et al. 2018);
 * per-head losses and metrics in the history, the progress lines and the callbacks; the
 * weighted and uncertainty losses' gradients against finite differences (float64, reference
 * backend); errors that name the heads.
 */
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { data, F, Generator, nn, optim, train, type Tensor } from '../lib/index.js';
import { planLoss } from '../lib/train/multi-task.js';
import { expectClose } from './helpers.js';

/** A shared linear trunk with a 3-class head and a 2-class head, returned as a record. */
class RecordHeads extends nn.Module {
  trunk = new nn.Linear(4, 8);
  classes = new nn.Linear(8, 3);
  parity = new nn.Linear(8, 2);

  override forward(x: Tensor): { classes: Tensor; parity: Tensor } {
    const shared = this.trunk.forward(x).relu(); // (N, 8)
    return { classes: this.classes.forward(shared), parity: this.parity.forward(shared) };
  }
}

/** The same network returning its heads as an array [classes, parity]. */
class ArrayHeads extends nn.Module {
  net = new RecordHeads();

  override forward(x: Tensor): Tensor[] {
    const { classes, parity } = this.net.forward(x);
    return [classes, parity];
  }
}

/** 24 points in 4-d; class = argmax of the first three coordinates, parity = class mod 2. */
function points(): { x: Tensor; classes: Tensor; parity: Tensor } {
  const x = k.randn([24, 4], { generator: new Generator(3) });
  const rows = x.data as Float32Array;
  const classes = Int32Array.from({ length: 24 }, (_, i) => [0, 1, 2].reduce((best, c) => (rows[i * 4 + c] > rows[i * 4 + best] ? c : best), 0));
  return { x, classes: k.tensor(classes), parity: k.tensor(classes.map((c) => c % 2)) };
}

/** Batches of 8 with record targets. */
function recordBatches(): [Tensor, { classes: Tensor; parity: Tensor }][] {
  const { x, classes, parity } = points();
  return [0, 8, 16].map((at) => [x.narrow(0, at, 8), { classes: classes.narrow(0, at, 8), parity: parity.narrow(0, at, 8) }]);
}

const LOSSES = { classes: F.crossEntropy, parity: F.crossEntropy };
const METRICS = { classes: { accuracy: train.accuracy }, parity: { accuracy: train.accuracy } };

function setup(): { model: RecordHeads; optimizer: optim.SGD } {
  k.manualSeed(0);
  const model = new RecordHeads();
  return { model, optimizer: new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) };
}

describe('multi-task fit with fixed weights', () => {
  it('records each head\'s loss and metrics, train and val; train_loss is the weighted sum of the head losses', () => {
    const { model, optimizer } = setup();
    const epochEnds: train.EpochRecord[] = [];
    const history = train.fit(model, {
      loss: LOSSES,
      lossWeights: { classes: 0.7, parity: 0.3 },
      metrics: METRICS,
      optimizer,
      trainLoader: recordBatches(),
      valLoader: recordBatches(),
      epochs: 30,
      callbacks: [{ onEpochEnd: (_, record) => epochEnds.push(record) }],
      progress: false,
    });
    expect(history.keys()).toEqual([
      'epoch', 'train_loss', 'train_classes_loss', 'train_classes_accuracy', 'train_parity_loss', 'train_parity_accuracy',
      'val_loss', 'val_classes_loss', 'val_classes_accuracy', 'val_parity_loss', 'val_parity_accuracy', 'lr', 'seconds', 'samples_per_s',
    ]);
    expect(epochEnds).toEqual(history.records);
    for (const r of history.records) {
      // The epoch means are means over the same batches, so the weighted sum carries over to them.
      expectClose([r.train_loss], [0.7 * (r.train_classes_loss as number) + 0.3 * (r.train_parity_loss as number)], 1e-5);
      expectClose([r.val_loss as number], [0.7 * (r.val_classes_loss as number) + 0.3 * (r.val_parity_loss as number)], 1e-5);
    }
    expect(history.last!.train_classes_loss).toBeLessThan(history.records[0].train_classes_loss! / 2);
    expect(history.last!.val_classes_accuracy).toBeGreaterThan(0.9);
    expect(history.last!.val_parity_accuracy).toBeGreaterThan(0.9);
  });

  it('the validation figures are what evaluate gives for the trained model', () => {
    const { model, optimizer } = setup();
    const history = train.fit(model, { loss: LOSSES, metrics: METRICS, optimizer, trainLoader: recordBatches(), valLoader: recordBatches(), epochs: 3, progress: false });
    const result = train.evaluate(model, recordBatches(), { loss: LOSSES, metrics: METRICS });
    expect(result.loss).toBe(history.last!.val_loss);
    expect(result.metrics).toEqual({ classes_loss: history.last!.val_classes_loss, classes_accuracy: history.last!.val_classes_accuracy, parity_loss: history.last!.val_parity_loss, parity_accuracy: history.last!.val_parity_accuracy });
  });

  it('array heads: losses, weights and metrics as arrays, recorded as head0 and head1', () => {
    k.manualSeed(0);
    const model = new ArrayHeads();
    const batches = recordBatches().map(([x, t]) => [x, [t.classes, t.parity]]);
    const history = train.fit(model, {
      loss: [F.crossEntropy, F.crossEntropy],
      lossWeights: [1, 0],
      metrics: [{ accuracy: train.accuracy }],
      optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
      trainLoader: batches,
      epochs: 2,
      progress: false,
    });
    expect(history.keys()).toEqual(['epoch', 'train_loss', 'train_head0_loss', 'train_head0_accuracy', 'train_head1_loss', 'lr', 'seconds', 'samples_per_s']);
    // Weight 0 on head 1: the total is head 0's loss alone.
    for (const r of history.records) expectClose([r.train_loss], [r.train_head0_loss as number], 1e-6);
  });

  it('prints each head\'s figures in the progress lines', () => {
    const { model, optimizer } = setup();
    const chunks: string[] = [];
    train.fit(model, { loss: LOSSES, metrics: METRICS, optimizer, trainLoader: recordBatches(), epochs: 1, progress: 'lines', progressStream: { isTTY: false, write: (s: string) => chunks.push(s) } });
    expect(chunks.join('')).toMatch(/epoch 1\/1 {2}train_loss \S+ {2}train_classes_loss \S+ {2}train_classes_accuracy \S+ {2}train_parity_loss \S+ {2}train_parity_accuracy \S+/);
  });

  it('fitAsync trains a multi-task model to the same weights as fit', async () => {
    const run = async (useAsync: boolean): Promise<Tensor> => {
      const { model, optimizer } = setup();
      const options: train.FitOptions = { loss: LOSSES, lossWeights: { classes: 2, parity: 1 }, metrics: METRICS, optimizer, trainLoader: recordBatches(), epochs: 2, progress: false };
      if (useAsync) await train.fitAsync(model, options);
      else train.fit(model, options);
      return model.trunk.weight.clone();
    };
    expect(Array.from((await run(true)).data as Float32Array)).toEqual(Array.from((await run(false)).data as Float32Array));
  });
});

describe('multi-task fit with uncertainty weighting', () => {
  it('adds the log-variances to the optimizer (no weight decay), learns them and records the weights', () => {
    const { model } = setup();
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-3 });
    const weighting = new train.UncertaintyWeighting(['classes', 'parity']);
    const history = train.fit(model, { loss: LOSSES, lossWeights: weighting, metrics: METRICS, optimizer, trainLoader: recordBatches(), epochs: 20, progress: false });
    expect(optimizer.paramGroups).toHaveLength(2);
    expect(optimizer.paramGroups[1].params).toEqual([weighting.logVars]);
    expect(optimizer.paramGroups[1].weightDecay).toBe(0);
    const s = Array.from(weighting.logVars.data as Float32Array);
    expect(s.every((v) => v !== 0)).toBe(true);
    const last = history.last!;
    expect([last.classes_weight, last.parity_weight]).toEqual([Math.exp(-s[0]), Math.exp(-s[1])]);
  });

  it('the recorded training loss is Σ exp(−s)·L + s of the head losses (lr 0 holds s fixed)', () => {
    const { model } = setup();
    const weighting = new train.UncertaintyWeighting(['classes', 'parity']);
    (weighting.logVars.data as Float64Array).set([0.5, -1]);
    const optimizer = new optim.SGD([...model.parameters(), ...weighting.parameters()], { lr: 0 });
    const r = train.fit(model, { loss: LOSSES, lossWeights: weighting, optimizer, trainLoader: recordBatches(), epochs: 1, progress: false }).last!;
    expectClose([r.train_loss], [Math.exp(-0.5) * (r.train_classes_loss as number) + 0.5 + Math.exp(1) * (r.train_parity_loss as number) - 1], 1e-5);
    expect(r.classes_weight).toBeCloseTo(Math.exp(-0.5), 6);
    expect(r.parity_weight).toBeCloseTo(Math.exp(1), 6);
  });

  it('leaves the optimizer alone when the weighting is part of the model', () => {
    k.manualSeed(0);
    const weighting = new train.UncertaintyWeighting(['classes', 'parity']);
    const model = new (class extends RecordHeads {
      weighting = weighting;
    })();
    const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
    train.fit(model, { loss: LOSSES, lossWeights: weighting, optimizer, trainLoader: recordBatches(), epochs: 2, progress: false });
    expect(optimizer.paramGroups).toHaveLength(1);
    expect(Object.keys(model.stateDict())).toContain('weighting.logVars');
    expect(Array.from(weighting.logVars.data as Float32Array).every((v) => v !== 0)).toBe(true);
  });

  it('refuses to add the log-variances behind a scheduler\'s back', () => {
    const { model, optimizer } = setup();
    const scheduler = new optim.StepLR(optimizer, { stepSize: 1 });
    expect(() => train.fit(model, { loss: LOSSES, lossWeights: new train.UncertaintyWeighting(['classes', 'parity']), optimizer, scheduler, trainLoader: recordBatches(), epochs: 1, progress: false })).toThrow(
      /log-variances \(heads classes, parity\) are not in the optimizer.*before creating the scheduler/,
    );
  });
});

describe('multi-task loss gradients (float64, reference backend, finite differences)', () => {
  const inputs = (): Tensor[] => {
    const g = new Generator(5);
    return [k.randn([5, 3], { dtype: 'float64', generator: g, requiresGrad: true }), k.randn([5, 2], { dtype: 'float64', generator: g, requiresGrad: true })];
  };
  const targets = { classes: k.tensor([0, 2, 1, 1, 0], { dtype: 'int32' }), parity: k.tensor([1, 0, 1, 1, 0], { dtype: 'int32' }) };

  it('fixed weights: gradcheck of 0.25·CE(classes) + 1.5·CE(parity) with respect to both heads', () => {
    k.withBackend('reference', () => {
      const { loss } = planLoss('fit', { loss: LOSSES, lossWeights: { classes: 0.25, parity: 1.5 } });
      expect(k.gradcheck((a, b) => loss({ classes: a, parity: b }, targets), inputs()).ok).toBe(true);
    });
  });

  it('uncertainty weights: gradcheck with respect to both heads and the log-variances', () => {
    k.withBackend('reference', () => {
      const weighting = new train.UncertaintyWeighting(['classes', 'parity'], { dtype: 'float64' });
      (weighting.logVars.data as Float64Array).set([0.3, -0.7]);
      const { loss } = planLoss('fit', { loss: LOSSES, lossWeights: weighting });
      expect(k.gradcheck((a, b) => loss({ classes: a, parity: b }, targets), [...inputs(), weighting.logVars]).ok).toBe(true);
    });
  });

  it('uncertainty weights: the value is Σ exp(−s)·L + s and ∂/∂s = 1 − exp(−s)·L', () => {
    k.withBackend('reference', () => {
      const weighting = new train.UncertaintyWeighting(['a', 'b'], { dtype: 'float64' });
      (weighting.logVars.data as Float64Array).set([0.5, -1]);
      const losses = [k.tensor(2, { dtype: 'float64' }), k.tensor(0.25, { dtype: 'float64' })];
      const total = weighting.forward(losses);
      expectClose([total.item()], [Math.exp(-0.5) * 2 + 0.5 + Math.exp(1) * 0.25 - 1], 1e-12);
      total.backward();
      expect(Array.from(weighting.logVars.grad!.data as Float64Array)).toEqual([1 - Math.exp(-0.5) * 2, 1 - Math.exp(1) * 0.25].map((v) => expect.closeTo(v, 12)));
    });
  });
});

describe('multi-task errors name the heads', () => {
  const base = (): train.FitOptions => ({ optimizer: setup().optimizer, loss: LOSSES, trainLoader: recordBatches(), epochs: 1, progress: false });
  const fitWith = (options: Partial<train.FitOptions>, model: nn.Module = new RecordHeads()) => () => train.fit(model, { ...base(), ...options });

  it('rejects bad options before training', () => {
    expect(fitWith({ metrics: { classes: { accuracy: train.accuracy }, colour: {} } })).toThrow(/fit: metrics names head 'colour', but the heads \(from loss\) are classes, parity/);
    expect(fitWith({ metrics: { classes: { accuracy: 3 as unknown as train.Metric } } })).toThrow(/fit: metric 'accuracy' of head 'classes' must be a function/);
    expect(fitWith({ lossWeights: { classes: 1 } })).toThrow(/fit: lossWeights has no weight for head 'parity' \(heads classes, parity\)/);
    expect(fitWith({ lossWeights: { classes: 1, parity: 1, colour: 2 } })).toThrow(/fit: lossWeights names head 'colour'/);
    expect(fitWith({ lossWeights: { classes: 1, parity: -1 } })).toThrow(/fit: the loss weight of head 'parity' must be a finite number ≥ 0, got -1/);
    expect(fitWith({ lossWeights: [1, 2] })).toThrow(/fit: lossWeights must be shaped like loss \(a record keyed by head\), got an array of 2/);
    expect(fitWith({ lossWeights: new train.UncertaintyWeighting(['parity', 'classes']) })).toThrow(/fit: the UncertaintyWeighting's heads \(parity, classes\) must be the loss's heads in order \(classes, parity\)/);
    expect(fitWith({ loss: { classes: F.crossEntropy, parity: 'ce' as unknown as train.Loss } })).toThrow(/fit: the loss of head 'parity' must be a function/);
    expect(fitWith({ loss: F.crossEntropy, lossWeights: [1] })).toThrow(/fit: lossWeights needs one loss per head/);
    expect(fitWith({ loss: {} })).toThrow(/fit: loss has no heads/);
    expect(fitWith({ metrics: [{ accuracy: train.accuracy }] })).toThrow(/fit: metrics must be per head and shaped like loss \(a record of records keyed by head\)/);
  });

  it('rejects outputs and targets that lack a head, naming it and the batch', () => {
    expect(fitWith({}, new ArrayHeads())).toThrow(/fit: the model's output must be a record of tensors, one per head \(classes, parity\), got an array of 2/);
    const { x, classes } = points();
    expect(fitWith({ trainLoader: [[x, { classes }]] })).toThrow(/fit: the batch's target has no tensor for head 'parity'/);
    expect(fitWith({ trainLoader: [[x, classes]] })).toThrow(/fit \(epoch 1, batch 1 of 1\): a multi-task batch's target must be an array or a record of tensors, one per head, got one Tensor/);
    const arrayOptions = { loss: [F.crossEntropy, F.crossEntropy, F.crossEntropy], trainLoader: [[x, [classes, classes, classes]]] };
    expect(fitWith(arrayOptions, new ArrayHeads())).toThrow(/fit: the model's output has 2 heads, expected 3 \(head0, head1, head2\)/);
  });

  it('a single-head model given per-head losses, and adversarial training of a multi-task model, are errors', () => {
    const single = new nn.Linear(4, 3);
    expect(fitWith({ optimizer: new optim.SGD(single.parameters(), { lr: 0.1 }) }, single)).toThrow(/fit: the model's output must be a record of tensors, one per head \(classes, parity\), got a tensor of shape \[8, 3\]/);
    expect(fitWith({ adversarial: { attack: (_, x) => x } })).toThrow(/fit: adversarial training supports single-head models only/);
  });
});

describe('UncertaintyWeighting', () => {
  it('checks its heads and the losses it is given', () => {
    expect(() => new train.UncertaintyWeighting([])).toThrow(/heads must be a non-empty array of head names/);
    expect(() => new train.UncertaintyWeighting(['a', 'a'])).toThrow(/head names must be distinct, got a, a/);
    const weighting = new train.UncertaintyWeighting(['a', 'b']);
    expect(() => weighting.forward([k.tensor(1)])).toThrow(/expects 2 scalar losses \(heads a, b\), got 1 of shapes \[\]/);
    expect(weighting.weights()).toEqual({ a: 1, b: 1 });
  });

  it('its log-variances are a parameter in the state dict', () => {
    expect(Object.keys(new train.UncertaintyWeighting(['a', 'b']).stateDict())).toEqual(['logVars']);
  });
});

// Keep data imported for the DataLoader variant: a record-target dataset through DataLoader's collate.
describe('targets per head from a DataLoader', () => {
  it('collates record samples into record batches that fit consumes', () => {
    const { x, classes, parity } = points();
    class Samples extends data.Dataset<[Tensor, { classes: Tensor; parity: Tensor }]> {
      get length(): number {
        return 24;
      }
      get(i: number): [Tensor, { classes: Tensor; parity: Tensor }] {
        return [x.select(0, i), { classes: classes.select(0, i), parity: parity.select(0, i) }];
      }
    }
    const { model, optimizer } = setup();
    const history = train.fit(model, { loss: LOSSES, metrics: METRICS, optimizer, trainLoader: new data.DataLoader(new Samples(), { batchSize: 8 }), epochs: 2, progress: false });
    expect(history.length).toBe(2);
    expect(Number.isFinite(history.last!.train_parity_accuracy)).toBe(true);
  });
});
