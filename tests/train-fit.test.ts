/**
 * train.fit and its callbacks: a linear classifier learns separable points on both backends;
 * LR schedules step per epoch, per batch and on a plateau; early stopping stops at the right
 * epoch of a scripted validation loss and restores that epoch's weights; resuming from a
 * checkpoint equals an uninterrupted run bit for bit; history files, learning-curve plots,
 * progress output, non-finite losses and bad options.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { data, F, Generator, nn, optim, train, type Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-train-'));
const backends: k.BackendName[] = k.isNativeAvailable() ? ['reference', 'native'] : ['reference'];

/** 12 separable points: class 0 around (−1, −1), class 1 around (1, 1). */
const COORDS = [
  [-1.2, -0.8], [-0.9, -1.1], [-1.5, -1.0], [-0.7, -1.3], [-1.1, -0.6], [-0.8, -0.9],
  [1.0, 1.2], [1.3, 0.8], [0.9, 1.1], [1.4, 1.3], [0.7, 0.9], [1.1, 0.6],
];
const LABELS = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
const pointSet = (): data.TensorDataset => new data.TensorDataset(k.tensor(COORDS), k.tensor(LABELS, { dtype: 'int32' }));

/** A stream that keeps what is written to it. */
function collector(isTTY = false): { stream: train.ProgressStream; text: () => string } {
  const chunks: string[] = [];
  return { stream: { isTTY, columns: 120, write: (s: string) => chunks.push(s) }, text: () => chunks.join('') };
}

const bytesOf = (t: Tensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** Asserts two state dicts have the same keys and bit-identical tensors. */
function expectSameBits(actual: Record<string, Tensor>, expected: Record<string, Tensor>): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const key of Object.keys(expected)) expect(bytesOf(actual[key]).equals(bytesOf(expected[key])), `${key} differs`).toBe(true);
}

const copyState = (model: nn.Module): Record<string, Tensor> => Object.fromEntries(Object.entries(model.stateDict()).map(([key, t]) => [key, t.clone()]));

/** A linear classifier on the points, with SGD. */
function linearSetup(lr = 0.5): { model: nn.Linear; optimizer: optim.SGD } {
  k.manualSeed(0);
  const model = new nn.Linear(2, 2);
  return { model, optimizer: new optim.SGD(model.parameters(), { lr }) };
}

