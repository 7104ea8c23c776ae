/**
 * nn layers against PyTorch: values computed by Debian's python3-torch with
 * tests/fixtures/torch/gen_nn.py and committed as tests/fixtures/torch/nn.json. Compared in
 * float64 on the reference backend.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { F, nn, type Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

interface Stored {
  shape: number[];
  data: number[];
}
interface FixtureCase {
  name: string;
  settings: { momentum?: number; weight?: number[]; bias?: number[] };
  inputs: Stored[];
  outputs: Record<string, Stored>;
}
interface Fixture {
  cases: FixtureCase[];
  state_dict: [string, number[]][];
  gains: Record<string, number>;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/nn.json', import.meta.url), 'utf8')) as Fixture;
const byName = new Map(fixture.cases.map((c) => [c.name, c]));

function input(c: FixtureCase, i = 0): Tensor {
  return k.tensor(Float64Array.from(c.inputs[i].data), { shape: c.inputs[i].shape });
}

function expectOutput(c: FixtureCase, key: string, actual: Tensor, atol = 1e-10): void {
  const want = c.outputs[key];
  expect(actual.shape, `${c.name} ${key}: shape`).toEqual(want.shape);
  expectClose(actual.data, want.data, atol, 1e-9, `${c.name} ${key}`);
}

/** Copies fixture settings.weight/bias into a layer's parameters. */
function setAffine(m: nn.Module, c: FixtureCase): void {
  const state = m.stateDict();
  state.weight.copy_(k.tensor(c.settings.weight ?? [], { dtype: 'float64' }).reshape(state.weight.shape));
  state.bias.copy_(k.tensor(c.settings.bias ?? [], { dtype: 'float64' }).reshape(state.bias.shape));
}

describe('activations match PyTorch', () => {
  const fns: Record<string, (x: Tensor) => Tensor> = {
    gelu: (x) => F.gelu(x),
    gelu_tanh: (x) => F.gelu(x, 'tanh'),
    elu: (x) => F.elu(x, 0.7),
    selu: (x) => F.selu(x),
    softplus: (x) => F.softplus(x, 2, 3),
    softsign: (x) => F.softsign(x),
    silu: (x) => F.silu(x),
    leaky_relu: (x) => F.leakyRelu(x, 0.2),
    relu6: (x) => F.relu6(k.mul(x, 2)),
    hardtanh: (x) => F.hardtanh(x, -2, 1.5),
    prelu: (x) => F.prelu(x.reshape([3, 4, 1]), k.tensor([0.1, 0.2, 0.3, 0.4], { dtype: 'float64' })).reshape([3, 4]),
  };
  for (const [name, fn] of Object.entries(fns)) {
    it(name, () => k.withBackend('reference', () => {
      const c = byName.get(name)!;
      expectOutput(c, 'y', fn(input(c)));
    }));
  }
});

describe('normalization matches PyTorch', () => {
  it('BatchNorm2d: training output, running statistics after two batches, eval output', () => k.withBackend('reference', () => {
    const c = byName.get('batch_norm2d')!;
    const bn = new nn.BatchNorm2d(3, { momentum: c.settings.momentum }).double();
    setAffine(bn, c);
    expectOutput(c, 'y_train', bn.forward(input(c, 0)));
    bn.forward(input(c, 1));
    expectOutput(c, 'running_mean', bn.runningMean!);
    expectOutput(c, 'running_var', bn.runningVar!);
    expect(bn.numBatchesTracked!.item()).toBe(2);
    bn.eval();
    expectOutput(c, 'y_eval', bn.forward(input(c, 0)));
  }));

  it('BatchNorm1d with momentum null keeps a cumulative average', () => k.withBackend('reference', () => {
    const c = byName.get('batch_norm1d_cumulative')!;
    const bn = new nn.BatchNorm1d(2, { momentum: null, affine: false }).double();
    c.inputs.forEach((_, i) => bn.forward(input(c, i)));
    expectOutput(c, 'running_mean', bn.runningMean!);
    expectOutput(c, 'running_var', bn.runningVar!);
  }));

  it('LayerNorm over two dims', () => k.withBackend('reference', () => {
    const c = byName.get('layer_norm')!;
    const ln = new nn.LayerNorm([4, 3]).double();
    setAffine(ln, c);
    expectOutput(c, 'y', ln.forward(input(c)));
  }));

  it('GroupNorm', () => k.withBackend('reference', () => {
    const c = byName.get('group_norm')!;
    const gn = new nn.GroupNorm(2, 4).double();
    setAffine(gn, c);
    expectOutput(c, 'y', gn.forward(input(c)));
  }));

  it('InstanceNorm2d with running statistics', () => k.withBackend('reference', () => {
    const c = byName.get('instance_norm2d')!;
    const inorm = new nn.InstanceNorm2d(2, { trackRunningStats: true, momentum: 0.3 }).double();
    expectOutput(c, 'y', inorm.forward(input(c)));
    expectOutput(c, 'running_mean', inorm.runningMean!);
    expectOutput(c, 'running_var', inorm.runningVar!);
  }));
});

describe('layers and layouts match PyTorch', () => {
  it('Bilinear', () => k.withBackend('reference', () => {
    const c = byName.get('bilinear')!;
    const layer = new nn.Bilinear(2, 3, 2).double();
    setAffine(layer, c);
    expectOutput(c, 'y', layer.forward(input(c, 0), input(c, 1)));
  }));

  it('stateDict keys and shapes of Sequential(Linear, BatchNorm1d, ReLU, Linear without bias)', () => {
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2, { bias: false }));
    const layout = Object.entries(model.stateDict()).map(([key, t]) => [key, [...t.shape]]);
    expect(layout).toEqual(fixture.state_dict);
  });

  it('calculateGain', () => {
    const { leaky_relu: leaky, 'leaky_relu_0.2': leaky02, ...plain } = fixture.gains;
    for (const [name, gain] of Object.entries(plain)) expect(nn.init.calculateGain(name as nn.init.Nonlinearity)).toBeCloseTo(gain, 14);
    expect(nn.init.calculateGain('leaky_relu')).toBeCloseTo(leaky, 14);
    expect(nn.init.calculateGain('leaky_relu', 0.2)).toBeCloseTo(leaky02, 14);
  });
});
