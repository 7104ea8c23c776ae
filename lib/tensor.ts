/**
 * Tensor: an n-dimensional array in contiguous row-major storage that the garbage collector
 * owns (a typed array handed zero-copy to the native kernels), plus its autograd state.
 * Methods are thin wrappers over the functions in lib/ops, so `x.add(y)` and `add(x, y)`
 * are the same op.
 */
import type { DataArray, DType } from './dtype.js';
import { isFloat } from './dtype.js';
import { AutogradError, DTypeError, ReleasedTensorError } from './errors.js';
import { type BackwardOptions, type GradNode, runBackward } from './autograd/engine.js';
import { formatTensor } from './format.js';
import { numelOf, normalizeDim, sameShape } from './shape.js';
import * as cast from './ops/cast.js';
import * as ew from './ops/elementwise.js';
import * as idx from './ops/index.js';
import * as dist from './ops/distance.js';
import * as mm from './ops/matmul.js';
import * as red from './ops/reduce.js';
import * as sh from './ops/shape.js';
import * as sm from './ops/softmax.js';
import { isGradEnabled, noGrad } from './autograd/grad-mode.js';
import { keep } from './memory/tidy.js';
import { BinaryOp } from './backend/backend.js';
import { getBackend } from './backend/index.js';

/** Nested arrays of numbers: what toArray() returns (a number for a 0-d tensor). */
export type NestedNumbers = number | NestedNumbers[];

/** A tensor, or a number that broadcasts as a 0-d tensor of the other operand's dtype. */
export type TensorLike = Tensor | number;

/** An n-dimensional array with autograd. Create one with `tensor()`, `zeros()`, `randn()`, …. */
export class Tensor {
  private readonly storage: DataArray;
  /** Number of elements. */
  readonly numel: number;
  /** Sizes of the dims, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  private gradient: Tensor | null = null;
  private node: GradNode | null = null;
  private leafRequiresGrad = false;
  private keepGrad = false;

  /**
   * Wraps existing storage without copying (kiln-internal; users call `tensor()`).
   * Args: data of numel(shape) elements, shape, and the dtype matching data's array type.
   */
  constructor(data: DataArray, shape: readonly number[], dtype: DType) {
    this.storage = data;
    this.numel = data.length;
    this.shape = shape;
    this.dtype = dtype;
  }

  /**
   * The elements, contiguous and row-major. Shared with views made by reshape. Throws when
   * the storage was released by the end of a tidy() scope.
   */
  get data(): DataArray {
    if (this.storage.length !== this.numel) throw releasedError(this.shape);
    return this.storage;
  }

  /** The accumulated gradient after backward(), or null. Storage set here outlives tidy() scopes. */
  get grad(): Tensor | null {
    return this.gradient;
  }

  set grad(value: Tensor | null) {
    if (value !== null) keep(value);
    this.gradient = value;
  }

  /** Number of dims. */
  get ndim(): number {
    return this.shape.length;
  }

  /** The size of one dim (negative counts from the end), or the whole shape when dim is omitted. */
  size(): readonly number[];
  size(dim: number): number;
  size(dim?: number): number | readonly number[] {
    return dim === undefined ? this.shape : this.shape[normalizeDim(dim, this.ndim, 'size')];
  }

  /** True when backward() will compute a gradient for this tensor (a leaf that asked, or the result of an op on one). */
  get requiresGrad(): boolean {
    return this.leafRequiresGrad || this.node !== null;
  }

  /** The op that produced this tensor in the autograd graph, or null for a leaf. */
  get gradFn(): GradNode | null {
    return this.node;
  }

  /** True for tensors not produced by a recorded op (user-created tensors and parameters). */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** True when retainGrad() was called, so backward() fills .grad of this non-leaf. */
  get retainsGrad(): boolean {
    return this.keepGrad;
  }

  /**
   * Marks a leaf as needing a gradient (in place) and returns it. Only float tensors can.
   *
   * Example: `const w = randn([3, 3]).requiresGrad_()`.
   */
  requiresGrad_(requiresGrad = true): this {
    if (!this.isLeaf) {
      throw new AutogradError('requiresGrad_: only leaf tensors can change requiresGrad; use detach() for a non-leaf');
    }
    if (requiresGrad && !isFloat(this.dtype)) {
      throw new DTypeError(`requiresGrad_: only float tensors can require grad, this one is ${this.dtype}`);
    }
    this.leafRequiresGrad = requiresGrad;
    return this;
  }

