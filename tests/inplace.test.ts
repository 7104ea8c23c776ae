/**
 * In-place ops and the version counter: values against the out-of-place ops (on contiguous
 * tensors and through views, both backends), version bumps shared by views, the autograd
 * error when a saved tensor was modified (including issue 18's `w.copy_` under noGrad), leaf
 * errors, float64 gradchecks of in-place ops inside a graph, and the optimizer's bump. In-place
 * writes through views while recording (CopySlices) are in inplace-views.test.ts.
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

const gen = (seed: number): k.Generator => new k.Generator(seed);

/** Each in-place method beside the out-of-place op it must equal. */
const PAIRS: [string, (x: Tensor, y: Tensor) => Tensor, (x: Tensor, y: Tensor) => Tensor][] = [
  ['add_', (x, y) => x.add_(y), (x, y) => x.add(y)],
  ['add_ alpha', (x, y) => x.add_(y, 0.5), (x, y) => x.add(y.mul(0.5))],
  ['sub_', (x, y) => x.sub_(y), (x, y) => x.sub(y)],
  ['mul_', (x, y) => x.mul_(y), (x, y) => x.mul(y)],
  ['div_', (x, y) => x.div_(y.abs().add(0.5)), (x, y) => x.div(y.abs().add(0.5))],
  ['clamp_', (x) => x.clamp_(-0.3, 0.4), (x) => x.clamp(-0.3, 0.4)],
  ['zero_', (x) => x.zero_(), (x) => x.mul(0)],
  ['fill_', (x) => x.fill_(2.5), (x) => x.mul(0).add(2.5)],
  ['copy_', (x, y) => x.copy_(y), (x, y) => y.expand(x.shape)],
  ['maskedFill_', (x, y) => x.maskedFill_(y.gt(0), -1), (x, y) => x.maskedFill(y.gt(0), -1)],
  ['relu_', (x) => x.relu_(), (x) => x.relu()],
  ['sigmoid_', (x) => x.sigmoid_(), (x) => x.sigmoid()],
  ['tanh_', (x) => x.tanh_(), (x) => x.tanh()],
  ['neg_', (x) => x.neg_(), (x) => x.neg()],
  ['exp_', (x) => x.exp_(), (x) => x.exp()],
];

