/**
 * Runs every case of op-cases.ts in three modes: a float64 finite-difference gradcheck on the
 * reference backend, native-vs-reference parity of outputs and gradients in float32, and a
 * run inside tidy() on pooled storage poisoned with NaN that must equal a plain run bit for
 * bit (a kernel that reads an output it should overwrite shows there).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { setPoolPoisoning } from '../lib/memory/storage-pool.js';
import { setSmallPathEnabled } from '../lib/backend/small.js';
import type { Tensor } from '../lib/index.js';
import { OP_CASES, makeInputs, type OpCase } from './op-cases.js';
import { expectClose } from './helpers.js';

describe('gradcheck (float64, reference backend)', () => {
  for (const c of OP_CASES.filter((c) => c.differentiable !== false)) {
    it(c.name, () => {
      const inputs = makeInputs(c, 'float64', 1, true);
      const result = k.gradcheck(c.fn, inputs, { raiseException: false });
      expect(result.ok, result.worst).toBe(true);
    });
  }
});

interface RunResult {
  output: Tensor;
  grads: (Float32Array | null)[];
}

function runOn(backend: k.BackendName, c: OpCase): RunResult {
  return k.withBackend(backend, () => {
    const differentiable = c.differentiable !== false;
    const inputs = makeInputs(c, 'float32', 7, differentiable);
    const output = c.fn(...inputs);
    if (differentiable && output.requiresGrad) {
      const projection = k.randn(output.shape, { generator: new k.Generator(3) });
      k.sum(k.mul(output, projection)).backward();
    }
    return { output, grads: inputs.map((x) => (x.grad === null ? null : (x.grad.data as Float32Array))) };
  });
}

/** runOn('native') with every call crossing into the addon (the small-tensor path off). */
function runOnAddon(c: OpCase): RunResult {
  setSmallPathEnabled(false);
  try {
    return runOn('native', c);
  } finally {
    setSmallPathEnabled(true);
  }
}

describe('parity: native vs reference (float32)', () => {
  it('the native addon is built and loads', () => {
    expect(k.isNativeAvailable()).toBe(true);
  });
  // Each case twice on native: as ops run (small inputs on the small-tensor path) and with
  // every kernel in the addon, so the native kernels stay tested on small cases too.
  for (const [c, mode] of OP_CASES.flatMap((c) => [[c, 'small path on'], [c, 'addon only']] as const)) {
    it(`${c.name} (${mode})`, () => {
      const native = mode === 'addon only' ? runOnAddon(c) : runOn('native', c);
      const reference = runOn('reference', c);
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
});

/**
 * runOn's computation with each input passed through `x * 1` first, so the gradients the op
 * itself returns are intermediate (pooled) storage rather than leaves' .grad; results are
 * copied out of the tidy() scope as plain arrays.
 */
function runInTidy(backend: k.BackendName, c: OpCase): { output: number[]; grads: (number[] | null)[] } {
  return k.tidy(() =>
    k.withBackend(backend, () => {
      const differentiable = c.differentiable !== false;
      const inputs = makeInputs(c, 'float32', 7, differentiable);
      const output = c.fn(...inputs.map((x) => (x.requiresGrad ? k.mul(x, 1) : x)));
      if (differentiable && output.requiresGrad) {
        const projection = k.randn(output.shape, { generator: new k.Generator(3) });
        k.sum(k.mul(output, projection)).backward();
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
    for (const c of OP_CASES) {
      it(`${c.name} (${backend})`, () => {
        const plain = runOn(backend, c);
        setPoolPoisoning(true);
        runInTidy(backend, c); // leaves this case's arrays, poisoned, in the pool
        const reused = runInTidy(backend, c);
        expect(reused.output).toEqual(Array.from(plain.output.data, Number));
        reused.grads.forEach((g, i) => expect(g, `grad of input ${i}`).toEqual(plain.grads[i] === null ? null : Array.from(plain.grads[i]!)));
      });
    }
  }
});
