// bench/gemm.ts's case selection (KILN_BENCH_CASES): the ASCII keys and the filter.
import { describe, expect, it } from 'vitest';
import { caseKey, GEMM_CASES, selectedCases } from '../bench/gemm.js';

describe('bench gemm: case selection', () => {
  it('spells each case as m x k x n plus its transposes', () => {
    const keys = GEMM_CASES.map(caseKey);
    expect(keys).toContain('256x4096x4096');
    expect(keys).toContain('512x512x512:tA');
    expect(keys).toContain('512x512x512:tB');
    expect(keys).toContain('512x512x512:tAtB');
    expect(new Set(keys).size).toBe(GEMM_CASES.length);
  });

  it('runs every case when nothing is listed', () => {
    expect(selectedCases('')).toEqual(GEMM_CASES);
  });

  it('keeps only the listed cases, in suite order', () => {
    const picked = selectedCases(' 512x512x512:tA,256x4096x4096');
    expect(picked.map((c) => c.name)).toEqual(['256×4096×4096', '512³ Aᵀ·B']);
    expect(picked[1]).toMatchObject({ m: 512, k: 512, n: 512, transA: true, transB: false });
  });

  it('names a key that is no case', () => {
    expect(() => selectedCases('256x4096x4096,7x7x7')).toThrow(/no gemm case 7x7x7/);
  });
});
