/**
 * Every differentiable op as data, defined once and run in several modes (ggml-style):
 * float64 finite-difference gradcheck on the reference backend, and native-vs-reference
 * parity of outputs and gradients in float32. Shapes cover broadcasting edge cases, size-1
 * and empty dims.
 */
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { CONV_CASES } from './conv-cases.js';

/** How one input of a case is generated. */
export interface InputSpec {
  shape: number[];
  /** float: N(0,1); positive: U(0.5, 2); index: int32 in [0, high); bool: random mask. */
  kind?: 'float' | 'positive' | 'index' | 'bool';
  high?: number;
}

/** One op under test. */
export interface OpCase {
  name: string;
  inputs: InputSpec[];
  fn: (...xs: Tensor[]) => Tensor;
  /** False for ops with no gradient (comparisons, argmax); they get parity checks only. */
  differentiable?: boolean;
  /** float32 parity tolerance (default atol 1e-5, rtol 1e-4). */
  tol?: { atol: number; rtol: number };
}

const f = (...shape: number[]): InputSpec => ({ shape });
const pos = (...shape: number[]): InputSpec => ({ shape, kind: 'positive' });
const idx = (high: number, ...shape: number[]): InputSpec => ({ shape, kind: 'index', high });
const mask = (...shape: number[]): InputSpec => ({ shape, kind: 'bool' });

/**
 * Random shape pairs that broadcast: a of rank 0–4 with sizes 1–5 (sometimes 0), b made
 * from a by dropping leading dims and setting some dims to 1; swapped half the time.
 */
function randomBroadcastPairs(count: number, seed: number): [number[], number[]][] {
  const g = new k.Generator(seed);
  const pairs: [number[], number[]][] = [];
  for (let p = 0; p < count; p++) {
    const a = Array.from({ length: g.integer(0, 5) }, () => (g.uniform() < 0.05 ? 0 : g.integer(1, 6)));
    const b = a.slice(g.integer(0, a.length + 1)).map((s) => (g.uniform() < 0.4 ? 1 : s));
    pairs.push(g.uniform() < 0.5 ? [a, b] : [b, a]);
  }
  return pairs;
}

/** Shape pairs every broadcasting binary op is tested on. */
const BROADCAST_PAIRS: [number[], number[]][] = [
  ...randomBroadcastPairs(6, 2026),
  [[3, 4], [3, 4]],
  [[2, 1, 4], [3, 1]],
  [[4], []],
  [[], [2, 3]],
  [[1], [5]],
  [[2, 3, 4], [4]],
  [[1, 3, 1], [2, 1, 5]],
  [[0, 3], [1, 3]],
  [[2, 0], [2, 1]],
];

function binaryCases(name: string, fn: (a: Tensor, b: Tensor) => Tensor, kind: InputSpec['kind'] = 'float'): OpCase[] {
  return BROADCAST_PAIRS.map(([a, b]) => ({
    name: `${name} [${a}] [${b}]`,
    inputs: [{ shape: a, kind }, { shape: b, kind }],
    fn,
  }));
}

function unaryCases(name: string, fn: (x: Tensor) => Tensor, kind: InputSpec['kind'] = 'float'): OpCase[] {
  return [[2, 3], [7], [], [0, 4], [1, 1, 5]].map((shape) => ({ name: `${name} [${shape}]`, inputs: [{ shape, kind }], fn }));
}

/** Random reductions: a shape of rank 1–4 and a random non-empty subset of its dims. */
function randomReduceConfigs(count: number, seed: number): { shape: number[]; dims?: number[]; keepdim: boolean }[] {
  const g = new k.Generator(seed);
  return Array.from({ length: count }, () => {
    const shape = Array.from({ length: g.integer(1, 5) }, () => g.integer(1, 6));
    const dims = shape.map((_, d) => d).filter(() => g.uniform() < 0.5);
    return { shape, dims: dims.length > 0 ? dims : [shape.length - 1], keepdim: g.uniform() < 0.5 };
  });
}

const REDUCE_CONFIGS: { shape: number[]; dims?: number | number[]; keepdim: boolean }[] = [
  ...randomReduceConfigs(4, 7),
  { shape: [3, 4], keepdim: false },
  { shape: [3, 4], dims: 0, keepdim: false },
  { shape: [3, 4], dims: -1, keepdim: true },
  { shape: [2, 3, 4], dims: [0, 2], keepdim: false },
  { shape: [2, 3, 4, 5], dims: [1, 2], keepdim: true },
  { shape: [5], dims: 0, keepdim: false },
  { shape: [], keepdim: false },
  { shape: [1, 6, 1], dims: 1, keepdim: false },
];

