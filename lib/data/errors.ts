/** The error type of the data pipeline. */
import { KilnError } from '../errors.js';

/**
 * Bad data or data options: a corrupt IDX file, a ragged CSV row, split lengths that do not
 * add up, an index out of range. The message names the file or the sizes involved.
 *
 * Example: `t10k-images.gz: IDX data is truncated: dims [10000, 28, 28] need 7840000 bytes, found 512`.
 */
export class DataError extends KilnError {
  override name = 'DataError';
}
