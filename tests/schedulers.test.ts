/**
 * LR schedules against PyTorch 1.13 (fixtures/torch/schedulers.json, made by gen_optim.py):
 * the lr (and the cycled momentum or β1) after construction and after each of 30 steps, plus
 * ReduceLROnPlateau on a fixed metric sequence, and stateDict round trips.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { optim } from '../lib/index.js';
import { expectClose } from './helpers.js';

interface SchedulerCase {
  scheduler: string;
  optimizer: 'SGD' | 'Adam';
  options: Record<string, unknown>;
  lrs: number[];
  momenta?: number[];
  metrics?: number[];
}
const { cases } = JSON.parse(readFileSync(new URL('./fixtures/torch/schedulers.json', import.meta.url), 'utf8')) as { cases: SchedulerCase[] };

type AnyOptimizer = optim.Optimizer<{ lr: number }>;
interface Steppable {
  step(): void;
  stateDict(): optim.SchedulerState;
  loadStateDict(s: optim.SchedulerState): void;
}

const makeOptimizer = (kind: 'SGD' | 'Adam'): AnyOptimizer => {
  const p = [k.zeros([1]).requiresGrad_()];
  return kind === 'Adam' ? new optim.Adam(p, { lr: 0.1 }) : new optim.SGD(p, { lr: 0.1, momentum: 0.9 });
};

/** The kiln scheduler for a fixture case. */
function makeScheduler(c: SchedulerCase, opt: AnyOptimizer): Steppable {
  const o = c.options as Record<string, never>;
  switch (c.scheduler) {
    case 'LambdaLR':
      return new optim.LambdaLR(opt, { lrLambda: (epoch) => 0.95 ** epoch });
    case 'ChainedScheduler':
      return new optim.ChainedScheduler([new optim.LinearLR(opt, o['linear']), new optim.ExponentialLR(opt, o['exponential'])]);
    case 'SequentialLR':
      return new optim.SequentialLR(opt, {
        schedulers: [new optim.LinearLR(opt, o['linear']), new optim.CosineAnnealingLR(opt, o['cosine'])],
        milestones: o['milestones'],
      });
    default: {
      const Class = (optim as unknown as Record<string, new (opt: AnyOptimizer, options: unknown) => Steppable>)[c.scheduler];
      return new Class(opt, o);
    }
  }
}

const momentumOf = (opt: AnyOptimizer): number => {
  const g = opt.paramGroups[0];
  return g.betas !== undefined ? (g.betas as number[])[0] : (g.momentum as number);
};

describe('schedules match PyTorch 1.13 over 30 steps', () => {
  for (const c of cases.filter((c) => c.scheduler !== 'ReduceLROnPlateau')) {
    it(`${c.scheduler} ${JSON.stringify(c.options)}`, () => {
      const opt = makeOptimizer(c.optimizer);
      const sched = makeScheduler(c, opt);
      const lrs = [opt.paramGroups[0].lr];
      const momenta = [momentumOf(opt)];
      for (let s = 0; s < 30; s++) {
        opt.step();
        sched.step();
        lrs.push(opt.paramGroups[0].lr);
        momenta.push(momentumOf(opt));
      }
      expectClose(lrs, c.lrs, 1e-12, 1e-10, 'lr');
      expectClose(momenta, c.momenta!, 1e-12, 1e-10, 'momentum');
    });
  }

  it('ReduceLROnPlateau on a fixed metric sequence', () => {
    const c = cases.find((c) => c.scheduler === 'ReduceLROnPlateau')!;
    const opt = makeOptimizer('SGD');
    const sched = new optim.ReduceLROnPlateau(opt, c.options);
    const lrs = c.metrics!.map((m) => {
      sched.step(m);
      return opt.paramGroups[0].lr;
    });
    expectClose(lrs, c.lrs, 1e-15, 1e-12, 'lr');
  });
});

describe('scheduler state', () => {
  for (const c of cases.filter((c) => c.scheduler !== 'ReduceLROnPlateau')) {
    it(`${c.scheduler} ${JSON.stringify(c.options)}: a restored scheduler continues like the original`, () => {
      const opt1 = makeOptimizer(c.optimizer);
      const s1 = makeScheduler(c, opt1);
      for (let s = 0; s < 12; s++) s1.step();
      const saved = JSON.parse(JSON.stringify(s1.stateDict())) as optim.SchedulerState;
      const opt2 = makeOptimizer(c.optimizer);
      const s2 = makeScheduler(c, opt2);
      opt2.loadStateDict(opt1.stateDict());
      s2.loadStateDict(saved);
      for (let s = 0; s < 10; s++) {
        s1.step();
        s2.step();
        expect(opt2.paramGroups[0].lr).toBe(opt1.paramGroups[0].lr);
      }
    });
  }

  it('bad options are clear errors', () => {
    const opt = makeOptimizer('Adam');
    expect(() => new optim.CyclicLR(opt, { baseLr: 0.1, maxLr: 1 })).toThrow(/must support momentum/);
    expect(() => new optim.OneCycleLR(opt, { maxLr: 1 })).toThrow(/positive integer totalSteps/);
    expect(() => new optim.LinearLR(opt, { startFactor: 2 })).toThrow(/startFactor must be in \[0, 1\]/);
    expect(() => new optim.CyclicLR(makeOptimizer('SGD'), { baseLr: [0.1, 0.2], maxLr: 1 })).toThrow(/expected 1 values for baseLr, got 2/);
    const one = new optim.OneCycleLR(makeOptimizer('SGD'), { maxLr: 1, totalSteps: 2 });
    one.step();
    one.step();
    expect(() => one.step()).toThrow(/tried to step 4 times; totalSteps is 2/);
  });
});
