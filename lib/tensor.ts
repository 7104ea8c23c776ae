/**
 * Tensor: an n-dimensional view (shape, strides, storage offset) of a storage array that the
 * garbage collector owns (a typed array handed zero-copy to the native kernels), plus its
 * autograd state. Views made by transpose, slice, expand, … share their base's storage.
 * Methods are thin wrappers over the functions in lib/ops, so `x.add(y)` and `add(x, y)`
 * are the same op.
 */
import type { DataArray, DType } from './dtype.js';
import { isFloat, isFloatingPoint, isHalf } from './dtype.js';
import { decodeHalf } from './half.js';
import { AutogradError, DTypeError, ReleasedTensorError } from './errors.js';
import { type BackwardOptions, type GradNode, runBackward } from './autograd/engine.js';
import { formatTensor } from './format.js';
import { contiguousStrides, formatShape, numelOf, normalizeDim, sameShape } from './shape.js';
import { allocate } from './dtype.js';
import { wasDroppedByZeroGrad, wasReleasedByTidy } from './memory/tidy.js';
import { anyInPlaceWrites, bumpVersion, versionOf } from './autograd/version.js';
import { checkAccess, checkValuesReady, inFlightCount } from './memory/in-flight.js';
import { runAsync } from './backend/queue.js';
import * as ip from './ops/inplace.js';
import * as cast from './ops/cast.js';
import * as ew from './ops/elementwise.js';
import * as idx from './ops/index.js';
import * as dist from './ops/distance.js';
import * as mm from './ops/matmul.js';
import * as red from './ops/reduce.js';
import * as sh from './ops/shape.js';
import * as sm from './ops/softmax.js';
import * as scan from './ops/scan.js';
import * as sorting from './ops/sorting.js';
import * as masking from './ops/masking.js';
import * as tiling from './ops/tiling.js';
import { isGradEnabled, withGradMode } from './autograd/grad-mode.js';
import { keep, releaseDroppedGradient } from './memory/tidy.js';
import { RemovableHandle } from './autograd/hooks.js';
import { BinaryOp } from './backend/backend.js';
import { getBackend } from './backend/index.js';
import { nameMethodErrors } from './op-context.js';
import { checkTensorArg } from './validate.js';

/** Nested arrays of numbers: what toArray() returns (a number for a 0-d tensor). */
export type NestedNumbers = number | NestedNumbers[];

/** A tensor, or a number that broadcasts as a 0-d tensor of the other operand's dtype. */
export type TensorLike = Tensor | number;

/**
 * A gradient hook (Tensor.registerHook): called with the tensor's gradient during backward;
 * returning a tensor of the same shape and dtype replaces the gradient, returning nothing keeps it.
 */
export type TensorHook = (grad: Tensor) => Tensor | void | null | undefined;

const NO_HOOKS: readonly TensorHook[] = Object.freeze([]);

/**
 * An n-dimensional array with autograd. Create one with `tensor()`, `zeros()`, `randn()`, ….
 *
 * Example: `const t = tensor([[1, 2], [3, 4]]); t.shape` → [2, 2]; `t.sum().item()` → 10.
 */
export class Tensor {
  private readonly store: DataArray;
  /** Index in the storage array of this tensor's first element. */
  readonly storageOffset: number;
  /** Element strides per dim; null while the tensor is contiguous from its offset (computed on demand). */
  private strideList: readonly number[] | null;
  /** True when the elements are contiguous and row-major in the storage (PyTorch's is_contiguous()). */
  private readonly dense: boolean;
  /** The contiguous subarray `data` returns for a dense tensor that does not cover its whole storage. */
  private denseView: DataArray | null = null;
  /** The tensor this one is a view of (PyTorch's `_base`), or null. */
  private viewBase: Tensor | null = null;
  /** Aliases of this tensor holding the autograd nodes it had before in-place ops replaced them. */
  private priorNodes: Map<GradNode, Tensor> | null = null;
  /**
   * For a view made while grad mode was on: the storage version its autograd node was made
   * at; when an in-place write changes the version, gradFn is remade from the base's current
   * history (PyTorch's view + in-place rule). −1 for tensors that keep their node.
   */
  private historyVersion = -1;
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
  private hooks: Map<number, TensorHook> | null = null;

