/**
 * Automatic mixed precision on the CPU: `autocast('bfloat16', fn)`, PyTorch 1.13's
 * `torch.autocast(device_type='cpu', dtype=torch.bfloat16)` (docs/ARCHITECTURE.md, "Autocast").
 *
 * Inside the scope the products — matmul, bmm, baddbmm, linear (matmulTransposed), conv1d,
 * conv2d — take their float32 (or bfloat16) operands rounded to bfloat16, accumulate in FP32
 * and round their result to bfloat16, as PyTorch's bfloat16 kernels do; everything else
 * (softmax, log-softmax, losses, reductions, norms, elementwise ops) runs in FP32 as usual, and
 * so do LSTM and GRU, as in PyTorch 1.13 (its CPU autocast leaves them in float32).
 * One difference from PyTorch, chosen and measured (see ARCHITECTURE.md): the products
 * **return float32 tensors holding the bfloat16-rounded values**, not bfloat16 tensors, so
 * the ops after them keep kiln's native FP32 kernels (bfloat16 elementwise ops convert in
 * TypeScript). Master weights stay FP32; the rounding is recorded by autograd like PyTorch's
 * cast: its backward rounds the incoming gradient to bfloat16 (PyTorch's product backward runs
 * in bfloat16 too) and hands it to the FP32 leaf, so weights receive FP32 gradients.
 *
 * The products themselves, forward and backward, run the GEMM in bfloat16 compute
 * (GemmPrecision 'bfloat16': productGemmPrecision below): on a CPU with AVX512-BF16 the FP32
 * operands, bfloat16 values already, are packed as bfloat16 for the vdpbf16ps kernel with FP32
 * accumulation; elsewhere the FP32 GEMM runs on them as before. The choice is read when the op
 * runs and passed to the native call as an argument (and kept by the op's backward), so it
 * travels with the kernel to the thread that runs it, kiln.async's included.
 */
import { record } from './autograd/engine.js';
import { getBackend } from './backend/index.js';
import { allocateOutput } from './dtype.js';
import type { GemmPrecision } from './backend/backend.js';
import { DTypeError } from './errors.js';
import { Tensor } from './tensor.js';
import { checkArgs } from './validate.js';

/** The dtypes autocast can lower to on the CPU (PyTorch 1.13's CPU autocast: bfloat16 only). */
export type AutocastDType = 'bfloat16';

/** Options of autocast. */
export interface AutocastOptions {
  /** false runs fn with autocast off (also inside an enabled scope), as PyTorch's `enabled=False`. Default true. */
  enabled?: boolean;
}

/**
 * The open scopes, innermost last; an async scope stays until its promise settles. `product`
 * marks the scope lowerPrecision opens around one product (autocast off, bfloat16 GEMMs on).
 */
const scopes: { enabled: boolean; product: boolean }[] = [];

/**
 * True while ops run under an enabled autocast scope.
 *
 * Example: `autocast('bfloat16', () => isAutocastEnabled())` → true; `isAutocastEnabled()` → false.
 */
export function isAutocastEnabled(): boolean {
  return scopes.length > 0 && scopes[scopes.length - 1].enabled;
}

/**
 * Runs `fn` with the products (matmul, bmm, baddbmm, linear, conv1d, conv2d) in bfloat16 with
 * FP32 accumulation, and restores the previous mode after, even when `fn` throws. An async
 * `fn` keeps the scope open until its promise settles (kiln has no per-task context: other
 * code that runs on the event loop meanwhile sees the scope too). Scopes nest; the innermost
 * decides. Products return float32 tensors holding bfloat16-rounded values (PyTorch returns
 * bfloat16 tensors; see the module comment); gradients reach FP32 weights in FP32.
 *
 * Args: dtype: 'bfloat16' ('float16' throws: PyTorch 1.13's CPU autocast supports bfloat16
 * only); fn; options.enabled (default true).
 *
 * Shape: whatever fn returns.
 *
 * @example
 * ```ts
 * const logits = autocast('bfloat16', () => model.forward(x)); // products in bfloat16
 * const loss = F.crossEntropy(logits, y); // FP32
 * loss.backward(); // FP32 gradients on the FP32 weights
 * ```
 */
