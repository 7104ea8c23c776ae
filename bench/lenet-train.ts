/**
 * One kiln LeNet-5 training run for bench suite `lenet`, in a process of its own so that its
 * peak RSS is its alone (bench/lenet.ts spawns it). The recipe of the PyTorch anchor: full
 * Fashion-MNIST normalised with the training set's mean and std, batch 64, SGD momentum 0.9,
 * lr 0.05, cross-entropy. Each step runs in tidy(), as fit() runs it: the step's storage is
 * reused by the next step instead of left to the garbage collector.
 *
 * Usage: node dist/bench/lenet-train.js CASE BACKEND THREADS EPOCHS [MAX_SAMPLES [SEED [AUTOCAST]]]. Prints
 * one JSON row (in a list): samples_per_s over the training epochs, median_ms per batch of 64,
 * peak_rss_mb, and test_acc_pct and seed when whole epochs ran. MAX_SAMPLES 0 means all; SEED
 * (default 0) seeds the initial weights, and SEED + 1 the shuffling. AUTOCAST `bfloat16` runs each
 * step's forward and loss under autocast('bfloat16', …) (impl `kiln-<backend>-autocast-bf16`).
 */
import { autocast, data, manualSeed, models, nn, optim, setBackend, setNumThreads, tidy, train, Generator, type BackendName, type Tensor } from '../lib/index.js';
import type { BenchRow } from './harness.js';

const [caseName, backend, threadsArg, epochsArg, maxSamplesArg, seedArg, autocastArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const epochs = Number(epochsArg);
const seed = Number(seedArg ?? 0);
const BATCH = 64;
const lowPrecision = autocastArg === 'bfloat16';

setBackend(backend as BackendName);
setNumThreads(threads);
manualSeed(seed);

const trainData = data.loadFashionMnist({ split: 'train', full: true });
const test = data.loadFashionMnist({ split: 'test', full: true });
const mean = trainData.images.mean().item();
const std = trainData.images.std().item();
const normalise = (x: Tensor) => x.sub(mean).div(std);
const trainSet = new data.TensorDataset(normalise(trainData.images), trainData.labels);
const samples = maxSamplesArg === undefined || Number(maxSamplesArg) === 0 ? trainSet.length : Math.min(Number(maxSamplesArg), trainSet.length);
const trainPart = samples < trainSet.length ? new data.Subset(trainSet, [...Array(samples).keys()]) : trainSet;
const loader = new data.DataLoader<Tensor[], Tensor[]>(trainPart, { batchSize: BATCH, shuffle: true, generator: new Generator(seed + 1) });

const net = models.lenet5();
const optimizer = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
const lossFn = new nn.CrossEntropyLoss();

let trainMs = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  const start = performance.now();
  for (const [x, y] of loader) {
    tidy(() => {
      optimizer.zeroGrad();
      const loss = lowPrecision ? autocast('bfloat16', () => lossFn.forward(net.forward(x), y)) : lossFn.forward(net.forward(x), y);
      loss.backward();
      optimizer.step();
    });
  }
  trainMs += performance.now() - start;
}

/** Test accuracy in % over the whole test set, in batches of 1000. */
function testAccuracy(): number {
  const testLoader = new data.DataLoader(new data.TensorDataset(normalise(test.images), test.labels), { batchSize: 1000 });
  return 100 * train.evaluate(net, testLoader, { loss: lossFn, metrics: { accuracy: train.accuracy } }).metrics.accuracy;
}

const samplesPerS = (epochs * samples) / (trainMs / 1000);
const row: BenchRow = {
  suite: 'lenet',
  case: caseName,
  impl: `kiln-${backend}${lowPrecision ? '-autocast-bf16' : ''}`,
  threads,
  median_ms: (BATCH * 1000) / samplesPerS,
  samples_per_s: samplesPerS,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
};
if (samples === trainSet.length) Object.assign(row, { test_acc_pct: testAccuracy(), seed });
console.log(JSON.stringify([row]));
