/**
 * Hand-computed cases for every kernel of the reference backend, on every dtype path the
 * contract allows, plus edge cases: empty, length 1, broadcasting, zero/negative strides,
 * NaN, ties, transposed and batch-broadcast matmul, bad indices.
 */
import { describe, it, expect } from 'vitest';
import { BinaryOp, CompareOp, ReduceOp, UnaryOp, type BroadcastPlan } from '../lib/backend/backend.js';
import { referenceBackend as B } from '../lib/backend/reference/index.js';
import { forEachRow } from '../lib/backend/reference/odometer.js';

const i32 = (...v: number[]) => Int32Array.from(v);
const f32 = (...v: number[]) => Float32Array.from(v);
const f64 = (...v: number[]) => Float64Array.from(v);
const u8 = (...v: number[]) => Uint8Array.from(v);
const arr = (x: ArrayLike<number>) => Array.from(x);

/** Plan broadcasting a (2, 1) against b (1, 3) into out (2, 3). */
const plan2x1by1x3: BroadcastPlan = { shape: i32(2, 3), aStrides: i32(1, 0), bStrides: i32(0, 1) };

function closeTo(actual: ArrayLike<number>, expected: number[], digits = 6): void {
  expect(actual.length).toBe(expected.length);
  for (let t = 0; t < expected.length; t++) {
    if (Number.isNaN(expected[t])) expect(actual[t]).toBeNaN();
    else expect(actual[t]).toBeCloseTo(expected[t], digits);
  }
}

describe('odometer', () => {
  it('visits rows with per-operand bases, including a 0-d and an empty shape', () => {
    const seen: number[][] = [];
    forEachRow(i32(2, 2, 3), [i32(6, 3, 1), i32(1, 0, -2)], [0, 10], (start, bases) => {
      seen.push([start, bases[0], bases[1]]);
    });
    expect(seen).toEqual([
      [0, 0, 10],
      [3, 3, 10],
      [6, 6, 11],
      [9, 9, 11],
    ]);
    let calls = 0;
    forEachRow(i32(), [i32()], [5], (start, bases) => {
      calls++;
      expect([start, bases[0]]).toEqual([0, 5]);
    });
    expect(calls).toBe(1);
    forEachRow(i32(3, 0), [i32(0, 1)], [0], () => calls++);
    expect(calls).toBe(1);
  });
});

describe('unary', () => {
  it('computes every float op (float64)', () => {
    const x = f64(-2, 0, 1.5);
    const out = new Float64Array(3);
    const cases: [number, number[]][] = [
      [UnaryOp.neg, [2, -0, -1.5]],
      [UnaryOp.abs, [2, 0, 1.5]],
      [UnaryOp.exp, [Math.exp(-2), 1, Math.exp(1.5)]],
      [UnaryOp.sigmoid, [1 / (1 + Math.exp(2)), 0.5, 1 / (1 + Math.exp(-1.5))]],
      [UnaryOp.tanh, [Math.tanh(-2), 0, Math.tanh(1.5)]],
      [UnaryOp.relu, [0, 0, 1.5]],
      [UnaryOp.sign, [-1, 0, 1]],
      [UnaryOp.reciprocal, [-0.5, Infinity, 1 / 1.5]],
      [UnaryOp.square, [4, 0, 2.25]],
    ];
    for (const [op, want] of cases) {
      B.unary(op as never, x, out);
      closeTo(out, want, 14);
    }
    B.unary(UnaryOp.log, f64(1, Math.E, 0), out);
    expect(arr(out)).toEqual([0, 1, -Infinity]);
    B.unary(UnaryOp.sqrt, f64(4, 2.25, -1), out);
    closeTo(out, [2, 1.5, NaN]);
  });

  it('rounds into float32 and propagates NaN', () => {
    const out = new Float32Array(2);
    B.unary(UnaryOp.exp, f32(1, NaN), out);
    expect(out[0]).toBe(Math.fround(Math.E));
    expect(out[1]).toBeNaN();
    for (const op of [UnaryOp.relu, UnaryOp.sign, UnaryOp.sigmoid, UnaryOp.abs]) {
      B.unary(op, f32(NaN, NaN), out);
      expect(out[0]).toBeNaN();
    }
  });

  it('sigmoid saturates without overflow', () => {
    const out = new Float64Array(2);
    B.unary(UnaryOp.sigmoid, f64(-1000, 1000), out);
    expect(arr(out)).toEqual([0, 1]);
  });

  it('supports neg, abs, sign, square on int32 with wrapping', () => {
    const x = i32(-3, 0, 5, -2147483648, 65536);
    const out = new Int32Array(5);
    B.unary(UnaryOp.neg, x, out);
    expect(arr(out)).toEqual([3, 0, -5, -2147483648, -65536]);
    B.unary(UnaryOp.abs, x, out);
    expect(arr(out)).toEqual([3, 0, 5, -2147483648, 65536]);
    B.unary(UnaryOp.sign, x, out);
    expect(arr(out)).toEqual([-1, 0, 1, -1, 1]);
    B.unary(UnaryOp.square, x, out);
    expect(arr(out)).toEqual([9, 0, 25, 0, 0]); // 2^32 wraps to 0
    expect(() => B.unary(UnaryOp.exp, x, out)).toThrow(TypeError);
  });

  it('handles empty arrays and rejects mismatched lengths', () => {
    B.unary(UnaryOp.exp, f32(), new Float32Array(0));
    expect(() => B.unary(UnaryOp.exp, f32(1, 2), new Float32Array(3))).toThrow(RangeError);
  });
});

