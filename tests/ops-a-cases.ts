/**
 * Issue 12's ops, part A, as op cases (same format as op-cases.ts): run by ops-a.test.ts as a
 * float64 gradcheck on the reference backend, native-vs-reference parity in float32 and a
 * NaN-poisoned tidy() run. Cases taking `.transpose(…)` of an input work on a non-last or
 * permuted layout.
 */
import * as k from '../lib/index.js';
import type { OpCase } from './op-cases.js';

const f = (...shape: number[]) => ({ shape });
const pos = (...shape: number[]) => ({ shape, kind: 'positive' as const });
const mask = (...shape: number[]) => ({ shape, kind: 'bool' as const });
const int = (v: number[]) => k.tensor(v, { dtype: 'int32' });

/** Unary math on x shaped (3, 4) and on an empty tensor. */
const UNARY: [string, (x: k.Tensor) => k.Tensor, 'float' | 'positive'][] = [
  ['sin', k.sin, 'float'],
  ['cos', k.cos, 'float'],
  ['tan', k.tan, 'float'],
  ['sinh', k.sinh, 'float'],
  ['cosh', k.cosh, 'float'],
  ['rsqrt', k.rsqrt, 'positive'],
  ['floor', k.floor, 'float'],
  ['ceil', k.ceil, 'float'],
  ['round', k.round, 'float'],
];

