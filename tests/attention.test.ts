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
    name: 'MultiheadAttention on non-contiguous views (fused path)',
    make: (g) => randomize(new nn.MultiheadAttention(4, 2, { batchFirst: true, generator: g }), g),
    inputs: [f(3, 2, 4), f(2, 4, 5)],
    run: (m, x, kv) => (m as nn.MultiheadAttention).forward(x.transpose(0, 1), kv.transpose(1, 2), kv.transpose(1, 2), { needWeights: false })[0],
  },
  {
    name: 'MultiheadAttention with dropout (seeded)',
    make: (g) => randomize(new nn.MultiheadAttention(4, 2, { dropout: 0.3, batchFirst: true, generator: g }), g),
    inputs: [f(2, 3, 4)],
    run: (m, x) => (m as nn.MultiheadAttention).forward(x, x, x)[0],
  },
  {
    name: 'MultiheadAttention self, packed kernel, causal + padding, dropout (seeded)',
    make: (g) => randomize(new nn.MultiheadAttention(6, 3, { dropout: 0.3, generator: g }), g),
    inputs: [f(5, 2, 6)],
    run: (m, x) => (m as nn.MultiheadAttention).forward(x, x, x, { attnMask: causal(5, x.dtype as 'float64'), keyPaddingMask: padding([5, 3], 5), needWeights: false })[0],
  },
  {
    name: 'MultiheadAttention self, packed kernel, isCausal, batchFirst',
    make: (g) => randomize(new nn.MultiheadAttention(8, 2, { batchFirst: true, generator: g }), g),
    inputs: [f(2, 7, 8)],
    run: (m, x) => (m as nn.MultiheadAttention).forward(x, x, x, { isCausal: true, needWeights: false })[0],
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

describe('score functions: masks, windows and errors', () => {
  const g = new k.Generator(5);
  const q = k.randn([2, 4], { generator: g });
  const h = k.randn([2, 6, 4], { generator: g });

  it('padded positions get weight 0, rows sum to 1, context is the weighted sum of values', () => {
    for (const m of [new nn.AdditiveAttention(4, 4, { generator: g }), new nn.DotAttention({ scaled: true }), new nn.CosineAttention()]) {
      const { context, weights } = m.forward(q, h, { mask: padding([6, 3], 6) });
      expect(weights.shape).toEqual([2, 6]);
      expect(context.shape).toEqual([2, 4]);
      const w = weights.toArray() as number[][];
      expect(w[1].slice(3)).toEqual([0, 0, 0]);
      for (const row of w) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const expected = k.matmul(weights.unsqueeze(1), h).squeeze(1);
      expectClose(context.data, expected.data, 1e-6, 1e-5, m.constructor.name);
    }
  });

  it('dot and scaled dot scores are sᵀh and sᵀh/√n', () => {
    const weights = new nn.DotAttention().forward(q, h).weights;
    const scaled = new nn.DotAttention({ scaled: true }).forward(q, h).weights;
    const scores = k.matmul(h, q.unsqueeze(-1)).squeeze(-1);
    expectClose(weights.data, k.softmax(scores, -1).data, 1e-6, 1e-5, 'dot');
    expectClose(scaled.data, k.softmax(k.div(scores, 2), -1).data, 1e-6, 1e-5, 'scaled dot');
  });

  it('cosine scores are β·cos(s, h)', () => {
    const weights = new nn.CosineAttention({ beta: 2 }).forward(q, h).weights.toArray() as number[][];
    const qs = q.toArray() as number[][];
    const hs = h.toArray() as number[][][];
    const cos = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i], 0) / Math.hypot(...a) / Math.hypot(...b);
    const scores = hs[0].map((row) => 2 * cos(qs[0], row));
    const total = scores.reduce((s, x) => s + Math.exp(x), 0);
    scores.forEach((x, j) => expect(weights[0][j]).toBeCloseTo(Math.exp(x) / total, 5));
  });

  it('local-m attends only to |j − t| ≤ D; local-p weights vanish outside the window', () => {
    const weights = new nn.DotAttention({ local: { window: 1, mode: 'monotonic' } }).forward(k.randn([1, 5, 4], { generator: g }), k.randn([1, 5, 4], { generator: g })).weights;
    const w = (weights.toArray() as number[][][])[0];
    w.forEach((row, t) => row.forEach((x, j) => (Math.abs(j - t) > 1 ? expect(x).toBe(0) : expect(x).toBeGreaterThan(0))));
    w.forEach((row) => expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5));
    const local = new nn.DotAttention({ general: true, queryDim: 4, keyDim: 4, local: { window: 1 }, generator: g });
    const lp = local.forward(q, h).weights.toArray() as number[][];
    for (const row of lp) {
      const nonzero = row.map((x, j) => (x > 0 ? j : -1)).filter((j) => j >= 0);
      expect(nonzero.length).toBeGreaterThan(0);
      expect(nonzero[nonzero.length - 1] - nonzero[0]).toBeLessThanOrEqual(2);
      expect(row.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-6);
    }
  });

  it('bad input names the module, the shapes and what was expected', () => {
    expect(() => new nn.DotAttention().forward(q, k.randn([2, 6, 3]))).toThrow(/DotAttention: query \[2, 1, 4\] and keys \[2, 6, 3\] need the same feature size/);
    expect(() => new nn.AdditiveAttention(4, 4).forward(q, k.randn([3, 6, 4]))).toThrow(/AdditiveAttention: .* must share N/);
    expect(() => new nn.CosineAttention().forward(q, h, { mask: k.zeros([2, 6]) })).toThrow(/CosineAttention: mask must be a bool tensor of shape \(N, S\) = \[2, 6\], got float32 \[2, 6\]/);
    expect(() => new nn.DotAttention({ general: true })).toThrow(/needs queryDim and keyDim/);
    expect(() => new nn.DotAttention({ local: { window: 0, mode: 'monotonic' } })).toThrow(/window must be an integer ≥ 1/);
  });
});

