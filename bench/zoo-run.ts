/**
 * One kiln row of bench suite `zoo`, in a process of its own so that its peak RSS is its
 * alone (bench/zoo.ts spawns it).
 *
 * Usage: node dist/bench/zoo-run.js CASE_KEY THREADS [ROUNDS] [AUTOCAST]. Prints one JSON row
 * (in a list): median_ms per step or pass (harness timeIt, ROUNDS rounds, default 5),
 * samples_per_s, peak_rss_mb, and build_ms (constructing the model). Training steps run in
 * tidy(), as fit() runs them; AUTOCAST `bfloat16` runs a training step's forward and loss under
 * autocast('bfloat16', …), as fit({ autocast }) does (impl `kiln-native-autocast-bf16`). The
 * input is random; the weights are the constructors' initialisation (seed 0).
 */
import { autocast, manualSeed, models, nn, noGrad, optim, randint, randn, setBackend, setNumThreads, tidy, type Tensor } from '../lib/index.js';
import { timeIt, type BenchRow } from './harness.js';
import { ZOO_CASES } from './zoo-cases.js';

const [key, threadsArg, roundsArg, autocastArg] = process.argv.slice(2);
const spec = ZOO_CASES.find((c) => c.key === key);
if (spec === undefined) throw new Error(`zoo-run: unknown case '${key}'; cases are ${ZOO_CASES.map((c) => c.key).join(', ')}`);
const threads = Number(threadsArg);
setBackend('native');
setNumThreads(threads);
manualSeed(0);

const buildStart = performance.now();
const net = (models[spec.model] as (options: object) => nn.Module)(spec.options);
const buildMs = performance.now() - buildStart;
const x = randn(spec.input);
const rounds = Number(roundsArg ?? 5);
const lowPrecision = autocastArg === 'bfloat16';
if (lowPrecision && spec.mode !== 'train') throw new Error(`zoo-run: AUTOCAST applies to training cases, '${key}' is ${spec.mode}`);

let step: () => void;
if (spec.mode === 'train') {
  const numClasses = Number(spec.options.numClasses ?? 1000);
  const y = randint(0, numClasses, [spec.input[0]]);
  const optimizer = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const lossFn = new nn.CrossEntropyLoss();
  net.train();
  step = () =>
    tidy(() => {
      optimizer.zeroGrad();
      const forward = (): Tensor => lossFn.forward(net.forward(x) as Tensor, y);
      (lowPrecision ? autocast('bfloat16', forward) : forward()).backward();
      optimizer.step();
    });
} else {
  net.eval();
  step = () => tidy(() => void noGrad(() => net.forward(x)));
}

const ms = timeIt(step, { rounds, minRoundMs: 1 }); // one warm-up call, then rounds of 2 calls
const row: BenchRow & { build_ms: number } = {
  suite: 'zoo',
  case: spec.name,
  impl: lowPrecision ? 'kiln-native-autocast-bf16' : 'kiln-native',
  threads,
  median_ms: ms,
  samples_per_s: (spec.input[0] * 1000) / ms,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  build_ms: buildMs,
};
console.log(JSON.stringify([row]));
