/** Autograd semantics (PyTorch's): accumulation, explicit gradients, released graphs, noGrad, detach, retainGrad, createGraph. */
import { describe, expect, it, vi } from 'vitest';
import * as k from '../lib/index.js';
import { expectClose } from './helpers.js';

const BACKENDS: k.BackendName[] = ['reference', 'native'];

for (const backend of BACKENDS) {
  describe(`autograd on ${backend}`, () => {
    const run = (fn: () => void) => () => k.withBackend(backend, fn);

    it('accumulates gradients across backward calls until zeroGrad', run(() => {
      const x = k.tensor([1, 2, 3], { requiresGrad: true });
      k.sum(k.mul(x, x)).backward();
      expectClose(x.grad!.data, [2, 4, 6]);
      k.sum(k.mul(x, x)).backward();
      expectClose(x.grad!.data, [4, 8, 12]);
      x.zeroGrad();
      expect(x.grad).toBeNull();
    }));

    it('takes an explicit gradient for a non-scalar output', run(() => {
      const x = k.tensor([[1, 2], [3, 4]], { requiresGrad: true });
      k.mul(x, 3).backward(k.tensor([[1, 0], [0, 2]]));
      expectClose(x.grad!.data, [3, 0, 0, 6]);
    }));

    it('refuses a non-scalar output without a gradient, naming the shape', run(() => {
      const x = k.ones([2, 3], { requiresGrad: true });
      expect(() => k.mul(x, 2).backward()).toThrow(k.AutogradError);
      expect(() => k.mul(x, 2).backward()).toThrow(/\[2, 3\]/);
    }));

    it('refuses a gradient of the wrong shape', run(() => {
      const x = k.ones([2, 3], { requiresGrad: true });
      expect(() => k.mul(x, 2).backward(k.ones([3, 2]))).toThrow(/\[3, 2\].*\[2, 3\]/);
    }));

    it('refuses a second backward through a released graph, and allows it with retainGraph', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      const y = k.sum(k.exp(x));
      y.backward();
      expect(() => y.backward()).toThrow(/second time/);
      const z = k.sum(k.exp(x));
      x.zeroGrad();
      z.backward(undefined, { retainGraph: true });
      z.backward();
      expectClose(x.grad!.data, [2 * Math.E, 2 * Math.E ** 2]);
    }));

    it('does not record inside noGrad, and detach cuts the graph', run(() => {
      const x = k.ones([3], { requiresGrad: true });
      const y = k.noGrad(() => k.mul(x, 2));
      expect(y.requiresGrad).toBe(false);
      expect(k.mul(x, 2).detach().requiresGrad).toBe(false);
      expect(k.enableGrad(() => k.noGrad(() => k.isGradEnabled()))).toBe(false);
      expect(k.isGradEnabled()).toBe(true);
    }));

    it('keeps an intermediate gradient on retainGrad', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      const h = k.mul(x, 3).retainGrad();
      k.sum(k.square(h)).backward();
      expectClose(h.grad!.data, [6, 12]);
      expectClose(x.grad!.data, [18, 36]);
      expect(k.mul(x, 1).grad).toBeNull();
    }));

    it('sums gradients over every path (diamond)', run(() => {
      const x = k.tensor([2, -1], { requiresGrad: true });
      k.sum(k.add(k.mul(x, x), x)).backward();
      expectClose(x.grad!.data, [5, -1]);
    }));

    it('computes second derivatives with createGraph', run(() => {
      const x = k.tensor([1.5, -2], { requiresGrad: true });
      const y = k.sum(k.pow(x, 3));
      y.backward(undefined, { createGraph: true });
      const firstGrad = x.grad!;
      expectClose(firstGrad.data, [3 * 1.5 ** 2, 12]);
      x.zeroGrad();
      k.sum(firstGrad).backward();
      expectClose(x.grad!.data, [9, -12], 1e-4);
    }));

    it('differentiates through relu\'s backward pass (the mask applies to the incoming gradient)', run(() => {
      const x = k.tensor([1.5, -2, 0, 3], { requiresGrad: true });
      const c = k.tensor([2, 3, 4, 5], { requiresGrad: true });
      k.sum(k.mul(k.relu(x), c)).backward(undefined, { createGraph: true });
      const gradX = x.grad!;
      expectClose(gradX.data, [2, 0, 0, 5]);
      c.zeroGrad();
      k.sum(k.mul(gradX, k.tensor([1, 10, 100, 1000]))).backward();
      expectClose(c.grad!.data, [1, 0, 0, 1000]);
    }));

    it('handles deep graphs without recursion limits', run(() => {
      const x = k.tensor([1], { requiresGrad: true });
      let y = x;
      for (let i = 0; i < 20000; i++) y = k.add(y, 1e-4);
      y.backward();
      expectClose(x.grad!.data, [1]);
    }));

    it('accumulates a second backward into the same .grad in place, as PyTorch does, but not while recording a graph', run(() => {
      const x = k.tensor([1, 2], { requiresGrad: true });
      k.sum(k.mul(x, 3)).backward();
      const held = x.grad!;
      k.sum(k.mul(x, 3)).backward();
      expect(x.grad).toBe(held);
      expectClose(held.data, [6, 6]);
      const y = k.tensor([1, 2], { requiresGrad: true });
      k.sum(k.mul(y, y)).backward(undefined, { createGraph: true });
      const first = y.grad!;
      k.sum(k.mul(y, y)).backward(undefined, { createGraph: true });
      expect(y.grad).not.toBe(first);
      expectClose(first.data, [2, 4]);
      expectClose(y.grad!.data, [4, 8]);
    }));

    it('autograd.grad skips the broadcast operands\' gradients of add, sub, mul and div it was not asked for', run(() => {
      // x · scale + shift per channel, as batch norm with running statistics: autograd.grad of x
      // alone runs no reduction for scale's and shift's gradients; backward() still gives them.
      const x = k.randn([2, 3, 4, 4], { dtype: 'float64', requiresGrad: true });
      const scale = k.randn([1, 3, 1, 1], { dtype: 'float64', requiresGrad: true });
      const shift = k.randn([1, 3, 1, 1], { dtype: 'float64', requiresGrad: true });
      const f = () => k.sub(k.div(k.add(k.mul(x, scale), shift), scale.add(3)), shift).square().sum();
      const reductions = vi.spyOn(k.getBackend(), 'reduce');
      try {
        const loss = f();
        reductions.mockClear();
        const [gx] = k.autograd.grad(loss, x);
        expect(reductions).not.toHaveBeenCalled();
        f().backward();
        expect(reductions).toHaveBeenCalled();
        expectClose(gx.data, x.grad!.data, 1e-12, 1e-12);
        expect(scale.grad!.shape).toEqual([1, 3, 1, 1]);
        expect(shift.grad!.shape).toEqual([1, 3, 1, 1]);
      } finally {
        reductions.mockRestore();
      }
    }));

    it('leaves .grad unaliased from other gradients', run(() => {
      const a = k.ones([2], { requiresGrad: true });
      const b = k.ones([2], { requiresGrad: true });
      k.sum(k.add(a, b)).backward();
      expect(a.grad!.data).not.toBe(b.grad!.data);
    }));
  });
}