describe('MultiheadAttention: init, keys, errors', () => {
  it("has PyTorch's parameters and init: xavier-uniform projections, zero biases", () => {
    const mha = new nn.MultiheadAttention(16, 4, { generator: new k.Generator(2) });
    expect(Object.keys(mha.stateDict())).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
    const bound = Math.sqrt(6 / (16 + 48));
    const w = Array.from((mha.in_proj_weight as Tensor).data);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(Array.from((mha.in_proj_bias as Tensor).data).every((x) => x === 0)).toBe(true);
    expect(Array.from((mha.out_proj.bias as Tensor).data).every((x) => x === 0)).toBe(true);
    const split = new nn.MultiheadAttention(8, 2, { kdim: 3, vdim: 5, addBiasKV: true });
    expect(Object.keys(split.stateDict())).toEqual(['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'in_proj_bias', 'bias_k', 'bias_v', 'out_proj.weight', 'out_proj.bias']);
    expect((split.k_proj_weight as Tensor).shape).toEqual([8, 3]);
  });

  it('a bool mask (true = not allowed) equals the float mask with −∞', () => {
    const mha = new nn.MultiheadAttention(8, 2, { batchFirst: true });
    const x = k.randn([2, 5, 8]);
    const boolMask = k.tensor(Array.from({ length: 5 }, (_, i) => Array.from({ length: 5 }, (_, j) => j > i)), { dtype: 'bool' });
    const [a, wa] = mha.forward(x, x, x, { attnMask: boolMask });
    const [b, wb] = mha.forward(x, x, x, { attnMask: nn.Transformer.generateSquareSubsequentMask(5) });
    expectClose(a.data, b.data, 0, 0, 'output');
    expectClose((wa as Tensor).data, (wb as Tensor).data, 0, 0, 'weights');
    expect(((wa as Tensor).toArray() as number[][][])[0][0].slice(1)).toEqual([0, 0, 0, 0]);
  });

  it('needWeights false (fused kernel) returns null weights and the same output; eval mode turns dropout off', () => {
    const mha = new nn.MultiheadAttention(4, 2, { dropout: 0.5 }).eval();
    const x = k.randn([3, 2, 4]);
    const [y1, w] = mha.forward(x, x, x, { needWeights: false });
    expect(w).toBeNull();
    expectClose(y1.data, mha.forward(x, x, x)[0].data, 1e-6, 1e-5, 'eval output');
  });

  it('self-attention through the packed kernel equals the split-heads path', () => {
    const mha = new nn.MultiheadAttention(8, 2, { generator: new k.Generator(2) });
    const x = k.randn([6, 3, 8]);
    const mask = nn.Transformer.generateSquareSubsequentMask(6);
    const pad = padding([6, 4, 5], 6);
    const [packed] = mha.forward(x, x, x, { attnMask: mask, keyPaddingMask: pad, needWeights: false }); // query === key === value
    const [split] = mha.forward(x, x.clone(), x.clone(), { attnMask: mask, keyPaddingMask: pad, needWeights: false });
    expectClose(packed.data, split.data, 1e-6, 1e-5, 'output');
  });

  it('bad input throws errors naming shapes and expectations', () => {
    expect(() => new nn.MultiheadAttention(10, 3)).toThrow(/embedDim \(10\) must be divisible by numHeads \(3\)/);
    const mha = new nn.MultiheadAttention(4, 2);
    const x = k.randn([3, 2, 4]);
    expect(() => mha.forward(x, k.randn([3, 2, 5]), x)).toThrow(/MultiheadAttention: expected query, key, value of shapes \(L, N, E\).*got \[3, 2, 4\], \[3, 2, 5\], \[3, 2, 4\]/);
    expect(() => mha.forward(x, x, x, { attnMask: k.zeros([2, 3]) })).toThrow(/attnMask of shape \[2, 3\] must be one of \[3, 3\] or \[4, 3, 3\]/);
    expect(() => mha.forward(x, x, x, { keyPaddingMask: k.zeros([2, 3], { dtype: 'int32' }) })).toThrow(/keyPaddingMask must be bool or float, got int32/);
  });

  it('isCausal without a mask equals the causal mask, with and without weights', () => {
    const mha = new nn.MultiheadAttention(8, 2, { batchFirst: true });
    const x = k.randn([2, 5, 8]);
    const [want, wantWeights] = mha.forward(x, x, x, { attnMask: nn.Transformer.generateSquareSubsequentMask(5) });
    expectClose(mha.forward(x, x, x, { isCausal: true, needWeights: false })[0].data, want.data, 1e-6, 1e-5, 'fused causal');
    const [y, w] = mha.forward(x, x, x, { isCausal: true });
    expectClose(y.data, want.data, 1e-6, 1e-5, 'causal output');
    expectClose((w as Tensor).data, (wantWeights as Tensor).data, 1e-6, 1e-5, 'causal weights');
  });
});

describe('positional encodings', () => {
  it('PositionalEncoding adds sin/cos of pos / 10000^(2i/E)', () => {
    const pe = new nn.PositionalEncoding(4, { dropout: 0, batchFirst: true });
    const out = pe.forward(k.zeros([1, 3, 4])).toArray() as number[][][];
    for (let pos = 0; pos < 3; pos++) {
      const expected = [Math.sin(pos), Math.cos(pos), Math.sin(pos / 100), Math.cos(pos / 100)];
      out[0][pos].forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    }
    expect(Object.keys(pe.stateDict())).toEqual([]);
    expect(() => pe.forward(k.zeros([1, 3, 6]))).toThrow(/PositionalEncoding: expected input \(N, L, E\) with E=4/);
  });
});

describe('Transformer utilities', () => {
  it("keeps PyTorch's stacked keys and clones independent layers", () => {
    const enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 8 }), 2, new nn.LayerNorm(4));
    const keys = Object.keys(enc.stateDict());
    expect(keys).toContain('layers.1.self_attn.in_proj_weight');
    expect(keys).toContain('layers.0.norm2.bias');
    expect(keys[keys.length - 1]).toBe('norm.bias');
    const [l0, l1] = enc.layers.children() as nn.TransformerEncoderLayer[];
    expect(l0.linear1.weight).not.toBe(l1.linear1.weight);
  });

  it('rejects an unknown activation', () => {
    expect(() => new nn.TransformerEncoderLayer(4, 2, { activation: 'tanh' as 'relu' })).toThrow(/activation should be 'relu' or 'gelu'/);
  });
});

