/**
 * The small-tensor path (lib/backend/small.ts): which calls stay in TypeScript (a fake addon
 * records every call that crosses), results bit-identical to the addon's for the exact ops at
 * sizes up to, at and just past each threshold on random data with NaN, ±0 and ±Infinity, and
 * within the parity tolerance for the others (exp, log, tanh, sigmoid, …, softmax, matmul,
 * optimizer steps).
 */
import { afterEach, describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { BinaryOp, CompareOp, ReduceOp, UnaryOp } from '../lib/backend/backend.js';
import type { NativeAddon } from '../lib/backend/native.js';
import { SMALL_PATH_LIMITS, SmallPathBackend, setSmallPathEnabled } from '../lib/backend/small.js';
import { expectClose } from './helpers.js';

const LIMITS = SMALL_PATH_LIMITS;

afterEach(() => setSmallPathEnabled(true));

/** A SmallPathBackend over an addon that only records the names of the functions called. */
function recordingBackend(): { backend: SmallPathBackend; calls: string[] } {
  const calls: string[] = [];
  const addon = new Proxy({}, { get: (_target, name) => () => void calls.push(String(name)) }) as NativeAddon;
  return { backend: new SmallPathBackend(addon), calls };
}

describe('small-tensor path: the rule', () => {
  const f32 = (n: number): Float32Array => new Float32Array(n).fill(0.5);

  const cases: { name: string; limit: number; call: (b: SmallPathBackend, n: number) => void }[] = [
    { name: 'binary', limit: LIMITS.elementwise, call: (b, n) => b.binary(BinaryOp.add, f32(n), f32(n), f32(n), null) },
    { name: 'binary', limit: LIMITS.transcendental, call: (b, n) => b.binary(BinaryOp.pow, f32(n), f32(n), f32(n), null) },
    { name: 'unary', limit: LIMITS.elementwise, call: (b, n) => b.unary(UnaryOp.relu, f32(n), f32(n)) },
    { name: 'unary', limit: LIMITS.transcendental, call: (b, n) => b.unary(UnaryOp.exp, f32(n), f32(n)) },
    { name: 'compare', limit: LIMITS.elementwise, call: (b, n) => b.compare(CompareOp.lt, f32(n), f32(n), new Uint8Array(n), null) },
    { name: 'where', limit: LIMITS.elementwise, call: (b, n) => b.where(new Uint8Array(n), f32(n), f32(n), f32(n)) },
    { name: 'clamp', limit: LIMITS.elementwise, call: (b, n) => b.clamp(f32(n), 0, 1, f32(n)) },
    { name: 'reluBackward', limit: LIMITS.elementwise, call: (b, n) => b.reluBackward(f32(n), f32(n), f32(n)) },
    { name: 'reduce', limit: LIMITS.reduce, call: (b, n) => b.reduce(ReduceOp.sum, f32(n), f32(1), 1, n, 1) },
    { name: 'argReduce', limit: LIMITS.reduce, call: (b, n) => b.argReduce(ReduceOp.max, f32(n), f32(1), new Int32Array(1), 1, n, 1) },
    { name: 'softmax', limit: LIMITS.softmax, call: (b, n) => b.softmax(f32(n), f32(n), 1, n, 1, false) },
    { name: 'softmaxBackward', limit: LIMITS.softmax, call: (b, n) => b.softmaxBackward(f32(n), f32(n), f32(n), 1, n, 1, false) },
    { name: 'matmul', limit: LIMITS.matmul, call: (b, n) => b.matmul(f32(n), f32(1), f32(n), 1, n, 1, 1, 0, 0, false, false) },
    {
      name: 'sgdStep',
      limit: LIMITS.optimizer,
      call: (b, n) => b.sgdStep(f32(n), f32(n), null, { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, firstStep: true }),
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.limit} elements stay in TypeScript, ${c.limit + 1} cross into the addon`, () => {
      const { backend, calls } = recordingBackend();
      c.call(backend, c.limit);
      expect(calls).toEqual([]);
      c.call(backend, c.limit + 1);
      expect(calls).toEqual([c.name]);
    });
  }

  it('setSmallPathEnabled(false) sends every call to the addon', () => {
    const { backend, calls } = recordingBackend();
    setSmallPathEnabled(false);
    backend.binary(BinaryOp.add, f32(1), f32(1), f32(1), null);
    backend.reduce(ReduceOp.sum, f32(4), f32(1), 1, 4, 1);
    expect(calls).toEqual(['binary', 'reduce']);
  });
});

/** Random float32 data: N(0, 1), with NaN, ±0, ±Infinity and repeated values sprinkled in. */
function randomData(n: number, seed: number): Tensor {
  const x = k.randn([n], { generator: new k.Generator(seed) });
  const data = x.data as Float32Array;
  const specials = [NaN, 0, -0, Infinity, -Infinity, 1, 1];
  for (let i = 0; i < n; i++) if (i % 11 === 5) data[i] = specials[(i + seed) % specials.length];
  return x;
}

/** Finite random data (sums and extremes without NaN or infinities, to compare their rounding). */
function finiteData(n: number, seed: number): Tensor {
  return k.randn([n], { generator: new k.Generator(seed) }).mul(1000);
}

/** Runs fn on the native backend with the small-tensor path on and off. */
function bothPaths(fn: () => Tensor): { small: Tensor; addon: Tensor } {
  return k.withBackend('native', () => {
    const small = fn();
    setSmallPathEnabled(false);
    try {
      return { small, addon: fn() };
    } finally {
      setSmallPathEnabled(true);
    }
  });
}

/** Bit-for-bit equality of two result arrays; any NaN matches any NaN (payloads differ between C++ and JS). */
function expectBitIdentical(small: Tensor, addon: Tensor, what: string): void {
  expect(small.shape).toEqual(addon.shape);
  expect(small.dtype).toBe(addon.dtype);
  const a = small.data;
  const b = addon.data;
  for (let i = 0; i < a.length; i++) {
    const same = Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i]));
    if (!same) expect.fail(`${what}[${i}]: small path ${a[i]} vs addon ${b[i]}`);
  }
}

/** Sizes around a limit: tiny, just below, at, and just past it (the addon on both sides). */
const sizesAround = (limit: number): number[] => [1, 7, 16, limit - 1, limit, limit + 1];

const natively = k.isNativeAvailable() ? describe : describe.skip;

natively('small-tensor path: bit-identical to the addon for exact ops', () => {
  const binaryOps: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['add', k.add], ['sub', k.sub], ['mul', k.mul], ['div', k.div], ['maximum', k.maximum], ['minimum', k.minimum],
  ];
  for (const [name, op] of binaryOps) {
    it(`${name}: same shape, scalar operand and broadcast plan`, () => {
      for (const n of sizesAround(LIMITS.elementwise)) {
        const a = randomData(n, n);
        const b = randomData(n, n + 1);
        const same = bothPaths(() => op(a, b));
        expectBitIdentical(same.small, same.addon, `${name} [${n}]`);
        const scalar = bothPaths(() => op(a, randomData(1, 3).reshape([])));
        expectBitIdentical(scalar.small, scalar.addon, `${name} [${n}] with a scalar`);
      }
      const col = randomData(12, 4).reshape([12, 1]);
      const row = randomData(10, 5).reshape([1, 10]); // 120 outputs, under the limit
      const plan = bothPaths(() => op(col, row));
      expectBitIdentical(plan.small, plan.addon, `${name} [12, 1] with [1, 10]`);
    });
  }

  const unaryOps: [string, (x: Tensor) => Tensor][] = [
    ['neg', k.neg], ['abs', k.abs], ['relu', k.relu], ['sign', k.sign], ['square', k.square],
    ['reciprocal', k.reciprocal], ['sqrt', k.sqrt],
  ];
  for (const [name, op] of unaryOps) {
    it(name, () => {
      for (const n of sizesAround(LIMITS.elementwise)) {
        const r = bothPaths(() => op(randomData(n, n)));
        expectBitIdentical(r.small, r.addon, `${name} [${n}]`);
      }
    });
  }

  const compareOps: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['eq', k.eq], ['ne', k.ne], ['lt', k.lt], ['le', k.le], ['gt', k.gt], ['ge', k.ge],
  ];
  for (const [name, op] of compareOps) {
    it(name, () => {
      for (const n of sizesAround(LIMITS.elementwise)) {
        const r = bothPaths(() => op(randomData(n, n), randomData(n, n + 2)));
        expectBitIdentical(r.small, r.addon, `${name} [${n}]`);
      }
    });
  }

  it('where, clamp and relu backward', () => {
    for (const n of sizesAround(LIMITS.elementwise)) {
      const cond = k.gt(randomData(n, n + 3), 0);
      const w = bothPaths(() => k.where(cond, randomData(n, n), randomData(n, n + 1)));
      expectBitIdentical(w.small, w.addon, `where [${n}]`);
      const c = bothPaths(() => k.clamp(randomData(n, n), -0.5, 0.75));
      expectBitIdentical(c.small, c.addon, `clamp [${n}]`);
      const g = randomData(n, n + 4);
      const reluGrad = (): Tensor => {
        const x = randomData(n, n).requiresGrad_();
        k.relu(x).backward(g);
        return x.grad!;
      };
      const r = bothPaths(reluGrad);
      expectBitIdentical(r.small, r.addon, `relu backward [${n}]`);
    }
  });

  it('sum, amax and amin over all elements, in the native summation order', () => {
    for (const n of sizesAround(LIMITS.reduce)) {
      for (const data of [finiteData(n, n), randomData(n, n)]) {
        for (const [name, op] of [['sum', (x: Tensor) => k.sum(x)], ['amax', k.amax], ['amin', k.amin]] as const) {
          const r = bothPaths(() => op(data));
          expectBitIdentical(r.small, r.addon, `${name} [${n}]`);
        }
      }
    }
  });

  it('sum, amax and amin along a dim: contiguous rows and columns', () => {
    for (const [rows, cols] of [[3, 17], [17, 3], [4, 32], [32, 4], [5, 25], [8, 64]]) {
      const x = finiteData(rows * cols, rows).reshape([rows, cols]);
      for (const dim of [0, 1]) {
        for (const [name, op] of [['sum', k.sum], ['amax', k.amax], ['amin', k.amin]] as const) {
          const r = bothPaths(() => op(x, dim));
          expectBitIdentical(r.small, r.addon, `${name} of [${rows}, ${cols}] along ${dim}`);
        }
      }
    }
  });

  it('argmax and argmin, with ties and NaN', () => {
    for (const n of sizesAround(LIMITS.reduce)) {
      const x = randomData(n, n);
      for (const [name, op] of [['argmax', k.argmax], ['argmin', k.argmin]] as const) {
        const r = bothPaths(() => op(x));
        expectBitIdentical(r.small, r.addon, `${name} [${n}]`);
        const finite = finiteData(n, n).reshape([1, n]);
        const alongDim = bothPaths(() => op(finite, 1));
        expectBitIdentical(alongDim.small, alongDim.addon, `${name} [1, ${n}] along 1`);
      }
    }
  });
});

natively('small-tensor path: within the parity tolerance for the other ops', () => {
  const tol = { atol: 1e-6, rtol: 1e-5 };
  const transcendental: [string, (x: Tensor) => Tensor][] = [
    ['exp', k.exp], ['log', (x) => k.log(k.abs(x))], ['tanh', k.tanh], ['sigmoid', k.sigmoid],
    ['erf', k.erf], ['expm1', k.expm1], ['log1p', (x) => k.log1p(k.abs(x))], ['pow', (x) => k.pow(k.abs(x), 1.7)],
  ];
  for (const [name, op] of transcendental) {
    it(name, () => {
      for (const n of sizesAround(LIMITS.transcendental)) {
        const r = bothPaths(() => op(finiteData(n, n).div(1000)));
        expectClose(r.small.data, r.addon.data, tol.atol, tol.rtol, `${name} [${n}]`);
      }
    });
  }

  it('softmax and logSoftmax, forward and backward', () => {
    for (const n of sizesAround(LIMITS.softmax)) {
      for (const op of [k.softmax, k.logSoftmax]) {
        const grad = (): Tensor => {
          const x = finiteData(n, n).div(1000).requiresGrad_();
          const y = op(x, 0);
          y.backward(finiteData(n, n + 1).div(1000));
          return k.cat([y.detach(), x.grad!]);
        };
        const r = bothPaths(grad);
        expectClose(r.small.data, r.addon.data, tol.atol, tol.rtol, `${op.name} [${n}]`);
      }
    }
  });

  it('matmul, around its multiply-add limit', () => {
    for (const [m, kk, n] of [[1, 16, 16], [4, 2, 4], [1, 16, 17], [16, 16, 16], [2, 3, 5]]) {
      const a = finiteData(m * kk, m).div(1000).reshape([m, kk]);
      const b = finiteData(kk * n, n).div(1000).reshape([kk, n]);
      const r = bothPaths(() => k.matmul(a, b));
      expectClose(r.small.data, r.addon.data, 1e-5, 1e-5, `matmul ${m}×${kk}×${n}`);
    }
  });

  it('SGD with momentum and Adam steps of small parameters', () => {
    const train = (makeOptimizer: (p: Tensor[]) => k.optim.Optimizer): Tensor => {
      const p = finiteData(32, 1).div(1000).requiresGrad_();
      const opt = makeOptimizer([p]);
      for (let step = 0; step < 3; step++) {
        opt.zeroGrad();
        k.sum(k.square(p)).backward();
        opt.step();
      }
      return p.detach();
    };
    for (const make of [
      (p: Tensor[]) => new k.optim.SGD(p, { lr: 0.1, momentum: 0.9 }),
      (p: Tensor[]) => new k.optim.Adam(p, { lr: 0.01 }),
    ]) {
      const r = bothPaths(() => train(make));
      expectClose(r.small.data, r.addon.data, tol.atol, tol.rtol, 'parameters after 3 steps');
    }
  });
});
