/**
 * dtypes: PyTorch's type promotion (exhaustively, against a PyTorch 1.13 fixture), bit-exact
 * float16/bfloat16 rounding, casts between every pair of dtypes, exact int64 arithmetic,
 * creation and printing, int64 class targets and indices, and the errors, on both backends.
 * The fixture comes from tests/fixtures/torch/gen_dtypes.py.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { BinaryOp, ReduceOp } from '../lib/backend/backend.js';
import { referenceBackend } from '../lib/backend/reference/index.js';
import { F, type DType, type Tensor } from '../lib/index.js';

type Outcome = { dtype: DType } | { error: string };
type JsonValue = number | string;
interface Fixture {
  promote_types: Record<DType, Record<DType, DType>>;
  binary_ops: Record<string, Record<'add' | 'mul' | 'div' | 'eq' | 'matmul', Outcome>>;
  scalar_ops: Record<DType, Record<'int' | 'float' | 'mul_int', Outcome>>;
  rounding: {
    float32_bits: number[];
    float16_bits: number[];
    bfloat16_bits: number[];
    float64_values: number[];
    float64_to_float16_bits: number[];
    float64_to_bfloat16_bits: number[];
  };
  casts: Record<DType, { values: JsonValue[]; to: Record<DType, JsonValue[]> }>;
  int64: Record<string, string | string[] | number | number[]>;
  half_arithmetic: Record<'float16' | 'bfloat16', Record<string, number[] | null>>;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/dtypes.json', import.meta.url), 'utf8')) as Fixture;
const backends: k.BackendName[] = k.isNativeAvailable() ? ['native', 'reference'] : ['reference'];
const INTEGER_DTYPES = new Set<DType>(['uint8', 'int8', 'int16', 'int32', 'int64']);

/** A JSON value of the fixture as a number (NaN and infinities are spelled out). */
const num = (v: JsonValue): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v));

/** A small tensor of `dtype` from fixture values (int64 as exact decimal strings). */
function fromFixture(values: JsonValue[], dtype: DType): Tensor {
  if (dtype === 'int64') return k.tensor(values.map((v) => BigInt(v)), { dtype });
  return k.tensor(values.map(num), { dtype });
}

/** The elements of t as fixture values: decimal strings for int64, numbers otherwise. */
function asFixture(t: Tensor): JsonValue[] {
  if (t.dtype === 'int64') return Array.from(t.data as BigInt64Array, String);
  return (t.toArray() as number[]).map((v) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v));
}

/** The raw 16-bit patterns of a float16/bfloat16 tensor. */
const bitsOf = (t: Tensor): number[] => Array.from(t.data as Uint16Array);

/** A float16/bfloat16 tensor holding exactly these bit patterns. */
const fromBits = (bits: number[], dtype: 'float16' | 'bfloat16'): Tensor => k.tensor(Uint16Array.from(bits), { dtype });

/** A 3-element tensor of each dtype (the fixture's samples). */
const sample = (dtype: DType): Tensor => fromFixture(fixture.casts[dtype].values.slice(0, 3), dtype);

