/**
 * viz.topActivations on hand-built models whose answers are known: a centre-tap conv channel
 * (each activation is one pixel, so its patch is that pixel) and a 3×3 box filter (a 3×3
 * patch); a flat layer ranks whole inputs; a loader of batches gives the tensor's answer.
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { nn, viz, type Tensor } from '../lib/index.js';

/** 10 images (1, 6, 6) of small noise in [0, 0.5), image i with one bright pixel 2 + 3i at row/column (i % 4) + 1. */
function images(): Tensor {
  const g = new k.Generator(4);
  const x = Float64Array.from({ length: 10 * 36 }, () => 0.5 * g.uniform());
  for (let i = 0; i < 10; i++) x[i * 36 + ((i % 4) + 1) * 6 + (i % 4) + 1] = 2 + 3 * i;
  return k.tensor(x, { dtype: 'float64' }).reshape([10, 1, 6, 6]);
}

/** Conv 1 → 2 channels, 3×3, no bias: channel 0 reads the centre tap only, channel 1 sums the window; then ReLU. */
function probe(): nn.Sequential {
  const conv = new nn.Conv2d(1, 2, 3, { bias: false }).double();
  const w = new Float64Array(18);
  w[4] = 1;
  w.fill(1, 9, 18);
  conv.loadStateDict({ weight: k.tensor(w, { dtype: 'float64' }).reshape([2, 1, 3, 3]) });
  return new nn.Sequential(conv, new nn.ReLU());
}

for (const backend of ['reference', 'native'] as k.BackendName[]) {
  describe(`viz.topActivations on ${backend}`, () => {
    const x = images();

    it('a centre-tap channel: the brightest images first, each patch the one bright pixel', () =>
      k.withBackend(backend, () => {
        const top = viz.topActivations(probe(), x, '0', 0, { k: 3, batchSize: 4 });
        expect(top.map((t) => t.index)).toEqual([9, 8, 7]);
        top.forEach((t) => {
          const at = (t.index % 4) + 1;
          expect(t.value).toBeCloseTo(2 + 3 * t.index, 12);
          expect(t.position).toEqual([at - 1, at - 1]);
          expect(t.box).toEqual([at, at, 1, 1]);
          expect(t.patch.shape).toEqual([1, 1, 1]);
          expect(t.patch.item()).toBeCloseTo(2 + 3 * t.index, 12);
        });
      }));

    it('a 3×3 box filter: the patch is the 3×3 window of the strongest position', () =>
      k.withBackend(backend, () => {
        const [top] = viz.topActivations(probe(), x, '1', 1, { k: 1 });
        expect(top.index).toBe(9);
        const [r, c] = top.position!;
        expect(top.box).toEqual([r, c, 3, 3]);
        expect(top.patch.sum().item()).toBeCloseTo(top.value, 10);
      }));

    it('a flat layer ranks whole inputs; batches from a loader give the same answer', () =>
      k.withBackend(backend, () => {
        const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(36, 2)).double();
        const fromTensor = viz.topActivations(model, x, '1', 1, { k: 4 });
        const logits = (model.forward(x) as Tensor).select(1, 1).toArray() as number[];
        const expected = logits.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 4).map(([, i]) => i);
        expect(fromTensor.map((t) => t.index)).toEqual(expected);
        expect(fromTensor[0].position).toBeNull();
        expect(fromTensor[0].patch.shape).toEqual([1, 6, 6]);
        const loader = [[x.narrow(0, 0, 3), null], [x.narrow(0, 3, 7), null]];
        expect(viz.topActivations(model, loader, '1', 1, { k: 4 }).map((t) => t.index)).toEqual(expected);
      }));
  });
}

describe('viz.topActivations checks', () => {
  it('names what is wrong and restores the training mode', () => {
    const model = probe().train();
    expect(() => viz.topActivations(model, images(), '1', 5)).toThrow(/topActivations: layer '1' gives shape \[10, 2, 4, 4\]; unit 5 must index dim 1/);
    expect(model.training).toBe(true);
    expect(() => viz.topActivations(model, images(), '1', 0, { k: 0 })).toThrow(/topActivations: k must be an integer ≥ 1, got 0/);
    expect(() => viz.topActivations(model, images(), 'nope', 0)).toThrow(/has no layer named 'nope'/);
  });
});
