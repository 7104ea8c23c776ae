/**
 * Is one training setup really better than another, or was it the seed? Student's t-tests
 * between the scores of repeated runs — independent two-sample (pooled variance, or Welch's
 * unequal variances), paired, one-sample — with two-sided p-values, and the Bonferroni
 * correction for comparing many setups at once.
 *
 * The t distribution's CDF is kiln's own (lib/eval/student-t.ts, through the regularized
 * incomplete beta function); the p-value is 2·F(−|t|), computed from the lower tail so that
 * tiny p-values keep their precision.
 */
import { checkArgs, checkArrayLike, checkNumber } from '../validate.js';
import { EvaluationError } from './errors.js';
import { studentTDistributionCdf } from './student-t.js';

/** What a t-test returns. */
export interface TTestResult {
  /** The t statistic; its sign says which mean is larger (positive: the first). */
  t: number;
  /** Degrees of freedom (not an integer for Welch's test). */
  df: number;
  /** Two-sided p-value: the probability of a |t| at least this large if the means were equal. */
  pValue: number;
}

/**
 * The CDF of Student's t distribution with `df` degrees of freedom at `t`.
 *
 * Args: t, any number; df > 0 (need not be an integer).
 *
 * Example: `studentTCdf(2.228, 10)` → ≈ 0.975.
 */
export function studentTCdf(t: number, df: number): number {
  checkArgs('studentTCdf', [['t', t, { number: {} }], ['df', df, { number: {} }]]);
  if (!(df > 0)) throw new EvaluationError(`studentTCdf: degrees of freedom must be > 0, got ${df}`);
  return studentTDistributionCdf(t, df);
}

/** The two-sided p-value of t with df degrees of freedom; NaN for a NaN t. */
function twoSidedP(t: number, df: number): number {
  return Number.isNaN(t) ? Number.NaN : Math.min(1, 2 * studentTCdf(-Math.abs(t), df));
}

/** The values as numbers, checked to be finite and at least `min` of them. */
function sample(op: string, name: string, values: ArrayLike<number>, min: number): number[] {
  const out = Array.from(checkArrayLike(op, name, values), Number);
  if (out.length < min) throw new EvaluationError(`${op}: ${name} needs at least ${min} values, got ${out.length}`);
  out.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new EvaluationError(`${op}: ${name}[${i}] is ${v}, values must be finite`);
  });
  return out;
}

function mean(x: readonly number[]): number {
  return x.reduce((a, b) => a + b, 0) / x.length;
}

/** The sample variance, Σ(x − mean)² / (n − 1). */
function sampleVariance(x: readonly number[]): number {
  const m = mean(x);
  return x.reduce((sum, v) => sum + (v - m) ** 2, 0) / (x.length - 1);
}

/**
 * t = difference / standardError and its p-value. A zero standard error (constant samples)
 * gives t = ±∞ and p = 0 when the difference is not 0, and t = NaN, p = NaN when it is (as SciPy).
 */
function result(difference: number, standardError: number, df: number): TTestResult {
  const t = difference / standardError;
  return { t, df, pValue: twoSidedP(t, df) };
}

/**
 * One-sample t-test: is the mean of `x` different from `mu`? t = (mean − mu) / (s / √n),
 * n − 1 degrees of freedom (SciPy's `ttest_1samp`).
 *
 * Args: x, at least 2 finite values; mu, default 0.
 *
 * Example: `tTestOneSample(differences)` → `{ t, df, pValue }`.
 */
export function tTestOneSample(x: ArrayLike<number>, mu = 0): TTestResult {
  checkNumber('tTestOneSample', 'mu', mu);
  const values = sample('tTestOneSample', 'x', x, 2);
  const n = values.length;
  return result(mean(values) - mu, Math.sqrt(sampleVariance(values) / n), n - 1);
}

/**
 * Paired t-test: the one-sample test of the differences a[i] − b[i] against 0 (SciPy's
 * `ttest_rel`). Use it when run i of both setups shares something, e.g. the same seed or
 * the same cross-validation fold.
 *
 * Args: a, b, the same number (≥ 2) of finite values.
 *
 * Example: `tTestPaired(accuraciesWithAugmentation, accuraciesWithout)` (same 10 seeds).
 */
