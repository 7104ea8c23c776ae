/**
 * Issue 12's ops, part A (tests/ops-a-cases.ts) in ops.test.ts's three modes: float64
 * gradcheck on the reference backend, native-vs-reference parity of outputs and gradients in
 * float32 (inputs as they are and as non-contiguous transposed views), and a run in tidy() on
 * NaN-poisoned pooled storage equal to a plain run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { setPoolPoisoning } from '../lib/memory/storage-pool.js';
import { makeInputs, type OpCase } from './op-cases.js';
import { OPS_A_CASES } from './ops-a-cases.js';
import { expectClose } from './helpers.js';

describe('gradcheck (float64, reference backend)', () => {
  for (const c of OPS_A_CASES.filter((c) => c.differentiable !== false)) {
    it(c.name, () => {
      const result = k.withBackend('reference', () => k.gradcheck(c.fn, makeInputs(c, 'float64', 1, true), { raiseException: false }));
      expect(result.ok, result.worst).toBe(true);
    });
  }
  it('cumprod with zeros (first zero, later zeros, a line without)', () => {
    const x = k.tensor([[2, 0, 3, 0.5, 0, 4], [0, 1.5, 2, 3, 1, 0.5], [1, 2, 0.5, 3, -1, 1.2]], { dtype: 'float64', requiresGrad: true });
    const result = k.withBackend('reference', () => k.gradcheck((t) => k.cumprod(t, 1), [x], { raiseException: false }));
    expect(result.ok, result.worst).toBe(true);
  });
  it('second derivatives through createGraph (sin, cumprod, sort, flip)', () => {
    // f(t) = Σ w_i · sort(cumprod(sin(t)))_i, flipped; its Hessian-vector product H·v against
    // central differences of the first gradient.
    const f = (t: k.Tensor) => k.sum(k.mul(k.flip(k.sort(k.cumprod(k.sin(t), 0)).values, 0), k.arange(1, 6, 1, { dtype: 'float64' })));
    const x0 = [0.3, -1.1, 0.7, 1.9, -0.4];
    const v = k.tensor([0.5, -1, 2, 0.25, 1], { dtype: 'float64' });
    const firstGrad = (values: number[], createGraph: boolean) => {
      const t = k.tensor(values, { dtype: 'float64', requiresGrad: true });
      f(t).backward(undefined, { createGraph });
      return { t, g: t.grad! };
    };
    k.withBackend('reference', () => {
      const { t, g } = firstGrad(x0, true);
      k.sum(k.mul(g, v)).backward();
      const hv = k.sub(t.grad!, g).data;
      const eps = 1e-6;
      x0.forEach((_, j) => {
        const plus = x0.map((x, i) => (i === j ? x + eps : x));
        const minus = x0.map((x, i) => (i === j ? x - eps : x));
        const dot = (vals: number[]) => k.sum(k.mul(firstGrad(vals, false).g, v)).item();
        expect(hv[j]).toBeCloseTo((dot(plus) - dot(minus)) / (2 * eps), 5);
      });
    });
  });
});

interface RunResult {
  output: k.Tensor;
  grads: (Float32Array | null)[];
}

/** x's values as a non-contiguous view: the transpose of a (…, W, H) copy (x itself below 2 dims). */
const viaTranspose = (x: k.Tensor): k.Tensor => (x.ndim < 2 ? x : x.transpose(-1, -2).clone().transpose(-1, -2));

function runOn(backend: k.BackendName, c: OpCase, transposed = false): RunResult {
  return k.withBackend(backend, () => {
    const differentiable = c.differentiable !== false;
    const inputs = makeInputs(c, 'float32', 7, differentiable);
    const output = c.fn(...(transposed ? inputs.map(viaTranspose) : inputs));
    if (differentiable && output.requiresGrad) {
      k.sum(k.mul(output, k.randn(output.shape, { generator: new k.Generator(3) }))).backward();
    }
    return { output, grads: inputs.map((x) => (x.grad === null ? null : (x.grad.data as Float32Array))) };
  });
}

describe('parity: native vs reference (float32)', () => {
  it('the native addon is built and loads', () => {
    expect(k.isNativeAvailable()).toBe(true);
  });
  for (const c of OPS_A_CASES) {
    for (const transposed of [false, true]) {
      if (transposed && c.inputs.every((input) => input.shape.length < 2)) continue;
      it(`${c.name}${transposed ? ' (non-contiguous inputs)' : ''}`, () => {
        const native = runOn('native', c, transposed);
        const reference = runOn('reference', c, transposed);
        const { atol, rtol } = c.tol ?? { atol: 1e-5, rtol: 1e-4 };
        expect(native.output.shape).toEqual(reference.output.shape);
        expect(native.output.dtype).toBe(reference.output.dtype);
        expectClose(native.output.data, reference.output.data, atol, rtol, 'output');
        reference.grads.forEach((g, i) => {
          if (g === null) return expect(native.grads[i]).toBeNull();
          expectClose(native.grads[i] ?? [], g, atol, rtol, `grad of input ${i}`);
        });
      });
    }
  }
});

function runInTidy(backend: k.BackendName, c: OpCase): { output: number[]; grads: (number[] | null)[] } {
  return k.tidy(() =>
    k.withBackend(backend, () => {
      const differentiable = c.differentiable !== false;
      const inputs = makeInputs(c, 'float32', 7, differentiable);
      const output = c.fn(...inputs.map((x) => (x.requiresGrad ? k.mul(x, 1) : x)));
      if (differentiable && output.requiresGrad) {
        k.sum(k.mul(output, k.randn(output.shape, { generator: new k.Generator(3) }))).backward();
      }
      return { output: Array.from(output.data, Number), grads: inputs.map((x) => (x.grad === null ? null : Array.from(x.grad.data, Number))) };
    }),
  );
}

describe('storage reuse: in tidy() on NaN-poisoned pooled storage, equal to a plain run', () => {
  afterAll(() => {
    setPoolPoisoning(false);
    k.emptyStoragePool();
  });
  const backends: k.BackendName[] = k.isNativeAvailable() ? ['native', 'reference'] : ['reference'];
  for (const backend of backends) {
    for (const c of OPS_A_CASES) {
      it(`${c.name} (${backend})`, () => {
        const plain = runOn(backend, c);
        setPoolPoisoning(true);
        runInTidy(backend, c);
        const reused = runInTidy(backend, c);
        expect(reused.output).toEqual(Array.from(plain.output.data, Number));
        reused.grads.forEach((g, i) => expect(g, `grad of input ${i}`).toEqual(plain.grads[i] === null ? null : Array.from(plain.grads[i]!)));
      });
    }
  }
});
