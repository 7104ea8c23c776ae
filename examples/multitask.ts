/**
 * Multi-task learning with hard parameter sharing (issue 14): one convolutional trunk, two
 * heads trained together on Fashion-MNIST — the 10 classes, and a coarser 4-way task (upper
 * body: T-shirt, pullover, coat, shirt; trouser or dress; footwear: sandal, sneaker, ankle
 * boot; bag) — by train.fit with a loss per head. It trains the same network twice from the
 * same initial weights: with fixed weights w·CE(class) + (1 − w)·CE(group), and with weights
 * learned by uncertainty weighting (Kendall et al. 2018), and prints both heads' test
 * accuracy of each in one table. Uses Debian's full Fashion-MNIST when installed, else the
 * embedded subset.
 *
 * Run: `node dist/examples/multitask.js [--epochs N] [--class-weight W] [--lr X] [--limit N] [--subset] [--seed N]`.
 */
import { parseArgs } from 'node:util';
import { data, F, Generator, manualSeed, nn, optim, tensor, train, type Tensor } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '3' },
    'class-weight': { type: 'string', default: '0.5' },
    lr: { type: 'string', default: '0.001' },
    limit: { type: 'string', default: '0' },
    subset: { type: 'boolean', default: false },
    seed: { type: 'string', default: '0' },
  },
});
const classWeight = Number(args['class-weight']);
if (!(classWeight >= 0 && classWeight <= 1)) throw new RangeError(`multitask: --class-weight must be in [0, 1], got ${args['class-weight']}`);
const seed = Number(args.seed);

/** The coarse task's group of each Fashion-MNIST class: 0 upper body, 1 trouser/dress, 2 footwear, 3 bag. */
const GROUP_OF_CLASS = [0, 1, 0, 1, 0, 2, 0, 2, 3, 2];

/** The two heads of the network's output, and of each batch's targets. */
interface Tasks {
  classes: Tensor;
  groups: Tensor;
}

/** A shared trunk (two conv blocks) with a 10-class head and a 4-group head. */
class TwoHeadNet extends nn.Module {
  trunk = new nn.Sequential(
    new nn.Conv2d(1, 16, 3, { padding: 1 }),
    new nn.BatchNorm2d(16),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }),
    new nn.BatchNorm2d(32),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(32 * 7 * 7, 128),
    new nn.ReLU(),
  );
  classHead = new nn.Linear(128, 10);
  groupHead = new nn.Linear(128, 4);

  /** (N, 1, 28, 28) → class logits (N, 10) and group logits (N, 4). */
  override forward(x: Tensor): Tasks {
    const shared = this.trunk.forward(x); // (N, 128)
    return { classes: this.classHead.forward(shared), groups: this.groupHead.forward(shared) };
  }
}

/** Images with both tasks' labels; batches are [images, { classes, groups }]. */
class TwoTaskSet extends data.Dataset<[Tensor, Tasks]> {
  private readonly tensors: data.TensorDataset;

  constructor(images: Tensor, classes: Tensor) {
    super();
    const groups = tensor(Int32Array.from(classes.data as Int32Array, (c) => GROUP_OF_CLASS[c]));
    this.tensors = new data.TensorDataset(images, classes, groups);
  }

  get length(): number {
    return this.tensors.length;
  }

  get(i: number): [Tensor, Tasks] {
    return this.pack(this.tensors.get(i));
  }

  override getBatch(indices: readonly number[]): [Tensor, Tasks] {
    return this.pack(this.tensors.getBatch(indices));
  }

  private pack([x, classes, groups]: Tensor[]): [Tensor, Tasks] {
    return [x, { classes, groups }];
  }
}

/** The split, the first `limit` images when limit > 0. */
function load(split: 'train' | 'test', limit: number): TwoTaskSet {
  const raw = data.loadFashionMnist({ split, full: args.subset ? false : undefined });
  const n = limit > 0 ? Math.min(limit, raw.labels.numel) : raw.labels.numel;
  return new TwoTaskSet(raw.images.narrow(0, 0, n), raw.labels.narrow(0, 0, n));
}

/** One row of the table: the run's name, each head's test accuracy, the final loss weights. */
interface Row {
  name: string;
  classAccuracy: number;
  groupAccuracy: number;
  weights: Record<string, number>;
  seconds: number;
}

/** Trains a fresh TwoHeadNet (same initial weights and batch order for every call) with the given loss weights. */
function run(name: string, trainSet: TwoTaskSet, testSet: TwoTaskSet, weights: Record<string, number> | train.UncertaintyWeighting): Row {
  manualSeed(seed);
  const model = new TwoHeadNet();
  const optimizer = new optim.Adam(model.parameters(), { lr: Number(args.lr) });
  console.log(`\n${name}`);
  const history = train.fit(model, {
    loss: { classes: F.crossEntropy, groups: F.crossEntropy },
    lossWeights: weights,
    metrics: { classes: { accuracy: train.accuracy }, groups: { accuracy: train.accuracy } },
    optimizer,
    trainLoader: new data.DataLoader(trainSet, { batchSize: 64, shuffle: true, generator: new Generator(seed + 1) }),
    valLoader: new data.DataLoader(testSet, { batchSize: 1000 }),
    epochs: Number(args.epochs),
  });
  const last = history.last!;
  const learned = weights instanceof train.UncertaintyWeighting ? weights.weights() : weights;
  const seconds = history.records.reduce((total, r) => total + r.seconds, 0);
  return { name, classAccuracy: 100 * (last.val_classes_accuracy as number), groupAccuracy: 100 * (last.val_groups_accuracy as number), weights: learned, seconds };
}

const trainSet = load('train', Number(args.limit));
const testSet = load('test', 0);
console.log(`Fashion-MNIST: ${trainSet.length} training images, ${testSet.length} test images; heads: 10 classes, 4 groups`);
const rows = [
  run(`fixed weights: loss = ${classWeight}·CE(class) + ${(1 - classWeight).toFixed(2)}·CE(group)`, trainSet, testSet, { classes: classWeight, groups: 1 - classWeight }),
  run('uncertainty weighting: loss = Σ exp(−s)·CE + s, s learned', trainSet, testSet, new train.UncertaintyWeighting(['classes', 'groups'])),
];

console.log(`\n${'weighting'.padEnd(24)}${'class acc'.padStart(10)}${'group acc'.padStart(11)}   final weights (class, group)   seconds`);
for (const r of rows) {
  const name = r.name.startsWith('fixed') ? `fixed (${classWeight} / ${(1 - classWeight).toFixed(2)})` : 'uncertainty (learned)';
  const weights = `${r.weights.classes.toFixed(3)}, ${r.weights.groups.toFixed(3)}`;
  console.log(`${name.padEnd(24)}${`${r.classAccuracy.toFixed(2)}%`.padStart(10)}${`${r.groupAccuracy.toFixed(2)}%`.padStart(11)}   ${weights.padEnd(28)}   ${r.seconds.toFixed(1)}`);
}
