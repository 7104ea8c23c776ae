/**
 * search.architecture: the lecture's "learning architectures". Candidates from a small cell
 * space are trained briefly with train.fit and scored by validation accuracy; random search
 * and regularized evolution (Real et al., 2019, "Regularized Evolution for Image Classifier
 * Architecture Search") choose them. The result holds every candidate and the exact Pareto
 * front of accuracy against MACs.
 */
import { DataLoader } from '../data/loader.js';
import { TensorDataset } from '../data/dataset.js';
import { CrossEntropyLoss } from '../nn/losses.js';
import { summary } from '../nn/summary.js';
import { SGD } from '../optim/sgd.js';
import { Generator } from '../random.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { TrainingError } from '../train/errors.js';
import { fit } from '../train/fit.js';
import { accuracy } from '../train/metrics.js';
import { buildModel } from './build.js';
import { checkGenotype, describeGenotype, mutate, resolveSpace, sampleGenotype, SearchError, type Genotype, type SearchSpace } from './genotype.js';
import { paretoFront } from './pareto.js';

/** Images (N, C, H, W) and their class indices (N). */
export interface LabelledImages {
  x: Tensor;
  y: Tensor;
}

/** Options of search.architecture. */
export interface ArchitectureSearchOptions {
  /** 'random': every candidate drawn uniformly; 'evolution': regularized evolution. */
  strategy: 'random' | 'evolution';
  /** How many candidates to train (the budget; candidates rejected by maxMacs do not count). */
  candidates: number;
  /** Training images (N, C, H, W) float and labels (N) int32. */
  train: LabelledImages;
  /** Validation images and labels, scored after training. */
  val: LabelledImages;
  /** Classes of the classifier. Default: the largest training label + 1. */
  numClasses?: number;
  /** The cell space (missing fields from search.DEFAULT_SPACE). */
  space?: Partial<SearchSpace>;
  /** Seeds the genotypes drawn, the mutations and every candidate's weights and batch order. Default 0. */
  seed?: number;
  /** Training budget per candidate in epochs over `train`. Default 1 (unless steps is given). */
  epochs?: number;
  /** Training budget per candidate in optimizer steps (batches, cycling over `train`); excludes epochs. */
  steps?: number;
  /** Batch size. Default 64. */
  batchSize?: number;
  /** Learning rate of SGD (momentum 0.9). Default 0.05. */
  lr?: number;
  /** Evolution: the population size P (oldest removed when a child joins). Default min(10, ⌊candidates / 2⌋), at least 1. */
  population?: number;
  /** Evolution: the tournament size S (drawn with replacement from the population). Default min(3, population). */
  sampleSize?: number;
  /** Reject, before training, every genotype whose MACs per image exceed this. Default: no limit. */
  maxMacs?: number;
  /** Called after each trained candidate (e.g. to print progress). */
  onCandidate?: (candidate: Candidate, done: number, total: number) => void;
}

/** One trained candidate. */
export interface Candidate {
  /** Its position in the search's order (0-based). */
  index: number;
  genotype: Genotype;
  /** Validation accuracy in [0, 1]. */
  accuracy: number;
  /** Validation cross-entropy. */
  valLoss: number;
  /** Multiply–accumulates per image (nn.summary). */
  macs: number;
  params: number;
  /** Wall-clock seconds of its training and validation. */
  trainSeconds: number;
  /** 'random': drawn from the space; 'mutation': a mutated parent. */
  origin: 'random' | 'mutation';
  /** The index of the parent candidate (evolution), else null. */
  parent: number | null;
  /** What the mutation changed, e.g. 'block 0 width 8 → 16', else null. */
  mutation: string | null;
  /** Why training stopped early (a non-finite loss: the candidate scores accuracy 0, valLoss NaN), else null. */
  diverged: string | null;
}

/** A genotype rejected before training because its MACs exceeded maxMacs. */
export interface Rejection {
  genotype: Genotype;
  macs: number;
  params: number;
}

/**
 * What search.architecture found: every candidate in order, those rejected by maxMacs, the
 * Pareto front (accuracy up, MACs down; by increasing MACs) and the most accurate candidate.
 * `toString()` is a table; JSON.stringify gives every field.
 *
 * Example: `console.log(String(result)); result.paretoFront.map((c) => c.macs)`.
 */
export class ArchitectureSearchResult {
  readonly paretoFront: readonly Candidate[];
  readonly best: Candidate;