  /** Keeps the gradient of this non-leaf in .grad during backward(). */
  retainGrad(): this {
    if (!this.requiresGrad) throw new AutogradError('retainGrad: the tensor does not require grad');
    this.keepGrad = true;
    return this;
  }

  /** Sets .grad to null (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    this.grad = null;
  }

  /** kiln-internal: links this tensor to the op that made it. */
  attachGradFn(node: GradNode): void {
    this.node = node;
  }

  /**
   * kiln-internal: adds g into .grad. The first gradient is stored as it is, or copied when
   * `shared` (its storage is already held elsewhere), so .grad never aliases another tensor.
   * Later ones are added in place, as PyTorch does (no new storage per backward), except
   * while recording a graph (createGraph) or when the shapes or dtypes differ.
   */
  accumulateGrad(g: Tensor, shared: boolean): void {
    const current = this.gradient;
    if (current === null) {
      this.grad = shared && !g.requiresGrad ? new Tensor(g.data.slice(), g.shape, g.dtype) : g;
    } else if (!isGradEnabled() && !current.requiresGrad && current.dtype === g.dtype && sameShape(current.shape, g.shape)) {
      getBackend().binary(BinaryOp.add, current.data, g.data, current.data, null); // current += g
    } else {
      this.grad = ew.add(current, g);
    }
  }

