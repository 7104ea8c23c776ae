/**
 * Learning-rate schedules, as torch.optim.lr_scheduler (PyTorch 1.13): each sets the `lr` of
 * every parameter group of an optimizer when `step()` is called (once per epoch or per batch,
 * after `optimizer.step()`). Construction performs the first step (epoch 0), as in PyTorch.
 *
 * Example:
 * ```ts
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const sched = new optim.StepLR(opt, { stepSize: 30, gamma: 0.1 });
 * for (let epoch = 0; epoch < 90; epoch++) { train(); opt.step(); sched.step(); }
 * ```
 */
import type { Optimizer, ParamGroup } from './optimizer.js';

/** Any optimizer (schedulers only touch group options). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOptimizer = Optimizer<any>;
type Group = ParamGroup<{ lr: number }>;

/** A scheduler's state: its fields, JSON-compatible. */
export type SchedulerState = Record<string, unknown>;

/** Fields that are wiring, not state: never saved. */
const NOT_STATE = new Set(['optimizer', 'schedulers', 'lrLambdas', 'scaleFn']);

/**
 * The base of the epoch-driven schedulers: PyTorch's _LRScheduler.
 *
 * Example: `const sched: optim.LRScheduler = new optim.StepLR(opt, { stepSize: 10 }); sched.step();` once per epoch.
 */
export abstract class LRScheduler {
  /** The lr of each group at epoch 0 (its `initialLr`). */
  baseLrs: number[];
  /** The current epoch: −1 before the first step, 0 after construction. */
  lastEpoch: number;
  /** How many times step() ran. */
  stepCount = 0;
  private lastLr: number[] = [];

