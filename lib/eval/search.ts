/**
 * Hyperparameter search. A search space names each hyperparameter's range — logUniform for
 * scale parameters such as the learning rate, uniform, intUniform, or choice among values —
 * and the same space drives a random search (seeded with a kiln Generator) or a grid search
 * (continuous ranges cut into a few points, log-spaced for logUniform). Each trial calls the
 * objective once; the trials come back sorted, best first.
 */
import { checkArgs } from '../validate.js';
import { defaultGenerator, type Generator } from '../random.js';
import { EvaluationError } from './errors.js';

/** One hyperparameter's range: how to draw a random value and how to lay out a grid. */
export interface SearchDimension<T> {
  /** A random value, drawn from `generator`. */
  sample(generator: Generator): T;
  /** `points` evenly spaced values (a choice gives all its values, whatever `points`). */
  grid(points: number): T[];
}

/** A search space: a dimension per hyperparameter name. */
export type SearchSpace = Record<string, SearchDimension<unknown>>;

/** The hyperparameters one trial gets: a value per name of the space. */
export type ParamsOf<S extends SearchSpace> = { [K in keyof S]: S[K] extends SearchDimension<infer T> ? T : never };

/** `points` values from `low` to `high` inclusive, evenly spaced by `at(fraction)`. */
function spaced(points: number, at: (fraction: number) => number): number[] {
  if (!Number.isInteger(points) || points < 1) throw new EvaluationError(`grid: points per range must be an integer ≥ 1, got ${points}`);
  return points === 1 ? [at(0.5)] : Array.from({ length: points }, (_, i) => at(i / (points - 1)));
}

function checkRange(op: string, low: number, high: number): void {
  if (!(Number.isFinite(low) && Number.isFinite(high) && low < high)) throw new EvaluationError(`${op}: needs finite low < high, got ${low} and ${high}`);
}

/**
 * A float between low and high, uniform on a log scale: each factor of ten is equally likely.
 * Right for learning rates, weight decay, and other parameters that act multiplicatively.
 *
 * Args: 0 < low < high. A grid of 4 points over (1e-4, 1e-1) is 1e-4, 1e-3, 1e-2, 1e-1.
 *
 * Example: `{ lr: logUniform(1e-4, 1e-1) }`.
 */
export function logUniform(low: number, high: number): SearchDimension<number> {
  checkRange('logUniform', low, high);
  if (!(low > 0)) throw new EvaluationError(`logUniform: low must be > 0, got ${low}`);
  const [logLow, logHigh] = [Math.log(low), Math.log(high)];
  const at = (fraction: number): number => Math.exp(logLow + fraction * (logHigh - logLow));
  return { sample: (generator) => at(generator.uniform()), grid: (points) => spaced(points, at) };
}

/**
 * A float uniform between low and high (linear scale), e.g. a dropout probability.
 *
 * Example: `{ dropout: uniform(0, 0.5) }`.
 */
export function uniform(low: number, high: number): SearchDimension<number> {
  checkRange('uniform', low, high);
  const at = (fraction: number): number => low + fraction * (high - low);
  return { sample: (generator) => at(generator.uniform()), grid: (points) => spaced(points, at) };
}

/**
 * An integer uniform in [low, high] (both included), e.g. a layer count. A grid rounds evenly
 * spaced points and drops repeats.
 *
 * Example: `{ layers: intUniform(1, 4) }`.
 */
export function intUniform(low: number, high: number): SearchDimension<number> {
  checkRange('intUniform', low, high);
  if (!Number.isInteger(low) || !Number.isInteger(high)) throw new EvaluationError(`intUniform: bounds must be integers, got ${low} and ${high}`);
  return {
    sample: (generator) => generator.integer(low, high + 1),
    grid: (points) => [...new Set(spaced(points, (fraction) => Math.round(low + fraction * (high - low))))],
  };
}

/**
 * One of the given values, each equally likely; a grid tries them all.
 *
 * Example: `{ batchSize: choice([32, 64, 128]), optimizer: choice(['sgd', 'adam'] as const) }`.
 */
export function choice<T>(values: readonly T[]): SearchDimension<T> {
  checkArgs('choice', [['values', values, 'arrayLike']]);
  if (values.length === 0) throw new EvaluationError('choice: needs at least one value');
  return { sample: (generator) => values[generator.integer(0, values.length)], grid: () => [...values] };
}

/** One evaluated set of hyperparameters. */
export interface Trial<P> {
  /** The hyperparameters. */
  params: P;
  /** What the objective returned for them. */
  score: number;
  /** The trial's position in the order the trials were run (0 first). */
  index: number;
}

