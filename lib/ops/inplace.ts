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
 * is made only while recording) and its node becomes the tensor's gradFn. In-place on a view
 * while recording rewrites the base's history (PyTorch's CopySlices, see writeViewOfGraph);
 * on a view of a leaf that requires grad it throws, as on the leaf itself.
 */
import { describeValue } from '../validate.js';
import { getBackend } from '../backend/index.js';
import { isFloat } from '../dtype.js';
import { AutogradError, DTypeError, ShapeError } from '../errors.js';
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { reportOp } from '../autograd/op-trace.js';
import { formatShape, sameShape } from '../shape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { cast, checkTensor, scalarTensor } from './cast.js';
import * as ew from './elementwise.js';
import { asStrided, clone, expand } from './shape.js';
import { zeros } from './creation.js';
import { record } from '../autograd/engine.js';
import { inFlightCount } from '../memory/in-flight.js';

/** How an in-place op treats a result whose dtype differs from the tensor's. */
type CastRule = 'sameKind' | 'any';

/**
 * Runs `compute` on self (or, when recording, on a copy of self's old values whose graph
 * reaches self's old autograd node) and writes the result into self's storage through its
 * strides; when recording, the result's node becomes self's gradFn (none when the result
 * does not depend on anything that requires grad, e.g. fill_: self then leaves the graph).
 * A view written while recording rewrites its base's history instead (see writeViewOfGraph).
 *
 * Args: self; op, the method's name for errors; others, the other operands (for autograd
 * checks); compute, the out-of-place op; castRule: 'sameKind' refuses a float result for an
 * integer tensor (PyTorch's "can't be cast" error), 'any' casts (copy_).
 */
export function applyInPlace(self: Tensor, op: string, others: readonly TensorLike[], compute: (x: Tensor) => Tensor, castRule: CastRule = 'sameKind'): Tensor {
  checkTensor(op, self);
  others.forEach((o, i) => {
    if (typeof o !== 'number' && !(o instanceof Tensor)) throw new TypeError(`${op}: operand ${i + 1} must be a Tensor or a number, got ${describeValue(o)}`);
  });
  const base = self.base;
  const tracking =
    isGradEnabled() && (self.requiresGrad || (base !== null && base.requiresGrad) || others.some((o) => o instanceof Tensor && o.requiresGrad));
  if (tracking) checkInPlaceAllowed(self, op);
  checkNoInternalOverlap(self, op);
  if (tracking && base !== null) return writeViewOfGraph(self, base, op, compute, castRule);
  // Recording: the op reads a copy of self's old values (its backward may need them after the
  // write), made from an alias that keeps self's old autograd node.
  const source = tracking ? clone(self.aliasForInPlace()) : self;
  const result = resultFor(self, op, tracking ? compute(source) : noGrad(() => compute(source)), castRule);
  writeInto(self, result);
  self.bumpVersion();
  reportOp('inPlace', [result], self, {}); // op tracing: self now holds result
  if (tracking) self.attachGradFn(result.gradFn);
  return self;
}

/**
 * In-place on a view while recording (PyTorch's CopySlices). The op runs on a copy of the
 * view's region of the base's old values; the base's history becomes "the old base with that
 * region replaced by the op's result", so the base's gradient reaches the op through the
 * region and its old history unchanged elsewhere. The view, and every other view of the
 * base, remake their gradFn from the base's new history on their next read (the storage
 * version moved on: Tensor.gradFn).
 */
function writeViewOfGraph(view: Tensor, base: Tensor, op: string, compute: (x: Tensor) => Tensor, castRule: CastRule): Tensor {
  const write = startViewWrite(view, base, op);
  const result = resultFor(view, op, compute(clone(write.before)), castRule);
  writeInto(view, result);
  view.bumpVersion();
  write.commit(result);
  return view;
}

/** An in-place write into a view of a graph, between reading the old values and recording the new ones. */
export interface ViewWrite {
  /** The view's region of the base's history before the write (shares the storage: read or clone it before writing). */
  readonly before: Tensor;
  /** Records the base's new history: its old history outside the region, `result` (the view's shape) inside. */
  commit(result: Tensor): void;
}

