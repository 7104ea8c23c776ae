/**
 * Module mechanics: discovery and registration of parameters, buffers and submodules;
 * stateDict/loadStateDict; train/eval; freezing; apply; dtype conversion; containers;
 * printing and summary; layer errors.
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { nn, type Tensor } from '../lib/index.js';

class Block extends nn.Module {
  fc = new nn.Linear(3, 4, { generator: new k.Generator(1) });
  bn = new nn.BatchNorm1d(4);
  scale = new nn.Parameter(k.ones([1]));
  notAParameter = k.ones([2]);

  constructor() {
    super();
    this.registerBuffer('step_count', k.zeros([]));
    this.registerBuffer('scratch', k.zeros([3]), false);
  }

  override forward(x: Tensor): Tensor {
    return k.mul(k.relu(this.bn.forward(this.fc.forward(x))), this.scale);
  }
}

describe('discovery and traversal', () => {
  it('finds parameters, buffers and submodules in assignment order, with PyTorch key names', () => {
    const block = new Block();
    expect(block.namedParameters().map(([n]) => n)).toEqual(['scale', 'fc.weight', 'fc.bias', 'bn.weight', 'bn.bias']);
    expect(block.namedBuffers().map(([n]) => n)).toEqual(['step_count', 'scratch', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    expect(block.namedModules().map(([n]) => n)).toEqual(['', 'fc', 'bn']);
    expect(block.children()).toEqual([block.fc, block.bn]);
    expect(block.parameters(false)).toEqual([block.scale]);
    expect(Object.keys(block.stateDict())).toEqual([
      'scale',
      'step_count',
      'fc.weight',
      'fc.bias',
      'bn.weight',
      'bn.bias',
      'bn.running_mean',
      'bn.running_var',
      'bn.num_batches_tracked',
    ]);
  });

  it('lists a shared module once in parameters() but under each name in stateDict(), as PyTorch', () => {
    const shared = new nn.Linear(2, 2);
    const model = new nn.Sequential(shared, new nn.ReLU(), shared);
    expect(model.parameters()).toHaveLength(2);
    expect(model.namedModules().map(([n]) => n)).toEqual(['', '0', '1']);
    expect(Object.keys(model.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('stateDict tensors share storage with the module and are detached', () => {
    const layer = new nn.Linear(2, 3);
    const w = layer.stateDict().weight;
    expect(w.requiresGrad).toBe(false);
    expect(w.data).toBe(layer.weight.data);
  });

  it('rejects a registered name that is taken or dotted', () => {
    const block = new Block();
    expect(() => block.registerBuffer('fc', k.zeros([1]))).toThrow(/'fc' is already an attribute/);
    expect(() => block.registerParameter('a.b', null)).toThrow(/contain no '\.'/);
  });
});

describe('loadStateDict', () => {
  const make = (seed: number): nn.Sequential =>
    new nn.Sequential(new nn.Linear(4, 3, { generator: new k.Generator(seed) }), new nn.BatchNorm1d(3));

  it('copies every tensor in place and returns no missing or unexpected keys', () => {
    const source = make(1);
    source.forward(k.randn([5, 4]));
    const target = make(2);
    const weight = (target.at(0) as nn.Linear).weight;
    const result = target.loadStateDict(source.stateDict());
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect((target.at(0) as nn.Linear).weight).toBe(weight);
    for (const [key, t] of Object.entries(target.stateDict())) expect(Array.from(t.data)).toEqual(Array.from(source.stateDict()[key].data));
    expect(target.stateDict()['1.num_batches_tracked'].item()).toBe(1);
  });

  it('strict mode names missing keys, unexpected keys and size mismatches, and copies nothing', () => {
    const target = make(2);
    const before = Array.from((target.at(0) as nn.Linear).bias!.data);
    const state = { ...make(1).stateDict() };
    delete state['0.bias'];
    state['2.weight'] = k.zeros([1]);
    state['1.running_mean'] = k.zeros([4]);
    let message = '';
    try {
      target.loadStateDict(state);
    } catch (e) {
      expect(e).toBeInstanceOf(nn.StateDictError);
      message = (e as Error).message;
    }
    expect(message).toContain('missing key(s) in state dict: "0.bias"');
    expect(message).toContain('unexpected key(s) in state dict: "2.weight"');
    expect(message).toContain('size mismatch for 1.running_mean: copying a tensor of shape [4] from the state dict, the shape in the current model is [3]');
    expect(Array.from((target.at(0) as nn.Linear).bias!.data)).toEqual(before);
  });

  it('non-strict mode loads what matches and reports the rest', () => {
    const target = make(2);
    const source = make(1);
    const state: Record<string, Tensor> = { ...source.stateDict(), extra: k.zeros([1]) };
    delete state['0.bias'];
    expect(target.loadStateDict(state, { strict: false })).toEqual({ missingKeys: ['0.bias'], unexpectedKeys: ['extra'] });
    expect(Array.from((target.at(0) as nn.Linear).weight.data)).toEqual(Array.from((source.at(0) as nn.Linear).weight.data));
  });

  it('non-strict mode still rejects a size mismatch', () => {
    expect(() => new nn.Linear(2, 3).loadStateDict({ weight: k.zeros([3, 3]) }, { strict: false })).toThrow(/size mismatch for weight/);
  });
});

describe('modes, freezing and bulk operations', () => {
  it('train() and eval() switch every module, and change what Dropout and BatchNorm do', () => {
    const model = new nn.Sequential(new nn.BatchNorm1d(3), new nn.Dropout(0.5));
    const x = k.randn([8, 3]);
    model.eval();
    expect(model.modules().every((m) => !m.training)).toBe(true);
    const y = model.forward(x);
    // Eval: running stats are 0 and 1, so only eps changes x; dropout is off.
    for (let i = 0; i < x.numel; i++) expect(y.data[i]).toBeCloseTo(x.data[i] / Math.sqrt(1 + 1e-5), 5);
    model.train();
    expect(model.modules().every((m) => m.training)).toBe(true);
    model.forward(x);
    expect((model.at(0) as nn.BatchNorm1d).numBatchesTracked!.item()).toBe(1);
  });

  it('requiresGrad_(false) freezes a backbone: its parameters get no gradient', () => {
    const backbone = new nn.Linear(3, 4);
    const head = new nn.Linear(4, 2);
    const model = new nn.Sequential(backbone, new nn.Tanh(), head);
    backbone.requiresGrad_(false);
    k.sum(model.forward(k.randn([5, 3]))).backward();
    expect(backbone.weight.grad).toBeNull();
    expect(backbone.bias!.grad).toBeNull();
    expect(head.weight.grad?.shape).toEqual([2, 4]);
    model.zeroGrad();
    expect(head.weight.grad).toBeNull();
  });

  it('apply() visits children before their parent', () => {
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new nn.ReLU()));
    const seen: string[] = [];
    model.apply((m) => seen.push(m.constructor.name));
    expect(seen).toEqual(['Linear', 'ReLU', 'Sequential', 'Sequential']);
  });

  it('to("float64") converts float parameters and buffers, keeping int buffers', () => {
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2)).double();
    expect(model.parameters().every((p) => p.dtype === 'float64' && p.requiresGrad)).toBe(true);
    expect(model.namedBuffers().map(([n, b]) => [n, b.dtype])).toEqual([
      ['1.running_mean', 'float64'],
      ['1.running_var', 'float64'],
      ['1.num_batches_tracked', 'int64'],
    ]);
    expect(model.forward(k.randn([3, 2], { dtype: 'float64' })).dtype).toBe('float64');
  });
});

describe('containers', () => {
  it('Sequential from a record uses its keys', () => {
    const model = new nn.Sequential({ hidden: new nn.Linear(2, 3), act: new nn.ReLU() });
    expect(Object.keys(model.stateDict())).toEqual(['hidden.weight', 'hidden.bias']);
    expect(model.length).toBe(2);
    expect(model.at(-1)).toBeInstanceOf(nn.ReLU);
  });

  it('ModuleList registers, indexes, inserts and iterates', () => {
    const list = new nn.ModuleList([new nn.Linear(1, 1), new nn.Linear(1, 2)]);
    list.insert(1, new nn.Linear(1, 3));
    expect([...list].map((m) => (m as nn.Linear).outFeatures)).toEqual([1, 3, 2]);
    expect(Object.keys(list.stateDict())).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias']);
    expect(() => list.at(3)).toThrow(RangeError);
    expect(() => list.forward()).toThrow(/no forward/);
  });

  it('ModuleDict keeps insertion order, replaces and pops', () => {
    const dict = new nn.ModuleDict({ b: new nn.Linear(1, 1), a: new nn.Identity() });
    dict.set('b', new nn.Linear(1, 2));
    expect(dict.keys()).toEqual(['b', 'a']);
    expect((dict.get('b') as nn.Linear).outFeatures).toBe(2);
    expect(dict.pop('a')).toBeInstanceOf(nn.Identity);
    expect(dict.has('a')).toBe(false);
    expect(() => dict.get('zzz')).toThrow(/no module under key 'zzz'/);
  });
});

describe('printing', () => {
  it('toString() nests like PyTorch', () => {
    const model = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Sequential(new nn.Dropout(0.1)));
    expect(model.toString()).toBe(
      [
        'Sequential(',
        '  (0): Linear(inFeatures=4, outFeatures=3, bias=true)',
        '  (1): ReLU()',
        '  (2): Sequential(',
        '    (0): Dropout(p=0.1)',
        '  )',
        ')',
      ].join('\n'),
    );
  });

  it('summary() lists output shapes, parameter counts and MACs, leaving modes and buffers alone', () => {
    const model = new nn.Sequential(new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Linear(8, 2));
    (model.at(3) as nn.Linear).requiresGrad_(false);
    const text = model.summary(k.randn([1, 4]));
    expect(text).toBe(
      [
        'Layer (type)        Output shape   Param #   MACs',
        '=================================================',
        '(Sequential)        [1, 2]         0         0',
        '  0 (Linear)        [1, 8]         40        32',
        '  1 (BatchNorm1d)   [1, 8]         16        0',
        '  2 (ReLU)          [1, 8]         0         0',
        '  3 (Linear)        [1, 2]         18        16',
        '=================================================',
        'Total params: 74',
        'Trainable params: 56',
        'Non-trainable params: 18',
        'Total MACs: 48',
      ].join('\n'),
    );
    expect(model.training).toBe(true);
    expect((model.at(1) as nn.BatchNorm1d).numBatchesTracked!.item()).toBe(0);
    expect(Object.prototype.hasOwnProperty.call(model.at(0), 'forward')).toBe(false);
  });
});

describe('modules with other outputs', () => {
  class TwoHeads extends nn.Module {
    body = new nn.Linear(3, 4);
    override forward(x: Tensor): [Tensor, Tensor] {
      const h = this.body.forward(x);
      return [h, k.sum(h, 1)];
    }
  }

  it('summary() lists each shape of a tuple output', () => {
    expect(new TwoHeads().summary(k.zeros([2, 3])).split('\n')[2]).toBe('(TwoHeads)        [2, 4], [2]    0         0');
  });

  it('a Module without forward says so', () => {
    expect(() => new nn.Module().forward()).toThrow('Module: forward() is not implemented');
  });
});

describe('layer errors name the layer and the sizes', () => {
  it('Linear', () => {
    expect(() => new nn.Linear(4, 3).forward(k.zeros([2, 5]))).toThrow('Linear(inFeatures=4, outFeatures=3, bias=true): input of shape [2, 5] has 5 features, expected 4');
  });
  it('BatchNorm', () => {
    expect(() => new nn.BatchNorm1d(3).forward(k.zeros([2, 4]))).toThrow(/BatchNorm1d\(3, .*\): input of shape \[2, 4\] has 4 channels \(dim 1\), expected 3/);
    expect(() => new nn.BatchNorm2d(3).forward(k.zeros([2, 3]))).toThrow(/expects \(N, C, H, W\)/);
    expect(() => new nn.BatchNorm1d(3).forward(k.zeros([1, 3]))).toThrow(/more than 1 value per channel/);
  });
  it('Embedding', () => {
    expect(() => new nn.Embedding(3, 2).forward(k.zeros([2]))).toThrow(/Embedding\(3, 2\): indices must be int32 or int64, got float32 \[2\]/);
    expect(() => new nn.Embedding(3, 2, { paddingIdx: 3 })).toThrow(/paddingIdx 3/);
  });
  it('GroupNorm, LayerNorm, Maxout, Dropout', () => {
    expect(() => new nn.GroupNorm(3, 4)).toThrow(/divisible/);
    expect(() => new nn.LayerNorm(3).forward(k.zeros([2, 4]))).toThrow(/does not end with normalizedShape \[3\]/);
    expect(() => new nn.Maxout(4).forward(k.zeros([2, 6]))).toThrow(/not a multiple of pieces=4/);
    expect(() => new nn.Dropout(1.5)).toThrow(/p must be in \[0, 1\]/);
  });
});
