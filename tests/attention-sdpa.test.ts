/**
 * F.scaledDotProductAttention: values and gradients against PyTorch 1.13 (tests/fixtures/torch/
 * sdpa.json, from gen_sdpa.py, which spells out PyTorch 2's definition), float64 gradchecks on
 * the reference backend (masks, causal, odd sizes, broadcast batch dims), the weights variant,
 * dropout, and bad input.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';
import { packedSelfAttention } from '../lib/ops/attention.js';

const F = k.F;

interface Arr {
  shape: number[];
  data: (number | string | null)[];
}
interface SdpaCase {
  name: string;
  q: Arr;
  k: Arr;
  v: Arr;
  isCausal: boolean;
  scale: number | null;
  mask: (Arr & { dtype: 'bool' | 'float64' }) | null;
  out: Arr;
  dout: (number | null)[];
  dq?: (number | null)[];
  dk?: (number | null)[];
  dv?: (number | null)[];
}

const fixturePath = new URL('./fixtures/torch/sdpa.json', import.meta.url);
const fixture = existsSync(fixturePath) ? (JSON.parse(readFileSync(fixturePath, 'utf8')) as { cases: SdpaCase[] }) : { cases: [] };

/** Fixture numbers: null is NaN, "Infinity" / "-Infinity" the infinities (JSON has neither). */
const nums = (xs: (number | string | null)[]): number[] => xs.map((x) => (x === null ? NaN : Number(x)));

function fromArr(a: Arr, dtype: 'float32' | 'float64', requiresGrad = false): Tensor {
  const t = k.tensor(nums(a.data), { dtype }).reshape(a.shape);
  return requiresGrad ? t.detach().requiresGrad_(true) : t;
}

function maskOf(c: SdpaCase, dtype: 'float32' | 'float64'): Tensor | null {
  if (c.mask === null) return null;
  if (c.mask.dtype === 'bool') return k.tensor(nums(c.mask.data), { dtype: 'bool' }).reshape(c.mask.shape);
  return k.tensor(nums(c.mask.data), { dtype }).reshape(c.mask.shape);
}

function f64(shape: number[], seed: number): Tensor {
  return k.randn(shape, { dtype: 'float64', generator: new k.Generator(seed), requiresGrad: true });
}

const backends: ['reference' | 'native', 'float32' | 'float64'][] = [
  ['reference', 'float64'],
  ['reference', 'float32'],
  ...(k.isNativeAvailable() ? ([['native', 'float32']] as ['native', 'float32'][]) : []),
];

describe('scaledDotProductAttention vs PyTorch 1.13', () => {
  it('has the fixture (run tests/fixtures/torch/gen_sdpa.py)', () => {
    expect(fixture.cases.length).toBeGreaterThan(10);
  });
  for (const c of fixture.cases) {
    for (const [backend, dtype] of backends) {
      it(`${c.name} (${backend}, ${dtype})`, () => {
        k.withBackend(backend, () => {
          const [atol, rtol] = dtype === 'float64' ? [1e-12, 1e-10] : [2e-5, 2e-4];
          const q = fromArr(c.q, dtype, true);
          const kk = fromArr(c.k, dtype, true);
          const v = fromArr(c.v, dtype, true);
          const out = F.scaledDotProductAttention(q, kk, v, { attnMask: maskOf(c, dtype), isCausal: c.isCausal, scale: c.scale ?? undefined });
          expect(out.shape).toEqual(c.out.shape);
          expectClose(out.data, nums(c.out.data), atol, rtol, 'out');
          if (c.dq === undefined) return;
          out.mul(k.tensor(nums(c.dout), { dtype }).reshape(c.out.shape)).sum().backward();
          expectClose(q.grad!.data, nums(c.dq), atol, rtol, 'dq');
          expectClose(kk.grad!.data, nums(c.dk!), atol, rtol, 'dk');
          expectClose(v.grad!.data, nums(c.dv!), atol, rtol, 'dv');
        });
      });
    }
  }
});