  /**
   * Wraps existing storage without copying (kiln-internal; users call `tensor()`).
   * Args: data of numel(shape) elements, shape, and the dtype matching data's array type; view
   * ops also pass strides and the storage offset (then data is the whole shared storage).
   */
  constructor(data: DataArray, shape: readonly number[], dtype: DType, strides: readonly number[] | null = null, storageOffset = 0) {
    this.store = data;
    this.shape = shape;
    this.dtype = dtype;
    this.storageOffset = storageOffset;
    if (strides === null) {
      this.numel = data.length;
      this.strideList = null;
      this.dense = true;
    } else {
      this.numel = numelOf(shape);
      this.strideList = strides;
      this.dense = stridesAreContiguous(shape, strides);
    }
  }

  /**
   * kiln-internal: a view of `storage` (shared, not copied) with the given geometry; view ops
   * call it. Element i of the view sits at storage[offset + Σ i_d · strides[d]].
   * Args: storage, shape, strides (one per dim, ≥ 0), offset ≥ 0, dtype, and the tensor it
   * views (null for none).
   */
  static fromStorage(
    storage: DataArray,
    shape: readonly number[],
    strides: readonly number[],
    offset: number,
    dtype: DType,
    base: Tensor | null,
  ): Tensor {
    const t = new Tensor(storage, shape, dtype, strides, offset);
    if (base !== null) {
      t.viewBase = base.viewBase ?? base;
      if (isGradEnabled()) t.historyVersion = versionOf(storage.buffer);
    }
    return t;
  }

  /**
   * The elements, contiguous and row-major, numel of them. For a contiguous tensor this is
   * the storage itself (or a subarray of it): writes reach every view. For a non-contiguous
   * view it is a new contiguous copy gathered on each call: writing into that copy does not
   * reach the view (use copy_ or the in-place ops). Throws when the storage was released by
   * the end of a tidy() scope.
   */
  get data(): DataArray {
    const s = this.store;
    if (inFlightCount !== 0) checkAccess(s.buffer, this.shape, true);
    if (this.dense) {
      if (this.storageOffset === 0 && s.length === this.numel) return s;
      if (s.length === 0 && this.numel > 0) throw releasedError(this.shape, s);
      let view = this.denseView;
      if (view === null || view.length !== this.numel) {
        view = s.subarray(this.storageOffset, this.storageOffset + this.numel) as DataArray;
        this.denseView = view;
      }
      return view;
    }
    if (s.length === 0 && this.numel > 0) throw releasedError(this.shape, s);
    const out = allocate(this.dtype, this.numel);
    const strides = this.strides;
    getBackend().stridedCopy(s, this.storageOffset, Int32Array.from(this.shape), Int32Array.from(strides), out);
    return out;
  }

  /**
   * The whole storage array this tensor is a view of (shared by all its views); element i of
   * the tensor is at `storageOffset + Σ i_d · strides[d]`.
   */
  get storage(): DataArray {
    if (inFlightCount !== 0) checkAccess(this.store.buffer, this.shape, false);
    if (this.store.length === 0 && this.numel > 0) throw releasedError(this.shape, this.store);
    return this.store;
  }

  /** Element strides, one per dim (PyTorch's stride()). Example: a (2, 3) tensor has [3, 1], its t() [1, 3]. */
  get strides(): readonly number[] {
    if (this.strideList === null) this.strideList = contiguousStrides(this.shape);
    return this.strideList;
  }

  /** The stride of one dim (negative counts from the end), or all of them (PyTorch's stride()). */
  stride(): readonly number[];
  stride(dim: number): number;
  stride(dim?: number): number | readonly number[] {
    return dim === undefined ? this.strides : this.strides[normalizeDim(dim, this.ndim, 'stride')];
  }

  /** True when the elements lie contiguous and row-major in storage (size-1 dims ignored, as in PyTorch). */
  isContiguous(): boolean {
    return this.dense;
  }

  /**
   * This tensor when it is contiguous, else a contiguous copy (differentiable).
   *
   * Example: `x.t().contiguous().isContiguous()` → true.
   */
  contiguous(): Tensor {
    return this.dense ? this : sh.clone(this);
  }

  /** True when this tensor and `other` view the same storage (PyTorch: same untyped_storage().data_ptr()). */
  isSameStorage(other: Tensor): boolean {
    checkTensorArg('isSameStorage', 'other', other);
    return this.store.buffer === other.store.buffer;
  }

  /** True when this tensor was made by a view op (transpose, slice, …) and shares its base's storage. */
  get isView(): boolean {
    return this.viewBase !== null;
  }