export function tTestPaired(a: ArrayLike<number>, b: ArrayLike<number>): TTestResult {
  checkArgs('tTestPaired', [['a', a, 'arrayLike'], ['b', b, 'arrayLike']]);
  if (a.length !== b.length) throw new EvaluationError(`tTestPaired: the samples must pair up, got ${a.length} and ${b.length} values`);
  const first = sample('tTestPaired', 'a', a, 2);
  const second = sample('tTestPaired', 'b', b, 2);
  return tTestOneSample(first.map((v, i) => v - second[i]));
}

/** Options of tTestIndependent. */
export interface TTestIndependentOptions {
  /**
   * true (default, as SciPy): Student's test with the pooled variance, n1 + n2 − 2 degrees
   * of freedom. false: Welch's test, each sample's own variance and the Welch–Satterthwaite
   * degrees of freedom (safer when the spreads differ).
   */
  equalVar?: boolean;
}

/**
 * Independent two-sample t-test: are the means of `a` and `b` different? (SciPy's `ttest_ind`.)
 *
 * Args: a, b, each at least 2 finite values; options.equalVar (default true; false = Welch).
 *
 * Example: `tTestIndependent(scoresOfRunsA, scoresOfRunsB, { equalVar: false }).pValue`.
 */
export function tTestIndependent(a: ArrayLike<number>, b: ArrayLike<number>, options: TTestIndependentOptions = {}): TTestResult {
  const x = sample('tTestIndependent', 'a', a, 2);
  const y = sample('tTestIndependent', 'b', b, 2);
  const [n1, n2] = [x.length, y.length];
  const [v1, v2] = [sampleVariance(x), sampleVariance(y)];
  const difference = mean(x) - mean(y);
  if (options.equalVar ?? true) {
    const df = n1 + n2 - 2;
    const pooled = ((n1 - 1) * v1 + (n2 - 1) * v2) / df;
    return result(difference, Math.sqrt(pooled * (1 / n1 + 1 / n2)), df);
  }
  const [w1, w2] = [v1 / n1, v2 / n2];
  const df = (w1 + w2) ** 2 / (w1 ** 2 / (n1 - 1) + w2 ** 2 / (n2 - 1));
  return result(difference, Math.sqrt(w1 + w2), df);
}

/** What bonferroni returns. */
export interface BonferroniResult {
  /** Each p-value times the number of comparisons m, capped at 1. */
  adjusted: number[];
  /** True where p ≤ alpha / m (equivalently, the adjusted p-value is ≤ alpha). */
  reject: boolean[];
  /** The per-comparison threshold alpha / m. */
  threshold: number;
}

/**
 * The Bonferroni correction for m = pValues.length comparisons: keeps the chance of any
 * false "significant" result at most alpha by testing each at alpha / m (statsmodels'
 * `multipletests(method='bonferroni')`).
 *
 * Args: pValues, each in [0, 1]; alpha, the family-wise error rate (default 0.05).
 *
 * Example: `bonferroni([0.01, 0.04, 0.2]).reject` → `[true, false, false]` (threshold 0.0167).
 */
export function bonferroni(pValues: readonly number[], alpha = 0.05): BonferroniResult {
  checkArgs('bonferroni', [['pValues', pValues, 'arrayLike'], ['alpha', alpha, { number: {} }]]);
  if (pValues.length === 0) throw new EvaluationError('bonferroni: got no p-values');
  if (!(alpha > 0 && alpha < 1)) throw new EvaluationError(`bonferroni: alpha must be in (0, 1), got ${alpha}`);
  pValues.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) throw new EvaluationError(`bonferroni: pValues[${i}] = ${p} is not a probability in [0, 1]`);
  });
  const m = pValues.length;
  const threshold = alpha / m;
  return { adjusted: pValues.map((p) => Math.min(1, p * m)), reject: pValues.map((p) => p <= threshold), threshold };
}
