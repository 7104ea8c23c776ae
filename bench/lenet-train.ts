/**
 * One kiln LeNet-5 training run for bench suite `lenet`, in a process of its own so that its
 * peak RSS is its alone (bench/lenet.ts spawns it). The recipe of the PyTorch anchor: full
 * Fashion-MNIST normalised with the training set's mean and std, batch 64, SGD momentum 0.9,
 * lr 0.05, cross-entropy.
 *
 * Usage: node dist/bench/lenet-train.js CASE BACKEND THREADS EPOCHS [MAX_SAMPLES]. Prints one
 * JSON row (in a list): samples_per_s over the training epochs, median_ms per batch of 64,
 * peak_rss_mb, and test_acc_pct when whole epochs ran.
 */
import { data, manualSeed, models, nn, noGrad, optim, setBackend, setNumThreads, Generator, type BackendName, type Tensor } from '../lib/index.js';
import type { BenchRow } from './harness.js';

const [caseName, backend, threadsArg, epochsArg, maxSamplesArg] = process.argv.slice(2);
const threads = Number(threadsArg);
const epochs = Number(epochsArg);
const BATCH = 64;

setBackend(backend as BackendName);
setNumThreads(threads);
manualSeed(0);

const train = data.loadFashionMnist({ split: 'train', full: true });
const test = data.loadFashionMnist({ split: 'test', full: true });
const mean = train.images.mean().item();
const std = train.images.std().item();
const normalise = (x: typeof train.images) => x.sub(mean).div(std);
const trainSet = new data.TensorDataset(normalise(train.images), train.labels);
const samples = maxSamplesArg === undefined ? trainSet.length : Math.min(Number(maxSamplesArg), trainSet.length);
const trainPart = samples < trainSet.length ? new data.Subset(trainSet, [...Array(samples).keys()]) : trainSet;
const loader = new data.DataLoader<Tensor[], Tensor[]>(trainPart, { batchSize: BATCH, shuffle: true, generator: new Generator(1) });

const net = models.lenet5();
const optimizer = new optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
const lossFn = new nn.CrossEntropyLoss();

let trainMs = 0;
for (let epoch = 0; epoch < epochs; epoch++) {
  const start = performance.now();
  for (const [x, y] of loader) {
    optimizer.zeroGrad();
    lossFn.forward(net.forward(x), y).backward();
    optimizer.step();
  }
  trainMs += performance.now() - start;
}

/** Test accuracy in % over the whole test set, in batches of 1000. */
function testAccuracy(): number {
  net.eval();
  const testSet = new data.TensorDataset(normalise(test.images), test.labels);
  let correct = 0;
  noGrad(() => {
    for (let at = 0; at < testSet.length; at += 1000) {
      const rows = [...Array(Math.min(1000, testSet.length - at)).keys()].map((i) => at + i);
      const [xb, yb] = testSet.getBatch(rows);
      const predicted = net.forward(xb).argmax(1);
      for (let i = 0; i < rows.length; i++) if (predicted.data[i] === yb.data[i]) correct++;
    }
  });
  return (100 * correct) / testSet.length;
}

const samplesPerS = (epochs * samples) / (trainMs / 1000);
const row: BenchRow = {
  suite: 'lenet',
  case: caseName,
  impl: `kiln-${backend}`,
  threads,
  median_ms: (BATCH * 1000) / samplesPerS,
  samples_per_s: samplesPerS,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
};
if (samples === trainSet.length) row.test_acc_pct = testAccuracy();
console.log(JSON.stringify([row]));