describe('scaledDotProductAttention gradcheck (float64, reference)', () => {
  const check = (name: string, shapes: [number[], number[], number[]], options: (q: Tensor) => k.ScaledDotProductAttentionOptions = () => ({})): void => {
    it(name, () => {
      k.withBackend('reference', () => {
        const inputs = shapes.map((s, i) => f64(s, 100 + i));
        const opts = options(inputs[0]);
        const result = k.gradcheck((q, kk, v) => F.scaledDotProductAttention(q, kk, v, opts), inputs, { raiseException: false });
        expect(result.ok, result.worst).toBe(true);
      });
    });
  };
  check('plain, odd sizes', [[2, 5, 3], [2, 7, 3], [2, 7, 2]]);
  check('head dim 1, one head', [[1, 1, 4, 1], [1, 1, 3, 1], [1, 1, 3, 1]]);
  check('causal, L > S', [[1, 2, 5, 3], [1, 2, 3, 3], [1, 2, 3, 2]], () => ({ isCausal: true }));
  check('causal, L < S', [[2, 3, 3], [2, 6, 3], [2, 6, 4]], () => ({ isCausal: true }));
  check('float mask (L, S) broadcast over batch', [[2, 4, 3], [2, 5, 3], [2, 5, 3]], () => ({
    attnMask: k.randn([4, 5], { dtype: 'float64', generator: new k.Generator(7) }),
  }));
  check('bool mask key padding', [[2, 2, 3, 3], [2, 2, 4, 3], [2, 2, 4, 3]], () => ({
    attnMask: k.tensor([1, 1, 1, 1, 1, 1, 0, 0], { dtype: 'bool' }).reshape([2, 1, 1, 4]),
  }));
  it('composed path: a float mask that requires grad gets its gradient', () => {
    k.withBackend('reference', () => {
      const inputs = [f64([2, 3, 4], 1), f64([2, 5, 4], 2), f64([2, 5, 3], 3), f64([3, 5], 4)];
      const result = k.gradcheck((q, kk, v, m) => F.scaledDotProductAttention(q, kk, v, { attnMask: m }), inputs, { raiseException: false });
      expect(result.ok, result.worst).toBe(true);
    });
  });
  check('batch dims broadcast (k, v shared over heads), scale 0.5', [[2, 3, 4, 3], [2, 1, 5, 3], [2, 1, 5, 3]], () => ({ scale: 0.5 }));
});

