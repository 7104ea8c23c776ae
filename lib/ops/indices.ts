/**
 * Index tensors at op boundaries: kiln's kernels index with int32, PyTorch code passes int64
 * (its default integer type). Both are accepted; int64 is converted after a range check.
 */
import { DTypeError } from '../errors.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { cast } from './cast.js';

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

/**
 * `index` as an int32 tensor: itself when int32; an int64 tensor converted (every value must
 * fit int32, else a RangeError naming op and the value). Any other dtype is a DTypeError:
 * "`op`: `what` must be int32 or int64, got float32 [4]".
 *
 * Example: `int32Indices('gather', 'index', idx)`.
 */
export function int32Indices(op: string, what: string, index: Tensor): Tensor {
  if (!(index instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${index === null ? 'null' : typeof index}`);
  if (index.dtype === 'int32') return index;
  if (index.dtype !== 'int64') throw new DTypeError(`${op}: ${what} must be int32 or int64, got ${index.dtype} ${formatShape(index.shape)}`);
  const data = index.data as BigInt64Array;
  const bad = data.findIndex((v) => v < INT32_MIN || v > INT32_MAX);
  if (bad >= 0) throw new RangeError(`${op}: ${what} ${data[bad]} at position ${bad} is out of range (kiln indexes with int32)`);
  return cast(index, 'int32');
}