export const OPS_A_CASES: OpCase[] = [
  ...UNARY.flatMap(([name, fn, kind]): OpCase[] => [
    { name, inputs: [kind === 'positive' ? pos(3, 4) : f(3, 4)], fn },
    { name: `${name} empty`, inputs: [f(0, 3)], fn },
  ]),
  { name: 'round decimals', inputs: [f(3, 4)], fn: (x) => k.add(k.round(x, 2), k.round(k.mul(x, 100), -1)) },
  { name: 'sin large arguments', inputs: [f(64)], fn: (x) => k.sin(k.mul(x, 1000)), tol: { atol: 1e-4, rtol: 1e-4 } },
  { name: 'atan2 broadcast', inputs: [f(3, 4), f(4)], fn: k.atan2 },
  { name: 'atan2 scalar', inputs: [f(2, 3)], fn: (a) => k.atan2(a, -0.5) },
  { name: 'fmod broadcast', inputs: [f(3, 4), pos(3, 1)], fn: (a, b) => k.fmod(k.mul(a, 3), b) },
  { name: 'fmod negative divisor', inputs: [f(5), pos(5)], fn: (a, b) => k.fmod(k.mul(a, 3), k.neg(b)) },
  { name: 'remainder broadcast', inputs: [f(3, 4), pos(4)], fn: (a, b) => k.remainder(k.mul(a, 3), b) },
  { name: 'remainder negative divisor', inputs: [f(2, 5), pos(5)], fn: (a, b) => k.remainder(k.mul(a, 3), k.neg(b)) },
  { name: 'cumsum last dim', inputs: [f(3, 5)], fn: (x) => k.cumsum(x, -1) },
  { name: 'cumsum dim 0', inputs: [f(4, 3, 2)], fn: (x) => k.cumsum(x, 0) },
  { name: 'cumsum transposed', inputs: [f(4, 3)], fn: (x) => k.cumsum(x.transpose(0, 1), 1) },
  { name: 'cumsum 0-d', inputs: [f()], fn: (x) => k.cumsum(x, 0) },
  { name: 'cumprod last dim', inputs: [f(3, 5)], fn: (x) => k.cumprod(x, -1) },
  { name: 'cumprod dim 1 of 3-d', inputs: [f(2, 4, 3)], fn: (x) => k.cumprod(x, 1) },
  { name: 'sort last dim', inputs: [f(3, 7)], fn: (x) => k.sort(x).values },
  { name: 'sort descending dim 0', inputs: [f(6, 3)], fn: (x) => k.sort(x, 0, true).values },
  { name: 'sort long rows', inputs: [f(2, 200)], fn: (x) => k.sort(x, 1).values },
  { name: 'sort transposed', inputs: [f(5, 4)], fn: (x) => k.sort(x.transpose(0, 1), 0).values },
  { name: 'sort indices', inputs: [f(4, 60)], fn: (x) => k.sort(x, 1, true).indices, differentiable: false },
  { name: 'argsort', inputs: [f(3, 9)], fn: (x) => k.argsort(x, 0), differentiable: false },
  { name: 'topk largest', inputs: [f(4, 9)], fn: (x) => k.topk(x, 3).values },
  { name: 'topk smallest dim 0', inputs: [f(9, 4)], fn: (x) => k.topk(x, 2, { dim: 0, largest: false }).values },
  { name: 'topk long rows k=5', inputs: [f(3, 500)], fn: (x) => k.topk(x, 5).values },
  { name: 'topk k=20 selection path', inputs: [f(2, 400)], fn: (x) => k.topk(x, 20).values },
  { name: 'topk k = n', inputs: [f(2, 6)], fn: (x) => k.topk(x, 6, { largest: false }).values },
  { name: 'topk indices', inputs: [f(5, 300)], fn: (x) => k.topk(x, 5).indices, differentiable: false },
  { name: 'kthvalue', inputs: [f(3, 7)], fn: (x) => k.kthvalue(x, 3).values },
  { name: 'kthvalue keepdim dim 0', inputs: [f(5, 2)], fn: (x) => k.kthvalue(x, 5, 0, true).values },
  { name: 'median all', inputs: [f(3, 4)], fn: (x) => k.median(x) },
  { name: 'median dim', inputs: [f(3, 6)], fn: (x) => k.median(x, 1).values },
  { name: 'mode', inputs: [f(3, 5)], fn: (x) => k.mode(k.round(k.mul(x, 1)), 1).values, differentiable: false },
  { name: 'mode gradient', inputs: [f(3, 5)], fn: (x) => k.mode(x, 0).values },
  { name: 'triu', inputs: [f(2, 3, 4)], fn: (x) => k.triu(x) },
  { name: 'triu diagonal 1', inputs: [f(4, 4)], fn: (x) => k.triu(x, 1) },
  { name: 'tril diagonal -1', inputs: [f(3, 5)], fn: (x) => k.tril(x, -1) },
  { name: 'where broadcast', inputs: [mask(3, 1), f(3, 4), f(4)], fn: (c, a, b) => k.where(c, a, b) },
  { name: 'where scalars', inputs: [mask(2, 3), f(2, 3)], fn: (c, a) => k.add(k.where(c, 2.5, -1), a) },
  { name: 'maskedFill tensor value', inputs: [f(3, 4), mask(4), f()], fn: (x, m, v) => k.maskedFill(x, m, v) },
  { name: 'maskedSelect broadcast', inputs: [f(3, 1), mask(3, 4)], fn: (x, m) => k.maskedSelect(x, m) },
  { name: 'nonzero', inputs: [mask(4, 3)], fn: (m) => k.nonzero(m), differentiable: false },
  { name: 'flip', inputs: [f(2, 3, 4)], fn: (x) => k.flip(x, [0, 2]) },
  { name: 'roll flat', inputs: [f(3, 4)], fn: (x) => k.roll(x, -5) },
  { name: 'roll dims', inputs: [f(3, 4)], fn: (x) => k.roll(x, [2, 7], [0, 1]) },
  { name: 'repeat', inputs: [f(2, 3)], fn: (x) => k.repeat(x, [2, 2, 1]) },
  { name: 'tile', inputs: [f(2, 3)], fn: (x) => k.tile(x, [3]) },
  { name: 'repeatInterleave', inputs: [f(3, 2)], fn: (x) => k.repeatInterleave(x, int([2, 0, 1]), 0) },
  { name: 'repeatInterleave flat', inputs: [f(2, 2)], fn: (x) => k.repeatInterleave(x, 3) },
];
