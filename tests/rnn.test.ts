/**
 * Recurrent layers: float64 gradcheck of every cell and layer on the reference backend
 * (inputs, initial states and every parameter), native-vs-reference parity in float32 (both
 * the streaming small-batch path and the GEMM path of the native kernel), values and
 * gradients against PyTorch (tests/fixtures/torch/rnn.json, made by gen_rnn.py), and errors.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { nn, type Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

type Recurrent = nn.RNNBase | nn.RNNCellBase;

/** One configuration under test: a module, its input shape and its initial state shape. */
interface RnnCase {
  name: string;
  make: (g: k.Generator) => Recurrent;
  input: number[];
  /** Shape of h0 (and c0); omitted: the layer starts from zeros. */
  state?: number[];
}

const L = (name: string, make: (g: k.Generator) => Recurrent, input: number[], state?: number[]): RnnCase => ({ name, make, input, state });

const CASES: RnnCase[] = [
  L('RNN tanh', (g) => new nn.RNN(3, 4, { generator: g }), [5, 2, 3], [1, 2, 4]),
  L('RNN relu 2 layers', (g) => new nn.RNN(3, 4, { nonlinearity: 'relu', numLayers: 2, generator: g }), [4, 2, 3], [2, 2, 4]),
  L('RNN bidirectional no bias', (g) => new nn.RNN(3, 4, { bidirectional: true, bias: false, generator: g }), [3, 2, 3]),
  L('LSTM', (g) => new nn.LSTM(3, 4, { generator: g }), [5, 2, 3], [1, 2, 4]),
  L('LSTM sequence length 1', (g) => new nn.LSTM(3, 4, { generator: g }), [1, 3, 3], [1, 3, 4]),
  L('LSTM 2 layers bidirectional', (g) => new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true, generator: g }), [3, 2, 3], [4, 2, 4]),
  L('LSTM batchFirst', (g) => new nn.LSTM(2, 3, { batchFirst: true, generator: g }), [2, 4, 2]),
  L('LSTM unbatched', (g) => new nn.LSTM(2, 3, { generator: g }), [4, 2], [1, 3]),
  L('GRU', (g) => new nn.GRU(3, 4, { generator: g }), [5, 2, 3], [1, 2, 4]),
  L('GRU sequence length 1 bidirectional', (g) => new nn.GRU(3, 4, { bidirectional: true, generator: g }), [1, 2, 3], [2, 2, 4]),
  L('GRU 2 layers bidirectional batchFirst', (g) => new nn.GRU(2, 3, { numLayers: 2, bidirectional: true, batchFirst: true, generator: g }), [2, 3, 2], [4, 2, 3]),
  L('RNNCell tanh', (g) => new nn.RNNCell(3, 4, { generator: g }), [2, 3], [2, 4]),
  L('RNNCell relu unbatched', (g) => new nn.RNNCell(3, 4, { nonlinearity: 'relu', generator: g }), [3], [4]),
  L('LSTMCell', (g) => new nn.LSTMCell(3, 4, { generator: g }), [2, 3], [2, 4]),
  L('LSTMCell no bias', (g) => new nn.LSTMCell(3, 4, { bias: false, generator: g }), [2, 3]),
  L('GRUCell', (g) => new nn.GRUCell(3, 4, { generator: g }), [2, 3], [2, 4]),
  L('GRUCell unbatched', (g) => new nn.GRUCell(3, 4, { generator: g }), [3], [4]),
];

const isLstm = (m: Recurrent): boolean => m.mode === 'lstm';

/** Every output of the module (sequence output, h, c) flattened into one tensor. */
function runAll(m: Recurrent, x: Tensor, h0?: Tensor, c0?: Tensor): Tensor {
  const state = { h: h0, c: c0 ?? null };
  if (m instanceof nn.RNNBase) {
    const r = m.forwardWithState(x, state);
    return k.cat([r.output.flatten(), r.h.flatten(), ...(r.c === null ? [] : [r.c.flatten()])]);
  }
  const r = m.forwardWithState(x, state);
  return k.cat([r.h.flatten(), ...(r.c === null ? [] : [r.c.flatten()])]);
}

/** The case's input and initial states, drawn from `seed`. */
function inputsOf(c: RnnCase, m: Recurrent, dtype: k.FloatDType, seed: number): Tensor[] {
  const g = new k.Generator(seed);
  const x = k.randn(c.input, { dtype, generator: g }).requiresGrad_();
  if (c.state === undefined) return [x];
  const states = [k.randn(c.state, { dtype, generator: g }).requiresGrad_()];
  if (isLstm(m)) states.push(k.randn(c.state, { dtype, generator: g }).requiresGrad_());
  return [x, ...states];
}

