/**
 * The lecture's checks before a long training run, in one call: (1) a gradient check — the
 * model's backpropagated gradients against central finite differences, in float64 on the
 * reference backend; (2) the initial loss against chance, ln K for a K-class softmax
 * classifier; (3) overfitting a tiny subset — a correct model and training loop drive the
 * loss of 10–20 samples near zero. Each check prints PASS, FAIL or SKIP with its figure and
 * is returned in a structured report.
 *
 * Every check runs on a copy of the model (nn.deepCopy): the model's parameters, buffers,
 * gradients and training mode are left as they were, and so is the default generator.
 */
import { noGrad } from '../autograd/grad-mode.js';
import { withBackend } from '../backend/index.js';
import { randperm } from '../data/dataset.js';
import { isFloat, type FloatArray } from '../dtype.js';
import { accuracy } from '../eval/metrics.js';
import { deepCopy } from '../nn/copy.js';
import type { Module, Parameter } from '../nn/module.js';
import { Adam } from '../optim/adam.js';
import { cast } from '../ops/cast.js';
import { narrow } from '../ops/shape.js';
import { defaultGenerator, Generator } from '../random.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { lossFunction, type Loss } from './batches.js';
import { TrainingError } from './errors.js';

/** Options of diagnose. */
export interface DiagnoseOptions {
  /** A batch of samples (N, …), as the model's forward takes it; a few dozen is plenty. */
  inputs: Tensor;
  /** Their targets (N, …): class indices (N) for a classifier. */
  targets: Tensor;
  /** The training loss: a function (output, target) → scalar (e.g. F.crossEntropy) or a loss Module. */
  loss: Loss;
  /**
   * K, for a softmax classifier with (N, K) outputs and class-index targets: enables the
   * initial-loss check (chance is ln K) and the 100%-accuracy condition of the overfit check.
   * Omit it for other models; the initial-loss check is then skipped.
   */
  numClasses?: number;
  /** Samples the gradient check uses (the first ones). Default 4. */
  gradientSamples?: number;
  /** Elements checked per parameter tensor (chosen at random; all when it has fewer). Default 8. */
  gradientElements?: number;
  /**
   * The largest relative error |a − n| / max(|a|, |n|) that passes. Default 1e-4 (the
   * lecture: fine for objectives with kinks such as ReLU; 1e-7 and below is excellent).
   * Gradients smaller than 1e-4 are compared on that scale (their relative error would be
   * float64 rounding noise).
   */
  gradientTolerance?: number;
  /** The initial loss passes within ± this fraction of ln K. Default 0.1 (±10%). */
  initialLossTolerance?: number;
  /** Samples to overfit (the first ones). Default 16. */
  overfitSamples?: number;
  /** Adam steps on them. Default 300. */
  overfitSteps?: number;
  /** Adam's learning rate. Default 0.01. */
  overfitLr?: number;
  /** The overfit loss must fall to at most this fraction of its starting value. Default 0.01. */
  overfitLossRatio?: number;
  /** Seed of the choice of parameter elements. Default 0. */
  seed?: number;
  /** Where the PASS/FAIL lines go; default console.log; null prints nothing. */
  log?: ((line: string) => void) | null;
}

/** The outcome of one check: 'skip' when it does not apply (never counted as a pass). */
export type CheckStatus = 'pass' | 'fail' | 'skip';

/** What the gradient check found. */
export interface GradientCheckReport {
  status: CheckStatus;
  /** The largest relative error |a − n| / max(|a|, |n|, 1e-4) over the checked elements. */
  maxRelError: number;
  /** The largest absolute error. */
  maxAbsError: number;
  /** Parameter elements checked, and samples used. */
  elements: number;
  samples: number;
  tolerance: number;
  /** The worst element, e.g. `fc1.weight[13]: backprop 0.25, numeric 0.2501`. */
  worst: string;
}

/** What the initial-loss check found. */
export interface InitialLossReport {
  status: CheckStatus;
  /** The model's mean loss on all of `inputs`, in eval mode. */
  loss: number;
  /** ln K, or NaN when numClasses was not given. */
  chance: number;
  tolerance: number;
}

