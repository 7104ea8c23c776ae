/**
 * Strided views: geometry and values against PyTorch 1.13 (tests/fixtures/torch/views.json,
 * from gen_views.py), storage sharing in both directions, view() errors, float64 gradchecks of
 * every view op, native-vs-reference parity of matmul and elementwise ops on non-contiguous
 * inputs, matmul over transposed views allocating only its output, and tidy() with views.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

type Op = [string, ...unknown[]];

interface ViewCase {
  name: string;
  shape: number[];
  ops: Op[];
  out: { shape: number[]; strides: number[]; offset: number; contiguous: boolean; sharesStorage: boolean; data: number[] };
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/views.json', import.meta.url), 'utf8')) as {
  cases: ViewCase[];
  viewErrors: { shape: number[]; ops: Op[]; target: number[]; raises: boolean }[];
  inplace: { x: number[]; y: number[] };
};

/** Applies one op of the fixture's little language (see gen_views.py) to x. */
function apply(x: Tensor, op: Op): Tensor {
  const [name, ...a] = op as [string, ...never[]];
  switch (name) {
    case 'transpose':
      return x.transpose(a[0], a[1]);
    case 'permute':
      return x.permute(a[0]);
    case 't':
      return x.t();
    case 'slice':
      return x.slice(a[0], a[1] ?? undefined, a[2] ?? undefined, a[3] ?? undefined);
    case 'narrow':
      return x.narrow(a[0], a[1], a[2]);
    case 'select':
      return x.select(a[0], a[1]);
    case 'expand':
      return x.expand(a[0]);
    case 'unsqueeze':
      return x.unsqueeze(a[0]);
    case 'squeeze':
      return x.squeeze(a[0]);
    case 'reshape':
      return x.reshape(a[0]);
    case 'view':
      return x.view(a[0]);
    case 'flatten':
      return x.flatten(a[0], a[1]);
    case 'unfold':
      return x.unfold(a[0], a[1], a[2]);
    case 'diagonal':
      return x.diagonal(a[0], a[1], a[2]);
    case 'as_strided':
      return x.asStrided(a[0], a[1], a[2]);
    case 'contiguous':
      return x.contiguous();
    default:
      throw new Error(`unknown op ${name}`);
  }
}

const arangeOf = (shape: number[], dtype: k.DType = 'float64'): Tensor => k.arange(0, shape.reduce((p, s) => p * s, 1), 1, { dtype }).reshape(shape);
const chain = (x: Tensor, ops: Op[]): Tensor => ops.reduce(apply, x);

describe('view geometry and values vs PyTorch 1.13', () => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      const base = arangeOf(c.shape);
      const y = chain(base, c.ops);
      expect(y.shape).toEqual(c.out.shape);
      expect(y.strides).toEqual(c.out.strides);
      expect(y.storageOffset).toBe(c.out.offset);
      expect(y.isContiguous()).toBe(c.out.contiguous);
      expect(y.isSameStorage(base)).toBe(c.out.sharesStorage);
      expect(Array.from(y.data)).toEqual(c.out.data);
    });
  }
});

describe('view() errors like PyTorch when strides forbid the shape', () => {
  for (const c of fixture.viewErrors) {
    it(`${JSON.stringify(c.ops)} of ${JSON.stringify(c.shape)} → view ${JSON.stringify(c.target)}`, () => {
      const x = chain(arangeOf(c.shape), c.ops);
      if (c.raises) {
        expect(() => x.view(c.target)).toThrow(k.ShapeError);
        expect(() => x.view(c.target)).toThrow(/view: shape \[.*\] is not compatible with input of shape \[.*\] and strides \[.*\]/);
        expect(Array.from(x.reshape(c.target).data)).toEqual(Array.from(x.data));
      } else {
        const v = x.view(c.target);
        expect(v.isSameStorage(x)).toBe(true);
        expect(Array.from(v.data)).toEqual(Array.from(x.data));
      }
    });
  }
});

