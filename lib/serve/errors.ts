/** The error type of kiln.serve. */
import { KilnError } from '../errors.js';

/**
 * A prediction that could not be made: bad options, an input of the wrong type or shape, the
 * model failing on a batch (with the worker's message and stack), a worker that died, or a
 * predictor already closed. The message names the values.
 *
 * Example: `predictor: the model failed on a batch of 8 inputs of shape [1, 28, 28]: ShapeError: …`.
 */
export class PredictorError extends KilnError {
  override name = 'PredictorError';
}
