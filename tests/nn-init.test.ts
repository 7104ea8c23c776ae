/**
 * nn.init: the bounds and standard deviation of every initialiser, fans, gains,
 * orthogonality, identity and Dirac patterns, seeding, and every layer's default
 * initialisation (PyTorch's).
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { nn, type Tensor } from '../lib/index.js';

const { init } = nn;

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const v = Array.from(t.data as Float32Array);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std, min: Math.min(...v), max: Math.max(...v) };
}

/** A weight (out, in) with enough elements for 2% accurate moments. */
const weight = (out = 200, inFeatures = 100): Tensor => k.zeros([out, inFeatures]);

/** Expects t to look like U(−bound, bound): inside the bounds, reaching near them, std bound/√3. */
function expectUniform(t: Tensor, bound: number): void {
  const s = stats(t);
  expect(s.min).toBeGreaterThanOrEqual(-bound);
  expect(s.max).toBeLessThanOrEqual(bound);
  expect(s.max).toBeGreaterThan(0.98 * bound);
  expect(Math.abs((s.std * Math.sqrt(3)) / bound - 1)).toBeLessThan(0.02);
  expect(Math.abs(s.mean)).toBeLessThan(0.02 * bound);
}

function expectNormal(t: Tensor, std: number, mean = 0): void {
  const s = stats(t);
  expect(Math.abs(s.std / std - 1)).toBeLessThan(0.02);
  expect(Math.abs(s.mean - mean)).toBeLessThan(0.02 * std);
}

describe('fans and gains', () => {
  it('calculateFanInAndFanOut follows PyTorch for linear and conv weights', () => {
    expect(init.calculateFanInAndFanOut(k.zeros([3, 5]))).toEqual({ fanIn: 5, fanOut: 3 });
    expect(init.calculateFanInAndFanOut(k.zeros([8, 3, 5, 5]))).toEqual({ fanIn: 75, fanOut: 200 });
    expect(() => init.calculateFanInAndFanOut(k.zeros([4]))).toThrow(/at least 2 dims/);
  });

  it('calculateGain covers every nonlinearity', () => {
    expect(init.calculateGain('conv_transpose3d')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 15);
    expect(init.calculateGain('leaky_relu', 0)).toBeCloseTo(Math.SQRT2, 15);
    expect(init.calculateGain('selu')).toBe(0.75);
  });
});

