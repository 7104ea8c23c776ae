/**
 * Per-op profile of a zoo inference case (bench/zoo-cases.ts): every leaf module's forward is
 * timed on its own (each module's instance forward is wrapped, which also turns off
 * nn.Sequential's fusion, so these are the unfused ops), and the time a container spends
 * outside its children (the residual add, concatenation, pooling, flatten) is charged to the
 * container. Prints ms per op kind, summed over the model, median of ROUNDS passes.
 *
 * Usage: node dist/bench/zoo-profile.js CASE_KEY THREADS [ROUNDS], e.g.
 * `node dist/bench/zoo-profile.js mobilenetv2-infer 1 5`.
 */
import { manualSeed, models, nn, noGrad, randn, setBackend, setNumThreads, tidy } from '../lib/index.js';
import { ZOO_CASES } from './zoo-cases.js';

const [key, threadsArg, roundsArg] = process.argv.slice(2);
const spec = ZOO_CASES.find((c) => c.key === key && c.mode === 'infer');
if (spec === undefined) throw new Error(`zoo-profile: '${key}' is no inference case; cases are ${ZOO_CASES.filter((c) => c.mode === 'infer').map((c) => c.key).join(', ')}`);
setBackend('native');
setNumThreads(Number(threadsArg));
manualSeed(0);
const net = (models[spec.model] as (options: object) => nn.Module)(spec.options);
net.eval();
const x = randn(spec.input);

/** The op kind of a module for the table: convolutions by shape, the rest by class. */
function kindOf(m: nn.Module): string {
  if (m instanceof nn.Conv2d) {
    const [k, cPerGroup, kh, kw] = m.weight.shape;
    const stride = Array.isArray(m.options.stride) ? m.options.stride[0] : (m.options.stride ?? 1);
    if (m.options.groups !== undefined && m.options.groups > 1 && cPerGroup === 1) return `conv depthwise ${kh}×${kw} s${stride}`;
    if (kh === 1 && kw === 1) return k > cPerGroup ? 'conv 1×1 expand' : 'conv 1×1 project/reduce';
    if (cPerGroup === 3) return `conv stem ${kh}×${kw} s${stride}`;
    return `conv ${kh}×${kw} s${stride}`;
  }
  return m.constructor.name;
}

const totals = new Map<string, number[]>(); // kind → ms per pass
let pass = 0;
function charge(kind: string, ms: number): void {
  const list = totals.get(kind) ?? [];
  list[pass] = (list[pass] ?? 0) + ms;
  totals.set(kind, list);
}

// Wrap every module: leaves charge their whole time, containers their time outside children.
const childMs: number[] = [0];
for (const m of net.modules()) {
  const forward = m.forward.bind(m);
  const leaf = [...m.children()].length === 0;
  const kind = leaf ? kindOf(m) : `${m.constructor.name} (own work)`;
  m.forward = (...args: never[]) => {
    childMs.push(0);
    const start = performance.now();
    const out = (forward as (...a: never[]) => unknown)(...args);
    const ms = performance.now() - start;
    const inChildren = childMs.pop()!;
    childMs[childMs.length - 1] += ms;
    charge(kind, leaf ? ms : ms - inChildren);
    return out;
  };
}

const rounds = Number(roundsArg ?? 5);
tidy(() => void noGrad(() => net.forward(x))); // warm-up
totals.clear();
const wall: number[] = [];
for (pass = 0; pass < rounds; pass++) {
  const start = performance.now();
  tidy(() => void noGrad(() => net.forward(x)));
  wall.push(performance.now() - start);
}
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const rows = [...totals].map(([kind, ms]) => [kind, median(ms)] as const).sort((a, b) => b[1] - a[1]);
console.log(`${spec.name}, ${threadsArg} thread(s): ${median(wall).toFixed(2)} ms per pass (median of ${rounds})`);
for (const [kind, ms] of rows) console.log(`  ${kind.padEnd(34)} ${ms.toFixed(3).padStart(9)} ms`);