  constructor(
    readonly strategy: 'random' | 'evolution',
    readonly seed: number,
    readonly candidates: readonly Candidate[],
    readonly rejected: readonly Rejection[],
    readonly seconds: number,
  ) {
    this.paretoFront = paretoFront(candidates.map((c) => ({ cost: c.macs, score: c.accuracy }))).map((i) => candidates[i]);
    this.best = candidates.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
  }

  /** One row per candidate (front members starred), then the counts and time. */
  toString(): string {
    const onFront = new Set(this.paretoFront);
    const genotypes = this.candidates.map((c) => describeGenotype(c.genotype));
    const width = Math.max(8, ...genotypes.map((g) => g.length));
    const rows = this.candidates.map((c, i) =>
      [
        `${onFront.has(c) ? '*' : ' '}${String(c.index).padStart(3)}`,
        `${(100 * c.accuracy).toFixed(1).padStart(6)}%`,
        (c.macs / 1e6).toFixed(3).padStart(7),
        String(c.params).padStart(7),
        c.trainSeconds.toFixed(1).padStart(7),
        genotypes[i].padEnd(width),
        `${c.parent === null ? 'random' : `from ${c.parent}: ${c.mutation}`}${c.diverged === null ? '' : ' (diverged: loss not finite)'}`,
      ].join('  '),
    );
    return [
      `   #  val acc    MMACs   params  train s  ${'genotype'.padEnd(width)}  origin`,
      ...rows,
      `${this.strategy}: ${this.candidates.length} trained, ${this.rejected.length} rejected over maxMacs, ${this.paretoFront.length} on the Pareto front (*), ${this.seconds.toFixed(1)} s`,
    ].join('\n');
  }
}

/** The checked options with defaults filled in. */
interface SearchPlan {
  strategy: 'random' | 'evolution';
  budget: number;
  space: SearchSpace;
  seed: number;
  numClasses: number;
  inputShape: number[];
  trainSet: LabelledImages;
  valSet: LabelledImages;
  epochs: number;
  steps: number | null;
  batchSize: number;
  lr: number;
  population: number;
  sampleSize: number;
  maxMacs: number;
  onCandidate?: ArchitectureSearchOptions['onCandidate'];
}

const fail = (message: string): never => {
  throw new SearchError(`search.architecture: ${message}`);
};

function checkImages(name: string, set: LabelledImages | undefined): void {
  if (set === null || typeof set !== 'object' || !(set.x instanceof Tensor) || !(set.y instanceof Tensor)) fail(`${name} must be { x: Tensor, y: Tensor }`);
  const { x, y } = set!;
  if (x.ndim !== 4 || (x.dtype !== 'float32' && x.dtype !== 'float64')) fail(`${name}.x must be float images (N, C, H, W), got ${x.dtype} ${formatShape(x.shape)}`);
  if (y.ndim !== 1 || y.dtype !== 'int32' || y.shape[0] !== x.shape[0]) fail(`${name}.y must be int32 labels (N) with N = ${x.shape[0]}, got ${y.dtype} ${formatShape(y.shape)}`);
  if (x.shape[0] === 0) fail(`${name} holds no images`);
}

const positiveInteger = (name: string, value: number | undefined, fallback: number): number => {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) fail(`${name} must be an integer ≥ 1, got ${String(value)}`);
  return v;
};