/** What randomSearch and gridSearch return. */
export interface SearchResult<P> {
  /** Every trial, best first (NaN scores last). */
  trials: Trial<P>[];
  /** trials[0]. */
  best: Trial<P>;
}

/** Options shared by both searches. */
export interface SearchOptions {
  /** 'min' (default): lower scores are better (a loss); 'max': higher are (an accuracy). */
  mode?: 'min' | 'max';
}

/** Options of randomSearch. */
export interface RandomSearchOptions extends SearchOptions {
  /** How many random sets of hyperparameters to try. */
  trials: number;
  /** Where the random values come from; the default generator (see manualSeed) when omitted. */
  generator?: Generator;
}

/** Options of gridSearch. */
export interface GridSearchOptions extends SearchOptions {
  /** Values per continuous range (logUniform, uniform, intUniform). Default 3. */
  pointsPerRange?: number;
}

/** Runs the objective on each set of hyperparameters in turn and sorts the trials, best first. */
async function runTrials<P>(candidates: P[], objective: (params: P) => number | Promise<number>, mode: 'min' | 'max' = 'min'): Promise<SearchResult<P>> {
  if (mode !== 'min' && mode !== 'max') throw new EvaluationError(`search: mode must be 'min' or 'max', got '${String(mode)}'`);
  const trials: Trial<P>[] = [];
  for (const [index, params] of candidates.entries()) {
    const score = await objective(params);
    if (typeof score !== 'number') throw new EvaluationError(`search: trial ${index} returned ${String(score)}, expected a number`);
    trials.push({ params, score, index });
  }
  const sign = mode === 'min' ? 1 : -1;
  const key = (t: Trial<P>): number => (Number.isNaN(t.score) ? Infinity : sign * t.score);
  trials.sort((a, b) => key(a) - key(b) || Number(Number.isNaN(a.score)) - Number(Number.isNaN(b.score)) || a.index - b.index);
  return { trials, best: trials[0] };
}

/**
 * Random search (Bergstra & Bengio, 2012): `trials` sets of hyperparameters, each value drawn
 * independently from its dimension, evaluated one after another. The same generator state
 * gives the same trials.
 *
 * Args: space; objective(params) → score (or a promise of one); options.trials,
 * options.generator, options.mode ('min' default).
 *
 * Example:
 * ```ts
 * const { best } = await randomSearch(
 *   { lr: logUniform(1e-4, 1e-1), batchSize: choice([32, 64]) },
 *   async ({ lr, batchSize }) => trainAndValidate(lr, batchSize),   // returns a validation loss
 *   { trials: 20, generator: new Generator(0) },
 * );
 * ```
 */
export async function randomSearch<S extends SearchSpace>(
  space: S,
  objective: (params: ParamsOf<S>) => number | Promise<number>,
  options: RandomSearchOptions,
): Promise<SearchResult<ParamsOf<S>>> {
  const { trials } = options;
  if (!Number.isInteger(trials) || trials < 1) throw new EvaluationError(`randomSearch: trials must be an integer ≥ 1, got ${trials}`);
  const generator = options.generator ?? defaultGenerator;
  const names = Object.keys(space);
  const candidates = Array.from({ length: trials }, () => Object.fromEntries(names.map((name) => [name, space[name].sample(generator)])) as ParamsOf<S>);
  return runTrials(candidates, objective, options.mode);
}

/**
 * Grid search: every combination of the dimensions' grid values (the last name varies
 * fastest), evaluated one after another.
 *
 * Args: space; objective; options.pointsPerRange (default 3), options.mode ('min' default).
 *
 * Example: `await gridSearch({ lr: logUniform(1e-3, 1e-1), batchSize: choice([32, 64]) }, objective)` tries 3 × 2 = 6 sets.
 */
export async function gridSearch<S extends SearchSpace>(
  space: S,
  objective: (params: ParamsOf<S>) => number | Promise<number>,
  options: GridSearchOptions = {},
): Promise<SearchResult<ParamsOf<S>>> {
  const points = options.pointsPerRange ?? 3;
  let combinations: Record<string, unknown>[] = [{}];
  for (const [name, dimension] of Object.entries(space)) {
    const values = dimension.grid(points);
    combinations = combinations.flatMap((partial) => values.map((value) => ({ ...partial, [name]: value })));
  }
  return runTrials(combinations as ParamsOf<S>[], objective, options.mode);
}