/** What the overfit check found. */
export interface OverfitReport {
  status: CheckStatus;
  samples: number;
  steps: number;
  /** The loss on the subset before and after training (eval mode). */
  lossBefore: number;
  lossAfter: number;
  /** Training accuracy after training, or null without numClasses. */
  accuracy: number | null;
}

/** Every check's result; ok is false when any check failed. */
export interface DiagnoseReport {
  ok: boolean;
  gradient: GradientCheckReport;
  initialLoss: InitialLossReport;
  overfit: OverfitReport;
}

/** The options with their defaults filled in, and the loss as a function. */
type Settings = Required<Omit<DiagnoseOptions, 'loss' | 'numClasses' | 'log'>> & {
  loss: (output: Tensor, target: Tensor) => Tensor;
  numClasses: number | undefined;
};

/**
 * Runs the three checks on copies of `model`, prints one PASS/FAIL/SKIP line per check, and
 * returns the report. Tolerances and sizes are options (see DiagnoseOptions).
 *
 * Example:
 * ```ts
 * const report = train.diagnose(model, { inputs: xTrain.narrow(0, 0, 64), targets: yTrain.narrow(0, 0, 64), loss: F.crossEntropy, numClasses: 10 });
 * // PASS  gradient check: max relative error 8.0e-8 (limit 1e-4) over 48 parameter elements, 4 samples, float64
 * // PASS  initial loss 2.3127 vs chance ln(10) = 2.3026 (allowed ±10%)
 * // PASS  overfit 16 samples: loss 2.310 → 4.52e-4 after 300 Adam steps (lr 0.01), training accuracy 100.0% (needs ≤ 0.01 × start and 100%)
 * if (!report.ok) process.exit(1);
 * ```
 */
export function diagnose(model: Module, options: DiagnoseOptions): DiagnoseReport {
  const settings = resolveSettings(options);
  const log = options.log === undefined ? console.log : (options.log ?? ((): void => {}));
  const savedRandomState = defaultGenerator.getState();
  try {
    const gradient = gradientCheck(model, settings);
    log(gradientLine(gradient));
    const initialLoss = initialLossCheck(model, settings);
    log(initialLossLine(initialLoss));
    const overfit = overfitCheck(model, settings);
    log(overfitLine(overfit, settings));
    const ok = [gradient, initialLoss, overfit].every((check) => check.status !== 'fail');
    return { ok, gradient, initialLoss, overfit };
  } finally {
    defaultGenerator.setState(savedRandomState);
  }
}

function resolveSettings(options: DiagnoseOptions): Settings {
  const { inputs, targets, numClasses } = options;
  if (!(inputs instanceof Tensor) || !(targets instanceof Tensor) || inputs.ndim === 0 || targets.ndim === 0) {
    throw new TrainingError('diagnose: inputs and targets must be tensors with a sample dim first');
  }
  if (inputs.shape[0] !== targets.shape[0] || inputs.shape[0] === 0) {
    throw new TrainingError(`diagnose: inputs ${formatShape(inputs.shape)} and targets ${formatShape(targets.shape)} must hold the same number (≥ 1) of samples`);
  }
  if (numClasses !== undefined && !(Number.isInteger(numClasses) && numClasses >= 2)) {
    throw new TrainingError(`diagnose: numClasses must be an integer ≥ 2, got ${numClasses}`);
  }
  const settings: Settings = {
    inputs,
    targets,
    loss: lossFunction(options.loss),
    numClasses,
    gradientSamples: options.gradientSamples ?? 4,
    gradientElements: options.gradientElements ?? 8,
    gradientTolerance: options.gradientTolerance ?? 1e-4,
    initialLossTolerance: options.initialLossTolerance ?? 0.1,
    overfitSamples: options.overfitSamples ?? 16,
    overfitSteps: options.overfitSteps ?? 300,
    overfitLr: options.overfitLr ?? 0.01,
    overfitLossRatio: options.overfitLossRatio ?? 0.01,
    seed: options.seed ?? 0,
  };
  for (const name of ['gradientSamples', 'gradientElements', 'overfitSamples', 'overfitSteps'] as const) {
    if (!(Number.isInteger(settings[name]) && settings[name] >= 1)) throw new TrainingError(`diagnose: ${name} must be an integer ≥ 1, got ${settings[name]}`);
  }
  return settings;
}