describe('autograd rules', () => {
  it('only float leaves can require grad', () => {
    expect(() => k.tensor([1, 2], { dtype: 'int32' }).requiresGrad_()).toThrow(k.DTypeError);
    const x = k.ones([2], { requiresGrad: true });
    expect(() => k.mul(x, 2).requiresGrad_(false)).toThrow(k.AutogradError);
  });

  it('backward from a tensor that does not require grad throws', () => {
    expect(() => k.ones([1]).backward()).toThrow(k.AutogradError);
  });

  it('gradcheck catches a wrong gradient', () => {
    const x = k.randn([4], { dtype: 'float64', requiresGrad: true });
    const wrongSquare = (t: k.Tensor) => k.add(k.mul(t.detach(), t.detach()), k.mul(t, 0.5)); // claims d/dx = 0.5
    expect(() => k.gradcheck(wrongSquare, [x])).toThrow(k.GradcheckError);
    expect(() => k.gradcheck(k.tanh, [k.randn([2], { requiresGrad: true })])).toThrow(/float64/);
  });
});

describe('gradient storage', () => {
  it('never shares storage between two .grad tensors or with the caller gradient', () => {
    const a = k.ones([3], { requiresGrad: true });
    const b = k.ones([3], { requiresGrad: true });
    const seed = k.tensor([1, 2, 3]);
    const h = k.add(a, b).retainGrad();
    k.reshape(h, [3, 1]).backward(k.reshape(seed, [3, 1]));
    const buffers = [a.grad!, b.grad!, h.grad!].map((g) => g.data.buffer);
    expect(new Set([...buffers, seed.data.buffer]).size).toBe(4);
    expect(Array.from(a.grad!.data)).toEqual([1, 2, 3]);
  });
});
