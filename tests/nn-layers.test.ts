/**
 * Runs every case of nn-cases.ts in two modes: a float64 gradcheck (inputs and parameters) on
 * the reference backend, and native-vs-reference parity in float32 of the output, gradients
 * and buffers.
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { LAYER_CASES, type LayerCase } from './nn-cases.js';
import { makeInputs } from './op-cases.js';
import { expectClose } from './helpers.js';

const INIT_SEED = 1;
const FORWARD_SEED = 99;

/** The layer of a case and a function that calls it with the forward generator reseeded. */
function build(c: LayerCase, dtype: 'float32' | 'float64'): { module: k.nn.Module; call: (...xs: Tensor[]) => Tensor } {
  const g = new k.Generator(INIT_SEED);
  const module = c.make(g).to(dtype);
  const run = c.run ?? ((m: k.nn.Module, ...xs: Tensor[]) => m.forward(...xs) as Tensor);
  const call = (...xs: Tensor[]): Tensor => {
    g.manualSeed(FORWARD_SEED);
    return run(module, ...xs);
  };
  return { module, call };
}

function inputsOf(c: LayerCase, dtype: 'float32' | 'float64', grad: boolean): Tensor[] {
  return makeInputs({ name: c.name, inputs: c.inputs, fn: (x) => x }, dtype, 7, grad);
}

describe('layer gradcheck (float64, reference backend)', () => {
  for (const c of LAYER_CASES) {
    it(c.name, () => {
      k.withBackend('reference', () => {
        const { module, call } = build(c, 'float64');
        const inputs = inputsOf(c, 'float64', true);
        const params = module.parameters();
        const result = k.gradcheck((...all) => call(...all.slice(0, inputs.length)), [...inputs, ...params], { raiseException: false });
        expect(result.ok, result.worst).toBe(true);
      });
    });
  }
});

interface RunResult {
  output: Tensor;
  grads: (Float32Array | null)[];
  buffers: [string, Tensor][];
}

function runOn(backend: k.BackendName, c: LayerCase): RunResult {
  return k.withBackend(backend, () => {
    const { module, call } = build(c, 'float32');
    const inputs = inputsOf(c, 'float32', true);
    const output = call(...inputs);
    if (output.requiresGrad) {
      const projection = k.randn(output.shape, { generator: new k.Generator(3) });
      k.sum(k.mul(output, projection)).backward();
    }
    const tensors = [...inputs, ...module.parameters()];
    return { output, grads: tensors.map((t) => (t.grad === null ? null : (t.grad.data as Float32Array))), buffers: module.namedBuffers() };
  });
}

describe('layer parity: native vs reference (float32)', () => {
  for (const c of LAYER_CASES) {
    it(c.name, () => {
      const native = runOn('native', c);
      const reference = runOn('reference', c);
      const { atol, rtol } = c.tol ?? { atol: 1e-5, rtol: 1e-4 };
      expect(native.output.shape).toEqual(reference.output.shape);
      expectClose(native.output.data, reference.output.data, atol, rtol, 'output');
      reference.grads.forEach((g, i) => {
        if (g === null) return expect(native.grads[i]).toBeNull();
        expectClose(native.grads[i] ?? [], g, atol, rtol, `grad of input/parameter ${i}`);
      });
      reference.buffers.forEach(([name, b], i) => expectClose(native.buffers[i][1].data, b.data, atol, rtol, `buffer ${name}`));
    });
  }
});