/** The first min(n, N) samples of a tensor, cut from the graph. */
function firstSamples(t: Tensor, n: number): Tensor {
  return noGrad(() => narrow(t, 0, 0, Math.min(n, t.shape[0]))).detach();
}

/** The loss of `model` on (x, y) as a number, without autograd. */
function lossValue(model: Module, loss: Settings['loss'], x: Tensor, y: Tensor): number {
  return noGrad(() => loss(model.forward(x) as Tensor, y).item());
}

/** Backpropagates the loss, unless no parameter reaches it (a detached output): then every gradient stays null, i.e. 0. */
function backwardIfConnected(loss: Tensor): void {
  if (loss.requiresGrad) loss.backward();
}

/** Float tensors converted to float64; class indices and other non-float tensors as they are. */
function toFloat64(t: Tensor): Tensor {
  return isFloat(t.dtype) ? cast(t, 'float64') : t;
}

// ---- (1) gradient check -------------------------------------------------------------------------

/**
 * The smallest denominator of the relative error: gradients below it are compared on this
 * absolute scale, since the rounding noise of a float64 central difference (~1e-10 for a
 * loss near 1) would make their relative error meaningless.
 */
const GRADIENT_SCALE_FLOOR = 1e-4;
/** The finite-difference step in float64. */
const GRADIENT_STEP = 1e-6;

/**
 * Backprop vs central differences (f(w + h) − f(w − h)) / 2h on a float64 copy of the model in
 * eval mode (dropout off), on the reference backend, for a few random elements of every
 * trainable parameter.
 */
function gradientCheck(model: Module, settings: Settings): GradientCheckReport {
  return withBackend('reference', () => {
    const probe = deepCopy(model).to('float64').eval();
    const x = toFloat64(firstSamples(settings.inputs, settings.gradientSamples));
    const y = toFloat64(firstSamples(settings.targets, settings.gradientSamples));
    const loss = (): Tensor => settings.loss(probe.forward(x) as Tensor, y);
    backwardIfConnected(loss());
    const generator = new Generator(settings.seed);
    const report: GradientCheckReport = {
      status: 'pass', maxRelError: 0, maxAbsError: 0, elements: 0, samples: x.shape[0], tolerance: settings.gradientTolerance, worst: 'no mismatch',
    };
    for (const [name, p] of probe.namedParameters()) {
      if (!p.requiresGrad) continue;
      for (const i of randperm(p.numel, generator).slice(0, settings.gradientElements)) {
        const numeric = centralDifference(p, i, () => noGrad(() => loss().item()));
        compareElement(report, p.grad === null ? 0 : Number(p.grad.data[i]), numeric, `${name}[${i}]`);
      }
    }
    return report;
  });
}

/** (f(p[i] + h) − f(p[i] − h)) / 2h, restoring p[i]. */
function centralDifference(p: Parameter, i: number, f: () => number): number {
  const data = p.data as FloatArray;
  const saved = data[i];
  data[i] = saved + GRADIENT_STEP;
  const plus = f();
  data[i] = saved - GRADIENT_STEP;
  const minus = f();
  data[i] = saved;
  return (plus - minus) / (2 * GRADIENT_STEP);
}

/** Adds one element to the report: relative error |a − n| / max(|a|, |n|, 1e-4). */
function compareElement(report: GradientCheckReport, analytic: number, numeric: number, where: string): void {
  report.elements++;
  const absError = Math.abs(analytic - numeric);
  const relError = absError / Math.max(Math.abs(analytic), Math.abs(numeric), GRADIENT_SCALE_FLOOR);
  if (absError > report.maxAbsError || Number.isNaN(absError)) report.maxAbsError = absError;
  if (relError > report.maxRelError || Number.isNaN(relError)) {
    report.maxRelError = relError;
    report.worst = `${where}: backprop ${analytic}, numeric ${numeric}`;
  }
  if (!(relError <= report.tolerance)) report.status = 'fail';
}

