/**
 * Per-op profile of a zoo case (bench/zoo-cases.ts).
 *
 * Inference cases: every leaf module's forward is timed on its own (each module's instance
 * forward is wrapped, which also turns off nn.Sequential's fusion, so these are the unfused
 * ops), and the time a container spends outside its children (the residual add,
 * concatenation, pooling, flatten) is charged to the container.
 *
 * Training cases: the same forward rows (autograd already runs them unfused), the loss, and
 * one backward row per op kind: each autograd node is charged to the module whose output it
 * made (other nodes, such as the residual add or flatten, by their op name), plus the SGD
 * step, zeroGrad and what the backward pass spends outside the nodes (the engine, tidy).
 * Convolutions are split by channels and input size.
 *
 * Every row is exclusive (nested timings are not counted twice): wall ms and process CPU ms
 * (all threads; CPU / wall shows how well an op uses the threads), each the median over
 * ROUNDS passes of its sum over one pass.
 *
 * Usage: node dist/bench/zoo-profile.js CASE_KEY THREADS [ROUNDS], e.g.
 * `node dist/bench/zoo-profile.js mobilenetv2-infer 1 5` or `… resnet18-train 2 5`.
 */
import { manualSeed, models, nn, noGrad, optim, randint, randn, setBackend, setNumThreads, tidy, type Tensor } from '../lib/index.js';
import { GradNode, MultiOutputOp, OutputNode } from '../lib/autograd/engine.js';
import { ZOO_CASES } from './zoo-cases.js';

const [key, threadsArg, roundsArg] = process.argv.slice(2);
const spec = ZOO_CASES.find((c) => c.key === key);
if (spec === undefined) throw new Error(`zoo-profile: unknown case '${key}'; cases are ${ZOO_CASES.map((c) => c.key).join(', ')}`);
const training = spec.mode === 'train';
setBackend('native');
setNumThreads(Number(threadsArg));
manualSeed(0);
const net = (models[spec.model] as (options: object) => nn.Module)(spec.options);
const x = randn(spec.input);

/** The op kind of a module for the table: convolutions by shape (and, when training, by channels and input size), the rest by class. */
function kindOf(m: nn.Module, input: unknown): string {
  if (!(m instanceof nn.Conv2d)) return m.constructor.name;
  const [k, cPerGroup, kh, kw] = m.weight.shape;
  const stride = Array.isArray(m.options.stride) ? m.options.stride[0] : (m.options.stride ?? 1);
  const where = training ? ` ${cPerGroup}→${k} @${(input as Tensor).shape[2]}²` : '';
  if (m.options.groups !== undefined && m.options.groups > 1 && cPerGroup === 1) return `conv depthwise ${kh}×${kw} s${stride}${where}`;
  if (kh === 1 && kw === 1) return (k > cPerGroup ? 'conv 1×1 expand' : 'conv 1×1 project/reduce') + (training ? ` s${stride}${where}` : '');
  if (cPerGroup === 3) return `conv stem ${kh}×${kw} s${stride}${where}`;
  return `conv ${kh}×${kw} s${stride}${where}`;
}

/** Per kind, [wall ms, CPU ms] summed over each pass (index = pass). */
const totals = new Map<string, { wall: number[]; cpu: number[] }>();
let pass = 0;
/** The wall and CPU time spent in timed regions nested in each open region (innermost last). */
const nested: { wall: number; cpu: number }[] = [{ wall: 0, cpu: 0 }];

/** Runs fn, charging its time outside nested timed regions to `kind`. */
function timed<T>(kind: string, fn: () => T): T {
  nested.push({ wall: 0, cpu: 0 });
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const out = fn();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu0);
  const cpu = (used.user + used.system) / 1000;
  const inner = nested.pop()!;
  nested[nested.length - 1].wall += wall;
  nested[nested.length - 1].cpu += cpu;
  const row = totals.get(kind) ?? { wall: [], cpu: [] };
  row.wall[pass] = (row.wall[pass] ?? 0) + wall - inner.wall;
  row.cpu[pass] = (row.cpu[pass] ?? 0) + cpu - inner.cpu;
  totals.set(kind, row);
  return out;
}

