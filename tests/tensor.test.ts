/** Tensor creation, conversion, printing and the errors bad input gets. */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { expectClose } from './helpers.js';
import { allocate, allocateOutput } from '../lib/dtype.js';

describe('creation', () => {
  it('builds from nested arrays, numbers and typed arrays', () => {
    const t = k.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.numel).toBe(6);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(k.tensor(3.5).shape).toEqual([]);
    expect(k.tensor(3.5).item()).toBe(3.5);
    expect(k.tensor([true, false]).dtype).toBe('bool');
    const source = new Float64Array([1, 2, 3, 4]);
    const fromTyped = k.tensor(source, { shape: [2, 2] });
    expect(fromTyped.dtype).toBe('float64');
    source[0] = 9;
    expect(fromTyped.data[0]).toBe(1);
    expect(k.tensor(new Int32Array([1, 2])).dtype).toBe('int32');
    expect(k.tensor([]).shape).toEqual([0]);
  });

  it('rejects ragged arrays and bad shapes with the position and sizes', () => {
    expect(() => k.tensor([[1, 2], [3]])).toThrow(/data\[1\] has 1 entries, expected 2/);
    expect(() => k.zeros([2, -1])).toThrow(k.ShapeError);
    expect(() => k.zeros([2.5])).toThrow(/2\.5/);
    expect(() => k.tensor(new Float32Array(5), { shape: [2, 2] })).toThrow(/\[2, 2\] needs 4 elements, the array has 5/);
  });

  it('fills, ranges and identity', () => {
    expect(k.full([2], 7).toArray()).toEqual([7, 7]);
    expect(k.ones([2, 1], { dtype: 'int32' }).toArray()).toEqual([[1], [1]]);
    expect(k.arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(k.arange(0, 1, 0.25).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(k.arange(3, 0, -1).toArray()).toEqual([3, 2, 1]);
    expectClose(k.linspace(0, 1, 5).data, [0, 0.25, 0.5, 0.75, 1]);
    expect(k.eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
    expect(k.zerosLike(k.ones([2], { dtype: 'float64' })).dtype).toBe('float64');
  });

  it('random tensors are reproducible from a seed and have the right moments', () => {
    k.manualSeed(123);
    const a = k.randn([1000]);
    k.manualSeed(123);
    const b = k.randn([1000]);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    const big = k.randn([20000], { generator: new k.Generator(5) });
    expect(Math.abs(k.mean(big).item())).toBeLessThan(0.05);
    expect(Math.abs(k.std(big).item() - 1)).toBeLessThan(0.05);
    const u = k.rand([20000], { generator: new k.Generator(6) });
    expect(k.amin(u).item()).toBeGreaterThanOrEqual(0);
    expect(k.amax(u).item()).toBeLessThan(1);
    const r = k.randint(2, 5, [1000], { generator: new k.Generator(7) });
    expect(r.dtype).toBe('int32');
    expect(k.amin(r).item()).toBe(2);
    expect(k.amax(r).item()).toBe(4);
  });

  it('generator state round-trips', () => {
    const g = new k.Generator(1);
    g.normal();
    const state = g.getState();
    const first = [g.normal(), g.uniform()];
    g.setState(state);
    expect([g.normal(), g.uniform()]).toEqual(first);
  });
});

describe('printing and conversion', () => {
  it('prints like PyTorch', () => {
    expect(k.tensor([[1, 2], [3, 4]]).toString()).toBe('tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]])');
    expect(k.tensor([1, -2], { dtype: 'int32' }).toString()).toBe('tensor([ 1, -2], dtype=int32)');
    expect(k.tensor([1], { requiresGrad: true }).toString()).toBe('tensor([1.0000], requiresGrad=true)');
    expect(k.mul(k.tensor([1], { requiresGrad: true }), 2).toString()).toBe('tensor([2.0000], gradFn=<mul>)');
    expect(k.zeros([0, 2]).toString()).toBe('tensor([], size=[0, 2])');
    expect(k.arange(5000).toString()).toContain('...');
  });

  it('converts dtypes', () => {
    const x = k.tensor([1.7, -1.7, 0]);
    expect(x.int().toArray()).toEqual([1, -1, 0]);
    expect(x.to('bool').toArray()).toEqual([1, 1, 0]);
    expect(x.double().dtype).toBe('float64');
    expect(k.add(x, k.ones([3], { dtype: 'float64' })).dtype).toBe('float64');
    expect(k.add(k.ones([1], { dtype: 'int32' }), 1).dtype).toBe('int32');
    expect(k.add(k.ones([1], { dtype: 'int32' }), 0.5).dtype).toBe('float32');
    expect(k.div(k.ones([1], { dtype: 'int32' }), 2).toArray()).toEqual([0.5]);
  });

  it('item refuses more than one element', () => {
    expect(() => k.ones([2]).item()).toThrow(/2 elements/);
  });
});

describe('errors name the op and the shapes', () => {
  it('broadcasting', () => {
    expect(() => k.add(k.ones([2, 3]), k.ones([4]))).toThrow(/add: shapes \[2, 3\] and \[4\] cannot broadcast/);
    expect(() => k.add(k.ones([2, 3]), k.ones([4]))).toThrow(k.ShapeError);
  });
  it('matmul, reshape, dims, cat, indexing', () => {
    expect(() => k.matmul(k.ones([2, 3]), k.ones([4, 5]))).toThrow(/matmul: shapes \[2, 3\] and \[4, 5\]/);
    expect(() => k.reshape(k.ones([2, 3]), [4, 2])).toThrow(/\[4, 2\] has 8 elements but \[2, 3\] has 6/);
    expect(() => k.sum(k.ones([2, 3]), 2)).toThrow(/sum: dim 2 is out of range for a tensor of rank 2/);
    expect(() => k.cat([k.ones([2, 3]), k.ones([2, 4])], 0)).toThrow(/cat: shapes \[2, 3\], \[2, 4\]/);
    expect(() => k.indexSelect(k.ones([3]), 0, k.tensor([5], { dtype: 'int32' }))).toThrow(/5/);
    expect(() => k.indexSelect(k.ones([3]), 0, k.tensor([1]))).toThrow(k.DTypeError);
    expect(() => k.log(k.tensor([true]))).toThrow(k.DTypeError);
    expect(() => k.amax(k.zeros([0]))).toThrow(/empty/);
    expect(() => k.where(k.ones([2]), 1, 0)).toThrow(/bool/);
  });
  it('NaN flows through math as in PyTorch', () => {
    const x = k.tensor([Number.NaN, 1]);
    expect(Number.isNaN(k.relu(x).data[0])).toBe(true);
    expect(Number.isNaN(k.amax(x).item())).toBe(true);
    expect(k.argmax(x).item()).toBe(0);
  });
  it('oneHot', () => {
    expect(k.oneHot(k.tensor([0, 2], { dtype: 'int32' }), 3).toArray()).toEqual([[1, 0, 0], [0, 0, 1]]);
    expect(() => k.oneHot(k.tensor([3], { dtype: 'int32' }), 3)).toThrow(/label 3/);
  });
});

describe('storage', () => {
  it('allocateOutput: large float32 and int32 storage of its own, uninitialized; the rest zeroed', () => {
    const big = allocateOutput('float32', 1 << 16);
    expect(big).toBeInstanceOf(Float32Array);
    expect([big.length, big.byteOffset, big.buffer.byteLength]).toEqual([1 << 16, 0, 4 << 16]);
    const indices = allocateOutput('int32', 1 << 16);
    expect(indices).toBeInstanceOf(Int32Array);
    expect(indices.buffer).not.toBe(big.buffer);
    expect(Array.from(allocateOutput('float32', 5))).toEqual([0, 0, 0, 0, 0]);
    expect(allocateOutput('float64', 1 << 16).every((v) => v === 0)).toBe(true);
    expect(allocate('float32', 1 << 16).every((v) => v === 0)).toBe(true);
  });
});