describe('binary', () => {
  it('computes every op elementwise (float64, no plan)', () => {
    const a = f64(1, -2, 3);
    const b = f64(4, 5, -6);
    const out = new Float64Array(3);
    const cases: [number, number[]][] = [
      [BinaryOp.add, [5, 3, -3]],
      [BinaryOp.sub, [-3, -7, 9]],
      [BinaryOp.mul, [4, -10, -18]],
      [BinaryOp.div, [0.25, -0.4, -0.5]],
      [BinaryOp.pow, [1, -32, 1 / 729]],
      [BinaryOp.maximum, [4, 5, 3]],
      [BinaryOp.minimum, [1, -2, -6]],
    ];
    for (const [op, want] of cases) {
      B.binary(op as never, a, b, out, null);
      closeTo(out, want, 14);
    }
  });

  it('broadcasts a length-1 operand with no plan, on either side', () => {
    const out = new Float32Array(3);
    B.binary(BinaryOp.sub, f32(10), f32(1, 2, 3), out, null);
    expect(arr(out)).toEqual([9, 8, 7]);
    B.binary(BinaryOp.div, f32(2, 4, 6), f32(2), out, null);
    expect(arr(out)).toEqual([1, 2, 3]);
    const one = new Float32Array(1);
    B.binary(BinaryOp.add, f32(2), f32(3), one, null);
    expect(one[0]).toBe(5);
    B.binary(BinaryOp.add, f32(2), f32(), new Float32Array(0), null);
    expect(() => B.binary(BinaryOp.add, f32(1, 2), f32(1, 2, 3), out, null)).toThrow(RangeError);
  });

  it('broadcasts (2, 1) against (1, 3) through a plan', () => {
    const out = new Float64Array(6);
    B.binary(BinaryOp.add, f64(10, 20), f64(1, 2, 3), out, plan2x1by1x3);
    expect(arr(out)).toEqual([11, 12, 13, 21, 22, 23]);
    const outI = new Int32Array(6);
    B.binary(BinaryOp.mul, i32(10, 20), i32(1, 2, 3), outI, plan2x1by1x3);
    expect(arr(outI)).toEqual([10, 20, 30, 20, 40, 60]);
  });

  it('walks a 3-d plan and an empty plan', () => {
    // a (2, 2, 2) transposed view [[0,2],[1,3]] per block: strides (4, 1, 2); b a scalar.
    const plan: BroadcastPlan = { shape: i32(2, 2, 2), aStrides: i32(4, 1, 2), bStrides: i32(0, 0, 0) };
    const out = new Float32Array(8);
    B.binary(BinaryOp.add, f32(0, 1, 2, 3, 4, 5, 6, 7), f32(100), out, plan);
    expect(arr(out)).toEqual([100, 102, 101, 103, 104, 106, 105, 107]);
    const empty: BroadcastPlan = { shape: i32(0, 3), aStrides: i32(1, 0), bStrides: i32(0, 1) };
    B.binary(BinaryOp.add, f32(), f32(1, 2, 3), new Float32Array(0), empty);
    expect(() => B.binary(BinaryOp.add, f32(1), f32(1, 2, 3), out.subarray(0, 6), plan2x1by1x3)).toThrow(RangeError);
  });

  it('maximum and minimum propagate NaN from either side', () => {
    const out = new Float64Array(3);
    B.binary(BinaryOp.maximum, f64(NaN, 1, NaN), f64(1, NaN, NaN), out, null);
    expect(arr(out).every(Number.isNaN)).toBe(true);
    B.binary(BinaryOp.minimum, f64(NaN, 1, 2), f64(1, NaN, 3), out, null);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBeNaN();
    expect(out[2]).toBe(2);
  });

  it('int32 add, sub, mul, maximum, minimum wrap like C++; div and pow are rejected', () => {
    const out = new Int32Array(3);
    B.binary(BinaryOp.add, i32(2147483647, -5, 7), i32(1, 3, -7), out, null);
    expect(arr(out)).toEqual([-2147483648, -2, 0]);
    B.binary(BinaryOp.sub, i32(-2147483648, 5, 0), i32(1, 3, 0), out, null);
    expect(arr(out)).toEqual([2147483647, 2, 0]);
    B.binary(BinaryOp.mul, i32(65536, 123456789, -3), i32(65536, 987654321, 4), out, null);
    expect(arr(out)).toEqual([0, Math.imul(123456789, 987654321), -12]);
    B.binary(BinaryOp.maximum, i32(1, 5, -3), i32(2, 4, -3), out, null);
    expect(arr(out)).toEqual([2, 5, -3]);
    B.binary(BinaryOp.minimum, i32(1, 5, -3), i32(2, 4, -4), out, null);
    expect(arr(out)).toEqual([1, 4, -4]);
    expect(() => B.binary(BinaryOp.div, i32(1), i32(1), new Int32Array(1), null)).toThrow(TypeError);
    expect(() => B.binary(BinaryOp.pow, i32(1), i32(1), new Int32Array(1), null)).toThrow(TypeError);
  });
});

