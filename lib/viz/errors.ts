/** The error viz functions throw for bad arguments (a KilnError naming the function and what it expected). */
import { KilnError } from '../errors.js';

/** Bad input to a viz function: the message names the function, what it got and what it expected. */
export class VizError extends KilnError {
  override name = 'VizError';
}
