/**
 * Sequence-to-sequence with attention: a bidirectional-LSTM encoder and an LSTM decoder that
 * attends over the encoder's states at every step (Bahdanau et al. 2015), learning to reverse
 * (default) or sort strings of digits. The score function is switchable: additive (Bahdanau),
 * dot, scaled dot, general (Luong) or cosine.
 *
 * Training uses teacher forcing (the decoder reads the true previous digit); evaluation decodes
 * held-out strings greedily (batched) and with beam search, reports exact-match accuracy, and
 * writes the alignment matrices of a few examples as PNG heat-maps with the digits on the axes.
 *
 * Run: `npx tsc -p tsconfig.json && node dist/examples/seq2seq-attention.js`
 * (flags: --task reverse|sort --score additive|dot|scaled|general|cosine --steps --batch
 *  --hidden --embed --lr --min-len --max-len --test --beam --seed --out; --help).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { F, Generator, cat, manualSeed, nn, noGrad, optim, plot, tensor, type Tensor } from '../lib/index.js';

/** Token ids: padding, start, end, then the digits 0–9 (id = digit + 3). */
export const PAD = 0;
export const SOS = 1;
export const EOS = 2;
const VOCAB = 13;
const digitOf = (id: number): string => (id >= 3 ? String(id - 3) : id === EOS ? '</s>' : id === SOS ? '<s>' : '_');

export type Task = 'reverse' | 'sort';
export type ScoreName = 'additive' | 'dot' | 'scaled' | 'general' | 'cosine';

/** Settings of one run. */
export interface Seq2SeqOptions {
  task: Task;
  score: ScoreName;
  steps: number;
  batch: number;
  hidden: number;
  embed: number;
  lr: number;
  minLen: number;
  maxLen: number;
  seed: number;
  /** Called every 100 steps (and at the end) with the step and the mean training loss since the last call. */
  onProgress?: (step: number, loss: number) => void;
}

/** A random digit string (as token ids) and its target under the task. */
export function makePair(task: Task, minLen: number, maxLen: number, g: Generator): { source: number[]; target: number[] } {
  const length = minLen + Math.floor(g.uniform() * (maxLen - minLen + 1));
  const source = Array.from({ length }, () => 3 + Math.floor(g.uniform() * 10));
  const target = task === 'reverse' ? [...source].reverse() : [...source].sort((a, b) => a - b);
  return { source, target };
}

/**
 * Right-pads rows with PAD to `width`: (N, width) int32. Sources are always padded to the
 * longest source length, in training and at inference: the backward LSTM of the encoder reads
 * the padding first, so a string must look the same whatever batch it is in.
 */
function padded(rows: number[][], width = Math.max(...rows.map((r) => r.length))): Tensor {
  return tensor(rows.map((r) => [...r, ...Array(width - r.length).fill(PAD)]), { dtype: 'int32' });
}

function makeScore(name: ScoreName, dim: number, g: Generator): nn.AttentionScore {
  switch (name) {
    case 'additive':
      return new nn.AdditiveAttention(dim, dim, { generator: g });
    case 'dot':
      return new nn.DotAttention();
    case 'scaled':
      return new nn.DotAttention({ scaled: true });
    case 'general':
      return new nn.DotAttention({ general: true, queryDim: dim, keyDim: dim, generator: g });
    case 'cosine':
      return new nn.CosineAttention({ beta: 5 });
  }
}

/** The decoder's state between steps: LSTM h and c (B, 2H). */
interface DecoderState {
  h: Tensor;
  c: Tensor;
}

/** The encoder's outputs a decoder step reads. */
interface Encoded {
  /** (B, S, 2H): forward and backward states of every source position. */
  states: Tensor;
  /** (B, S) bool: true at padding. */
  mask: Tensor;
  initial: DecoderState;
}

/** Bidirectional-LSTM encoder + attention LSTM decoder. */
export class Seq2Seq extends nn.Module {
  embedding: nn.Embedding;
  encoder: nn.LSTM;
  decoderEmbedding: nn.Embedding;
  decoder: nn.LSTMCell;
  attention: nn.AttentionScore;
  head: nn.Linear;

