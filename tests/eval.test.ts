/**
 * metrics (lib/eval): classification metrics on hand-counted confusion matrices, ROC on six
 * points worked out by hand and AUC = Mann–Whitney on random data, t-tests against the
 * published results for Student's sleep data, Bonferroni arithmetic, seeded search, k-fold
 * cross-validation (plain and stratified), and ensembles.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import * as k from '../lib/index.js';
import { data, Generator, io, metrics, nn, noGrad } from '../lib/index.js';
import type { Tensor } from '../lib/index.js';
import { expectClose } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-eval-'));
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

// Seven samples, three classes. Counted by hand (rows = true class):
//   true 0: predicted 0                  → [1, 0, 0]
//   true 1: predicted 1, 2, 1            → [0, 2, 1]
//   true 2: predicted 2, 0, 2            → [1, 0, 2]
const predictions = [0, 1, 2, 2, 1, 0, 2];
const targets = [0, 1, 1, 2, 1, 2, 2];
const handMatrix = [
  [1, 0, 0],
  [0, 2, 1],
  [1, 0, 2],
];

describe('confusion matrix', () => {
  it('counts (true, predicted) pairs into an int32 (K, K) tensor, from labels or from scores', () => {
    const cm = metrics.confusionMatrix(predictions, targets, 3);
    expect(cm.dtype).toBe('int32');
    expect(cm.toArray()).toEqual(handMatrix);
    // Scores whose row argmax is the prediction give the same matrix.
    const scores = k.tensor(predictions.map((p) => [0, 1, 2].map((c) => (c === p ? 2 : 0.5))));
    expect(metrics.confusionMatrix(scores, k.tensor(targets, { dtype: 'int32' }), 3).toArray()).toEqual(handMatrix);
  });

  it('rejects labels out of range, mismatched lengths and bad shapes with the values named', () => {
    expect(() => metrics.confusionMatrix([0, 3], [0, 1], 3)).toThrow(/predictions\[1\] = 3 is not a class index in \[0, 3\)/);
    expect(() => metrics.confusionMatrix([0, 1], [0, 1.5], 3)).toThrow(/targets\[1\] = 1.5/);
    expect(() => metrics.confusionMatrix([0, 1, 1], [0, 1], 3)).toThrow(/predictions has 3 samples but targets has 2/);
    expect(() => metrics.confusionMatrix(k.zeros([2, 4]), [0, 1], 3)).toThrow(/scores have 4 columns but numClasses is 3/);
    expect(() => metrics.precision(k.zeros([2, 3], { dtype: 'int32' }))).toThrow(/square \(K, K\).*\[2, 3\]/);
  });

  it('prints an aligned table with class names', () => {
    const cm = k.tensor([[5, 1], [0, 12]], { dtype: 'int32' });
    expect(metrics.formatConfusionMatrix(cm, ['cat', 'dog']).split('\n')).toEqual([
      'true \\ predicted  cat  dog',
      'cat                 5    1',
      'dog                 0   12',
    ]);
    expect(metrics.formatConfusionMatrix(metrics.confusionMatrix(predictions, targets, 3)).split('\n')[2]).toBe('1                 0  2  1');
    expect(() => metrics.formatConfusionMatrix(cm, ['only one'])).toThrow(/1 class names for 2 classes/);
  });

  it('draws a heatmap with counts and escaped class names, written as SVG + PNG', () => {
    const cm = metrics.confusionMatrix(predictions, targets, 3);
    const svg = metrics.confusionMatrixSvg(cm, { classNames: ['cat', 'dog', 'a<b'], title: 'Pets' });
    expect(svg).toContain('>Pets</text>');
    expect(svg).toContain('>a&lt;b</text>');
    // One shaded cell per entry, each labelled with its count.
    expect(svg.match(/<rect x="[\d.]+" y="[\d.]+" width/g)?.length).toBe(9);
    const cellCounts = [...svg.matchAll(/text-anchor="middle" fill="(?:white|black)">(\d+)</g)].map((m) => Number(m[1]));
    expect(cellCounts).toEqual(handMatrix.flat());
    const paths = metrics.plotConfusionMatrix(join(dir, 'confusion'), cm, { classNames: ['cat', 'dog', 'bird'] });
    expect(Array.from(readFileSync(paths.png).subarray(0, 8))).toEqual(PNG_SIGNATURE);
    expect(readFileSync(paths.svg, 'utf8')).toContain('>bird</text>');
  });
});

describe('classification metrics', () => {
  it('accuracy is the diagonal over the total; scores and labels agree', () => {
    expect(metrics.accuracy(predictions, targets)).toBeCloseTo(5 / 7, 12);
    const scores = k.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]);
    expect(metrics.accuracy(scores, k.tensor([1, 1, 1], { dtype: 'int32' }))).toBeCloseTo(2 / 3, 12);
    expect(() => metrics.accuracy([], [])).toThrow(/no samples/);
  });

  it('top-k counts the target among the k best scores, ties ranked by class index like argmax', () => {
    const scores = k.tensor([
      [0.1, 0.5, 0.3, 0.2], // target 2 ranks 2nd
      [0.4, 0.1, 0.2, 0.3], // target 1 ranks 4th
      [1.0, 1.0, 0.0, 0.0], // target 1 ties with class 0 → ranks 2nd
    ]);
    const y = [2, 1, 1];
    expect(metrics.topKAccuracy(scores, y, 1)).toBe(0);
    expect(metrics.topKAccuracy(scores, y, 2)).toBeCloseTo(2 / 3, 12);
    expect(metrics.topKError(scores, y, 3)).toBeCloseTo(1 / 3, 12);
    expect(metrics.topKError(scores, y, 4)).toBe(0);
    expect(metrics.topKAccuracy(scores, y, 1)).toBe(metrics.accuracy(scores, y));
    expect(() => metrics.topKError(scores, y, 5)).toThrow(/k must be an integer in \[1, 4\], got 5/);
    expect(() => metrics.topKError(scores, [0, 1], 2)).toThrow(/scores have 3 rows but target has 2 samples/);
  });

  it('per-class precision, recall, specificity and F1 from hand counts, and their macro means', () => {
    // One-vs-rest counts from the matrix (7 samples):
    //   class 0: TP 1, FP 1, FN 0, TN 5;  class 1: TP 2, FP 0, FN 1, TN 4;  class 2: TP 2, FP 1, FN 1, TN 3.
    const cm = metrics.confusionMatrix(predictions, targets, 3);
    const none = { average: 'none' } as const;
    expectClose(metrics.precision(cm, none), [1 / 2, 1, 2 / 3], 1e-12, 0);
    expectClose(metrics.recall(cm, none), [1, 2 / 3, 2 / 3], 1e-12, 0);
    expectClose(metrics.sensitivity(cm, none), [1, 2 / 3, 2 / 3], 1e-12, 0);
    expectClose(metrics.specificity(cm, none), [5 / 6, 1, 3 / 4], 1e-12, 0);
    expectClose(metrics.f1Score(cm, none), [2 / 3, 4 / 5, 2 / 3], 1e-12, 0);
    expect(metrics.precision(cm)).toBeCloseTo(13 / 18, 12);
    expect(metrics.recall(cm)).toBeCloseTo(7 / 9, 12);
    expect(metrics.specificity(cm)).toBeCloseTo(31 / 36, 12);
    expect(metrics.f1Score(cm)).toBeCloseTo(32 / 45, 12); // mean of per-class F1, not F1 of the means
    // The same from predictions and targets.
    expect(metrics.f1Score({ predictions, targets, numClasses: 3 })).toBeCloseTo(32 / 45, 12);
  });

  it('a zero denominator gives 0 without an exception (scikit-learn zero_division=0)', () => {
    // predictions [0, 1], targets [0, 0], K = 3 → [[1, 1, 0], [0, 0, 0], [0, 0, 0]].
    const source = { predictions: [0, 1], targets: [0, 0], numClasses: 3 };
    const none = { average: 'none' } as const;
    expect(metrics.precision(source, none)).toEqual([1, 0, 0]); // class 2 never predicted: 0/0 → 0
    expect(metrics.recall(source, none)).toEqual([0.5, 0, 0]); // classes 1, 2 absent: 0/0 → 0
    expect(metrics.specificity(source, none)).toEqual([0, 0.5, 1]); // class 0: every sample is class 0, TN + FP = 0
    expect(metrics.f1Score(source, none)).toEqual([2 / 3, 0, 0]);
    expect(metrics.precision(source)).toBeCloseTo(1 / 3, 12);
  });
});

describe('ROC and AUC', () => {
  // Six samples worked out by hand. Sorted by score: 0.9 (+), 0.8 (+), 0.8 (−), 0.5 (+), 0.3 (−), 0.1 (−).
  // Thresholds at each distinct score give (TP, FP) = (1,0), (2,1) — the tie moves both at once —, (3,1), (3,2), (3,3).
  const scores = [0.9, 0.8, 0.8, 0.5, 0.3, 0.1];
  const labels = [1, 1, 0, 1, 0, 0];

  it('one point per distinct score, starting at (0, 0) with threshold +Infinity', () => {
    const roc = metrics.rocCurve(scores, labels, { dropIntermediate: false });
    expect(roc.thresholds).toEqual([Infinity, 0.9, 0.8, 0.5, 0.3, 0.1]);
    expectClose(roc.fpr, [0, 0, 1 / 3, 1 / 3, 2 / 3, 1], 1e-12, 0);
    expectClose(roc.tpr, [0, 1 / 3, 2 / 3, 1, 1, 1], 1e-12, 0);
  });

  it('drops the points on straight segments by default (here (2/3, 1) between (1/3, 1) and (1, 1))', () => {
    const roc = metrics.rocCurve(k.tensor(scores, { dtype: 'float64' }), k.tensor(labels, { dtype: 'int32' }));
    expect(roc.thresholds).toEqual([Infinity, 0.9, 0.8, 0.5, 0.1]);
    expectClose(roc.fpr, [0, 0, 1 / 3, 1 / 3, 1], 1e-12, 0);
    expectClose(roc.tpr, [0, 1 / 3, 2 / 3, 1, 1], 1e-12, 0);
  });

  it('AUC by trapezoids: 1/3·(1/3 + 2/3)/2 + 2/3·1 = 5/6, the Mann–Whitney count 7.5 of 9 pairs', () => {
    expect(metrics.rocAucScore(scores, labels)).toBeCloseTo(5 / 6, 12);
    expect(metrics.auc([0, 0.5, 1], [0, 1, 1])).toBeCloseTo(0.75, 12);
    expect(metrics.auc([1, 0.5, 0], [1, 1, 0])).toBeCloseTo(0.75, 12); // decreasing x
    expect(() => metrics.auc([0, 1, 0.5], [0, 1, 1])).toThrow(/neither increasing nor decreasing/);
    // posLabel picks which label is positive: swapping roles mirrors the AUC.
    expect(metrics.rocAucScore(scores, labels, { posLabel: 0 })).toBeCloseTo(1 / 6, 12);
  });

  it('AUC equals the Mann–Whitney statistic on random scores with ties', () => {
    const g = new Generator(7);
    const n = 300;
    const s = Array.from({ length: n }, () => Math.round(g.uniform() * 20) / 20); // 21 levels: many ties
    const y = s.map((v) => (g.uniform() < 0.3 + 0.4 * v ? 1 : 0));
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] !== 1) continue;
      for (let j = 0; j < n; j++) {
        if (y[j] !== 0) continue;
        pairs++;
        wins += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
    }
    expect(pairs).toBeGreaterThan(10000);
    expect(metrics.rocAucScore(s, y)).toBeCloseTo(wins / pairs, 12);
  });

  it('needs both classes and finite scores', () => {
    expect(() => metrics.rocCurve([0.1, 0.2], [1, 1])).toThrow(/2 positive\(s\) \(= 1\) and 0 negative\(s\)/);
    expect(() => metrics.rocCurve([0.1, Number.NaN], [0, 1])).toThrow(/scores\[1\] is NaN/);
    expect(() => metrics.rocCurve([0.1], [0, 1])).toThrow(/scores has 1 samples but labels has 2/);
  });

  it('plots the curve with its AUC and the chance diagonal as SVG + PNG', () => {
    const roc = metrics.rocCurve(scores, labels);
    const svg = metrics.rocCurveSvg({ model: roc, shuffled: metrics.rocCurve(scores, [0, 1, 1, 0, 1, 0]) });
    expect(svg).toContain('model (AUC 0.833)');
    expect(svg).toContain('chance');
    expect(svg).toContain('False-positive rate');
    const paths = metrics.plotRocCurve(join(dir, 'roc'), roc);
    expect(Array.from(readFileSync(paths.png).subarray(0, 8))).toEqual(PNG_SIGNATURE);
  });
});

describe("Student's t-tests", () => {
  // Student's sleep data (Cushny & Peebles): extra hours of sleep with two drugs, 10 patients.
  // R's `t.test(extra ~ group, data = sleep)` and friends publish the values checked below.
  const drug1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
  const drug2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

  it("Welch's test: t = -1.8608, df = 17.776, p = 0.07939", () => {
    const r = metrics.tTestIndependent(drug1, drug2, { equalVar: false });
    expect(r.t).toBeCloseTo(-1.8608, 4);
    expect(r.df).toBeCloseTo(17.776, 3);
    expect(r.pValue).toBeCloseTo(0.07939, 5);
  });

  it("Student's pooled test: t = -1.8608, df = 18, p = 0.07919", () => {
    const r = metrics.tTestIndependent(drug1, drug2);
    expect(r.t).toBeCloseTo(-1.8608, 4);
    expect(r.df).toBe(18);
    expect(r.pValue).toBeCloseTo(0.07919, 5);
  });

  it('paired test: t = -4.0621, df = 9, p = 0.002833', () => {
    const r = metrics.tTestPaired(drug1, drug2);
    expect(r.t).toBeCloseTo(-4.0621, 4);
    expect(r.df).toBe(9);
    expect(r.pValue).toBeCloseTo(0.002833, 6);
    // Paired = one-sample on the differences.
    expect(metrics.tTestOneSample(drug1.map((v, i) => v - drug2[i]))).toEqual(r);
  });

  it('the t CDF: closed forms for df = 1 and 2, a table value, symmetry, and the normal limit', () => {
    for (const t of [-3, -0.5, 0.7, 4]) {
      expect(metrics.studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 12); // Cauchy
      expect(metrics.studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(t * t + 2)), 12);
      expect(metrics.studentTCdf(-t, 7.5)).toBeCloseTo(1 - metrics.studentTCdf(t, 7.5), 12);
    }
    expect(metrics.studentTCdf(2.228138852, 10)).toBeCloseTo(0.975, 9); // t table: 97.5% quantile at df 10
    expect(metrics.studentTCdf(0, 3)).toBe(0.5);
    // df → ∞: the standard normal CDF, Φ(1.959964) = 0.975, Φ(1) = 0.841344746.
    expect(metrics.studentTCdf(1.959963984540054, 1e9)).toBeCloseTo(0.975, 8);
    expect(metrics.studentTCdf(1, 1e9)).toBeCloseTo(0.8413447460685429, 8);
    expect(metrics.studentTCdf(1, 30)).toBeLessThan(0.8413447460685429); // heavier tails at finite df
  });

  it('the t CDF keeps its relative precision in the tails (mpmath at 40 digits, tests/fixtures/stats/student-t.py)', () => {
    const fixture = JSON.parse(readFileSync(new URL('./fixtures/stats/student-t.json', import.meta.url), 'utf8')) as { points: { t: number; df: number; cdf: number }[] };
    expect(fixture.points.length).toBeGreaterThan(50);
    for (const { t, df, cdf } of fixture.points) {
      // 1e-10 relative up to df 1e6; the continued fraction's terms cancel at larger df (3e-9 at 1e9).
      const tolerance = df > 1e6 ? 1e-8 : 1e-10;
      expect(Math.abs(metrics.studentTCdf(t, df) - cdf) / cdf, `t = ${t}, df = ${df}`).toBeLessThan(tolerance);
    }
    expect(metrics.studentTCdf(-Infinity, 4)).toBe(0);
    expect(metrics.studentTCdf(Infinity, 4)).toBe(1);
    expect(metrics.studentTCdf(-1.96, Infinity)).toBeCloseTo(0.024997895148220435, 10); // Φ(−1.96): the normal limit (df is capped at 1e10)
  });

  it('equal means give t = 0 and p = 1; equal sizes give the same t with or without pooling', () => {
    const r = metrics.tTestIndependent([1, 2, 3], [3, 2, 1]);
    expect(r.t).toBe(0);
    expect(r.pValue).toBe(1);
    const a = [0.91, 0.93, 0.9, 0.94];
    const b = [0.89, 0.9, 0.88, 0.93];
    expect(metrics.tTestIndependent(a, b, { equalVar: false }).t).toBeCloseTo(metrics.tTestIndependent(a, b).t, 12);
  });

  it('constant samples: different means give |t| = ∞ and p = 0', () => {
    const r = metrics.tTestIndependent([1, 1, 1], [2, 2, 2]);
    expect(r.t).toBe(-Infinity);
    expect(r.pValue).toBe(0);
  });

  it('rejects too few values, unpaired lengths and non-finite values', () => {
    expect(() => metrics.tTestIndependent([1], [1, 2])).toThrow(/a needs at least 2 values, got 1/);
    expect(() => metrics.tTestPaired([1, 2, 3], [1, 2])).toThrow(/3 and 2 values/);
    expect(() => metrics.tTestOneSample([1, Number.NaN])).toThrow(/x\[1\] is NaN/);
  });
});

describe('Bonferroni correction', () => {
  it('multiplies by m, caps at 1, and rejects at alpha / m', () => {
    const r = metrics.bonferroni([0.01, 0.04, 0.2, 0.5]);
    expectClose(r.adjusted, [0.04, 0.16, 0.8, 1], 1e-15, 0);
    expect(r.reject).toEqual([true, false, false, false]);
    expect(r.threshold).toBeCloseTo(0.0125, 15);
    expect(metrics.bonferroni([0.01, 0.04], 0.1).reject).toEqual([true, true]); // threshold 0.05
    expect(() => metrics.bonferroni([0.5, 1.2])).toThrow(/pValues\[1\] = 1.2/);
  });
});

describe('hyperparameter search', () => {
  const space = { lr: metrics.logUniform(1e-4, 1e-1), batchSize: metrics.choice([32, 64]), layers: metrics.intUniform(1, 3) };

  it('random search is reproducible under a seed and returns trials best first', async () => {
    const objective = ({ lr, batchSize }: { lr: number; batchSize: number }): number => Math.abs(Math.log10(lr) + 2.5) + batchSize / 1000;
    const run = (seed: number): Promise<metrics.SearchResult<{ lr: number; batchSize: number; layers: number }>> =>
      metrics.randomSearch(space, objective, { trials: 12, generator: new Generator(seed) });
    const [a, b, c] = await Promise.all([run(1), run(1), run(2)]);
    expect(a.trials).toEqual(b.trials);
    expect(a.trials.map((t) => t.params)).not.toEqual(c.trials.map((t) => t.params));
    const scores = a.trials.map((t) => t.score);
    expect(scores).toEqual([...scores].sort((x, y) => x - y));
    expect(a.best).toBe(a.trials[0]);
    expect(a.best.score).toBe(objective(a.best.params));
    expect(new Set(a.trials.map((t) => t.index))).toEqual(new Set(Array.from({ length: 12 }, (_, i) => i)));
    for (const { params } of a.trials) {
      expect(params.lr).toBeGreaterThanOrEqual(1e-4);
      expect(params.lr).toBeLessThanOrEqual(1e-1);
      expect([32, 64]).toContain(params.batchSize);
      expect([1, 2, 3]).toContain(params.layers);
    }
  });

  it('logUniform is uniform in the exponent: half the draws fall below the geometric mean', () => {
    const g = new Generator(3);
    const dim = metrics.logUniform(1e-4, 1e-1);
    const draws = Array.from({ length: 4000 }, () => dim.sample(g));
    const below = draws.filter((v) => v < Math.sqrt(1e-4 * 1e-1)).length / draws.length;
    expect(Math.abs(below - 0.5)).toBeLessThan(0.04); // binomial sd 0.008
    const decadeBelow1e3 = draws.filter((v) => v < 1e-3).length / draws.length;
    expect(Math.abs(decadeBelow1e3 - 1 / 3)).toBeLessThan(0.04); // one decade of three
  });

  it('grid search tries every combination (log-spaced ranges) and maximises when asked', async () => {
    expectClose(metrics.logUniform(1e-4, 1e-1).grid(4), [1e-4, 1e-3, 1e-2, 1e-1], 0, 1e-12);
    expect(metrics.uniform(0, 0.5).grid(3)).toEqual([0, 0.25, 0.5]);
    expect(metrics.intUniform(1, 3).grid(5)).toEqual([1, 2, 3]);
    const seen: string[] = [];
    const result = await metrics.gridSearch(
      { lr: metrics.logUniform(1e-3, 1e-1), batchSize: metrics.choice([32, 64]) },
      async ({ lr, batchSize }) => {
        seen.push(`${lr.toPrecision(2)}/${batchSize}`);
        return -Math.abs(Math.log10(lr) + 2) - batchSize / 100; // best: lr 1e-2, batch 32
      },
      { mode: 'max' },
    );
    expect(seen).toEqual(['0.0010/32', '0.0010/64', '0.010/32', '0.010/64', '0.10/32', '0.10/64']);
    expect(result.best.params.lr).toBeCloseTo(1e-2, 12);
    expect(result.best.params.batchSize).toBe(32);
    expect(result.trials.map((t) => t.score)).toEqual(result.trials.map((t) => t.score).sort((x, y) => y - x));
  });

  it('NaN scores sort last; bad ranges are errors', async () => {
    const result = await metrics.gridSearch({ x: metrics.choice([1, 2, 3]) }, ({ x }) => (x === 1 ? Number.NaN : x));
    expect(result.trials.map((t) => t.params.x)).toEqual([2, 3, 1]);
    expect(() => metrics.logUniform(0, 1)).toThrow(/low must be > 0, got 0/);
    expect(() => metrics.uniform(1, 1)).toThrow(/finite low < high, got 1 and 1/);
    await expect(metrics.randomSearch(space, () => 0, { trials: 0 })).rejects.toThrow(/trials must be an integer ≥ 1, got 0/);
  });
});

describe('cross-validation', () => {
  const n = 10;
  const ds = new data.TensorDataset(k.arange(0, n, 1, { dtype: 'float32' }).reshape([n, 1]), k.zeros([n], { dtype: 'int32' }));

  it('runs the function on each fold and reports the scores, their mean and sample std', async () => {
    const valSets: number[][] = [];
    const result = await metrics.crossValidate(ds, 5, async (trainSet, valSet, fold) => {
      expect(trainSet.length + valSet.length).toBe(n);
      valSets[fold] = [...valSet.indices];
      return valSet.indices.reduce((a, b) => a + b, 0); // folds [0,1], [2,3], … → 1, 5, 9, 13, 17
    });
    expect(result.scores).toEqual([1, 5, 9, 13, 17]);
    expect(result.mean).toBe(9);
    expect(result.std).toBeCloseTo(Math.sqrt((64 + 16 + 0 + 16 + 64) / 4), 12);
    expect(valSets.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('stratified folds hold each class in the same proportion, also shuffled', async () => {
    const labels = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]; // 8 : 4 over 4 folds → 2 : 1 in each
    const folds = data.kFold(12, 4, { stratify: labels, shuffle: true, generator: new Generator(5) });
    for (const { train, val } of folds) {
      expect(val.filter((i) => labels[i] === 0).length).toBe(2);
      expect(val.filter((i) => labels[i] === 1).length).toBe(1);
      expect(train.length).toBe(9);
    }
    expect(folds.flatMap((f) => f.val).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const x = k.zeros([12, 1]);
    const result = await metrics.crossValidate(
      new data.TensorDataset(x, k.tensor(labels, { dtype: 'int32' })),
      4,
      (_train, val) => val.indices.filter((i) => labels[i] === 1).length / val.length,
      { stratify: k.tensor(labels, { dtype: 'int32' }) },
    );
    expect(result.scores).toEqual([1 / 3, 1 / 3, 1 / 3, 1 / 3]);
    expect(result.std).toBe(0);
    expect(() => data.kFold(12, 4, { stratify: [0, 1] })).toThrow(/stratify has 2 labels for 12 samples/);
  });

  it('rejects a fold function that returns no number', async () => {
    await expect(metrics.crossValidate(ds, 2, () => 'high' as unknown as number)).rejects.toThrow(/fold 0 returned high, expected a number/);
  });
});

describe('Ensemble', () => {
  const x = k.randn([5, 4], { generator: new Generator(11) });
  const makeModel = (seed: number): nn.Sequential => {
    k.manualSeed(seed);
    return new nn.Sequential(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 3));
  };
  const forward = (m: nn.Module): Tensor => noGrad(() => m.forward(x) as Tensor);

  it('two identical members give exactly what one gives (probabilities or raw)', () => {
    const m = makeModel(1);
    const twin = makeModel(1);
    expectClose(forward(new metrics.Ensemble([m, twin])).data, forward(m).softmax(1).data, 1e-7, 0);
    expectClose(forward(new metrics.Ensemble([m, twin], { average: 'raw' })).data, forward(m).data, 1e-7, 0);
  });

  it('averages the members’ softmax probabilities, and registers them for stateDict', () => {
    const [a, b, c] = [makeModel(1), makeModel(2), makeModel(3)];
    const ensemble = new metrics.Ensemble([a, b, c]);
    const expected = forward(a).softmax(1).add(forward(b).softmax(1)).add(forward(c).softmax(1)).div(3);
    const probabilities = forward(ensemble);
    expectClose(probabilities.data, expected.data, 1e-6, 0);
    expectClose(probabilities.sum(1).data, [1, 1, 1, 1, 1], 1e-6, 0);
    expect(Object.keys(ensemble.stateDict())).toContain('members.2.2.weight');
    expect(ensemble.parameters().length).toBe(12);
  });

  it('builds members from checkpoints into copies of one architecture, leaving it unchanged', () => {
    const [a, b] = [makeModel(4), makeModel(5)];
    const paths = [join(dir, 'a.safetensors'), join(dir, 'b.safetensors')];
    io.saveStateDict(paths[0], a);
    io.saveStateDict(paths[1], b);
    const architecture = makeModel(6);
    const before = forward(architecture);
    const ensemble = metrics.Ensemble.fromCheckpoints(architecture, paths);
    expectClose(forward(ensemble).data, forward(new metrics.Ensemble([a, b])).data, 1e-7, 0);
    expect(forward(architecture).data).toEqual(before.data);
    expect(ensemble.members.at(0)).not.toBe(architecture);
    expect(() => metrics.Ensemble.fromStateDicts(architecture, [{}])).toThrow(/missing key/);
  });

  it('rejects members whose outputs differ in shape, and an empty list', () => {
    const ensemble = new metrics.Ensemble([makeModel(1), new nn.Sequential(new nn.Linear(4, 2))]);
    expect(() => forward(ensemble)).toThrow(/member 1 returned shape \[5, 2\], member 0 \[5, 3\]/);
    expect(() => new metrics.Ensemble([])).toThrow(/at least one member/);
  });
});
