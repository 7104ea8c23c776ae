/**
 * kiln.async: native work off the JS thread (docs/ARCHITECTURE.md, "Async native execution").
 *
 * `kiln.async(fn)` runs `fn` on the JS thread as usual — shape checks, autograd recording,
 * allocation — but every kernel it reaches is *recorded* instead of run: addon calls are
 * checked by their binding and queued natively; TypeScript kernels (the small path, other
 * dtypes) run at once when their arrays are ready, and are deferred into the queue when one is
 * still in flight. The recorded segments then run in order: each native segment as one N-API
 * async work item on a libuv pool thread (its kernels on kiln's thread pool, as always), each
 * deferred TypeScript kernel on the JS thread between them. The JS thread is free while a
 * native segment runs; nothing polls. Every array a queued kernel touches is in flight until
 * the promise settles (lib/memory/in-flight.ts).
 */
import { TensorInFlightError } from '../errors.js';
import { beginFlightScope, checkValuesReady, endFlightRecording, isInFlight, landFlightScope, markInFlight } from '../memory/in-flight.js';
import { getBackend } from './index.js';
import { NativeBackend, type KernelInterceptor, type NativeAddon, type QueueHandle } from './native.js';

/** One recorded piece of work: a native queue, or a TypeScript kernel to run on the JS thread. */
type Segment = QueueHandle | (() => void);

/** Addon functions that are not kernels: they run at once, even while recording. */
const NOT_KERNELS = new Set(['adviseHugePages', 'setNumThreads', 'getNumThreads', 'setIdleScheduling', 'gemmIsa', 'qgemmIsa', 'beginQueue', 'takeQueue', 'runQueue', 'isQueueing']);

/**
 * The arguments each addon kernel writes (by position; every other array it only reads). A
 * TypeScript read of an array a queued kernel only reads is safe inside the scope.
 */
const WRITTEN: Readonly<Record<string, readonly number[]>> = {
  unary: [2], binary: [3], compare: [3], where: [3], reluBackward: [2], clamp: [3], reduce: [2], argReduce: [2, 3],
  softmax: [1], softmaxBackward: [2], matmul: [2], matmulBFloat16: [2], matmulBFloat16ToFloat: [2], roundBFloat16: [1], sgemm: [11], stridedCopy: [4], stridedScatter: [1],
  indexSelect: [2], indexAdd: [2], gather: [2], scatterAdd: [2], softmaxCrossEntropy: [3, 4], softmaxCrossEntropyBackward: [5],
  sgdStep: [0, 2], adagradStep: [0, 2], rmspropStep: [0, 2, 3, 4], adadeltaStep: [0, 2, 3], adamStep: [0, 2, 3, 4],
  nadamStep: [0, 2, 3], adamaxStep: [0, 2, 3], conv2d: [3], conv2dFused: [3], conv2dBackwardInput: [2], conv2dBackwardWeight: [2, 3],
  maxPool2d: [1, 2], maxPool2dBackward: [2], avgPool2d: [1], avgPool2dBackward: [1], adaptiveAvgPool2d: [1],
  adaptiveAvgPool2dBackward: [1], upsample2d: [1], upsample2dBackward: [1], scan: [2], sort: [1, 2], topk: [1, 2],
  rnnForward: [13, 14, 15, 16], rnnBackward: [12, 16, 17, 18, 19, 20, 21, 22], lstmCellsForward: [2, 5, 6], attentionForward: [3, 4], attentionBackward: [6, 7, 8],
  dropout: [1], layerNorm: [3, 4, 5], layerNormBackward: [5, 6, 7],
  batchNorm: [3, 4, 5, 6], batchNormBackward: [5, 6, 7],
  qlinearPackWeights: [3, 4], qlinearDynamic: [8],
};

/** Kernel arguments whose values the binding reads when checking the call (class targets): they must be ready. */
const CHECKED_VALUES: Readonly<Record<string, number>> = { softmaxCrossEntropy: 1, softmaxCrossEntropyBackward: 1 };

