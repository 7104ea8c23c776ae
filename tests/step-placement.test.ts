/**
 * StepPlacement: fitAsync's choice, step by step, between running a training step's kernels
 * off the JS thread and running the step inline.
 */
import { describe, expect, it } from 'vitest';

import { StepPlacement } from '../lib/train/step-placement.js';

describe('StepPlacement', () => {
  it('runs the first step off the thread, then steps whose running mean is within the budget inline', () => {
    const placement = new StepPlacement(10);
    expect(placement.offThread()).toBe(true);
    placement.record(4);
    expect(placement.offThread()).toBe(false);
    placement.record(6);
    expect(placement.offThread()).toBe(false); // mean 4.5
  });

  it('moves back off the thread once slow steps lift the mean over the budget', () => {
    const placement = new StepPlacement(10);
    placement.record(4);
    placement.record(40); // mean 4 + 0.25 * 36 = 13
    expect(placement.offThread()).toBe(true);
  });

  it('keeps a single slow outlier from moving a fast run off the thread', () => {
    const placement = new StepPlacement(10);
    placement.record(2);
    placement.record(20); // mean 2 + 0.25 * 18 = 6.5
    expect(placement.offThread()).toBe(false);
  });

  it('with a budget of 0 keeps every step off the thread', () => {
    const placement = new StepPlacement(0);
    for (const ms of [0.5, 0.2, 0.1]) {
      placement.record(ms);
      expect(placement.offThread()).toBe(true);
    }
  });
});