describe('compare', () => {
  it('computes every op, with NaN unequal to everything', () => {
    const a = f32(1, 2, 3, NaN);
    const b = f32(2, 2, 2, NaN);
    const out = new Uint8Array(4);
    const cases: [number, number[]][] = [
      [CompareOp.eq, [0, 1, 0, 0]],
      [CompareOp.ne, [1, 0, 1, 1]],
      [CompareOp.lt, [1, 0, 0, 0]],
      [CompareOp.le, [1, 1, 0, 0]],
      [CompareOp.gt, [0, 0, 1, 0]],
      [CompareOp.ge, [0, 1, 1, 0]],
    ];
    for (const [op, want] of cases) {
      B.compare(op as never, a, b, out, null);
      expect(arr(out)).toEqual(want);
    }
  });

  it('broadcasts (2, 1) against (1, 3) on int32 and float64, and a scalar without a plan', () => {
    const out = new Uint8Array(6);
    B.compare(CompareOp.lt, i32(1, 3), i32(0, 2, 4), out, plan2x1by1x3);
    expect(arr(out)).toEqual([0, 1, 1, 0, 0, 1]);
    B.compare(CompareOp.ge, f64(1, 3), f64(0, 2, 4), out, plan2x1by1x3);
    expect(arr(out)).toEqual([1, 0, 0, 1, 1, 0]);
    const out3 = new Uint8Array(3);
    B.compare(CompareOp.eq, f64(1, 2, 3), f64(2), out3, null);
    expect(arr(out3)).toEqual([0, 1, 0]);
  });
});

describe('where', () => {
  it('selects per element on every dtype, any nonzero byte being true', () => {
    const cond = u8(1, 0, 2);
    const outF = new Float32Array(3);
    B.where(cond, f32(1, 2, 3), f32(-1, -2, -3), outF);
    expect(arr(outF)).toEqual([1, -2, 3]);
    const outD = new Float64Array(3);
    B.where(cond, f64(1, 2, 3), f64(NaN, -2, -3), outD);
    expect(arr(outD)).toEqual([1, -2, 3]);
    const outI = new Int32Array(3);
    B.where(cond, i32(1, 2, 3), i32(-1, -2, -3), outI);
    expect(arr(outI)).toEqual([1, -2, 3]);
    const outB = new Uint8Array(3);
    B.where(cond, u8(1, 1, 0), u8(0, 0, 1), outB);
    expect(arr(outB)).toEqual([1, 0, 0]);
    B.where(u8(), f32(), f32(), new Float32Array(0));
    expect(() => B.where(u8(1), f32(1, 2), f32(1, 2), new Float32Array(2))).toThrow(RangeError);
  });
});