/** The scope being recorded: its addon, segments, and whether a native queue is open. */
interface Recording {
  addon: NativeAddon;
  segments: Segment[];
  nativeOpen: boolean;
}

let recording: Recording | null = null;

/** Calls `visit` on every typed array among `args`, including those one level inside plain objects (geometry, plans). */
function forEachArray(args: readonly unknown[], visit: (array: ArrayBufferView) => void): void {
  for (const arg of args) {
    if (ArrayBuffer.isView(arg)) visit(arg);
    else if (typeof arg === 'object' && arg !== null && !Array.isArray(arg)) {
      for (const value of Object.values(arg)) if (ArrayBuffer.isView(value)) visit(value);
    }
  }
}

/** The shape to name in messages about a raw array: its length. */
const lengthShape = (array: ArrayBufferView): number[] => [(array as unknown as { length?: number }).length ?? array.byteLength];

function closeNativeSegment(r: Recording): void {
  if (!r.nativeOpen) return;
  r.segments.push(r.addon.takeQueue());
  r.nativeOpen = false;
}

/** The addon seen by a recording backend: kernels are marked in flight and queued. */
function recordingAddon(real: NativeAddon): NativeAddon {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(real) as [string, (...args: unknown[]) => unknown][]) {
    if (typeof fn !== 'function' || NOT_KERNELS.has(name)) {
      wrapped[name] = fn;
      continue;
    }
    const checked = CHECKED_VALUES[name];
    const written = WRITTEN[name];
    if (written === undefined) throw new Error(`kiln.async: the addon kernel ${name} has no entry in WRITTEN (lib/backend/queue.ts)`);
    wrapped[name] = (...args: unknown[]): unknown => {
      const r = recording as Recording;
      if (checked !== undefined && ArrayBuffer.isView(args[checked])) {
        const values = args[checked] as ArrayBufferView;
        checkValuesReady(values.buffer, lengthShape(values), `${name} (its binding checks these values)`);
      }
      args.forEach((arg, i) => {
        if (ArrayBuffer.isView(arg)) markInFlight(arg, name, written.includes(i));
      });
      if (!r.nativeOpen) {
        real.beginQueue();
        r.nativeOpen = true;
      }
      return fn(...args);
    };
  }
  return wrapped as unknown as NativeAddon;
}

/** TypeScript kernels seen by a recording backend: run now when their arrays are ready, else deferred into the queue. */
function recordingTypeScript<K extends object>(real: K): K {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(real) as [string, (...args: unknown[]) => unknown][]) {
    if (typeof fn !== 'function') {
      wrapped[name] = fn;
      continue;
    }
    wrapped[name] = (...args: unknown[]): unknown => {
      let ready = true;
      forEachArray(args, (array) => {
        if (isInFlight(array.buffer)) ready = false;
      });
      if (ready) return fn(...args);
      const r = recording as Recording;
      // Which arguments a TypeScript kernel writes is not listed: those not in flight yet count as written.
      forEachArray(args, (array) => markInFlight(array, `${name} (TypeScript)`, !isInFlight(array.buffer)));
      closeNativeSegment(r);
      r.segments.push(() => fn(...args));
      return undefined; // kernels write into their arguments and return nothing
    };
  }
  return wrapped as K;
}

/** Built once per addon: the wrappers read the module's `recording`. */
let interceptor: { real: NativeAddon | null; addon: NativeAddon | null; typescript: Map<object, object> } = { real: null, addon: null, typescript: new Map() };

const INTERCEPTOR: KernelInterceptor = {
  addon(real) {
    if (interceptor.real !== real) interceptor = { real, addon: recordingAddon(real), typescript: new Map() };
    return interceptor.addon as NativeAddon;
  },
  typescript(real) {
    let wrapped = interceptor.typescript.get(real);
    if (wrapped === undefined) {
      wrapped = recordingTypeScript(real);
      interceptor.typescript.set(real, wrapped);
    }
    return wrapped as typeof real;
  },
};

