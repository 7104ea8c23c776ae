/** Choosing how fit reports progress: a live bar on a terminal, plain lines elsewhere, or nothing. */
import type { Callback } from '../callback.js';
import { TrainingError } from '../errors.js';
import { BarProgress } from './bar.js';
import { LineProgress, type ProgressStream } from './lines.js';

export { LineProgress, type ProgressStream } from './lines.js';
export { BarProgress } from './bar.js';

/**
 * How fit reports progress: 'auto' (the default; a bar when the stream is a terminal, lines
 * otherwise), 'bar', 'lines', or false for silence (true means 'auto').
 */
export type ProgressMode = 'auto' | 'bar' | 'lines' | boolean;

/** A progress callback that must be closed when training ends, even by an error. */
export type ProgressReporter = Callback & { close(): void };

/** The reporter for `mode` on `stream`, or null when silenced. */
export function createProgress(mode: ProgressMode, stream: ProgressStream): ProgressReporter | null {
  if (mode === false) return null;
  if (mode === true || mode === 'auto') return stream.isTTY === true ? new BarProgress(stream) : new LineProgress(stream);
  if (mode === 'bar') return new BarProgress(stream);
  if (mode === 'lines') return new LineProgress(stream);
  throw new TrainingError(`fit: progress must be 'auto', 'bar', 'lines', true or false, got '${String(mode)}'`);
}
