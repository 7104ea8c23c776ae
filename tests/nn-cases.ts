/**
 * Every nn layer as data, run like the op cases (tests/op-cases.ts) in two modes by
 * nn-layers.test.ts: a float64 gradcheck of the inputs and every parameter on the reference
 * backend, and native-vs-reference parity in float32 of the output, the input and parameter
 * gradients, and the buffers.
 *
 * Random layers run deterministically: the harness reseeds the case's generator before each
 * forward, so dropout draws the same mask in every call of a gradient check.
 */
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { nn } from '../lib/index.js';
import type { InputSpec } from './op-cases.js';

/** One layer configuration under test. */
export interface LayerCase {
  name: string;
  /** Builds the layer, drawing initial weights (and later masks) from `g`. */
  make: (g: k.Generator) => nn.Module;
  inputs: InputSpec[];
  /** How the layer is called; default `m.forward(...xs)`. */
  run?: (m: nn.Module, ...xs: Tensor[]) => Tensor;
  /** float32 parity tolerance (default atol 1e-5, rtol 1e-4). */
  tol?: { atol: number; rtol: number };
}

const f = (...shape: number[]): InputSpec => ({ shape });
const idx = (high: number, ...shape: number[]): InputSpec => ({ shape, kind: 'index', high });

/** Sets every float parameter to N(mean, std²), so affine layers do not start at the trivial ones and zeros. */
function randomize<M extends nn.Module>(m: M, g: k.Generator, mean = 0.5, std = 0.5): M {
  for (const p of m.parameters()) nn.init.normal_(p, mean, std, { generator: g });
  return m;
}

/** A layer that has seen two training batches (non-trivial running statistics), then set to eval mode. */
function warmedUp<M extends nn.Module>(m: M, g: k.Generator, shape: number[]): M {
  m.train();
  for (let i = 0; i < 2; i++) m.forward(k.add(k.mul(k.randn(shape, { generator: g }), 2), 1));
  return m.eval();
}

/** The activation cases: each layer on a (4, 5) input scaled by 3, so that saturating regions are reached. */
function activationCases(entries: [string, () => nn.Module][]): LayerCase[] {
  return entries.map(([name, make]) => ({ name, make, inputs: [f(4, 5)], run: (m, x) => m.forward(k.mul(x, 3)) as Tensor }));
}