  /**
   * Sets each group's `initialLr` (when lastEpoch is −1). Subclasses set their own fields and
   * then call `this.initialStep()`.
   */
  protected constructor(
    readonly optimizer: AnyOptimizer,
    lastEpoch = -1,
  ) {
    const groups = this.groups();
    groups.forEach((group, i) => {
      if (lastEpoch === -1) group.initialLr ??= group.lr;
      else if (group.initialLr === undefined) {
        throw new RangeError(`${this.constructor.name}: initialLr is not set in paramGroups[${i}] when resuming (lastEpoch ${lastEpoch})`);
      }
    });
    this.baseLrs = groups.map((group) => group.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** The lr of each group for `lastEpoch` (may read the groups' current lr: the chainable form). */
  protected abstract getLr(): number[];

  /** The lr of each group at `lastEpoch` from the base lrs alone, where a closed form exists. */
  protected closedFormLr(): number[] | null {
    return null;
  }

  protected groups(): Group[] {
    return this.optimizer.paramGroups as Group[];
  }

  /** The constructor's first step. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Advances one epoch and sets each group's lr. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    this.setLrs(this.getLr());
  }

  /** Jumps to `epoch` (as PyTorch's deprecated step(epoch)); SequentialLR uses it at milestones. */
  stepTo(epoch: number): void {
    this.stepCount++;
    this.lastEpoch = epoch;
    this.setLrs(this.closedFormLr() ?? this.getLr());
  }

  protected setLrs(lrs: number[]): void {
    this.groups().forEach((group, i) => (group.lr = lrs[i]));
    this.lastLr = this.groups().map((group) => group.lr);
  }

  /** The lr of each group after the last step. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The scheduler's state (its fields, without the optimizer or functions). */
  stateDict(): SchedulerState {
    const state: SchedulerState = {};
    for (const [key, value] of Object.entries(this)) {
      if (!NOT_STATE.has(key) && typeof value !== 'function') state[key] = structuredClone(value);
    }
    return state;
  }

  /** Restores `stateDict()` output. */
  loadStateDict(state: SchedulerState): void {
    Object.assign(this, structuredClone(state));
  }
}

/** The current lr of each group. */
const currentLrs = (s: LRScheduler): number[] => s.optimizer.paramGroups.map((g) => g.lr);

/** One value per group: a single number repeated, or a list checked for length. */
function perGroup(name: string, optimizer: AnyOptimizer, value: number | number[]): number[] {
  const n = optimizer.paramGroups.length;
  if (!Array.isArray(value)) return new Array<number>(n).fill(value);
  if (value.length !== n) throw new RangeError(`expected ${n} values for ${name}, got ${value.length}`);
  return [...value];
}

/**
 * lr = initial lr · lrLambda(epoch) (one function, or one per group).
 *
 * Example: `new optim.LambdaLR(opt, { lrLambda: (epoch) => 0.95 ** epoch })`.
 */
export class LambdaLR extends LRScheduler {
  private readonly lrLambdas: ((epoch: number) => number)[];
  constructor(optimizer: AnyOptimizer, options: { lrLambda: ((epoch: number) => number) | ((epoch: number) => number)[]; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch);
    const fns = Array.isArray(options.lrLambda) ? options.lrLambda : this.baseLrs.map(() => options.lrLambda as (e: number) => number);
    if (fns.length !== this.baseLrs.length) throw new RangeError(`LambdaLR: expected ${this.baseLrs.length} lrLambdas, got ${fns.length}`);
    this.lrLambdas = fns;
    this.initialStep();
  }
  protected getLr(): number[] {
    return this.baseLrs.map((base, i) => base * this.lrLambdas[i](this.lastEpoch));
  }
}

/**
 * Multiplies the lr by gamma every stepSize epochs.
 *
 * Example: `new optim.StepLR(opt, { stepSize: 30, gamma: 0.1 })`.
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, options: { stepSize: number; gamma?: number; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch);
    this.stepSize = options.stepSize;
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }
  protected getLr(): number[] {
    const decay = this.lastEpoch !== 0 && this.lastEpoch % this.stepSize === 0;
    return currentLrs(this).map((lr) => (decay ? lr * this.gamma : lr));
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/**
 * Multiplies the lr by gamma at each milestone epoch (a milestone listed twice decays twice).
 *
 * Example: `new optim.MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 })`.
 */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, options: { milestones: number[]; gamma?: number; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch);
    this.milestones = [...options.milestones].sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
    this.initialStep();
  }
  protected getLr(): number[] {
    const hits = this.milestones.filter((m) => m === this.lastEpoch).length;
    return currentLrs(this).map((lr) => lr * this.gamma ** hits);
  }
  protected override closedFormLr(): number[] {
    const passed = this.milestones.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((base) => base * this.gamma ** passed);
  }
}

/**
 * Multiplies the lr by gamma every epoch.
 *
 * Example: `new optim.ExponentialLR(opt, { gamma: 0.95 })`.
 */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;
  constructor(optimizer: AnyOptimizer, options: { gamma: number; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch);
    this.gamma = options.gamma;
    this.initialStep();
  }
  protected getLr(): number[] {
    return currentLrs(this).map((lr) => (this.lastEpoch === 0 ? lr : lr * this.gamma));
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => base * this.gamma ** this.lastEpoch);
  }
}

/**
 * Inverse-time (1/t) decay, the lecture's schedule (kiln extension; Keras' InverseTimeDecay):
 * lr = initial lr / (1 + decayRate · t / decaySteps), t floored to whole decaySteps when staircase.
 *
 * Example: `new optim.InverseTimeLR(opt, { decayRate: 0.5 })`.
 */
export class InverseTimeLR extends LRScheduler {
  readonly decayRate: number;
  readonly decaySteps: number;
  readonly staircase: boolean;
  constructor(optimizer: AnyOptimizer, options: { decayRate: number; decaySteps?: number; staircase?: boolean; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch);
    this.decayRate = options.decayRate;
    this.decaySteps = options.decaySteps ?? 1;
    this.staircase = options.staircase ?? false;
    if (!(this.decaySteps > 0)) throw new RangeError(`InverseTimeLR: decaySteps must be > 0, got ${this.decaySteps}`);
    this.initialStep();
  }
  protected getLr(): number[] {
    const t = this.lastEpoch / this.decaySteps;
    return this.baseLrs.map((base) => base / (1 + this.decayRate * (this.staircase ? Math.floor(t) : t)));
  }
}

