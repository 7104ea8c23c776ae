/**
 * In-place ops (PyTorch's trailing-underscore methods: add_, mul_, copy_, fill_, relu_, …).
 * Each computes its result out of place with the ordinary op, then writes it through the
 * tensor's strides into the shared storage, so every view of that storage sees it, and bumps
 * the storage's version counter (autograd then refuses a backward that would read the old
 * values).
 *
 * Autograd: in-place on a leaf that requires grad throws (outside noGrad), as PyTorch does. On
 * a non-leaf (or a tensor that becomes part of the graph through the other operand), the op is
 * recorded on a copy of the tensor's old values (so its backward can still read them; the copy
 * is made only while recording) and its node becomes the tensor's gradFn.
 * In-place on a *view* while recording a graph is not supported (kiln has no CopySlices): it
 * throws and says to clone() the view or write under noGrad().
 */
import { getBackend } from '../backend/index.js';
import { isFloat } from '../dtype.js';
import { AutogradError, DTypeError, ShapeError } from '../errors.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { formatShape, sameShape } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { cast, checkTensor, scalarTensor } from './cast.js';
import * as ew from './elementwise.js';
import { clone, expand } from './shape.js';
import { inFlightCount } from '../memory/in-flight.js';

/** How an in-place op treats a result whose dtype differs from the tensor's. */
type CastRule = 'sameKind' | 'any';

/**
 * Runs `compute` on self (or, when recording, on a copy of self's old values whose graph
 * reaches self's old autograd node) and writes the result into self's storage through its
 * strides; when recording, the result's node becomes self's gradFn (none when the result
 * does not depend on anything that requires grad, e.g. fill_: self then leaves the graph).
 *
 * Args: self; op, the method's name for errors; others, the other operands (for autograd
 * checks); compute, the out-of-place op; castRule: 'sameKind' refuses a float result for an
 * integer tensor (PyTorch's "can't be cast" error), 'any' casts (copy_).
 */
export function applyInPlace(self: Tensor, op: string, others: readonly TensorLike[], compute: (x: Tensor) => Tensor, castRule: CastRule = 'sameKind'): Tensor {
  checkTensor(op, self);
  const tracking = isGradEnabled() && (self.requiresGrad || others.some((o) => o instanceof Tensor && o.requiresGrad));
  if (tracking) checkAutograd(self, op);
  checkNoInternalOverlap(self, op);
  // Recording: the op reads a copy of self's old values (its backward may need them after the
  // write), made from an alias that keeps self's old autograd node.
  const source = tracking ? clone(self.aliasForInPlace()) : self;
  let result = tracking ? compute(source) : noGrad(() => compute(source));
  if (!sameShape(result.shape, self.shape)) {
    throw new ShapeError(`${op}: output with shape ${formatShape(self.shape)} doesn't match the broadcast shape ${formatShape(result.shape)}`);
  }
  if (result.dtype !== self.dtype) {
    if (castRule === 'sameKind' && isFloat(result.dtype) && !isFloat(self.dtype)) {
      throw new DTypeError(`${op}: result type ${result.dtype} can't be cast to the desired output type ${self.dtype} (tensor ${formatShape(self.shape)})`);
    }
    result = tracking ? cast(result, self.dtype) : noGrad(() => cast(result, self.dtype));
  }
  writeInto(self, result);
  self.bumpVersion();
  if (tracking) self.attachGradFn(result.gradFn);
  return self;
}

function describe(t: Tensor): string {
  return `a ${t.dtype} ${formatShape(t.shape)} tensor`;
}

function checkAutograd(self: Tensor, op: string): void {
  if (self.isLeaf && self.requiresGrad) {
    throw new AutogradError(
      `${op}: a leaf Variable that requires grad is being used in an in-place operation (${describe(self)}); ` +
        `wrap the update in noGrad() or work on a clone()`,
    );
  }
  if (self.isView) {
    throw new AutogradError(
      `${op}: in-place on a view (${describe(self)}) while recording a graph that requires grad is not supported ` +
        `(kiln has no CopySlices); clone() the view first, or write under noGrad()`,
    );
  }
}