/**
 * kiln-internal: starts an in-place write into `view` (of `base`) while recording; the
 * in-place ops and autograd.Function's markDirty use it. Throws, naming `op`, for a base
 * that is not contiguous.
 */
export function startViewWrite(view: Tensor, base: Tensor, op: string): ViewWrite {
  if (!base.isContiguous()) {
    throw new AutogradError(
      `${op}: in-place on a view (${describe(view)}) of a non-contiguous base (${describe(base)}, strides ` +
        `${formatShape(base.strides)}) while recording a graph is not supported; clone() the base first`,
    );
  }
  const region: Region = { shape: view.shape, strides: view.strides, offset: view.storageOffset - base.storageOffset };
  const baseBefore = base.aliasForInPlace(); // keeps the base's history so far
  return {
    before: asStrided(baseBefore, region.shape, region.strides, view.storageOffset),
    commit(result: Tensor): void {
      const mask = regionMask(base.shape, region);
      record(base, 'copySlices', [baseBefore, result], (g) => copySlicesBackward(g, mask, region), []);
    },
  };
}

/** Where a view's elements sit in its (contiguous) base: offset from the base's first element, strides. */
interface Region {
  shape: readonly number[];
  strides: readonly number[];
  offset: number;
}

/** A bool tensor of the base's shape, true on the view's region. */
function regionMask(shape: readonly number[], region: Region): Tensor {
  const mask = zeros(shape, { dtype: 'bool' });
  noGrad(() => asStrided(mask, region.shape, region.strides, region.offset).fill_(1));
  return mask;
}

/**
 * The gradients of copySlices' inputs from its output's gradient g (the base's shape): the
 * old base gets g with the region zeroed, the op's result gets g's region (differentiable).
 */
function copySlicesBackward(g: Tensor, mask: Tensor, region: Region): Tensor[] {
  const dense = g.contiguous();
  return [ew.maskedFill(g, mask, 0), asStrided(dense, region.shape, region.strides, dense.storageOffset + region.offset)];
}

/** The op's result, checked against self's shape and cast to self's dtype (castRule as in applyInPlace). */
function resultFor(self: Tensor, op: string, result: Tensor, castRule: CastRule): Tensor {
  if (!sameShape(result.shape, self.shape)) {
    throw new ShapeError(`${op}: output with shape ${formatShape(self.shape)} doesn't match the broadcast shape ${formatShape(result.shape)}`);
  }
  if (result.dtype === self.dtype) return result;
  if (castRule === 'sameKind' && isFloat(result.dtype) && !isFloat(self.dtype)) {
    throw new DTypeError(`${op}: result type ${result.dtype} can't be cast to the desired output type ${self.dtype} (tensor ${formatShape(self.shape)})`);
  }
  return cast(result, self.dtype);
}

function describe(t: Tensor): string {
  return `a ${t.dtype} ${formatShape(t.shape)} tensor`;
}

/**
 * kiln-internal: throws (naming `op`) when self may not be written in place while recording:
 * a leaf that requires grad, or a view of one.
 */
export function checkInPlaceAllowed(self: Tensor, op: string): void {
  if (self.isLeaf && self.requiresGrad) {
    throw new AutogradError(
      `${op}: a leaf Variable that requires grad is being used in an in-place operation (${describe(self)}); ` +
        `wrap the update in noGrad() or work on a clone()`,
    );
  }
  const base = self.base;
  if (base !== null && base.isLeaf && base.requiresGrad) {
    throw new AutogradError(
      `${op}: a view of a leaf Variable that requires grad is being used in an in-place operation (${describe(self)}, ` +
        `a view of ${describe(base)}); wrap the update in noGrad() or work on a clone()`,
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
  if (typeof value !== 'number') throw new TypeError(`fill_: value must be a number, got ${describeValue(value)}`);
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