export function autocast<T>(dtype: AutocastDType, fn: () => T, options: AutocastOptions = {}): T {
  checkArgs('autocast', [['fn', fn, 'function']]);
  if (dtype !== 'bfloat16') {
    throw new DTypeError(
      `autocast: the CPU autocast dtype must be 'bfloat16', got ${JSON.stringify(dtype)} (PyTorch 1.13's CPU autocast supports only torch.bfloat16; float16 autocast needs CUDA)`,
    );
  }
  const enabled = options?.enabled ?? true;
  if (typeof enabled !== 'boolean') throw new TypeError(`autocast: options.enabled must be a boolean, got ${typeof enabled}`);
  return withScope(enabled, fn);
}

/** Runs fn in a scope of its own (closed when fn returns, throws, or its promise settles). */
function withScope<T>(enabled: boolean, fn: () => T, product = false): T {
  const scope = { enabled, product };
  scopes.push(scope);
  const close = (): void => {
    const at = scopes.lastIndexOf(scope);
    if (at >= 0) scopes.splice(at, 1);
  };
  let result: T;
  try {
    result = fn();
  } catch (error) {
    close();
    throw error;
  }
  if (result instanceof Promise) return result.finally(close) as T;
  close();
  return result;
}

/** A product's operands: autocast lowers them when each is float32, bfloat16 or absent. */
type Operands = readonly (Tensor | null)[];

/**
 * Under an enabled autocast scope, when every operand is float32 or bfloat16 (or null): the
 * product `run` of the operands rounded to bfloat16 (run with autocast off), rounded to
 * bfloat16 (float32 dtype). Otherwise null: the caller computes as usual.
 *
 * Example: `lowerPrecision([a, b], ([x, y]) => matmul(x!, y!))` inside `autocast`.
 *
 * @internal
 */
export function lowerPrecision(operands: Operands, run: (rounded: (Tensor | null)[]) => Tensor): Tensor | null {
  if (!isAutocastEnabled() || !operands.every((x) => x === null || x.dtype === 'float32' || x.dtype === 'bfloat16')) return null;
  return roundToBFloat16(withScope(false, () => run(operands.map((x) => (x === null ? null : roundToBFloat16(x)))), true));
}

/**
 * The GEMM precision of a product op that runs now: 'bfloat16' while lowerPrecision runs an
 * autocast product (its operands rounded to bfloat16 already), else 'float32'. A product reads
 * it once, passes it to the backend, and keeps it for its backward, which runs after the scope
 * has closed.
 *
 * Example: inside `autocast('bfloat16', () => matmul(a, b))` matmul's GEMM sees 'bfloat16'.
 *
 * @internal
 */
export function productGemmPrecision(): GemmPrecision {
  return scopes.length > 0 && scopes[scopes.length - 1].product ? 'bfloat16' : 'float32';
}

/**
 * x rounded to the nearest bfloat16 (ties to even), as a float32 tensor; bfloat16 x is widened
 * (exact). Differentiable as PyTorch's cast to bfloat16 and back: the gradient is rounded to
 * bfloat16 on its way to x.
 *
 * Example: `roundToBFloat16(tensor([1.00390625])).item()` → 1 (the tie rounds to even).
 *
 * @internal
 */
export function roundToBFloat16(x: Tensor): Tensor {
  if (x.dtype === 'bfloat16') return x.float();
  if (x.dtype !== 'float32') throw new DTypeError(`autocast: only float32 values are rounded to bfloat16, got ${x.dtype} ${JSON.stringify(x.shape)}`);
  const dense = x.contiguous();
  const source = (dense.storage as Float32Array).subarray(dense.storageOffset, dense.storageOffset + dense.numel); // storage: a kernel's operand, also under kiln.async
  const out = allocateOutput('float32', source.length);
  getBackend().roundBFloat16(source, out);
  return record(new Tensor(out, x.shape, 'float32'), 'roundToBFloat16', [x], (g) => [roundToBFloat16(g)], []);
}