  /** sourceLength: the padded length of every source (the longest string). */
  constructor(score: ScoreName, embed: number, readonly hidden: number, readonly sourceLength: number, g: Generator) {
    super();
    this.embedding = new nn.Embedding(VOCAB, embed, { paddingIdx: PAD, generator: g });
    this.encoder = new nn.LSTM(embed, hidden, { bidirectional: true, batchFirst: true, generator: g });
    this.decoderEmbedding = new nn.Embedding(VOCAB, embed, { paddingIdx: PAD, generator: g });
    this.decoder = new nn.LSTMCell(embed + 2 * hidden, 2 * hidden, { generator: g });
    this.attention = makeScore(score, 2 * hidden, g);
    this.head = new nn.Linear(4 * hidden, VOCAB, { generator: g });
  }

  /** sources (B, S) int32 → encoder states, padding mask and the decoder's first state. */
  encode(sources: Tensor): Encoded {
    const { output, h, c } = this.encoder.forwardWithState(this.embedding.forward(sources));
    const both = (t: Tensor): Tensor => cat([t.select(0, 0), t.select(0, 1)], -1); // (B, 2H): final forward and backward states
    return { states: output, mask: sources.eq(PAD), initial: { h: both(h), c: both(c as Tensor) } };
  }

  /** One decoder step: previous tokens (B,) → logits (B, V), the new state and the alignment (B, S). */
  step(tokens: Tensor, state: DecoderState, enc: Encoded): { logits: Tensor; state: DecoderState; weights: Tensor } {
    const { context, weights } = this.attention.forward(state.h, enc.states, { mask: enc.mask });
    const input = cat([this.decoderEmbedding.forward(tokens), context], -1);
    const next = this.decoder.forwardWithState(input, state);
    const logits = this.head.forward(cat([next.h, context], -1));
    return { logits, state: { h: next.h, c: next.c as Tensor }, weights };
  }

  /** Teacher-forced logits (B, T, V) for targets (B, T) that end with EOS (and PAD after it). */
  teacherForced(sources: Tensor, targets: Tensor): Tensor {
    const enc = this.encode(sources);
    let state = enc.initial;
    const logits: Tensor[] = [];
    let previous = tensor(Array(sources.shape[0]).fill(SOS), { dtype: 'int32' });
    for (let t = 0; t < targets.shape[1]; t++) {
      const out = this.step(previous, state, enc);
      logits.push(out.logits.unsqueeze(1));
      state = out.state;
      previous = targets.select(1, t);
    }
    return cat(logits, 1);
  }

  /** Greedy decoding of a batch: the predicted ids of each row up to (not including) EOS, and the alignments (T, S) of each row. */
  greedy(sources: Tensor, maxLength: number): { tokens: number[][]; alignments: number[][][] } {
    return noGrad(() => {
      const n = sources.shape[0];
      const enc = this.encode(sources);
      let state = enc.initial;
      let previous = tensor(Array(n).fill(SOS), { dtype: 'int32' });
      const tokens: number[][] = Array.from({ length: n }, () => []);
      const alignments: number[][][] = Array.from({ length: n }, () => []);
      const done = Array(n).fill(false);
      for (let t = 0; t < maxLength && done.includes(false); t++) {
        const out = this.step(previous, state, enc);
        state = out.state;
        const next = Array.from(out.logits.argmax(-1).data as Int32Array);
        const weights = out.weights.toArray() as number[][];
        next.forEach((id, i) => {
          if (done[i]) return;
          if (id === EOS) done[i] = true;
          else {
            tokens[i].push(id);
            alignments[i].push(weights[i]);
          }
        });
        previous = tensor(next, { dtype: 'int32' });
      }
      return { tokens, alignments };
    });
  }

