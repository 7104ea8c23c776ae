/**
 * Multi-task learning with hard parameter sharing (issue 14): one convolutional trunk, two
 * heads trained together on Fashion-MNIST — the 10 classes, and a coarser 4-way task (upper
 * body: T-shirt, pullover, coat, shirt; trouser or dress; footwear: sandal, sneaker, ankle
 * boot; bag) — on the loss w·CE(class) + (1 − w)·CE(group). Prints each head's test accuracy.
 * Uses Debian's full Fashion-MNIST when installed, else the embedded subset.
 *
 * Run: `node dist/examples/multitask.js [--epochs N] [--class-weight W] [--limit N] [--subset] [--seed N]`.
 */
import { parseArgs } from 'node:util';
import { add, data, F, manualSeed, mul, nn, noGrad, optim, tensor, tidy, type Tensor } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    epochs: { type: 'string', default: '3' },
    'class-weight': { type: 'string', default: '0.5' },
    limit: { type: 'string', default: '0' },
    subset: { type: 'boolean', default: false },
    seed: { type: 'string', default: '0' },
  },
});
const classWeight = Number(args['class-weight']);
if (!(classWeight >= 0 && classWeight <= 1)) throw new RangeError(`multitask: --class-weight must be in [0, 1], got ${args['class-weight']}`);
manualSeed(Number(args.seed));

/** The coarse task's group of each Fashion-MNIST class: 0 upper body, 1 trouser/dress, 2 footwear, 3 bag. */
const GROUP_OF_CLASS = [0, 1, 0, 1, 0, 2, 0, 2, 3, 2];

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
  override forward(x: Tensor): { classes: Tensor; groups: Tensor } {
    const shared = this.trunk.forward(x); // (N, 128)
    return { classes: this.classHead.forward(shared), groups: this.groupHead.forward(shared) };
  }
}

/** The split's images with both tasks' labels, the first `limit` when limit > 0. */
function load(split: 'train' | 'test', limit: number): { x: Tensor; classes: Tensor; groups: Tensor } {
  const raw = data.loadFashionMnist({ split, full: args.subset ? false : undefined });
  const n = limit > 0 ? Math.min(limit, raw.labels.numel) : raw.labels.numel;
  const classes = raw.labels.narrow(0, 0, n);
  const groups = tensor(Int32Array.from(classes.data as Int32Array, (c) => GROUP_OF_CLASS[c]));
  return { x: raw.images.narrow(0, 0, n), classes, groups };
}

/** Share of predictions equal to the labels, in %. */
function accuracyPct(logits: Tensor, labels: Tensor): number {
  const p = logits.argmax(1).data as Int32Array;
  const y = labels.data as Int32Array;
  return (100 * y.filter((v, i) => Number(p[i]) === v).length) / y.length;
}

const trainSet = load('train', Number(args.limit));
const testSet = load('test', 0);
const net = new TwoHeadNet();
const optimizer = new optim.Adam(net.parameters(), { lr: 1e-3 });
const loader = new data.DataLoader<Tensor[], Tensor[]>(new data.TensorDataset(trainSet.x, trainSet.classes, trainSet.groups), { batchSize: 64, shuffle: true });
console.log(`Fashion-MNIST: ${trainSet.classes.numel} training images; loss = ${classWeight}·CE(class) + ${(1 - classWeight).toFixed(2)}·CE(group)`);

for (let epoch = 1; epoch <= Number(args.epochs); epoch++) {
  net.train();
  let total = 0;
  let batches = 0;
  for (const [x, classes, groups] of loader) {
    total += tidy(() => {
      optimizer.zeroGrad();
      const out = net.forward(x);
      const loss = add(mul(F.crossEntropy(out.classes, classes), classWeight), mul(F.crossEntropy(out.groups, groups), 1 - classWeight));
      loss.backward();
      optimizer.step();
      return loss.item();
    });
    batches++;
  }
  console.log(`epoch ${epoch}: mean weighted loss ${(total / batches).toFixed(4)}`);
}

net.eval();
const out = noGrad(() => net.forward(testSet.x));
console.log(`test accuracy: class head ${accuracyPct(out.classes, testSet.classes).toFixed(2)}%, group head ${accuracyPct(out.groups, testSet.groups).toFixed(2)}%`);