describe('scaledDotProductAttention behaviour', () => {
  it('WithWeights returns rows summing to 1 and output = weights·v', () => {
    const q = k.randn([2, 3, 4]);
    const kk = k.randn([2, 5, 4]);
    const v = k.randn([2, 5, 6]);
    const { output, weights } = F.scaledDotProductAttentionWithWeights(q, kk, v, { isCausal: true });
    expect(weights.shape).toEqual([2, 3, 5]);
    expectClose(weights.sum(-1).data, new Array(6).fill(1), 1e-6, 1e-6, 'row sums');
    expect(weights.data[3]).toBe(0); // query 0 does not see key 1
    expectClose(output.data, k.matmul(weights, v).data, 1e-6, 1e-5, 'output');
    expectClose(F.scaledDotProductAttention(q, kk, v, { isCausal: true }).data, output.data, 1e-5, 1e-4, 'same as without weights');
  });

  it('dropout zeroes weights and scales the rest by 1/(1 − p); p = 1 gives zeros', () => {
    const q = k.randn([1, 8, 4]);
    const v = k.randn([1, 8, 4]);
    const plain = F.scaledDotProductAttentionWithWeights(q, q, v).weights.data;
    const dropped = F.scaledDotProductAttentionWithWeights(q, q, v, { dropoutP: 0.5, generator: new k.Generator(3) }).weights.data;
    let zeros = 0;
    for (let i = 0; i < plain.length; i++) {
      if (dropped[i] === 0) zeros++;
      else expect(dropped[i]).toBeCloseTo(2 * plain[i], 5);
    }
    expect(zeros).toBeGreaterThan(8);
    expect(zeros).toBeLessThan(56);
    expect(Array.from(F.scaledDotProductAttention(q, q, v, { dropoutP: 1 }).data).every((x) => x === 0)).toBe(true);
  });

  describe('dropout inside the fused kernel', () => {
    // q = 0 gives uniform weights 1/S; v = identity makes the output the weights after dropout.
    const S = 64;
    const run = (seed: number, p = 0.25): Float32Array | Float64Array => {
      const q = k.zeros([2, 3, S, 4]);
      const v = k.eye(S).reshape([1, 1, S, S]);
      return F.scaledDotProductAttention(q, k.randn([2, 3, S, 4]), v, { dropoutP: p, generator: new k.Generator(seed) }).data as Float32Array;
    };
    it('drops about p of the weights and scales the rest by 1/(1 − p)', () => {
      const out = run(1);
      let dropped = 0;
      for (const x of out) {
        if (x === 0) dropped++;
        else expect(x).toBeCloseTo(1 / S / 0.75, 6);
      }
      const rate = dropped / out.length; // 24576 weights: standard error 0.003
      expect(Math.abs(rate - 0.25)).toBeLessThan(0.015);
    });
    it('gives the same mask for the same seed, another for another seed', () => {
      expect(Array.from(run(7))).toEqual(Array.from(run(7)));
      const [a, b] = [run(7), run(8)];
      let differ = 0;
      for (let i = 0; i < a.length; i++) differ += a[i] === b[i] ? 0 : 1;
      expect(differ).toBeGreaterThan(0.2 * a.length); // ≈ 2·0.25·0.75 = 37.5 %
    });
    it('p = 1 drops everything, also in the gradient', () => {
      const q = k.randn([1, 5, 4], { requiresGrad: true });
      const v = k.randn([1, 5, 3], { requiresGrad: true });
      const out = F.scaledDotProductAttention(q, q, v, { dropoutP: 1 });
      expect(Array.from(out.data).every((x) => x === 0)).toBe(true);
      out.sum().backward();
      expect(Array.from(v.grad!.data).every((x) => x === 0)).toBe(true);
      expect(Array.from(q.grad!.data).every((x) => x === 0)).toBe(true);
    });
    it('gradcheck (float64, reference) with the mask regenerated from the seed, causal and masked', () => {
      k.withBackend('reference', () => {
        const inputs = [f64([2, 2, 5, 3], 1), f64([2, 2, 6, 3], 2), f64([2, 2, 6, 4], 3)];
        const mask = k.randn([5, 6], { dtype: 'float64', generator: new k.Generator(4) });
        for (const options of [{ isCausal: true }, { attnMask: mask }]) {
          const result = k.gradcheck((q, kk, v) => F.scaledDotProductAttention(q, kk, v, { ...options, dropoutP: 0.3, generator: new k.Generator(9) }), inputs, { raiseException: false });
          expect(result.ok, result.worst).toBe(true);
        }
      });
    });
    it.skipIf(!k.isNativeAvailable())('native and reference draw the same mask (parity of output and gradients)', () => {
      const runOn = (backend: k.BackendName): Tensor[] =>
        k.withBackend(backend, () => {
          const [q, kk, v] = [[2, 70, 16], [2, 90, 16], [2, 90, 8]].map((shape, i) => k.randn(shape, { generator: new k.Generator(20 + i), requiresGrad: true }));
          const out = F.scaledDotProductAttention(q, kk, v, { dropoutP: 0.2, isCausal: true, generator: new k.Generator(5) });
          out.mul(k.randn(out.shape, { generator: new k.Generator(6) })).sum().backward();
          return [out, q.grad!, kk.grad!, v.grad!];
        });
      const [native, reference] = [runOn('native'), runOn('reference')];
      native.forEach((t, i) => expectClose(t.data, reference[i].data, 1e-5, 1e-4, ['out', 'dq', 'dk', 'dv'][i]));
    });
  });

  it('empty sizes give empty outputs', () => {
    expect(F.scaledDotProductAttention(k.randn([2, 0, 4]), k.randn([2, 3, 4]), k.randn([2, 3, 5])).shape).toEqual([2, 0, 5]);
    expect(F.scaledDotProductAttention(k.randn([0, 2, 4]), k.randn([0, 3, 4]), k.randn([0, 3, 5])).shape).toEqual([0, 2, 5]);
  });

  it('reads non-contiguous q, k, v (views)', () => {
    const x = k.randn([3, 4, 2, 5]); // (N, L, H, E) → (N, H, L, E) view
    const q = x.transpose(1, 2);
    const ref = F.scaledDotProductAttention(q.contiguous(), q.contiguous(), q.contiguous(), { isCausal: true });
    expectClose(F.scaledDotProductAttention(q, q, q, { isCausal: true }).data, ref.data, 1e-6, 1e-5, 'views');
  });
});