describe('gradcheck (float64, reference backend): inputs, states and every parameter', () => {
  for (const c of CASES) {
    it(c.name, () => {
      k.withBackend('reference', () => {
        const m = c.make(new k.Generator(1)).double();
        const inputs = inputsOf(c, m, 'float64', 2);
        const params = m.parameters();
        const fn = (...ts: Tensor[]): Tensor => runAll(m, ts[0], inputs.length > 1 ? ts[1] : undefined, inputs.length > 2 ? ts[2] : undefined);
        const result = k.gradcheck(fn, [...inputs, ...params], { raiseException: false });
        expect(result.ok, result.worst).toBe(true);
      });
    });
  }
});

/** Output and gradients (inputs, then parameters) of one float32 run on `backend`. */
function runOn(backend: k.BackendName, c: RnnCase, scale: { batch?: number; hidden?: number } = {}) {
  return k.withBackend(backend, () => {
    const m = c.make(new k.Generator(1));
    const inputs = inputsOf(c, m, 'float32', 7);
    const out = runAll(m, inputs[0], inputs[1], inputs[2]);
    k.sum(k.mul(out, k.randn(out.shape, { generator: new k.Generator(3) }))).backward();
    return { out: out.data, grads: [...inputs, ...m.parameters()].map((t) => t.grad?.data ?? null), scale };
  });
}

function expectParity(c: RnnCase, atol = 2e-5, rtol = 1e-4): void {
  const native = runOn('native', c);
  const reference = runOn('reference', c);
  expectClose(native.out, reference.out, atol, rtol, 'output');
  reference.grads.forEach((g, i) => {
    expect(g, `grad ${i}`).not.toBeNull();
    expectClose(native.grads[i]!, g!, atol, rtol, `grad ${i}`);
  });
}

describe('parity: native vs reference (float32)', () => {
  for (const c of CASES) it(c.name, () => expectParity(c));
  // Larger batches take the native GEMM path (B > 4), hidden sizes off the SIMD width.
  const big: RnnCase[] = [
    L('LSTM B=9 H=37 bidirectional', (g) => new nn.LSTM(11, 37, { bidirectional: true, generator: g }), [6, 9, 11], [2, 9, 37]),
    L('GRU B=8 H=33 2 layers', (g) => new nn.GRU(7, 33, { numLayers: 2, generator: g }), [5, 8, 7], [2, 8, 33]),
    L('RNN relu B=12 H=20', (g) => new nn.RNN(5, 20, { nonlinearity: 'relu', generator: g }), [4, 12, 5], [1, 12, 20]),
    L('LSTM B=1 H=70 (streaming)', (g) => new nn.LSTM(6, 70, { generator: g }), [7, 1, 6], [1, 1, 70]),
  ];
  for (const c of big) it(c.name, () => expectParity(c, 1e-4, 1e-3));
});

interface Stored {
  shape: number[];
  data: number[];
}
interface TorchCase {
  name: string;
  state_dict: Record<string, Stored>;
  x: Stored;
  states: Stored[];
  output: Stored;
  finals: Stored[];
  proj: Stored;
  grads: Record<string, Stored | Stored[]>;
}

const torchCases = (JSON.parse(readFileSync(new URL('./fixtures/torch/rnn.json', import.meta.url), 'utf8')) as { cases: TorchCase[] }).cases;

const TORCH_MODULES: Record<string, () => Recurrent> = {
  'LSTM 2 layers bidirectional': () => new nn.LSTM(3, 5, { numLayers: 2, bidirectional: true }),
  'GRU bidirectional batchFirst': () => new nn.GRU(3, 5, { bidirectional: true, batchFirst: true }),
  'GRU 2 layers': () => new nn.GRU(3, 5, { numLayers: 2 }),
  'RNN relu 2 layers': () => new nn.RNN(3, 5, { numLayers: 2, nonlinearity: 'relu' }),
  'RNN tanh no bias': () => new nn.RNN(3, 5, { bias: false }),
  LSTMCell: () => new nn.LSTMCell(3, 5),
  GRUCell: () => new nn.GRUCell(3, 5),
  RNNCell: () => new nn.RNNCell(3, 5),
};

const stored = (s: Stored, requiresGrad = false): Tensor => k.tensor(Float64Array.from(s.data), { shape: s.shape, requiresGrad });

