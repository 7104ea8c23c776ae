/** Thread control: results do not depend on the thread count, and bad counts are refused. */
import { afterAll, describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';

describe('setNumThreads / getNumThreads', () => {
  const initial = k.getNumThreads();
  afterAll(() => k.setNumThreads(initial));

  it('defaults to at least one thread and round-trips', () => {
    expect(initial).toBeGreaterThanOrEqual(1);
    k.setNumThreads(1);
    expect(k.getNumThreads()).toBe(1);
    k.setNumThreads(2);
    expect(k.getNumThreads()).toBe(2);
  });

  it('refuses counts that are not integers ≥ 1', () => {
    expect(() => k.setNumThreads(0)).toThrow(RangeError);
    expect(() => k.setNumThreads(1.5)).toThrow(/1\.5/);
  });

  it('gives identical results on 1 and 2 threads for ops large enough to split', () => {
    const g = new k.Generator(11);
    const a = k.randn([300, 700], { generator: g });
    const b = k.randn([700, 90], { generator: g });
    const run = () =>
      k.withBackend('native', () => [
        k.matmul(a, b),
        k.softmax(a, 1),
        k.sum(a, 0),
        k.add(a, k.mul(a, 2)),
        k.permute(a, [1, 0]),
        k.amax(a, 1),
      ]);
    k.setNumThreads(1);
    const single = run();
    k.setNumThreads(2);
    const double = run();
    single.forEach((t, i) => expect(Array.from(double[i].data), `result ${i}`).toEqual(Array.from(t.data)));
  });
});