describe('SelfAttention2d', () => {
  it('starts as the identity (γ = 0) and trains inside a small CNN', () => {
    const g = new k.Generator(11);
    const attention = new nn.SelfAttention2d(8, { generator: g });
    const x0 = k.randn([2, 8, 3, 3], { generator: g });
    expectClose(attention.forward(x0).data, x0.data, 0, 0, 'identity at init');
    const model = new nn.Sequential(
      new nn.Conv2d(1, 8, 3, { padding: 1, generator: g }),
      new nn.ReLU(),
      attention,
      new nn.AdaptiveAvgPool2d(1),
      new nn.Flatten(),
      new nn.Linear(8, 2, { generator: g }),
    );
    // Label: does the image's top-left pixel have the same sign as its bottom-right one? A
    // relation between distant positions, which the attention block can carry.
    const x = k.randn([64, 1, 4, 4], { generator: g });
    const pixels = x.toArray() as number[][][][];
    const y = k.tensor(pixels.map((img) => Number(img[0][0][0] * img[0][3][3] > 0)), { dtype: 'int32' });
    const opt = new k.optim.Adam(model.parameters(), { lr: 0.02 });
    const lossAt = (): number => k.F.crossEntropy(model.forward(x) as Tensor, y).item();
    const first = lossAt();
    for (let step = 0; step < 150; step++) {
      opt.zeroGrad();
      const loss = k.F.crossEntropy(model.forward(x) as Tensor, y);
      loss.backward();
      opt.step();
    }
    expect(lossAt()).toBeLessThan(0.5 * first);
    expect(attention.gamma.item()).not.toBe(0);
    expect(attention.lastWeights?.shape).toEqual([64, 16, 16]);
  });
});