describe('clamp', () => {
  it('clamps, keeps NaN, allows infinite bounds, and gives hi when lo > hi', () => {
    const out = new Float64Array(4);
    B.clamp(f64(-5, 0.5, 5, NaN), 0, 1, out);
    expect(arr(out)).toEqual([0, 0.5, 1, NaN]);
    B.clamp(f64(-5, 0.5, 5, -Infinity), -Infinity, 1, out);
    expect(arr(out)).toEqual([-5, 0.5, 1, -Infinity]);
    B.clamp(f64(-5, 0.5, 5, 2), 3, 1, out);
    expect(arr(out)).toEqual([1, 1, 1, 1]);
    const out32 = new Float32Array(2);
    B.clamp(f32(0.1, 7), 0.2, Infinity, out32);
    expect(arr(out32)).toEqual([Math.fround(0.2), 7]);
  });
});

describe('reduce', () => {
  // x (2, 3, 2) = 0..11: x[o, j, i] = 6o + 2j + i.
  const x = f64(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);

  it('sums, maxes and mins along the middle axis', () => {
    const out = new Float64Array(4);
    B.reduce(ReduceOp.sum, x, out, 2, 3, 2);
    expect(arr(out)).toEqual([6, 9, 24, 27]);
    B.reduce(ReduceOp.max, x, out, 2, 3, 2);
    expect(arr(out)).toEqual([4, 5, 10, 11]);
    B.reduce(ReduceOp.min, x, out, 2, 3, 2);
    expect(arr(out)).toEqual([0, 1, 6, 7]);
  });

  it('reduces the first and last axes (outer = 1, inner = 1)', () => {
    const first = new Float32Array(2);
    B.reduce(ReduceOp.sum, f32(1, 2, 3, 4), first, 1, 2, 2);
    expect(arr(first)).toEqual([4, 6]);
    const last = new Float32Array(2);
    B.reduce(ReduceOp.max, f32(1, 2, 4, 3), last, 2, 2, 1);
    expect(arr(last)).toEqual([2, 4]);
  });

  it('gives 0 / -Infinity / +Infinity over an empty axis', () => {
    const out = new Float64Array(2);
    B.reduce(ReduceOp.sum, f64(), out, 1, 0, 2);
    expect(arr(out)).toEqual([0, 0]);
    B.reduce(ReduceOp.max, f64(), out, 2, 0, 1);
    expect(arr(out)).toEqual([-Infinity, -Infinity]);
    B.reduce(ReduceOp.min, f64(), out, 2, 0, 1);
    expect(arr(out)).toEqual([Infinity, Infinity]);
  });

  it('propagates NaN in max and min (and sum)', () => {
    const out = new Float32Array(2);
    B.reduce(ReduceOp.max, f32(1, NaN, 3, 2, 5, 4), out, 2, 3, 1);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBe(5);
    B.reduce(ReduceOp.min, f32(3, 1, NaN, 2, 5, 4), out, 2, 3, 1);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBe(2);
    B.reduce(ReduceOp.sum, f32(1, NaN), out.subarray(0, 1), 1, 2, 1);
    expect(out[0]).toBeNaN();
  });

  it('sums int32 with wrapping, and maxes int32', () => {
    const out = new Int32Array(1);
    B.reduce(ReduceOp.sum, i32(2147483647, 1, 5), out, 1, 3, 1);
    expect(out[0]).toBe(-2147483648 + 5);
    B.reduce(ReduceOp.max, i32(-7, -3, -9), out, 1, 3, 1);
    expect(out[0]).toBe(-3);
  });

  it('sums float32 in double before rounding once', () => {
    const out = new Float32Array(1);
    B.reduce(ReduceOp.sum, f32(1, 1e-8, 1e-8, 1e-8, 1e-8, 1e-8, 1e-8, 1e-8, 1e-8, 1e-8, 1e-8), out, 1, 11, 1);
    expect(out[0]).toBe(Math.fround(1 + 1e-7));
  });
});

