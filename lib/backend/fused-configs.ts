/**
 * The scalar arguments of the fused loss and optimizer kernels of the `Backend` (see
 * backend.ts): one plain object per kernel, with PyTorch's hyperparameter names in camelCase.
 * The native backend unpacks them into positional arguments of the addon (native/bindings/
 * loss.cc, optim.cc); the reference backend reads them directly.
 */

/**
 * Softmax cross-entropy over logits seen as (outer, n, inner), n classes on the middle axis;
 * targets are class indices, one per (outer, inner) position.
 */
export interface CrossEntropyConfig {
  outer: number;
  /** Number of classes (≥ 1). */
  n: number;
  inner: number;
  /** Targets equal to this contribute 0 loss and 0 gradient (PyTorch default −100). */
  ignoreIndex: number;
  /** ε in [0, 1]: the target distribution is (1 − ε)·onehot + ε/n. */
  labelSmoothing: number;
}

/** SGD: see `Backend.sgdStep`. */
export interface SgdConfig {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** True on the parameter's first step with momentum: the buffer is set to the gradient. */
  firstStep: boolean;
}

/** Adagrad: see `Backend.adagradStep`. */
export interface AdagradConfig {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  eps: number;
  /** The step count, this step included (≥ 1). */
  step: number;
}

/** RMSprop: see `Backend.rmspropStep`. */
export interface RmspropConfig {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

/** Adadelta: see `Backend.adadeltaStep`. */
export interface AdadeltaConfig {
  lr: number;
  rho: number;
  eps: number;
  weightDecay: number;
}

/** Adam, AMSGrad (amsgrad) and AdamW (decoupled): see `Backend.adamStep`. */
export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The step count, this step included (≥ 1). */
  step: number;
  amsgrad: boolean;
  /** AdamW: decay the parameter by lr·weightDecay instead of adding weightDecay·param to the gradient. */
  decoupled: boolean;
}

/** NAdam: see `Backend.nadamStep`. mu, muNext and muProduct come from the optimizer's momentum schedule. */
export interface NadamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
  /** β1·(1 − ½·0.96^(step·momentumDecay)). */
  mu: number;
  /** The same for step + 1. */
  muNext: number;
  /** μ_1·…·μ_step, this step included. */
  muProduct: number;
}

/** Adamax: see `Backend.adamaxStep`. */
export interface AdamaxConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}
