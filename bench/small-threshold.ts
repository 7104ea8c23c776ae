/**
 * Measures where the small-tensor path stops paying: for each op family of
 * lib/backend/small.ts, the time of one op at growing sizes with every call in TypeScript
 * (small-path mode 'always') and every call in the addon ('off'), and the largest size up to
 * which TypeScript was never slower. SMALL_PATH_LIMITS
 * holds these sizes, rounded down to a power of two.
 *
 * Run: `npx tsc -p tsconfig.json && node dist/bench/small-threshold.js`. Times are CPU time per
 * call (process.cpuUsage), which other tenants of a shared machine disturb less than wall time.
 */
import { setSmallPathMode } from '../lib/backend/small.js';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';

/** Median CPU microseconds per call of fn over 5 rounds of ~100 ms, after a warm-up. */
function cpuMicros(fn: () => unknown): number {
  for (let i = 0; i < 200; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    let calls = 0;
    const start = process.cpuUsage();
    const wallStart = performance.now();
    while (performance.now() - wallStart < 100) {
      for (let i = 0; i < 20; i++) fn();
      calls += 20;
    }
    const used = process.cpuUsage(start);
    rounds.push((used.user + used.system) / calls);
  }
  rounds.sort((a, b) => a - b);
  return rounds[2];
}

/** One family: how to build an op of `size` (elements, or multiply-adds for matmul). */
interface Family {
  name: string;
  op: (size: number) => () => unknown;
}

const FAMILIES: Family[] = [
  { name: 'elementwise (add)', op: (n) => { const a = k.randn([n]); const b = k.randn([n]); return () => k.add(a, b); } },
  { name: 'elementwise (relu)', op: (n) => { const a = k.randn([n]); return () => k.relu(a); } },
  { name: 'transcendental (exp)', op: (n) => { const a = k.randn([n]); return () => k.exp(a); } },
  { name: 'transcendental (tanh)', op: (n) => { const a = k.randn([n]); return () => k.tanh(a); } },
  { name: 'reduce (sum)', op: (n) => { const a = k.randn([n]); return () => k.sum(a); } },
  { name: 'reduce (argmax)', op: (n) => { const a = k.randn([n]); return () => k.argmax(a); } },
  { name: 'softmax', op: (n) => { const a = k.randn([n]); return () => k.softmax(a, 0); } },
  {
    name: 'matmul (m·k·n, square)',
    op: (macs) => {
      const side = Math.max(1, Math.round(Math.cbrt(macs)));
      const a = k.randn([side, side]);
      const b = k.randn([side, side]);
      return () => k.matmul(a, b);
    },
  },
  {
    name: 'optimizer (sgd momentum)',
    op: (n) => {
      const p = k.randn([n]).requiresGrad_();
      p.grad = k.randn([n]) as Tensor;
      const opt = new k.optim.SGD([p], { lr: 0.01, momentum: 0.9 });
      return () => opt.step();
    },
  },
];

const SIZES = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768];

k.setBackend('native');
k.setNumThreads(1);
for (const family of FAMILIES) {
  let breakEven = 0;
  const cells: string[] = [];
  for (const size of SIZES) {
    const fn = family.op(size);
    setSmallPathMode('always');
    const typescript = cpuMicros(fn);
    setSmallPathMode('off');
    const addon = cpuMicros(fn);
    setSmallPathMode('limits');
    if (typescript <= addon && breakEven === size / 2) breakEven = size;
    if (size === SIZES[0] && typescript <= addon) breakEven = size;
    cells.push(`${size}: ${typescript.toFixed(2)}/${addon.toFixed(2)}`);
  }
  console.log(`${family.name}: TypeScript not slower up to ${breakEven || 'none'}  (size: TS µs / addon µs)`);
  console.log(`  ${cells.join('  ')}`);
}
