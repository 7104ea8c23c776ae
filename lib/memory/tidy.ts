/**
 * tidy() and keep(): the storage of a training step handed back for reuse as soon as the
 * step ends, instead of left to the garbage collector (tfjs's `tidy`, for kiln's CPU tensors).
 *
 * Inside `tidy(fn)` every array allocate() creates is recorded. When fn returns, each one is
 * released unless it belongs to what fn returned or has escaped: become a gradient (`.grad`),
 * a parameter, a registered buffer or optimizer state, or been passed to keep(). Releasing
 * detaches the array's buffer (a zero-copy transfer), so a tensor that still points at it has
 * empty storage, and reading it throws an error naming tidy() instead of returning numbers
 * that now belong to someone else. The memory itself goes to the storage pool.
 */
import type { DataArray } from '../dtype.js';
import { KilnError } from '../errors.js';
import { checkArgs } from '../validate.js';
import { endOutermostScope, givePooled, isPoolable } from './storage-pool.js';
import { isInFlight, releaseWhenLanded } from './in-flight.js';

/** The arrays allocated while one tidy() call runs. */
interface Scope {
  allocated: DataArray[];
  /** A backward pass's scope only: the buffers of `allocated`, for releaseConsumed(). */
  owned?: Set<ArrayBufferLike>;
}

const scopes: Scope[] = [];
const escaped = new WeakSet<ArrayBufferLike>();

/** What the open tidy() scopes hold: storage recorded and not released yet (released arrays have length 0). */
export function scopeStats(): { arrays: number; bytes: number } {
  let arrays = 0;
  let bytes = 0;
  for (const scope of scopes) {
    for (const array of scope.allocated) {
      if (array.byteLength === 0) continue;
      arrays++;
      bytes += array.byteLength;
    }
  }
  return { arrays, bytes };
}

/** Anything with storage: a Tensor (kiln-internal view of it, to avoid an import cycle). Views share their base's storage. */
interface HasStorage {
  readonly storage: DataArray;
}

/** kiln-internal: allocate() reports each new array here; recorded when a scope is open. */
export function trackAllocation(array: DataArray): void {
  if (scopes.length > 0) adopt(scopes[scopes.length - 1], array);
}

function adopt(scope: Scope, array: DataArray): void {
  scope.allocated.push(array);
  scope.owned?.add(array.buffer);
}

/**
 * Keeps a tensor's storage (shared with all its views) alive past every enclosing tidy() scope (it is left to the garbage
 * collector, as storage outside tidy() always is). Returns the tensor.
 *
 * Example: `tidy(() => { history.push(keep(model.forward(x))); })`.
 */
export function keep<T extends HasStorage>(tensor: T): T {
  // Nothing to mark when no scope is open (none can release it), or when the whole buffer is
  // too small to be recorded by one (a small view of a large buffer still marks the buffer).
  if (scopes.length === 0) return tensor;
  const buffer = tensor.storage.buffer;
  if (isPoolable(buffer.byteLength)) escaped.add(buffer);
  return tensor;
}

/**
 * Runs `fn` and then releases the storage of every tensor it created, except the tensors
 * (or arrays and plain objects of tensors) it returns and storage that escaped (gradients,
 * parameters, buffers, optimizer state, keep()). Released storage is reused by later
 * allocations of the same type and size; a released tensor throws when read. Scopes nest:
 * what an inner scope returns belongs to the outer one. When fn throws, nothing is released;
 * fn must be synchronous (a returned Promise throws).
 *
 * Args: fn, typically one training step. Returns: what fn returns.
 *
 * Example:
 * ```ts
 * for (const [x, y] of loader) {
 *   const loss = tidy(() => {
 *     optimizer.zeroGrad();
 *     const l = lossFn.forward(model.forward(x), y);
 *     l.backward();
 *     optimizer.step();
 *     return l.item();
 *   });
 * }
 * ```
 */
