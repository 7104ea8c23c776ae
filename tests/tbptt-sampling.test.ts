/**
 * Truncated BPTT (lib/train/tbptt.ts) and sequence sampling (lib/nn/sampling.ts).
 * TBPTT with k1 = k2 = T equals full BPTT; overlapping windows (k1 < k2) equal their
 * hand-computed gradients; the carried state equals one forward pass. Beam search with k = 1
 * equals greedy search and beats it where greedy is myopic; sampling is seedable and honours
 * temperature and top-k.
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { nn, type Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

/** A tiny LSTM regressor and a fixed sequence problem, in float64 on the reference backend. */
function problem(T: number) {
  const g = new k.Generator(5);
  const lstm = new nn.LSTM(2, 3, { generator: g }).double();
  const head = new nn.Linear(3, 1, { generator: g }).double();
  const x = k.randn([T, 2, 2], { dtype: 'float64', generator: g });
  const y = k.randn([T, 2, 1], { dtype: 'float64', generator: g });
  const params = [...lstm.parameters(), ...head.parameters()];
  type State = nn.RecurrentState | undefined;
  const run = (start: number, end: number, state: State, withLoss: boolean) => {
    const out = lstm.forwardWithState(x.narrow(0, start, end - start), state);
    const loss = withLoss ? k.sum(k.square(k.sub(head.forward(out.output), y.narrow(0, start, end - start)))) : null;
    return { state: { h: out.h, c: out.c } as State, loss };
  };
  /** Every parameter's .grad, copied (zeros when unset), then cleared. */
  const takeGrads = (): Float64Array[] =>
    params.map((p) => {
      const g = Float64Array.from(p.grad?.data ?? new Float64Array(p.numel));
      p.zeroGrad();
      return g;
    });
  return { run, params, takeGrads };
}

describe('truncatedBptt', () => {
  it('with k1 = k2 = T equals full backpropagation through time', () => {
    k.withBackend('reference', () => {
      const T = 6;
      const { run, takeGrads } = problem(T);
      run(0, T, undefined, true).loss!.backward();
      const full = takeGrads();
      const windows: { start: number; end: number }[] = [];
      const result = k.truncatedBptt({ length: T, k1: T, k2: T, initialState: undefined, run, update: (loss, w) => (windows.push(w), loss.backward()) });
      expect(windows).toEqual([{ start: 0, end: T }]);
      expect(result.losses).toHaveLength(1);
      takeGrads().forEach((g, i) => expectClose(g, full[i], 1e-12, 1e-10, `param ${i}`));
    });
  });

  it('k1 = 2, k2 = 3: each window backpropagates its 2 newest losses through 3 steps', () => {
    k.withBackend('reference', () => {
      const T = 7;
      const { run, takeGrads, params } = problem(T);
      const windows: { start: number; end: number }[] = [];
      const result = k.truncatedBptt({ length: T, k1: 2, k2: 3, initialState: undefined, run, update: (loss, w) => (windows.push(w), loss.backward()) });
      expect(windows).toEqual([{ start: 0, end: 2 }, { start: 2, end: 4 }, { start: 4, end: 6 }, { start: 6, end: 7 }]);
      const tbptt = takeGrads();
      // By hand: the state at end − 3 from a plain forward pass, detached, then the window's
      // last two losses backpropagated.
      for (const [lossStart, end] of [[0, 2], [2, 4], [4, 6], [6, 7]]) {
        const start = Math.max(0, end - 3);
        const state = start === 0 ? undefined : k.detachState(k.noGrad(() => run(0, start, undefined, false).state));
        const context = lossStart === start ? state : run(start, lossStart, state, false).state;
        run(lossStart, end, context, true).loss!.backward();
      }
      takeGrads().forEach((g, i) => expectClose(tbptt[i], g, 1e-12, 1e-10, `param ${i}`));
      // The carried state is the plain forward pass's final state, cut from the graph.
      const plain = run(0, T, undefined, false).state!;
      expectClose(result.state!.h.data, plain.h.data, 1e-12, 1e-10, 'h');
      expect(result.state!.h.requiresGrad).toBe(false);
      expect(params.length).toBeGreaterThan(0);
    });
  });

  it('rejects k2 < k1 and empty sequences', () => {
    const run = () => ({ state: null, loss: null });
    expect(() => k.truncatedBptt({ length: 5, k1: 3, k2: 2, initialState: null, run, update: () => {} })).toThrow(/k2 must be/);
    expect(() => k.truncatedBptt({ length: 0, k1: 3, initialState: null, run, update: () => {} })).toThrow(/length/);
  });

  it('detachState detaches every tensor of a nested state', () => {
    const h = k.randn([2]).requiresGrad_().mul(2);
    const out = k.detachState({ h, list: [h, null] });
    expect(out.h.requiresGrad).toBe(false);
    expect((out.list[0] as Tensor).requiresGrad).toBe(false);
    expect(out.list[1]).toBeNull();
  });
});

/** A Markov chain as a model: the logits of the next token depend on the last token only. */
function markov(table: number[][]): nn.NextToken<null> {
  return (token) => ({ logits: k.log(k.tensor(table[token], { dtype: 'float64' })), state: null });
}