/**
 * Linear warm-up (PyTorch's LinearLR): the lr factor goes linearly from startFactor to
 * endFactor over totalIters epochs, then stays.
 *
 * Example: `new optim.LinearLR(opt, { startFactor: 0.1, totalIters: 5 })`.
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(optimizer: AnyOptimizer, options: { startFactor?: number; endFactor?: number; totalIters?: number; lastEpoch?: number } = {}) {
    super(optimizer, options.lastEpoch);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    for (const [name, f] of [['startFactor', this.startFactor], ['endFactor', this.endFactor]] as const) {
      if (!(f >= 0 && f <= 1)) throw new RangeError(`LinearLR: ${name} must be in [0, 1], got ${f}`);
    }
    this.initialStep();
  }
  protected getLr(): number[] {
    if (this.lastEpoch === 0) return currentLrs(this).map((lr) => lr * this.startFactor);
    if (this.lastEpoch > this.totalIters) return currentLrs(this);
    const delta = this.endFactor - this.startFactor;
    const factor = 1 + delta / (this.totalIters * this.startFactor + (this.lastEpoch - 1) * delta);
    return currentLrs(this).map((lr) => lr * factor);
  }
  protected override closedFormLr(): number[] {
    const progress = Math.min(this.totalIters, this.lastEpoch) / this.totalIters;
    return this.baseLrs.map((base) => base * (this.startFactor + (this.endFactor - this.startFactor) * progress));
  }
}

/**
 * Cosine annealing from the initial lr down to etaMin over TMax epochs (and back up after,
 * as PyTorch's chainable form does): lr = etaMin + (base − etaMin)·(1 + cos(π·t/TMax))/2.
 *
 * Example: `new optim.CosineAnnealingLR(opt, { TMax: 100 })`.
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly TMax: number;
  readonly etaMin: number;
  constructor(optimizer: AnyOptimizer, options: { TMax: number; etaMin?: number; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch);
    this.TMax = options.TMax;
    this.etaMin = options.etaMin ?? 0;
    this.initialStep();
  }
  protected getLr(): number[] {
    const { lastEpoch: t, TMax, etaMin } = this;
    if (t === 0) return currentLrs(this);
    if (this.stepCount === 1 && t > 0) return this.closedFormLr();
    if ((t - 1 - TMax) % (2 * TMax) === 0) {
      return currentLrs(this).map((lr, i) => lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / TMax))) / 2);
    }
    const ratio = (1 + Math.cos((Math.PI * t) / TMax)) / (1 + Math.cos((Math.PI * (t - 1)) / TMax));
    return currentLrs(this).map((lr) => ratio * (lr - etaMin) + etaMin);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.lastEpoch) / this.TMax))) / 2);
  }
}

/**
 * Cosine annealing with warm restarts (SGDR): the cosine restarts every T_i epochs, with
 * T_0 = T0 and T_{i+1} = TMult·T_i.
 *
 * Example: `new optim.CosineAnnealingWarmRestarts(opt, { T0: 10, TMult: 2 })`.
 */
export class CosineAnnealingWarmRestarts extends LRScheduler {
  readonly T0: number;
  readonly TMult: number;
  readonly etaMin: number;
  /** The length of the current cycle. */
  Ti: number;
  /** Epochs since the last restart. */
  TCur: number;
  constructor(optimizer: AnyOptimizer, options: { T0: number; TMult?: number; etaMin?: number; lastEpoch?: number }) {
    super(optimizer, options.lastEpoch);
    this.T0 = options.T0;
    this.TMult = options.TMult ?? 1;
    this.etaMin = options.etaMin ?? 0;
    if (!(Number.isInteger(this.T0) && this.T0 > 0)) throw new RangeError(`CosineAnnealingWarmRestarts: T0 must be a positive integer, got ${this.T0}`);
    if (!(Number.isInteger(this.TMult) && this.TMult >= 1)) throw new RangeError(`CosineAnnealingWarmRestarts: TMult must be an integer ≥ 1, got ${this.TMult}`);
    this.Ti = this.T0;
    this.TCur = this.lastEpoch;
    this.initialStep();
  }
  override step(): void {
    this.stepCount++;
    if (this.lastEpoch < 0) {
      this.lastEpoch = 0;
      this.TCur = 0;
    } else {
      this.lastEpoch++;
      this.TCur++;
      if (this.TCur >= this.Ti) {
        this.TCur -= this.Ti;
        this.Ti *= this.TMult;
      }
    }
    this.setLrs(this.getLr());
  }
  protected getLr(): number[] {
    return this.baseLrs.map((base) => this.etaMin + ((base - this.etaMin) * (1 + Math.cos((Math.PI * this.TCur) / this.Ti))) / 2);
  }
}

