/** Shared assertions for the test suites. */
import { expect } from 'vitest';
import type { DataArray } from '../lib/index.js';

/** Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise (NaN matches NaN, ±Infinity must match exactly). */
export function expectClose(actual: DataArray | readonly number[], expected: DataArray | readonly number[], atol = 1e-5, rtol = 1e-4, what = 'values'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      expect(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${what}[${i}]: ${a} vs ${e}`).toBe(true);
      continue;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      expect.fail(`${what}[${i}]: ${a} vs expected ${e} (atol ${atol}, rtol ${rtol})`);
    }
  }
}