describe('fit trains a linear classifier', () => {
  for (const backend of backends) {
    it(`${backend}: the loss falls, every history field is filled, the model's mode is restored`, () => {
      k.withBackend(backend, () => {
        const { model, optimizer } = linearSetup();
        model.eval();
        const history = train.fit(model, {
          loss: F.crossEntropy,
          optimizer,
          trainLoader: new data.DataLoader(pointSet(), { batchSize: 4, shuffle: true, generator: new Generator(1) }),
          valLoader: new data.DataLoader(pointSet(), { batchSize: 5 }),
          epochs: 5,
          metrics: { accuracy: train.accuracy },
          progress: false,
        });
        expect(history.records.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5]);
        expect(history.keys()).toEqual(['epoch', 'train_loss', 'train_accuracy', 'val_loss', 'val_accuracy', 'lr', 'seconds', 'samples_per_s']);
        for (const r of history.records) {
          for (const key of history.keys()) expect(Number.isFinite(r[key]), `${key} at epoch ${r.epoch}`).toBe(true);
          expect(r.lr).toBe(0.5);
          expect(r.seconds).toBeGreaterThan(0);
          expect(r.samples_per_s).toBeGreaterThan(0);
        }
        const losses = history.series('train_loss');
        expect(losses[4]).toBeLessThan(losses[0] / 2);
        expect(history.series('val_loss')[4]).toBeLessThan(history.series('val_loss')[0]);
        expect(history.last?.val_accuracy).toBe(1);
        expect(history.stopReason).toBeNull();
        expect(model.training).toBe(false);
      });
    });
  }

  it('validates in eval mode under noGrad, and the validation loss is the mean over samples', () => {
    const seen: { training: boolean; grad: boolean; n: number }[] = [];
    const { model, optimizer } = linearSetup();
    const spy = (output: Tensor, target: Tensor): Tensor => {
      seen.push({ training: model.training, grad: k.isGradEnabled(), n: target.shape[0] });
      return F.crossEntropy(output, target);
    };
    const history = train.fit(model, { loss: spy, optimizer, trainLoader: new data.DataLoader(pointSet(), { batchSize: 12 }), valLoader: new data.DataLoader(pointSet(), { batchSize: 5 }), epochs: 1, progress: false });
    expect(seen).toEqual([
      { training: true, grad: true, n: 12 },
      { training: false, grad: false, n: 5 },
      { training: false, grad: false, n: 5 },
      { training: false, grad: false, n: 2 },
    ]);
    // batches of 5, 5 and 2 are weighted by size: the mean equals the loss of all 12 at once
    const whole = k.noGrad(() => F.crossEntropy(model.forward(k.tensor(COORDS)), k.tensor(LABELS, { dtype: 'int32' })).item());
    expect(history.last?.val_loss).toBeCloseTo(whole, 6);
  });

  it('validation runs each batch in a tidy() scope: its activations go back to the storage pool, not to the garbage collector', () => {
    // batches of 16: the hidden activations (16 × 64 floats) and logits (16 × 128) are poolable (≥ 4 KiB)
    const generator = new Generator(3);
    const x = k.randn([64, 32], { generator });
    const y = k.randint(0, 2, [64], { generator });
    const model = new nn.Sequential(new nn.Linear(32, 64), new nn.ReLU(), new nn.Linear(64, 128));
    const outputs: Tensor[] = [];
    const spy = (output: Tensor, target: Tensor): Tensor => {
      outputs.push(output);
      return F.crossEntropy(output, target);
    };
    k.emptyStoragePool();
    const result = train.evaluate(model, new data.DataLoader(new data.TensorDataset(x, y), { batchSize: 16 }), { loss: spy });
    expect(result.samples).toBe(64);
    expect(outputs).toHaveLength(4);
    // every batch's logits were released by its scope (reading them now throws) ...
    for (const output of outputs) expect(() => output.toArray()).toThrow(/released|disposed|tidy/i);
    // ... and the arrays of the last batch wait in the pool for the next one
    expect(k.storagePoolStats().arrays).toBeGreaterThan(0);
  });

  it('a loss Module and the equivalent loss function train identically', () => {
    const run = (loss: train.Loss): number[] => {
      const { model, optimizer } = linearSetup();
      return train.fit(model, { loss, optimizer, trainLoader: new data.DataLoader(pointSet(), { batchSize: 3 }), epochs: 3, progress: false }).series('train_loss');
    };
    expect(run(new nn.CrossEntropyLoss())).toEqual(run(F.crossEntropy));
  });

  it('clipGradNorm bounds the update: with SGD lr 1 no weight moves further than the clip norm in a step', () => {
    const { model, optimizer } = linearSetup(1);
    const before = copyState(model);
    train.fit(model, { loss: (o, t) => F.crossEntropy(o, t).mul(1000), optimizer, trainLoader: [[k.tensor(COORDS), k.tensor(LABELS, { dtype: 'int32' })]], epochs: 1, clipGradNorm: 0.01, progress: false });
    let squared = 0;
    for (const key of Object.keys(before)) {
      const after = model.stateDict()[key].data;
      before[key].data.forEach((v, i) => (squared += (Number(after[i]) - Number(v)) ** 2));
    }
    expect(Math.sqrt(squared)).toBeLessThanOrEqual(0.01 * (1 + 1e-5));
    expect(Math.sqrt(squared)).toBeGreaterThan(0.0099);
  });
});