describe('values and gradients match PyTorch (float64, reference backend)', () => {
  for (const c of torchCases) {
    it(c.name, () => {
      k.withBackend('reference', () => {
        const m = TORCH_MODULES[c.name]().double();
        const state = Object.fromEntries(Object.entries(c.state_dict).map(([name, s]) => [name, stored(s)]));
        m.loadStateDict(state);
        const x = stored(c.x, true);
        const [h0, c0] = c.states.map((s) => stored(s, true));
        const r = m.forwardWithState(x, { h: h0, c: c0 ?? null });
        const output = m instanceof nn.RNNBase ? (r as nn.RecurrentOutput).output : r.h;
        const finals = [r.h, ...(r.c === null ? [] : [r.c])];
        expectClose(output.data, c.output.data, 1e-9, 1e-8, 'output');
        finals.forEach((f, i) => expectClose(f.data, c.finals[i].data, 1e-9, 1e-8, `final state ${i}`));
        let loss = k.sum(k.mul(output, stored(c.proj)));
        for (const f of finals) loss = k.add(loss, k.sum(f));
        loss.backward();
        expectClose(x.grad!.data, (c.grads.x as Stored).data, 1e-9, 1e-8, 'grad x');
        [h0, c0].filter((s) => s !== undefined).forEach((s, i) => expectClose(s.grad!.data, (c.grads.states as Stored[])[i].data, 1e-9, 1e-8, `grad state ${i}`));
        for (const [name, p] of m.namedParameters()) expectClose(p.grad!.data, (c.grads[name] as Stored).data, 1e-9, 1e-8, `grad ${name}`);
      });
    });
  }
});

describe('layers: parameters, initialisation, options, errors', () => {
  it('names and shapes follow PyTorch, with _reverse for the backward direction', () => {
    const lstm = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true });
    const shapes = Object.fromEntries(lstm.namedParameters().map(([n, p]) => [n, p.shape]));
    expect(Object.keys(shapes)).toEqual([
      'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0',
      'weight_ih_l0_reverse', 'weight_hh_l0_reverse', 'bias_ih_l0_reverse', 'bias_hh_l0_reverse',
      'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1',
      'weight_ih_l1_reverse', 'weight_hh_l1_reverse', 'bias_ih_l1_reverse', 'bias_hh_l1_reverse',
    ]);
    expect(shapes.weight_ih_l0).toEqual([16, 3]);
    expect(shapes.weight_ih_l1).toEqual([16, 8]);
    expect(shapes.weight_hh_l1_reverse).toEqual([16, 4]);
    expect(Object.keys(new nn.GRUCell(2, 3).stateDict())).toEqual(['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']);
    expect(new nn.GRU(2, 3, { bias: false }).parameters()).toHaveLength(2);
  });

  it('initialises every parameter from U(−1/√H, 1/√H)', () => {
    const gru = new nn.GRU(10, 25, { generator: new k.Generator(4) });
    const values = gru.parameters().flatMap((p) => Array.from(p.data));
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.2);
    expect(Math.max(...values)).toBeGreaterThan(0.19);
    expect(Math.min(...values)).toBeLessThan(-0.19);
  });

  it('dropout acts between layers in training only', () => {
    const lstm = new nn.LSTM(3, 4, { numLayers: 2, dropout: 0.5, generator: new k.Generator(1) });
    const x = k.randn([5, 2, 3]);
    lstm.eval();
    const a = lstm.forward(x).data;
    expect(lstm.forward(x).data).toEqual(a);
    lstm.train();
    expect(lstm.forward(x).data).not.toEqual(a);
  });

  it('the final states are the last steps of the output (forward) and the first (reverse)', () => {
    const gru = new nn.GRU(3, 4, { bidirectional: true });
    const { output, h } = gru.forwardWithState(k.randn([6, 2, 3]));
    expectClose(k.select(h, 0, 0).data, k.select(output, 0, 5).narrow(1, 0, 4).data, 0, 0, 'forward');
    expectClose(k.select(h, 0, 1).data, k.select(output, 0, 0).narrow(1, 4, 4).data, 0, 0, 'reverse');
  });

  it('bad shapes and options are clear errors', () => {
    const lstm = new nn.LSTM(3, 4);
    expect(() => lstm.forward(k.randn([5, 2, 2]))).toThrow(/wIh must have shape \[16, 2\]/);
    expect(() => lstm.forward(k.randn([5, 2, 3]), k.zeros([2, 2, 4]))).toThrow(/initial h must have shape \[1, 2, 4\]/);
    expect(() => lstm.forward(k.randn([0, 2, 3]))).toThrow(/at least one step/);
    expect(() => lstm.forward(k.randn([3]))).toThrow(/input must be/);
    expect(() => new nn.RNN(3, 4, { nonlinearity: 'gelu' as 'tanh' })).toThrow(/nonlinearity/);
    expect(() => new nn.GRU(3, 0)).toThrow(/hiddenSize/);
    expect(() => new nn.LSTM(3, 4, { dropout: 2 })).toThrow(/dropout/);
    expect(() => new nn.LSTMCell(3, 4).forward(k.randn([2, 2, 3]))).toThrow(/input must be/);
  });

  it('a float64 module computes in float64 on the native backend too (via the reference kernels)', () => {
    const m = new nn.LSTM(2, 3).double();
    const y = k.withBackend('native', () => m.forward(k.randn([4, 1, 2], { dtype: 'float64' })));
    expect(y.dtype).toBe('float64');
  });
});