/** A small random LSTM language model over V tokens. */
function lstmModel(V: number): nn.NextToken<nn.RecurrentState | undefined> {
  const g = new k.Generator(9);
  const embed = new nn.Embedding(V, 4, { generator: g });
  const lstm = new nn.LSTM(4, 8, { generator: g });
  const head = new nn.Linear(8, V, { generator: g });
  for (const p of head.parameters()) nn.init.normal_(p, 0, 2, { generator: g });
  return (token, state) => {
    const out = lstm.forwardWithState(embed.forward(k.tensor([[token]], { dtype: 'int32' })), state);
    return { logits: head.forward(out.output).reshape([-1]), state: { h: out.h, c: out.c } };
  };
}

describe('sequence sampling', () => {
  const start = { token: 0, state: undefined };

  it('beam search with k = 1 equals greedy search', () => {
    const next = lstmModel(7);
    for (const eosToken of [undefined, 3]) {
      const greedy = nn.greedySearch(next, start, { maxLength: 25, eosToken });
      const beam = nn.beamSearch(next, start, { maxLength: 25, eosToken, beamWidth: 1 });
      expect(beam).toHaveLength(1);
      expect(beam[0].tokens).toEqual(greedy);
    }
  });

  it('beam search finds the likelier sequence that greedy misses', () => {
    // From 0: A=1 (0.6) or B=2 (0.4). After A: three tokens at 1/3. After B: token 3 at 0.9.
    const table = [[0, 0.6, 0.4, 0], [1 / 3, 1 / 3, 1 / 3, 0], [0.05, 0.05, 0, 0.9], [0.25, 0.25, 0.25, 0.25]];
    const next = markov(table);
    expect(nn.greedySearch(next, { token: 0, state: null }, { maxLength: 2 })).toEqual([1, 0]);
    const best = nn.beamSearch(next, { token: 0, state: null }, { maxLength: 2, beamWidth: 2 })[0];
    expect(best.tokens).toEqual([2, 3]);
    expect(best.logProb).toBeCloseTo(Math.log(0.36), 12);
    expect(best.score).toBeCloseTo(Math.log(0.36) / 2, 12);
  });

  it('length normalisation decides between a short and a long finished hypothesis', () => {
    // From 0: end (token 3) at once with 0.5, or token 1 (0.5), after which token 2 then end are near certain.
    const table = [[0, 0.5, 0, 0.5], [0, 0, 0.99, 0.01], [0, 0, 0.01, 0.99], [1, 0, 0, 0]];
    const next = markov(table);
    const options = { maxLength: 5, beamWidth: 3, eosToken: 3 };
    expect(nn.beamSearch(next, { token: 0, state: null }, { ...options, lengthPenalty: 0 })[0].tokens).toEqual([3]);
    expect(nn.beamSearch(next, { token: 0, state: null }, { ...options, lengthPenalty: 1 })[0].tokens).toEqual([1, 2, 3]);
  });

  it('sampling is reproducible with a seeded generator; topK = 1 is greedy', () => {
    const next = lstmModel(7);
    const a = nn.sample(next, start, { maxLength: 30, generator: new k.Generator(3) });
    const b = nn.sample(next, start, { maxLength: 30, generator: new k.Generator(3) });
    expect(a).toEqual(b);
    expect(nn.sample(next, start, { maxLength: 30, topK: 1, generator: new k.Generator(4) })).toEqual(nn.greedySearch(next, start, { maxLength: 30 }));
  });

  it('samples follow softmax(logits / temperature) restricted to the top k', () => {
    const table = [[0.1, 0.2, 0.3, 0.4]];
    const next = markov(table);
    const counts = (options: Partial<nn.SampleOptions>): number[] => {
      const c = [0, 0, 0, 0];
      const generator = new k.Generator(11);
      for (let i = 0; i < 4000; i++) c[nn.sample(next, { token: 0, state: null }, { maxLength: 1, generator, ...options })[0]]++;
      return c.map((n) => n / 4000);
    };
    counts({}).forEach((p, i) => expect(p).toBeCloseTo(table[0][i], 1));
    const sharp = counts({ temperature: 0.5 }); // p ∝ p_i², normalised: 1, 4, 9, 16 over 30
    [1, 4, 9, 16].forEach((w, i) => expect(sharp[i]).toBeCloseTo(w / 30, 1));
    const top2 = counts({ topK: 2 });
    expect(top2[0] + top2[1]).toBe(0);
    expect(top2[2]).toBeCloseTo(3 / 7, 1);
  });

  it('rejects bad options', () => {
    const next = markov([[0.5, 0.5]]);
    expect(() => nn.sample(next, { token: 0, state: null }, { maxLength: 3, temperature: 0 })).toThrow(/temperature/);
    expect(() => nn.sample(next, { token: 0, state: null }, { maxLength: 3, topK: 0 })).toThrow(/topK/);
    expect(() => nn.beamSearch(next, { token: 0, state: null }, { maxLength: 3, beamWidth: 0 })).toThrow(/beamWidth/);
    expect(() => nn.greedySearch(next, { token: 0, state: null }, { maxLength: -1 })).toThrow(/maxLength/);
  });
});