/** Every case of every layer. */
export const LAYER_CASES: LayerCase[] = [
  { name: 'Linear', make: (g) => new nn.Linear(4, 5, { generator: g }), inputs: [f(3, 4)] },
  { name: 'Linear no bias', make: (g) => new nn.Linear(4, 2, { bias: false, generator: g }), inputs: [f(3, 4)] },
  { name: 'Linear 3-d input', make: (g) => new nn.Linear(3, 2, { generator: g }), inputs: [f(2, 4, 3)] },
  { name: 'Linear 1-d input', make: (g) => new nn.Linear(3, 2, { generator: g }), inputs: [f(3)] },
  { name: 'Linear empty batch', make: (g) => new nn.Linear(3, 2, { generator: g }), inputs: [f(0, 3)] },
  { name: 'Bilinear', make: (g) => new nn.Bilinear(2, 3, 4, { generator: g }), inputs: [f(5, 2), f(5, 3)] },
  { name: 'Bilinear no bias 3-d', make: (g) => new nn.Bilinear(3, 2, 2, { bias: false, generator: g }), inputs: [f(2, 2, 3), f(2, 2, 2)] },
  { name: 'Identity', make: () => new nn.Identity(), inputs: [f(2, 3)] },
  { name: 'Flatten', make: () => new nn.Flatten(), inputs: [f(2, 3, 2, 2)], run: (m, x) => k.mul(m.forward(x) as Tensor, k.arange(12)) },
  { name: 'Unflatten', make: () => new nn.Unflatten(1, [3, 4]), inputs: [f(2, 12)], run: (m, x) => k.mul(m.forward(x) as Tensor, k.arange(4)) },
  { name: 'Embedding', make: (g) => new nn.Embedding(6, 3, { generator: g }), inputs: [idx(6, 2, 5)] },
  // The padding row gets no gradient by design (nn-functional.test.ts checks it), so the
  // gradient check draws indices below it.
  { name: 'Embedding paddingIdx', make: (g) => new nn.Embedding(4, 3, { paddingIdx: -1, generator: g }), inputs: [idx(3, 9)] },
  ...activationCases([
    ['Sigmoid', () => new nn.Sigmoid()],
    ['Tanh', () => new nn.Tanh()],
    ['ReLU', () => new nn.ReLU()],
    ['ReLU6', () => new nn.ReLU6()],
    ['LeakyReLU', () => new nn.LeakyReLU(0.2)],
    ['ELU', () => new nn.ELU()],
    ['ELU alpha 0.5', () => new nn.ELU(0.5)],
    ['SELU', () => new nn.SELU()],
    ['GELU', () => new nn.GELU()],
    ['GELU tanh', () => new nn.GELU('tanh')],
    ['SiLU', () => new nn.SiLU()],
    ['Swish beta 1.5', () => new nn.Swish(1.5)],
    ['Swish learnable', () => new nn.Swish(0.8, { learnable: true })],
    ['Softplus', () => new nn.Softplus()],
    ['Softplus beta 2 threshold 3', () => new nn.Softplus(2, 3)],
    ['Softsign', () => new nn.Softsign()],
    ['Hardtanh', () => new nn.Hardtanh(-2, 1.5)],
    ['Softmax', () => new nn.Softmax(1)],
    ['LogSoftmax', () => new nn.LogSoftmax(-1)],
    ['PReLU shared', () => new nn.PReLU()],
    ['PReLU per channel', () => new nn.PReLU(5, 0.1)],
  ]),
  { name: 'PReLU per channel 3-d', make: (g) => randomize(new nn.PReLU(3), g, 0.2, 0.1), inputs: [f(2, 3, 4)] },
  { name: 'Maxout', make: () => new nn.Maxout(3), inputs: [f(4, 6)] },
  { name: 'Maxout after Linear', make: (g) => new nn.Sequential(new nn.Linear(5, 8, { generator: g }), new nn.Maxout(2)), inputs: [f(3, 5)] },
  { name: 'Dropout train', make: (g) => new nn.Dropout(0.4, { generator: g }), inputs: [f(6, 5)] },
  { name: 'Dropout eval', make: (g) => new nn.Dropout(0.4, { generator: g }).eval(), inputs: [f(6, 5)] },
  { name: 'Dropout2d train', make: (g) => new nn.Dropout2d(0.5, { generator: g }), inputs: [f(3, 4, 2, 2)] },
  { name: 'Dropout2d unbatched', make: (g) => new nn.Dropout2d(0.5, { generator: g }), inputs: [f(4, 2, 3)] },
  { name: 'AlphaDropout train', make: (g) => new nn.AlphaDropout(0.3, { generator: g }), inputs: [f(6, 5)] },
  { name: 'AlphaDropout eval', make: (g) => new nn.AlphaDropout(0.3, { generator: g }).eval(), inputs: [f(6, 5)] },
  { name: 'DropConnect train', make: (g) => new nn.DropConnect(4, 3, { p: 0.5, generator: g }), inputs: [f(5, 4)] },
  { name: 'DropConnect eval', make: (g) => new nn.DropConnect(4, 3, { p: 0.5, generator: g }).eval(), inputs: [f(5, 4)] },
  { name: 'BatchNorm1d train', make: (g) => randomize(new nn.BatchNorm1d(3), g), inputs: [f(6, 3)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'BatchNorm1d train (N, C, L)', make: (g) => randomize(new nn.BatchNorm1d(3), g), inputs: [f(2, 3, 4)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'BatchNorm1d eval', make: (g) => warmedUp(randomize(new nn.BatchNorm1d(4), g), g, [8, 4]), inputs: [f(5, 4)] },
  {
    name: 'BatchNorm1d cumulative average, no affine',
    make: () => new nn.BatchNorm1d(2, { momentum: null, affine: false }),
    inputs: [f(5, 2)],
    tol: { atol: 1e-4, rtol: 1e-4 },
  },
  {
    name: 'BatchNorm1d without running stats, eval',
    make: (g) => randomize(new nn.BatchNorm1d(3, { trackRunningStats: false }), g).eval(),
    inputs: [f(4, 3)],
    tol: { atol: 1e-4, rtol: 1e-4 },
  },
  { name: 'BatchNorm2d train', make: (g) => randomize(new nn.BatchNorm2d(3), g), inputs: [f(2, 3, 3, 2)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'BatchNorm2d eval', make: (g) => warmedUp(randomize(new nn.BatchNorm2d(2, { momentum: 0.3 }), g), g, [3, 2, 2, 2]), inputs: [f(2, 2, 3, 3)] },
  { name: 'LayerNorm last dim', make: (g) => randomize(new nn.LayerNorm(5), g), inputs: [f(3, 5)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'LayerNorm two dims', make: (g) => randomize(new nn.LayerNorm([3, 4]), g), inputs: [f(2, 3, 4)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'LayerNorm no affine', make: () => new nn.LayerNorm(6, { elementwiseAffine: false }), inputs: [f(2, 6)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'GroupNorm', make: (g) => randomize(new nn.GroupNorm(2, 4), g), inputs: [f(2, 4, 3)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'GroupNorm one group 4-d', make: (g) => randomize(new nn.GroupNorm(1, 3), g), inputs: [f(2, 3, 2, 2)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'InstanceNorm2d', make: () => new nn.InstanceNorm2d(3), inputs: [f(2, 3, 3, 3)], tol: { atol: 1e-4, rtol: 1e-4 } },
  {
    name: 'InstanceNorm2d affine tracked, train',
    make: (g) => randomize(new nn.InstanceNorm2d(2, { affine: true, trackRunningStats: true }), g),
    inputs: [f(3, 2, 2, 3)],
    tol: { atol: 1e-4, rtol: 1e-4 },
  },
  {
    name: 'InstanceNorm2d tracked, eval',
    make: (g) => warmedUp(new nn.InstanceNorm2d(2, { trackRunningStats: true }), g, [3, 2, 3, 3]),
    inputs: [f(2, 2, 3, 3)],
  },
  { name: 'InstanceNorm2d unbatched', make: () => new nn.InstanceNorm2d(2), inputs: [f(2, 3, 3)], tol: { atol: 1e-4, rtol: 1e-4 } },
  {
    name: 'Sequential MLP',
    make: (g) =>
      new nn.Sequential(
        new nn.Linear(4, 6, { generator: g }),
        new nn.BatchNorm1d(6),
        new nn.GELU(),
        new nn.Dropout(0.25, { generator: g }),
        new nn.Linear(6, 2, { generator: g }),
        new nn.LogSoftmax(1),
      ),
    inputs: [f(5, 4)],
    tol: { atol: 1e-4, rtol: 1e-4 },
  },
  // Building blocks of the zoo (lib/nn/blocks): BatchNorm in train mode, so batch statistics are differentiated too.
  { name: 'SqueezeExcitation', make: (g) => randomize(new nn.SqueezeExcitation(4, 2), g), inputs: [f(2, 4, 3, 3)] },
  { name: 'StochasticDepth row', make: (g) => new nn.StochasticDepth(0.5, 'row', { generator: g }), inputs: [f(6, 3, 2)] },
  { name: 'StochasticDepth batch', make: (g) => new nn.StochasticDepth(0.3, 'batch', { generator: g }), inputs: [f(2, 3)] },
  { name: 'BasicBlock stride 2 projection', make: (g) => randomize(new nn.BasicBlock(2, 3, { stride: 2 }), g), inputs: [f(2, 2, 4, 4)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'BasicBlock SE + identity shortcut', make: (g) => randomize(new nn.BasicBlock(3, 3, { seSqueezeChannels: 2 }), g), inputs: [f(2, 3, 3, 3)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'Bottleneck grouped stride 2', make: (g) => randomize(new nn.Bottleneck(4, 2, { stride: 2, groups: 2 }), g), inputs: [f(2, 4, 4, 4)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'Fire', make: (g) => randomize(new nn.Fire(3, 2, 2, 3), g, 0, 0.5), inputs: [f(2, 3, 4, 4)] },
  { name: 'PreActBlock stride 2 projection', make: (g) => randomize(new nn.PreActBlock(2, 3, 2), g), inputs: [f(2, 2, 4, 4)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'LeNet-5 Subsampling', make: (g) => randomize(new k.models.Subsampling(3), g), inputs: [f(2, 3, 4, 4)] },
  { name: 'LeNet-5 C3 partial connections', make: (g) => randomize(new k.models.PartiallyConnectedC3(), g, 0, 0.2), inputs: [f(1, 6, 5, 5)] },
  { name: 'InvertedResidual shortcut', make: (g) => randomize(new nn.InvertedResidual(2, 2, 1, 3), g), inputs: [f(2, 2, 4, 4)], tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'InvertedResidual stride 2 no expansion', make: (g) => randomize(new nn.InvertedResidual(3, 4, 2, 1), g), inputs: [f(2, 3, 5, 5)], tol: { atol: 1e-4, rtol: 1e-4 } },
];
