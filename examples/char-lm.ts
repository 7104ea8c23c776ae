/**
 * A character-level language model (embedding → LSTM → linear) trained with truncated BPTT on
 * nine of Shakespeare's sonnets, then sampled with every strategy: greedy, beam search, random
 * sampling with a temperature, and top-k sampling.
 *
 * Text: examples/data/sonnets.txt, sonnets 1, 2, 18, 29, 30, 55, 73, 116 and 130 from William
 * Shakespeare's "Shake-speares Sonnets" (1609), in modernised spelling. Public domain: the
 * author died in 1616 and the text was published in 1609, long outside copyright everywhere.
 *
 * Training is stateful: the text is cut into `batch` parallel streams, walked `--k1` characters
 * at a time with TBPTT(k1, k2); the hidden state is carried (detached) from window to window
 * and epoch to epoch.
 *
 * Run: `npx tsc -p tsconfig.json && node dist/examples/char-lm.js --epochs 30`
 * (flags: --epochs --hidden --embed --batch --k1 --k2 --lr --seed --length --prompt
 *  --temperature --top-k --beam).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { F, Generator, detachState, manualSeed, nn, noGrad, optim, tensor, truncatedBptt, type Tensor } from '../lib/index.js';

/** Settings of one training run. */
export interface CharLmOptions {
  epochs: number;
  hidden: number;
  embed: number;
  batch: number;
  k1: number;
  k2: number;
  lr: number;
  seed: number;
  /** Characters of the text to use (default: all). */
  textLength?: number;
  /** Called after every epoch with its mean loss per character. */
  onEpoch?: (epoch: number, loss: number) => void;
}

/** The corpus, its vocabulary and the character ↔ index maps. */
export interface Corpus {
  text: string;
  chars: string[];
  index: Map<string, number>;
}

/** Reads the sonnets (optionally only the first `length` characters). */
export function loadCorpus(length?: number): Corpus {
  const text = readFileSync(corpusPath(), 'utf8').slice(0, length);
  const chars = [...new Set(text)].sort();
  return { text, chars, index: new Map(chars.map((c, i) => [c, i])) };
}

/** The text file, whether this runs from examples/ (source) or dist/examples/ (compiled). */
function corpusPath(): string {
  const beside = fileURLToPath(new URL('./data/sonnets.txt', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../examples/data/sonnets.txt', import.meta.url));
}

/** Embedding → LSTM → Linear over characters. */
export class CharLm extends nn.Module {
  embedding: nn.Embedding;
  lstm: nn.LSTM;
  head: nn.Linear;

  constructor(vocab: number, embed: number, hidden: number, generator: Generator) {
    super();
    this.embedding = new nn.Embedding(vocab, embed, { generator });
    this.lstm = new nn.LSTM(embed, hidden, { generator });
    this.head = new nn.Linear(hidden, vocab, { generator });
  }

  /** tokens (T, B) int32 → logits (T, B, vocab), and the state after the last step. */
  run(tokens: Tensor, state?: nn.RecurrentState): { logits: Tensor; state: nn.RecurrentState } {
    const { output, h, c } = this.lstm.forwardWithState(this.embedding.forward(tokens), state);
    return { logits: this.head.forward(output), state: { h, c } };
  }

  /** The model as sampling.ts expects it: one token in, the next token's logits out. */
  nextToken: nn.NextToken<nn.RecurrentState | undefined> = (token, state) => {
    const { logits, state: after } = this.run(tensor([[token]], { dtype: 'int32' }), state);
    return { logits: logits.reshape([-1]), state: after };
  };
}

/** The text as `batch` equally long streams: (steps, batch) int32, column b = the b-th slice. */
function batchify(corpus: Corpus, batch: number): Tensor {
  const steps = Math.floor(corpus.text.length / batch);
  const data = new Int32Array(steps * batch);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) data[t * batch + b] = corpus.index.get(corpus.text[b * steps + t])!;
  }
  return tensor(data, { shape: [steps, batch] });
}

/**
 * Trains a CharLm with stateful TBPTT and Adam (gradients clipped to norm 1). Returns the
 * model, the corpus and the mean loss per character of every epoch.
 */