  /** Beam search for one source (ids): the best hypothesis without EOS. */
  beam(source: number[], beamWidth: number, maxLength: number): number[] {
    const enc = noGrad(() => this.encode(padded([source], this.sourceLength)));
    const next: nn.NextToken<DecoderState> = (token, state) => {
      const out = this.step(tensor([token], { dtype: 'int32' }), state, enc);
      return { logits: out.logits.reshape([-1]), state: out.state };
    };
    const [best] = nn.beamSearch(next, { token: SOS, state: enc.initial }, { maxLength, beamWidth, eosToken: EOS });
    return best.tokens.filter((t) => t !== EOS);
  }
}

/** Trains a Seq2Seq model with Adam on fresh random batches (gradients clipped to norm 1). */
export function trainSeq2Seq(o: Seq2SeqOptions): { model: Seq2Seq; losses: number[] } {
  manualSeed(o.seed);
  const g = new Generator(o.seed);
  const model = new Seq2Seq(o.score, o.embed, o.hidden, o.maxLen, g);
  const opt = new optim.Adam(model.parameters(), { lr: o.lr });
  const losses: number[] = [];
  let sum = 0;
  let count = 0;
  for (let step = 1; step <= o.steps; step++) {
    const pairs = Array.from({ length: o.batch }, () => makePair(o.task, o.minLen, o.maxLen, g));
    const sources = padded(pairs.map((p) => p.source), o.maxLen);
    const targets = padded(pairs.map((p) => [...p.target, EOS]));
    opt.zeroGrad();
    const logits = model.teacherForced(sources, targets);
    const loss = F.crossEntropy(logits.flatten(0, 1), targets.flatten(), { ignoreIndex: PAD });
    loss.backward();
    optim.clipGradNorm_(model.parameters(), 1.0);
    opt.step();
    sum += loss.item();
    count++;
    if (step % 100 === 0 || step === o.steps) {
      losses.push(sum / count);
      o.onProgress?.(step, sum / count);
      sum = 0;
      count = 0;
    }
  }
  return { model, losses };
}

/** Exact-match accuracy of greedy decoding on `count` held-out pairs (drawn from a separate generator). */
export function evaluate(model: Seq2Seq, o: Pick<Seq2SeqOptions, 'task' | 'minLen' | 'maxLen'>, count: number, seed: number) {
  model.eval();
  const g = new Generator(seed);
  const pairs = Array.from({ length: count }, () => makePair(o.task, o.minLen, o.maxLen, g));
  const { tokens, alignments } = model.greedy(padded(pairs.map((p) => p.source), o.maxLen), o.maxLen + 2);
  const correct = pairs.filter((p, i) => tokens[i].length === p.target.length && tokens[i].every((t, j) => t === p.target[j])).length;
  return { accuracy: correct / count, pairs, predictions: tokens, alignments };
}

/** An SVG heat-map of an alignment matrix: rows = output tokens, columns = source tokens. */
export function alignmentSvg(source: number[], output: number[], weights: number[][], title: string): string {
  const cell = 28;
  const left = 40;
  const top = 60;
  const width = Math.max(left + cell * source.length + 20, left + 8 * title.length);
  const height = top + cell * output.length + 20;
  const parts: string[] = [`<rect width="${width}" height="${height}" fill="white"/>`, `<text x="${left}" y="18" font-size="13" font-family="sans-serif">${plot.escapeXml(title)}</text>`];
  source.forEach((id, j) => parts.push(`<text x="${left + cell * j + cell / 2}" y="${top - 8}" font-size="13" font-family="monospace" text-anchor="middle">${digitOf(id)}</text>`));
  output.forEach((id, i) => {
    parts.push(`<text x="${left - 8}" y="${top + cell * i + cell / 2 + 4}" font-size="13" font-family="monospace" text-anchor="end">${digitOf(id)}</text>`);
    weights[i].slice(0, source.length).forEach((w, j) => {
      const shade = Math.round(255 * (1 - Math.min(1, Math.max(0, w))));
      parts.push(`<rect x="${left + cell * j}" y="${top + cell * i}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="#ccc"/>`);
    });
  });
  parts.push(`<text x="${left}" y="${top - 28}" font-size="11" font-family="sans-serif" fill="#555">source →</text>`);
  return plot.svgDocument(width, height, parts.join('\n'));
}

