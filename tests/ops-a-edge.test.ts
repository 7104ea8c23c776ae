/**
 * Issue 12's ops, part A: semantics PyTorch users rely on (round half to even, NaN order,
 * stable ties, empty tensors, k = 0), the native sort/topk paths against the reference on
 * tied data, and errors for bad input that name the op, the shapes or dtypes and what was
 * expected.
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';

const backends: k.BackendName[] = k.isNativeAvailable() ? ['native', 'reference'] : ['reference'];
const int = (v: number[]) => k.tensor(v, { dtype: 'int32' });

for (const backend of backends) {
  describe(`semantics (${backend})`, () => {
    const on = (fn: () => void) => () => k.withBackend(backend, fn);

    it('round goes half to even; floor, ceil and round keep int32', on(() => {
      expect(k.round(k.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 2.6])).toArray()).toEqual([0, 2, 2, -0, -2, 3]);
      const i = int([3, -4]);
      expect(k.floor(i).dtype).toBe('int32');
      expect(k.round(i).toArray()).toEqual([3, -4]);
    }));

    it('sort puts NaN last ascending and first descending, ties in index order both ways', on(() => {
      const x = k.tensor([2, NaN, 1, 2, -0, 0, 1]);
      const up = k.sort(x);
      expect(up.indices.toArray()).toEqual([4, 5, 2, 6, 0, 3, 1]);
      expect(Number.isNaN(up.values.data[6])).toBe(true);
      expect(k.sort(x, 0, true).indices.toArray()).toEqual([1, 0, 3, 2, 6, 4, 5]);
      expect(k.topk(x, 2).indices.toArray()).toEqual([1, 0]);
    }));

    it('handles empty tensors and k = 0', on(() => {
      expect(k.sort(k.zeros([0, 5]), 1).values.shape).toEqual([0, 5]);
      expect(k.topk(k.zeros([0, 5]), 2).indices.shape).toEqual([0, 2]);
      const none = k.topk(k.randn([3, 4]), 0);
      expect(none.values.shape).toEqual([3, 0]);
      expect(none.indices.dtype).toBe('int32');
      expect(k.cumprod(k.zeros([2, 0]), 1).shape).toEqual([2, 0]);
      expect(k.maskedSelect(k.randn([2, 2]), k.zeros([2, 2]).gt(1)).shape).toEqual([0]);
      expect(k.nonzero(k.zeros([2, 3])).shape).toEqual([0, 2]);
      expect(k.flip(k.zeros([0, 3]), 1).shape).toEqual([0, 3]);
    }));

    it('median of a 0-d tensor, sort of a 0-d tensor', on(() => {
      expect(k.median(k.tensor(4)).item()).toBe(4);
      const s = k.sort(k.tensor(2.5));
      expect(s.values.shape).toEqual([]);
      expect(s.indices.item()).toBe(0);
    }));

    it('tolist is toArray; Tensor methods reach the ops', on(() => {
      const x = k.tensor([[3, 1], [2, 4]]);
      expect(x.tolist()).toEqual(x.toArray());
      expect(x.cumsum(1).tolist()).toEqual([[3, 4], [2, 6]]);
      expect(x.flip(0).tolist()).toEqual([[2, 4], [3, 1]]);
      expect(x.triu().tolist()).toEqual([[3, 1], [0, 4]]);
      expect(x.topk(1, { dim: 0 }).values.tolist()).toEqual([[3, 4]]);
      expect(x.where(x.gt(2), 0).tolist()).toEqual([[3, 0], [0, 4]]);
      expect(x.repeatInterleave(2, 1).shape).toEqual([2, 4]);
      expect((x.nonzero({ asTuple: true }) as k.Tensor[]).length).toBe(2);
    }));
  });
}

describe('native sort/topk paths equal the reference on tied data (indices included)', () => {
  const x = k.randint(-20, 20, [37, 3000], { generator: new k.Generator(9) }).float();
  x.data[5] = NaN;
  x.data[3000 * 7 + 11] = NaN;
  x.data[40] = -0;
  const both = <T,>(fn: () => T): T[] => backends.map((b) => k.withBackend(b, fn));
  it('sort, both directions', () => {
    for (const descending of [false, true]) {
      const [a, b] = both(() => k.sort(x, 1, descending).indices.toArray());
      if (b !== undefined) expect(a).toEqual(b);
    }
  });
  for (const kk of [1, 5, 16, 17, 150, 188, 1500]) {
    it(`topk k=${kk} (buffered, selection and full-sort paths), largest and smallest`, () => {
      for (const largest of [true, false]) {
        const [a, b] = both(() => k.topk(x, kk, { largest }).indices.toArray());
        if (b !== undefined) expect(a).toEqual(b);
      }
    });
  }
  it('sort along dim 0 and several threads give one answer', () => {
    const threads = k.getNumThreads();
    const runs = [1, 2].map((t) => {
      k.setNumThreads(t);
      return k.sort(x, 0).indices.toArray();
    });
    k.setNumThreads(threads);
    expect(runs[0]).toEqual(runs[1]);
  });
});

describe('accuracy of the float32 trigonometric kernels', () => {
  /** Distance in float32 units in the last place between a and the float32 rounding of exact. */
  const ulps = (a: number, exact: number): number => {
    const rounded = Math.fround(exact);
    if (a === rounded) return 0;
    const spacing = Math.abs(Math.fround(rounded * (1 + 2 ** -23)) - rounded) || 2 ** -149;
    return Math.abs(a - exact) / spacing;
  };
  for (const [name, op, exact] of [
    ['sin', k.sin, Math.sin],
    ['cos', k.cos, Math.cos],
    ['tan', k.tan, Math.tan],
  ] as const) {
    it(`${name} is within 2 ulp of the double-precision result over [-1e4, 1e4] on every backend`, () => {
      const x = k.mul(k.sub(k.rand([100_000], { generator: new k.Generator(2) }), 0.5), 2e4);
      for (const backend of backends) {
        const y = k.withBackend(backend, () => op(x)).data;
        let worst = 0;
        x.data.forEach((v, i) => (worst = Math.max(worst, ulps(y[i], exact(v)))));
        expect(worst, `${name} on ${backend}: worst ${worst.toFixed(2)} ulp`).toBeLessThanOrEqual(2);
      }
    });
  }
});

