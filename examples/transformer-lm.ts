/**
 * A decoder-only Transformer character language model (GPT-style: token embedding +
 * sinusoidal positional encoding → pre-norm self-attention blocks with a causal mask →
 * LayerNorm → linear) on the same sonnets as examples/char-lm.ts, sampled greedily, with a
 * temperature and top-k. It then trains the LSTM char-LM of char-lm.ts with about the same
 * number of parameters, on the same windows, for the same wall-clock time, and prints both
 * validation losses; the learning curves of both go to a PNG.
 *
 * Run: `npx tsc -p tsconfig.json && node dist/examples/transformer-lm.js --seconds 60`
 * (flags: --seconds --d-model --heads --layers --ff --context --batch --lr --seed --length
 *  --prompt --temperature --top-k --out; --help).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { F, Generator, manualSeed, nn, noGrad, optim, plot, tensor, type Tensor } from '../lib/index.js';
import { CharLm, loadCorpus, type Corpus } from './char-lm.js';

/** Token embedding + positional encoding → causal Transformer blocks → LayerNorm → logits. */
export class TransformerLm extends nn.Module {
  embedding: nn.Embedding;
  position: nn.PositionalEncoding;
  blocks: nn.TransformerEncoder;
  norm: nn.LayerNorm;
  head: nn.Linear;

  constructor(vocab: number, readonly dModel: number, heads: number, layers: number, ff: number, readonly context: number, g: Generator) {
    super();
    this.embedding = new nn.Embedding(vocab, dModel, { generator: g });
    this.position = new nn.PositionalEncoding(dModel, { dropout: 0.1, maxLen: context, batchFirst: true, generator: g });
    const layer = new nn.TransformerEncoderLayer(dModel, heads, { dimFeedforward: ff, dropout: 0.1, batchFirst: true, normFirst: true, activation: 'gelu', generator: g });
    this.blocks = new nn.TransformerEncoder(layer, layers);
    this.norm = new nn.LayerNorm(dModel);
    this.head = new nn.Linear(dModel, vocab, { generator: g });
  }

  /** tokens (B, T) int32, T ≤ context → logits (B, T, V); position t sees tokens ≤ t only. */
  override forward(tokens: Tensor): Tensor {
    const x = this.position.forward(this.embedding.forward(tokens).mul(Math.sqrt(this.dModel)));
    return this.head.forward(this.norm.forward(this.blocks.forward(x, { isCausal: true })));
  }

  /** For nn.greedySearch / nn.sample: the state is the tokens so far (the last `context` are read). */
  nextToken: nn.NextToken<number[]> = (token, history) => {
    const tokens = [...history, token].slice(-this.context);
    const logits = this.forward(tensor([tokens], { dtype: 'int32' }));
    return { logits: logits.select(1, tokens.length - 1).reshape([-1]), state: tokens };
  };
}

/** The text as ids, split 90% / 10% into training and validation. */
function splitCorpus(corpus: Corpus): { train: Int32Array; val: Int32Array } {
  const ids = Int32Array.from([...corpus.text].map((c) => corpus.index.get(c)!));
  const cut = Math.floor(ids.length * 0.9);
  return { train: ids.subarray(0, cut), val: ids.subarray(cut) };
}

/** A batch of random windows: inputs and next-character targets, (B, T) int32 each. */
function windows(ids: Int32Array, batch: number, context: number, g: Generator): { x: Tensor; y: Tensor } {
  const x = new Int32Array(batch * context);
  const y = new Int32Array(batch * context);
  for (let b = 0; b < batch; b++) {
    const start = Math.floor(g.uniform() * (ids.length - context - 1));
    x.set(ids.subarray(start, start + context), b * context);
    y.set(ids.subarray(start + 1, start + context + 1), b * context);
  }
  return { x: tensor(x, { shape: [batch, context] }), y: tensor(y, { shape: [batch, context] }) };
}