describe('storage sharing', () => {
  it('writes into the base show in its views, and writes through views show in the base', () => {
    const x = k.zeros([3, 4]);
    const col = x.t().select(0, 2); // x[:, 2]
    x.data[2 * 4 + 2] = 7; // x is contiguous: .data is its storage
    expect(Array.from(col.data)).toEqual([0, 0, 7]);
    col.fill_(5);
    expect(Array.from(x.select(1, 2).data)).toEqual([5, 5, 5]);
    x.slice(1, 0, 2).copy_(k.tensor([1, 2]));
    expect(x.toArray()).toEqual([
      [1, 2, 5, 0],
      [1, 2, 5, 0],
      [1, 2, 5, 0],
    ]);
  });

  it('matches PyTorch for in-place writes through select, slice, t() and diagonal', () => {
    const x = k.zeros([3, 4], { dtype: 'float64' });
    x.select(0, 1).fill_(3);
    x.slice(1, 0, 2).copy_(k.tensor([[1, 2]], { dtype: 'float64' }));
    x.t().select(0, 3).add_(k.tensor([10, 20, 30], { dtype: 'float64' }));
    x.diagonal().mul_(-1);
    expect(Array.from(x.data)).toEqual(fixture.inplace.x);
    const y = k.arange(0, 6, 1, { dtype: 'float64' }).reshape([2, 3]);
    y.t().clamp_(1, 4);
    y.relu_();
    expect(Array.from(y.data)).toEqual(fixture.inplace.y);
  });

  it('.data of a contiguous view is a zero-copy subarray; of a non-contiguous one a copy', () => {
    const x = k.arange(12).reshape([3, 4]);
    const rows = x.slice(0, 1, 3);
    expect(rows.isContiguous()).toBe(true);
    expect(rows.data.buffer).toBe(x.data.buffer);
    rows.data[1] = 100; // x[1, 1]
    expect(x.data[5]).toBe(100);
    const cols = x.slice(1, 1, 3);
    expect(cols.isContiguous()).toBe(false);
    expect(cols.data.buffer).not.toBe(x.data.buffer);
    expect(Array.from(cols.data)).toEqual([1, 2, 100, 6, 9, 10]);
  });

  it('contiguous() copies only when needed; reshape views when it can', () => {
    const x = k.randn([4, 6]);
    expect(x.contiguous()).toBe(x);
    const t = x.t();
    const c = t.contiguous();
    expect(c.isContiguous()).toBe(true);
    expect(c.isSameStorage(x)).toBe(false);
    expect(Array.from(c.data)).toEqual(Array.from(t.data));
    expect(x.reshape([2, 12]).isSameStorage(x)).toBe(true);
    expect(t.reshape([24]).isSameStorage(x)).toBe(false);
    expect(x.detach().isSameStorage(x)).toBe(true);
  });

  it('stride(dim) and empty views', () => {
    const x = k.zeros([2, 3, 4]).permute([2, 0, 1]);
    expect([x.stride(0), x.stride(-1), x.stride()]).toEqual([1, 4, [1, 12, 4]]);
    const empty = x.slice(0, 2, 2);
    expect(empty.shape).toEqual([0, 2, 3]);
    expect(empty.data.length).toBe(0);
    expect(empty.add(1).shape).toEqual([0, 2, 3]);
  });

  it('expand is a stride-0 view; chunk and split are views', () => {
    const b = k.tensor([1, 2, 3]);
    const e = b.expand([1000, 3]);
    expect(e.strides).toEqual([0, 1]);
    expect(e.isSameStorage(b)).toBe(true);
    const pieces = k.arange(10).chunk(3);
    expect(pieces.every((p) => p.isSameStorage(pieces[0]))).toBe(true);
  });

  it('bad view arguments name the op and the shapes', () => {
    const x = k.zeros([3, 4]);
    expect(() => x.unfold(1, 5, 1)).toThrow(/unfold: size 5 must be an integer in \[0, 4\]/);
    expect(() => x.unfold(1, 2, 0)).toThrow(/unfold: step must be an integer ≥ 1/);
    expect(() => x.diagonal(0, 1, 1)).toThrow(/diagonal: dim1 and dim2 must differ/);
    expect(() => x.asStrided([4, 4], [4, 1])).toThrow(/asStrided: size \[4, 4\], stride \[4, 1\], offset 0 reach element 15 of a storage of 12 elements/);
    expect(() => x.asStrided([2], [1, 1])).toThrow(/asStrided: stride \[1, 1\] must hold one integer ≥ 0 per dim of size \[2\]/);
  });
});

