/**
 * kiln.metrics: judging and comparing trained models — the lecture's "common practices".
 * Classification metrics (accuracy, top-k error, precision, recall/sensitivity, specificity,
 * F1), the confusion matrix (as a tensor, a text table and an SVG/PNG heatmap), ROC curves
 * and AUC, k-fold cross-validation, model ensembles, t-tests between repeated runs with the
 * Bonferroni correction, and random or grid hyperparameter search.
 *
 * Example:
 * ```ts
 * import { metrics, noGrad } from 'kiln';
 * const logits = noGrad(() => model.eval().forward(xTest));
 * metrics.accuracy(logits, yTest);                                   // 0.91
 * metrics.f1Score({ predictions: logits, targets: yTest, numClasses: 10 });
 * const cm = metrics.confusionMatrix(logits, yTest, 10);
 * console.log(metrics.formatConfusionMatrix(cm, classNames));
 * metrics.plotConfusionMatrix('out/confusion', cm, { classNames }); // confusion.svg + .png
 * ```
 */
export { EvaluationError } from './errors.js';
export type { Labels } from './labels.js';
export {
  accuracy,
  topKAccuracy,
  topKError,
  precision,
  recall,
  sensitivity,
  specificity,
  f1Score,
  type ConfusionSource,
  type PredictionsAndTargets,
  type AverageOptions,
} from './metrics.js';
export { confusionMatrix, formatConfusionMatrix, confusionMatrixSvg, plotConfusionMatrix, type ConfusionPlotOptions } from './confusion.js';
export { rocCurve, auc, rocAucScore, rocCurveSvg, plotRocCurve, type RocCurve, type RocCurveOptions, type RocPlotOptions } from './roc.js';
export { crossValidate, type CrossValidateOptions, type CrossValidationResult } from './crossval.js';
export { Ensemble, type EnsembleOptions } from './ensemble.js';
export {
  studentTCdf,
  tTestOneSample,
  tTestPaired,
  tTestIndependent,
  bonferroni,
  type TTestResult,
  type TTestIndependentOptions,
  type BonferroniResult,
} from './stats.js';
export {
  randomSearch,
  gridSearch,
  logUniform,
  uniform,
  intUniform,
  choice,
  type SearchDimension,
  type SearchSpace,
  type ParamsOf,
  type Trial,
  type SearchResult,
  type SearchOptions,
  type RandomSearchOptions,
  type GridSearchOptions,
} from './search.js';
