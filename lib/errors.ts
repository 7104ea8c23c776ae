/**
 * kiln's error types. Every error kiln throws on bad input is one of these (or a TypeError /
 * RangeError from the native bindings), with a message that names the op and the sizes.
 */

/** The base class of kiln's own errors. */
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

/** A dtype the op does not accept, e.g. `log` of an int32 tensor or an index that is float32. */
export class DTypeError extends KilnError {
  override name = 'DTypeError';
}

/** Misuse of autograd: backward through a released graph, or from a non-scalar without a gradient. */
export class AutogradError extends KilnError {
  override name = 'AutogradError';
}

/** The requested backend cannot be used (e.g. KILN_BACKEND=native when the addon does not load). */
export class BackendError extends KilnError {
  override name = 'BackendError';
}

/** A tensor was read after the tidy() scope that created it ended and released its storage. */
export class ReleasedTensorError extends KilnError {
  override name = 'ReleasedTensorError';
}