function planSearch(options: ArchitectureSearchOptions): SearchPlan {
  if (options === null || typeof options !== 'object') fail('options are required: { strategy, candidates, train, val }');
  const { strategy } = options;
  if (strategy !== 'random' && strategy !== 'evolution') fail(`strategy must be 'random' or 'evolution', got ${String(strategy)}`);
  const budget = positiveInteger('candidates', options.candidates, Number.NaN);
  checkImages('train', options.train);
  checkImages('val', options.val);
  const inputShape = options.train.x.shape.slice(1);
  if (formatShape(options.val.x.shape.slice(1)) !== formatShape(inputShape)) fail(`train images are ${formatShape(inputShape)} but val images are ${formatShape(options.val.x.shape.slice(1))}`);
  const labels = options.train.y.toArray() as number[];
  const numClasses = positiveInteger('numClasses', options.numClasses, Math.max(...labels) + 1);
  if (labels.some((l) => l < 0 || l >= numClasses)) fail(`train.y holds labels outside [0, ${numClasses})`);
  const space = resolveSpace(options.space);
  const deepest = Math.max(...space.depths);
  if (Math.min(inputShape[1], inputShape[2]) < 2 ** (deepest - 1)) fail(`images of ${inputShape[1]}×${inputShape[2]} are too small for ${deepest} blocks (2×2 pooling between blocks needs ≥ ${2 ** (deepest - 1)} pixels per side)`);
  if (options.epochs !== undefined && options.steps !== undefined) fail('give either epochs or steps as the training budget, not both');
  const population = positiveInteger('population', options.population, Math.max(1, Math.min(10, Math.floor(budget / 2))));
  const sampleSize = positiveInteger('sampleSize', options.sampleSize, Math.min(3, population));
  if (strategy === 'evolution' && population > budget) fail(`population (${population}) must not exceed candidates (${budget}), or nothing would evolve`);
  if (sampleSize > population) fail(`sampleSize (${sampleSize}) must not exceed population (${population})`);
  const lr = options.lr ?? 0.05;
  if (!(lr > 0)) fail(`lr must be > 0, got ${String(options.lr)}`);
  const maxMacs = options.maxMacs ?? Number.POSITIVE_INFINITY;
  if (!(maxMacs > 0)) fail(`maxMacs must be > 0, got ${String(options.maxMacs)}`);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) fail(`seed must be an integer, got ${String(seed)}`);
  return {
    strategy,
    budget,
    space,
    seed,
    numClasses,
    inputShape,
    trainSet: options.train,
    valSet: options.val,
    epochs: options.steps === undefined ? positiveInteger('epochs', options.epochs, 1) : 1,
    steps: options.steps === undefined ? null : positiveInteger('steps', options.steps, Number.NaN),
    batchSize: positiveInteger('batchSize', options.batchSize, 64),
    lr,
    population,
    sampleSize,
    maxMacs,
    onCandidate: options.onCandidate,
  };
}

/** The first `steps` batches of repeated passes over loader (one "epoch" of fit). */
function firstSteps<T>(loader: Iterable<T>, steps: number): Iterable<T> {
  return {
    *[Symbol.iterator]() {
      let done = 0;
      while (done < steps) {
        for (const batch of loader) {
          yield batch;
          if (++done === steps) return;
        }
      }
    },
  };
}

