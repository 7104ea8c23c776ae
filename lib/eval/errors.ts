/** The error type of the evaluation toolkit. */
import { KilnError } from '../errors.js';

/**
 * Arguments the evaluation toolkit cannot use: predictions and targets of different lengths,
 * a class index outside [0, numClasses), k out of range, a search space with no values. The
 * message names the function and the sizes or values at fault.
 *
 * Example: `confusionMatrix: targets[3] = 7 is not a class index in [0, 5)`.
 */
export class EvaluationError extends KilnError {
  override name = 'EvaluationError';
}
