/**
 * Architecture search on Fashion-MNIST (issue 14, the lecture's "learning architectures"):
 * random search and regularized evolution (Real et al., 2019) with the same budget of
 * candidates, each trained for a fixed number of SGD steps on a subset of the embedded
 * training images (average-pooled to 14×14 by default) and scored on held-out images. Prints
 * both searches' candidates and Pareto fronts (validation accuracy vs MACs), compares them and
 * writes out/arch-search.svg and .png with every candidate and both fronts. With the same seed
 * both strategies start from the same random draws (evolution's first `population` candidates
 * are random search's first ones, trained identically), so they differ only in what follows.
 *
 * Run: `node dist/examples/arch-search.js [--candidates N] [--steps N] [--population N]
 * [--sample-size N] [--train N] [--val N] [--size 14|28] [--max-macs N] [--seed N] [--out path]`.
 */
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { arange, avgPool2d, data, indexSelect, search, type Tensor } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    candidates: { type: 'string', default: '12' },
    steps: { type: 'string', default: '150' },
    population: { type: 'string', default: '5' },
    'sample-size': { type: 'string', default: '3' },
    train: { type: 'string', default: '3000' },
    val: { type: 'string', default: '1000' },
    size: { type: 'string', default: '14' },
    'max-macs': { type: 'string' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: 'out/arch-search' },
  },
});
const fail = (message: string): never => {
  console.error(`arch-search: ${message}`);
  process.exit(1);
};
const count = (name: string): number => {
  const value = Number(args[name as keyof typeof args]);
  if (!Number.isInteger(value) || value < 1) fail(`--${name} must be a positive integer, got ${String(args[name as keyof typeof args])}`);
  return value;
};
const size = Number(args.size);
if (size !== 14 && size !== 28) fail(`--size must be 14 or 28, got ${args.size}`);
const [trainCount, valCount] = [count('train'), count('val')];

/** `n` images from `start` on (the embedded subset is stratified, so any run of it mixes the classes), normalised, at the chosen size. */
function slice(split: data.FashionMnistData, start: number, n: number): { x: Tensor; y: Tensor } {
  if (start + n > split.labels.numel) fail(`asked for ${start + n} images, the ${split.source} split has ${split.labels.numel}`);
  const index = arange(start, start + n, 1, { dtype: 'int32' });
  const images = indexSelect(split.images, 0, index).sub(0.286).div(0.353); // the training set's mean and std
  return { x: size === 14 ? avgPool2d(images, 2) : images, y: indexSelect(split.labels, 0, index) };
}

const trainSplit = data.loadFashionMnist({ split: 'train', full: false });
const testSplit = data.loadFashionMnist({ split: 'test', full: false });
const train = slice(trainSplit, 0, trainCount);
const val = slice(testSplit, 0, valCount);
const options = {
  candidates: count('candidates'),
  steps: count('steps'),
  population: count('population'),
  sampleSize: count('sample-size'),
  batchSize: 64,
  lr: 0.05,
  seed: Number(args.seed),
  maxMacs: args['max-macs'] === undefined ? undefined : Number(args['max-macs']),
  train,
  val,
};
console.log(
  `Fashion-MNIST (${trainSplit.source}): ${trainCount} training and ${valCount} validation images at ${size}×${size}; ` +
    `${options.candidates} candidates per strategy, ${options.steps} SGD steps of 64 images each`,
);

/** One search, its progress on one line and its table printed; a bad option ends the script with its message. */
function run(strategy: 'random' | 'evolution'): search.ArchitectureSearchResult {
  console.log(`\n== ${strategy} ==`);
  let result: search.ArchitectureSearchResult;
  try {
    result = search.architecture({
      ...options,
      strategy,
      onCandidate: (c, done, total) => process.stdout.write(`\r${strategy}: ${done}/${total} trained (last ${(100 * c.accuracy).toFixed(1)}% in ${c.trainSeconds.toFixed(1)} s)   `),
    });
  } catch (e) {
    return fail(e instanceof search.SearchError ? e.message : String(e));
  }
  process.stdout.write('\n');
  console.log(String(result));
  return result;
}

const results = [run('random'), run('evolution')];

console.log('\nstrategy    best val acc   its MMACs   front size   mean acc   seconds');
for (const r of results) {
  const mean = r.candidates.reduce((s, c) => s + c.accuracy, 0) / r.candidates.length;
  console.log(
    `${r.strategy.padEnd(10)}  ${`${(100 * r.best.accuracy).toFixed(1)}%`.padStart(12)}  ${(r.best.macs / 1e6).toFixed(3).padStart(10)}  ` +
      `${String(r.paretoFront.length).padStart(11)}  ${`${(100 * mean).toFixed(1)}%`.padStart(9)}  ${r.seconds.toFixed(1).padStart(8)}`,
  );
}
mkdirSync(dirname(args.out), { recursive: true });
const files = search.writeSearchPlot(args.out, results);
console.log(`\nwrote ${files.svg} and ${files.png}`);
