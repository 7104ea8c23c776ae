/**
 * kiln.train: the training workflow. `fit` runs the epoch loop (training, validation,
 * metrics, LR schedules, progress output) and returns a History; callbacks add early
 * stopping, resumable checkpoints, history files and learning-curve plots; `evaluate` scores
 * a model on a loader; truncated BPTT trains recurrent models over long sequences.
 *
 * Example:
 * ```ts
 * import { train, F } from 'kiln';
 * const history = train.fit(model, {
 *   loss: F.crossEntropy, optimizer, trainLoader, valLoader, epochs: 30,
 *   metrics: { accuracy: train.accuracy },
 *   callbacks: [
 *     new train.EarlyStopping({ patience: 5, restoreBestWeights: true }),
 *     new train.ModelCheckpoint({ dir: 'run', generators: { shuffle } }),
 *     new train.HistoryLogger({ path: 'run/history.csv' }),
 *     new train.LearningCurvePlot({ basePath: 'run/learning-curve' }),
 *   ],
 * });
 * ```
 */
export { fit } from './fit.js';
export type { FitOptions } from './fit-options.js';
export type { AdversarialTraining } from './adversarial.js';
export { fitAsync, type FitAsyncOptions, type AbortCheckpoint } from './fit-async.js';
export { Trainer, TrainerError, type TrainerOptions, type TrainerEvent, type TrainerResult, type TrainerState } from './trainer.js';
export { evaluate, type EvaluateOptions } from './evaluate.js';
export { diagnose, type DiagnoseOptions, type DiagnoseReport, type CheckStatus, type GradientCheckReport, type InitialLossReport, type OverfitReport } from './diagnose.js';
export type { PassResult } from './train-epoch.js';
export { History, type EpochRecord } from './history.js';
export { TrainingContext, type Callback, type BatchEnd } from './callback.js';
export { TrainingError } from './errors.js';
export { accuracy, binaryAccuracy, type Metric } from './metrics.js';
export type { Batch, Loss } from './batches.js';
export type { Scheduler, SchedulerInterval } from './scheduling.js';
export { saveCheckpoint, loadCheckpoint, CHECKPOINT_METADATA_KEY, type CheckpointTargets, type TrainingState } from './checkpoint.js';
export { LineProgress, BarProgress, type ProgressMode, type ProgressStream } from './progress/index.js';
export * from './callbacks/index.js';
export { report, ReportCallback, type ReportOptions, type ReportResult, type ReportTestSet } from './report/report.js';
export { truncatedBptt, detachState, type TbpttOptions, type TbpttResult, type SegmentResult } from './tbptt.js';
export { UncertaintyWeighting, type UncertaintyWeightingOptions } from './uncertainty-weighting.js';
export type { Heads, HeadLosses, HeadMetrics, LossWeights, ModelOutput } from './multi-task.js';