/** The seed of candidate `index`'s weights and batch order (distinct streams per candidate). */
const candidateSeed = (seed: number, index: number): number => (Math.imul(seed, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;

/** MACs per image and parameters of a genotype's network. */
function measure(plan: SearchPlan, genotype: Genotype): { macs: number; params: number } {
  const net = buildModel(genotype, { inChannels: plan.inputShape[0], numClasses: plan.numClasses, generator: new Generator(0) });
  const s = summary(net, [1, ...plan.inputShape]);
  return { macs: s.totalMacs, params: s.totalParams };
}

type Score = Pick<Candidate, 'accuracy' | 'valLoss' | 'trainSeconds' | 'diverged'>;

/**
 * Trains the genotype's network for the budget and scores it on the validation set. A loss
 * that turns non-finite ends the candidate's training (fit throws before the step): it scores 0.
 */
function trainAndScore(plan: SearchPlan, genotype: Genotype, index: number): Score {
  const generator = new Generator(candidateSeed(plan.seed, index));
  const net = buildModel(genotype, { inChannels: plan.inputShape[0], numClasses: plan.numClasses, generator });
  const shuffled = new DataLoader(new TensorDataset(plan.trainSet.x, plan.trainSet.y), { batchSize: plan.batchSize, shuffle: true, generator });
  const valLoader = new DataLoader(new TensorDataset(plan.valSet.x, plan.valSet.y), { batchSize: 256 });
  const start = performance.now();
  const seconds = (): number => (performance.now() - start) / 1000;
  try {
    const history = fit(net, {
      loss: new CrossEntropyLoss(),
      optimizer: new SGD(net.parameters(), { lr: plan.lr, momentum: 0.9 }),
      trainLoader: plan.steps === null ? shuffled : firstSteps(shuffled, plan.steps),
      valLoader,
      epochs: plan.epochs,
      metrics: { accuracy },
      progress: false,
    });
    const last = history.last!;
    return { accuracy: last.val_accuracy as number, valLoss: last.val_loss as number, trainSeconds: seconds(), diverged: null };
  } catch (e) {
    if (!(e instanceof TrainingError && /training loss is (NaN|-?Infinity)/.test(e.message))) throw e;
    return { accuracy: 0, valLoss: Number.NaN, trainSeconds: seconds(), diverged: e.message };
  }
}

/** Draws genotypes until one fits maxMacs (the rejected ones recorded); throws after too many in a row. */
function drawWithinBudget(plan: SearchPlan, rejected: Rejection[], draw: () => { genotype: Genotype; mutation: string | null }) {
  const limit = 1000;
  let smallest = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < limit; attempt++) {
    const drawn = draw();
    checkGenotype(drawn.genotype, plan.space);
    const cost = measure(plan, drawn.genotype);
    if (cost.macs <= plan.maxMacs) return { ...drawn, ...cost };
    rejected.push({ genotype: drawn.genotype, ...cost });
    smallest = Math.min(smallest, cost.macs);
  }
  return fail(`${limit} genotypes in a row exceeded maxMacs ${plan.maxMacs} (the smallest had ${smallest} MACs): raise maxMacs or narrow the space`);
}

/** The tournament of regularized evolution: the most accurate of S members drawn with replacement. */
function tournament(population: readonly Candidate[], sampleSize: number, generator: Generator): Candidate {
  let winner: Candidate | null = null;
  for (let i = 0; i < sampleSize; i++) {
    const member = population[generator.integer(0, population.length)];
    if (winner === null || member.accuracy > winner.accuracy) winner = member;
  }
  return winner!;
}

/**
 * Searches the cell space for image classifiers. Each candidate genotype becomes a network
 * (search.buildModel: blocks of conv-BN-ReLU with optional bottleneck and skip, pooling
 * between blocks, global average pooling, a linear head), is measured (MACs and parameters
 * per image, nn.summary; genotypes over maxMacs are rejected before training and do not count),
 * trained with train.fit (SGD, momentum 0.9, cross-entropy) for `epochs` or `steps` on `train`
 * and scored by its accuracy on `val`.
 *
 * Strategies: 'random' draws every genotype uniformly. 'evolution' is regularized evolution
 * (Real et al., 2019): the first P candidates are random; then each cycle draws S members of
 * the population with replacement, mutates the most accurate one (exactly one choice
 * changed, search.mutate), trains the child, adds it and removes the oldest member (aging).
 * Everything random (genotypes, mutations, weights, batch order) comes from `seed`, so the
 * same options give the same result.
 *
 * Args: options (strategy, candidates, train, val, numClasses, space, seed, epochs | steps,
 * batchSize, lr, population, sampleSize, maxMacs, onCandidate).
 *
 * Example:
 * ```ts
 * const result = search.architecture({ strategy: 'evolution', candidates: 20, train, val, steps: 100, seed: 1 });
 * console.log(String(result));
 * search.writeSearchPlot('out/arch-search', [result]);
 * ```
 */
export function architecture(options: ArchitectureSearchOptions): ArchitectureSearchResult {
  const plan = planSearch(options);
  const generator = new Generator(plan.seed);
  const candidates: Candidate[] = [];
  const rejected: Rejection[] = [];
  const population: Candidate[] = [];
  const start = performance.now();
  while (candidates.length < plan.budget) {
    const evolving = plan.strategy === 'evolution' && population.length >= plan.population;
    const parent = evolving ? tournament(population, plan.sampleSize, generator) : null;
    const drawn = drawWithinBudget(plan, rejected, () => {
      if (parent === null) return { genotype: sampleGenotype(plan.space, generator), mutation: null };
      const { genotype, description } = mutate(parent.genotype, plan.space, generator);
      return { genotype, mutation: description };
    });
    const index = candidates.length;
    const score = trainAndScore(plan, drawn.genotype, index);
    const candidate: Candidate = {
      index,
      genotype: drawn.genotype,
      ...score,
      macs: drawn.macs,
      params: drawn.params,
      origin: parent === null ? 'random' : 'mutation',
      parent: parent?.index ?? null,
      mutation: drawn.mutation,
    };
    candidates.push(candidate);
    population.push(candidate);
    if (population.length > plan.population) population.shift();
    plan.onCandidate?.(candidate, candidates.length, plan.budget);
  }
  return new ArchitectureSearchResult(plan.strategy, plan.seed, candidates, rejected, (performance.now() - start) / 1000);
}