describe('argReduce', () => {
  it('finds values and first indices on ties (middle axis)', () => {
    // x (1, 3, 2): columns [3, 5, 5] and [2, 2, 1].
    const x = f64(3, 2, 5, 2, 5, 1);
    const values = new Float64Array(2);
    const indices = new Int32Array(2);
    B.argReduce(ReduceOp.max, x, values, indices, 1, 3, 2);
    expect(arr(values)).toEqual([5, 2]);
    expect(arr(indices)).toEqual([1, 0]);
    B.argReduce(ReduceOp.min, x, values, indices, 1, 3, 2);
    expect(arr(values)).toEqual([3, 1]);
    expect(arr(indices)).toEqual([0, 2]);
  });

  it('lets the first NaN win', () => {
    const values = new Float32Array(2);
    const indices = new Int32Array(2);
    B.argReduce(ReduceOp.max, f32(1, NaN, 9, NaN, 4, 4, 1, 0), values, indices, 2, 4, 1);
    expect(values[0]).toBeNaN();
    expect(indices[0]).toBe(1);
    expect(values[1]).toBe(4);
    expect(indices[1]).toBe(0);
    B.argReduce(ReduceOp.min, f32(NaN, -1, NaN, 0, 2, 2, 3, 5), values, indices, 2, 4, 1);
    expect(values[0]).toBeNaN();
    expect(indices[0]).toBe(0);
    expect(values[1]).toBe(2);
    expect(indices[1]).toBe(0);
  });

  it('works on int32 and length-1 axes, and rejects an empty axis', () => {
    const values = new Int32Array(2);
    const indices = new Int32Array(2);
    B.argReduce(ReduceOp.min, i32(4, -1, -1, 7), values, indices, 2, 2, 1);
    expect(arr(values)).toEqual([-1, -1]);
    expect(arr(indices)).toEqual([1, 0]);
    B.argReduce(ReduceOp.max, i32(8, 9), values, indices, 2, 1, 1);
    expect(arr(values)).toEqual([8, 9]);
    expect(arr(indices)).toEqual([0, 0]);
    expect(() => B.argReduce(ReduceOp.max, i32(), values, indices, 2, 0, 1)).toThrow(RangeError);
  });
});

describe('softmax', () => {
  it('normalises along the last axis, stably for large inputs', () => {
    const out = new Float64Array(6);
    B.softmax(f64(0, Math.log(3), 1000, 1000 + Math.log(3), 5, 5), out.subarray(0, 6), 3, 2, 1, false);
    closeTo(out, [0.25, 0.75, 0.25, 0.75, 0.5, 0.5], 12);
  });

  it('normalises along a middle axis (inner = 2) and computes log-softmax', () => {
    // x (1, 2, 2): columns [0, ln 3] and [1, 1].
    const x = f64(0, 1, Math.log(3), 1);
    const out = new Float64Array(4);
    B.softmax(x, out, 1, 2, 2, false);
    closeTo(out, [0.25, 0.5, 0.75, 0.5], 12);
    B.softmax(x, out, 1, 2, 2, true);
    closeTo(out, [Math.log(0.25), Math.log(0.5), Math.log(0.75), Math.log(0.5)], 12);
    const big = new Float32Array(2);
    B.softmax(f32(-1000, 0), big, 1, 2, 1, true);
    closeTo(big, [-1000, 0], 3);
  });

  it('makes a line with a NaN all NaN, handles n = 1 and empty input', () => {
    const out = new Float32Array(3);
    B.softmax(f32(1, NaN, 2), out, 1, 3, 1, false);
    expect(arr(out).every(Number.isNaN)).toBe(true);
    const one = new Float32Array(1);
    B.softmax(f32(-7), one, 1, 1, 1, false);
    expect(one[0]).toBe(1);
    B.softmax(f32(), new Float32Array(0), 2, 0, 3, true);
  });

  it('backward matches the formulas', () => {
    // y = softmax([0, ln 3]) = [0.25, 0.75], gy = [1, 0]: Σ gy·y = 0.25 → gx = [0.1875, -0.1875].
    const gx = new Float64Array(2);
    B.softmaxBackward(f64(0.25, 0.75), f64(1, 0), gx, 1, 2, 1, false);
    closeTo(gx, [0.1875, -0.1875], 14);
    // log: y = log [0.25, 0.75], gy = [1, 2]: Σ gy = 3 → gx = [1 − 0.75, 2 − 2.25].
    B.softmaxBackward(f64(Math.log(0.25), Math.log(0.75)), f64(1, 2), gx, 1, 2, 1, true);
    closeTo(gx, [0.25, -0.25], 14);
    // inner = 2: the same two lines interleaved.
    const gx2 = new Float32Array(4);
    B.softmaxBackward(f32(0.25, 0.5, 0.75, 0.5), f32(1, 1, 0, 1), gx2, 1, 2, 2, false);
    closeTo(gx2, [0.1875, 0, -0.1875, 0], 6);
  });

  it('backward agrees with central differences of forward (float64)', () => {
    const x = f64(0.3, -1.2, 2.0, 0.7, 0.1, -0.4);
    const gy = f64(0.5, -1, 2, 0.25, 1.5, -0.75);
    for (const log of [false, true]) {
      const y = new Float64Array(6);
      B.softmax(x, y, 2, 3, 1, log);
      const gx = new Float64Array(6);
      B.softmaxBackward(y, gy, gx, 2, 3, 1, log);
      const h = 1e-6;
      for (let t = 0; t < 6; t++) {
        const xp = x.slice();
        const xm = x.slice();
        xp[t] += h;
        xm[t] -= h;
        const yp = new Float64Array(6);
        const ym = new Float64Array(6);
        B.softmax(xp, yp, 2, 3, 1, log);
        B.softmax(xm, ym, 2, 3, 1, log);
        let d = 0;
        for (let s = 0; s < 6; s++) d += (gy[s] * (yp[s] - ym[s])) / (2 * h);
        expect(gx[t]).toBeCloseTo(d, 7);
      }
    }
  });
});

