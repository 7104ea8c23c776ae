/**
 * train.fitAsync: the same training as fit bit for bit, the event loop served between steps,
 * an AbortSignal that stops after the step in progress and leaves a checkpoint that matches
 * the model and optimizer, and errors as rejected promises.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { data, F, Generator, nn, optim, train, type Tensor } from '../lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-fit-async-'));
const backends: k.BackendName[] = k.isNativeAvailable() ? ['reference', 'native'] : ['reference'];

const COORDS = [
  [-1.2, -0.8], [-0.9, -1.1], [-1.5, -1.0], [-0.7, -1.3], [-1.1, -0.6], [-0.8, -0.9],
  [1.0, 1.2], [1.3, 0.8], [0.9, 1.1], [1.4, 1.3], [0.7, 0.9], [1.1, 0.6],
];
const LABELS = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
const pointSet = (): data.TensorDataset => new data.TensorDataset(k.tensor(COORDS), k.tensor(LABELS, { dtype: 'int32' }));
const bytesOf = (t: Tensor): Buffer => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

function expectSameBits(actual: Record<string, Tensor>, expected: Record<string, Tensor>): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const key of Object.keys(expected)) expect(bytesOf(actual[key]).equals(bytesOf(expected[key])), `${key} differs`).toBe(true);
}

/** A seeded two-layer classifier with Adam, a shuffling loader (4 batches) and a validation loader (3 batches). */
function setup(): { model: nn.Sequential; optimizer: optim.Adam; options: train.FitOptions } {
  k.manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(2, 8), new nn.Tanh(), new nn.Linear(8, 2));
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.05 });
  const options: train.FitOptions = {
    loss: F.crossEntropy,
    optimizer,
    trainLoader: new data.DataLoader(pointSet(), { batchSize: 3, shuffle: true, generator: new Generator(1) }),
    valLoader: new data.DataLoader(pointSet(), { batchSize: 5 }),
    epochs: 3,
    metrics: { accuracy: train.accuracy },
    progress: false,
  };
  return { model, optimizer, options };
}

/** Records without their timings, which differ from run to run. */
const untimed = (history: train.History): Record<string, number | undefined>[] => history.records.map(({ seconds: _s, samples_per_s: _r, ...rest }) => rest);