  /**
   * Computes the gradient of this tensor with respect to every leaf that requires grad,
   * adding it into their .grad.
   *
   * Args:
   * - gradient: d(loss)/d(this), with this tensor's shape; omit it for a one-element tensor.
   * - options.retainGraph: keep the graph for another backward. options.createGraph: record
   *   the backward pass for higher-order gradients.
   *
   * Example: `loss.backward(); w.grad` .
   */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    runBackward(this, gradient, options);
  }

  /** A tensor sharing this one's storage but cut from the graph (requiresGrad false). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.dtype);
  }

  /** The single element of a one-element tensor, as a number. */
  item(): number {
    if (this.numel !== 1) throw new RangeError(`item: the tensor has ${this.numel} elements (shape [${this.shape.join(', ')}]), not 1`);
    return Number(this.data[0]);
  }

  /** The elements as nested arrays of numbers (a number for a 0-d tensor). */
  toArray(): NestedNumbers {
    const build = (dim: number, offset: number, stride: number): NestedNumbers => {
      if (dim === this.ndim) return Number(this.data[offset]);
      const size = this.shape[dim];
      const inner = stride / Math.max(size, 1);
      const out: NestedNumbers[] = new Array(size);
      for (let i = 0; i < size; i++) out[i] = build(dim + 1, offset + i * inner, inner);
      return out;
    };
    return build(0, 0, numelOf(this.shape));
  }

  /** PyTorch-style text: `tensor([[1.0000, 2.0000]], requiresGrad=true)`. */
  toString(): string {
    return formatTensor(this);
  }

  // ---- dtype -----------------------------------------------------------------------
  /** This tensor converted to `dtype` (itself when it already has it). */
  to(dtype: DType): Tensor {
    return cast.cast(this, dtype);
  }
  /** As float32. */
  float(): Tensor {
    return cast.cast(this, 'float32');
  }
  /** As float64. */
  double(): Tensor {
    return cast.cast(this, 'float64');
  }
  /** As int32 (floats truncate toward zero). */
  int(): Tensor {
    return cast.cast(this, 'int32');
  }

  // ---- elementwise ------------------------------------------------------------------
  /** this + other, broadcasting. */
  add(other: TensorLike): Tensor {
    return ew.add(this, other);
  }
  /** this − other, broadcasting. */
  sub(other: TensorLike): Tensor {
    return ew.sub(this, other);
  }
  /** this · other elementwise, broadcasting. */
  mul(other: TensorLike): Tensor {
    return ew.mul(this, other);
  }
  /** this / other elementwise, broadcasting. */
  div(other: TensorLike): Tensor {
    return ew.div(this, other);
  }
  /** this ** exponent elementwise, broadcasting. */
  pow(exponent: TensorLike): Tensor {
    return ew.pow(this, exponent);
  }
  /** Elementwise maximum with other. */
  maximum(other: TensorLike): Tensor {
    return ew.maximum(this, other);
  }
  /** Elementwise minimum with other. */
  minimum(other: TensorLike): Tensor {
    return ew.minimum(this, other);
  }
  /** −this. */
  neg(): Tensor {
    return ew.neg(this);
  }
  /** |this|. */
  abs(): Tensor {
    return ew.abs(this);
  }
  /** e^this. */
  exp(): Tensor {
    return ew.exp(this);
  }
  /** Natural log. */
  log(): Tensor {
    return ew.log(this);
  }
  /** Square root. */
  sqrt(): Tensor {
    return ew.sqrt(this);
  }
  /** this². */
  square(): Tensor {
    return ew.square(this);
  }
  /** 1 / this. */
  reciprocal(): Tensor {
    return ew.reciprocal(this);
  }
  /** Sign (−1, 0, 1). */
  sign(): Tensor {
    return ew.sign(this);
  }
  /** Logistic sigmoid. */
  sigmoid(): Tensor {
    return ew.sigmoid(this);
  }
  /** Hyperbolic tangent. */
  tanh(): Tensor {
    return ew.tanh(this);
  }
  /** max(this, 0). */
  relu(): Tensor {
    return ew.relu(this);
  }
  /** Limits elements to [min, max]. */
  clamp(min?: number, max?: number): Tensor {
    return ew.clamp(this, min, max);
  }
  /** Elements replaced by value where mask is true. */
  maskedFill(mask: Tensor, value: number): Tensor {
    return ew.maskedFill(this, mask, value);
  }
  /** this == other (bool). */
  eq(other: TensorLike): Tensor {
    return ew.eq(this, other);
  }
  /** this != other (bool). */
  ne(other: TensorLike): Tensor {
    return ew.ne(this, other);
  }
  /** this < other (bool). */
  lt(other: TensorLike): Tensor {
    return ew.lt(this, other);
  }
  /** this ≤ other (bool). */
  le(other: TensorLike): Tensor {
    return ew.le(this, other);
  }
  /** this > other (bool). */
  gt(other: TensorLike): Tensor {
    return ew.gt(this, other);
  }
  /** this ≥ other (bool). */
  ge(other: TensorLike): Tensor {
    return ew.ge(this, other);
  }

  // ---- reductions -------------------------------------------------------------------
  /** Sum over dims (all when omitted). */
  sum(dims?: red.Dims, keepdim = false): Tensor {
    return red.sum(this, dims, keepdim);
  }
  /** Mean over dims (all when omitted). */
  mean(dims?: red.Dims, keepdim = false): Tensor {
    return red.mean(this, dims, keepdim);
  }
  /** Largest element (no dim), or values and indices along dim. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): red.ValuesIndices;
  max(dim?: number, keepdim = false): Tensor | red.ValuesIndices {
    return dim === undefined ? red.amax(this) : red.max(this, dim, keepdim);
  }
  /** Smallest element (no dim), or values and indices along dim. */
  min(): Tensor;
  min(dim: number, keepdim?: boolean): red.ValuesIndices;
  min(dim?: number, keepdim = false): Tensor | red.ValuesIndices {
    return dim === undefined ? red.amin(this) : red.min(this, dim, keepdim);
  }
  /** Largest value over dims. */
  amax(dims?: red.Dims, keepdim = false): Tensor {
    return red.amax(this, dims, keepdim);
  }
  /** Smallest value over dims. */
  amin(dims?: red.Dims, keepdim = false): Tensor {
    return red.amin(this, dims, keepdim);
  }
  /** Index of the largest value along dim (flattened when omitted). */
  argmax(dim?: number, keepdim = false): Tensor {
    return red.argmax(this, dim, keepdim);
  }
  /** Index of the smallest value along dim (flattened when omitted). */
  argmin(dim?: number, keepdim = false): Tensor {
    return red.argmin(this, dim, keepdim);
  }
  /** Variance over dims (unbiased by default). */
  var(dims?: red.Dims, options?: red.VarOptions): Tensor {
    return red.variance(this, dims, options);
  }
  /** Standard deviation over dims (unbiased by default). */
  std(dims?: red.Dims, options?: red.VarOptions): Tensor {
    return red.std(this, dims, options);
  }
  /** log Σ exp over dims, computed stably. */
  logsumexp(dims?: red.Dims, keepdim = false): Tensor {
    return red.logsumexp(this, dims, keepdim);
  }
  /** Softmax along dim. */
  softmax(dim: number): Tensor {
    return sm.softmax(this, dim);
  }
  /** Log-softmax along dim. */
  logSoftmax(dim: number): Tensor {
    return sm.logSoftmax(this, dim);
  }

  // ---- linear algebra -----------------------------------------------------------------
  /** Matrix product (PyTorch's matmul rules). */
  matmul(other: Tensor): Tensor {
    return mm.matmul(this, other);
  }

  // ---- shape ----------------------------------------------------------------------------
  /** Same elements, new shape (one size may be −1); shares storage. */
  reshape(shape: readonly number[]): Tensor {
    return sh.reshape(this, shape);
  }
  /** Alias of reshape (every kiln tensor is contiguous). */
  view(shape: readonly number[]): Tensor {
    return sh.reshape(this, shape);
  }
  /** Merges dims startDim..endDim. */
  flatten(startDim = 0, endDim = -1): Tensor {
    return sh.flatten(this, startDim, endDim);
  }
  /** Reorders dims. */
  permute(dims: readonly number[]): Tensor {
    return sh.permute(this, dims);
  }
  /** Swaps two dims. */
  transpose(d0: number, d1: number): Tensor {
    return sh.transpose(this, d0, d1);
  }
  /** The transpose of a matrix (≤ 2 dims). */
  t(): Tensor {
    if (this.ndim > 2) throw new RangeError(`t: expects at most 2 dims, got shape [${this.shape.join(', ')}]; use transpose`);
    return this.ndim < 2 ? this : sh.transpose(this, 0, 1);
  }
  /** Removes size-1 dims (or only dim). */
  squeeze(dim?: number): Tensor {
    return sh.squeeze(this, dim);
  }
  /** Inserts a size-1 dim at dim. */
  unsqueeze(dim: number): Tensor {
    return sh.unsqueeze(this, dim);
  }
  /** Broadcasts to shape (−1 keeps a size). */
  expand(shape: readonly number[]): Tensor {
    return sh.expand(this, shape);
  }
  /** Elements start:end:step along dim (Python slice rules). */
  slice(dim: number, start?: number, end?: number, step?: number): Tensor {
    return sh.slice(this, dim, start, end, step);
  }
  /** length elements from start along dim. */
  narrow(dim: number, start: number, length: number): Tensor {
    return sh.narrow(this, dim, start, length);
  }
  /** The sub-tensor at index along dim, that dim removed. */
  select(dim: number, index: number): Tensor {
    return sh.select(this, dim, index);
  }
  /** Splits into pieces of a size, or of listed sizes, along dim. */
  split(sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
    return sh.split(this, sizeOrSections, dim);
  }
  /** Splits into n near-equal pieces along dim. */
  chunk(chunks: number, dim = 0): Tensor[] {
    return sh.chunk(this, chunks, dim);
  }
  /** A copy with its own storage (differentiable). */
  clone(): Tensor {
    return sh.clone(this);
  }

  // ---- indexing --------------------------------------------------------------------------
  /** Entries at positions index (int32, 1-D) along dim. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return idx.indexSelect(this, dim, index);
  }
  /** Values picked along dim by an int32 index tensor. */
  gather(dim: number, index: Tensor): Tensor {
    return idx.gather(this, dim, index);
  }
  /** A copy with src added at index along dim. */
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return idx.scatterAdd(this, dim, index, src);
  }

  // ---- in place (no autograd) -------------------------------------------------------------
  /**
   * Overwrites this tensor's elements with src's (broadcast to this shape), outside autograd;
   * for optimizer updates and initialisers. Throws on a tensor that is part of a graph.
   */
  copy_(src: TensorLike): this {
    if (this.node !== null) throw new AutogradError('copy_: cannot overwrite a tensor recorded in the autograd graph');
    const value = noGrad(() => (typeof src === 'number' ? cast.scalarTensor(src, this.dtype) : cast.cast(src, this.dtype)));
    const expanded = noGrad(() => sh.expand(value, this.shape));
    this.data.set(expanded.data);
    return this;
  }

  /** Batched matrix product with another 3-D tensor: see `bmm`. */
  bmm(other: Tensor): Tensor {
    return mm.bmm(this, other);
  }

  /** beta · this + alpha · bmm(a, b): see `baddbmm`. */
  baddbmm(a: Tensor, b: Tensor, options?: mm.BaddbmmOptions): Tensor {
    return mm.baddbmm(this, a, b, options);
  }

  /** The vector p-norm over `dims` (all when omitted): see `norm`. */
  norm(p?: dist.NormOrder, dims?: red.Dims, keepdim = false): Tensor {
    return dist.norm(this, p, dims, keepdim);
  }
}

/** The error for reading a tensor whose storage a tidy() scope released. */
function releasedError(shape: readonly number[]): ReleasedTensorError {
  return new ReleasedTensorError(
    `tensor of shape [${shape.join(', ')}] was released when its tidy() scope ended; return it from the scope or pass it to keep() to use it afterwards`,
  );
}