function outcomeOf(fn: () => Tensor): Outcome {
  try {
    return { dtype: fn().dtype };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('type promotion (PyTorch 1.13 fixture)', () => {
  it('promoteTypes matches torch.promote_types for every pair of dtypes', () => {
    for (const a of k.DTYPES) for (const b of k.DTYPES) expect(`${a}+${b}: ${k.promoteTypes(a, b)}`).toBe(`${a}+${b}: ${fixture.promote_types[a][b]}`);
  });

  /**
   * Where kiln knowingly differs from PyTorch: arithmetic on two bools gives kiln's default
   * integer (int32) where PyTorch keeps bool; float16 matmul computes (in float32) where
   * PyTorch 1.13's CPU raises "not implemented for 'Half'".
   */
  const deviation = (a: DType, b: DType, op: string): Outcome | undefined => {
    if ((op === 'add' || op === 'mul') && a === 'bool' && b === 'bool') return { dtype: 'int32' };
    if (op === 'matmul' && a === b && a === 'float16') return { dtype: 'float16' };
    return undefined;
  };

  for (const backend of backends) {
    it(`add, mul, div, eq and matmul give PyTorch's result dtype or raise where it raises, every pair (${backend})`, () => {
      k.withBackend(backend, () => {
        for (const a of k.DTYPES) {
          for (const b of k.DTYPES) {
            const [x, y] = [sample(a), sample(b)];
            const ops = {
              add: () => k.add(x, y),
              mul: () => k.mul(x, y),
              div: () => k.div(x, y),
              eq: () => k.eq(x, y),
              matmul: () => k.matmul(x.reshape([1, 3]), y.reshape([3, 1])),
            };
            for (const [op, fn] of Object.entries(ops)) {
              const torch = fixture.binary_ops[`${a},${b}`][op as keyof typeof ops];
              const expected = deviation(a, b, op) ?? torch;
              const got = outcomeOf(fn);
              const what = `${op}(${a}, ${b})`;
              if ('dtype' in expected) expect(got, what).toEqual(expected);
              else expect('error' in got ? `${what} raises` : `${what} gives ${got.dtype}`).toBe(`${what} raises`);
            }
          }
        }
      });
    });
  }

  it('mixed-dtype matmul raises with both dtypes named, as PyTorch raises', () => {
    const x = k.ones([2, 3]);
    expect(() => k.matmul(x, k.ones([3, 2], { dtype: 'int64' }))).toThrow(/matmul: both operands must have the same dtype, got float32 and int64/);
    expect(() => k.matmul(k.ones([2, 2], { dtype: 'bool' }), k.ones([2, 2], { dtype: 'bool' }))).toThrow(/matmul: not defined for bool/);
  });

  it('a number operand keeps the tensor dtype within its category (PyTorch), bool + int gives int32 (kiln default integer)', () => {
    for (const dtype of k.DTYPES) {
      const x = sample(dtype);
      const torch = fixture.scalar_ops[dtype];
      const kilnInt = dtype === 'bool' ? { dtype: 'int32' } : torch.int; // PyTorch: int64
      expect(outcomeOf(() => k.add(x, 2)), `${dtype} + 2`).toEqual(kilnInt);
      expect(outcomeOf(() => k.add(x, 2.5)), `${dtype} + 2.5`).toEqual(torch.float);
      expect(outcomeOf(() => k.mul(x, 3)), `${dtype} * 3`).toEqual(dtype === 'bool' ? { dtype: 'int32' } : torch.mul_int);
    }
  });
});

describe('float16 and bfloat16 rounding (bit-exact)', () => {
  const { rounding } = fixture;
  const f32 = new Float32Array(new Uint32Array(rounding.float32_bits).buffer);

  it('float32 → float16 and → bfloat16 match PyTorch for ties, NaN, Inf, subnormals, overflow and random patterns', () => {
    expect(f32.length).toBeGreaterThan(400);
    const half = Array.from(f32, (v) => k.float32ToFloat16Bits(v));
    const bf = Array.from(f32, (v) => k.float32ToBFloat16Bits(v));
    const mismatch = (got: number[], want: number[]): string[] =>
      got.flatMap((g, i) => (g === want[i] ? [] : [`0x${rounding.float32_bits[i].toString(16)} → 0x${g.toString(16)}, PyTorch 0x${want[i].toString(16)}`]));
    expect(mismatch(half, rounding.float16_bits)).toEqual([]);
    expect(mismatch(bf, rounding.bfloat16_bits)).toEqual([]);
  });

  it('tensor casts round the same way (float32 and float64 sources)', () => {
    const x = k.tensor(f32);
    expect(bitsOf(x.half())).toEqual(rounding.float16_bits);
    expect(bitsOf(x.bfloat16())).toEqual(rounding.bfloat16_bits);
    const d = k.tensor(rounding.float64_values, { dtype: 'float64' });
    expect(bitsOf(d.to('float16'))).toEqual(rounding.float64_to_float16_bits);
    expect(bitsOf(d.to('bfloat16'))).toEqual(rounding.float64_to_bfloat16_bits);
  });

  it('every float16 and bfloat16 pattern decodes exactly and encodes back to itself (NaN to PyTorch\'s NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = k.float16BitsToFloat32(h);
      const isNan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      expect(Math.fround(v)).toBe(v);
      const back = k.float32ToFloat16Bits(v);
      if (back !== (isNan ? (h & 0x8000) | 0x7e00 : h)) expect.fail(`float16 0x${h.toString(16)} → ${v} → 0x${back.toString(16)}`);
      const b = k.bfloat16BitsToFloat32(h);
      const bNan = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      const bBack = k.float32ToBFloat16Bits(b);
      if (bBack !== (bNan ? 0xffff : h)) expect.fail(`bfloat16 0x${h.toString(16)} → ${b} → 0x${bBack.toString(16)}`);
    }
  });

  it('known values: 65504 is float16 max, 65520 rounds to Inf, 2^-24 is the smallest subnormal, 2^-25 ties to 0', () => {
    expect(k.float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(k.float32ToFloat16Bits(65520)).toBe(0x7c00);
    expect(k.float32ToFloat16Bits(-65520)).toBe(0xfc00);
    expect(k.float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(k.float32ToFloat16Bits(2 ** -25)).toBe(0x0000);
    expect(k.float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp ties to even
    expect(k.float32ToFloat16Bits(NaN)).toBe(0x7e00);
    expect(k.float32ToBFloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie to even
    expect(k.float32ToBFloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(k.float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(Object.is(k.float16BitsToFloat32(0x8000), -0)).toBe(true);
  });
});

describe('casts between every pair of dtypes (PyTorch 1.13 fixture)', () => {
  for (const backend of backends) {
    it(`x.to(dtype) gives PyTorch's values (${backend})`, () => {
      k.withBackend(backend, () => {
        for (const from of k.DTYPES) {
          const x = fromFixture(fixture.casts[from].values, from);
          expect(asFixture(x), `${from} sample`).toEqual(fixture.casts[from].values.map((v) => (from === 'int64' ? v : num(v))));
          for (const to of k.DTYPES) {
            const want = fixture.casts[from].to[to].map((v) => (to === 'int64' ? v : num(v)));
            expect(asFixture(x.to(to)), `${from} → ${to}`).toEqual(want.map((v) => (typeof v === 'number' && Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v)));
          }
        }
      });
    });
  }

  it('NaN, ±Infinity and floats beyond ±2^63 become −2^63 in int64 (x86, so PyTorch CPU)', () => {
    const x = k.tensor([NaN, Infinity, -Infinity, 1e19, -3.9]).to('float64').long();
    expect(Array.from(x.data as BigInt64Array)).toEqual([-(2n ** 63n), -(2n ** 63n), -(2n ** 63n), -(2n ** 63n), -3n]);
  });
});

describe('int64: exact arithmetic (PyTorch 1.13 fixture)', () => {
  const f = fixture.int64;
  const big = (v: unknown): bigint[] => (v as string[]).map((s) => BigInt(s));
  const strings = (t: Tensor): string[] => Array.from(t.data as BigInt64Array, String);
  for (const backend of backends) {
    it(`add, sub, mul wrap like C++ int64; neg, abs, maximum, minimum, comparisons, sum, max, argmin are exact (${backend})`, () => {
      k.withBackend(backend, () => {
        const a = k.tensor(big(f.a), { dtype: 'int64' });
        const b = k.tensor(big(f.b), { dtype: 'int64' });
        expect(strings(k.add(a, b))).toEqual(f.add);
        expect(strings(k.sub(a, b))).toEqual(f.sub);
        expect(strings(k.mul(a, b))).toEqual(f.mul);
        expect(strings(k.neg(a))).toEqual(f.neg);
        expect(strings(k.abs(a))).toEqual(f.abs);
        expect(strings(k.maximum(a, b))).toEqual(f.maximum);
        expect(strings(k.minimum(a, b))).toEqual(f.minimum);
        expect(k.gt(a, b).toArray()).toEqual(f.gt);
        expect(k.sum(a).dtype).toBe('int64');
        expect(String(k.sum(a).itemBigInt())).toBe(f.sum);
        expect(String(k.amax(a).itemBigInt())).toBe(f.max);
        expect(k.argmin(a).item()).toBe(f.argmin);
        const m = k.tensor(big(f.matrix), { dtype: 'int64' }).reshape([2, 2]);
        expect(strings(k.sum(m, 0))).toEqual(f.matrix_sum0);
        expect(strings(k.amax(m, 1))).toEqual(f.matrix_amax1);
        expect(strings(m.transpose(0, 1).reshape([-1]))).toEqual([f.matrix[0], f.matrix[2], f.matrix[1], f.matrix[3]]);
      });
    });
  }

  for (const backend of backends) {
    it(`broadcasting, reductions over inner axes and index ops work on int64 storage (${backend})`, () => {
      k.withBackend(backend, () => {
        const col = k.tensor([[2n ** 60n], [-1n]]);
        const row = k.tensor([1n, 2n, 3n]);
        const s = k.add(col, row);
        expect(s.shape).toEqual([2, 3]);
        expect(Array.from(s.data as BigInt64Array)).toEqual([2n ** 60n + 1n, 2n ** 60n + 2n, 2n ** 60n + 3n, 0n, 1n, 2n]);
        const cube = k.arange(0, 24, 1, { dtype: 'int64' }).reshape([2, 3, 4]);
        expect(k.sum(cube, 1).toArray()).toEqual([[12, 15, 18, 21], [48, 51, 54, 57]]);
        expect(k.max(cube, 2).values.toArray()).toEqual([[3, 7, 11], [15, 19, 23]]);
        expect(k.indexSelect(cube, 1, k.tensor([2, 0], { dtype: 'int32' })).dtype).toBe('int64');
        expect(k.scatterAdd(k.zeros([3], { dtype: 'int64' }), 0, k.tensor([0n, 0n, 2n]), k.tensor([5n, 6n, 7n])).toArray()).toEqual([11, 0, 7]);
        expect(k.cat([row, row]).dtype).toBe('int64');
      });
    });
  }

  it('the reference kernels refuse float16/bfloat16 bits rather than compute on them', () => {
    const bits = Uint16Array.of(0x3c00, 0x4000);
    const ref = referenceBackend;
    expect(() => ref.binary(BinaryOp.add, bits, bits, new Uint16Array(2), null)).toThrow(/float16\/bfloat16 storage must be converted to float32 first/);
    expect(() => ref.reduce(ReduceOp.sum, bits, new Uint16Array(1), 1, 2, 1)).toThrow(/float16\/bfloat16 storage/);
  });

  it('an integer tensor to a non-negative integer power stays integer and exact; a negative power throws', () => {
    const x = k.tensor([3n, -2n, 2n]);
    expect(k.pow(x, 3).dtype).toBe('int64');
    expect(k.pow(x, 3).toArray()).toEqual([27, -8, 8]);
    expect(k.pow(x, 0).toArray()).toEqual([1, 1, 1]);
    expect(Array.from(k.pow(k.tensor([3n]), 39).data as BigInt64Array)).toEqual([3n ** 39n]); // beyond 2^53, exact
    expect(k.pow(k.tensor([2, 3], { dtype: 'int32' }), 2).toArray()).toEqual([4, 9]);
    expect(k.pow(x, 0.5).dtype).toBe('float32');
    expect(() => k.pow(x, -1)).toThrow(/pow: integers to negative integer powers are not allowed \(int64 tensor \*\* -1\)/);
  });

  it('clamp keeps an integer dtype with integer bounds (indices stay indices), gives float32 with fractional ones', () => {
    const idx = k.tensor([-3n, 1n, 2n ** 40n]);
    expect(k.clamp(idx, 0, 4).dtype).toBe('int64');
    expect(k.clamp(idx, 0, 4).toArray()).toEqual([0, 1, 4]);
    expect(k.clamp(idx, undefined, 2).toArray()).toEqual([-3, 1, 2]);
    expect(k.clamp(k.tensor([5, -5], { dtype: 'int32' }), 0).toArray()).toEqual([5, 0]);
    expect(k.clamp(idx, 0.5).dtype).toBe('float32');
  });

  it('int64 + number stays int64, / gives float32, matmul computes exactly below 2^53', () => {
    const a = k.tensor([1n, 2n, 3n]);
    expect(a.dtype).toBe('int64');
    expect(k.add(a, 2).dtype).toBe('int64');
    expect(k.div(a, 2).toArray()).toEqual([0.5, 1, 1.5]);
    const m = k.tensor([[1n, 2n], [3n, 4n]]);
    const p = k.matmul(m, m);
    expect(p.dtype).toBe('int64');
    expect(p.toArray()).toEqual([[7, 10], [15, 22]]);
  });
});

describe('float16 and bfloat16 arithmetic: computed in float32, rounded back (PyTorch 1.13 fixture)', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    for (const backend of backends) {
      it(`${dtype} add, mul, div, sum${dtype === 'bfloat16' ? ', exp' : ''} give PyTorch's bits (${backend})`, () => {
        k.withBackend(backend, () => {
          const f = fixture.half_arithmetic[dtype];
          const a = fromBits(f.a_bits!, dtype);
          const b = fromBits(f.b_bits!, dtype);
          expect(k.add(a, b).dtype).toBe(dtype);
          expect(bitsOf(k.add(a, b))).toEqual(f.add_bits);
          expect(bitsOf(k.mul(a, b))).toEqual(f.mul_bits);
          expect(bitsOf(k.div(a, b))).toEqual(f.div_bits);
          expect(bitsOf(k.sum(a).reshape([1]))).toEqual(f.sum_bits);
          if (f.exp_bits !== null) expect(bitsOf(k.exp(a))).toEqual(f.exp_bits);
        });
      });
    }
  }

  it('reductions, comparisons and matmul keep the dtype', () => {
    const x = k.tensor([[1, -2], [3, 0.5]], { dtype: 'bfloat16' });
    expect(k.mean(x).dtype).toBe('bfloat16');
    expect(k.mean(x).item()).toBe(0.625);
    expect(k.amax(x, 1).toArray()).toEqual([1, 3]);
    expect(k.max(x, 1).indices.toArray()).toEqual([0, 0]);
    expect(k.gt(x, 0).toArray()).toEqual([[1, 0], [1, 1]]);
    expect(k.matmul(x, x).dtype).toBe('bfloat16');
    expect(k.matmul(x, x).toArray()).toEqual([[-5, -3], [4.5, -5.75]]);
    expect(k.relu(x.half()).dtype).toBe('float16');
    expect(k.add(x.half(), x).dtype).toBe('float32'); // float16 with bfloat16
  });
});

describe('creation, conversion and printing', () => {
  it('creates int64 with tensor(), arange, zeros, ones, full, randint, and long()', () => {
    expect(k.tensor([1, 2], { dtype: 'int64' }).data).toBeInstanceOf(BigInt64Array);
    expect(k.tensor([2n ** 62n, -1n]).itemBigInt).toBeDefined();
    expect(k.arange(0, 5, 1, { dtype: 'int64' }).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(k.zeros([2], { dtype: 'int64' }).toArray()).toEqual([0, 0]);
    expect(k.ones([2], { dtype: 'int64' }).toArray()).toEqual([1, 1]);
    expect(k.full([2], -7, { dtype: 'int64' }).toArray()).toEqual([-7, -7]);
    const r = k.randint(0, 10, [50], { dtype: 'int64', generator: new k.Generator(3) });
    expect(r.dtype).toBe('int64');
    expect(r.toArray()).toEqual(k.randint(0, 10, [50], { generator: new k.Generator(3) }).toArray());
    expect(k.tensor([1.9, -1.9]).long().toArray()).toEqual([1, -1]);
    expect(k.tensor([300, -1]).byte().toArray()).toEqual([44, 255]);
    expect(k.tensor([1.5]).half().dtype).toBe('float16');
    expect(k.tensor([1.5]).to('bfloat16').toArray()).toEqual([1.5]);
    expect(() => k.tensor([1n], { dtype: 'float32' })).toThrow(/bigint elements need dtype int64/);
    expect(Array.from(k.tensor(BigInt64Array.of(2n ** 63n - 1n)).data as BigInt64Array)).toEqual([2n ** 63n - 1n]);
    expect(Array.from(k.tensor(Uint16Array.of(0x7c01, 0xffc1), { dtype: 'float16' }).data)).toEqual([0x7c01, 0xffc1]); // kept bit for bit
    expect(() => k.tensor(Uint16Array.of(1))).toThrow(/Uint16Array holds float16 or bfloat16 bits/);
  });

  it('item() is exact up to 2^53; beyond it item() throws and itemBigInt() is exact', () => {
    expect(k.tensor([2 ** 53], { dtype: 'int64' }).item()).toBe(2 ** 53);
    const huge = k.tensor([2n ** 62n + 1n]);
    expect(() => huge.item()).toThrow(/beyond ±2\^53.*itemBigInt/);
    expect(() => huge.toArray()).toThrow(/int64 element 0 is 4611686018427387905/);
    expect(huge.itemBigInt()).toBe(2n ** 62n + 1n);
    expect(k.tensor([-3], { dtype: 'int8' }).itemBigInt()).toBe(-3n);
    expect(() => k.tensor([1.5]).itemBigInt()).toThrow(/needs an integer or bool tensor, got float32/);
    expect(k.tensor([0.1], { dtype: 'float16' }).item()).toBe(0.0999755859375);
  });

  it('prints like PyTorch: int64 and bool without a dtype, other dtypes named, int64 exact', () => {
    expect(k.tensor([1n, 2n]).toString()).toBe('tensor([1, 2])');
    expect(k.tensor([2n ** 62n + 1n]).toString()).toBe('tensor([4611686018427387905])');
    expect(k.tensor([1, -2], { dtype: 'int32' }).toString()).toBe('tensor([ 1, -2], dtype=int32)');
    expect(k.tensor([true, false]).toString()).toBe('tensor([ true, false])');
    expect(k.tensor([1, 2.5], { dtype: 'float16' }).toString()).toBe('tensor([1.0000, 2.5000], dtype=float16)');
    expect(k.tensor([200], { dtype: 'uint8' }).toString()).toBe('tensor([200], dtype=uint8)');
  });

  it('float16/bfloat16 carry no gradients: requiresGrad and casting a tensor that requires grad throw', () => {
    expect(() => k.tensor([1], { dtype: 'float16' }).requiresGrad_()).toThrow(/storage dtype without gradients/);
    const w = k.tensor([1], { requiresGrad: true });
    expect(() => w.half()).toThrow(/float16 tensors do not carry gradients in kiln; detach\(\)/);
    expect(k.noGrad(() => w.half()).dtype).toBe('float16');
  });
});

describe('int64 class targets and indices', () => {
  const logits = k.tensor([[1, 2, 0.5], [0.1, -1, 3], [2, 2, 2], [0, 1, 0]]);
  const labels = [2, 0, 1, 1];

  for (const backend of backends) {
    it(`crossEntropy, nllLoss, multiMarginLoss, indexSelect, gather and embedding give the same results for int64 as for int32 (${backend})`, () => {
      k.withBackend(backend, () => {
        const t32 = k.tensor(labels, { dtype: 'int32' });
        const t64 = k.tensor(labels, { dtype: 'int64' });
        expect(F.crossEntropy(logits, t64).item()).toBe(F.crossEntropy(logits, t32).item());
        expect(F.nllLoss(k.logSoftmax(logits, 1), t64).item()).toBe(F.nllLoss(k.logSoftmax(logits, 1), t32).item());
        expect(F.multiMarginLoss(logits, t64).item()).toBe(F.multiMarginLoss(logits, t32).item());
        expect(k.indexSelect(logits, 0, t64).toArray()).toEqual(k.indexSelect(logits, 0, t32).toArray());
        expect(k.gather(logits, 1, t64.reshape([4, 1])).toArray()).toEqual(k.gather(logits, 1, t32.reshape([4, 1])).toArray());
        const emb = new k.nn.Embedding(3, 2);
        expect(emb.forward(t64).toArray()).toEqual(emb.forward(t32).toArray());
        const x = logits.clone().requiresGrad_();
        F.crossEntropy(x, t64).backward();
        expect(x.grad!.shape).toEqual([4, 3]);
      });
    });
  }

  it('float targets are rejected by name, dtype and shape; probabilities (input-shaped floats) still work', () => {
    expect(() => F.crossEntropy(logits, k.tensor([2, 0, 1, 1]))).toThrow('crossEntropy: class-index targets must be int32 or int64, got float32 [4]');
    expect(() => F.nllLoss(logits, k.tensor([2, 0, 1, 1]))).toThrow('nllLoss: class-index targets must be int32 or int64, got float32 [4]');
    expect(() => k.indexSelect(logits, 0, k.tensor([1, 0]))).toThrow('indexSelect: index must be int32 or int64, got float32 [2]');
    expect(() => k.gather(logits, 1, k.tensor([[1], [0], [0], [0]], { dtype: 'uint8' }))).toThrow('gather: index must be int32 or int64, got uint8 [4, 1]');
    expect(() => F.embedding(k.tensor([0.5]), k.ones([3, 2]))).toThrow('embedding: indices must be int32 or int64, got float32 [1]');
    const probabilities = k.softmax(k.ones([4, 3]), 1);
    expect(Number.isFinite(F.crossEntropy(logits, probabilities).item())).toBe(true);
  });

  it('int64 indices beyond int32 are a RangeError naming the op and the value', () => {
    expect(() => k.indexSelect(logits, 0, k.tensor([2n ** 40n]))).toThrow(/indexSelect: index 1099511627776 at position 0 is out of range/);
    expect(() => F.crossEntropy(logits, k.tensor([0n, 1n, 5n, 0n]))).toThrow(/target 5 at position 2 is out of range for 3 classes/);
  });
});