describe('metrics', () => {
  it('train.accuracy is the evaluation toolkit\'s accuracy', () => {
    expect(train.accuracy).toBe(k.metrics.accuracy);
    expect(train.accuracy(k.tensor([[2, 1], [0, 3], [1, 0]]), k.tensor([0, 0, 0], { dtype: 'int32' }))).toBeCloseTo(2 / 3, 12);
  });

  it('binaryAccuracy thresholds the scores', () => {
    const logits = k.tensor([[-1], [0.5], [2], [-0.1]]);
    const target = k.tensor([[0], [0], [1], [1]]);
    expect(train.binaryAccuracy({ threshold: 0 })(logits, target)).toBe(0.5);
    expect(train.binaryAccuracy()(k.tensor([0.2, 0.6]), k.tensor([0, 1]))).toBe(1);
  });
});

describe('learning-rate schedules in fit', () => {
  const loader = (): data.DataLoader => new data.DataLoader(pointSet(), { batchSize: 3 }); // 4 batches per epoch

  it("steps per epoch by default: StepLR(stepSize 2, gamma 0.5) gives 0.1, 0.1, 0.05, 0.05, 0.025", () => {
    const { model, optimizer } = linearSetup(0.1);
    const scheduler = new optim.StepLR(optimizer, { stepSize: 2, gamma: 0.5 });
    const history = train.fit(model, { loss: F.crossEntropy, optimizer, scheduler, trainLoader: loader(), epochs: 5, progress: false });
    expect(history.series('lr')).toEqual([0.1, 0.1, 0.05, 0.05, 0.025]);
  });

  it("steps per batch with schedulerInterval 'batch': epoch e begins at step 4(e − 1)", () => {
    const { model, optimizer } = linearSetup(0.1);
    const scheduler = new optim.LambdaLR(optimizer, { lrLambda: (step) => 1 / (1 + step) });
    const history = train.fit(model, { loss: F.crossEntropy, optimizer, scheduler, schedulerInterval: 'batch', trainLoader: loader(), epochs: 3, progress: false });
    expectClose(history.series('lr'), [0.1, 0.1 / 5, 0.1 / 9], 0, 1e-12, 'lr');
  });

  it('gives ReduceLROnPlateau the monitored value: a flat val_loss halves the lr after each non-improving epoch', () => {
    const { model, optimizer } = linearSetup(0.1);
    const scheduler = new optim.ReduceLROnPlateau(optimizer, { factor: 0.5, patience: 0 });
    const flat = (output: Tensor, target: Tensor): Tensor => (k.isGradEnabled() ? F.crossEntropy(output, target) : k.tensor(1));
    const history = train.fit(model, { loss: flat, optimizer, scheduler, trainLoader: loader(), valLoader: loader(), epochs: 4, progress: false });
    expect(history.series('lr')).toEqual([0.1, 0.1, 0.05, 0.025]);
    expect(() =>
      train.fit(model, { loss: flat, optimizer, scheduler, schedulerMonitor: 'val_accuracy', trainLoader: loader(), valLoader: loader(), epochs: 1, progress: false }),
    ).toThrow(/ReduceLROnPlateau monitors 'val_accuracy', which is not in the epoch record/);
  });
});