describe('fitAsync', () => {
  for (const backend of backends) {
    it(`${backend}: trains exactly as fit does (same history, bit-identical weights)`, async () => {
      const previous = k.getBackend().name;
      k.setBackend(backend); // withBackend restores at the first await; the whole run must use `backend`
      try {
        const sync = setup();
        const expected = train.fit(sync.model, sync.options);
        const run = setup();
        const history = await train.fitAsync(run.model, run.options);
        expect(k.getBackend().name).toBe(backend);
        expect(untimed(history)).toEqual(untimed(expected));
        expect(history.stopReason).toBeNull();
        expectSameBits(run.model.stateDict(), sync.model.stateDict());
      } finally {
        k.setBackend(previous);
      }
    });
  }

  it('gives the event loop a turn after every training step and validation batch', async () => {
    const { model, options } = setup();
    let turns = 0;
    let spinning = true;
    const spin = (): void => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const turnsAt: number[] = [];
    const spy = (output: Tensor, target: Tensor): Tensor => {
      turnsAt.push(turns);
      return F.crossEntropy(output, target);
    };
    await train.fitAsync(model, { ...options, loss: spy, epochs: 1 });
    spinning = false;
    expect(turnsAt).toHaveLength(4 + 3); // 4 training steps, 3 validation batches
    for (let i = 1; i < turnsAt.length; i++) expect(turnsAt[i], `batch ${i + 1}`).toBeGreaterThan(turnsAt[i - 1]);
  });

  it('an HTTP server in the same process answers while training runs; the answer arrives before training ends', async () => {
    const { model, options } = setup();
    const server = createServer((_request, response) => response.end(JSON.stringify({ batches })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let batches = 0;
    let answered: Promise<{ batches: number }> | null = null;
    const controller = new AbortController();
    const client: train.Callback = {
      onBatchEnd: () => {
        batches++;
        if (batches === 1) answered = fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json() as Promise<{ batches: number }>);
      },
    };
    const training = train.fitAsync(model, { ...options, epochs: 100_000, callbacks: [client], signal: controller.signal });
    const reply = await (async () => {
      while (answered === null) await new Promise((resolve) => setImmediate(resolve));
      return answered;
    })();
    controller.abort();
    const history = await training;
    server.close();
    expect(reply.batches).toBeGreaterThanOrEqual(1); // the server ran between steps of the same training
    expect(history.stopReason).toBe('aborted'); // training was still running when the reply came
  });

  it('leaves no-grad mode and the storage of steps behind at every yield', async () => {
    const { model, options } = setup();
    const seen: boolean[] = [];
    const probe = setInterval(() => seen.push(k.isGradEnabled()), 0);
    await train.fitAsync(model, { ...options, epochs: 2 });
    clearInterval(probe);
    expect(seen.every((enabled) => enabled)).toBe(true);
  });

  it('an abort stops after the step in progress: the epoch is not recorded, onTrainEnd runs, the checkpoint matches the model and optimizer', async () => {
    const { model, optimizer, options } = setup();
    const controller = new AbortController();
    const steps: string[] = [];
    const events: string[] = [];
    const callback: train.Callback = {
      onBatchEnd: (_ctx, b) => {
        steps.push(`${b.epoch}.${b.batch}`);
        if (b.epoch === 2 && b.batch === 2) controller.abort();
      },
      onEpochEnd: (_ctx, r) => void events.push(`end ${r.epoch}`),
      onTrainEnd: () => void events.push('train end'),
    };
    const path = join(dir, 'aborted', 'checkpoint.safetensors');
    const history = await train.fitAsync(model, { ...options, callbacks: [callback], signal: controller.signal, abortCheckpoint: { path } });
    expect(steps).toEqual(['1.1', '1.2', '1.3', '1.4', '2.1', '2.2']);
    expect(events).toEqual(['end 1', 'train end']);
    expect(history.records.map((r) => r.epoch)).toEqual([1]);
    expect(history.stopReason).toBe('aborted');
    expect(model.training).toBe(true);

    const restored = setup();
    const state = train.loadCheckpoint(path, { model: restored.model, optimizer: restored.optimizer });
    expect(state.epoch).toBe(1);
    expect(state.history).toEqual(history.records);
    expectSameBits(restored.model.stateDict(), model.stateDict());
    const savedMoments = restored.optimizer.stateDict().state;
    for (const [index, entry] of Object.entries(optimizer.stateDict().state)) {
      expect(savedMoments[Number(index)].step).toBe(6); // six steps taken, none half-done
      expect(entry.step).toBe(6);
      expect(bytesOf(savedMoments[Number(index)].exp_avg as Tensor).equals(bytesOf(entry.exp_avg as Tensor))).toBe(true);
    }
  });

  it('an abort from a timer stops training between steps, with its reason', async () => {
    const { model, options } = setup();
    const controller = new AbortController();
    let batches = 0;
    const counter: train.Callback = { onBatchEnd: () => void batches++ };
    setTimeout(() => controller.abort(new Error('client went away')), 5);
    const history = await train.fitAsync(model, { ...options, epochs: 100_000, callbacks: [counter], signal: controller.signal });
    expect(history.stopReason).toBe('aborted: client went away');
    expect(batches).toBeGreaterThan(0);
    expect(history.length).toBeLessThan(100_000);
  });

  it('an already aborted signal rejects with its reason before any step', async () => {
    const { model, options } = setup();
    let batches = 0;
    const reason = new Error('no');
    const promise = train.fitAsync(model, { ...options, callbacks: [{ onBatchEnd: () => void batches++ }], signal: AbortSignal.abort(reason) });
    await expect(promise).rejects.toBe(reason);
    expect(batches).toBe(0);
  });

  it('errors reject the promise: a NaN loss names its batch and the model mode is restored; bad options are named', async () => {
    const { model, options } = setup();
    model.eval();
    const nanLoss = (output: Tensor, target: Tensor): Tensor => F.crossEntropy(output, target).mul(Number.NaN);
    await expect(train.fitAsync(model, { ...options, loss: nanLoss })).rejects.toThrow(/training loss is NaN at epoch 1, batch 1 of 4/);
    expect(model.training).toBe(false);
    await expect(train.fitAsync(model, { ...options, epochs: 0 })).rejects.toThrow(/fit: epochs must be an integer ≥ 1, got 0/);
    await expect(train.fitAsync(model, { ...options, signal: 'stop' as unknown as AbortSignal })).rejects.toThrow(/fitAsync: signal must be an AbortSignal, got string/);
    await expect(train.fitAsync(model, { ...options, abortCheckpoint: {} as train.AbortCheckpoint })).rejects.toThrow(/abortCheckpoint must be \{ path: string/);
    await expect(train.fitAsync(model, { ...options, inlineStepMs: -1 })).rejects.toThrow(/fitAsync: inlineStepMs must be a number ≥ 0, got -1/);
  });

  it.skipIf(!k.isNativeAvailable())('native: the event loop turns during steps, the weights are in flight while a step runs and readable between steps', async () => {
    const previous = k.getBackend().name;
    k.setBackend('native');
    try {
      k.manualSeed(0);
      const model = new nn.Sequential(new nn.Linear(512, 1024), new nn.ReLU(), new nn.Linear(1024, 1024), new nn.ReLU(), new nn.Linear(1024, 2));
      const points = new data.TensorDataset(k.randn([1024, 512]), k.randint(0, 2, [1024]));
      const options: train.FitOptions = { loss: F.crossEntropy, optimizer: new optim.SGD(model.parameters(), { lr: 0.01 }), trainLoader: new data.DataLoader(points, { batchSize: 256 }), epochs: 2, progress: false };
      const weight = model.parameters()[0];
      let ticks = 0;
      let inFlight = 0;
      let readableAtBatchEnd = 0;
      const ticksAtBatchEnd: number[] = [];
      const timer = setInterval(() => {
        ticks++;
        try {
          weight.sum();
        } catch (error) {
          if (!(error instanceof k.TensorInFlightError)) throw error;
          inFlight++;
        }
      }, 1);
      const onBatchEnd = (): void => {
        ticksAtBatchEnd.push(ticks);
        weight.sum(); // between steps the weights have landed: reads are allowed (a throw would reject fitAsync)
        readableAtBatchEnd++;
      };
      try {
        await train.fitAsync(model, { ...options, callbacks: [{ onBatchEnd }], inlineStepMs: 0 });
      } finally {
        clearInterval(timer);
      }
      // 8 steps of ~2.6 GFLOP each: many interval ticks per step, some while a phase held the weights.
      const perStep = ticksAtBatchEnd.slice(1).map((t, i) => t - ticksAtBatchEnd[i]);
      expect(Math.max(...perStep), `ticks between batch ends: ${perStep.join(', ')}`).toBeGreaterThanOrEqual(3);
      expect(inFlight, `${inFlight} reads refused`).toBeGreaterThan(0);
      expect(readableAtBatchEnd).toBe(8);
    } finally {
      k.setBackend(previous);
    }
  });

  it.skipIf(!k.isNativeAvailable())('native: steps whose mean time is within inlineStepMs run inline after the first (their weights are never seen in flight); with 0 every step runs off the thread', async () => {
    const previous = k.getBackend().name;
    k.setBackend('native');
    try {
      const inFlightAfterFirstStep = async (inlineStepMs: number): Promise<number> => {
        k.manualSeed(0);
        const model = new nn.Sequential(new nn.Linear(512, 1024), new nn.ReLU(), new nn.Linear(1024, 2));
        const points = new data.TensorDataset(k.randn([1024, 512]), k.randint(0, 2, [1024]));
        const weight = model.parameters()[0];
        let steps = 0;
        let refused = 0;
        const timer = setInterval(() => {
          try {
            weight.sum();
          } catch (error) {
            if (!(error instanceof k.TensorInFlightError)) throw error;
            if (steps >= 1) refused++;
          }
        }, 0);
        try {
          await train.fitAsync(model, {
            loss: F.crossEntropy, optimizer: new optim.SGD(model.parameters(), { lr: 0.01 }), trainLoader: new data.DataLoader(points, { batchSize: 256 }),
            epochs: 4, progress: false, callbacks: [{ onBatchEnd: () => void steps++ }], inlineStepMs,
          });
        } finally {
          clearInterval(timer);
        }
        return refused;
      };
      expect(await inFlightAfterFirstStep(Number.POSITIVE_INFINITY)).toBe(0);
      expect(await inFlightAfterFirstStep(0)).toBeGreaterThan(0);
    } finally {
      k.setBackend(previous);
    }
  });

  it.skipIf(!k.isNativeAvailable())('native: an abort while a step runs off the JS thread ends training after that step, with a consistent checkpoint', async () => {
    const previous = k.getBackend().name;
    k.setBackend('native');
    try {
      k.manualSeed(0);
      const model = new nn.Sequential(new nn.Linear(512, 1024), new nn.ReLU(), new nn.Linear(1024, 2));
      const optimizer = new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
      const points = new data.TensorDataset(k.randn([1024, 512]), k.randint(0, 2, [1024]));
      const path = join(dir, 'aborted-mid-step.safetensors');
      const controller = new AbortController();
      const weight = model.parameters()[0];
      let abortedInFlight = false;
      const timer = setInterval(() => {
        try {
          weight.sum();
        } catch (error) {
          if (!(error instanceof k.TensorInFlightError)) throw error;
          abortedInFlight = true; // a phase holds the weights: abort now, mid-step
          controller.abort();
          clearInterval(timer);
        }
      }, 1);
      const history = await train.fitAsync(model, {
        loss: F.crossEntropy, optimizer, trainLoader: new data.DataLoader(points, { batchSize: 128 }), epochs: 100, progress: false,
        signal: controller.signal, abortCheckpoint: { path }, inlineStepMs: 0,
      });
      clearInterval(timer);
      expect(abortedInFlight).toBe(true);
      expect(history.stopReason).toBe('aborted');
      const restored = new nn.Sequential(new nn.Linear(512, 1024), new nn.ReLU(), new nn.Linear(1024, 2));
      const restoredOptimizer = new optim.SGD(restored.parameters(), { lr: 0.01, momentum: 0.9 });
      train.loadCheckpoint(path, { model: restored, optimizer: restoredOptimizer, restoreDefaultGenerator: false });
      expectSameBits(restored.stateDict(), model.stateDict()); // the step in progress finished before the checkpoint
    } finally {
      k.setBackend(previous);
    }
  });
});