/** The module kind whose output each autograd node (or multi-output op) made. */
const nodeKinds = new WeakMap<GradNode | MultiOutputOp, string>();

/** Remembers that `out`'s backward belongs to `kind`. */
function labelBackward(out: unknown, kind: string): void {
  const node = (out as Tensor | null)?.gradFn ?? null;
  if (node === null || nodeKinds.has(node)) return;
  nodeKinds.set(node instanceof OutputNode ? node.op : node, kind);
}

// Wrap every module: leaves charge their whole time, containers their time outside children.
for (const m of net.modules()) {
  const forward = m.forward.bind(m) as (...a: never[]) => unknown;
  const leaf = [...m.children()].length === 0;
  m.forward = (...args: never[]) => {
    const kind = leaf ? kindOf(m, args[0]) : `${m.constructor.name} (own work)`;
    const out = timed(training ? `fwd ${kind}` : kind, () => forward(...args));
    if (training && leaf) labelBackward(out, `bwd ${kind}`);
    return out;
  };
}

/** One pass: an eval-mode forward, or a training step timed phase by phase. */
let step: () => void;
if (training) {
  // Every backward node is timed, charged to its module's kind or else to its op's name.
  const applyNode = GradNode.prototype.apply;
  GradNode.prototype.apply = function (this: GradNode, grad: Tensor) {
    return timed(nodeKinds.get(this) ?? `bwd ${this.name} (op)`, () => applyNode.call(this, grad));
  };
  const applyOp = MultiOutputOp.prototype.apply;
  MultiOutputOp.prototype.apply = function (this: MultiOutputOp, grads: (Tensor | null)[]) {
    return timed(nodeKinds.get(this) ?? `bwd ${this.name} (op)`, () => applyOp.call(this, grads));
  };
  const y = randint(0, Number(spec.options.numClasses ?? 1000), [spec.input[0]]);
  const optimizer = new optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const lossFn = new nn.CrossEntropyLoss();
  net.train();
  step = () =>
    tidy(() => {
      timed('optimizer zeroGrad', () => optimizer.zeroGrad());
      const loss = timed('fwd CrossEntropyLoss', () => lossFn.forward(net.forward(x) as Tensor, y));
      labelBackward(loss, 'bwd CrossEntropyLoss');
      timed('backward engine (outside nodes)', () => loss.backward());
      timed('optimizer SGD step', () => optimizer.step());
    });
} else {
  net.eval();
  step = () => tidy(() => void noGrad(() => net.forward(x)));
}

const rounds = Number(roundsArg ?? 5);
step(); // warm-up
totals.clear();
const wall: number[] = [];
for (pass = 0; pass < rounds; pass++) {
  const start = performance.now();
  step();
  wall.push(performance.now() - start);
}
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const stepMs = median(wall);
const rows = [...totals].map(([kind, t]) => [kind, median(t.wall), median(t.cpu)] as const).sort((a, b) => b[1] - a[1]);
const accounted = rows.reduce((sum, r) => sum + r[1], 0);
console.log(`${spec.name}, ${threadsArg} thread(s): ${stepMs.toFixed(2)} ms per pass (median of ${rounds}), ${accounted.toFixed(1)} ms in the rows`);
console.log(`  ${'op kind'.padEnd(44)} ${'wall ms'.padStart(9)} ${'% pass'.padStart(7)} ${'CPU ms'.padStart(9)} ${'CPU/wall'.padStart(8)}`);
for (const [kind, ms, cpu] of rows) {
  const share = ((100 * ms) / stepMs).toFixed(1);
  console.log(`  ${kind.padEnd(44)} ${ms.toFixed(3).padStart(9)} ${share.padStart(7)} ${cpu.toFixed(1).padStart(9)} ${(cpu / ms).toFixed(2).padStart(8)}`);
}
