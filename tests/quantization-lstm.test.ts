/**
 * int8 dynamic quantization of nn.LSTM (lib/quantization/dynamic-lstm.ts): DynamicQuantizedLSTM
 * against PyTorch 1.13's dynamic-quantized LSTM (tests/fixtures/torch/gen_quantized_lstm.py),
 * against the float LSTM, native against the reference backend over the option combinations,
 * errors, state, quantizeDynamic on an embedding → LSTM → Linear model (examples/char-lm), and
 * the effect on that model's loss after brief training.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { nn, noGrad, quantization, Tensor } from '../lib/index.js';

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
        const worst = Math.max(maxAbsDiff(output.data as Float32Array, c.output), maxAbsDiff(h.data as Float32Array, c.hN), maxAbsDiff(cell!.data as Float32Array, c.cN));
        console.log(`${backend} ${c.name}: max |kiln − PyTorch| = ${worst.toExponential(2)}`);
        expect(worst).toBeLessThanOrEqual(1e-5);
      });
    });
  }
});