describe('gradcheck of view ops (float64, reference backend)', () => {
  const cases: [string, number[], (x: Tensor) => Tensor][] = [
    ['transpose', [3, 4], (x) => x.transpose(0, 1)],
    ['permute', [2, 3, 4], (x) => x.permute([2, 0, 1])],
    ['slice with step', [4, 5], (x) => x.slice(1, 1, 5, 2)],
    ['narrow of transpose', [4, 5], (x) => x.t().narrow(0, 1, 3)],
    ['select', [3, 4], (x) => x.select(1, 2)],
    ['expand', [3, 1], (x) => x.expand([2, 3, 4])],
    ['unsqueeze / squeeze of a view', [3, 4], (x) => x.t().unsqueeze(1).squeeze(1)],
    ['view of transpose', [4, 6], (x) => x.t().view([2, 3, 4])],
    ['reshape copying a transpose', [4, 6], (x) => x.t().reshape([24])],
    ['flatten of permute', [2, 3, 4], (x) => x.permute([1, 0, 2]).flatten(1)],
    ['unfold (overlapping windows)', [7], (x) => x.unfold(0, 3, 2)],
    ['unfold of transpose', [5, 4], (x) => x.t().unfold(1, 2, 1)],
    ['diagonal', [4, 5], (x) => x.diagonal(1)],
    ['diagonal batched', [2, 4, 3], (x) => x.diagonal(-1, 1, 2)],
    ['asStrided (overlapping)', [10], (x) => x.asStrided([4, 3], [2, 1], 1)],
    ['contiguous of permute', [2, 3, 4], (x) => x.permute([2, 0, 1]).contiguous()],
    ['elementwise on views', [3, 4], (x) => x.t().mul(x.t().slice(1, 0, 3).sum(1, true)).exp()],
    ['matmul of transposed views', [3, 4], (x) => x.t().matmul(x.slice(1, 0, 2))],
  ];
  for (const [name, shape, fn] of cases) {
    it(name, () =>
      k.withBackend('reference', () => {
        const x = k.randn(shape, { dtype: 'float64', generator: new k.Generator(5) }).requiresGrad_();
        const result = k.gradcheck(fn, [x], { raiseException: false });
        expect(result.ok, result.worst).toBe(true);
      }),
    );
  }
});

/** Runs fn on both backends with the same float32 inputs; compares outputs and input gradients. */
function parity(shapes: number[][], fn: (...xs: Tensor[]) => Tensor, atol = 1e-4, rtol = 1e-4): void {
  const run = (backend: k.BackendName): { out: Float32Array; grads: (Float32Array | undefined)[] } =>
    k.withBackend(backend, () => {
      const gen = new k.Generator(11);
      const xs = shapes.map((s) => k.randn(s, { generator: gen }).requiresGrad_());
      const out = fn(...xs);
      k.sum(k.mul(out, k.randn(out.shape, { generator: gen }))).backward();
      return { out: out.data as Float32Array, grads: xs.map((x) => x.grad?.data as Float32Array | undefined) };
    });
  const native = run('native');
  const reference = run('reference');
  expectClose(native.out, reference.out, atol, rtol, 'output');
  native.grads.forEach((g, i) => {
    const expected = reference.grads[i];
    if (g === undefined || expected === undefined) expect(g, `grad ${i} exists on one backend only`).toBe(expected);
    else expectClose(g, expected, atol, rtol, `grad ${i}`);
  });
}