export function tidy<T>(fn: () => T): T {
  checkArgs('tidy', [['fn', fn, 'function']]);
  const scope: Scope = { allocated: [] };
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    throw new KilnError('tidy: the function returned a Promise; tidy() scopes are synchronous (its tensors were not released)');
  }
  release(scope, storageOf(result));
  if (scopes.length === 0) endOutermostScope();
  return result;
}

/**
 * kiln-internal: a tidy() scope that can be left and entered again, for a step split around
 * awaits (fitAsync's kiln.async phases). Code that runs on the event loop between the phases
 * is outside the scope, so its tensors are not released with the step's.
 */
export class ResumableScope {
  private readonly scope: Scope = { allocated: [] };

  /** Runs `fn` inside the scope: arrays it allocates are the scope's. */
  run<T>(fn: () => T): T {
    scopes.push(this.scope);
    try {
      return fn();
    } finally {
      scopes.pop();
    }
  }

  /** Ends the scope as tidy() ends one that returned `result`; returns `result`. */
  end<T>(result: T): T {
    release(this.scope, storageOf(result));
    if (scopes.length === 0) endOutermostScope();
    return result;
  }
}

/** Releases the scope's arrays but the returned and escaped ones; returned ones pass to the parent scope. */
function release(scope: Scope, returned: Set<ArrayBufferLike>): void {
  const parent = scopes.length > 0 ? scopes[scopes.length - 1] : undefined;
  for (const array of scope.allocated) {
    const buffer = array.buffer;
    if (escaped.has(buffer) || buffer.byteLength === 0) continue;
    if (returned.has(buffer)) {
      if (parent !== undefined) adopt(parent, array);
    }
    else releaseWhenLanded(buffer, () => givePooled(detach(array)));
  }
}

/**
 * kiln-internal: the scope of one backward pass run inside a tidy() scope, so that the engine
 * can hand each intermediate gradient to the pool as soon as it is consumed (PyTorch frees it
 * when its last reference goes) instead of holding every gradient of the step until the step
 * ends. Only storage allocated during the pass can be released this way; whatever is left
 * when the pass ends passes to the enclosing scope, untouched.
 */
export class BackwardScope {
  private readonly scope: Scope = { allocated: [], owned: new Set() };

  /** A backward scope when a tidy() scope is open (null otherwise: outside tidy() the garbage collector frees gradients). */
  static open(): BackwardScope | null {
    if (scopes.length === 0) return null;
    const backward = new BackwardScope();
    scopes.push(backward.scope);
    return backward;
  }

  /**
   * Releases the storage of a gradient nobody will read again, when the pass allocated it and
   * it has not escaped (become a .grad, keep()). The caller guarantees that no other pending
   * gradient shares the buffer.
   */
  releaseConsumed(array: DataArray): void {
    const buffer = array.buffer;
    // Storage a queued kernel (kiln.async) still uses is left to the enclosing scope's release.
    if (escaped.has(buffer) || buffer.byteLength === 0 || isInFlight(buffer)) return;
    if ((this.scope.owned as Set<ArrayBufferLike>).delete(buffer)) givePooled(detach(array));
  }

  /** Ends the pass: the storage it allocated and did not release passes to the enclosing scope. */
  close(): void {
    const index = scopes.lastIndexOf(this.scope);
    if (index >= 0) scopes.splice(index, 1);
    const parent = scopes.length > 0 ? scopes[scopes.length - 1] : undefined;
    if (parent === undefined) return;
    for (const array of this.scope.allocated) if (array.byteLength > 0) adopt(parent, array);
  }
}

/**
 * Gradient storage that zeroGrad() may hand back to the pool: a leaf's .grad as backward
 * stored it, whose buffer holds that gradient alone (see markDroppableGradient).
 */
const droppable = new WeakSet<ArrayBufferLike>();

