/**
 * int8 dynamic quantization of nn.LSTM (lib/quantization/dynamic-lstm.ts): DynamicQuantizedLSTM
 * against PyTorch 1.13's dynamic-quantized LSTM (tests/fixtures/torch/gen_quantized_lstm.py),
 * against the float LSTM, native against the reference backend over the option combinations,
 * errors, state, quantizeDynamic on an embedding → LSTM → Linear model (examples/char-lm), and
 * the effect on that model's loss after brief training.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { F, io, nn, noGrad, quantization, Tensor } from '../lib/index.js';
import { CharLm, loadCorpus, trainCharLm } from '../examples/char-lm.js';

interface FixtureWeights {
  ih: { weight: number[]; bias: number[] };
  hh: { weight: number[]; bias: number[] };
}
interface FixtureQuantized {
  ih: { qweight: number[]; scales: number[] };
  hh: { qweight: number[]; scales: number[] };
}
interface FixtureCase {
  name: string;
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  batchFirst: boolean;
  bias: boolean;
  qscheme: quantization.WeightQScheme;
  xShape: number[];
  x: number[];
  h0: number[] | null;
  c0: number[] | null;
  weights: FixtureWeights[];
  quantized: FixtureQuantized[];
  outputShape: number[];
  output: number[];
  hN: number[];
  cN: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/quantized_lstm.json', import.meta.url), 'utf8')) as { cases: FixtureCase[] };

const f32 = (values: ArrayLike<number>, shape: number[]): Tensor => new Tensor(Float32Array.from(values), shape, 'float32');

/** A kiln nn.LSTM holding the fixture's float weights (bias: false when the case's biases are zero). */
function lstmFrom(c: FixtureCase): nn.LSTM {
  const { numLayers, bidirectional, batchFirst, bias } = c;
  const lstm = new nn.LSTM(c.inputSize, c.hiddenSize, { numLayers, bidirectional, batchFirst, bias });
  const D = bidirectional ? 2 : 1;
  noGrad(() => {
    c.weights.forEach((w, index) => {
      const layer = lstm.layerWeights(Math.floor(index / D), index % D);
      layer.wIh.copy_(f32(w.ih.weight, layer.wIh.shape));
      layer.wHh.copy_(f32(w.hh.weight, layer.wHh.shape));
      if (bias) {
        layer.bIh!.copy_(f32(w.ih.bias, layer.bIh!.shape));
        layer.bHh!.copy_(f32(w.hh.bias, layer.bHh!.shape));
      }
    });
  });
  return lstm;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe.each(['native', 'reference'] as const)('DynamicQuantizedLSTM against PyTorch 1.13 (%s backend)', (backend) => {
  for (const c of fixture.cases) {
    it(c.name, () => {
      k.withBackend(backend, () => {
        const q = quantization.quantizeDynamic(lstmFrom(c), { qscheme: c.qscheme });
        expect(q).toBeInstanceOf(quantization.DynamicQuantizedLSTM);
        const D = c.bidirectional ? 2 : 1;
        c.quantized.forEach((expected, index) => {
          const suffix = `_l${Math.floor(index / D)}${index % D === 1 ? '_reverse' : ''}`;
          for (const part of ['ih', 'hh'] as const) {
            expect(Array.from(q.getBuffer(`weight_${part}${suffix}`)!.data as Int8Array)).toEqual(expected[part].qweight);
            expect(Array.from(q.getBuffer(`scale_${part}${suffix}`)!.data as Float32Array)).toEqual(expected[part].scales);
          }
        });
        const stateShape = [c.numLayers * D, c.xShape[c.batchFirst ? 0 : 1], c.hiddenSize];
        const state = c.h0 === null ? undefined : { h: f32(c.h0, stateShape), c: f32(c.c0!, stateShape) };
        const { output, h, c: cell } = noGrad(() => q.forwardWithState(f32(c.x, c.xShape), state));
        expect(output.shape).toEqual(c.outputShape);
        // The int8 products are exact integers of identical operands (the quantized weights
        // above; each GEMM input's scale and zero point come from the same min and max), so
        // the outputs differ only by float32 rounding in σ, tanh and the cell update: at most
        // 8 ulps of max(1, |c|) per step (a few per function, each step's error carried on by
        // f < 1 and damped by σ' ≤ 1/4, tanh' ≤ 1), summed over the steps. One activation
        // rounded to the other integer would move a gate by ≈ x_scale · w_scale · |w_q| ≈ 1e-3
        // and fail the bound: the test also checks that no quantization decision differs.
        const steps = c.xShape[c.batchFirst ? 1 : 0];
        const largestCell = Math.max(1, ...c.cN.map(Math.abs));
        const bound = steps * 8 * 2 ** -24 * largestCell;
        const worst = Math.max(maxAbsDiff(output.data as Float32Array, c.output), maxAbsDiff(h.data as Float32Array, c.hN), maxAbsDiff(cell!.data as Float32Array, c.cN));
        expect(worst).toBeLessThanOrEqual(bound);
      });
    });
  }
});

/** Uniform values in [lo, hi) from a seeded generator. */
function uniform(shape: number[], lo: number, hi: number, seed: number): Tensor {
  return k.rand(shape, { generator: new k.Generator(seed) }).mul(hi - lo).add(lo);
}

/** Every combination of the options nn.LSTM supports (dropout is a no-op at inference). */
const COMBOS: { name: string; options: nn.RnnOptions; unbatched?: boolean; transposed?: boolean; state?: boolean }[] = [
  { name: '1 layer', options: {} },
  { name: '2 layers, dropout 0.3 (no-op at inference)', options: { numLayers: 2, dropout: 0.3 } },
  { name: 'bidirectional', options: { bidirectional: true } },
  { name: 'batchFirst, 2 layers, bidirectional, initial state', options: { batchFirst: true, numLayers: 2, bidirectional: true }, state: true },
  { name: 'no bias, 3 layers', options: { bias: false, numLayers: 3 } },
  { name: 'no bias, bidirectional, batchFirst', options: { bias: false, bidirectional: true, batchFirst: true } },
  { name: 'unbatched (T, I), bidirectional, initial state', options: { bidirectional: true }, unbatched: true, state: true },
  { name: 'a non-contiguous input (a transposed view)', options: { numLayers: 2 }, transposed: true },
];
const [T, B, I, H] = [6, 3, 7, 9];

/** The input of a combination, in the layout its options ask for. */
function comboInput(c: (typeof COMBOS)[number], seed: number): Tensor {
  if (c.unbatched) return uniform([T, I], -2, 2, seed);
  if (c.transposed) return uniform([B, T, I], -2, 2, seed).transpose(0, 1); // (T, B, I), not contiguous
  return uniform(c.options.batchFirst ? [B, T, I] : [T, B, I], -2, 2, seed);
}

/** The initial state of a combination, or undefined. */
function comboState(c: (typeof COMBOS)[number], seed: number): nn.RecurrentState | undefined {
  if (!c.state) return undefined;
  const D = c.options.bidirectional ? 2 : 1;
  const shape = c.unbatched ? [(c.options.numLayers ?? 1) * D, H] : [(c.options.numLayers ?? 1) * D, B, H];
  return { h: uniform(shape, -0.5, 0.5, seed + 1), c: uniform(shape, -1, 1, seed + 2) };
}

describe('DynamicQuantizedLSTM over the option combinations', () => {
  COMBOS.forEach((c, index) => {
    it(`${c.name}: native = reference, close to the float LSTM`, () => {
      const lstm = new nn.LSTM(I, H, { ...c.options, generator: new k.Generator(index) }).eval();
      const q = quantization.DynamicQuantizedLSTM.fromFloat(lstm);
      const x = comboInput(c, 10 + index);
      const state = comboState(c, 20 + index);
      const run = (backend: 'native' | 'reference') => noGrad(() => k.withBackend(backend, () => q.forwardWithState(x, state)));
      const native = run('native');
      const reference = run('reference');
      const exact = noGrad(() => lstm.forwardWithState(x, state));
      expect(native.output.shape).toEqual(exact.output.shape);
      expect(native.h.shape).toEqual(exact.h.shape);
      expect(native.c!.shape).toEqual(exact.c!.shape);
      // The int8 products agree bit for bit (the reference qgemm is the native kernel's
      // oracle), but the native cell's σ and tanh (fast_exp, relative error < 2e-7) differ
      // from Math's by an ulp or two, and a value that close to a rounding boundary of the
      // next GEMM's u8 quantization rounds the other way: that moves one pre-activation by
      // one quantization step, x_scale · w_scale · |w_q| ≤ (4 / 127) · max|W| (inputs and
      // states span at most 4 here), and the change carries on to later steps and layers
      // (damped: σ' ≤ 1/4, f < 1). Bound: two such steps for every element.
      const largestWeight = Math.max(...lstm.parameters().map((p) => p.abs().max().item()));
      const flipStep = (4 / 127) * largestWeight;
      for (const key of ['output', 'h', 'c'] as const) {
        const a = native[key]!.data as Float32Array;
        const b = reference[key]!.data as Float32Array;
        expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(2 * flipStep);
        // int8 weights (|e_w| ≤ w_scale / 2 ≈ 1/√H / 255) and u8 inputs (≤ 4 / 127 / 2) move
        // gates by at most ≈ 0.02 here; h and c stay within a few hundredths of the float LSTM.
        const drift = maxAbsDiff(native[key]!.data as Float32Array, exact[key]!.data as Float32Array);
        expect(drift).toBeLessThan(0.05);
        expect(drift).toBeGreaterThan(0); // quantization did happen
      }
    });
  });

  it('forward(x, h0, c0) is forwardWithState(x, { h, c }).output, and an unbatched input equals a batch of one', () => {
    const q = quantization.DynamicQuantizedLSTM.fromFloat(new nn.LSTM(I, H, { numLayers: 2, generator: new k.Generator(3) }));
    const x = uniform([T, I], -1, 1, 4);
    const h0 = uniform([2, H], -1, 1, 5);
    const c0 = uniform([2, H], -1, 1, 6);
    const direct = noGrad(() => q.forward(x, h0, c0));
    const batched = noGrad(() => q.forwardWithState(x.unsqueeze(1), { h: h0.unsqueeze(1), c: c0.unsqueeze(1) }));
    expect(Array.from(direct.data as Float32Array)).toEqual(Array.from(batched.output.data as Float32Array));
  });
});

describe('Backend.lstmCellsForward: native against the reference backend', () => {
  it('agrees within float32 rounding of σ and tanh, over saturated and odd-sized gates', () => {
    const [batch, hidden] = [5, 37];
    const gates = uniform([batch, 4 * hidden], -9, 9, 30).data as Float32Array;
    const inputGates = uniform([batch, 4 * hidden], -9, 9, 31).data as Float32Array;
    const cPrev = uniform([batch, hidden], -3, 3, 32).data as Float32Array;
    const run = (backend: 'native' | 'reference') => {
      const [c, h] = [new Float32Array(batch * hidden), new Float32Array(batch * hidden)];
      k.withBackend(backend, () => k.getBackend()).lstmCellsForward(batch, hidden, Float32Array.from(gates), inputGates, cPrev, c, h);
      return { c, h };
    };
    const native = run('native');
    const reference = run('reference');
    expect(maxAbsDiff(native.c, reference.c)).toBeLessThanOrEqual(4 * 2 ** -24 * 4); // |c| < 4
    expect(maxAbsDiff(native.h, reference.h)).toBeLessThanOrEqual(4 * 2 ** -24);
    expect(native.h.some((v) => Math.abs(v) > 0.5)).toBe(true);
  });
});

describe('DynamicQuantizedLSTM inside kiln.async', () => {
  it('queues the gate GEMMs and cell updates of every layer and direction with the synchronous result', async () => {
    const q = quantization.DynamicQuantizedLSTM.fromFloat(new nn.LSTM(I, H, { numLayers: 2, bidirectional: true, generator: new k.Generator(7) }));
    const x = uniform([T, B, I], -1, 1, 8);
    const expected = noGrad(() => k.withBackend('native', () => q.forward(x)));
    const queued = await k.withBackend('native', () => k.async(() => noGrad(() => q.forward(x))));
    expect(Array.from(queued.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
  });
});

describe('DynamicQuantizedLSTM: bad input', () => {
  const q = quantization.DynamicQuantizedLSTM.fromFloat(new nn.LSTM(4, 3, { numLayers: 2 }));

  it('names the layer, the shapes and dtypes, and what was expected', () => {
    expect(() => q.forward(k.zeros([5, 2, 4], { dtype: 'float64' }))).toThrow('DynamicQuantizedLSTM: expected a float32 input, got float64 of shape [5, 2, 4]');
    expect(() => q.forward(k.zeros([5, 2, 6]))).toThrow(/DynamicQuantizedLSTM\(4, 3, numLayers=2, dtype=qint8, qscheme=perTensorSymmetric\): input of shape \[5, 2, 6\] has 6 features, expected 4/);
    expect(() => q.forward(k.zeros([1, 5, 2, 4]))).toThrow('DynamicQuantizedLSTM: input must be (T, B, 4), (B, T, 4) with batchFirst, or (T, 4); got [1, 5, 2, 4]');
    expect(() => q.forward(k.zeros([5, 2, 4]), k.zeros([1, 2, 3]))).toThrow('DynamicQuantizedLSTM: initial h must have shape [2, 2, 3], got [1, 2, 3]');
    expect(() => q.forward(k.zeros([5, 2, 4]), k.zeros([2, 2, 3]), k.zeros([2, 3, 3]))).toThrow('DynamicQuantizedLSTM: initial c must have shape [2, 2, 3], got [2, 3, 3]');
    expect(() => q.forward(null as unknown as Tensor)).toThrow('DynamicQuantizedLSTM: x must be a Tensor, got null');
    expect(() => q.forward(k.zeros([5, 2, 4], { requiresGrad: true }))).toThrow(/DynamicQuantizedLSTM: the input of shape \[5, 2, 4\] requires grad, but a quantized layer has no backward/);
    expect(() => q.forward(k.zeros([5, 2, 4]), k.zeros([2, 2, 3], { requiresGrad: true }))).toThrow(/DynamicQuantizedLSTM \(initial h\): the input of shape \[2, 2, 3\] requires grad/);
    expect(() => q.forward(k.full([5, 2, 4], NaN))).toThrow('qlinearDynamic: x holds NaN or infinity, which has no int8 quantization');
  });

  it('refuses training, alone and inside a quantized model', () => {
    expect(() => q.train()).toThrow('DynamicQuantizedLSTM: train() is not supported: a dynamic-quantized model runs inference only');
    expect(q.eval().training).toBe(false);
    expect(nn.deepCopy(q).training).toBe(false);
    const qmodel = quantization.quantizeDynamic(new nn.Sequential(new nn.LSTM(2, 2)), { modules: [nn.LSTM] });
    expect(() => qmodel.train()).toThrow(/inference only/);
  });

  it('rejects bad weights, buffers and layer classes', () => {
    const broken = new nn.LSTM(3, 2, { bidirectional: true });
    noGrad(() => broken.layerWeights(0, 1).wHh.fill_(Infinity));
    expect(() => quantization.quantizeDynamic(broken)).toThrow('quantizeDynamic: LSTM(3, 2, bidirectional=true) layer 0 (reverse) weight_hh has a NaN or infinite weight');
    expect(() => quantization.quantizeDynamic(new nn.Sequential(new nn.GRU(2, 2)), { modules: [nn.GRU] })).toThrow(
      'quantizeDynamic: GRU cannot be dynamically quantized; only nn.Linear and nn.LSTM are supported',
    );
    const good = quantization.DynamicQuantizedLSTM.fromFloat(new nn.LSTM(3, 2));
    const buffers = (suffix: string) => ({
      weight: good.getBuffer(`weight_${suffix}`)!,
      scale: good.getBuffer(`scale_${suffix}`)!,
      bias: good.getBuffer(`bias_${suffix}`),
    });
    const weights = [{ ih: buffers('ih_l0'), hh: buffers('hh_l0') }];
    expect(() => new quantization.DynamicQuantizedLSTM(3, 2, { numLayers: 0 }, [])).toThrow('DynamicQuantizedLSTM: numLayers must be an integer ≥ 1, got 0');
    expect(() => new quantization.DynamicQuantizedLSTM(3, 2.5, {}, weights)).toThrow('DynamicQuantizedLSTM: hiddenSize must be an integer ≥ 1, got 2.5');
    expect(() => new quantization.DynamicQuantizedLSTM(3, 2, { numLayers: 2 }, weights)).toThrow(
      'DynamicQuantizedLSTM: expected 2 layer-direction weights (numLayers=2, bidirectional=false), got 1',
    );
    expect(() => new quantization.DynamicQuantizedLSTM(4, 2, {}, weights)).toThrow(
      'DynamicQuantizedLSTM: weight_ih_l0 must be a int8 Tensor of shape [8, 4], got int8 of shape [8, 3]',
    );
    expect(() => new quantization.DynamicQuantizedLSTM(3, 2, { bias: false }, weights)).toThrow('DynamicQuantizedLSTM: bias_ih_l0 must be null (bias: false), got [8]');
    const zeroScale = [{ ih: { ...weights[0].ih, scale: k.zeros([8]) }, hh: weights[0].hh }];
    expect(() => new quantization.DynamicQuantizedLSTM(3, 2, {}, zeroScale)).toThrow('DynamicQuantizedLSTM: scale_ih_l0 must hold finite positive values');
  });
});

describe('quantizeDynamic on an embedding → LSTM → Linear model (examples/char-lm)', () => {
  const model = new CharLm(20, 8, 16, new k.Generator(1));
  const tokens = k.tensor(Int32Array.from({ length: 12 * 3 }, (_, i) => (i * 7) % 20), { shape: [12, 3] });

  it('quantizes the LSTM and the Linear head by default (PyTorch default set), keeps the embedding, leaves the model untouched', () => {
    const before = model.stateDict();
    const qmodel = quantization.quantizeDynamic(model);
    expect(qmodel.lstm).toBeInstanceOf(quantization.DynamicQuantizedLSTM);
    expect(qmodel.head).toBeInstanceOf(quantization.DynamicQuantizedLinear);
    expect(qmodel.embedding).toBeInstanceOf(nn.Embedding);
    expect((qmodel.lstm as unknown as quantization.DynamicQuantizedLSTM).qscheme).toBe('perTensorSymmetric'); // PyTorch's default for LSTM
    expect((qmodel.head as unknown as quantization.DynamicQuantizedLinear).qscheme).toBe('perChannelSymmetric'); // kiln's default for Linear
    expect(model.lstm).toBeInstanceOf(nn.LSTM);
    for (const [name, t] of Object.entries(model.stateDict())) expect(t.data).toEqual(before[name].data);
    const { logits } = noGrad(() => qmodel.run(tokens));
    expect(logits.shape).toEqual([12, 3, 20]);
  });

  it('quantizes only what is selected: [nn.Linear] keeps the float LSTM, [nn.LSTM] the float head, a name selects by path', () => {
    const linearOnly = quantization.quantizeDynamic(model, { modules: [nn.Linear] });
    expect(linearOnly.lstm).toBeInstanceOf(nn.LSTM);
    expect(linearOnly.head).toBeInstanceOf(quantization.DynamicQuantizedLinear);
    const lstmOnly = quantization.quantizeDynamic(model, { modules: [nn.LSTM] });
    expect(lstmOnly.lstm).toBeInstanceOf(quantization.DynamicQuantizedLSTM);
    expect(lstmOnly.head).toBeInstanceOf(nn.Linear);
    const byName = quantization.quantizeDynamic(model, { modules: ['lstm'], qscheme: 'perChannelSymmetric' });
    expect(byName.lstm).toBeInstanceOf(quantization.DynamicQuantizedLSTM);
    expect((byName.lstm as unknown as quantization.DynamicQuantizedLSTM).qscheme).toBe('perChannelSymmetric');
    expect(byName.head).toBeInstanceOf(nn.Linear);
    // The Linear path is the Linear layer's own: the head of the full quantization equals a lone quantized head.
    const full = quantization.quantizeDynamic(model);
    const hidden = noGrad(() => full.lstm.forwardWithState(full.embedding.forward(tokens)).output);
    const lone = quantization.DynamicQuantizedLinear.fromFloat(model.head);
    expect(Array.from(noGrad(() => full.head.forward(hidden)).data)).toEqual(Array.from(noGrad(() => lone.forward(hidden)).data));
  });

  it('saves and loads its int8 state through safetensors, repacking the loaded weights', () => {
    const a = quantization.quantizeDynamic(model);
    const b = quantization.quantizeDynamic(new CharLm(20, 8, 16, new k.Generator(2)));
    const dir = mkdtempSync(join(tmpdir(), 'kiln-int8-lstm-'));
    try {
      const before = Array.from(noGrad(() => b.run(tokens)).logits.data); // packs b's own weights
      io.saveStateDict(join(dir, 'q.safetensors'), a);
      b.loadStateDict(io.loadStateDict(join(dir, 'q.safetensors')));
      const expected = Array.from(noGrad(() => a.run(tokens)).logits.data);
      expect(Array.from(noGrad(() => b.run(tokens)).logits.data)).toEqual(expected);
      expect(before).not.toEqual(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the char-lm example model, dynamic-quantized', () => {
  // Trained briefly on the first 4 500 characters of the sonnets, scored on the remaining ~1 000
  // (characters outside the training vocabulary dropped). Measured: see README, "int8 dynamic
  // quantization".
  it('keeps its held-out loss per character within 0.05 nats of the float model (perplexity within 5%)', () => {
    const trainLength = 4_500;
    const { model, corpus } = k.withBackend('native', () =>
      trainCharLm({ epochs: 20, hidden: 128, embed: 32, batch: 16, k1: 25, k2: 50, lr: 0.01, seed: 0, textLength: trainLength }),
    );
    const heldOut = [...loadCorpus().text.slice(trainLength)].filter((ch) => corpus.index.has(ch)).map((ch) => corpus.index.get(ch)!);
    const tokens = k.tensor(Int32Array.from(heldOut), { shape: [heldOut.length, 1] });
    const loss = (m: CharLm): number =>
      noGrad(() => {
        const { logits } = m.run(tokens.narrow(0, 0, heldOut.length - 1));
        return F.crossEntropy(logits.flatten(0, 1), tokens.narrow(0, 1, heldOut.length - 1).flatten()).item();
      });
    const floatLoss = k.withBackend('native', () => loss(model));
    const int8Loss = k.withBackend('native', () => loss(quantization.quantizeDynamic(model)));
    console.log(`char-lm held-out loss: float32 ${floatLoss.toFixed(4)} nats/char (perplexity ${Math.exp(floatLoss).toFixed(3)}), int8 ${int8Loss.toFixed(4)} (${Math.exp(int8Loss).toFixed(3)})`);
    expect(floatLoss).toBeLessThan(3.0); // the model learned something (uniform guessing: ln V ≈ 4)
    expect(Math.abs(int8Loss - floatLoss)).toBeLessThan(0.05);
  }, 120_000);
});