describe('matmul', () => {
  // A (2, 3), B (3, 2), A·B = [[58, 64], [139, 154]].
  const A = [1, 2, 3, 4, 5, 6];
  const Bm = [7, 8, 9, 10, 11, 12];
  const AT = [1, 4, 2, 5, 3, 6]; // A stored (3, 2)
  const BT = [7, 9, 11, 8, 10, 12]; // B stored (2, 3)
  const AB = [58, 64, 139, 154];

  it('multiplies in every transpose combination (float32 and float64)', () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [A, Bm, false, false],
      [AT, Bm, true, false],
      [A, BT, false, true],
      [AT, BT, true, true],
    ];
    for (const [a, b, tA, tB] of cases) {
      const out = new Float64Array(4);
      B.matmul(f64(...a), f64(...b), out, 1, 2, 3, 2, 0, 0, tA, tB);
      expect(arr(out)).toEqual(AB);
      const out32 = new Float32Array(4);
      B.matmul(f32(...a), f32(...b), out32, 1, 2, 3, 2, 6, 6, tA, tB);
      expect(arr(out32)).toEqual(AB);
    }
  });

  it('batches, broadcasting a matrix with batch stride 0', () => {
    const out = new Float64Array(8);
    // a: two (2, 3) matrices, the second is 2·A; b shared.
    B.matmul(f64(...A, ...A.map((v) => 2 * v)), f64(...Bm), out, 2, 2, 3, 2, 6, 0, false, false);
    expect(arr(out)).toEqual([...AB, ...AB.map((v) => 2 * v)]);
    // a shared, b batched (transposed storage).
    B.matmul(f64(...A), f64(...BT, ...BT.map((v) => -v)), out, 2, 2, 3, 2, 0, 6, false, true);
    expect(arr(out)).toEqual([...AB, ...AB.map((v) => -v)]);
  });

  it('gives zeros for k = 0 and handles m = 1, n = 1 and an empty batch', () => {
    const out = f32(9, 9, 9, 9);
    B.matmul(f32(), f32(), out, 1, 2, 0, 2, 0, 0, false, false);
    expect(arr(out)).toEqual([0, 0, 0, 0]);
    const dot = new Float64Array(1);
    B.matmul(f64(1, 2, 3), f64(4, 5, 6), dot, 1, 1, 3, 1, 3, 3, false, false);
    expect(dot[0]).toBe(32);
    B.matmul(f64(), f64(), new Float64Array(0), 0, 2, 3, 2, 6, 6, false, false);
    expect(() => B.matmul(f64(1, 2), f64(...Bm), new Float64Array(4), 1, 2, 3, 2, 0, 0, false, false)).toThrow(RangeError);
  });

  it('propagates NaN', () => {
    const out = new Float32Array(4);
    B.matmul(f32(NaN, 0, 0, 1, 0, 0), f32(...Bm), out, 1, 2, 3, 2, 0, 0, false, false);
    expect(out[0]).toBeNaN();
    expect(out[1]).toBeNaN();
    expect(arr(out.subarray(2))).toEqual([7, 8]);
  });
});

