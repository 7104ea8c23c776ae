/**
 * The training report: one self-contained HTML file (styles, charts, pictures and data all
 * inline, so it opens offline) showing how a run went — learning curves, test accuracy, the
 * confusion matrix, per-class precision/recall/F1, the model summary, first-layer filters, a
 * saliency/Grad-CAM gallery and the most confident mistakes. Written atomically.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { confusionMatrix, confusionMatrixSvg } from '../../eval/confusion.js';
import { f1Score, precision, recall } from '../../eval/metrics.js';
import { writeFileAtomic } from '../../io/safetensors.js';
import type { Module } from '../../nn/module.js';
import { tensor } from '../../ops/creation.js';
import { formatShape } from '../../shape.js';
import { Tensor } from '../../tensor.js';
import type { Callback, TrainingContext } from '../callback.js';
import { learningCurveSvg } from '../callbacks/learning-curve-plot.js';
import { TrainingError } from '../errors.js';
import type { EpochRecord, History } from '../history.js';
import { escapeHtml, htmlDocument, inlineSvg, section, table } from './page.js';
import { convLayers, explanationSection, filterSection, minMaxPerImage, misclassifiedSection, probabilities, type Mistake, type PictureContext } from './pictures.js';

/** The test set a report evaluates the model on. */
export interface ReportTestSet {
  /** Model inputs (N, ...); image sections need (N, C, H, W) with C = 1 or 3. */
  inputs: Tensor;
  /** True classes (N). */
  targets: Tensor | readonly number[];
}

/** Options of report (and of ReportCallback, which supplies model and history itself). */
export interface ReportOptions {
  /** Where the HTML file goes (written atomically; folders are created). */
  path: string;
  /** The trained classifier: inputs → (N, K) scores. */
  model: Module;
  /** The run's history (fit's return value); without it the page has no learning curves. */
  history?: History;
  /** Test inputs and targets. */
  test: ReportTestSet;
  /** Names of the K classes. Default '0' … 'K-1'. */
  classNames?: readonly string[];
  /** Page title. Default 'Training report'. */
  title?: string;
  /** Model inputs (n, C, H, W) → pictures in [0, 1] (e.g. undo the normalisation). Default: each image min-max scaled. */
  display?: (inputs: Tensor) => Tensor;
  /** The conv layer whose filters are drawn. Default the model's first Conv2d. */
  filterLayer?: string;
  /** The layer Grad-CAM explains at. Default the model's last Conv2d. */
  camLayer?: string;
  /** Test images in the explanation gallery. Default 6. */
  gallery?: number;
  /** Misclassified examples shown. Default 12. */
  misclassified?: number;
  /** Test samples per forward pass. Default 500. */
  batchSize?: number;
  /** The model's (N, K) outputs on test.inputs, when already computed (the report then runs no forward pass over the test set). */
  scores?: Tensor;
}

/** The figures a report shows (the page carries the same numbers in its JSON block, id "report-data"). */
export interface ReportResult {
  /** The file written. */
  path: string;
  /** Test accuracy in [0, 1]. */
  accuracy: number;
  /** Macro-averaged F1. */
  macroF1: number;
  /** Confusion matrix rows (true class) of counts per predicted class. */
  confusion: number[][];
  /** Per-class precision, recall, F1 and support (test samples of the class). */
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  /** Test samples. */
  samples: number;
  /** Misclassified test samples. */
  misclassified: number;
  /** The history's records (empty without a history). */
  history: EpochRecord[];
}

/** Checked options with defaults. */
interface Plan {
  inputs: Tensor;
  targets: number[];
  classNames: string[];
  gallery: number;
  misclassified: number;
  batchSize: number;
}

function count(name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw new TrainingError(`report: ${name} must be an integer ≥ ${min}, got ${String(v)}`);
  return v;
}

function plan(options: ReportOptions, classes: number): Plan {
  const { inputs, targets } = options.test;
  const list = targets instanceof Tensor ? (targets.toArray() as number[]) : [...targets];
  if (list.length !== inputs.shape[0] || (targets instanceof Tensor && targets.ndim !== 1)) {
    throw new TrainingError(`report: test.targets must hold one class per input (${inputs.shape[0]}), got ${targets instanceof Tensor ? `shape ${formatShape(targets.shape)}` : `${list.length} values`}`);
  }
  const names = options.classNames ?? Array.from({ length: classes }, (_, k) => String(k));
  if (names.length !== classes) throw new TrainingError(`report: got ${names.length} class names for a model with ${classes} outputs`);
  return {
    inputs,
    targets: list,
    classNames: [...names],
    gallery: count('gallery', options.gallery, 6, 0),
    misclassified: count('misclassified', options.misclassified, 12, 0),
    batchSize: count('batchSize', options.batchSize, 500, 1),
  };
}

