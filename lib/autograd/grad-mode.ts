/**
 * Whether ops record the autograd graph. On by default; `noGrad(fn)` turns it off for the
 * duration of `fn` (evaluation, optimizer updates), as `torch.no_grad()` does.
 */
import { checkArgs } from '../validate.js';

let gradEnabled = true;

/**
 * True while ops record the graph for backward.
 *
 * Example: `isGradEnabled()` → true; `noGrad(() => isGradEnabled())` → false.
 */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` with graph recording switched to `enabled`, restoring the previous mode after,
 * even when `fn` throws.
 */
export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  if (typeof fn !== 'function') checkArgs(enabled ? 'enableGrad' : 'noGrad', [['fn', fn, 'function']]);
  const previous = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Runs `fn` without recording the autograd graph: results of ops inside have
 * `requiresGrad === false`.
 *
 * Example:
 * ```ts
 * const y = noGrad(() => model(x)); // inference, no graph kept
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/**
 * Runs `fn` with graph recording on, even inside `noGrad`.
 *
 * Example: `noGrad(() => enableGrad(() => randn([2], { requiresGrad: true }).mul(2))).requiresGrad` → true.
 */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
