/**
 * bench/harness.ts's medianOverPasses: each row's median over alternating passes, every pass's
 * time kept, skipped rows left skipped, rows matched across passes by a key. printTable: the
 * anchor a kiln row is compared with (any thread count, or the same one).
 */
import { describe, expect, it, vi } from 'vitest';

import { medianOverPasses, printTable, type BenchRow } from '../bench/harness.js';

const row = (impl: string, threads: number, ms: number | null): BenchRow => ({ suite: 's', case: 'c', impl, threads, median_ms: ms, ...(ms === null ? { skipped: 'not installed' } : {}) });

describe('medianOverPasses', () => {
  it('reports the median of each row over the passes and keeps every pass time', () => {
    const passes = [
      [row('kiln-native', 2, 3), row('pytorch', 1, 9)],
      [row('kiln-native', 2, 5), row('pytorch', 1, 7)],
      [row('kiln-native', 2, 4), row('pytorch', 1, 8)],
    ];
    let pass = 0;
    const rows = medianOverPasses(3, () => passes[pass++]);
    expect(rows).toEqual([
      { ...row('kiln-native', 2, 4), passes_ms: [3, 5, 4] },
      { ...row('pytorch', 1, 8), passes_ms: [9, 7, 8] },
    ]);
  });

  it('leaves a skipped row skipped and matches rows by the given key', () => {
    const passes = [
      [row('kiln-native', 2, 3), row('pytorch', 1, null)],
      [row('kiln-native', 1, 6), row('pytorch', 1, null)],
      [row('kiln-native', 2, 4), row('pytorch', 1, null)],
    ];
    let pass = 0;
    const byImpl = (r: BenchRow): string => r.impl;
    const rows = medianOverPasses(3, () => passes[pass++], byImpl);
    expect(rows[0]).toEqual({ ...row('kiln-native', 2, 4), passes_ms: [3, 6, 4] });
    expect(rows[1]).toEqual(row('pytorch', 1, null));
  });
});

describe('printTable', () => {
  /** The printed line of the kiln row at `threads` threads. */
  function kilnLine(rows: BenchRow[], options: { sameThreads?: boolean }, threads: number): string {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      printTable(rows, options);
      const lines = log.mock.calls.map((call) => String(call[0]));
      return lines.find((l) => l.includes('kiln-native') && l.split(/\s{2,}/)[2] === String(threads)) ?? '';
    } finally {
      log.mockRestore();
    }
  }

  const rows = [row('kiln-native', 1, 10), row('pytorch', 1, 12), row('kiln-native', 2, 6), row('pytorch', 2, 5)];

  it('compares a kiln row with the best anchor at any thread count by default', () => {
    expect(kilnLine(rows, {}, 1)).toContain('0.50× faster'); // pytorch's 2-thread 5 ms / kiln's 10 ms
  });

  it('compares with the anchors at the same thread count with sameThreads', () => {
    expect(kilnLine(rows, { sameThreads: true }, 1)).toContain('1.20× faster');
    expect(kilnLine(rows, { sameThreads: true }, 2)).toContain('0.83× faster');
  });

  it('never compares rows of different cases (a bfloat16 row has its own case name)', () => {
    const mixed = [row('kiln-native', 1, 10), { ...row('pytorch-bf16', 1, 4), case: 'c bf16' }, row('pytorch', 1, 20)];
    expect(kilnLine(mixed, { sameThreads: true }, 1)).toContain('2.00× faster');
  });
});
