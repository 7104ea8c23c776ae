/**
 * Sequence generation from a trained generative model, one token at a time: greedy search,
 * beam search (width k, length normalisation), and random sampling with a temperature and an
 * optional top-k cut. All run without autograd and draw randomness from a seedable Generator.
 *
 * The model is a `NextToken` function: given the last token and the state after the tokens
 * before it, the logits of the next token and the state after the last token. Any recurrent
 * model fits, e.g. embedding → LSTM → linear:
 *
 * ```ts
 * const next: NextToken<RecurrentState | undefined> = (token, state) => {
 *   const { output, h, c } = lstm.forwardWithState(embed.forward(tensor([[token]], { dtype: 'int32' })), state);
 *   return { logits: head.forward(output).reshape([-1]), state: { h, c } };
 * };
 * greedySearch(next, { token: startToken, state: undefined }, { maxLength: 100 });
 * ```
 */
import { noGrad } from '../autograd/grad-mode.js';
import { asNumbers } from '../dtype.js';
import { defaultGenerator, type Generator } from '../random.js';
import type { Tensor } from '../tensor.js';

/** A model one step at a time: logits (V) of the token after `token`, and the state after it. */
export type NextToken<S> = (token: number, state: S) => { logits: Tensor; state: S };

/** Where generation starts: the last given token (e.g. a start symbol) and the state before it. */
export interface SequenceStart<S> {
  token: number;
  state: S;
}

/** Options shared by every strategy. */
export interface GenerateOptions {
  /** Most tokens to generate. */
  maxLength: number;
  /** A token that ends a sequence (it is included in the result). Default: none. */
  eosToken?: number;
}

/** The logits of one step as plain numbers, checked to be 1-D. */
function logitsOf(t: Tensor): Float64Array {
  if (t.ndim !== 1) throw new RangeError(`sampling: the model must return logits of shape (V), got [${t.shape.join(', ')}]`);
  return Float64Array.from(asNumbers(t.data));
}

/** log softmax of v, computed stably. */
function logSoftmax(v: Float64Array): Float64Array {
  let max = -Infinity;
  for (const x of v) max = Math.max(max, x);
  let sum = 0;
  for (const x of v) sum += Math.exp(x - max);
  const shift = max + Math.log(sum);
  return v.map((x) => x - shift);
}

/** Runs `pick` on each step's logits until maxLength tokens or the end token. */
function generate<S>(next: NextToken<S>, start: SequenceStart<S>, options: GenerateOptions, pick: (logits: Float64Array) => number): number[] {
  checkLength(options.maxLength);
  return noGrad(() => {
    const tokens: number[] = [];
    let { token, state } = start;
    while (tokens.length < options.maxLength) {
      const step = next(token, state);
      token = pick(logitsOf(step.logits));
      state = step.state;
      tokens.push(token);
      if (token === options.eosToken) break;
    }
    return tokens;
  });
}

function checkLength(maxLength: number): void {
  if (!Number.isInteger(maxLength) || maxLength < 0) throw new RangeError(`sampling: maxLength must be an integer ≥ 0, got ${maxLength}`);
}

/** The index of the largest value (the first one on ties). */
function argmax(v: Float64Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/**
 * Greedy search: the most likely token at every step.
 *
 * Example: `greedySearch(next, { token: bos, state: undefined }, { maxLength: 50, eosToken: eos })`.
 */
export function greedySearch<S>(next: NextToken<S>, start: SequenceStart<S>, options: GenerateOptions): number[] {
  return generate(next, start, options, argmax);
}

/** Options of `sample`. */
export interface SampleOptions extends GenerateOptions {
  /** Divides the logits before the softmax: < 1 sharpens, > 1 flattens. Default 1. */
  temperature?: number;
  /** Sample only among the k most likely tokens. Default: all. */
  topK?: number;
  /** Source of randomness (default: the global generator, see manualSeed). */
  generator?: Generator;
}

/**
 * Random sampling from softmax(logits / temperature), optionally restricted to the top-k
 * tokens (renormalised).
 *
 * Example: `sample(next, start, { maxLength: 200, temperature: 0.8, topK: 10, generator: new Generator(1) })`.
 */
export function sample<S>(next: NextToken<S>, start: SequenceStart<S>, options: SampleOptions): number[] {
  const temperature = options.temperature ?? 1;
  if (!(temperature > 0)) throw new RangeError(`sample: temperature must be > 0, got ${temperature}`);
  const topK = options.topK;
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 1)) throw new RangeError(`sample: topK must be an integer ≥ 1, got ${topK}`);
  const generator = options.generator ?? defaultGenerator;
  return generate(next, start, options, (logits) => {
    const scaled = logits.map((x) => x / temperature);
    if (topK !== undefined && topK < scaled.length) {
      const cut = Float64Array.from(scaled).sort().reverse()[topK - 1];
      let kept = 0;
      // Keep exactly topK entries: those above the cut, then ties at the cut in index order.
      for (let i = 0; i < scaled.length; i++) if (scaled[i] > cut) kept++;
      for (let i = 0; i < scaled.length; i++) {
        if (scaled[i] === cut && kept < topK) kept++;
        else if (scaled[i] <= cut) scaled[i] = -Infinity;
      }
    }
    return drawIndex(logSoftmax(scaled), generator);
  });
}