describe('EarlyStopping', () => {
  /** A loss that trains normally and reports the scripted value as each epoch's validation loss. */
  function scriptedValidation(script: number[]): (output: Tensor, target: Tensor) => Tensor {
    let validations = 0;
    return (output, target) => (k.isGradEnabled() ? F.crossEntropy(output, target) : k.tensor(script[validations++], { dtype: 'float64' }));
  }

  it('stops when val_loss has not improved for `patience` epochs and restores the best epoch weights', () => {
    const { model, optimizer } = linearSetup(0.1);
    const weights: Record<string, Tensor>[] = [];
    const recorder: train.Callback = { onEpochEnd: (ctx) => void weights.push(copyState(ctx.model)) };
    const stopper = new train.EarlyStopping({ patience: 2, restoreBestWeights: true });
    const history = train.fit(model, {
      loss: scriptedValidation([1.0, 0.8, 0.9, 0.85, 0.7, 0.6]),
      optimizer,
      trainLoader: [[k.tensor(COORDS), k.tensor(LABELS, { dtype: 'int32' })]],
      valLoader: [[k.tensor(COORDS), k.tensor(LABELS, { dtype: 'int32' })]],
      epochs: 6,
      callbacks: [recorder, stopper],
      progress: false,
    });
    // best 0.8 at epoch 2; epochs 3 and 4 do not beat it → stop after epoch 4
    expect(history.series('val_loss')).toEqual([1.0, 0.8, 0.9, 0.85]);
    expect(stopper.stoppedEpoch).toBe(4);
    expect(stopper.best).toEqual({ value: 0.8, epoch: 2 });
    expect(history.stopReason).toMatch(/EarlyStopping: val_loss did not improve for 2 epoch\(s\) \(best 0\.8 at epoch 2\)/);
    expectSameBits(model.stateDict(), weights[1]);
    expect(bytesOf(weights[3].weight).equals(bytesOf(weights[1].weight))).toBe(false); // training did move the weights
  });

  it("mode 'max' with minDelta: a rise smaller than minDelta is no improvement", () => {
    const stopper = new train.EarlyStopping({ monitor: 'val_accuracy', minDelta: 0.01, patience: 2 });
    const history = new train.History();
    const ctx = new train.TrainingContext(new nn.Linear(1, 1), new optim.SGD(new nn.Linear(1, 1).parameters(), { lr: 1 }), undefined, history, 10, undefined);
    stopper.onTrainBegin(ctx);
    const accuracies = [0.5, 0.6, 0.605, 0.59];
    accuracies.forEach((acc, i) => {
      const record = { epoch: i + 1, train_loss: 1, val_accuracy: acc, lr: 1, seconds: 1, samples_per_s: 1 };
      history.push(record);
      stopper.onEpochEnd(ctx, record);
      expect(ctx.stopRequested, `after epoch ${i + 1}`).toBe(i === 3);
    });
    expect(stopper.best).toEqual({ value: 0.6, epoch: 2 });
  });

  it('replays the history of a resumed run: its patience counts the epochs before the resume', () => {
    const stopper = new train.EarlyStopping({ patience: 2 });
    const record = (epoch: number, val_loss: number): train.EpochRecord => ({ epoch, train_loss: 1, val_loss, lr: 1, seconds: 1, samples_per_s: 1 });
    const history = new train.History([record(1, 1.0), record(2, 0.8), record(3, 0.9)]);
    const ctx = new train.TrainingContext(new nn.Linear(1, 1), new optim.SGD(new nn.Linear(1, 1).parameters(), { lr: 1 }), undefined, history, 10, undefined);
    stopper.onTrainBegin(ctx);
    expect(stopper.best).toEqual({ value: 0.8, epoch: 2 });
    history.push(record(4, 0.85));
    stopper.onEpochEnd(ctx, record(4, 0.85)); // the second epoch without improvement
    expect(ctx.stopReason).toMatch(/did not improve for 2 epoch/);
  });

  it('names the missing key when the monitored value is not recorded', () => {
    const { model, optimizer } = linearSetup();
    expect(() =>
      train.fit(model, { loss: F.crossEntropy, optimizer, trainLoader: new data.DataLoader(pointSet(), { batchSize: 6 }), epochs: 2, callbacks: [new train.EarlyStopping()], progress: false }),
    ).toThrow(/EarlyStopping: the monitored 'val_loss' is not in the epoch record \(is a valLoader given\?\); the record has epoch, train_loss, lr/);
  });
});