describe('bad input throws an error naming the op', () => {
  const x = k.randn([3, 4]);
  const cases: [string, () => unknown, RegExp][] = [
    ['topk k too large', () => k.topk(x, 5), /topk: k=5 is out of range for dim 1 of size 4 \(shape \[3, 4\]\)/],
    ['topk negative k', () => k.topk(x, -1), /topk: k=-1/],
    ['kthvalue k = 0', () => k.kthvalue(x, 0), /kthvalue: k=0 .*1 ≤ k ≤ 4/],
    ['sort of bool', () => k.sort(x.gt(0)), /sort: not defined for bool tensors of shape \[3, 4\]/],
    ['sort bad dim', () => k.sort(x, 2), /sort: dim 2 is out of range for a tensor of rank 2/],
    ['median of empty', () => k.median(k.zeros([0])), /median: the tensor is empty/],
    ['mode of empty dim', () => k.mode(k.zeros([2, 0])), /mode: dim 1 of shape \[2, 0\] is empty/],
    ['cumsum bad dim', () => k.cumsum(x, -3), /cumsum: dim -3 is out of range/],
    ['triu of 1-D', () => k.triu(k.randn([4])), /triu: expects a tensor of at least 2 dims, got shape \[4\]/],
    ['maskedSelect float mask', () => k.maskedSelect(x, x), /maskedSelect: mask must be a bool tensor, got float32 \[3, 4\]/],
    ['maskedSelect shapes', () => k.maskedSelect(x, k.zeros([5]).gt(0)), /maskedSelect/],
    ['maskedFill 1-D value', () => k.maskedFill(x, x.gt(0), k.zeros([2])), /maskedFill: value must be a number or a 0-d tensor, got shape \[2\]/],
    ['maskedFill float mask', () => k.maskedFill(x, x, 1), /maskedFill: mask must be a bool tensor, got float32/],
    ['where float cond', () => k.where(x, 1, 0), /where: cond must be a bool tensor/],
    ['repeat too few sizes', () => k.repeat(x, [2]), /repeat: sizes \[2\] must have at least as many entries as x has dims \(shape \[3, 4\]\)/],
    ['repeat negative', () => k.repeat(x, [2, -1]), /repeat: sizes must be integers ≥ 0/],
    ['repeatInterleave float repeats', () => k.repeatInterleave(x, k.ones([3]), 0), /repeatInterleave: repeats must be an int32 tensor, got float32/],
    ['repeatInterleave wrong count', () => k.repeatInterleave(x, int([1, 2]), 0), /repeatInterleave: repeats of shape \[2\] must have 1 or 3 elements/],
    ['repeatInterleave negative', () => k.repeatInterleave(x, -1), /repeatInterleave: repeats must be integers ≥ 0/],
    ['roll shifts vs dims', () => k.roll(x, [1, 2], 0), /roll: 2 shifts for 1 dims/],
    ['roll fractional shift', () => k.roll(x, 0.5), /roll: shifts must be integers/],
    ['flip repeated dim', () => k.flip(x, [1, -1]), /flip: dims \[1,-1\] repeat a dim/],
    ['fmod int32 by zero', () => k.fmod(int([3, 4]), int([1, 0])), /fmod: integer division by zero \(divisor of shape \[2\] holds a 0\)/],
    ['remainder int32 by zero', () => k.remainder(int([3, 4]), 0), /remainder: integer division by zero/],
    ['atan2 of two numbers', () => k.atan2(1, 2), /atan2: at least one operand must be a Tensor/],
    ['sin of bool', () => k.sin(x.gt(0)), /sin: not defined for bool tensors/],
  ];
  for (const [name, fn, message] of cases) it(name, () => expect(fn).toThrow(message));
});