/** An index drawn with probability exp(logProbs[i]). */
function drawIndex(logProbs: Float64Array, generator: Generator): number {
  let u = generator.uniform();
  let last = 0;
  for (let i = 0; i < logProbs.length; i++) {
    const p = Math.exp(logProbs[i]);
    if (p === 0) continue;
    last = i;
    if (u < p) return i;
    u -= p;
  }
  return last;
}

/** Options of `beamSearch`. */
export interface BeamSearchOptions extends GenerateOptions {
  /** Hypotheses kept at every step (k). Default 4. */
  beamWidth?: number;
  /**
   * Length normalisation α: hypotheses are ranked by log P / length^α. 0 ranks by raw log
   * probability (favouring short outputs); 1 by average log probability per token. Default 1.
   */
  lengthPenalty?: number;
}

/** One hypothesis of `beamSearch`. */
export interface Hypothesis {
  tokens: number[];
  /** log P(tokens | start). */
  logProb: number;
  /** logProb / length^α, what the hypotheses are ranked by. */
  score: number;
}

interface Beam<S> extends Hypothesis {
  state: S;
  done: boolean;
}

/**
 * Beam search: keeps the k best hypotheses by length-normalised log probability, expanding
 * each unfinished one by its k most likely next tokens, until every kept hypothesis ended
 * (eosToken) or maxLength tokens. Returns the kept hypotheses, best first. With k = 1 it is
 * greedy search.
 *
 * Example: `beamSearch(next, start, { maxLength: 40, beamWidth: 5, lengthPenalty: 0.7 })[0].tokens`.
 */
export function beamSearch<S>(next: NextToken<S>, start: SequenceStart<S>, options: BeamSearchOptions): Hypothesis[] {
  checkLength(options.maxLength);
  const width = options.beamWidth ?? 4;
  if (!(Number.isInteger(width) && width >= 1)) throw new RangeError(`beamSearch: beamWidth must be an integer ≥ 1, got ${width}`);
  const alpha = options.lengthPenalty ?? 1;
  const score = (logProb: number, length: number): number => (length === 0 ? logProb : logProb / length ** alpha);
  return noGrad(() => {
    let beams: Beam<S>[] = [{ tokens: [], logProb: 0, score: 0, state: start.state, done: false }];
    for (let length = 1; length <= options.maxLength && beams.some((b) => !b.done); length++) {
      const candidates: Beam<S>[] = beams.filter((b) => b.done);
      for (const beam of beams.filter((b) => !b.done)) {
        const token = beam.tokens.length === 0 ? start.token : beam.tokens[beam.tokens.length - 1];
        const step = next(token, beam.state);
        const logProbs = logSoftmax(logitsOf(step.logits));
        for (const t of topIndices(logProbs, width)) {
          const logProb = beam.logProb + logProbs[t];
          const tokens = [...beam.tokens, t];
          candidates.push({ tokens, logProb, score: score(logProb, length), state: step.state, done: t === options.eosToken });
        }
      }
      // Stable sort: on equal scores the earlier candidate (lower token index) stays ahead.
      beams = candidates.sort((a, b) => b.score - a.score).slice(0, width);
    }
    return beams.map(({ tokens, logProb, score: s }) => ({ tokens, logProb, score: s }));
  });
}

/** The indices of the k largest values, largest first (lower index first on ties). */
function topIndices(v: Float64Array, k: number): number[] {
  const order = Array.from(v.keys()).sort((a, b) => v[b] - v[a] || a - b);
  return order.slice(0, k);
}
