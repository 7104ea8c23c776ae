/**
 * LearningCurvePlot: draw the training and validation loss per epoch (and every metric in a
 * second panel) as SVG and PNG, redrawn after each epoch.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { lineChartSvg, PALETTE, type LineSeries } from '../../plot/line-chart.js';
import { writePlot } from '../../plot/render.js';
import { arrangeSvgs } from '../../plot/svg.js';
import type { Callback, TrainingContext } from '../callback.js';
import { TrainingError } from '../errors.js';
import type { History } from '../history.js';

/** The train_<name> and val_<name> series of each name given, coloured in pairs. */
function seriesOf(history: History, names: string[]): LineSeries[] {
  const x = history.series('epoch');
  return names.flatMap((name, i) =>
    ['train', 'val']
      .filter((split) => history.records.some((r) => r[`${split}_${name}`] !== undefined))
      .map((split) => ({ name: `${split}_${name}`, x, y: history.series(`${split}_${name}`), color: PALETTE[(2 * i + (split === 'val' ? 1 : 0)) % PALETTE.length] })),
  );
}

/** The metric names in a history: train_<name> / val_<name> keys other than the loss. */
function metricNames(history: History): string[] {
  const names = history.keys().filter((k) => /^(train|val)_/.test(k) && !k.endsWith('_loss')).map((k) => k.replace(/^(train|val)_/, ''));
  return [...new Set(names)];
}

/**
 * The learning curve of a history as one SVG document: loss per epoch (train and validation),
 * and beside it every metric, when there are any.
 *
 * Example: `plot.writePlot('run/curve', train.learningCurveSvg(history))`.
 */
export function learningCurveSvg(history: History): string {
  if (history.length === 0) throw new TrainingError('learningCurveSvg: the history has no epochs');
  const common = { xLabel: 'epoch', xInteger: true, width: 560, height: 380 };
  const charts = [lineChartSvg({ ...common, series: seriesOf(history, ['loss']), yLabel: 'loss', title: 'Loss' })];
  const metrics = metricNames(history);
  if (metrics.length > 0) {
    charts.push(lineChartSvg({ ...common, series: seriesOf(history, metrics), yLabel: metrics.length === 1 ? metrics[0] : 'metric', title: 'Metrics', legend: 'bottom-right' }));
  }
  return arrangeSvgs(charts);
}

/**
 * After each epoch, writes the learning curve to `<basePath>.svg` and `<basePath>.png`
 * (atomically), so a long run can be watched.
 *
 * Example: `callbacks: [new train.LearningCurvePlot({ basePath: 'run/learning-curve' })]`.
 */
export class LearningCurvePlot implements Callback {
  readonly basePath: string;

  constructor(options: { basePath: string }) {
    if (typeof options.basePath !== 'string' || options.basePath === '') throw new TrainingError('LearningCurvePlot: basePath must be a non-empty string');
    this.basePath = options.basePath;
  }

  /** Redraws both files from the history so far. */
  onEpochEnd(context: TrainingContext): void {
    mkdirSync(dirname(this.basePath), { recursive: true });
    writePlot(this.basePath, learningCurveSvg(context.history));
  }
}