describe('scaledDotProductAttention bad input', () => {
  const q = k.randn([2, 3, 4]);
  const kk = k.randn([2, 5, 4]);
  const v = k.randn([2, 5, 6]);
  it('names the op and the shapes', () => {
    expect(() => F.scaledDotProductAttention(q, k.randn([2, 5, 3]), v)).toThrow(/scaledDotProductAttention: q \[2, 3, 4\], k \[2, 5, 3\]/);
    expect(() => F.scaledDotProductAttention(q, kk, k.randn([2, 4, 6]))).toThrow(/expected q \(…, L, E\), k \(…, S, E\), v \(…, S, Ev\)/);
    expect(() => F.scaledDotProductAttention(k.randn([4]), kk, v)).toThrow(/q must have at least 2 dims/);
    expect(() => F.scaledDotProductAttention(k.randn([3, 3, 4]), kk, v)).toThrow(/scaledDotProductAttention/);
  });
  it('checks dtypes, masks and options', () => {
    expect(() => F.scaledDotProductAttention(q, kk.to('float64'), v)).toThrow(/share one float dtype/);
    expect(() => F.scaledDotProductAttention(q.to('int32'), kk, v)).toThrow(/float32 or float64/);
    expect(() => F.scaledDotProductAttention(q, kk, v, { attnMask: k.zeros([3, 4]) })).toThrow(/attnMask of shape \[3, 4\] must broadcast to the scores' shape \[2, 3, 5\]/);
    expect(() => F.scaledDotProductAttention(q, kk, v, { attnMask: k.zeros([3, 5], { dtype: 'int32' }) })).toThrow(/attnMask must be bool or of q's dtype/);
    expect(() => F.scaledDotProductAttention(q, kk, v, { attnMask: k.zeros([3, 5]), isCausal: true })).toThrow(/either attnMask or isCausal/);
    expect(() => F.scaledDotProductAttention(q, kk, v, { dropoutP: 1.5 })).toThrow(/dropoutP must be in \[0, 1\]/);
    expect(() => F.scaledDotProductAttention(q, kk, v, { scale: NaN })).toThrow(/scale must be a finite number/);
    expect(() => F.scaledDotProductAttention(q, null as unknown as Tensor, v)).toThrow(TypeError);
  });
  it('packedSelfAttention names its expected packed shape', () => {
    expect(() => packedSelfAttention(k.randn([2, 3, 10]), 2)).toThrow(/packedSelfAttention: qkv of shape \[2, 3, 10\] must be \(N, L, 3·E\) with E divisible by numHeads=2/);
    expect(() => packedSelfAttention(k.randn([3, 12]), 2)).toThrow(/packedSelfAttention: qkv of shape \[3, 12\]/);
    expect(() => packedSelfAttention(k.randn([2, 3, 12]), 2, { attnMask: k.zeros([3, 4]) })).toThrow(/packedSelfAttention: attnMask of shape \[3, 4\] must broadcast to the scores' shape \[2, 2, 3, 3\]/);
    expect(() => packedSelfAttention(k.zeros([2, 3, 12], { dtype: 'int32' }), 2)).toThrow(/packedSelfAttention: qkv must be float32 or float64, got int32/);
  });
});

describe.skipIf(!k.isNativeAvailable())('scaledDotProductAttention: native fused kernel vs reference (float64)', () => {
  interface ParityCase {
    name: string;
    q: number[];
    k: number[];
    v: number[];
    options?: (dtype: 'float32' | 'float64') => k.ScaledDotProductAttentionOptions;
  }
  const floatMask = (shape: number[]) => (dtype: 'float32' | 'float64') => ({
    attnMask: k.randn(shape, { dtype, generator: new k.Generator(11) }),
  });
  const boolMask = (shape: number[], seed: number) => () => ({
    attnMask: k.gt(k.rand(shape, { generator: new k.Generator(seed) }), 0.3),
  });
  const cases: ParityCase[] = [
    { name: 'L 70 (not a multiple of the tiles), S 65, head dim 64', q: [2, 2, 70, 64], k: [2, 2, 65, 64], v: [2, 2, 65, 64] },
    { name: 'one head, head dim 1', q: [1, 1, 9, 1], k: [1, 1, 5, 1], v: [1, 1, 5, 1] },
    { name: 'head dim 80, Ev 17, S 129', q: [3, 33, 80], k: [3, 129, 80], v: [3, 129, 17] },
    { name: 'causal L == S 100', q: [1, 2, 100, 16], k: [1, 2, 100, 16], v: [1, 2, 100, 16], options: () => ({ isCausal: true }) },
    { name: 'causal L 40 < S 130', q: [2, 40, 8], k: [2, 130, 8], v: [2, 130, 8], options: () => ({ isCausal: true }) },
    { name: 'causal L 130 > S 40', q: [2, 130, 8], k: [2, 40, 8], v: [2, 40, 8], options: () => ({ isCausal: true }) },
    { name: 'float mask (L, S) over batch and heads', q: [2, 3, 20, 8], k: [2, 3, 70, 8], v: [2, 3, 70, 8], options: floatMask([20, 70]) },
    { name: 'float mask (N, H, L, S)', q: [2, 3, 20, 8], k: [2, 3, 70, 8], v: [2, 3, 70, 8], options: floatMask([2, 3, 20, 70]) },
    { name: 'bool key-padding mask (N, 1, 1, S)', q: [2, 3, 20, 8], k: [2, 3, 70, 8], v: [2, 3, 70, 8], options: boolMask([2, 1, 1, 70], 5) },
    { name: 'bool mask (H, L, S) with k, v broadcast over heads', q: [2, 3, 20, 8], k: [2, 1, 66, 8], v: [2, 1, 66, 8], options: boolMask([3, 20, 66], 6) },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const make = (shape: number[], seed: number) => k.randn(shape, { dtype: 'float64', generator: new k.Generator(seed) });
      const base = [make(c.q, 1), make(c.k, 2), make(c.v, 3)];
      const dout = make([...c.q.slice(0, -1), c.v[c.v.length - 1]], 4);
      const run = (backend: 'native' | 'reference', dtype: 'float32' | 'float64') =>
        k.withBackend(backend, () => {
          const [q, kk, v] = base.map((t) => t.to(dtype).detach().requiresGrad_(true));
          const opts = c.options?.(dtype) ?? {};
          const mask = opts.attnMask;
          const out = F.scaledDotProductAttention(q, kk, v, { ...opts, attnMask: mask && mask.dtype !== 'bool' ? mask.to(dtype) : mask });
          out.mul(dout.to(dtype)).sum().backward();
          return [out, q.grad!, kk.grad!, v.grad!].map((t) => Array.from(t.data as Float64Array | Float32Array));
        });
      const expected = run('reference', 'float64');
      const actual = run('native', 'float32');
      ['out', 'dq', 'dk', 'dv'].forEach((what, i) => expectClose(actual[i], expected[i], 1e-4, 1e-3, what));
    });
  }

  it('a fully masked row is NaN on both backends, the other rows agree', () => {
    const mask = k.tensor([1, 1, 0, 0, 0, 0, 1, 0, 1], { dtype: 'bool' }).reshape([3, 3]);
    const [q, kk, v] = [1, 2, 3].map((seed) => k.randn([1, 3, 4], { generator: new k.Generator(seed) }));
    const native = k.withBackend('native', () => F.scaledDotProductAttention(q, kk, v, { attnMask: mask }).data);
    const reference = k.withBackend('reference', () => F.scaledDotProductAttention(q, kk, v, { attnMask: mask }).data);
    expect(Array.from(native.slice(4, 8)).every(Number.isNaN)).toBe(true);
    expectClose(native, reference, 1e-6, 1e-5, 'out');
  });

  it('non-contiguous q, k, v (transposed views) give the same result as contiguous copies', () => {
    k.withBackend('native', () => {
      const x = k.randn([2, 37, 4, 16]); // (N, L, H, E) viewed as (N, H, L, E)
      const q = x.transpose(1, 2);
      const viewOut = F.scaledDotProductAttention(q, q, q, { isCausal: true });
      const copyOut = F.scaledDotProductAttention(q.contiguous(), q.contiguous(), q.contiguous(), { isCausal: true });
      expectClose(viewOut.data, copyOut.data, 0, 0, 'out');
    });
  });
});
