/**
 * Attention modules run like the nn layer cases (tests/nn-layers.test.ts): a float64 gradcheck
 * of the inputs and every parameter on the reference backend, and native-vs-reference parity
 * in float32 of the output and every gradient. Then behaviour the fixtures do not pin down:
 * masks, local attention's window, initialisation, bad input and a CNN with SelfAttention2d
 * that trains.
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { nn } from '../lib/index.js';
import type { LayerCase } from './nn-cases.js';
import type { InputSpec } from './op-cases.js';
import { makeInputs } from './op-cases.js';
import { expectClose } from './helpers.js';

const f = (...shape: number[]): InputSpec => ({ shape });

/** Sets every parameter to N(0, 0.5²) (biases and SAGAN's γ start at zero otherwise). */
function randomize<M extends nn.Module>(m: M, g: k.Generator): M {
  for (const p of m.parameters()) nn.init.normal_(p, 0, 0.5, { generator: g });
  return m;
}

/** A bool padding mask (N, S): row i has lengths[i] valid positions. */
function padding(lengths: number[], s: number): Tensor {
  return k.tensor(lengths.map((len) => Array.from({ length: s }, (_, j) => j >= len)), { dtype: 'bool' });
}

/** A score module's context and weights as one tensor. */
function both(out: nn.AttentionOutput): Tensor {
  return k.cat([out.context.flatten(), out.weights.flatten()]);
}

function causal(l: number, dtype: 'float32' | 'float64'): Tensor {
  return nn.Transformer.generateSquareSubsequentMask(l, { dtype });
}

const score = (m: nn.Module, q: Tensor, h: Tensor, mask?: Tensor): Tensor => both((m as nn.AttentionScore).forward(q, h, { mask }));

const CASES: LayerCase[] = [
  { name: 'AdditiveAttention, one query, padded', make: (g) => randomize(new nn.AdditiveAttention(3, 4, { hiddenDim: 5, generator: g }), g), inputs: [f(2, 3), f(2, 5, 4)], run: (m, q, h) => score(m, q, h, padding([5, 3], 5)) },
  { name: 'AdditiveAttention, T queries, separate values', make: (g) => randomize(new nn.AdditiveAttention(3, 4, { generator: g }), g), inputs: [f(2, 3, 3), f(2, 4, 4), f(2, 4, 2)], run: (m, q, h, v) => both((m as nn.AdditiveAttention).forward(q, h, { values: v })) },
  { name: 'DotAttention', make: () => new nn.DotAttention(), inputs: [f(2, 4), f(2, 5, 4)], run: (m, q, h) => score(m, q, h, padding([2, 5], 5)) },
  { name: 'DotAttention scaled', make: () => new nn.DotAttention({ scaled: true }), inputs: [f(2, 3, 4), f(2, 5, 4)], run: (m, q, h) => score(m, q, h) },
  { name: 'DotAttention general', make: (g) => new nn.DotAttention({ general: true, queryDim: 3, keyDim: 4, generator: g }), inputs: [f(2, 3), f(2, 5, 4)], run: (m, q, h) => score(m, q, h, padding([4, 5], 5)) },
  { name: 'DotAttention general, local-p', make: (g) => randomize(new nn.DotAttention({ general: true, queryDim: 3, keyDim: 4, local: { window: 2 }, generator: g }), g), inputs: [f(2, 3), f(2, 7, 4)], run: (m, q, h) => score(m, q, h, padding([7, 5], 7)) },
  { name: 'DotAttention local-m', make: () => new nn.DotAttention({ local: { window: 1, mode: 'monotonic' } }), inputs: [f(2, 4, 3), f(2, 6, 3)], run: (m, q, h) => score(m, q, h) },
  { name: 'CosineAttention', make: () => new nn.CosineAttention({ beta: 3 }), inputs: [f(2, 4), f(2, 5, 4)], run: (m, q, h) => score(m, q, h, padding([5, 2], 5)) },
  {
    name: 'MultiheadAttention self, causal + padding',
    make: (g) => randomize(new nn.MultiheadAttention(6, 2, { generator: g }), g),
    inputs: [f(4, 2, 6)],
    run: (m, x) => {
      const [y, w] = (m as nn.MultiheadAttention).forward(x, x, x, { attnMask: causal(4, x.dtype as 'float64'), keyPaddingMask: padding([4, 3], 4) });
      return k.cat([y.flatten(), (w as Tensor).flatten()]);
    },
  },
  {
    name: 'MultiheadAttention kdim/vdim, batchFirst, per-head weights',
    make: (g) => randomize(new nn.MultiheadAttention(4, 2, { kdim: 3, vdim: 5, batchFirst: true, generator: g }), g),
    inputs: [f(2, 3, 4), f(2, 5, 3), f(2, 5, 5)],
    run: (m, q, kk, v) => {
      const [y, w] = (m as nn.MultiheadAttention).forward(q, kk, v, { averageAttnWeights: false });
      return k.cat([y.flatten(), (w as Tensor).flatten()]);
    },
  },
  {
    name: 'MultiheadAttention biasKV, zeroAttn, bool mask',
    make: (g) => randomize(new nn.MultiheadAttention(4, 1, { addBiasKV: true, addZeroAttn: true, generator: g }), g),
    inputs: [f(3, 2, 4), f(4, 2, 4)],
    run: (m, q, kv) => (m as nn.MultiheadAttention).forward(q, kv, kv, { attnMask: k.tensor([[false, true, false, false], [false, false, true, true], [true, false, false, false]], { dtype: 'bool' }), needWeights: false })[0],
  },
  {
    name: 'MultiheadAttention with dropout (seeded)',
    make: (g) => randomize(new nn.MultiheadAttention(4, 2, { dropout: 0.3, batchFirst: true, generator: g }), g),
    inputs: [f(2, 3, 4)],
    run: (m, x) => (m as nn.MultiheadAttention).forward(x, x, x)[0],
  },
  {
    name: 'TransformerEncoderLayer post-norm, masks',
    make: (g) => randomize(new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, batchFirst: true, generator: g }), g),
    inputs: [f(2, 3, 4)],
    run: (m, x) => (m as nn.TransformerEncoderLayer).forward(x, { mask: causal(3, x.dtype as 'float64'), srcKeyPaddingMask: padding([3, 2], 3) }),
  },
  {
    name: 'TransformerEncoderLayer pre-norm gelu',
    make: (g) => randomize(new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, normFirst: true, activation: 'gelu', generator: g }), g),
    inputs: [f(3, 2, 4)],
  },
  {
    name: 'TransformerDecoderLayer',
    make: (g) => randomize(new nn.TransformerDecoderLayer(4, 2, { dimFeedforward: 6, dropout: 0, generator: g }), g),
    inputs: [f(3, 2, 4), f(4, 2, 4)],
    run: (m, t, mem) => (m as nn.TransformerDecoderLayer).forward(t, mem, { tgtMask: causal(3, t.dtype as 'float64'), memoryKeyPaddingMask: padding([4, 2], 4) }),
  },
  {
    name: 'Transformer 1+1 layers',
    make: (g) => randomize(new nn.Transformer({ dModel: 4, nhead: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 6, dropout: 0, batchFirst: true, generator: g }), g),
    inputs: [f(2, 4, 4), f(2, 3, 4)],
    run: (m, s, t) => (m as nn.Transformer).forward(s, t, { tgtMask: causal(3, t.dtype as 'float64') }),
  },
  { name: 'PositionalEncoding', make: () => new nn.PositionalEncoding(6, { dropout: 0, maxLen: 10 }), inputs: [f(4, 2, 6)] },
  { name: 'LearnedPositionalEmbedding', make: (g) => new nn.LearnedPositionalEmbedding(5, 3, { batchFirst: true, generator: g }), inputs: [f(2, 4, 3)] },
  { name: 'SelfAttention2d', make: (g) => randomize(new nn.SelfAttention2d(4, { reduction: 2, generator: g }), g), inputs: [f(2, 4, 3, 2)] },
];