function checkInputs(options: ReportOptions): void {
  if (options === null || typeof options !== 'object') throw new TrainingError('report: options are required: { path, model, test: { inputs, targets } }');
  if (typeof options.path !== 'string' || options.path === '') throw new TrainingError('report: path must be a non-empty string');
  const inputs = options.test?.inputs;
  if (!(inputs instanceof Tensor) || inputs.ndim < 2 || inputs.shape[0] === 0) {
    throw new TrainingError(`report: test.inputs must be a non-empty batch tensor (N, ...), got ${inputs instanceof Tensor ? `shape ${formatShape(inputs.shape)}` : typeof inputs}`);
  }
}

/** Given scores as probabilities, checked to have one row per test input. */
function checkedScores(scores: Tensor, inputs: Tensor): Tensor {
  if (!(scores instanceof Tensor) || scores.ndim !== 2 || scores.shape[0] !== inputs.shape[0]) {
    throw new TrainingError(`report: scores must be the model's (N, K) outputs for the ${inputs.shape[0]} test inputs, got ${scores instanceof Tensor ? `shape ${formatShape(scores.shape)}` : typeof scores}`);
  }
  return scores.detach().float().softmax(1);
}

/** For every row: the class with the highest score and its probability. */
function argmaxRows(scores: Tensor, probs: Tensor): { predicted: number[]; confidence: number[] } {
  const [n, k] = scores.shape;
  const s = scores.detach().contiguous().data;
  const p = probs.contiguous().data;
  const predicted: number[] = [];
  const confidence: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (s[i * k + j] > s[i * k + best]) best = j;
    predicted.push(best);
    confidence.push(Number(p[i * k + best]));
  }
  return { predicted, confidence };
}

/** The numbers of the report: metrics from the predictions against the targets. */
function figures(path: string, predicted: number[], targets: number[], classes: number, history: History | undefined): ReportResult {
  const matrix = confusionMatrix(predicted, targets, classes);
  const rows = matrix.toArray() as number[][];
  const correct = predicted.filter((p, i) => p === targets[i]).length;
  return {
    path,
    accuracy: correct / targets.length,
    macroF1: f1Score(matrix),
    confusion: rows,
    precision: precision(matrix, { average: 'none' }),
    recall: recall(matrix, { average: 'none' }),
    f1: f1Score(matrix, { average: 'none' }),
    support: rows.map((r) => r.reduce((a, b) => a + b, 0)),
    samples: targets.length,
    misclassified: targets.length - correct,
    history: history?.records.map((r) => ({ ...r })) ?? [],
  };
}

const percent = (v: number): string => `${(100 * v).toFixed(2)}%`;

function overviewSection(result: ReportResult, history: History | undefined): string {
  const last = history?.last;
  const rows: [string, string][] = [
    ['test accuracy', percent(result.accuracy)],
    ['macro F1', result.macroF1.toFixed(3)],
    ['test samples', String(result.samples)],
    ['misclassified', String(result.misclassified)],
  ];
  if (last !== undefined) {
    rows.push(['epochs', String(history!.length)], ['final train loss', last.train_loss.toFixed(4)]);
    if (last.val_loss !== undefined) rows.push(['final validation loss', last.val_loss.toFixed(4)]);
    if (history!.stopReason !== null) rows.push(['stopped early', escapeHtml(history!.stopReason)]);
  }
  return section('overview', 'Overview', table('overview', ['figure', 'value'], rows));
}

function perClassSection(result: ReportResult, names: readonly string[]): string {
  const rows = names.map((name, k) => [escapeHtml(name), result.precision[k].toFixed(3), result.recall[k].toFixed(3), result.f1[k].toFixed(3), String(result.support[k])]);
  return section('per-class', 'Per-class precision, recall and F1', table('per-class', ['class', 'precision', 'recall', 'F1', 'support'], rows));
}

function curvesSection(history: History | undefined): string {
  if (history === undefined || history.length === 0) return section('learning-curves', 'Learning curves', '<p class="note">No training history was given.</p>');
  return section('learning-curves', 'Learning curves', inlineSvg(learningCurveSvg(history)));
}