  /** The tensor this one is a view of (PyTorch's `_base`), or null. */
  get base(): Tensor | null {
    return this.viewBase;
  }

  /**
   * The version counter of this tensor's storage (shared by all its views): the number of
   * in-place writes (add_, copy_, …) it has had. Autograd compares it with the version a
   * recorded op saved.
   */
  get version(): number {
    return versionOf(this.store.buffer);
  }

  /** kiln-internal: counts one in-place write to this tensor's storage. */
  bumpVersion(): void {
    bumpVersion(this.store.buffer);
  }

  /**
   * kiln-internal: a tensor sharing this one's storage, geometry and current autograd node;
   * an in-place op records itself on the alias and then moves its node to this tensor, so
   * ops recorded earlier (which point at this tensor with its old node) reach the old node
   * through `priorAlias`.
   */
  aliasForInPlace(): Tensor {
    const alias = Tensor.fromStorage(this.store, this.shape, this.strides, this.storageOffset, this.dtype, null);
    alias.viewBase = this.viewBase;
    alias.node = this.node;
    alias.leafRequiresGrad = this.leafRequiresGrad;
    if (this.node !== null) (this.priorNodes ??= new Map()).set(this.node, alias);
    return alias;
  }

  /** kiln-internal: the alias that holds `node`, which this tensor had before an in-place op. */
  priorAlias(node: GradNode | null): Tensor {
    const alias = node === null ? undefined : this.priorNodes?.get(node);
    if (alias === undefined) {
      throw new AutogradError(`backward: a ${this.dtype} ${formatShape(this.shape)} tensor lost its autograd history to an in-place op`);
    }
    return alias;
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
    return this.leafRequiresGrad || this.gradFn !== null;
  }

  /**
   * The op that produced this tensor in the autograd graph, or null for a leaf. For a view
   * whose storage was written in place since its node was made (through the base, or through
   * any view of it), the node is first remade as a view of the base's current history, so
   * gradients flow through the in-place op as in PyTorch.
   */
  get gradFn(): GradNode | null {
    if (this.historyVersion >= 0 && anyInPlaceWrites()) this.#refreshViewHistory();
    return this.node;
  }