/** PyTorch refuses to write into a tensor where two elements share one memory location (an expand). */
function checkNoInternalOverlap(self: Tensor, op: string): void {
  const strides = self.strides;
  for (let d = 0; d < self.ndim; d++) {
    if (strides[d] === 0 && self.shape[d] > 1) {
      throw new ShapeError(
        `${op}: unsupported operation: more than one element of the written-to tensor (${describe(self)}, strides ` +
          `${formatShape(strides)}) refers to a single memory location; clone() it first`,
      );
    }
  }
}

/** Writes result (self's shape and dtype) into self's storage through self's strides. */
function writeInto(self: Tensor, result: Tensor): void {
  if (self.numel === 0) return;
  // A result over self's own storage is read whole before writing (a non-contiguous one's data is a copy already).
  const aliased = result.isSameStorage(self) && result.isContiguous();
  // While a kiln.async scope may be recording, copy with kernels (queued in order), never in TypeScript.
  const byKernel = inFlightCount !== 0;
  const values = aliased ? (byKernel ? result.clone().data : result.data.slice()) : result.data;
  if (self.isContiguous() && !byKernel) {
    self.data.set(values as never);
    return;
  }
  getBackend().stridedScatter(values, self.storage, self.storageOffset, Int32Array.from(self.shape), Int32Array.from(self.strides), false);
}

/** A number operand as a 0-d tensor of x's dtype; a tensor as it is. */
const other = (x: Tensor, value: TensorLike): Tensor => (typeof value === 'number' ? scalarTensor(value, x.dtype) : value);

/** self += alpha · other (broadcast to self's shape). */
export function add_(self: Tensor, value: TensorLike, alpha = 1): Tensor {
  return applyInPlace(self, 'add_', [value], (x) => ew.add(x, alpha === 1 ? value : ew.mul(value, alpha)));
}
/** self −= alpha · other. */
export function sub_(self: Tensor, value: TensorLike, alpha = 1): Tensor {
  return applyInPlace(self, 'sub_', [value], (x) => ew.sub(x, alpha === 1 ? value : ew.mul(value, alpha)));
}
/** self *= other. */
export function mul_(self: Tensor, value: TensorLike): Tensor {
  return applyInPlace(self, 'mul_', [value], (x) => ew.mul(x, value));
}
/** self /= other (float tensors only, as the result is float). */
export function div_(self: Tensor, value: TensorLike): Tensor {
  return applyInPlace(self, 'div_', [value], (x) => ew.div(x, value));
}
/** self limited to [min, max]. */
export function clamp_(self: Tensor, min?: number, max?: number): Tensor {
  return applyInPlace(self, 'clamp_', [], (x) => ew.clamp(x, min, max));
}
/** Every element set to value. */
export function fill_(self: Tensor, value: number): Tensor {
  return applyInPlace(self, 'fill_', [], (x) => expand(scalarTensor(value, x.dtype), x.shape), 'any');
}
/** Every element set to 0. */
export function zero_(self: Tensor): Tensor {
  return fill_(self, 0);
}
/** self's elements replaced by src's (broadcast to self's shape, cast to self's dtype). */
export function copy_(self: Tensor, src: TensorLike): Tensor {
  return applyInPlace(self, 'copy_', [src], (x) => expand(cast(other(x, src), x.dtype), x.shape), 'any');
}
/** Elements set to value where mask (bool, broadcast to self's shape) is true. */
export function maskedFill_(self: Tensor, mask: Tensor, value: number): Tensor {
  return applyInPlace(self, 'maskedFill_', [], (x) => ew.maskedFill(x, mask, value));
}
/** max(self, 0). */
export function relu_(self: Tensor): Tensor {
  return applyInPlace(self, 'relu_', [], (x) => ew.relu(x));
}
/** The logistic sigmoid of self. */
export function sigmoid_(self: Tensor): Tensor {
  return applyInPlace(self, 'sigmoid_', [], (x) => ew.sigmoid(x));
}
/** tanh of self. */
export function tanh_(self: Tensor): Tensor {
  return applyInPlace(self, 'tanh_', [], (x) => ew.tanh(x));
}
/** −self. */
export function neg_(self: Tensor): Tensor {
  return applyInPlace(self, 'neg_', [], (x) => ew.neg(x));
}
/** e^self. */
export function exp_(self: Tensor): Tensor {
  return applyInPlace(self, 'exp_', [], (x) => ew.exp(x));
}