function gradientLine(r: GradientCheckReport): string {
  const verdict = `max relative error ${r.maxRelError.toExponential(1)} (limit ${r.tolerance.toExponential(0)})`;
  const worst = r.status === 'fail' ? `; worst ${r.worst}` : '';
  return `${label(r.status)}  gradient check: ${verdict} over ${r.elements} parameter elements, ${r.samples} samples, float64${worst}`;
}

// ---- (2) initial loss -----------------------------------------------------------------------------

/** The loss of the untrained model on all inputs (eval mode) against ln K. */
function initialLossCheck(model: Module, settings: Settings): InitialLossReport {
  const probe = deepCopy(model).eval();
  const loss = lossValue(probe, settings.loss, settings.inputs, settings.targets);
  const tolerance = settings.initialLossTolerance;
  if (settings.numClasses === undefined) return { status: 'skip', loss, chance: Number.NaN, tolerance };
  const chance = Math.log(settings.numClasses);
  const status = Math.abs(loss - chance) <= tolerance * chance ? 'pass' : 'fail';
  return { status, loss, chance, tolerance };
}

function initialLossLine(r: InitialLossReport): string {
  if (r.status === 'skip') return `${label(r.status)}  initial loss ${r.loss.toFixed(4)}: no chance level to compare with (numClasses not given)`;
  const k = Math.round(Math.exp(r.chance));
  return `${label(r.status)}  initial loss ${r.loss.toFixed(4)} vs chance ln(${k}) = ${r.chance.toFixed(4)} (allowed ±${r.tolerance * 100}%)`;
}

// ---- (3) overfit a tiny subset -------------------------------------------------------------------

/** Adam on a copy of the model over the first few samples; the loss must fall near zero. */
function overfitCheck(model: Module, settings: Settings): OverfitReport {
  const x = firstSamples(settings.inputs, settings.overfitSamples);
  const y = firstSamples(settings.targets, settings.overfitSamples);
  const probe = deepCopy(model);
  const lossBefore = lossValue(probe.eval(), settings.loss, x, y);
  probe.train();
  const optimizer = new Adam(probe.parameters().filter((p) => p.requiresGrad), { lr: settings.overfitLr });
  for (let step = 0; step < settings.overfitSteps; step++) {
    optimizer.zeroGrad();
    backwardIfConnected(settings.loss(probe.forward(x) as Tensor, y));
    optimizer.step();
  }
  probe.eval();
  const lossAfter = lossValue(probe, settings.loss, x, y);
  const trainAccuracy = settings.numClasses === undefined ? null : accuracy(noGrad(() => probe.forward(x) as Tensor), y);
  const lossFell = lossAfter <= settings.overfitLossRatio * lossBefore;
  const status = lossFell && (trainAccuracy === null || trainAccuracy === 1) ? 'pass' : 'fail';
  return { status, samples: x.shape[0], steps: settings.overfitSteps, lossBefore, lossAfter, accuracy: trainAccuracy };
}

function overfitLine(r: OverfitReport, settings: Settings): string {
  const accuracyText = r.accuracy === null ? '' : `, training accuracy ${(r.accuracy * 100).toFixed(1)}%`;
  const target = `(needs ≤ ${settings.overfitLossRatio} × start${r.accuracy === null ? '' : ' and 100%'})`;
  return `${label(r.status)}  overfit ${r.samples} samples: loss ${formatLoss(r.lossBefore)} → ${formatLoss(r.lossAfter)} after ${r.steps} Adam steps (lr ${settings.overfitLr})${accuracyText} ${target}`;
}

/** 4 significant digits, in exponent form below 1e-3. */
function formatLoss(value: number): string {
  return value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential(2) : value.toPrecision(4);
}

function label(status: CheckStatus): string {
  return status.toUpperCase();
}