describe('parity on non-contiguous inputs: native vs reference (float32)', () => {
  it('matmul of a transposed operand (a.transpose(-1, -2).matmul(b))', () => {
    parity([[4, 9, 7], [4, 9, 5]], (a, b) => a.transpose(-1, -2).matmul(b));
  });
  it('attention-style permuted operands', () => {
    parity([[2, 5, 3, 4], [2, 6, 3, 4]], (q, kk) => q.permute([0, 2, 1, 3]).matmul(kk.permute([0, 2, 3, 1])));
  });
  it('matmul of sliced rows and columns (leading dimension > row length)', () => {
    parity([[8, 10], [12, 9]], (a, b) => a.slice(1, 1, 7).matmul(b.slice(0, 2, 8).slice(1, 0, 9, 2)));
  });
  it('matmul with a stride-0 (expanded) batch and a transposed right operand', () => {
    parity([[5, 4], [3, 6, 4]], (a, b) => a.expand([3, 5, 4]).matmul(b.transpose(1, 2)));
  });
  it('matmul over batch dims that do not merge: an outer and an inner level in one call, a third looped', () => {
    // a's batch strides after the permute: [360, 30, 90], three runs that do not merge.
    parity([[2, 4, 3, 5, 6], [2, 3, 4, 6, 5]], (a, b) => a.permute([0, 2, 1, 3, 4]).matmul(b));
    // a broadcast over the inner batch dim (stride 0) under an outer one.
    parity([[3, 1, 5, 4], [3, 2, 4, 6]], (a, b) => a.matmul(b));
  });
  it('elementwise binary on a transposed view with broadcasting', () => {
    parity([[6, 5], [6]], (x, y) => x.t().add(y).mul(x.t()));
  });
  it('comparisons and where on strided views (offset, step, stride 0)', () => {
    parity([[6, 8], [8]], (x, y) => k.where(x.slice(1, 1, 8, 2).t().gt(y.slice(0, 2, 8).expand([4, 6])), x.slice(1, 0, 4).t(), 0));
  });
  it('unary and reductions on permuted, sliced views', () => {
    parity([[3, 4, 5]], (x) => x.permute([2, 0, 1]).slice(0, 1, 5, 2).tanh().sum(2));
  });
});

describe('matmul reads transposed and permuted operands in place', () => {
  /** Counts arrays allocated inside a tidy() scope: the pool holds exactly those once it ends. */
  function allocationsOf(fn: () => void): number {
    k.emptyStoragePool();
    k.tidy(() => {
      fn();
    });
    const { arrays } = k.storagePoolStats();
    k.emptyStoragePool();
    return arrays;
  }

  for (const backend of ['native', 'reference'] as const) {
    it(`allocates only the product (${backend})`, () =>
      k.withBackend(backend, () => {
        // Outputs of ≥ 4 KiB: smaller storage is left to the GC and never counted by tidy().
        const a = k.randn([4, 64, 32]);
        const b = k.randn([4, 64, 24]);
        const q = k.randn([2, 40, 3, 32]);
        const kk = k.randn([2, 48, 3, 32]);
        expect(allocationsOf(() => a.transpose(-1, -2).matmul(b))).toBe(1);
        expect(allocationsOf(() => q.permute([0, 2, 1, 3]).matmul(kk.permute([0, 2, 3, 1])))).toBe(1);
        expect(allocationsOf(() => a.transpose(-1, -2).contiguous().matmul(b))).toBe(2); // the check sees copies
        expect(allocationsOf(() => a.transpose(0, 1).add(a.select(1, 1)))).toBe(1); // elementwise reads views in place
        expect(allocationsOf(() => a.slice(2, 1, 31, 2).mul(b.transpose(1, 2).narrow(1, 0, 15).transpose(1, 2)))).toBe(1);
      }),
    );
  }
});

describe('tidy() with views', () => {
  it('a view of released storage throws ReleasedTensorError on read', () => {
    let view: Tensor | null = null;
    k.tidy(() => {
      const x = k.randn([64, 64]); // 16 KiB: poolable, so tidy() releases it
      view = x.t();
    });
    expect(() => (view as unknown as Tensor).data).toThrow(k.ReleasedTensorError);
    let row: Tensor | null = null;
    k.tidy(() => {
      row = k.randn([64, 64]).select(0, 1);
    });
    expect(() => (row as unknown as Tensor).data).toThrow(k.ReleasedTensorError);
  });

  it('returning or keep()ing a view keeps its base storage', () => {
    const returned = k.tidy(() => k.arange(6).reshape([2, 3]).t());
    expect(returned.toArray()).toEqual([
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    let kept: Tensor | null = null;
    k.tidy(() => {
      kept = k.keep(k.arange(6).slice(0, 2, 5));
    });
    expect(Array.from((kept as unknown as Tensor).data)).toEqual([2, 3, 4]);
  });
});