describe('initialisers', () => {
  it('constant, zeros, ones', () => {
    expect(Array.from(init.constant_(k.zeros([3]), 2.5).data)).toEqual([2.5, 2.5, 2.5]);
    expect(Array.from(init.ones_(k.zeros([2])).data)).toEqual([1, 1]);
    expect(Array.from(init.zeros_(k.ones([2])).data)).toEqual([0, 0]);
  });

  it('uniform_ and normal_', () => {
    expectUniform(init.uniform_(weight(), -0.3, 0.3), 0.3);
    expectNormal(init.normal_(weight(), 1.5, 0.2), 0.2, 1.5);
  });

  it('truncNormal_ stays in [a, b] with the truncated distribution std', () => {
    const t = init.truncNormal_(weight(), 0, 1, -2, 2);
    const s = stats(t);
    expect(s.min).toBeGreaterThanOrEqual(-2);
    expect(s.max).toBeLessThanOrEqual(2);
    // Var of N(0,1) truncated to ±2: 1 − 2·2·φ(2)/(Φ(2) − Φ(−2)) = 0.7737….
    expect(s.std).toBeCloseTo(Math.sqrt(0.773741), 2);
    const shifted = stats(init.truncNormal_(k.zeros([1000]), 5, 0.1, 4.9, 5.3));
    expect(shifted.min).toBeGreaterThanOrEqual(4.9);
    expect(() => init.truncNormal_(k.zeros([3]), 0, 1, 8, 9)).toThrow(/widen it/);
  });

  it('xavierUniform_ and xavierNormal_ use √(6 / (fanIn + fanOut)) and √(2 / (fanIn + fanOut))', () => {
    expectUniform(init.xavierUniform_(weight(), 2), 2 * Math.sqrt(6 / 300));
    expectNormal(init.xavierNormal_(weight()), Math.sqrt(2 / 300));
  });

  it('kaimingUniform_ and kaimingNormal_ use the gain over √fan', () => {
    expectUniform(init.kaimingUniform_(weight()), Math.sqrt(3) * Math.SQRT2 / 10);
    expectUniform(init.kaimingUniform_(weight(), { a: Math.sqrt(5) }), 1 / 10);
    expectNormal(init.kaimingNormal_(weight(), { mode: 'fan_out', nonlinearity: 'relu' }), Math.SQRT2 / Math.sqrt(200));
    expectNormal(init.kaimingNormal_(weight(), { nonlinearity: 'tanh' }), 5 / 3 / 10);
  });

  it('lecunUniform_ and lecunNormal_ have variance 1/fanIn', () => {
    expectUniform(init.lecunUniform_(weight()), Math.sqrt(3 / 100));
    expectNormal(init.lecunNormal_(weight()), 0.1);
  });

  it('orthogonal_ gives orthonormal rows or columns, scaled by gain', () => {
    for (const shape of [[6, 4], [4, 6], [5, 5], [3, 2, 2]]) {
      const t = init.orthogonal_(k.zeros(shape, { dtype: 'float64' }), 2);
      const m = t.reshape([shape[0], -1]);
      const gram = shape[0] <= m.shape[1] ? k.matmul(m, m.t()) : k.matmul(m.t(), m);
      const n = gram.shape[0];
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(gram.data[i * n + j]).toBeCloseTo(i === j ? 4 : 0, 10);
    }
  });

  it('eye_ and dirac_ make identity maps', () => {
    expect(init.eye_(k.zeros([2, 3])).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
    const w = init.dirac_(k.zeros([2, 2, 3]));
    expect(w.toArray()).toEqual([[[0, 1, 0], [0, 0, 0]], [[0, 0, 0], [0, 1, 0]]]);
    const grouped = init.dirac_(k.zeros([4, 1, 3, 3]), 2);
    expect(Array.from(grouped.data).filter((v) => v === 1)).toHaveLength(2);
    expect(grouped.data[0 * 9 + 4]).toBe(1);
    expect(grouped.data[2 * 9 + 4]).toBe(1);
  });

  it('a Generator makes draws reproducible; without one the global seed does', () => {
    const a = init.normal_(k.zeros([5]), 0, 1, { generator: new k.Generator(3) });
    const b = init.normal_(k.zeros([5]), 0, 1, { generator: new k.Generator(3) });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    k.manualSeed(11);
    const c = new nn.Linear(3, 3).weight;
    k.manualSeed(11);
    expect(Array.from(new nn.Linear(3, 3).weight.data)).toEqual(Array.from(c.data));
  });
});

describe("layers' default initialisation is PyTorch's", () => {
  it('Linear: weight and bias U(±1/√in)', () => {
    const layer = new nn.Linear(100, 200);
    expectUniform(layer.weight, 0.1);
    const b = stats(layer.bias!);
    expect(b.min).toBeGreaterThanOrEqual(-0.1);
    expect(b.max).toBeLessThanOrEqual(0.1);
  });

  it('Bilinear: U(±1/√in1); Embedding: N(0, 1) with a zero padding row', () => {
    expectUniform(new nn.Bilinear(25, 30, 40).weight, 0.2);
    const emb = new nn.Embedding(300, 100, { paddingIdx: 2 });
    expect(Array.from(emb.weight.data.slice(200, 300)).every((v) => v === 0)).toBe(true);
    expectNormal(emb.weight.reshape([-1]).slice(0, 3000, 30000), 1);
  });

  it('norm layers: weight ones, bias zeros, running mean 0 and variance 1; PReLU 0.25', () => {
    const bn = new nn.BatchNorm2d(3);
    expect(Array.from(bn.weight!.data)).toEqual([1, 1, 1]);
    expect(Array.from(bn.bias!.data)).toEqual([0, 0, 0]);
    expect(Array.from(bn.runningMean!.data)).toEqual([0, 0, 0]);
    expect(Array.from(bn.runningVar!.data)).toEqual([1, 1, 1]);
    expect(bn.numBatchesTracked!.dtype).toBe('int64');
    expect(new nn.InstanceNorm2d(3).parameters()).toHaveLength(0);
    expect(Array.from(new nn.LayerNorm([2, 2]).weight!.data)).toEqual([1, 1, 1, 1]);
    expect(Array.from(new nn.PReLU(2).weight.data)).toEqual([0.25, 0.25]);
  });
});

describe('bulk random fills (the initialisers\' fast path)', () => {
  it('Generator.fillNormal / fillUniform give the same values and final state as one draw per element, across chunk boundaries and a pending Box–Muller value', () => {
    for (const n of [0, 1, 2, 3, 16383, 16384, 16385, 40001]) {
      for (const pendingSpare of [false, true]) {
        const bulk = new k.Generator(n + 1);
        const single = new k.Generator(n + 1);
        if (pendingSpare) expect(bulk.normal()).toBe(single.normal());
        const a = new Float32Array(n);
        bulk.fillNormal(a, 0.5, 2);
        const b = Float32Array.from({ length: n }, () => 0.5 + 2 * single.normal());
        expect(a).toEqual(b);
        const c = new Float64Array(n);
        bulk.fillUniform(c, -3, 1);
        expect(c).toEqual(Float64Array.from({ length: n }, () => -3 + 4 * single.uniform()));
        expect(bulk.getState()).toEqual(single.getState());
        expect(bulk.normal()).toBe(single.normal());
      }
    }
  });

  it('truncNormal_ equals per-element rejection both when nothing is rejected (bulk path) and when values are redrawn', () => {
    for (const [std, bound] of [[0.01, 2], [1, 0.5]]) {
      const t = k.zeros([300, 70]);
      nn.init.truncNormal_(t, 0, std, -bound, bound, { generator: new k.Generator(7) });
      const g = new k.Generator(7);
      const expected = Float32Array.from({ length: t.numel }, () => {
        for (;;) {
          const v = std * g.normal();
          if (v >= -bound && v <= bound) return v;
        }
      });
      expect(t.data).toEqual(expected);
    }
  });

  it('a random initialiser on an integer tensor names the op and dtype', () => {
    expect(() => nn.init.normal_(k.zeros([2], { dtype: 'int32' }))).toThrow(/normal_: expects a float32 or float64 tensor, got int32/);
  });
});
