/**
 * kiln's error types. Every error kiln throws on bad input is one of these (or a TypeError /
 * RangeError from the native bindings), with a message that names the op and the sizes.
 */

/**
 * The base class of kiln's own errors.
 *
 * Example: `try { tensor([1, 2]).reshape([3]) } catch (e) { if (e instanceof KilnError) console.log(e.name, e.message) }`.
 */
export class KilnError extends Error {
  override name = 'KilnError';
}

/**
 * Shapes that do not fit the op: sizes that cannot broadcast, a dim out of range, a reshape
 * to a different element count.
 *
 * Example: `add: shapes [2, 3] and [4] cannot broadcast (dim -1: 3 vs 4)`.
 */
export class ShapeError extends KilnError {
  override name = 'ShapeError';
}

/**
 * A dtype the op does not accept, e.g. `log` of an int32 tensor or an index that is float32.
 *
 * Example: `tensor([1, 2], { dtype: 'int32' }).requiresGrad_()` throws a DTypeError.
 */
export class DTypeError extends KilnError {
  override name = 'DTypeError';
}

/**
 * Misuse of autograd: backward through a released graph, or from a non-scalar without a gradient.
 *
 * Example: `tensor([1, 2]).sum().backward()` throws an AutogradError (nothing requires grad).
 */
export class AutogradError extends KilnError {
  override name = 'AutogradError';
}

/**
 * The requested backend cannot be used (e.g. KILN_BACKEND=native when the addon does not load).
 *
 * Example: `setBackend('native')` throws a BackendError when the addon cannot load.
 */
export class BackendError extends KilnError {
  override name = 'BackendError';
}

/**
 * A tensor was read after the tidy() scope that created it ended and released its storage.
 *
 * Example: `let y; tidy(() => { y = randn([2]).exp(); }); y.sum()` throws a ReleasedTensorError (y was not kept).
 */
export class ReleasedTensorError extends KilnError {
  override name = 'ReleasedTensorError';
}

/**
 * A tensor was used while a queued native kernel (a `kiln.async` scope) still reads or writes
 * its storage: read, written or computed on in TypeScript before the scope's promise settled.
 * The message names the tensor's shape and the queued kernel.
 *
 * Example: `const p = kiln.async(() => model.forward(x)); model.weight.item()` throws a
 * TensorInFlightError (await p first).
 */
export class TensorInFlightError extends KilnError {
  override name = 'TensorInFlightError';
}
