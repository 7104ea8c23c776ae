/**
 * kiln's `optim` (torch.optim): optimizers with parameter groups and fused native update
 * kernels, learning-rate schedules, gradient clipping, penalties and weight constraints.
 *
 * Example:
 * ```ts
 * import { optim } from 'kiln';
 * const opt = new optim.AdamW(model.parameters(), { lr: 1e-3 });
 * const sched = new optim.CosineAnnealingLR(opt, { TMax: 50 });
 * loss.backward(); optim.clipGradNorm_(model.parameters(), 1.0); opt.step(); opt.zeroGrad(); sched.step();
 * ```
 */
export {
  Optimizer,
  OptimizerError,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
  type Params,
  type RegularizationOptions,
} from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adagrad, type AdagradOptions } from './adagrad.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { Adadelta, type AdadeltaOptions } from './adadelta.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { NAdam, type NAdamOptions } from './nadam.js';
export { Adamax, type AdamaxOptions } from './adamax.js';
export * from './schedulers.js';
export { clipGradNorm_, clipGradValue_, type TensorOrTensors } from './clip.js';
export { l1Penalty, l2Penalty, elasticNetPenalty } from './regularization.js';
export { applyMaxNorm, applyUnitNorm } from './constraints.js';