/** Options of CyclicLR (PyTorch's names and defaults). */
export interface CyclicLROptions {
  baseLr: number | number[];
  maxLr: number | number[];
  /** Default 2000. */
  stepSizeUp?: number;
  /** Default stepSizeUp. */
  stepSizeDown?: number;
  /** Default 'triangular'. */
  mode?: 'triangular' | 'triangular2' | 'exp_range';
  /** For exp_range. Default 1. */
  gamma?: number;
  /** A custom amplitude scale (overrides mode). */
  scaleFn?: (x: number) => number;
  /** What scaleFn is given: the cycle number or the iteration. Default 'cycle'. */
  scaleMode?: 'cycle' | 'iterations';
  /** Cycle the optimizer's momentum inversely to the lr. Default true. */
  cycleMomentum?: boolean;
  /** Default 0.8. */
  baseMomentum?: number | number[];
  /** Default 0.9. */
  maxMomentum?: number | number[];
  lastEpoch?: number;
}

/**
 * Cyclical learning rate (Smith 2017): the lr cycles between baseLr and maxLr (triangular,
 * triangular2 or exp_range amplitude); momentum cycles the other way.
 *
 * Example: `new optim.CyclicLR(opt, { baseLr: 0.01, maxLr: 0.1, stepSizeUp: 10 })`.
 */
export class CyclicLR extends LRScheduler {
  readonly maxLrs: number[];
  readonly totalSize: number;
  readonly stepRatio: number;
  readonly mode: string;
  readonly gamma: number;
  readonly scaleMode: 'cycle' | 'iterations';
  readonly cycleMomentum: boolean;
  readonly baseMomentums: number[] = [];
  readonly maxMomentums: number[] = [];
  private readonly scaleFn: (x: number) => number;

  constructor(optimizer: AnyOptimizer, options: CyclicLROptions) {
    const lastEpoch = options.lastEpoch ?? -1;
    const baseLrs = perGroup('baseLr', optimizer, options.baseLr);
    if (lastEpoch === -1) optimizer.paramGroups.forEach((g, i) => (g.lr = baseLrs[i]));
    super(optimizer, lastEpoch);
    this.maxLrs = perGroup('maxLr', optimizer, options.maxLr);
    const up = options.stepSizeUp ?? 2000;
    this.totalSize = up + (options.stepSizeDown ?? up);
    this.stepRatio = up / this.totalSize;
    this.mode = options.mode ?? 'triangular';
    this.gamma = options.gamma ?? 1;
    [this.scaleFn, this.scaleMode] = options.scaleFn
      ? [options.scaleFn, options.scaleMode ?? 'cycle']
      : this.modeScale(this.mode);
    this.cycleMomentum = options.cycleMomentum ?? true;
    if (this.cycleMomentum) this.setUpMomentum(options, lastEpoch);
    this.baseLrs = baseLrs;
    this.initialStep();
  }

  private modeScale(mode: string): [(x: number) => number, 'cycle' | 'iterations'] {
    if (mode === 'triangular') return [() => 1, 'cycle'];
    if (mode === 'triangular2') return [(x) => 1 / 2 ** (x - 1), 'cycle'];
    if (mode === 'exp_range') return [(x) => this.gamma ** x, 'iterations'];
    throw new RangeError(`CyclicLR: unknown mode '${mode}' (triangular, triangular2 or exp_range) and no scaleFn`);
  }

  private setUpMomentum(options: CyclicLROptions, lastEpoch: number): void {
    if (!('momentum' in this.optimizer.defaults)) throw new RangeError('CyclicLR: the optimizer must support momentum with cycleMomentum enabled');
    const base = perGroup('baseMomentum', this.optimizer, options.baseMomentum ?? 0.8);
    if (lastEpoch === -1) this.groups().forEach((g, i) => (g.momentum = base[i]));
    this.baseMomentums.push(...this.groups().map((g) => g.momentum as number));
    this.maxMomentums.push(...perGroup('maxMomentum', this.optimizer, options.maxMomentum ?? 0.9));
  }