export function trainCharLm(o: CharLmOptions): { model: CharLm; corpus: Corpus; losses: number[] } {
  manualSeed(o.seed);
  const corpus = loadCorpus(o.textLength);
  const model = new CharLm(corpus.chars.length, o.embed, o.hidden, new Generator(o.seed));
  const opt = new optim.Adam(model.parameters(), { lr: o.lr });
  const stream = batchify(corpus, o.batch);
  const inputs = stream.narrow(0, 0, stream.shape[0] - 1);
  const targets = stream.narrow(0, 1, stream.shape[0] - 1);
  const length = inputs.shape[0];
  let state: nn.RecurrentState | undefined;
  const losses: number[] = [];
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const result = truncatedBptt({
      length,
      k1: o.k1,
      k2: o.k2,
      initialState: state,
      run: (start, end, s, withLoss) => {
        const out = model.run(inputs.narrow(0, start, end - start), s);
        const target = targets.narrow(0, start, end - start).flatten();
        const loss = withLoss ? F.crossEntropy(out.logits.flatten(0, 1), target, { reduction: 'sum' }) : null;
        return { state: out.state, loss };
      },
      update: (loss, window) => {
        opt.zeroGrad();
        loss.div((window.end - window.start) * o.batch).backward();
        optim.clipGradNorm_(model.parameters(), 1.0);
        opt.step();
      },
    });
    state = detachState(result.state);
    const mean = result.losses.reduce((a, b) => a + b, 0) / (length * o.batch);
    losses.push(mean);
    o.onEpoch?.(epoch, mean);
  }
  return { model, corpus, losses };
}

/** The characters of `tokens`. */
const decode = (corpus: Corpus, tokens: number[]): string => tokens.map((t) => corpus.chars[t]).join('');

/** The state after reading every character of `prompt` but the last, and that last one. */
function primed(model: CharLm, corpus: Corpus, prompt: string): nn.SequenceStart<nn.RecurrentState | undefined> {
  const ids = [...prompt].map((c) => corpus.index.get(c) ?? 0);
  const last = ids.pop()!;
  if (ids.length === 0) return { token: last, state: undefined };
  const state = noGrad(() => model.run(tensor([ids], { dtype: 'int32' }).transpose(0, 1)).state);
  return { token: last, state };
}

const USAGE = `usage: node dist/examples/char-lm.js [options]
  --epochs N (30)  --hidden N (128)  --embed N (32)  --batch N (16)   training size
  --k1 N (25)  --k2 N (50)                                          TBPTT: update every k1 steps, backpropagate k2
  --lr X (0.005)  --seed N (0)                                      Adam learning rate, random seed
  --length N (200)  --prompt TEXT ('Shall I')                       samples: characters to generate, prompt
  --temperature X (0.8)  --top-k N (5)  --beam N (5)                sampling strategies
  --help                                                            this text`;

/** The command line: trains, then prints a sample of each strategy. args: process.argv.slice(2) style. */
export function main(args: string[], print: (line: string) => void = console.log): void {
  const { values } = parseArgs({
    args,
    options: {
      epochs: { type: 'string', default: '30' },
      hidden: { type: 'string', default: '128' },
      embed: { type: 'string', default: '32' },
      batch: { type: 'string', default: '16' },
      k1: { type: 'string', default: '25' },
      k2: { type: 'string', default: '50' },
      lr: { type: 'string', default: '0.005' },
      seed: { type: 'string', default: '0' },
      length: { type: 'string', default: '200' },
      prompt: { type: 'string', default: 'Shall I' },
      temperature: { type: 'string', default: '0.8' },
      'top-k': { type: 'string', default: '5' },
      beam: { type: 'string', default: '5' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    print(USAGE);
    return;
  }
  const n = (key: keyof typeof values): number => Number(values[key]);
  const start = performance.now();
  const { model, corpus } = trainCharLm({
    epochs: n('epochs'), hidden: n('hidden'), embed: n('embed'), batch: n('batch'), k1: n('k1'), k2: n('k2'), lr: n('lr'), seed: n('seed'),
    onEpoch: (epoch, loss) => print(`epoch ${epoch}: loss ${loss.toFixed(3)} nats/char`),
  });
  print(`trained in ${((performance.now() - start) / 1000).toFixed(1)} s on ${corpus.text.length} characters, vocabulary ${corpus.chars.length}\n`);
  model.eval();
  const prompt = String(values.prompt);
  const from = primed(model, corpus, prompt);
  const maxLength = n('length');
  const generator = new Generator(n('seed'));
  const show = (name: string, tokens: number[]): void => print(`--- ${name}\n${prompt}${decode(corpus, tokens)}\n`);
  show('greedy', nn.greedySearch(model.nextToken, from, { maxLength }));
  show(`beam search (k = ${n('beam')})`, nn.beamSearch(model.nextToken, from, { maxLength: Math.min(maxLength, 60), beamWidth: n('beam') })[0].tokens);
  show(`sampling (temperature ${n('temperature')})`, nn.sample(model.nextToken, from, { maxLength, temperature: n('temperature'), generator }));
  show(`top-${n('top-k')} sampling`, nn.sample(model.nextToken, from, { maxLength, topK: n('top-k'), generator }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