function build(c: LayerCase, dtype: 'float32' | 'float64'): { module: nn.Module; call: (...xs: Tensor[]) => Tensor } {
  const g = new k.Generator(1);
  const module = c.make(g).to(dtype);
  const run = c.run ?? ((m: nn.Module, ...xs: Tensor[]) => m.forward(...xs) as Tensor);
  return {
    module,
    call: (...xs) => {
      g.manualSeed(99);
      return run(module, ...xs);
    },
  };
}

const inputsOf = (c: LayerCase, dtype: 'float32' | 'float64', grad: boolean): Tensor[] => makeInputs({ name: c.name, inputs: c.inputs, fn: (x) => x }, dtype, 7, grad);

describe('attention gradcheck (float64, reference backend)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      k.withBackend('reference', () => {
        const { module, call } = build(c, 'float64');
        const inputs = inputsOf(c, 'float64', true);
        const result = k.gradcheck((...all) => call(...all.slice(0, inputs.length)), [...inputs, ...module.parameters()], { raiseException: false });
        expect(result.ok, result.worst).toBe(true);
      });
    });
  }
});

function runOn(backend: k.BackendName, c: LayerCase): { output: Tensor; grads: (Float32Array | null)[] } {
  return k.withBackend(backend, () => {
    const { module, call } = build(c, 'float32');
    const inputs = inputsOf(c, 'float32', true);
    const output = call(...inputs);
    k.sum(k.mul(output, k.randn(output.shape, { generator: new k.Generator(3) }))).backward();
    return { output, grads: [...inputs, ...module.parameters()].map((t) => (t.grad === null ? null : (t.grad.data as Float32Array))) };
  });
}

describe('attention parity: native vs reference (float32)', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const native = runOn('native', c);
      const reference = runOn('reference', c);
      expect(native.output.shape).toEqual(reference.output.shape);
      expectClose(native.output.data, reference.output.data, 1e-5, 1e-4, 'output');
      reference.grads.forEach((g, i) => {
        if (g === null) return expect(native.grads[i]).toBeNull();
        expectClose(native.grads[i] ?? [], g, 1e-5, 1e-4, `grad of input/parameter ${i}`);
      });
    });
  }
});
