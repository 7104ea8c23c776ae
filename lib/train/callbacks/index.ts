/** The callbacks kiln ships: early stopping, checkpoints, history files and learning-curve plots. */
export { EarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
export { ModelCheckpoint, type ModelCheckpointOptions } from './model-checkpoint.js';
export { HistoryLogger, historyToCsv, historyToJsonl, type HistoryLoggerOptions } from './history-logger.js';
export { LearningCurvePlot, learningCurveSvg } from './learning-curve-plot.js';
export { Monitor, type MonitorMode } from './monitor.js';
