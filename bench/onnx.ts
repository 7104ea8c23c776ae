/**
 * Suite `onnx`: kiln inference against onnxruntime-node (1 and 2 threads) on models exported
 * with onnx.export: LeNet-5 at batch 64 and MobileNet-v2 at batch 1 (bench/onnx-infer.ts, in a
 * child process because onnxruntime-node's API is asynchronous). Prints kiln's speed relative
 * to onnxruntime-node per case at each one's best thread count; the target is kiln ≥ 1.0× on
 * LeNet. KILN_BENCH_CASES narrows the cases (e.g. `lenet-5`; `lenet` also matches mobilenet).
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './harness.js';

/** Runs the suite and prints the ratio. */
export function runOnnx(): BenchRow[] {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'onnx-infer.js');
  const result = spawnSync(process.execPath, [script], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    const why = (result.stderr || result.stdout || 'failed').trim().split('\n').pop();
    return [{ suite: 'onnx', case: 'all cases', impl: 'kiln-native', median_ms: null, skipped: `run failed: ${why}` }];
  }
  const rows = JSON.parse(result.stdout) as BenchRow[];
  for (const name of new Set(rows.map((r) => r.case))) {
    const best = (impl: string): number | undefined => {
      const times = rows.filter((r) => r.case === name && r.impl === impl && r.median_ms !== null).map((r) => r.median_ms!);
      return times.length === 0 ? undefined : Math.min(...times);
    };
    const kiln = best('kiln-native');
    const ort = best('onnxruntime-node');
    if (kiln !== undefined && ort !== undefined) console.log(`${name}: kiln ${(ort / kiln).toFixed(2)}× onnxruntime-node's speed (best thread count each)`);
  }
  return rows;
}