/**
 * kiln-internal: backward stored `grad` as a leaf's first .grad. Its storage becomes droppable
 * when nothing but that .grad can read it: no hook was shown it (`shownToHooks`, the pass's
 * buffers hooks saw), no graph records it, and it fills its buffer. Storage too small for
 * the pool is left out (checked first: reading .buffer of a small array moves it off the V8 heap).
 */
export function markDroppableGradient(grad: HasStorage & { readonly requiresGrad: boolean; readonly numel: number }, shownToHooks: ReadonlySet<ArrayBufferLike>): void {
  const array = grad.storage;
  if (!isPoolable(array.byteLength) || grad.requiresGrad || array.length !== grad.numel || array.byteOffset !== 0) return;
  const buffer = array.buffer;
  if (array.byteLength === buffer.byteLength && !shownToHooks.has(buffer)) droppable.add(buffer);
}

/**
 * kiln-internal: zeroGrad() is dropping `grad`. Inside a tidy() scope, storage that backward
 * made for this gradient alone goes straight back to the pool, where the step's own backward
 * takes it again: parameter gradients escape every scope, so without this each step would
 * allocate them fresh, and fresh memory is faulted in page by page (~11 µs a page on the
 * Zen 5 VM; ~8,000 faults every few steps of a ResNet-18 step). The old tensor is cut off
 * as tidy() cuts off what it releases: reading it throws a ReleasedTensorError. Outside a
 * scope, or for a gradient the user set, the garbage collector frees it as before.
 */
export function releaseDroppedGradient(grad: HasStorage): void {
  if (scopes.length === 0) return;
  const array = grad.storage;
  const buffer = array.buffer;
  if (!droppable.has(buffer) || buffer.byteLength === 0 || isInFlight(buffer)) return;
  droppable.delete(buffer);
  escaped.delete(buffer);
  givePooled(detach(array, droppedGradients));
}

/** The buffers tidy() detached: a tensor reading one was released by a scope, not transferred away. */
const releasedBuffers = new WeakSet<ArrayBufferLike>();

/** The buffers of gradients zeroGrad() dropped inside a scope (releaseDroppedGradient). */
const droppedGradients = new WeakSet<ArrayBufferLike>();

/** Whether tidy() detached this buffer (rather than a transfer by the user's code). */
export function wasReleasedByTidy(buffer: ArrayBufferLike): boolean {
  return releasedBuffers.has(buffer);
}

/** Whether zeroGrad() dropped this gradient storage inside a tidy() scope (releaseDroppedGradient). */
export function wasDroppedByZeroGrad(buffer: ArrayBufferLike): boolean {
  return droppedGradients.has(buffer);
}

/** Moves the array's memory to a new array of the same type, leaving every old view empty. */
function detach(array: DataArray, reason = releasedBuffers): DataArray {
  const buffer = array.buffer as ArrayBuffer; // allocate() never makes shared buffers
  reason.add(buffer);
  const moved = structuredClone(buffer, { transfer: [buffer] });
  const Type = array.constructor as new (buffer: ArrayBuffer) => DataArray;
  return new Type(moved);
}

/** The buffers of every tensor in `value`: a tensor, or arrays / plain objects holding tensors. */
function storageOf(value: unknown, found = new Set<ArrayBufferLike>(), seen = new Set<object>()): Set<ArrayBufferLike> {
  if (typeof value !== 'object' || value === null || seen.has(value)) return found;
  seen.add(value);
  if (isTensorLike(value)) {
    found.add(value.storage.buffer);
    const grad = (value as { grad?: unknown }).grad;
    if (isTensorLike(grad)) found.add(grad.storage.buffer);
    return found;
  }
  if (Array.isArray(value)) for (const item of value) storageOf(item, found, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const item of Object.values(value)) storageOf(item, found, seen);
  return found;
}

function isTensorLike(value: unknown): value is HasStorage {
  return typeof value === 'object' && value !== null && ArrayBuffer.isView((value as { storage?: unknown }).storage);
}