  /**
   * Remakes a view's node from its base's current history when the storage version moved on;
   * ops recorded before keep the old node through an alias (see aliasForInPlace). A base that
   * is not contiguous keeps the old node (no as-strided view of it can carry a gradient).
   */
  #refreshViewHistory(): void {
    const now = versionOf(this.store.buffer);
    if (now === this.historyVersion) return;
    this.historyVersion = now;
    if (this.store.length === 0 && this.numel > 0) return; // released by tidy(): no history to remake
    const base = this.viewBase as Tensor;
    if ((this.node === null && !base.requiresGrad) || !base.isContiguous()) return;
    this.aliasForInPlace();
    const regenerated = withGradMode(true, () => sh.asStrided(base, this.shape, this.strides, this.storageOffset));
    this.node = regenerated.gradFn;
  }

  /** True for tensors not produced by a recorded op (user-created tensors and parameters). */
  get isLeaf(): boolean {
    return this.gradFn === null;
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
      const why = isHalf(this.dtype) ? ` (kiln's ${this.dtype} is a storage dtype without gradients: compute in float32)` : '';
      throw new DTypeError(`requiresGrad_: only float32 and float64 tensors can require grad, this one is ${this.dtype}${why}`);
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

  /**
   * Sets .grad to null (PyTorch's zero_grad(set_to_none=True)). Inside a tidy() scope, a
   * gradient that backward stored goes back to the storage pool for the next backward, and
   * the old tensor can no longer be read (clone() it first to keep it).
   *
   * Example: `tidy(() => { w.zeroGrad(); loss().backward(); })`.
   */
  zeroGrad(): void {
    if (this.gradient !== null) releaseDroppedGradient(this.gradient);
    this.grad = null;
  }

  /**
   * Registers a hook called with this tensor's gradient each time backward computes it: on a
   * leaf before the gradient is added into .grad, on a non-leaf before it flows on to the
   * inputs (and into .grad after retainGrad()). Hooks run in registration order, each given
   * the previous one's result; one that returns a tensor (same shape and dtype) replaces the
   * gradient. autograd.grad() returns gradients after the hooks.
   *
   * Args: hook(grad) → replacement gradient or nothing.
   * Returns a handle whose remove() unregisters the hook.
   *
   * Example:
   * ```ts
   * const w = randn([3], { requiresGrad: true });
   * const handle = w.registerHook((g) => g.clamp(-1, 1)); // gradient clipping for w alone
   * w.square().sum().backward();
   * handle.remove();
   * ```
   */
  registerHook(hook: TensorHook): RemovableHandle {
    if (!this.requiresGrad) {
      throw new AutogradError(`registerHook: cannot register a hook on a tensor that does not require grad (shape [${this.shape.join(', ')}])`);
    }
    this.hooks ??= new Map();
    return new RemovableHandle(this.hooks, hook);
  }

  /** kiln-internal: the hooks given to registerHook(), in order. */
  get gradHooks(): readonly TensorHook[] {
    return this.hooks === null || this.hooks.size === 0 ? NO_HOOKS : [...this.hooks.values()];
  }

  /** kiln-internal: links this tensor to the op that made it (null: cut from the graph, after an in-place op). */
  attachGradFn(node: GradNode | null): void {
    this.node = node;
  }

  /**
   * kiln-internal: adds g into .grad. The first gradient is stored as it is, or copied when
   * `shared` (its storage is already held elsewhere), so .grad never aliases another tensor.
   * Later ones are added in place, as PyTorch does (no new storage per backward), except
   * while recording a graph (createGraph) or when the shapes or dtypes differ.
   */
  accumulateGrad(grad: Tensor, shared: boolean): void {
    checkTensorArg('accumulateGrad', 'grad', grad);
    const g = grad.dense ? grad : grad.contiguous();
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

  /**
   * backward() with its kernels run off the JS thread (`kiln.async(() => this.backward(…))`):
   * the event loop keeps turning while the gradients are computed. Until the promise
   * resolves, the gradients and every tensor the pass reads are in flight (reading them
   * throws a TensorInFlightError).
   *
   * Example: `await loss.backwardAsync(); console.log(model.fc.weight.grad)`.
   */
  backwardAsync(gradient?: Tensor, options: BackwardOptions = {}): Promise<void> {
    return runAsync(() => this.backward(gradient, options));
  }

  /** A tensor sharing this one's storage (and version counter) but cut from the graph (requiresGrad false). */
  detach(): Tensor {
    return Tensor.fromStorage(this.storage, this.shape, this.strides, this.storageOffset, this.dtype, null);
  }

  /**
   * The single element of a one-element tensor, as a number (float16/bfloat16 decoded, bool
   * as 0 or 1). An int64 element beyond ±2⁵³ has no exact number: item() throws a RangeError
   * then, and itemBigInt() returns it exactly (PyTorch returns a Python int).
   *
   * Example: `sum(x).item()`.
   */
  item(): number {
    if (inFlightCount !== 0) checkValuesReady(this.store.buffer, this.shape, 'item()');
    if (this.numel !== 1) throw new RangeError(`item: the tensor has ${this.numel} elements (shape [${this.shape.join(', ')}]), not 1`);
    return elementValues(this, 'item')[0];
  }

  /**
   * The single element of a one-element integer or bool tensor, exactly, as a bigint.
   *
   * Example: `tensor([2n ** 62n], { dtype: 'int64' }).itemBigInt()` → `4611686018427387904n`.
   */
  itemBigInt(): bigint {
    if (inFlightCount !== 0) checkValuesReady(this.store.buffer, this.shape, 'itemBigInt()');
    if (this.numel !== 1) throw new RangeError(`itemBigInt: the tensor has ${this.numel} elements (shape [${this.shape.join(', ')}]), not 1`);
    if (isFloatingPoint(this.dtype)) throw new DTypeError(`itemBigInt: needs an integer or bool tensor, got ${this.dtype}`);
    return BigInt(this.data[0]);
  }

  /**
   * The elements as nested arrays of numbers (a number for a 0-d tensor); float16/bfloat16
   * decoded. Throws a RangeError for an int64 element beyond ±2⁵³ (read `.data`, a
   * BigInt64Array, for those).
   */
  toArray(): NestedNumbers {
    if (inFlightCount !== 0) checkValuesReady(this.store.buffer, this.shape, 'toArray()');
    if (this.ndim === 1 && this.dtype !== 'int64' && !isHalf(this.dtype)) {
      const data = this.data;
      const out = new Array<number>(data.length);
      for (let i = 0; i < data.length; i++) out[i] = Number(data[i]);
      return out;
    }
    const values = elementValues(this, 'toArray');
    const build = (dim: number, offset: number, stride: number): NestedNumbers => {
      if (dim === this.ndim) return values[offset];
      const size = this.shape[dim];
      const inner = stride / Math.max(size, 1);
      const out: NestedNumbers[] = new Array(size);
      for (let i = 0; i < size; i++) out[i] = build(dim + 1, offset + i * inner, inner);
      return out;
    };
    return build(0, 0, numelOf(this.shape));
  }

  /** The elements as nested arrays of numbers (PyTorch's name for toArray). */
  tolist(): NestedNumbers {
    return this.toArray();
  }

  /** PyTorch-style text: `tensor([[1.0000, 2.0000]], requiresGrad=true)`. */
  toString(): string {
    if (inFlightCount !== 0) checkValuesReady(this.store.buffer, this.shape, 'toString()');
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
  /** As int64 (floats truncate toward zero). Example: `labels.long()`. */
  long(): Tensor {
    return cast.cast(this, 'int64');
  }
  /** As int16. */
  short(): Tensor {
    return cast.cast(this, 'int16');
  }
  /** As int8 (PyTorch's char()). */
  char(): Tensor {
    return cast.cast(this, 'int8');
  }
  /** As uint8 (PyTorch's byte()). */
  byte(): Tensor {
    return cast.cast(this, 'uint8');
  }
  /** As bool (`x != 0`). */
  bool(): Tensor {
    return cast.cast(this, 'bool');
  }
  /** As float16, rounded to nearest even. Example: `w.half()`. */
  half(): Tensor {
    return cast.cast(this, 'float16');
  }
  /** As bfloat16, rounded to nearest even. */
  bfloat16(): Tensor {
    return cast.cast(this, 'bfloat16');
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
  /** Elements replaced by value (a number or 0-d tensor) where mask is true. */
  maskedFill(mask: Tensor, value: number | Tensor): Tensor {
    return ew.maskedFill(this, mask, value);
  }
  /** sin, elementwise. */
  sin(): Tensor {
    return ew.sin(this);
  }
  /** cos, elementwise. */
  cos(): Tensor {
    return ew.cos(this);
  }
  /** tan, elementwise. */
  tan(): Tensor {
    return ew.tan(this);
  }
  /** Hyperbolic sine. */
  sinh(): Tensor {
    return ew.sinh(this);
  }
  /** Hyperbolic cosine. */
  cosh(): Tensor {
    return ew.cosh(this);
  }
  /** 1 / √this. */
  rsqrt(): Tensor {
    return ew.rsqrt(this);
  }
  /** Largest integer ≤ this. */
  floor(): Tensor {
    return ew.floor(this);
  }
  /** Smallest integer ≥ this. */
  ceil(): Tensor {
    return ew.ceil(this);
  }
  /** Nearest integer (or multiple of 10^−decimals), ties to even. */
  round(decimals = 0): Tensor {
    return ew.round(this, decimals);
  }
  /** atan2(this, other), broadcasting. */
  atan2(other: TensorLike): Tensor {
    return ew.atan2(this, other);
  }
  /** Remainder with the sign of this (C fmod), broadcasting. */
  fmod(other: TensorLike): Tensor {
    return ew.fmod(this, other);
  }
  /** Remainder with the sign of other (Python %), broadcasting. */
  remainder(other: TensorLike): Tensor {
    return ew.remainder(this, other);
  }
  /** this where cond is true, else other (broadcasting), as PyTorch's Tensor.where. */
  where(cond: Tensor, other: TensorLike): Tensor {
    return ew.where(cond, this, other);
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
  /** Running sums along dim. */
  cumsum(dim: number): Tensor {
    return scan.cumsum(this, dim);
  }
  /** Running products along dim. */
  cumprod(dim: number): Tensor {
    return scan.cumprod(this, dim);
  }
  /** Sorted values and their indices along dim (stable). */
  sort(dim = -1, descending = false): red.ValuesIndices {
    return sorting.sort(this, dim, descending);
  }
  /** The indices that sort along dim. */
  argsort(dim = -1, descending = false): Tensor {
    return sorting.argsort(this, dim, descending);
  }
  /** The k largest (or smallest) values and indices along a dim. */
  topk(k: number, options?: sorting.TopkOptions): red.ValuesIndices {
    return sorting.topk(this, k, options);
  }
  /** The k-th smallest value and its index along dim. */
  kthvalue(k: number, dim = -1, keepdim = false): red.ValuesIndices {
    return sorting.kthvalue(this, k, dim, keepdim);
  }
  /** The lower median of all elements, or values and indices along dim. */
  median(): Tensor;
  median(dim: number, keepdim?: boolean): red.ValuesIndices;
  median(dim?: number, keepdim = false): Tensor | red.ValuesIndices {
    return dim === undefined ? sorting.median(this) : sorting.median(this, dim, keepdim);
  }
  /** The most frequent value and an index of it along dim. */
  mode(dim = -1, keepdim = false): red.ValuesIndices {
    return sorting.mode(this, dim, keepdim);
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
  /** Same elements, new shape (one size may be −1); shares storage when the strides allow, else copies. */
  reshape(shape: readonly number[]): Tensor {
    return sh.reshape(this, shape);
  }
  /**
   * Same elements, new shape, always sharing storage; throws when the strides cannot express
   * the shape (as PyTorch's view; use reshape, which copies then).
   */
  view(shape: readonly number[]): Tensor {
    return sh.view(this, shape);
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
  /**
   * Sliding windows of `size` elements, `step` apart, along dim, as a view (a new last dim
   * holds each window). Example: `arange(5).unfold(0, 2, 1)` → [[0, 1], [1, 2], [2, 3], [3, 4]].
   */
  unfold(dim: number, size: number, step: number): Tensor {
    return sh.tensorUnfold(this, dim, size, step);
  }
  /** The diagonal of the (dim1, dim2) planes as a view, in a new last dim. Example: `eye(3).diagonal()` → [1, 1, 1]. */
  diagonal(offset = 0, dim1 = 0, dim2 = 1): Tensor {
    return sh.diagonal(this, offset, dim1, dim2);
  }
  /** A view of this tensor's storage with the given sizes, strides and storage offset (PyTorch's as_strided). */
  asStrided(size: readonly number[], stride: readonly number[], storageOffset?: number): Tensor {
    return sh.asStrided(this, size, stride, storageOffset);
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
  /** Elements reversed along dims. */
  flip(dims: number | readonly number[]): Tensor {
    return tiling.flip(this, dims);
  }
  /** Elements shifted along dims, wrapping around. */
  roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
    return tiling.roll(this, shifts, dims);
  }
  /** Repeated sizes[d] times along each dim. */
  repeat(sizes: readonly number[]): Tensor {
    return tiling.repeat(this, sizes);
  }
  /** Tiled reps times per dim (reps padded with leading 1s). */
  tile(reps: readonly number[]): Tensor {
    return tiling.tile(this, reps);
  }
  /** Each element repeated along dim (flattened without dim). */
  repeatInterleave(repeats: number | Tensor, dim?: number): Tensor {
    return tiling.repeatInterleave(this, repeats, dim);
  }
  /** Upper triangle of the last two dims. */
  triu(diagonal = 0): Tensor {
    return masking.triu(this, diagonal);
  }
  /** Lower triangle of the last two dims. */
  tril(diagonal = 0): Tensor {
    return masking.tril(this, diagonal);
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
  /** The entries where mask is true, as 1-D. */
  maskedSelect(mask: Tensor): Tensor {
    return masking.maskedSelect(this, mask);
  }
  /** Positions of nonzero entries: (count, ndim) int32, or one 1-D tensor per dim with asTuple. */
  nonzero(options?: masking.NonzeroOptions): Tensor | Tensor[] {
    return masking.nonzero(this, options);
  }

  // ---- in place ---------------------------------------------------------------------------
  // Each writes through this tensor's strides into the shared storage (every view sees it),
  // bumps the storage's version counter and returns this tensor. See lib/ops/inplace.ts for
  // the autograd rules (a leaf that requires grad only under noGrad; no views in a graph).

  /**
   * Overwrites this tensor's elements with src's (broadcast to this shape, cast to this dtype).
   *
   * Example: `x.slice(1, 0, 2).copy_(y)` writes y into x's first two columns.
   */
  copy_(src: TensorLike): this {
    ip.copy_(this, src);
    return this;
  }
  /** this += alpha · other (broadcast to this shape). Example: `x.add_(1)`. */
  add_(other: TensorLike, alpha = 1): this {
    ip.add_(this, other, alpha);
    return this;
  }
  /** this −= alpha · other (broadcast to this shape). */
  sub_(other: TensorLike, alpha = 1): this {
    ip.sub_(this, other, alpha);
    return this;
  }
  /** this *= other (broadcast to this shape). */
  mul_(other: TensorLike): this {
    ip.mul_(this, other);
    return this;
  }
  /** this /= other (broadcast to this shape); throws for an integer tensor, whose quotient would be float. */
  div_(other: TensorLike): this {
    ip.div_(this, other);
    return this;
  }
  /** Limits this tensor's elements to [min, max] in place. */
  clamp_(min?: number, max?: number): this {
    ip.clamp_(this, min, max);
    return this;
  }
  /** Sets every element to 0. */
  zero_(): this {
    ip.zero_(this);
    return this;
  }
  /** Sets every element to value. Example: `x.select(0, 1).fill_(3)` sets x's second row to 3. */
  fill_(value: number): this {
    ip.fill_(this, value);
    return this;
  }
  /** Sets the elements where mask (bool, broadcast to this shape) is true to value. */
  maskedFill_(mask: Tensor, value: number): this {
    ip.maskedFill_(this, mask, value);
    return this;
  }
  /** max(this, 0) in place. */
  relu_(): this {
    ip.relu_(this);
    return this;
  }
  /** Logistic sigmoid in place. */
  sigmoid_(): this {
    ip.sigmoid_(this);
    return this;
  }
  /** tanh in place. */
  tanh_(): this {
    ip.tanh_(this);
    return this;
  }
  /** −this in place. */
  neg_(): this {
    ip.neg_(this);
    return this;
  }
  /** e^this in place. */
  exp_(): this {
    ip.exp_(this);
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

// Every method's errors name it (`t.to('x')` → `Tensor.to: unknown dtype 'x' …`), issue 18.
nameMethodErrors(Tensor.prototype, 'Tensor');

/** PyTorch's is_contiguous(): strides are the row-major ones, ignoring dims of size 1; empty tensors are contiguous. */
function stridesAreContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d];
    if (size === 0) return true;
    if (size !== 1 && strides[d] !== expected) return false;
    expected *= size;
  }
  return true;
}

/**
 * t's elements as numbers: float16/bfloat16 decoded, int64 converted after checking that each
 * is exact (|v| ≤ 2⁵³), else a RangeError naming `op`.
 */
function elementValues(t: Tensor, op: string): ArrayLike<number> {
  const data = t.data;
  if (isHalf(t.dtype)) {
    const values = new Float32Array(data.length);
    decodeHalf(t.dtype, data as Uint16Array, values);
    return values;
  }
  if (!(data instanceof BigInt64Array)) return data;
  const bad = data.findIndex((v) => v > MAX_EXACT || v < -MAX_EXACT);
  if (bad >= 0) throw new RangeError(`${op}: int64 element ${bad} is ${data[bad]}, beyond ±2^53 where numbers are exact; use itemBigInt() or .data (a BigInt64Array)`);
  return Float64Array.from(data, Number);
}

const MAX_EXACT = 2n ** 53n;

/**
 * The error for reading a tensor whose storage is gone: released by the end of a tidy() scope,
 * dropped by zeroGrad() inside one, or its ArrayBuffer transferred away (postMessage or structuredClone with a transfer list,
 * ArrayBuffer.prototype.transfer), which detaches it.
 */
function releasedError(shape: readonly number[], storage: DataArray): ReleasedTensorError {
  if (wasDroppedByZeroGrad(storage.buffer)) {
    return new ReleasedTensorError(
      `tensor of shape [${shape.join(', ')}] was a gradient that zeroGrad() dropped inside a tidy() scope; its storage went back to the pool for the next gradients. clone() a gradient to keep it past zeroGrad()`,
    );
  }
  if (!wasReleasedByTidy(storage.buffer)) {
    return new ReleasedTensorError(
      `tensor of shape [${shape.join(', ')}]: its storage's ArrayBuffer was transferred away (postMessage or structuredClone with a transfer list, or ArrayBuffer.transfer) and is detached; transfer a copy (tensor.clone().data.buffer) to keep using the tensor`,
    );
  }
  return new ReleasedTensorError(
    `tensor of shape [${shape.join(', ')}] was released when its tidy() scope ended; return it from the scope or pass it to keep() to use it afterwards`,
  );
}
