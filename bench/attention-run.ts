/**
 * One kiln case of bench suite `attention`, in a process of its own so that its peak RSS is
 * its alone (bench/attention.ts spawns it).
 *
 * Usage: node dist/bench/attention-run.js CASE BACKEND THREADS. Prints one JSON row (in a
 * list): median_ms per call (forward, or forward + backward) and peak_rss_mb.
 */
import { F, nn, noGrad, randn, setBackend, setNumThreads, tidy, type BackendName, type Tensor } from '../lib/index.js';
import { ATTENTION_CASES, type AttentionCase } from './attention-cases.js';
import { timeIt, type BenchRow } from './harness.js';

/** A function running the case once (inputs made beforehand). */
function sdpaStep(c: AttentionCase): () => void {
  const shape = [c.batch, c.heads, c.L, c.headDim];
  const [q, k, v] = [0, 1, 2].map(() => randn(shape, { requiresGrad: c.backward }));
  return () =>
    tidy(() => {
      const out = F.scaledDotProductAttention(q, k, v, { isCausal: c.causal });
      if (c.backward) {
        out.sum().backward();
        for (const t of [q, k, v]) t.zeroGrad();
      }
    });
}

/** MultiheadAttention self-attention (mha) or a TransformerEncoderLayer (encoder), batch-first. */
function moduleStep(c: AttentionCase): () => void {
  const E = c.heads * c.headDim;
  const x = randn([c.batch, c.L, E], { requiresGrad: c.backward });
  const module = c.kind === 'mha' ? new nn.MultiheadAttention(E, c.heads, { batchFirst: true }) : new nn.TransformerEncoderLayer(E, c.heads, { dimFeedforward: c.ff, batchFirst: true });
  const forward = (): Tensor => (module instanceof nn.MultiheadAttention ? module.forward(x, x, x, { needWeights: false })[0] : (module as nn.TransformerEncoderLayer).forward(x));
  if (!c.backward) return () => tidy(() => void noGrad(forward)); // inference, as the anchor's fwd rows
  return () =>
    tidy(() => {
      forward().sum().backward();
      x.zeroGrad();
      module.zeroGrad();
    });
}

const [caseName, backend, threadsArg] = process.argv.slice(2);
const c = ATTENTION_CASES.find((x) => x.name === caseName);
if (c === undefined) throw new Error(`attention-run: unknown case '${caseName}'`);
setBackend(backend as BackendName);
setNumThreads(Number(threadsArg));
const step = c.kind === 'sdpa' ? sdpaStep(c) : moduleStep(c);
step(); // warm-up: the pool's threads, the storage pool, the JIT
const medianMs = timeIt(step, { rounds: 3, minRoundMs: 0 });
const row: BenchRow = {
  suite: 'attention',
  case: c.name,
  impl: `kiln-${backend}`,
  threads: Number(threadsArg),
  median_ms: medianMs,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
};
console.log(JSON.stringify([row]));