/** Runs the recorded segments in order; the first failure rejects (later segments do not run). */
async function runSegments(addon: NativeAddon, segments: readonly Segment[]): Promise<void> {
  for (const segment of segments) {
    if (typeof segment === 'function') segment();
    else await addon.runQueue(segment).catch((error: unknown) => {
      throw new RangeError(error instanceof Error ? error.message : String(error));
    });
  }
}

/** The addon behind the current backend, or null when ops run on the reference backend. */
function currentNative(): { backend: NativeBackend; addon: NativeAddon } | null {
  const backend = getBackend();
  if (!(backend instanceof NativeBackend)) return null;
  return { backend, addon: backend.addonForQueue() };
}

/**
 * Runs `fn`'s native work off the JS thread: `fn` runs now (ops are checked, recorded by
 * autograd and allocated as usual), its kernels run afterwards on a libuv pool thread and
 * kiln's thread pool, in order, while the event loop keeps turning. The promise resolves
 * with `fn`'s result once every kernel has run; results are bit for bit those of calling
 * `fn()` directly.
 *
 * Until then every tensor the scope's kernels read or write is *in flight*: reading, writing
 * or computing on it outside the scope (its `data`, item(), toArray(), an op) throws a
 * TensorInFlightError naming the tensor and the kernel, and tidy() keeps its storage out of
 * the pool until the scope lands. Inside `fn`, ops may use in-flight tensors (the queue runs
 * in order) but must not read their values in TypeScript (item(), toArray(), `data` loops):
 * those values are not computed yet, so such a read rejects the promise with a
 * TensorInFlightError. A kernel error (an index out of range) rejects it with the kernel's
 * message; an error thrown by `fn` rejects it after the kernels queued before the throw have
 * run (as they would have, synchronously). Scopes do not nest (calling kiln.async inside fn
 * throws); separate scopes may run concurrently on separate tensors. On the reference backend
 * `fn` simply runs.
 *
 * Args: fn, a synchronous function running kiln ops (it must not return a promise).
 * Returns: a promise of fn's result.
 *
 * Example:
 * ```ts
 * const loss = await kiln.async(() => {
 *   optimizer.zeroGrad();
 *   const l = F.crossEntropy(model.forward(x), y);
 *   l.backward();
 *   optimizer.step();
 *   return l;
 * });
 * console.log(loss.item()); // the event loop served requests while the step ran
 * ```
 */
export function runAsync<T>(fn: () => T): Promise<T> {
  if (recording !== null) {
    // Only code inside a recording scope gets here: throwing rejects that scope.
    throw new TensorInFlightError('kiln.async: scopes do not nest; run this work directly inside the outer scope');
  }
  const native = currentNative();
  if (native === null) return new Promise((resolve) => resolve(checkedResult(fn())));
  const r: Recording = { addon: native.addon, segments: [], nativeOpen: false };
  recording = r;
  const scope = beginFlightScope();
  let result: T | undefined;
  let failure: unknown = null;
  try {
    result = native.backend.intercept(INTERCEPTOR, () => checkedResult(fn()));
  } catch (error) {
    failure = error;
  } finally {
    closeNativeSegment(r);
    recording = null;
    const unreadyRead = endFlightRecording();
    failure ??= unreadyRead;
  }
  return runSegments(r.addon, r.segments).then(
    () => {
      landFlightScope(scope);
      if (failure !== null) throw failure;
      return result as T;
    },
    (error: unknown) => {
      landFlightScope(scope);
      throw error;
    },
  );
}

function checkedResult<T>(value: T): T {
  if (typeof (value as { then?: unknown } | null)?.then === 'function') {
    throw new TypeError('kiln.async: fn returned a promise; fn must be synchronous (await inside it would let other code run while kernels are being recorded)');
  }
  return value;
}
