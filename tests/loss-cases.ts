/**
 * Every loss as data (like op-cases.ts): each case is run as a float64 gradcheck on the
 * reference backend and as native-vs-reference parity in float32 by losses.test.ts.
 * Targets that must be probabilities, ±1 labels or class indices are made from the random
 * inputs inside `fn`.
 */
import * as k from '../lib/index.js';
import { F } from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import type { OpCase } from './op-cases.js';

const f = (...shape: number[]) => ({ shape });
const idx = (high: number, ...shape: number[]) => ({ shape, kind: 'index' as const, high });
const mask = (...shape: number[]) => ({ shape, kind: 'bool' as const });

/** ±1 labels from a bool mask. */
const signs = (m: Tensor, like: Tensor): Tensor => k.where(m, k.tensor(1, { dtype: like.dtype }), k.tensor(-1, { dtype: like.dtype }));
/** Fixed positive class weights of x's dtype. */
const weights = (n: number, x: Tensor): Tensor => k.tensor(Array.from({ length: n }, (_, i) => 0.5 + 0.25 * i), { dtype: x.dtype });

type Reduction = 'none' | 'mean' | 'sum';
const REDUCTIONS: Reduction[] = ['none', 'mean', 'sum'];

/** One case per reduction. */
function cases(name: string, inputs: OpCase['inputs'], fn: (reduction: Reduction, ...xs: Tensor[]) => Tensor): OpCase[] {
  return REDUCTIONS.map((reduction) => ({ name: `${name} ${reduction}`, inputs, fn: (...xs: Tensor[]) => fn(reduction, ...xs) }));
}

export const LOSS_CASES: OpCase[] = [
  ...cases('crossEntropy (4, 5)', [f(4, 5), idx(5, 4)], (reduction, x, t) => F.crossEntropy(x, t, { reduction })),
  ...cases('crossEntropy weight', [f(4, 5), idx(5, 4)], (reduction, x, t) => F.crossEntropy(x, t, { reduction, weight: weights(5, x) })),
  ...cases('crossEntropy weight smoothing ignoreIndex', [f(6, 5), idx(5, 6)], (reduction, x, t) =>
    F.crossEntropy(x, t, { reduction, weight: weights(5, x), labelSmoothing: 0.2, ignoreIndex: 1 }),
  ),
  ...cases('crossEntropy (2, 3, 2, 2) spatial', [f(2, 3, 2, 2), idx(3, 2, 2, 2)], (reduction, x, t) =>
    F.crossEntropy(x, t, { reduction, labelSmoothing: 0.1 }),
  ),
  { name: 'crossEntropy (5) single sample', inputs: [f(5), idx(5)], fn: (x, t) => F.crossEntropy(x, t) },
  { name: 'crossEntropy (300, 10) threads', inputs: [f(300, 10), idx(10, 300)], fn: (x, t) => F.crossEntropy(x, t, { reduction: 'none' }) },
  { name: 'crossEntropy (2, 7, 50) inner', inputs: [f(2, 7, 50), idx(7, 2, 50)], fn: (x, t) => F.crossEntropy(x, t, { reduction: 'sum' }) },
  ...cases('crossEntropy probabilities', [f(4, 5), f(4, 5)], (reduction, x, t) =>
    F.crossEntropy(x, k.softmax(t, 1), { reduction, weight: weights(5, x), labelSmoothing: 0.1 }),
  ),
  ...cases('nllLoss weight ignoreIndex', [f(5, 4), idx(4, 5)], (reduction, x, t) =>
    F.nllLoss(k.logSoftmax(x, 1), t, { reduction, weight: weights(4, x), ignoreIndex: 2 }),
  ),
  ...cases('binaryCrossEntropy', [f(3, 4), f(3, 4)], (reduction, x, t) => F.binaryCrossEntropy(k.sigmoid(x), k.sigmoid(t), { reduction })),
  ...cases('binaryCrossEntropyWithLogits posWeight', [f(3, 4), f(3, 4)], (reduction, x, t) =>
    F.binaryCrossEntropyWithLogits(x, k.sigmoid(t), { reduction, posWeight: weights(4, x), weight: weights(1, x) }),
  ),
  ...cases('mseLoss', [f(3, 4), f(3, 4)], (reduction, x, t) => F.mseLoss(x, t, { reduction })),
  ...cases('l1Loss', [f(3, 4), f(3, 4)], (reduction, x, t) => F.l1Loss(x, t, { reduction })),
  ...cases('smoothL1Loss', [f(3, 4), f(3, 4)], (reduction, x, t) => F.smoothL1Loss(x, t, { reduction, beta: 0.7 })),
  ...cases('huberLoss', [f(3, 4), f(3, 4)], (reduction, x, t) => F.huberLoss(x, t, { reduction, delta: 0.8 })),
  ...cases('hingeLoss', [f(7), mask(7)], (reduction, x, m) => F.hingeLoss(x, signs(m, x), { reduction })),
  ...cases('squaredHingeLoss', [f(7), mask(7)], (reduction, x, m) => F.squaredHingeLoss(x, signs(m, x), { reduction })),
  ...cases('multiMarginLoss', [f(4, 5), idx(5, 4)], (reduction, x, t) => F.multiMarginLoss(x, t, { reduction })),
  ...cases('multiMarginLoss p=2 weight', [f(4, 5), idx(5, 4)], (reduction, x, t) =>
    F.multiMarginLoss(x, t, { reduction, p: 2, margin: 0.5, weight: weights(5, x) }),
  ),
  ...cases('multiClassHingeLoss', [f(4, 5), idx(5, 4)], (reduction, x, t) => F.multiClassHingeLoss(x, t, { reduction })),
  ...cases('klDiv', [f(3, 4), f(3, 4)], (reduction, x, t) => F.klDiv(k.logSoftmax(x, 1), k.softmax(t, 1), { reduction })),
  { name: 'klDiv batchmean logTarget', inputs: [f(3, 4), f(3, 4)], fn: (x, t) => F.klDiv(k.logSoftmax(x, 1), k.logSoftmax(t, 1), { reduction: 'batchmean', logTarget: true }) },
  ...cases('cosineEmbeddingLoss', [f(4, 3), f(4, 3), mask(4)], (reduction, a, b, m) => F.cosineEmbeddingLoss(a, b, signs(m, a), { reduction, margin: 0.1 })),
  ...cases('diceLoss', [f(2, 3, 3), f(2, 3, 3)], (reduction, x, t) => F.diceLoss(k.sigmoid(x), k.sigmoid(t), { reduction })),
];