/** Mean loss per character over consecutive validation windows. */
function validationLoss(logitsOf: (x: Tensor) => Tensor, val: Int32Array, context: number): number {
  return noGrad(() => {
    let total = 0;
    let count = 0;
    for (let start = 0; start + context + 1 <= val.length; start += context) {
      const x = tensor(val.slice(start, start + context), { shape: [1, context] });
      const y = tensor(val.slice(start + 1, start + context + 1), { shape: [context] });
      total += F.crossEntropy(logitsOf(x).reshape([context, -1]), y, { reduction: 'sum' }).item();
      count += context;
    }
    return total / count;
  });
}

/** A learning curve: (seconds, validation loss) points. */
export interface Curve {
  seconds: number[];
  valLoss: number[];
}

/** Trains `model` (logits of (B, T) windows) with Adam for `seconds`, evaluating every `every` steps. */
function trainFor(
  model: nn.Module,
  logitsOf: (x: Tensor) => Tensor,
  data: { train: Int32Array; val: Int32Array },
  o: { seconds: number; batch: number; context: number; lr: number; seed: number; every: number },
  onEval: (seconds: number, loss: number) => void,
): Curve {
  const g = new Generator(o.seed);
  const opt = new optim.Adam(model.parameters(), { lr: o.lr });
  const curve: Curve = { seconds: [], valLoss: [] };
  let spent = 0;
  const record = (): void => {
    model.eval();
    const loss = validationLoss(logitsOf, data.val, o.context);
    model.train();
    curve.seconds.push(spent / 1000);
    curve.valLoss.push(loss);
    onEval(spent / 1000, loss);
  };
  record();
  for (let step = 1; spent < o.seconds * 1000; step++) {
    const begin = performance.now();
    const { x, y } = windows(data.train, o.batch, o.context, g);
    opt.zeroGrad();
    const logits = logitsOf(x);
    F.crossEntropy(logits.reshape([-1, logits.shape[2]]), y.flatten()).backward();
    optim.clipGradNorm_(model.parameters(), 1.0);
    opt.step();
    spent += performance.now() - begin; // training time only, evaluation excluded
    if (step % o.every === 0) record();
  }
  record();
  return curve;
}

const parameterCount = (m: nn.Module): number => m.parameters().reduce((s, p) => s + p.numel, 0);

/** The LSTM hidden size whose CharLm has about `target` parameters. */
function matchingLstmHidden(vocab: number, embed: number, target: number): number {
  let hidden = 1;
  while (4 * (hidden * (embed + hidden) + 2 * hidden) + vocab * embed + (hidden + 1) * vocab < target) hidden++;
  return hidden;
}

/** Settings of a comparison run. */
export interface CompareOptions {
  seconds: number;
  dModel: number;
  heads: number;
  layers: number;
  ff: number;
  context: number;
  batch: number;
  lr: number;
  seed: number;
  every: number;
  print?: (line: string) => void;
}

/** Trains the Transformer LM and an LSTM char-LM of equal size for equal time; returns both. */
export function compare(o: CompareOptions): { transformer: TransformerLm; corpus: Corpus; curves: { transformer: Curve; lstm: Curve }; params: { transformer: number; lstm: number } } {
  const print = o.print ?? console.log;
  manualSeed(o.seed);
  const corpus = loadCorpus();
  const data = splitCorpus(corpus);
  const V = corpus.chars.length;
  const transformer = new TransformerLm(V, o.dModel, o.heads, o.layers, o.ff, o.context, new Generator(o.seed));
  const embed = 32;
  const lstm = new CharLm(V, embed, matchingLstmHidden(V, embed, parameterCount(transformer)), new Generator(o.seed));
  const params = { transformer: parameterCount(transformer), lstm: parameterCount(lstm) };
  print(`Transformer: ${params.transformer} parameters; LSTM (hidden ${lstm.lstm.hiddenSize}): ${params.lstm} parameters; ${o.seconds} s of training each`);
  const settings = { seconds: o.seconds, batch: o.batch, context: o.context, lr: o.lr, seed: o.seed, every: o.every };
  const tCurve = trainFor(transformer, (x) => transformer.forward(x), data, settings, (s, l) => print(`transformer ${s.toFixed(1)} s: val loss ${l.toFixed(3)}`));
  const lstmLogits = (x: Tensor): Tensor => lstm.run(x.transpose(0, 1)).logits.transpose(0, 1);
  const lCurve = trainFor(lstm, lstmLogits, data, { ...settings, lr: 0.005 }, (s, l) => print(`lstm        ${s.toFixed(1)} s: val loss ${l.toFixed(3)}`));
  return { transformer, corpus, curves: { transformer: tCurve, lstm: lCurve }, params };
}

