/**
 * Transfer learning on Fashion-MNIST (issue 14): a small ResNet (BasicBlocks [1, 1, 1, 1],
 * "ResNet-10") is pre-trained on classes 0–4 (T-shirt, trouser, pullover, dress, coat), then
 * taught classes 5–9 (sandal, shirt, sneaker, bag, ankle boot) from only a small share of
 * their labels (1% by default), three ways:
 * - frozen: the pre-trained backbone frozen (BatchNorm kept in eval mode), a new head trained;
 * - fine-tuned: the pre-trained backbone trained at a tenth of the head's learning rate
 *   (discriminative fine-tuning, two SGD parameter groups);
 * - from scratch: the same architecture from random weights.
 * It prints one table with each variant's trainable parameters, test accuracy on classes 5–9
 * and training time. Uses Debian's full Fashion-MNIST when installed, else the embedded subset.
 *
 * Run: `node dist/examples/transfer.js [--pretrain-epochs N] [--finetune-epochs N]
 * [--label-fraction X] [--limit N] [--subset] [--seed N]`.
 */
import { parseArgs } from 'node:util';
import { data, indexSelect, manualSeed, models, nn, noGrad, optim, tensor, tidy, type Tensor } from '../lib/index.js';

const { values: args } = parseArgs({
  options: {
    'pretrain-epochs': { type: 'string', default: '3' },
    'finetune-epochs': { type: 'string', default: '30' },
    'label-fraction': { type: 'string', default: '0.01' },
    limit: { type: 'string', default: '0' },
    subset: { type: 'boolean', default: false },
    seed: { type: 'string', default: '0' },
  },
});
const pretrainEpochs = Number(args['pretrain-epochs']);
const finetuneEpochs = Number(args['finetune-epochs']);
const labelFraction = Number(args['label-fraction']);
const limit = Number(args.limit);
manualSeed(Number(args.seed));

/** The images whose label is in [low, low + 5), labels shifted to 0–4; the first `count` of them when count > 0. */
function classes(split: data.FashionMnistData, low: number, count = 0): { x: Tensor; y: Tensor } {
  const labels = split.labels.data as Int32Array;
  const picked: number[] = [];
  for (let i = 0; i < labels.length && (count === 0 || picked.length < count); i++) if (labels[i] >= low && labels[i] < low + 5) picked.push(i);
  const index = tensor(Int32Array.from(picked));
  return { x: indexSelect(split.images, 0, index), y: tensor(Int32Array.from(picked, (i) => labels[i] - low)) };
}

/** A small-input-free ResNet-10 for 28×28 grey images: 7×7/2 stem and max-pool, then one BasicBlock per stage. */
function resnet10(): models.ResNet {
  return new models.ResNet({ block: nn.BasicBlock, layers: [1, 1, 1, 1] }, { numClasses: 5, inChannels: 1 });
}

/** Trains with SGD (momentum 0.9, batch 32) and returns the seconds taken. */
function trainFor(net: nn.Module, optimizer: optim.Optimizer<{ lr: number }>, set: { x: Tensor; y: Tensor }, epochs: number): number {
  const loader = new data.DataLoader<Tensor[], Tensor[]>(new data.TensorDataset(set.x, set.y), { batchSize: 32, shuffle: true });
  const loss = new nn.CrossEntropyLoss();
  const start = performance.now();
  net.train();
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const [x, y] of loader) {
      tidy(() => {
        optimizer.zeroGrad();
        loss.forward(net.forward(x) as Tensor, y).backward();
        optimizer.step();
      });
    }
  }
  return (performance.now() - start) / 1000;
}

/** Test accuracy in %. */
function accuracy(net: nn.Module, set: { x: Tensor; y: Tensor }): number {
  net.eval();
  const predicted = noGrad(() => (net.forward(set.x) as Tensor).argmax(1));
  const p = predicted.data as Int32Array;
  const y = set.y.data as Int32Array;
  let right = 0;
  for (let i = 0; i < y.length; i++) if (Number(p[i]) === y[i]) right++;
  return (100 * right) / y.length;
}

const full = args.subset ? false : undefined;
const trainSplit = data.loadFashionMnist({ split: 'train', full });
const testSplit = data.loadFashionMnist({ split: 'test', full });
const source = classes(trainSplit, 0, limit);
const targetAll = classes(trainSplit, 5);
const fewCount = Math.max(5, Math.round(labelFraction * targetAll.y.numel));
const targetFew = { x: targetAll.x.narrow(0, 0, fewCount), y: targetAll.y.narrow(0, 0, fewCount) };
const targetTest = classes(testSplit, 5);
console.log(`Fashion-MNIST from ${trainSplit.source}: pre-training on ${source.y.numel} images of classes 0–4, then ${fewCount} labelled images of classes 5–9 (${(100 * labelFraction).toFixed(1)}%), tested on ${targetTest.y.numel}`);

const pretrained = resnet10();
const pretrainSeconds = trainFor(pretrained, new optim.SGD(pretrained.parameters(), { lr: 0.05, momentum: 0.9 }), source, pretrainEpochs);
console.log(`pre-trained ${pretrainEpochs} epoch(s) in ${pretrainSeconds.toFixed(1)} s: ${accuracy(pretrained, classes(testSplit, 0)).toFixed(1)}% on the test images of classes 0–4`);

/** A copy of the pre-trained network with a fresh 5-class head. */
function fromPretrained(): models.ResNet {
  const net = resnet10();
  net.loadStateDict(pretrained.stateDict());
  models.replaceHead(net, 5);
  return net;
}

const frozen = fromPretrained();
frozen.freeze();
frozen.unfreeze('fc');
const fineTuned = fromPretrained();
const head = fineTuned.fc.parameters();
const scratch = resnet10();
const variants: [string, nn.Module, optim.Optimizer<{ lr: number }>][] = [
  ['frozen backbone, new head', frozen, new optim.SGD(frozen.fc.parameters(), { lr: 0.05, momentum: 0.9 })],
  ['fine-tuned (backbone lr / 10)', fineTuned, new optim.SGD([{ params: fineTuned.parameters().filter((p) => !head.includes(p)), lr: 0.005 }, { params: head }], { lr: 0.05, momentum: 0.9 })],
  ['from scratch', scratch, new optim.SGD(scratch.parameters(), { lr: 0.05, momentum: 0.9 })],
];

console.log(`\nvariant                          trainable params   test acc (classes 5–9)   train s`);
for (const [name, net, optimizer] of variants) {
  const trainable = net.parameters().filter((p) => p.requiresGrad).reduce((n, p) => n + p.numel, 0);
  const seconds = trainFor(net, optimizer, targetFew, finetuneEpochs);
  console.log(`${name.padEnd(32)} ${String(trainable).padStart(16)}   ${`${accuracy(net, targetTest).toFixed(1)}%`.padStart(22)}   ${seconds.toFixed(1).padStart(7)}`);
}
