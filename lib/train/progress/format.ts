/** The text of progress output: numbers, durations, the per-batch line and the per-epoch summary. */
import type { BatchEnd, TrainingContext } from '../callback.js';
import type { EpochRecord } from '../history.js';

/** A metric value with 4 significant digits (exponent form when very small or large). */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value) || value === 0) return String(value);
  const magnitude = Math.abs(value);
  return magnitude >= 1e-3 && magnitude < 1e5 ? String(Number(value.toPrecision(4))) : value.toExponential(3);
}

/** A rate as a whole number (or 3 significant digits below 100). */
export function formatRate(perSecond: number): string {
  return perSecond >= 100 ? String(Math.round(perSecond)) : String(Number(perSecond.toPrecision(3)));
}

/** Seconds as m:ss (or h:mm:ss). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(r).padStart(2, '0')}`;
}

/** Seconds left in the epoch at this batch's pace, or NaN when the epoch length is unknown. */
export function etaSeconds(info: BatchEnd): number {
  return info.batches === undefined ? Number.NaN : (info.seconds / info.batch) * (info.batches - info.batch);
}

/** `epoch 2/10  batch 30/100  loss 0.4113  5120 samples/s  ETA 0:07` */
export function batchLine(info: BatchEnd, epochs: number): string {
  const of = info.batches === undefined ? '' : `/${info.batches}`;
  const eta = info.batches === undefined ? '' : `  ETA ${formatDuration(etaSeconds(info))}`;
  return `epoch ${info.epoch}/${epochs}  batch ${info.batch}${of}  loss ${formatNumber(info.runningLoss)}  ${formatRate(info.samples / info.seconds)} samples/s${eta}`;
}

/** `epoch 2/10  train_loss 0.4113  val_loss 0.4521  train_accuracy 0.91  lr 0.1  1.2 s  5120 samples/s` */
export function epochLine(record: EpochRecord, epochs: number): string {
  const values = Object.entries(record)
    .filter(([key, value]) => value !== undefined && !['epoch', 'seconds', 'samples_per_s'].includes(key))
    .map(([key, value]) => `${key} ${formatNumber(value as number)}`);
  return [`epoch ${record.epoch}/${epochs}`, ...values, `${formatNumber(record.seconds)} s`, `${formatRate(record.samples_per_s)} samples/s`].join('  ');
}

/** `stopped after epoch 7: EarlyStopping: …`, or null when no callback asked to stop. */
export function stopLine(context: TrainingContext): string | null {
  return context.stopReason === null ? null : `stopped after epoch ${context.history.last?.epoch}: ${context.stopReason}`;
}
