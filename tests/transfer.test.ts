/** Transfer learning: freeze/unfreeze by name pattern, frozen BatchNorm in eval mode, replaceHead, strict: false loading, per-group learning rates. */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';

const { nn, models } = k;

/** A small conv net with BatchNorm, named like a ResNet's stem and head. */
class TinyNet extends nn.Module {
  conv1 = new nn.Conv2d(1, 4, 3, { padding: 1, bias: false });
  bn1 = new nn.BatchNorm2d(4);
  layer1 = new nn.BasicBlock(4, 4);
  fc = new nn.Linear(4, 3);
  override forward(x: Tensor): Tensor {
    const y = this.layer1.forward(k.F.relu(this.bn1.forward(this.conv1.forward(x))));
    return this.fc.forward(y.mean([2, 3]));
  }
}

const trainable = (m: k.nn.Module): string[] => m.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n);

describe('Module.freeze / unfreeze', () => {
  it('turns requiresGrad off and on by glob, prefix and RegExp, returning the names changed', () => {
    const net = new TinyNet();
    const all = net.namedParameters().map(([n]) => n);
    expect(net.freeze()).toEqual(all);
    expect(trainable(net)).toEqual([]);
    expect(net.unfreeze('fc')).toEqual(['fc.weight', 'fc.bias']);
    expect(net.unfreeze('layer1.*.weight')).toEqual(['layer1.conv1.weight', 'layer1.bn1.weight', 'layer1.conv2.weight', 'layer1.bn2.weight']);
    expect(net.freeze(/bn\d\.weight$/)).toEqual(['layer1.bn1.weight', 'layer1.bn2.weight']);
    expect(trainable(net)).toEqual(['layer1.conv1.weight', 'layer1.conv2.weight', 'fc.weight', 'fc.bias']);
    expect(net.freeze('fc.weigh')).toEqual([]); // a prefix must end at a dot
  });

  it('a frozen model gets no gradients for frozen parameters and the unfrozen head still learns', () => {
    const net = new TinyNet();
    net.freeze();
    net.unfreeze('fc');
    const loss = k.sum(net.forward(k.randn([2, 1, 5, 5])));
    loss.backward();
    expect(net.conv1.weight.grad).toBeNull();
    expect(net.fc.weight.grad).not.toBeNull();
  });

  it('keeps frozen BatchNorm in eval mode through train() (running statistics unchanged) until unfrozen', () => {
    const net = new TinyNet();
    net.freeze('bn1');
    net.train();
    expect(net.bn1.training).toBe(false);
    expect(net.layer1.bn1.training).toBe(true);
    const before = Array.from(net.bn1.getBuffer('running_mean')!.data as Float32Array);
    net.forward(k.add(k.randn([4, 1, 5, 5]), 3));
    expect(Array.from(net.bn1.getBuffer('running_mean')!.data as Float32Array)).toEqual(before);
    expect(net.layer1.bn1.getBuffer('num_batches_tracked')!.item()).toBe(1);
    net.unfreeze('bn1');
    expect(net.bn1.training).toBe(true);
    net.eval();
    net.unfreeze();
    expect(net.bn1.training).toBe(false); // follows the model's mode
  });

  it('freezes a BatchNorm without affine parameters by its module name', () => {
    const seq = new nn.Sequential(new nn.Conv2d(1, 2, 1), new nn.BatchNorm2d(2, { affine: false }));
    seq.freeze('1');
    seq.train();
    expect(seq.at(1).training).toBe(false);
    expect(seq.at(0).training).toBe(true);
  });
});

describe('models.replaceHead and loading with a different head', () => {
  it('replaces ResNet fc and a Sequential last Linear under the same name; strict: false reports the head keys', { timeout: 120_000 }, () => {
    const pretrained = models.resnet18({ numClasses: 10, smallInput: true });
    const net = models.resnet18({ numClasses: 10, smallInput: true });
    net.freeze();
    const head = models.replaceHead(net, 5);
    expect(net.fc).toBe(head);
    expect(head.weight.shape).toEqual([5, 512]);
    expect(head.weight.requiresGrad).toBe(true);
    expect(net.forward(k.randn([1, 3, 32, 32])).shape).toEqual([1, 5]);
    const state = pretrained.stateDict();
    delete state['fc.weight'];
    delete state['fc.bias'];
    state['extra.weight'] = k.zeros([1]);
    const result = net.loadStateDict(state, { strict: false });
    expect(result).toEqual({ missingKeys: ['fc.weight', 'fc.bias'], unexpectedKeys: ['extra.weight'] });
    expect(Array.from(net.conv1.weight.data as Float32Array)).toEqual(Array.from(pretrained.conv1.weight.data as Float32Array));

    const lenet = models.lenet5();
    models.replaceHead(lenet, 3);
    expect(Object.keys(lenet.stateDict()).slice(-2)).toEqual(['11.weight', '11.bias']);
    expect(lenet.forward(k.randn([2, 1, 28, 28])).shape).toEqual([2, 3]);
    expect(() => models.replaceHead(new nn.Sequential(new nn.ReLU()), 3)).toThrow(/replaceHead: Sequential has no Linear/);
  });
});

describe('discriminative fine-tuning', () => {
  it('SGD parameter groups give the backbone and the head their own learning rates', () => {
    const net = new TinyNet();
    const head = net.fc.parameters();
    const backbone = net.parameters().filter((p) => !head.includes(p));
    const opt = new k.optim.SGD([{ params: backbone, lr: 0.001 }, { params: head }], { lr: 0.1 });
    const w0 = Array.from(net.conv1.weight.data as Float32Array);
    const h0 = Array.from(net.fc.weight.data as Float32Array);
    k.sum(net.forward(k.randn([2, 1, 5, 5]))).backward();
    const gw = Array.from(net.conv1.weight.grad!.data as Float32Array);
    const gh = Array.from(net.fc.weight.grad!.data as Float32Array);
    opt.step();
    (net.conv1.weight.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(w0[i] - 0.001 * gw[i], 6));
    (net.fc.weight.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(h0[i] - 0.1 * gh[i], 6));
  });
});
