/**
 * bench/overhead's regression guard (`npm run bench -- overhead --check`): its verdict from
 * result rows. The timings themselves are never asserted here (speed targets live in bench/).
 */
import { describe, expect, it } from 'vitest';

import type { BenchRow } from '../bench/harness.js';
import { checkOverhead, TARGETS } from '../bench/overhead.js';

/** Rows where kiln-native takes 1 ms and PyTorch `speedup` ms for every case. */
function rowsWithSpeedup(speedup: (name: string) => number): BenchRow[] {
  return Object.keys(TARGETS).flatMap((name) => [
    { suite: 'overhead', case: name, impl: 'kiln-native', threads: 1, median_ms: 1 },
    { suite: 'overhead', case: name, impl: 'pytorch', threads: 1, median_ms: speedup(name) },
  ]);
}

describe('overhead --check', () => {
  it('passes (exit 0) when every case meets its target', () => {
    const result = checkOverhead(rowsWithSpeedup((name) => TARGETS[name]));
    expect(result.exitCode).toBe(0);
    expect(result.lines.every((l) => l.startsWith('ok'))).toBe(true);
  });

  it('fails (exit 1) naming the case under its target and its ratio', () => {
    const result = checkOverhead(rowsWithSpeedup((name) => (name === 'add [16]' ? 2.5 : 10)));
    expect(result.exitCode).toBe(1);
    expect(result.lines.filter((l) => l.startsWith('FAIL'))).toEqual(['FAIL add [16]: 2.50× faster than PyTorch (target ≥ 3×)']);
  });

  it('says it could not check (exit 3, not a pass) when the PyTorch rows were skipped', () => {
    const rows = rowsWithSpeedup(() => 10).map((r) =>
      r.impl === 'pytorch' ? { ...r, median_ms: null, skipped: 'not installed (No module named torch)' } : r,
    );
    const result = checkOverhead(rows);
    expect(result.exitCode).toBe(3);
    expect(result.lines[0]).toBe('CANNOT CHECK add [16]: not installed (No module named torch)');
  });

  it('a missed target outranks a missing row (exit 1)', () => {
    const rows = rowsWithSpeedup((name) => (name === 'argmax [10]' ? 1 : 10)).filter((r) => !(r.case === 'softmax [10]' && r.impl === 'pytorch'));
    expect(checkOverhead(rows).exitCode).toBe(1);
  });
});