describe('checkpoints', () => {
  /** A small MLP with dropout (default generator), Adam, a cosine schedule and a shuffling loader with its own generator. */
  function setup(seed: number, shuffleSeed: number) {
    k.manualSeed(seed);
    const model = new nn.Sequential(new nn.Linear(2, 8), new nn.ReLU(), new nn.Dropout(0.25), new nn.Linear(8, 2));
    const optimizer = new optim.Adam(model.parameters(), { lr: 0.05 });
    const scheduler = new optim.CosineAnnealingLR(optimizer, { TMax: 4 });
    const shuffle = new Generator(shuffleSeed);
    const options = {
      loss: F.crossEntropy,
      optimizer,
      scheduler,
      trainLoader: new data.DataLoader(pointSet(), { batchSize: 5, shuffle: true, generator: shuffle }),
      valLoader: new data.DataLoader(pointSet(), { batchSize: 12 }),
      epochs: 4,
      metrics: { accuracy: train.accuracy },
      progress: false as const,
    };
    return { model, optimizer, scheduler, shuffle, options };
  }
  const withoutTimes = (h: train.History): Partial<train.EpochRecord>[] => h.records.map(({ seconds: _s, samples_per_s: _r, ...rest }) => rest);

  for (const backend of backends) {
    it(`${backend}: 2 epochs, a checkpoint, fresh objects restored from it and 2 more epochs equal 4 epochs in one go, bit for bit`, () => {
      k.withBackend(backend, () => {
        const straight = setup(1, 7);
        const straightHistory = train.fit(straight.model, straight.options);
        const straightRng = k.defaultGenerator.getState();

        const first = setup(1, 7);
        const path = join(dir, `resume-${backend}.safetensors`);
        train.fit(first.model, { ...first.options, epochs: 2, callbacks: [new train.ModelCheckpoint({ path, generators: { shuffle: first.shuffle } })] });

        const second = setup(99, 123); // different weights, shuffle order and dropout masks until restored
        const state = train.loadCheckpoint(path, { model: second.model, optimizer: second.optimizer, scheduler: second.scheduler, generators: { shuffle: second.shuffle } });
        expect(state.epoch).toBe(2);
        const resumedHistory = train.fit(second.model, { ...second.options, resumeFrom: state });

        expectSameBits(second.model.stateDict(), straight.model.stateDict());
        const moments = (o: optim.Adam): Tensor[] => Object.values(o.stateDict().state).flatMap((s) => Object.values(s).filter((v): v is Tensor => typeof v !== 'number'));
        moments(second.optimizer).forEach((m, i) => expect(bytesOf(m).equals(bytesOf(moments(straight.optimizer)[i])), `moment ${i}`).toBe(true));
        expect(withoutTimes(resumedHistory)).toEqual(withoutTimes(straightHistory));
        expect(second.scheduler.getLastLr()).toEqual(straight.scheduler.getLastLr());
        expect(k.defaultGenerator.getState()).toEqual(straightRng);
      });
    });
  }

  it('resuming without the shuffle generator gives a different run (the test above can fail)', () => {
    k.withBackend('reference', () => {
      const straight = setup(1, 7);
      train.fit(straight.model, straight.options);
      const first = setup(1, 7);
      const path = join(dir, 'resume-no-shuffle.safetensors');
      train.fit(first.model, { ...first.options, epochs: 2, callbacks: [new train.ModelCheckpoint({ path })] });
      const second = setup(99, 123);
      const state = train.loadCheckpoint(path, { model: second.model, optimizer: second.optimizer, scheduler: second.scheduler });
      train.fit(second.model, { ...second.options, resumeFrom: state });
      expect(bytesOf(second.model.stateDict()['3.weight']).equals(bytesOf(straight.model.stateDict()['3.weight']))).toBe(false);
    });
  });

  it('writes one file per epoch from a {epoch} path, every N epochs, or only on improvement', () => {
    const script = [1.0, 0.8, 0.9, 0.7, 0.75];
    const run = (checkpoint: train.ModelCheckpoint): void => {
      let validations = 0;
      const { model, optimizer } = linearSetup();
      const loss = (o: Tensor, t: Tensor): Tensor => (k.isGradEnabled() ? F.crossEntropy(o, t) : k.tensor(script[validations++], { dtype: 'float64' }));
      const batch = [[k.tensor(COORDS), k.tensor(LABELS, { dtype: 'int32' })]];
      train.fit(model, { loss, optimizer, trainLoader: batch, valLoader: batch, epochs: 5, callbacks: [checkpoint], progress: false });
    };
    run(new train.ModelCheckpoint({ path: join(dir, 'every', 'e{epoch}-{val_loss}.safetensors'), everyEpochs: 2 }));
    expect(existsSync(join(dir, 'every', 'e2-0.8000.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'every', 'e4-0.7000.safetensors'))).toBe(true);
    expect(['e1-1.0000', 'e3-0.9000', 'e5-0.7500'].some((f) => existsSync(join(dir, 'every', `${f}.safetensors`)))).toBe(false);

    const best = new train.ModelCheckpoint({ dir: join(dir, 'best'), saveBestOnly: true });
    run(best);
    expect(best.lastSaved).toBe(join(dir, 'best', 'best.safetensors'));
    const model = new nn.Linear(2, 2);
    expect(train.loadCheckpoint(best.lastSaved as string, { model, restoreDefaultGenerator: false }).epoch).toBe(4);
  });

  it('loadCheckpoint names what is missing', () => {
    const { model, optimizer } = linearSetup();
    const path = join(dir, 'weights-only.safetensors');
    train.saveCheckpoint(path, { model, epoch: 0, history: [] });
    expect(() => train.loadCheckpoint(path, { model, optimizer })).toThrow(/holds no optimizer state, but an optimizer was given/);
    expect(() => train.loadCheckpoint(path, { model, generators: { shuffle: new Generator(0) } })).toThrow(/has no generator 'shuffle' \(it has: default\)/);
    const plain = join(dir, 'plain.safetensors');
    k.io.saveStateDict(plain, model);
    expect(() => train.loadCheckpoint(plain, { model })).toThrow(/no 'kiln.checkpoint' metadata/);
    expect(() => train.loadCheckpoint(path, { model: new nn.Linear(3, 2) })).toThrow(/size mismatch for weight/);
  });
});

describe('history files and plots', () => {
  const trained = (callbacks: train.Callback[]): train.History => {
    const { model, optimizer } = linearSetup();
    return train.fit(model, {
      loss: F.crossEntropy,
      optimizer,
      trainLoader: new data.DataLoader(pointSet(), { batchSize: 4 }),
      valLoader: new data.DataLoader(pointSet(), { batchSize: 12 }),
      epochs: 3,
      metrics: { accuracy: train.accuracy },
      callbacks,
      progress: false,
    });
  };

  it('HistoryLogger writes one JSON record per line, or a CSV with a header', () => {
    const jsonl = join(dir, 'logs', 'history.jsonl');
    const csv = join(dir, 'logs', 'history.csv');
    const history = trained([new train.HistoryLogger({ path: jsonl }), new train.HistoryLogger({ path: csv })]);
    const lines = readFileSync(jsonl, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(history.records);
    const [header, ...rows] = readFileSync(csv, 'utf8').trimEnd().split('\n');
    expect(header).toBe('epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds,samples_per_s');
    expect(rows.map((row) => row.split(',').map(Number))).toEqual(history.records.map((r) => header.split(',').map((key) => r[key])));
  });

  it('LearningCurvePlot writes an SVG with every series and a PNG of the SVG size', () => {
    const base = join(dir, 'plots', 'curve');
    trained([new train.LearningCurvePlot({ basePath: base })]);
    const svg = readFileSync(`${base}.svg`, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="1120" height="380"')).toBe(true);
    for (const name of ['train_loss', 'val_loss', 'train_accuracy', 'val_accuracy', 'Loss', 'Metrics', 'epoch']) expect(svg).toContain(`>${name}</text>`);
    expect(unbalancedTags(svg)).toEqual([]);
    const png = readFileSync(`${base}.png`);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1120, 380]); // IHDR width, height
  });

  it('without metrics the learning curve is one loss panel', () => {
    const history = new train.History([{ epoch: 1, train_loss: 1, lr: 0.1, seconds: 1, samples_per_s: 1 }]);
    const svg = train.learningCurveSvg(history);
    expect(svg).toMatch(/^<svg [^>]*width="560" height="380"/);
    expect(svg).not.toContain('Metrics');
  });
});

/** Tags opened and never closed (or closed without being opened), by a simple scan of the markup. */
function unbalancedTags(xml: string): string[] {
  const stack: string[] = [];
  const problems: string[] = [];
  for (const [, close, name, selfClosing] of xml.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    if (selfClosing) continue;
    if (!close) stack.push(name);
    else if (stack.pop() !== name) problems.push(`</${name}>`);
  }
  return [...problems, ...stack];
}

describe('progress output', () => {
  const run = (progress: train.ProgressMode, stream: train.ProgressStream): void => {
    const { model, optimizer } = linearSetup();
    const xs = k.tensor(Array.from({ length: 20 }, (_, i) => COORDS[i % 12]));
    const ys = k.tensor(Array.from({ length: 20 }, (_, i) => LABELS[i % 12]), { dtype: 'int32' });
    const trainLoader = new data.DataLoader(new data.TensorDataset(xs, ys), { batchSize: 2 }); // 10 batches
    train.fit(model, { loss: F.crossEntropy, optimizer, trainLoader, valLoader: new data.DataLoader(pointSet(), { batchSize: 12 }), epochs: 2, progress, progressStream: stream });
  };

  it('off a terminal: a line per tenth of an epoch and a summary per epoch', () => {
    const out = collector(false);
    run('auto', out.stream);
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(2 * (9 + 1));
    expect(lines[0]).toMatch(/^epoch 1\/2 {2}batch 1\/10 {2}loss [\d.e-]+ {2}[\d.]+ samples\/s {2}ETA \d+:\d\d$/);
    expect(lines[8]).toMatch(/^epoch 1\/2 {2}batch 9\/10 /);
    expect(lines[9]).toMatch(/^epoch 1\/2 {2}train_loss [\d.e-]+ {2}val_loss [\d.e-]+ {2}lr 0\.5 {2}[\d.e-]+ s {2}[\d.]+ samples\/s$/);
    expect(lines[19]).toMatch(/^epoch 2\/2 {2}train_loss /);
    expect(out.text()).not.toContain('\x1b');
  });

  it('on a terminal: a cli-progress bar, replaced by the summary line', () => {
    const out = collector(true);
    run('auto', out.stream);
    const text = out.text();
    expect(text).toMatch(/epoch 1\/2 \|[=-]{20}\| 0\/10 \| ETA \? \| loss - \| - samples\/s/);
    expect(text).toMatch(/epoch 2\/2 \|={20}\| 10\/10 \| ETA 0:00 \| loss [\d.e-]+ \| \d+ samples\/s/); // the final redraw
    expect(text).toMatch(/\x1b\[\d*G/); // cursor moves: it is redrawn in place
    expect(text).toMatch(/epoch 2\/2 {2}train_loss [\d.e-]+ {2}val_loss /);
  });

  it('progress: false writes nothing', () => {
    const out = collector(true);
    run(false, out.stream);
    expect(out.text()).toBe('');
  });
});

describe('errors', () => {
  const batch = (): [Tensor, Tensor] => [k.tensor(COORDS), k.tensor(LABELS, { dtype: 'int32' })];

  it('a NaN loss stops training, naming the epoch and batch, before the weights are updated', () => {
    const xs = k.tensor(COORDS.map((p, i) => (i === 9 ? [Number.NaN, p[1]] : p)));
    const loader = new data.DataLoader(new data.TensorDataset(xs, k.tensor(LABELS, { dtype: 'int32' })), { batchSize: 4 }); // row 9 is in batch 3
    const { model, optimizer } = linearSetup();
    let afterBatch2: Record<string, Tensor> = {};
    const recorder: train.Callback = { onBatchEnd: (ctx, info) => void (info.batch === 2 && (afterBatch2 = copyState(ctx.model))) };
    expect(() => train.fit(model, { loss: F.crossEntropy, optimizer, trainLoader: loader, epochs: 3, callbacks: [recorder], progress: false })).toThrow(
      /fit: the training loss is NaN at epoch 1, batch 3 of 3; stopped before updating the weights/,
    );
    expectSameBits(model.stateDict(), afterBatch2);
  });

  it('an infinite loss later in training names its epoch', () => {
    let calls = 0;
    const loss = (o: Tensor, t: Tensor): Tensor => F.crossEntropy(o, t).mul(++calls === 5 ? Infinity : 1);
    const { model, optimizer } = linearSetup();
    const loader = new data.DataLoader(pointSet(), { batchSize: 6 }); // 2 batches per epoch: call 5 is epoch 3, batch 1
    expect(() => train.fit(model, { loss, optimizer, trainLoader: loader, epochs: 4, progress: false })).toThrow(/loss is Infinity at epoch 3, batch 1 of 2/);
  });

  it('bad options are rejected before training, naming the value', () => {
    const { model, optimizer } = linearSetup();
    const base = { loss: F.crossEntropy, optimizer, trainLoader: [batch()], epochs: 1, progress: false as const };
    expect(() => train.fit(model, { ...base, epochs: 0 })).toThrow(/epochs must be an integer ≥ 1, got 0/);
    expect(() => train.fit(model, { ...base, epochs: 2.5 })).toThrow(/epochs must be an integer ≥ 1, got 2.5/);
    expect(() => train.fit(model, { ...base, trainLoader: undefined as unknown as [] })).toThrow(/trainLoader must be a DataLoader or an iterable of \[input, target\] batches, got nothing/);
    expect(() => train.fit(model, { ...base, trainLoader: 3 as unknown as [] })).toThrow(/trainLoader must be .* got Number/);
    expect(() => train.fit(model, { ...base, valLoader: {} as unknown as [] })).toThrow(/valLoader must be .* got Object/);
    expect(() => train.fit(model, { ...base, optimizer: undefined as unknown as optim.SGD })).toThrow(/optimizer must be a kiln optimizer/);
    expect(() => train.fit(model, { ...base, loss: 'mse' as unknown as train.Loss })).toThrow(/loss must be a function .* or a loss Module, got string/);
    expect(() => train.fit({} as nn.Module, base)).toThrow(/model must be an nn.Module/);
    expect(() => train.fit(model, { ...base, clipGradNorm: -1 })).toThrow(/clipGradNorm must be > 0, got -1/);
    expect(() => train.fit(model, { ...base, progress: 'fancy' as train.ProgressMode })).toThrow(/progress must be 'auto', 'bar', 'lines', true or false, got 'fancy'/);
    expect(() => train.fit(model, { ...base, resumeFrom: { epoch: 2, history: [] } })).toThrow(/one record per epoch done \(2\), got 0/);
    const plateau = new optim.ReduceLROnPlateau(optimizer);
    expect(() => train.fit(model, { ...base, scheduler: plateau, schedulerInterval: 'batch' })).toThrow(/ReduceLROnPlateau steps on an epoch's metric/);
    expect(() => new train.EarlyStopping({ patience: -1 })).toThrow(/patience must be an integer ≥ 0, got -1/);
    expect(() => new train.ModelCheckpoint({})).toThrow(/exactly one of path and dir/);
  });

  it('bad batches and losses are named with their epoch and batch', () => {
    const { model, optimizer } = linearSetup();
    const base = { loss: F.crossEntropy, optimizer, epochs: 1, progress: false as const };
    expect(() => train.fit(model, { ...base, trainLoader: [[...batch(), batch()[1]]] })).toThrow(/epoch 1, batch 1 of 1\): each batch must be an \[input, target\] pair, got an array of 3/);
    expect(() => train.fit(model, { ...base, trainLoader: [k.tensor(COORDS)] })).toThrow(/got a Tensor of shape \[12, 2\]/);
    expect(() => train.fit(model, { ...base, trainLoader: [] })).toThrow(/trainLoader yielded no batches in epoch 1/);
    expect(() => train.fit(model, { ...base, loss: (o, t) => F.crossEntropy(o, t, { reduction: 'none' }), trainLoader: [batch()] })).toThrow(
      /the loss must return a scalar Tensor \(reduction 'mean' or 'sum'\), got a tensor of shape \[12\]/,
    );
  });
});
