/**
 * Autograd anomaly mode (issue 18): the first op whose forward or backward makes a NaN or
 * ±Infinity throws an AnomalyError naming the op, its inputs' shapes and the forward's call
 * site; off, nothing is checked. Run on both backends.
 */
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { withBackend } from '../lib/backend/index.js';

const { autograd } = k;

/** The AnomalyError fn throws (fails the test when it throws nothing or something else). */
function anomalyOf(fn: () => unknown): InstanceType<typeof autograd.AnomalyError> {
  try {
    fn();
  } catch (error) {
    if (error instanceof autograd.AnomalyError) return error;
    throw error;
  }
  throw new Error('expected an AnomalyError, nothing was thrown');
}

describe.each(['reference', 'native'] as const)('anomaly mode on the %s backend', (backend) => {
  const run = <T>(fn: () => T): T => withBackend(backend, fn);

  it('names the op whose forward makes a NaN, its input shapes and the call site', () => {
    const error = run(() =>
      anomalyOf(() =>
        autograd.detectAnomaly(() => {
          const x = k.tensor([[1, -2, 3]], { requiresGrad: true });
          return x.mul(2).sqrt();
        }),
      ),
    );
    expect(error.op).toBe('sqrt');
    expect(error.phase).toBe('forward');
    expect(error.message).toContain('NaN at element 1');
    expect(error.message).toContain('float32 [1, 3]');
    expect(error.message).toContain('anomaly.test.ts');
  });

  it('names the op whose backward makes an Infinity, with the forward call site', () => {
    const error = run(() =>
      anomalyOf(() =>
        autograd.detectAnomaly(() => {
          const x = k.tensor([0, 4], { requiresGrad: true });
          x.sqrt().sum().backward(); // d√x/dx = ∞ at 0
        }),
      ),
    );
    expect(error.op).toBe('sqrt');
    expect(error.phase).toBe('backward');
    expect(error.message).toMatch(/Infinity at element 0 of the gradient of input 0/);
    expect(error.message).toContain('forward called at');
    expect(error.message).toContain('anomaly.test.ts');
  });

  it('does not blame an op for a NaN its input already held, but catches Infinity − Infinity', () => {
    const passed = run(() => autograd.detectAnomaly(() => k.tensor([NaN, 1], { requiresGrad: true }).mul(3)));
    expect(Number.isNaN(passed.data[0])).toBe(true);
    const error = run(() => anomalyOf(() => autograd.detectAnomaly(() => k.tensor([Infinity, 1], { requiresGrad: true }).sub(k.tensor([Infinity, 0])))));
    expect(error.op).toBe('sub');
    expect(error.message).toContain('produced NaN at element 0');
  });

  it('lets a caller mask with -Infinity (maskedFill), and a softmax over it', () => {
    const probs = run(() =>
      autograd.detectAnomaly(() => {
        const scores = k.tensor([[1, 2, 3]], { requiresGrad: true });
        const masked = scores.maskedFill(k.tensor([[false, false, true]]), -Infinity);
        const p = masked.softmax(-1);
        p.select(1, 0).sum().backward();
        return [...p.data];
      }),
    );
    expect(probs[2]).toBe(0);
    expect(probs[0] + probs[1]).toBeCloseTo(1, 6);
  });

  it('checks nothing when off, and restores the previous mode after a throw', () => {
    expect(autograd.isAnomalyEnabled()).toBe(false);
    const y = run(() => k.tensor([-1], { requiresGrad: true }).sqrt());
    expect(Number.isNaN(y.data[0])).toBe(true);
    run(() => anomalyOf(() => autograd.detectAnomaly(() => k.tensor([-1], { requiresGrad: true }).sqrt())));
    expect(autograd.isAnomalyEnabled()).toBe(false);
    autograd.setDetectAnomaly(true);
    expect(autograd.isAnomalyEnabled()).toBe(true);
    autograd.setDetectAnomaly(false);
  });

  it('stays on through an async function and restores the mode when it settles', async () => {
    const seen = await autograd.detectAnomaly(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return autograd.isAnomalyEnabled();
    });
    expect(seen).toBe(true);
    expect(autograd.isAnomalyEnabled()).toBe(false);
  });

  it('fit({ detectAnomaly: true }) names the op instead of the poisoned parameter', () => {
    const fitWith = (detectAnomaly: boolean): unknown => {
      try {
        run(() => {
          k.manualSeed(0);
          const model = new k.nn.Linear(4, 2);
          const x = k.randn([8, 4]);
          const y = k.randn([8, 2]);
          // √0 = 0 is a finite loss, but its gradient is Infinity (× 0 = NaN downstream).
          const loss = (out: k.Tensor, target: k.Tensor) => out.sub(target).abs().sum().mul(0).sqrt();
          k.train.fit(model, { loss, optimizer: new k.optim.SGD(model.parameters(), { lr: 0.1 }), trainLoader: [[x, y]], epochs: 1, progress: false, detectAnomaly });
        });
      } catch (error) {
        return error;
      }
      return null;
    };
    const plain = fitWith(false);
    expect(plain).toBeInstanceOf(k.train.TrainingError);
    expect((plain as Error).message).toContain("gradient of parameter 'weight'");
    const checked = fitWith(true);
    expect(checked).toBeInstanceOf(autograd.AnomalyError);
    expect((checked as InstanceType<typeof autograd.AnomalyError>).op).toBe('sqrt');
    expect(autograd.isAnomalyEnabled()).toBe(false);
  });
});