describe('stridedCopy', () => {
  const src = f64(0, 1, 2, 3, 4, 5); // (2, 3)

  it('copies a permuted view (transpose)', () => {
    const dst = new Float64Array(6);
    B.stridedCopy(src, 0, i32(3, 2), i32(1, 3), dst);
    expect(arr(dst)).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('expands with zero strides and slices with an offset', () => {
    const dst = new Float64Array(6);
    B.stridedCopy(src, 3, i32(2, 3), i32(0, 1), dst); // row 1 repeated
    expect(arr(dst)).toEqual([3, 4, 5, 3, 4, 5]);
    const col = new Float64Array(2);
    B.stridedCopy(src, 2, i32(2), i32(3), col); // column 2
    expect(arr(col)).toEqual([2, 5]);
  });

  it('flips with negative strides', () => {
    const dst = new Float64Array(6);
    B.stridedCopy(src, 5, i32(2, 3), i32(-3, -1), dst);
    expect(arr(dst)).toEqual([5, 4, 3, 2, 1, 0]);
    B.stridedCopy(src, 3, i32(2, 3), i32(-3, 1), dst);
    expect(arr(dst)).toEqual([3, 4, 5, 0, 1, 2]);
  });

  it('works for 0-d, empty, int32 and bool, and rejects a view out of bounds', () => {
    const one = new Float64Array(1);
    B.stridedCopy(src, 4, i32(), i32(), one);
    expect(one[0]).toBe(4);
    B.stridedCopy(src, 0, i32(0, 3), i32(3, 1), new Float64Array(0));
    const di = new Int32Array(4);
    B.stridedCopy(i32(1, 2, 3, 4), 0, i32(2, 2), i32(1, 2), di);
    expect(arr(di)).toEqual([1, 3, 2, 4]);
    const db = new Uint8Array(3);
    B.stridedCopy(u8(0, 1), 1, i32(3), i32(0), db);
    expect(arr(db)).toEqual([1, 1, 1]);
    expect(() => B.stridedCopy(src, 0, i32(3, 3), i32(3, 1), new Float64Array(9))).toThrow(RangeError);
    expect(() => B.stridedCopy(src, 0, i32(2), i32(-1), new Float64Array(2))).toThrow(RangeError);
  });
});

describe('stridedScatter', () => {
  it('writes into a transposed view, leaving the rest of dst alone', () => {
    const dst = f64(-1, -1, -1, -1, -1, -1, 99);
    B.stridedScatter(f64(0, 3, 1, 4, 2, 5), dst, 0, i32(3, 2), i32(1, 3), false);
    expect(arr(dst)).toEqual([0, 1, 2, 3, 4, 5, 99]);
  });

  it('accumulates where zero strides overlap (gradient of expand)', () => {
    const dst = f32(10, 20, 30);
    // src (2, 3) summed over the broadcast dim into dst (3).
    B.stridedScatter(f32(1, 2, 3, 4, 5, 6), dst, 0, i32(2, 3), i32(0, 1), true);
    expect(arr(dst)).toEqual([15, 27, 39]);
    const sum = f64(0);
    B.stridedScatter(f64(1, 2, 3, 4), sum, 0, i32(2, 2), i32(0, 0), true);
    expect(sum[0]).toBe(10);
  });

  it('last write wins with zero strides and no accumulate; negative strides flip', () => {
    const dst = new Int32Array(1);
    B.stridedScatter(i32(1, 2, 3), dst, 0, i32(3), i32(0), false);
    expect(dst[0]).toBe(3);
    const flip = new Int32Array(4);
    B.stridedScatter(i32(1, 2, 3), flip, 3, i32(3), i32(-1), false);
    expect(arr(flip)).toEqual([0, 3, 2, 1]);
    const acc = i32(1, 1, 1);
    B.stridedScatter(i32(5, 6), acc, 2, i32(2), i32(-2), true);
    expect(arr(acc)).toEqual([7, 1, 6]);
  });

  it('handles bool and empty input, and rejects a view out of bounds', () => {
    const dst = new Uint8Array(4);
    B.stridedScatter(u8(1, 1), dst, 1, i32(2), i32(2), false);
    expect(arr(dst)).toEqual([0, 1, 0, 1]);
    B.stridedScatter(u8(), dst, 0, i32(0), i32(1), false);
    expect(() => B.stridedScatter(u8(1, 1), dst, 3, i32(2), i32(1), false)).toThrow(RangeError);
  });
});

describe('indexSelect and indexAdd', () => {
  // x (2, 3, 2) = 0..11.
  const x = f64(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);

  it('selects along the middle axis with repeats', () => {
    const out = new Float64Array(8);
    B.indexSelect(x, i32(2, 0), out, 2, 3, 2);
    expect(arr(out)).toEqual([4, 5, 0, 1, 10, 11, 6, 7]);
    const rows = new Int32Array(3);
    B.indexSelect(i32(5, 6, 7), i32(1, 1, 2), rows, 1, 3, 1);
    expect(arr(rows)).toEqual([6, 6, 7]);
    const bools = new Uint8Array(2);
    B.indexSelect(u8(1, 0, 1), i32(1, 2), bools, 1, 3, 1);
    expect(arr(bools)).toEqual([0, 1]);
    const f = new Float32Array(0);
    B.indexSelect(f32(1, 2), i32(), f, 1, 2, 1);
  });

  it('indexAdd accumulates repeated indices', () => {
    const dst = f32(1, 1, 1, 1, 1, 1); // (1, 3, 2)
    B.indexAdd(f32(1, 2, 3, 4, 5, 6), i32(2, 0, 2), dst, 1, 3, 2);
    expect(arr(dst)).toEqual([4, 5, 1, 1, 7, 9]);
    // int32: src (2, 2, 1) folded onto dst (2, 1, 1) by idx [0, 0].
    const di = i32(100, 200);
    B.indexAdd(i32(1, 2, 3, 4), i32(0, 0), di, 2, 1, 1);
    expect(arr(di)).toEqual([103, 207]);
  });

  it('throws a RangeError naming the index and n, before writing anything', () => {
    const out = new Float64Array(8);
    expect(() => B.indexSelect(x, i32(0, 3), out, 2, 3, 2)).toThrow(/index 3 .* size 3/);
    expect(() => B.indexSelect(x, i32(-1, 0), out, 2, 3, 2)).toThrow(RangeError);
    expect(arr(out)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const dst = f64(0, 0, 0);
    expect(() => B.indexAdd(f64(1, 2), i32(0, 5), dst, 1, 3, 1)).toThrow(/index 5 .* size 3/);
    expect(arr(dst)).toEqual([0, 0, 0]);
  });
});

describe('gather and scatterAdd', () => {
  it('gathers along the middle axis per element', () => {
    // x (1, 3, 2) = [[0,1],[2,3],[4,5]], idx (1, 2, 2).
    const out = new Float64Array(4);
    B.gather(f64(0, 1, 2, 3, 4, 5), i32(2, 0, 1, 1), out, 1, 3, 2, 2);
    expect(arr(out)).toEqual([4, 1, 2, 3]);
  });

  it('gathers along the last axis (the NLL pattern) on int32 and bool', () => {
    // x (2, 3), pick one per row.
    const out = new Int32Array(2);
    B.gather(i32(10, 11, 12, 20, 21, 22), i32(2, 0), out, 2, 3, 1, 1);
    expect(arr(out)).toEqual([12, 20]);
    const outB = new Uint8Array(2);
    B.gather(u8(0, 1, 1, 0), i32(1, 1), outB, 2, 2, 1, 1);
    expect(arr(outB)).toEqual([1, 0]);
  });

  it('scatterAdd accumulates collisions (float32, float64, int32)', () => {
    const dst = f32(0, 0, 0, 0, 0, 0); // (1, 3, 2)
    B.scatterAdd(f32(1, 2, 3, 4), i32(2, 0, 2, 0), dst, 1, 3, 2, 2);
    expect(arr(dst)).toEqual([0, 6, 0, 0, 4, 0]);
    const d64 = f64(1, 1, 1, 1, 1, 1); // (2, 3)
    B.scatterAdd(f64(5, 7), i32(1, 2), d64, 2, 3, 1, 1);
    expect(arr(d64)).toEqual([1, 6, 1, 1, 1, 8]);
    const di = new Int32Array(2);
    B.scatterAdd(i32(3, 4, 5), i32(1, 1, 0), di, 1, 2, 3, 1);
    expect(arr(di)).toEqual([5, 7]);
  });

  it('throws a RangeError naming the index and n, before writing anything', () => {
    expect(() => B.gather(f64(1, 2), i32(2), new Float64Array(1), 1, 2, 1, 1)).toThrow(/index 2 .* size 2/);
    expect(() => B.gather(f64(1, 2), i32(-3), new Float64Array(1), 1, 2, 1, 1)).toThrow(/index -3 .* size 2/);
    const dst = f64(0, 0);
    expect(() => B.scatterAdd(f64(1, 1), i32(0, 7), dst, 1, 2, 2, 1)).toThrow(RangeError);
    expect(arr(dst)).toEqual([0, 0]);
  });
});

describe('threads and identity', () => {
  it('is named reference, single-threaded, and validates setNumThreads', () => {
    expect(B.name).toBe('reference');
    B.setNumThreads(4);
    expect(B.getNumThreads()).toBe(1);
    expect(() => B.setNumThreads(0)).toThrow(RangeError);
    expect(() => B.setNumThreads(1.5)).toThrow(RangeError);
    expect(() => B.setNumThreads(NaN)).toThrow(RangeError);
  });
});
