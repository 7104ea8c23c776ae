/**
 * bench/harness.ts's medianOverPasses: each row's median over alternating passes, every pass's
 * time kept, skipped rows left skipped, rows matched across passes by a key.
 */
import { describe, expect, it } from 'vitest';

import { medianOverPasses, type BenchRow } from '../bench/harness.js';

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
