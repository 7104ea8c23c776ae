/**
 * Anomaly mode, as PyTorch's torch.autograd.detect_anomaly: while it is on, every
 * differentiable op checks its output for NaN/±Infinity, every backward step checks the
 * gradients it returns, and each recorded op keeps the call site of its forward, so the first
 * op that produces a non-finite value raises an AnomalyError naming the op, its inputs' shapes
 * and where its forward was called. Off by default: the checks read every value.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AutogradError } from '../errors.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';

let anomalyEnabled = false;
/** Nesting depth of backward passes: the ops a backward function runs are checked as its result, not one by one. */
let backwardDepth = 0;

/**
 * A NaN or ±Infinity produced while anomaly mode was on. `op` names the op, `phase` says
 * whether its forward or its backward produced the value.
 *
 * Example:
 * ```ts
 * try { autograd.detectAnomaly(() => tensor([-1]).log().sqrt()); }
 * catch (e) { if (e instanceof autograd.AnomalyError) console.log(e.op, e.phase); }
 * ```
 */
export class AnomalyError extends AutogradError {
  override name = 'AnomalyError';
  /** Args: message; the op's name; 'forward' or 'backward'. */
  constructor(
    message: string,
    readonly op: string,
    readonly phase: 'forward' | 'backward',
  ) {
    super(message);
  }
}

/**
 * Turns anomaly mode on or off for the whole process (PyTorch's set_detect_anomaly).
 *
 * Args: enabled - true to check every op's values (slow: meant for debugging).
 *
 * Example: `autograd.setDetectAnomaly(true); loss.backward(); autograd.setDetectAnomaly(false);`
 */
export function setDetectAnomaly(enabled: boolean): void {
  anomalyEnabled = enabled;
}

/**
 * Whether anomaly mode is on.
 *
 * Example: `if (autograd.isAnomalyEnabled()) console.log('checking every op');`
 */
export function isAnomalyEnabled(): boolean {
  return anomalyEnabled;
}

/**
 * Runs `fn` with anomaly mode on and restores the previous mode when it returns, throws, or
 * (for an async fn) when its promise settles.
 *
 * Args: fn - the code to check, e.g. one training step.
 *
 * Example:
 * ```ts
 * autograd.detectAnomaly(() => {
 *   const loss = model.forward(x).sub(y).pow(2).mean();
 *   loss.backward(); // throws an AnomalyError naming the first op that made a NaN
 * });
 * ```
 */
export function detectAnomaly<T>(fn: () => T): T {
  const previous = anomalyEnabled;
  anomalyEnabled = true;
  let result: T;
  try {
    result = fn();
  } catch (error) {
    anomalyEnabled = previous;
    throw error;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      anomalyEnabled = previous;
    }) as T;
  }
  anomalyEnabled = previous;
  return result;
}

/** Runs one backward pass (engine.ts); while it runs, forward checks are off (checkBackward covers its ops). */
export function duringBackward<T>(fn: () => T): T {
  backwardDepth++;
  try {
    return fn();
  } finally {
    backwardDepth--;
  }
}

/**
 * The first NaN (and, unless nanOnly, ±Infinity) of a float tensor and its index, or null
 * (integer and bool tensors have none).
 */
function firstNonFinite(t: Tensor, nanOnly = false): { index: number; value: string } | null {
  const data = t.data;
  if (data instanceof Float32Array || data instanceof Float64Array) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (nanOnly ? Number.isNaN(v) : !Number.isFinite(v)) return { index: i, value: String(v) };
    }
    return null;
  }
  if (t.dtype !== 'float16' && t.dtype !== 'bfloat16') return null;
  // Half types keep their bit patterns: an all-ones exponent is Inf (zero mantissa) or NaN.
  const [exponentMask, mantissaMask] = t.dtype === 'float16' ? [0x7c00, 0x03ff] : [0x7f80, 0x007f];
  const bits = data as Uint16Array;
  for (let i = 0; i < bits.length; i++) {
    if ((bits[i] & exponentMask) !== exponentMask) continue;
    const isNaN = (bits[i] & mantissaMask) !== 0;
    if (isNaN || !nanOnly) return { index: i, value: isNaN ? 'NaN' : 'Infinity' };
  }
  return null;
}

/** Ops that write a value the caller chose (a -Infinity mask, say): only a NaN from them is an anomaly. */
const CALLER_VALUE_OPS = new Set(['maskedFill', 'maskedFill_', 'where', 'fill_']);

const describe = (t: Tensor | null): string => (t === null ? 'none' : `${t.dtype} ${formatShape(t.shape)}`);

/** Directory of kiln's own modules: stack frames inside it are not the user's call site. */
const KILN_LIB_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** The user's call site: the stack without Error's header and kiln's own frames (a few lines). */
export function captureCallSite(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  const outside = frames.filter((line) => !line.includes(KILN_LIB_DIR));
  return (outside.length > 0 ? outside : frames).slice(0, 6).join('\n');
}

/**
 * Throws an AnomalyError when the forward of op `name` produced a non-finite value in `out`
 * that its inputs did not already hold: a NaN from NaN-free inputs, or ±Infinity from finite
 * ones (only NaN for ops that write a caller's value, such as maskedFill with -Infinity). A
 * value passed on from the inputs is not blamed on the op. Called by record() for every
 * differentiable op while anomaly mode is on.
 */
export function checkForward(name: string, inputs: readonly Tensor[], out: Tensor): void {
  if (backwardDepth > 0) return;
  const nanOnly = CALLER_VALUE_OPS.has(name) || inputs.some((t) => firstNonFinite(t) !== null);
  if (nanOnly && inputs.some((t) => firstNonFinite(t, true) !== null)) return;
  const bad = firstNonFinite(out, nanOnly);
  if (bad === null) return;
  throw new AnomalyError(
    `detectAnomaly: the forward of '${name}' produced ${bad.value} at element ${bad.index} of its ${describe(out)} output; ` +
      `inputs: ${inputs.map(describe).join(', ')}\nforward called at:\n${captureCallSite()}`,
    name,
    'forward',
  );
}

/**
 * Throws an AnomalyError when the backward of op `name` returned a non-finite gradient.
 * `forwardSite` is where the op's forward was called (captured when it was recorded).
 */
export function checkBackward(name: string, inputs: readonly (Tensor | null)[], grads: readonly (Tensor | null)[], forwardSite: string | null): void {
  for (let i = 0; i < grads.length; i++) {
    const g = grads[i];
    if (g === null || g === undefined) continue;
    const bad = firstNonFinite(g);
    if (bad === null) continue;
    throw new AnomalyError(
      `detectAnomaly: the backward of '${name}' returned ${bad.value} at element ${bad.index} of the gradient of input ${i} (${describe(g)}); ` +
        `inputs: ${inputs.map(describe).join(', ')}\nforward called at:\n${forwardSite ?? '(recorded before anomaly mode was on)'}`,
      name,
      'backward',
    );
  }
}