  protected getLr(): number[] {
    const cycle = Math.floor(1 + this.lastEpoch / this.totalSize);
    const x = 1 + this.lastEpoch / this.totalSize - cycle;
    const scaleFactor = x <= this.stepRatio ? x / this.stepRatio : (x - 1) / (this.stepRatio - 1);
    const amplitude = this.scaleFn(this.scaleMode === 'cycle' ? cycle : this.lastEpoch);
    if (this.cycleMomentum) {
      this.groups().forEach((g, i) => {
        g.momentum = this.maxMomentums[i] - (this.maxMomentums[i] - this.baseMomentums[i]) * scaleFactor * amplitude;
      });
    }
    return this.baseLrs.map((base, i) => base + (this.maxLrs[i] - base) * scaleFactor * amplitude);
  }
}

/** Options of OneCycleLR (PyTorch's names and defaults). */
export interface OneCycleLROptions {
  maxLr: number | number[];
  /** The cycle's length; or give epochs and stepsPerEpoch. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr. Default 0.3. */
  pctStart?: number;
  /** Default 'cos'. */
  annealStrategy?: 'cos' | 'linear';
  /** Default true: cycles momentum (or Adam's β1) inversely. */
  cycleMomentum?: boolean;
  /** Default 0.85. */
  baseMomentum?: number | number[];
  /** Default 0.95. */
  maxMomentum?: number | number[];
  /** initial lr = maxLr / divFactor. Default 25. */
  divFactor?: number;
  /** min lr = initial lr / finalDivFactor. Default 1e4. */
  finalDivFactor?: number;
  /** Default false. */
  threePhase?: boolean;
  lastEpoch?: number;
}

interface Phase {
  endStep: number;
  startLr: string;
  endLr: string;
  startMomentum: string;
  endMomentum: string;
}

/**
 * The 1cycle policy (Smith & Topin 2018): lr rises from maxLr/divFactor to maxLr, then anneals
 * to a minimum far below; momentum (or β1) moves the other way. Call step() once per batch.
 *
 * Example: `new optim.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 1000 })`.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  readonly phases: Phase[];
  readonly annealStrategy: 'cos' | 'linear';
  readonly cycleMomentum: boolean;
  readonly useBeta1: boolean;

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    const lastEpoch = options.lastEpoch ?? -1;
    const total = options.totalSteps ?? (options.epochs ?? NaN) * (options.stepsPerEpoch ?? NaN);
    if (!(Number.isInteger(total) && total > 0)) {
      throw new RangeError(`OneCycleLR: give a positive integer totalSteps, or epochs and stepsPerEpoch; got ${total}`);
    }
    const pct = options.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new RangeError(`OneCycleLR: pctStart must be in [0, 1], got ${pct}`);
    if (lastEpoch === -1) OneCycleLR.initGroups(optimizer, options);
    super(optimizer, lastEpoch);
    this.totalSteps = total;
    this.phases = OneCycleLR.makePhases(total, pct, options.threePhase ?? false);
    this.annealStrategy = options.annealStrategy ?? 'cos';
    this.cycleMomentum = options.cycleMomentum ?? true;
    this.useBeta1 = 'betas' in optimizer.defaults;
    if (this.cycleMomentum) this.setUpMomentum(options, lastEpoch);
    this.initialStep();
  }

  private static initGroups(optimizer: AnyOptimizer, options: OneCycleLROptions): void {
    const maxLrs = perGroup('maxLr', optimizer, options.maxLr);
    optimizer.paramGroups.forEach((g, i) => {
      g.initialLr = maxLrs[i] / (options.divFactor ?? 25);
      g.maxLr = maxLrs[i];
      g.minLr = (g.initialLr as number) / (options.finalDivFactor ?? 1e4);
    });
  }

  private static makePhases(total: number, pct: number, threePhase: boolean): Phase[] {
    const up = { endStep: pct * total - 1, startLr: 'initialLr', endLr: 'maxLr', startMomentum: 'maxMomentum', endMomentum: 'baseMomentum' };
    if (!threePhase) return [up, { endStep: total - 1, startLr: 'maxLr', endLr: 'minLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' }];
    return [
      up,
      { endStep: 2 * pct * total - 2, startLr: 'maxLr', endLr: 'initialLr', startMomentum: 'baseMomentum', endMomentum: 'maxMomentum' },
      { endStep: total - 1, startLr: 'initialLr', endLr: 'minLr', startMomentum: 'maxMomentum', endMomentum: 'maxMomentum' },
    ];
  }

  private setUpMomentum(options: OneCycleLROptions, lastEpoch: number): void {
    if (!('momentum' in this.optimizer.defaults) && !this.useBeta1) {
      throw new RangeError('OneCycleLR: the optimizer must support momentum (or betas) with cycleMomentum enabled');
    }
    const max = perGroup('maxMomentum', this.optimizer, options.maxMomentum ?? 0.95);
    const base = perGroup('baseMomentum', this.optimizer, options.baseMomentum ?? 0.85);
    if (lastEpoch !== -1) return;
    this.groups().forEach((g, i) => {
      this.setMomentum(g, max[i]);
      g.maxMomentum = max[i];
      g.baseMomentum = base[i];
    });
  }

  private setMomentum(g: Group, value: number): void {
    if (this.useBeta1) g.betas = [value, (g.betas as number[])[1]];
    else g.momentum = value;
  }

  private anneal(start: number, end: number, pct: number): number {
    return this.annealStrategy === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start;
  }

  protected getLr(): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) throw new RangeError(`OneCycleLR: tried to step ${step + 1} times; totalSteps is ${this.totalSteps}`);
    return this.groups().map((g) => {
      let start = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const phase = this.phases[i];
        if (step <= phase.endStep || i === this.phases.length - 1) {
          const pct = (step - start) / (phase.endStep - start);
          if (this.cycleMomentum) this.setMomentum(g, this.anneal(g[phase.startMomentum] as number, g[phase.endMomentum] as number, pct));
          return this.anneal(g[phase.startLr] as number, g[phase.endLr] as number, pct);
        }
        start = phase.endStep;
      }
      throw new Error('unreachable: the last phase always matches');
    });
  }
}

/**
 * Runs several schedulers together: each step() steps every one of them in order, so their
 * factors multiply (the chainable schedulers read the lr the previous one set).
 *
 * Example: `new optim.ChainedScheduler([new optim.LinearLR(opt, ...), new optim.ExponentialLR(opt, { gamma: 0.9 })])`.
 */
