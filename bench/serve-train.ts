/**
 * bench serve, training throughput: LeNet-5 trained by train.fit, train.fitAsync and a
 * train.Trainer worker in the same run, on the same data (examples/lenet-job: the embedded 10k
 * Fashion-MNIST subset, batch 64, SGD momentum), 2 kernel threads each, no HTTP load. Each
 * run trains two epochs and reports the second (the first pays for warm-up); the three modes
 * alternate over three passes and each row is the median pass, so a drift in the VM's CPU
 * share falls on all three alike. fitAsync's and the Trainer's rows carry their ratio to fit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setNumThreads, train } from '../lib/index.js';
import setup, { type LeNetJobConfig } from '../examples/lenet-job.js';
import type { BenchRow } from './harness.js';

const JOB = new URL('../examples/lenet-job.js', import.meta.url);
const THREADS = 2;
const PASSES = 3;
type Mode = 'train.fit' | 'train.fitAsync' | 'train.Trainer';
const MODES: readonly Mode[] = ['train.fit', 'train.fitAsync', 'train.Trainer'];

/** Samples/s of the second of two epochs trained with `mode`. */
async function secondEpochRate(mode: Mode, config: LeNetJobConfig): Promise<number> {
  setNumThreads(THREADS);
  let history: train.History;
  if (mode === 'train.Trainer') {
    history = (await new train.Trainer({ module: JOB, config, numThreads: THREADS }).result).history;
  } else {
    const { model, ...options } = setup(config);
    history = mode === 'train.fit' ? train.fit(model, options) : await train.fitAsync(model, options);
  }
  return history.records[1].samples_per_s;
}

/** One row per mode: the median samples/s over the passes, each pass's figure, and the ratio to fit's median. */
export async function trainingThroughput(): Promise<BenchRow[]> {
  const checkpointDir = mkdtempSync(join(tmpdir(), 'kiln-bench-serve-'));
  const config: LeNetJobConfig = { epochs: 2, batchSize: 64, limit: null, subset: true, checkpointDir, seed: 0 };
  const rates = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
  try {
    for (let pass = 0; pass < PASSES; pass++) {
      for (const mode of MODES) rates.get(mode)?.push(await secondEpochRate(mode, config));
    }
  } finally {
    rmSync(checkpointDir, { recursive: true, force: true });
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const fitRate = median(rates.get('train.fit') ?? []);
  return MODES.map((mode) => {
    const passes = rates.get(mode) ?? [];
    const rate = median(passes);
    return {
      suite: 'serve',
      case: `LeNet-5 training, no HTTP load, ${mode}`,
      impl: 'kiln-native',
      threads: THREADS,
      median_ms: (64 / rate) * 1000,
      samples_per_s: rate,
      passes_samples_per_s: passes.map((r) => Math.round(r)),
      ...(mode !== 'train.fit' && { ratio_to_fit: rate / fitRate }),
    };
  });
}
