/**
 * The `autograd` namespace, as PyTorch's torch.autograd: custom ops (Function), gradients
 * returned instead of accumulated (grad), gradient checking and grad-mode control.
 *
 * Example:
 * ```ts
 * import { autograd, randn } from 'kiln';
 * const x = randn([3], { requiresGrad: true });
 * const [gx] = autograd.grad(x.pow(3).sum(), x); // 3x²
 * ```
 */
export { Function, FunctionCtx, type FunctionClass } from './function.js';
export { grad, type GradOptions } from './grad.js';
export { gradcheck, GradcheckError, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
export { noGrad, enableGrad, isGradEnabled } from './grad-mode.js';
export { GradNode, type BackwardOptions } from './engine.js';
export { RemovableHandle } from './hooks.js';
export { AnomalyError, detectAnomaly, setDetectAnomaly, isAnomalyEnabled } from './anomaly.js';
