/**
 * Attention modules against PyTorch 1.13: values computed by Debian's python3-torch with
 * tests/fixtures/torch/gen_attention.py and committed as tests/fixtures/torch/attention.json.
 * Each case loads PyTorch's state dict (keys one to one) and runs in eval mode in float64 on
 * the reference backend; outputs must match to 1e-9 absolute and relative.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { nn, type Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

interface Stored {
  shape: number[];
  dtype: string;
  data: (number | '-inf')[];
}
interface FixtureCase {
  name: string;
  settings: Record<string, number | boolean | string>;
  state_dict: [string, Stored][];
  inputs: Record<string, Stored>;
  outputs: Record<string, Stored>;
}
interface Fixture {
  cases: FixtureCase[];
  square_subsequent_mask_4: Stored;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/attention.json', import.meta.url), 'utf8')) as Fixture;
const byName = new Map(fixture.cases.map((c) => [c.name, c]));

function toTensor(s: Stored): Tensor {
  const values = s.data.map((v) => (v === '-inf' ? -Infinity : v));
  if (s.dtype === 'bool') return k.tensor(values.map((v) => v !== 0), { dtype: 'bool' }).reshape(s.shape);
  return k.tensor(Float64Array.from(values), { shape: s.shape });
}

function load(name: string, module: nn.Module): { c: FixtureCase; inp: (key: string) => Tensor } {
  const c = byName.get(name);
  if (c === undefined) throw new Error(`fixture case ${name} missing`);
  module.double();
  expect(Object.keys(module.stateDict()), `${name}: state-dict keys`).toEqual(c.state_dict.map(([key]) => key));
  module.loadStateDict(Object.fromEntries(c.state_dict.map(([key, v]) => [key, toTensor(v)])));
  module.eval();
  return { c, inp: (key) => toTensor(c.inputs[key]) };
}

function expectOutput(c: FixtureCase, key: string, actual: Tensor | null): void {
  const want = c.outputs[key];
  expect(actual, `${c.name} ${key}`).not.toBeNull();
  expect((actual as Tensor).shape, `${c.name} ${key}: shape`).toEqual(want.shape);
  expectClose((actual as Tensor).data, Float64Array.from(want.data as number[]), 1e-9, 1e-9, `${c.name} ${key}`);
}

describe('MultiheadAttention matches PyTorch 1.13', () => {
  it('self-attention with a float causal mask and a bool key padding mask', () => {
    const mha = new nn.MultiheadAttention(8, 2);
    const { c, inp } = load('mha_causal_padding', mha);
    const x = inp('query');
    const [out, w] = mha.forward(x, x, x, { attnMask: inp('attn_mask'), keyPaddingMask: inp('key_padding_mask') });
    expectOutput(c, 'output', out);
    expectOutput(c, 'weights', w);
  });

  it('a bool causal mask (true = not allowed) with per-head weights', () => {
    const mha = new nn.MultiheadAttention(8, 2);
    const { c, inp } = load('mha_bool_causal_per_head', mha);
    const x = inp('query');
    const [out, w] = mha.forward(x, x, x, { attnMask: inp('attn_mask'), averageAttnWeights: false });
    expectOutput(c, 'output', out);
    expectOutput(c, 'weights', w);
  });

  it('kdim and vdim differ from embedDim (separate projections), batchFirst, padding', () => {
    const mha = new nn.MultiheadAttention(8, 2, { kdim: 5, vdim: 7, batchFirst: true });
    const { c, inp } = load('mha_kdim_vdim_batch_first', mha);
    const [out, w] = mha.forward(inp('query'), inp('key'), inp('value'), { keyPaddingMask: inp('key_padding_mask') });
    expectOutput(c, 'output', out);
    expectOutput(c, 'weights', w);
  });

  it('bias_k/bias_v and a zero attention slot with a float mask', () => {
    const mha = new nn.MultiheadAttention(8, 2, { addBiasKV: true, addZeroAttn: true });
    const { c, inp } = load('mha_bias_kv_zero_attn', mha);
    const [out, w] = mha.forward(inp('query'), inp('key'), inp('value'), { attnMask: inp('attn_mask') });
    expectOutput(c, 'output', out);
    expectOutput(c, 'weights', w);
  });

  it('unbatched input without biases', () => {
    const mha = new nn.MultiheadAttention(8, 2, { bias: false });
    const { c, inp } = load('mha_unbatched_no_bias', mha);
    const u = inp('query');
    const [out, w] = mha.forward(u, u, u);
    expectOutput(c, 'output', out);
    expectOutput(c, 'weights', w);
  });
});

describe('Transformer modules match PyTorch 1.13 (eval mode)', () => {
  for (const normFirst of [false, true]) {
    it(`TransformerEncoderLayer, ${normFirst ? 'pre' : 'post'}-norm`, () => {
      const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true, normFirst, activation: normFirst ? 'gelu' : 'relu', layerNormEps: 1e-6 });
      const { c, inp } = load(`encoder_layer_${normFirst ? 'pre' : 'post'}_norm`, layer);
      expectOutput(c, 'output', layer.forward(inp('src'), { mask: inp('src_mask'), srcKeyPaddingMask: inp('src_key_padding_mask') }));
    });

    it(`TransformerDecoderLayer, ${normFirst ? 'pre' : 'post'}-norm`, () => {
      const layer = new nn.TransformerDecoderLayer(8, 2, { dimFeedforward: 16, normFirst });
      const { c, inp } = load(`decoder_layer_${normFirst ? 'pre' : 'post'}_norm`, layer);
      const out = layer.forward(inp('tgt'), inp('memory'), { tgtMask: inp('tgt_mask'), memoryKeyPaddingMask: inp('memory_key_padding_mask') });
      expectOutput(c, 'output', out);
    });
  }

  it('nn.Transformer (2 + 2 layers, final norms)', () => {
    const model = new nn.Transformer({ dModel: 8, nhead: 2, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 16 });
    const { c, inp } = load('transformer', model);
    const out = model.forward(inp('src'), inp('tgt'), {
      tgtMask: inp('tgt_mask'),
      srcKeyPaddingMask: inp('src_key_padding_mask'),
      memoryKeyPaddingMask: inp('memory_key_padding_mask'),
    });
    expectOutput(c, 'output', out);
  });

  it('generateSquareSubsequentMask', () => {
    const mask = nn.Transformer.generateSquareSubsequentMask(4);
    const want = toTensor(fixture.square_subsequent_mask_4);
    expect(mask.shape).toEqual(want.shape);
    expect(Array.from(mask.data)).toEqual(Array.from(want.data));
  });
});
