/**
 * Suite `attention`: the cases of bench/attention-cases.ts (scaled dot-product attention,
 * causal, B4 H8 L2048 D64, forward and forward + backward), every implementation in a process
 * of its own so each row's peak_rss_mb is its own: kiln-native at 1 and 2 threads and
 * PyTorch 1.13's unfused softmax(QKᵀ)V at 1 and 2 threads (bench/anchors/torch_attention.py).
 * The `mha` (MultiheadAttention self-attention B32 L128 E256 H8) and `encoder`
 * (TransformerEncoderLayer 256/8/1024, batchFirst) cases run the same way against PyTorch 1.13's
 * modules. Targets (issue 13): sdpa fwd+bwd ≥ 2× PyTorch's best, and kiln's peak RSS below
 * PyTorch's; mha fwd and fwd+bwd and encoder fwd+bwd ≥ 1.5× PyTorch's best. KILN_BENCH_CASES
 * (comma-separated words) narrows a run to the cases whose names contain one of them.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectedAttentionCases, type AttentionCase } from './attention-cases.js';
import { runPythonAnchor, type BenchRow } from './harness.js';

const SUITE = 'attention';
const THREADS = [1, 2];

/** Runs bench/attention-run.ts for one case in a child process and returns its row. */
function kilnRun(c: AttentionCase, threads: number): BenchRow {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'attention-run.js');
  const result = spawnSync(process.execPath, [script, c.name, 'native', String(threads)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    const why = (result.stderr || result.stdout || 'failed').trim().split('\n').pop();
    return { suite: SUITE, case: c.name, impl: 'kiln-native', threads, median_ms: null, skipped: `run failed: ${why}` };
  }
  return (JSON.parse(result.stdout) as BenchRow[])[0];
}

function torchRun(c: AttentionCase, threads: number): BenchRow {
  const [row] = runPythonAnchor('torch_attention.py', [JSON.stringify(c), String(threads)], { suite: SUITE, impl: 'pytorch', cases: [c.name] });
  return { ...row, threads };
}

/** The fastest measured row (skipped rows last). */
function fastest(rows: BenchRow[]): BenchRow | undefined {
  const measured = rows.filter((r) => r.median_ms !== null);
  return measured.length === 0 ? undefined : measured.reduce((best, r) => (r.median_ms! < best.median_ms! ? r : best));
}

/** Prints, per case, kiln's best against PyTorch's best: the speed ratio and both peak RSS. */
function printRatios(rows: BenchRow[], cases: AttentionCase[]): void {
  console.log('');
  for (const c of cases) {
    const kiln = fastest(rows.filter((r) => r.case === c.name && r.impl === 'kiln-native'));
    const torch = fastest(rows.filter((r) => r.case === c.name && r.impl === 'pytorch'));
    if (kiln === undefined || torch === undefined) continue;
    console.log(
      `${c.name}: kiln-native ${(torch.median_ms! / kiln.median_ms!).toFixed(2)}× PyTorch's best ` +
        `(${kiln.median_ms!.toFixed(0)} vs ${torch.median_ms!.toFixed(0)} ms; peak RSS ${kiln.peak_rss_mb?.toFixed(0)} vs ${torch.peak_rss_mb?.toFixed(0)} MB)`,
    );
  }
}

/** Runs every case: kiln-native and PyTorch at 1 and 2 threads, one process per row. */
export function runAttention(): BenchRow[] {
  const cases = selectedAttentionCases();
  const rows = cases.flatMap((c) => THREADS.flatMap((t) => [kilnRun(c, t), torchRun(c, t)]));
  printRatios(rows, cases);
  return rows;
}