export class ChainedScheduler {
  readonly optimizer: AnyOptimizer;
  private lastLr: number[];
  constructor(readonly schedulers: LRScheduler[]) {
    if (schedulers.length === 0) throw new RangeError('ChainedScheduler: needs at least one scheduler');
    this.optimizer = schedulers[0].optimizer;
    if (schedulers.some((s) => s.optimizer !== this.optimizer)) throw new RangeError('ChainedScheduler: all schedulers must belong to the same optimizer');
    this.lastLr = currentLrs(schedulers[0]);
  }
  /** Steps every scheduler. */
  step(): void {
    for (const s of this.schedulers) s.step();
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }
  /** The lr of each group after the last step. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }
  /** Each scheduler's state. */
  stateDict(): SchedulerState {
    return { lastLr: [...this.lastLr], schedulers: this.schedulers.map((s) => s.stateDict()) };
  }
  /** Restores `stateDict()` output. */
  loadStateDict(state: SchedulerState): void {
    this.lastLr = [...(state.lastLr as number[])];
    (state.schedulers as SchedulerState[]).forEach((s, i) => this.schedulers[i].loadStateDict(s));
  }
}

/**
 * Runs schedulers one after another: schedulers[i] from milestones[i − 1] on (each restarting
 * from its epoch 0 at its milestone).
 *
 * Example: warm-up then cosine:
 * `new optim.SequentialLR(opt, { schedulers: [warmup, cosine], milestones: [5] })`.
 */