/** The picture sections, or one note when the inputs are not images. */
function pictureSections(options: ReportOptions, p: Plan, predicted: number[], confidence: number[]): string[] {
  const { inputs } = p;
  const convs = convLayers(options.model);
  const filters = filterSection(options.model, options.filterLayer ?? convs[0]);
  if (inputs.ndim !== 4 || (inputs.shape[1] !== 1 && inputs.shape[1] !== 3)) {
    return [filters, section('explanations', 'Saliency and Grad-CAM gallery', `<p class="note">The test inputs (shape ${formatShape(inputs.shape)}) are not images (N, 1 or 3, H, W).</p>`)];
  }
  const display = options.display ?? minMaxPerImage;
  const picturesOf = (indices: number[]): PictureContext => {
    const images = inputs.indexSelect(0, tensor(indices, { dtype: 'int32' }));
    return { model: options.model, images, pictures: display(images).detach().float().clamp(0, 1), classNames: p.classNames };
  };
  const shown = [...Array(Math.min(p.gallery, inputs.shape[0])).keys()];
  const gallery = shown.length === 0 ? '' : explanationSection(picturesOf(shown), shown.map((i) => predicted[i]), shown.map((i) => p.targets[i]), options.camLayer ?? convs.at(-1));
  const wrong = predicted.map((_, i) => i).filter((i) => predicted[i] !== p.targets[i]);
  const mistakes: Mistake[] = wrong
    .sort((a, b) => confidence[b] - confidence[a])
    .slice(0, p.misclassified)
    .map((i) => ({ index: i, target: p.targets[i], predicted: predicted[i], confidence: confidence[i] }));
  const misclassified = misclassifiedSection(mistakes.length === 0 ? null : picturesOf(mistakes.map((m) => m.index)), mistakes, wrong.length);
  return [filters, gallery, misclassified].filter((s) => s !== '');
}

/**
 * Evaluates a trained classifier on a test set and writes one self-contained HTML page
 * (atomically) with learning curves, overview figures, the confusion matrix, per-class
 * precision/recall/F1, the model summary, first-layer filters, a saliency / Grad-CAM /
 * guided-backprop gallery of the first test images and the most confident mistakes. Every
 * image is an inline PNG and every chart inline SVG: the file opens without network access.
 * The page's numbers are also in a JSON block (`<script type="application/json" id="report-data">`).
 *
 * Args: options.path, model, test { inputs, targets }, history (fit's return value),
 * classNames, title, display (inputs → pictures in [0, 1]), filterLayer, camLayer, gallery,
 * misclassified, batchSize, scores (outputs already computed on test.inputs).
 * Shape: test.inputs (N, C, H, W) for the picture sections (other shapes get a note instead).
 *
 * Example:
 * ```ts
 * const history = train.fit(model, { … });
 * const r = train.report({ path: 'out/report.html', model, history, test: { inputs: xTest, targets: yTest }, classNames });
 * console.log(r.accuracy); // the test accuracy the page shows
 * ```
 */
export function report(options: ReportOptions): ReportResult {
  checkInputs(options);
  const probs = options.scores === undefined ? probabilities(options.model, options.test.inputs, options.batchSize ?? 500) : checkedScores(options.scores, options.test.inputs);
  if (probs.ndim !== 2 || probs.shape[0] !== options.test.inputs.shape[0]) {
    throw new TrainingError(`report: the model must return (N, classes) scores, got shape ${formatShape(probs.shape)} for ${options.test.inputs.shape[0]} inputs`);
  }
  const p = plan(options, probs.shape[1]);
  const { predicted, confidence } = argmaxRows(options.scores ?? probs, probs); // classes from the raw scores when given, as their argmax picks them
  const result = figures(options.path, predicted, p.targets, p.classNames.length, options.history);
  const title = options.title ?? 'Training report';
  const summary = options.model.summary(p.inputs.narrow(0, 0, 1));
  const sections = [
    overviewSection(result, options.history),
    curvesSection(options.history),
    section('confusion-matrix', 'Confusion matrix', inlineSvg(confusionMatrixSvg(new Tensor(Int32Array.from(result.confusion.flat()), [p.classNames.length, p.classNames.length], 'int32'), { classNames: p.classNames, title: `Test accuracy ${percent(result.accuracy)}` }))),
    perClassSection(result, p.classNames),
    section('model-summary', 'Model summary', `<pre>${escapeHtml(summary)}</pre>`),
    ...pictureSections(options, p, predicted, confidence),
  ];
  const meta = escapeHtml(`${options.model.constructor.name}, ${result.samples} test samples, written ${new Date().toISOString()}`);
  const { path: _path, ...data } = result;
  mkdirSync(dirname(options.path), { recursive: true });
  writeFileAtomic(options.path, new TextEncoder().encode(htmlDocument(title, meta, sections, data)));
  return result;
}

/**
 * Writes the training report when fit ends (the model as trained, the history so far): the
 * Keras/Lightning callback form of report.
 *
 * Example: `callbacks: [new train.ReportCallback({ path: 'out/report.html', test: { inputs: xTest, targets: yTest } })]`.
 */
export class ReportCallback implements Callback {
  /** What the last report showed, once written. */
  result: ReportResult | null = null;

  /** Args: report's options without model and history (fit supplies them). */
  constructor(readonly options: Omit<ReportOptions, 'model' | 'history'>) {
    if (typeof options?.path !== 'string' || options.path === '') throw new TrainingError('ReportCallback: path must be a non-empty string');
  }

  /** Writes the report. */
  onTrainEnd(context: TrainingContext): void {
    this.result = report({ ...this.options, model: context.model, history: context.history });
  }
}