function reduceCases(name: string, fn: (x: Tensor, dims: number | number[] | undefined, keepdim: boolean) => Tensor): OpCase[] {
  return REDUCE_CONFIGS.map(({ shape, dims, keepdim }) => ({
    name: `${name} [${shape}] dims=${JSON.stringify(dims)} keepdim=${keepdim}`,
    inputs: [f(...shape)],
    fn: (x: Tensor) => fn(x, dims, keepdim),
  }));
}

/** Every case of every op. */
export const OP_CASES: OpCase[] = [
  ...binaryCases('add', k.add),
  ...binaryCases('sub', k.sub),
  ...binaryCases('mul', k.mul),
  ...binaryCases('div', (a, b) => k.div(a, b), 'positive'),
  ...binaryCases('pow', k.pow, 'positive'),
  ...binaryCases('maximum', k.maximum),
  ...binaryCases('minimum', k.minimum),
  { name: 'add scalar', inputs: [f(2, 3)], fn: (x) => k.add(x, 2.5) },
  { name: 'rsub scalar', inputs: [f(2, 3)], fn: (x) => k.sub(1, x) },
  { name: 'pow scalar exponent', inputs: [pos(4)], fn: (x) => k.pow(x, 3) },
  { name: 'pow scalar base', inputs: [f(4)], fn: (x) => k.pow(2, x) },
  ...unaryCases('neg', k.neg),
  ...unaryCases('abs', k.abs),
  ...unaryCases('exp', k.exp),
  ...unaryCases('log', k.log, 'positive'),
  ...unaryCases('sqrt', k.sqrt, 'positive'),
  ...unaryCases('square', k.square),
  ...unaryCases('reciprocal', k.reciprocal, 'positive'),
  ...unaryCases('sigmoid', k.sigmoid),
  ...unaryCases('tanh', k.tanh),
  ...unaryCases('relu', k.relu),
  ...unaryCases('erf', k.erf),
  ...unaryCases('expm1', k.expm1),
  ...unaryCases('log1p', k.log1p, 'positive'),
  ...unaryCases('sign', (x) => k.mul(k.sign(x), x)),
  { name: 'clamp both', inputs: [f(4, 5)], fn: (x) => k.clamp(x, -0.5, 0.7) },
  { name: 'clamp min only', inputs: [f(6)], fn: (x) => k.clamp(x, 0) },
  { name: 'clamp max only', inputs: [f(0, 2)], fn: (x) => k.clamp(x, undefined, 0.1) },
  { name: 'where broadcast', inputs: [mask(3, 1), f(3, 4), f(4)], fn: (c, a, b) => k.where(c, a, b) },
  { name: 'where scalar', inputs: [mask(5), f(5)], fn: (c, a) => k.where(c, a, 0) },
  { name: 'maskedFill', inputs: [f(3, 4), mask(4)], fn: (x, m) => k.maskedFill(x, m, -1) },
  ...['eq', 'ne', 'lt', 'le', 'gt', 'ge'].map(
    (op): OpCase => ({
      name: `${op} broadcast`,
      inputs: [idx(3, 4, 5), idx(3, 5)],
      fn: (a, b) => (k as unknown as Record<string, (a: Tensor, b: Tensor) => Tensor>)[op](a.float(), b.float()),
      differentiable: false,
    }),
  ),
  ...reduceCases('sum', k.sum),
  ...reduceCases('mean', k.mean),
  ...reduceCases('amax', k.amax),
  ...reduceCases('amin', k.amin),
  ...reduceCases('logsumexp', k.logsumexp),
  ...reduceCases('var', (x, dims, keepdim) => k.variance(x, dims, { keepdim, correction: x.numel > 1 ? 1 : 0 })),
  // std of a single element is √0, whose derivative is infinite: left out.
  ...reduceCases('std', (x, dims, keepdim) => k.std(x, dims, { keepdim, correction: 0 })).filter((c) => !c.name.startsWith('std [] ')),
  { name: 'sum empty', inputs: [f(0, 3)], fn: (x) => k.sum(x, 0) },
  { name: 'max dim', inputs: [f(3, 4, 5)], fn: (x) => k.max(x, 1).values },
  { name: 'max dim keepdim', inputs: [f(4, 6)], fn: (x) => k.max(x, -1, true).values },
  { name: 'min dim', inputs: [f(3, 4)], fn: (x) => k.min(x, 0).values },
  { name: 'argmax', inputs: [f(3, 7)], fn: (x) => k.argmax(x, 1), differentiable: false },
  { name: 'argmax flat', inputs: [f(3, 7)], fn: (x) => k.argmax(x), differentiable: false },
  { name: 'argmin keepdim', inputs: [f(5, 2)], fn: (x) => k.argmin(x, 0, true), differentiable: false },
  { name: 'matmul 2d', inputs: [f(3, 4), f(4, 5)], fn: k.matmul },
  { name: 'matmul batched', inputs: [f(2, 3, 4), f(2, 4, 5)], fn: k.matmul },
  { name: 'matmul broadcast rhs', inputs: [f(2, 3, 4), f(4, 5)], fn: k.matmul },
  { name: 'matmul broadcast lhs', inputs: [f(3, 4), f(3, 4, 2)], fn: k.matmul },
  { name: 'matmul broadcast both', inputs: [f(2, 1, 3, 4), f(1, 3, 4, 2)], fn: k.matmul },
  { name: 'matmul vec-vec', inputs: [f(5), f(5)], fn: k.matmul },
  { name: 'matmul mat-vec', inputs: [f(3, 5), f(5)], fn: k.matmul },
  { name: 'matmul vec-mat', inputs: [f(5), f(5, 2)], fn: k.matmul },
  { name: 'matmul k=0', inputs: [f(3, 0), f(0, 2)], fn: k.matmul },
  { name: 'matmul m=1 n=1', inputs: [f(1, 7), f(7, 1)], fn: k.matmul },
  { name: 'matmul large', inputs: [f(33, 65), f(65, 17)], fn: k.matmul, tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'reshape', inputs: [f(2, 3, 4)], fn: (x) => k.mul(k.reshape(x, [4, -1]), k.arange(6)) },
  { name: 'flatten', inputs: [f(2, 3, 4)], fn: (x) => k.mul(k.flatten(x, 1), k.arange(12)) },
  { name: 'permute', inputs: [f(2, 3, 4)], fn: (x) => k.mul(k.permute(x, [2, 0, 1]), k.arange(3)) },
  { name: 'transpose', inputs: [f(3, 5)], fn: (x) => k.mul(k.transpose(x, 0, 1), k.arange(3)) },
  { name: 'squeeze unsqueeze', inputs: [f(1, 3, 1)], fn: (x) => k.mul(k.unsqueeze(k.squeeze(x), 0), k.arange(3)) },
  { name: 'expand', inputs: [f(3, 1)], fn: (x) => k.mul(k.expand(x, [2, 3, 4]), k.arange(4)) },
  { name: 'slice step', inputs: [f(4, 9)], fn: (x) => k.mul(k.slice(x, 1, 1, -1, 3), k.arange(3)) },
  { name: 'slice empty', inputs: [f(4, 3)], fn: (x) => k.slice(x, 0, 2, 2) },
  { name: 'narrow', inputs: [f(5, 3)], fn: (x) => k.narrow(x, 0, 1, 3) },
  { name: 'select', inputs: [f(4, 3)], fn: (x) => k.mul(k.select(x, 1, -1), k.arange(4)) },
  { name: 'view of transpose', inputs: [f(4, 6)], fn: (x) => k.mul(k.view(k.transpose(x, 0, 1), [2, 3, 4]), k.arange(4)) },
  { name: 'reshape copying a permute', inputs: [f(2, 3, 4)], fn: (x) => k.mul(k.reshape(k.permute(x, [2, 0, 1]), [4, 6]), k.arange(6)) },
  { name: 'unfold windows', inputs: [f(3, 8)], fn: (x) => k.mul(x.unfold(1, 3, 2), k.arange(3)) },
  { name: 'diagonal', inputs: [f(2, 4, 5)], fn: (x) => k.mul(k.diagonal(x, 1, 1, 2), k.arange(4)) },
  { name: 'asStrided overlapping', inputs: [f(12)], fn: (x) => k.mul(k.asStrided(x, [4, 3], [2, 1], 1), k.arange(3)) },
  // F.linear with a bias: the bias added inside the product (matmulTransposed's bias).
  { name: 'linear fused bias', inputs: [f(5, 4), f(3, 4), f(3)], fn: (x, w, b) => k.F.linear(x, w, b) },
  { name: 'linear fused bias 3-d input', inputs: [f(2, 5, 4), f(3, 4), f(3)], fn: (x, w, b) => k.F.linear(x, w, b) },
  {
    name: 'linear fused bias transposed input and weight, sliced bias',
    inputs: [f(4, 5), f(4, 3), f(7)],
    fn: (x, w, b) => k.F.linear(k.transpose(x, 0, 1), k.transpose(w, 0, 1), k.narrow(b, 0, 2, 3)),
  },
  { name: 'linear fused bias wide (tiles, row blocks)', inputs: [f(41, 20), f(35, 20), f(35)], fn: (x, w, b) => k.F.linear(x, w, b), tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'linear fused bias narrow (computed transposed)', inputs: [f(50, 6), f(3, 6), f(3)], fn: (x, w, b) => k.F.linear(x, w, b) },
  { name: 'linear fused bias k=0', inputs: [f(3, 0), f(2, 0), f(2)], fn: (x, w, b) => k.F.linear(x, w, b) },
  { name: 'linear broadcast bias (added after)', inputs: [f(5, 4), f(3, 4), f(1, 3)], fn: (x, w, b) => k.F.linear(x, w, b) },
  { name: 'matmul transposed views', inputs: [f(2, 7, 5), f(2, 6, 7)], fn: (a, b) => k.matmul(k.transpose(a, 1, 2), k.transpose(b, 1, 2)) },
  { name: 'matmul permuted batch', inputs: [f(2, 5, 3, 4), f(2, 6, 3, 4)], fn: (q, kk) => k.matmul(k.permute(q, [0, 2, 1, 3]), k.permute(kk, [0, 2, 3, 1])) },
  { name: 'binary on strided views', inputs: [f(5, 6), f(6)], fn: (x, y) => k.mul(k.slice(k.transpose(x, 0, 1), 0, 1, 6, 2), k.slice(y, 0, 0, 5).expand([3, 5])) },
  { name: 'in-place ops in a graph', inputs: [f(3, 4), f(4)], fn: (x, y) => k.mul(x, 2).add_(y).tanh_().mul_(y.square()) },
  { name: 'cat', inputs: [f(2, 3), f(4, 3), f(0, 3)], fn: (a, b, c) => k.mul(k.cat([a, b, c], 0), k.arange(3)) },
  { name: 'cat dim 1', inputs: [f(2, 1), f(2, 4)], fn: (a, b) => k.mul(k.cat([a, b], 1), k.arange(5)) },
  { name: 'stack', inputs: [f(3), f(3)], fn: (a, b) => k.mul(k.stack([a, b], 1), k.arange(2)) },
  { name: 'split', inputs: [f(7, 2)], fn: (x) => k.cat(k.split(x, 3, 0).map((p, i) => k.mul(p, i + 1)), 0) },
  { name: 'split sections', inputs: [f(2, 6)], fn: (x) => k.cat(k.split(x, [1, 5], 1).map((p, i) => k.mul(p, i + 2)), 1) },
  { name: 'chunk', inputs: [f(5)], fn: (x) => k.cat(k.chunk(x, 2).map((p, i) => k.mul(p, i - 1)), 0) },
  { name: 'clone', inputs: [f(3)], fn: (x) => k.clone(x) },
  { name: 'indexSelect', inputs: [f(4, 3), idx(4, 6)], fn: (x, i) => k.indexSelect(x, 0, i) },
  { name: 'indexSelect dim 1', inputs: [f(2, 5, 3), idx(5, 4)], fn: (x, i) => k.indexSelect(x, 1, i) },
  { name: 'gather', inputs: [f(4, 5), idx(5, 4, 2)], fn: (x, i) => k.gather(x, 1, i) },
  { name: 'gather dim 0', inputs: [f(3, 4), idx(3, 6, 4)], fn: (x, i) => k.gather(x, 0, i) },
  { name: 'scatterAdd', inputs: [f(4, 5), idx(5, 4, 3), f(4, 3)], fn: (x, i, s) => k.scatterAdd(x, 1, i, s) },
  { name: 'softmax last', inputs: [f(3, 6)], fn: (x) => k.softmax(x, -1) },
  { name: 'softmax middle', inputs: [f(2, 4, 3)], fn: (x) => k.softmax(x, 1) },
  { name: 'logSoftmax last', inputs: [f(3, 6)], fn: (x) => k.logSoftmax(x, 1) },
  { name: 'logSoftmax first', inputs: [f(5, 2)], fn: (x) => k.logSoftmax(x, 0) },
  { name: 'softmax size 1', inputs: [f(4, 1)], fn: (x) => k.softmax(x, 1) },
  { name: 'composite mlp', inputs: [f(4, 3), f(3, 5), f(5)], fn: (x, w, b) => k.tanh(k.add(k.matmul(x, w), b)).logsumexp(1) },
  ...CONV_CASES,
];

/** Random inputs for a case, in `dtype` for the float ones, float inputs requiring grad when `grad`. */
export function makeInputs(c: OpCase, dtype: 'float32' | 'float64', seed: number, grad: boolean): Tensor[] {
  const generator = new k.Generator(seed);
  return c.inputs.map((spec) => {
    switch (spec.kind) {
      case 'index':
        return k.randint(0, spec.high ?? 2, spec.shape, { generator });
      case 'bool':
        return k.gt(k.rand(spec.shape, { generator }), 0.5);
      case 'positive':
        return k.add(k.mul(k.rand(spec.shape, { generator, dtype }), 1.5), 0.5).requiresGrad_(grad);
      default:
        return k.randn(spec.shape, { generator, dtype }).requiresGrad_(grad);
    }
  });
}
