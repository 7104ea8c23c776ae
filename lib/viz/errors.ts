/** The error viz functions throw for bad arguments (a KilnError naming the function and what it expected). */
import { KilnError } from '../errors.js';

/**
 * Bad input to a viz function: the message names the function, what it got and what it expected.
 *
 * Example: `try { viz.findLayer(model, 'nope'); } catch (e) { if (e instanceof viz.VizError) console.error(e.message); }`
 */
export class VizError extends KilnError {
  override name = 'VizError';
}