export class SequentialLR {
  lastEpoch: number;
  private lastLr: number[];
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];
  constructor(
    readonly optimizer: AnyOptimizer,
    options: { schedulers: LRScheduler[]; milestones: number[]; lastEpoch?: number },
  ) {
    const { schedulers, milestones } = options;
    if (schedulers.some((s) => s.optimizer !== optimizer)) throw new RangeError('SequentialLR: all schedulers must belong to the optimizer passed in');
    if (milestones.length !== schedulers.length - 1) {
      throw new RangeError(`SequentialLR: expects one milestone fewer than schedulers, got ${schedulers.length} schedulers and ${milestones.length} milestones`);
    }
    this.schedulers = schedulers;
    this.milestones = milestones;
    this.lastEpoch = (options.lastEpoch ?? -1) + 1;
    for (const g of optimizer.paramGroups) g.lr = g.initialLr as number;
    for (const s of schedulers) s.lastEpoch -= 1;
    schedulers[0].stepCount = 0;
    schedulers[0].step();
    this.lastLr = schedulers[0].getLastLr();
  }
  /** Steps the scheduler whose interval holds the new epoch (restarting it at its milestone). */
  step(): void {
    this.lastEpoch++;
    const idx = this.milestones.filter((m) => m <= this.lastEpoch).length;
    const scheduler = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) scheduler.stepTo(0);
    else scheduler.step();
    this.lastLr = scheduler.getLastLr();
  }
  /** The lr of each group after the last step. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }
  /** This scheduler's epoch and each child's state. */
  stateDict(): SchedulerState {
    return { lastEpoch: this.lastEpoch, lastLr: [...this.lastLr], schedulers: this.schedulers.map((s) => s.stateDict()) };
  }
  /** Restores `stateDict()` output. */
  loadStateDict(state: SchedulerState): void {
    this.lastEpoch = state.lastEpoch as number;
    this.lastLr = [...(state.lastLr as number[])];
    (state.schedulers as SchedulerState[]).forEach((s, i) => this.schedulers[i].loadStateDict(s));
  }
}

/** Options of ReduceLROnPlateau (PyTorch's names and defaults). */
export interface ReduceLROnPlateauOptions {
  /** 'min': the metric should fall (a loss); 'max': rise (an accuracy). Default 'min'. */
  mode?: 'min' | 'max';
  /** lr ·= factor on a plateau. Default 0.1. */
  factor?: number;
  /** Epochs without improvement tolerated. Default 10. */
  patience?: number;
  /** Default 1e-4. */
  threshold?: number;
  /** Default 'rel'. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction. Default 0. */
  cooldown?: number;
  /** Lower bound per group. Default 0. */
  minLr?: number | number[];
  /** Reductions smaller than this are skipped. Default 1e-8. */
  eps?: number;
}

/**
 * Reduces the lr by `factor` when a metric stops improving for `patience` epochs.
 * Call `step(metric)` once per epoch with the validation metric.
 *
 * Example: `const s = new optim.ReduceLROnPlateau(opt, { patience: 3 }); s.step(valLoss);`
 */
export class ReduceLROnPlateau {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  private lastLr: number[];

  constructor(
    readonly optimizer: AnyOptimizer,
    options: ReduceLROnPlateauOptions = {},
  ) {
    this.mode = options.mode ?? 'min';
    this.factor = options.factor ?? 0.1;
    if (!(this.factor < 1)) throw new RangeError(`ReduceLROnPlateau: factor must be < 1, got ${this.factor}`);
    if (this.mode !== 'min' && this.mode !== 'max') throw new RangeError(`ReduceLROnPlateau: unknown mode '${String(this.mode)}'`);
    this.patience = options.patience ?? 10;
    this.threshold = options.threshold ?? 1e-4;
    this.thresholdMode = options.thresholdMode ?? 'rel';
    this.cooldown = options.cooldown ?? 0;
    this.minLrs = perGroup('minLr', optimizer, options.minLr ?? 0);
    this.eps = options.eps ?? 1e-8;
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  private isBetter(a: number): boolean {
    const { best, threshold } = this;
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return this.thresholdMode === 'rel' ? a > best * (1 + threshold) : a > best + threshold;
  }

  /** Records one epoch's metric and reduces the lr after more than `patience` bad epochs. */
  step(metric: number): void {
    this.lastEpoch++;
    if (this.isBetter(metric)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs++;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter--;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      this.reduceLr();
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduceLr(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      const newLr = Math.max(g.lr * this.factor, this.minLrs[i]);
      if (g.lr - newLr > this.eps) g.lr = newLr;
    });
  }

  /** The lr of each group after the last step. */
  getLastLr(): number[] {
    return [...this.lastLr];
  }
  /** The counters and best metric. */
  stateDict(): SchedulerState {
    return { best: this.best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch, lastLr: [...this.lastLr] };
  }
  /** Restores `stateDict()` output. */
  loadStateDict(state: SchedulerState): void {
    Object.assign(this, structuredClone(state));
  }
}
