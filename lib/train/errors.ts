/** The error type of kiln.train. */
import { KilnError } from '../errors.js';

/**
 * Bad training options, a batch that is not an [input, target] pair, a non-finite loss, or a
 * checkpoint that does not fit the objects it is loaded into. The message names the values.
 *
 * Example: `fit: the training loss is NaN at epoch 3, batch 7 of 10`.
 */
export class TrainingError extends KilnError {
  override name = 'TrainingError';
}