const USAGE = `usage: node dist/examples/seq2seq-attention.js [options]
  --task reverse|sort (reverse)                                       what to learn
  --score additive|dot|scaled|general|cosine (additive)               attention score function
  --steps N (600)  --batch N (64)   --lr X (0.003)  --seed N (0)      training
  --hidden N (64)  --embed N (16)                                     model size (decoder state 2·hidden)
  --min-len N (3)  --max-len N (8)                                    digit string lengths
  --test N (500)  --beam N (4)                                        held-out strings, beam width
  --out DIR (seq2seq-attention-out)                                   where the alignment PNGs go
  --help                                                              this text`;

/** The command line: trains, evaluates, prints examples and writes alignment heat-maps. */
export function main(args: string[], print: (line: string) => void = console.log): { accuracy: number; beamAccuracy: number; files: string[] } | null {
  const { values } = parseArgs({
    args,
    options: {
      task: { type: 'string', default: 'reverse' },
      score: { type: 'string', default: 'additive' },
      steps: { type: 'string', default: '600' },
      batch: { type: 'string', default: '64' },
      lr: { type: 'string', default: '0.003' },
      seed: { type: 'string', default: '0' },
      hidden: { type: 'string', default: '64' },
      embed: { type: 'string', default: '16' },
      'min-len': { type: 'string', default: '3' },
      'max-len': { type: 'string', default: '8' },
      test: { type: 'string', default: '500' },
      beam: { type: 'string', default: '4' },
      out: { type: 'string', default: 'seq2seq-attention-out' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return null;
  }
  const n = (key: keyof typeof values): number => Number(values[key]);
  const task = String(values.task) as Task;
  const score = String(values.score) as ScoreName;
  if (!['reverse', 'sort'].includes(task)) throw new Error(`--task must be reverse or sort, got ${task}`);
  if (!['additive', 'dot', 'scaled', 'general', 'cosine'].includes(score)) throw new Error(`--score must be additive, dot, scaled, general or cosine, got ${score}`);
  const options: Seq2SeqOptions = {
    task, score, steps: n('steps'), batch: n('batch'), hidden: n('hidden'), embed: n('embed'), lr: n('lr'), minLen: n('min-len'), maxLen: n('max-len'), seed: n('seed'),
    onProgress: (step, loss) => print(`step ${step}: loss ${loss.toFixed(4)}`),
  };
  const start = performance.now();
  const { model } = trainSeq2Seq(options);
  print(`trained in ${((performance.now() - start) / 1000).toFixed(1)} s (${task}, ${score} attention)`);
  const result = evaluate(model, options, n('test'), options.seed + 1_000_003);
  print(`greedy exact-match accuracy on ${n('test')} held-out strings: ${(100 * result.accuracy).toFixed(1)}%`);
  const beamCount = Math.min(50, n('test'));
  let beamCorrect = 0;
  for (let i = 0; i < beamCount; i++) {
    const got = model.beam(result.pairs[i].source, n('beam'), options.maxLen + 2);
    if (got.join() === result.pairs[i].target.join()) beamCorrect++;
  }
  const beamAccuracy = beamCorrect / beamCount;
  print(`beam search (width ${n('beam')}) exact-match accuracy on the first ${beamCount}: ${(100 * beamAccuracy).toFixed(1)}%`);
  const outDir = String(values.out);
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { source, target } = result.pairs[i];
    const predicted = result.predictions[i];
    print(`  ${source.map(digitOf).join('')} → ${predicted.map(digitOf).join('')} (want ${target.map(digitOf).join('')})`);
    const svg = alignmentSvg(source, predicted, result.alignments[i], `${task}, ${score} attention: ${source.map(digitOf).join('')}`);
    files.push(plot.writePlot(join(outDir, `alignment-${i}`), svg, 2).png);
  }
  print(`alignment heat-maps: ${files.join(', ')}`);
  return { accuracy: result.accuracy, beamAccuracy, files };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