describe('in-place ops equal their out-of-place ops', () => {
  for (const backend of ['native', 'reference'] as const) {
    for (const [name, inPlace, outOfPlace] of PAIRS) {
      it(`${name} on a contiguous tensor and through a transposed, sliced view (${backend})`, () =>
        k.withBackend(backend, () => {
          const y = k.randn([4], { generator: gen(2) }); // broadcasts over rows
          const x = k.randn([3, 4], { generator: gen(1) });
          const expected = outOfPlace(x, y).data.slice();
          const result = inPlace(x, y);
          expect(result).toBe(x);
          expectClose(x.data, expected, 1e-6, 1e-6, name);

          const base = k.randn([4, 5], { generator: gen(3) });
          const before = base.data.slice();
          const view = base.t().slice(0, 1, 4); // (3, 4): columns 1..3 of base, transposed; strides [1, 5]
          expect(view.isContiguous()).toBe(false);
          const viewExpected = outOfPlace(view, y).data.slice();
          inPlace(view, y);
          expectClose(view.data, viewExpected, 1e-6, 1e-6, `${name} through the view`);
          for (let r = 0; r < 4; r++) {
            expect(base.data[r * 5], `${name}: column 0 untouched`).toBe(before[r * 5]);
            expect(base.data[r * 5 + 4], `${name}: column 4 untouched`).toBe(before[r * 5 + 4]);
          }
        }),
      );
    }
  }

  it('indexing assignment through views modifies the base', () => {
    const x = k.zeros([3, 4]);
    x.select(0, 1).fill_(3);
    x.slice(1, 0, 2).copy_(k.tensor([[7, 8]]));
    expect(x.toArray()).toEqual([
      [7, 8, 0, 0],
      [7, 8, 3, 3],
      [7, 8, 0, 0],
    ]);
  });

  it('bad in-place calls name the op and the shapes or dtypes', () => {
    expect(() => k.zeros([3]).add_(k.ones([2, 3]))).toThrow(/add_: output with shape \[3\] doesn't match the broadcast shape \[2, 3\]/);
    expect(() => k.zeros([3], { dtype: 'int32' }).div_(2)).toThrow(/div_: result type float32 can't be cast to the desired output type int32/);
    expect(() => k.zeros([1, 3]).expand([2, 3]).fill_(1)).toThrow(/fill_: unsupported operation: more than one element of the written-to tensor .* refers to a single memory location/);
    const i = k.zeros([3], { dtype: 'int32' });
    i.copy_(k.tensor([1.7, -2.2, 3]));
    expect(Array.from(i.data)).toEqual([1, -2, 3]);
  });
});

describe('version counter', () => {
  it('every in-place write bumps the version, shared by all views of the storage', () => {
    const x = k.zeros([2, 3]);
    const v = x.t();
    const d = x.detach();
    expect(x.version).toBe(0);
    x.add_(1);
    expect([x.version, v.version, d.version]).toEqual([1, 1, 1]);
    v.select(0, 1).fill_(2);
    expect(x.version).toBe(2);
    expect(k.zeros([2]).version).toBe(0);
  });

  it('backward throws when a tensor an op saved was modified in place (issue 18: w.copy_ under noGrad)', () => {
    const x = k.randn([3], { generator: gen(4) }).requiresGrad_();
    const w = k.randn([3], { generator: gen(5) }).requiresGrad_();
    const y = k.sum(x.mul(w));
    k.noGrad(() => w.copy_(k.ones([3])));
    let error: unknown = null;
    try {
      y.backward();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(k.AutogradError);
    // PyTorch's message, with the method called in front (every error names it first, issue 18).
    expect((error as Error).message).toBe(
      'Tensor.backward: one of the variables needed for gradient computation has been modified by an inplace operation: mul saved a float32 [3] tensor at version 0, it is now at version 1',
    );
    expect(x.grad).toBeNull();
  });

  it('an op that does not read the modified tensor still backpropagates (as PyTorch)', () => {
    const x = k.randn([3], { generator: gen(4) }).requiresGrad_();
    const w = k.randn([3], { generator: gen(5) }).requiresGrad_();
    const y = k.sum(x.add(w));
    k.noGrad(() => w.copy_(k.ones([3])));
    y.backward();
    expect(Array.from(x.grad?.data ?? [])).toEqual([1, 1, 1]);
    // mul's gradient for w reads x only: modifying w does not change it.
    const z = k.sum(k.randn([3], { generator: gen(6) }).mul(w));
    k.noGrad(() => w.mul_(2));
    expect(() => z.backward()).not.toThrow();
  });

  it('an op that saved its output (exp) sees the output modified', () => {
    const x = k.randn([3], { generator: gen(7) }).requiresGrad_();
    const y = x.exp();
    y.add_(1);
    expect(() => y.sum().backward()).toThrow(/exp saved a float32 \[3\] tensor at version 0, it is now at version 1/);
  });

  it('an optimizer step bumps its parameters (a graph that saved them cannot backward)', () => {
    const w = k.randn([3], { generator: gen(8) }).requiresGrad_();
    const x = k.randn([3], { generator: gen(9) }).requiresGrad_();
    const opt = new k.optim.SGD([w], { lr: 0.1 });
    k.sum(w.square()).backward();
    const loss = k.sum(x.mul(w));
    opt.step();
    expect(w.version).toBe(1);
    expect(() => loss.backward()).toThrow(/mul saved a float32 \[3\] tensor at version 0, it is now at version 1/);
  });
});

describe('in-place ops and autograd', () => {
  it('throws on a leaf that requires grad outside noGrad, and works under noGrad', () => {
    const w = k.randn([3]).requiresGrad_();
    expect(() => w.add_(1)).toThrow(/add_: a leaf Variable that requires grad is being used in an in-place operation/);
    expect(() => w.zero_()).toThrow(k.AutogradError);
    k.noGrad(() => w.fill_(2));
    expect(Array.from(w.data)).toEqual([2, 2, 2]);
    expect(w.isLeaf && w.requiresGrad).toBe(true);
  });

  it('in-place on a non-leaf joins the graph: gradcheck (float64, reference backend)', () =>
    k.withBackend('reference', () => {
      const fns: [string, (x: Tensor, w: Tensor) => Tensor][] = [
        ['mul_ by a scalar then add_ a tensor', (x, w) => x.mul(2).mul_(3).add_(w.square())],
        ['sigmoid_, tanh_, exp_ chained', (x, w) => x.mul(w).sigmoid_().tanh_().exp_()],
        ['relu_, clamp_, neg_, sub_, div_', (x, w) => x.add(w).relu_().clamp_(0.1, 0.9).neg_().sub_(w).div_(w.square().add(1))],
        ['copy_ into a fresh tensor takes the source gradient', (x, w) => k.zeros([3, 4], { dtype: 'float64' }).copy_(x.mul(w))],
        ['maskedFill_', (x, w) => x.mul(w).maskedFill_(k.tensor([true, false, true, false]), 0)],
        ['fill_ then add_ cuts the old history', (x, w) => x.mul(1).fill_(1).add_(w)],
      ];
      for (const [name, fn] of fns) {
        const x = k.randn([3, 4], { dtype: 'float64', generator: gen(10) }).requiresGrad_();
        const w = k.randn([4], { dtype: 'float64', generator: gen(11) }).requiresGrad_();
        const result = k.gradcheck(fn, [x, w], { raiseException: false });
        expect(result.ok, `${name}: ${result.worst}`).toBe(true);
      }
    }));

  it('ops recorded before an in-place op keep the tensor as it was', () => {
    const x = k.tensor([0.5, -1, 2], { dtype: 'float64' }).requiresGrad_();
    const y = x.mul(2);
    const a = y.add(3); // recorded on y before exp_
    y.exp_();
    k.sum(a.add(y)).backward();
    // d/dx [(2x + 3) + exp(2x)] = 2 + 2·exp(2x)
    expectClose(x.grad?.data ?? [], [0.5, -1, 2].map((v) => 2 + 2 * Math.exp(2 * v)), 1e-12, 1e-12);
    expect(y.gradFn?.name).toBe('exp');
  });

  it('in-place under noGrad does not touch the graph', () => {
    const x = k.randn([3]).requiresGrad_();
    const y = x.mul(2);
    const node = y.gradFn;
    k.noGrad(() => y.add_(1));
    expect(y.gradFn).toBe(node);
  });
});

describe('tidy() with in-place ops', () => {
  it('in-place results live in the tensor written, so they survive with it', () => {
    const x = k.zeros([4]);
    k.tidy(() => {
      x.add_(k.ones([4]).mul(3));
    });
    expect(Array.from(x.data)).toEqual([3, 3, 3, 3]);
  });
});