const USAGE = `usage: node dist/examples/transformer-lm.js [options]
  --seconds X (60)                                                  training time of each model
  --d-model N (64)  --heads N (4)  --layers N (2)  --ff N (256)      Transformer size
  --context N (64)  --batch N (32)  --lr X (0.002)  --seed N (0)     training windows, Adam
  --length N (200)  --prompt TEXT ('Shall I')                       samples
  --temperature X (0.8)  --top-k N (5)                              sampling strategies
  --out FILE (transformer-lm-curve)                                 learning-curve PNG/SVG base name
  --help                                                            this text`;

/** The command line: compares the two models, prints samples and writes the learning curves. */
export function main(args: string[], print: (line: string) => void = console.log): { transformer: number; lstm: number } | null {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '60' },
      'd-model': { type: 'string', default: '64' },
      heads: { type: 'string', default: '4' },
      layers: { type: 'string', default: '2' },
      ff: { type: 'string', default: '256' },
      context: { type: 'string', default: '64' },
      batch: { type: 'string', default: '32' },
      lr: { type: 'string', default: '0.002' },
      seed: { type: 'string', default: '0' },
      length: { type: 'string', default: '200' },
      prompt: { type: 'string', default: 'Shall I' },
      temperature: { type: 'string', default: '0.8' },
      'top-k': { type: 'string', default: '5' },
      out: { type: 'string', default: 'transformer-lm-curve' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return null;
  }
  const n = (key: keyof typeof values): number => Number(values[key]);
  const { transformer, corpus, curves } = compare({
    seconds: n('seconds'), dModel: n('d-model'), heads: n('heads'), layers: n('layers'), ff: n('ff'), context: n('context'), batch: n('batch'), lr: n('lr'), seed: n('seed'),
    every: 50, print,
  });
  const last = (c: Curve): number => c.valLoss[c.valLoss.length - 1];
  print(`validation loss after equal training time: transformer ${last(curves.transformer).toFixed(3)}, lstm ${last(curves.lstm).toFixed(3)} nats/char`);
  transformer.eval();
  const prompt = String(values.prompt);
  const ids = [...prompt].map((c) => corpus.index.get(c) ?? 0);
  const from = { token: ids[ids.length - 1], state: ids.slice(0, -1) };
  const maxLength = n('length');
  const generator = new Generator(n('seed'));
  const decode = (tokens: number[]): string => tokens.map((t) => corpus.chars[t]).join('');
  const show = (name: string, tokens: number[]): void => print(`--- ${name}\n${prompt}${decode(tokens)}\n`);
  show('greedy', nn.greedySearch(transformer.nextToken, from, { maxLength }));
  show(`sampling (temperature ${n('temperature')})`, nn.sample(transformer.nextToken, from, { maxLength, temperature: n('temperature'), generator }));
  show(`top-${n('top-k')} sampling`, nn.sample(transformer.nextToken, from, { maxLength, topK: n('top-k'), generator }));
  const svg = plot.lineChartSvg({
    title: 'Character LM: validation loss vs training time',
    xLabel: 'training seconds',
    yLabel: 'nats / char',
    series: [
      { name: 'Transformer', x: curves.transformer.seconds, y: curves.transformer.valLoss },
      { name: 'LSTM (same parameter count)', x: curves.lstm.seconds, y: curves.lstm.valLoss },
    ],
  });
  const files = plot.writePlot(String(values.out), svg, 2);
  print(`learning curves: ${files.png}`);
  return { transformer: last(curves.transformer), lstm: last(curves.lstm) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
