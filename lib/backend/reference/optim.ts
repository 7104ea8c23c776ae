/**
 * Reference twins of the fused optimizer kernels (native/kernels/optim.cc): the same update
 * rules, element by element, in the same order of operations. Each updates param and its
 * state buffers in place; see the matching `Backend` method for the math.
 */
import type { FloatArray } from '../../dtype.js';
import type {
  AdadeltaConfig,
  AdagradConfig,
  AdamConfig,
  AdamaxConfig,
  NadamConfig,
  RmspropConfig,
  SgdConfig,
} from '../fused-configs.js';

/** NaN-propagating max, as torch.maximum. */
const maxWithNaN = (a: number, b: number): number => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));

/** The gradient with L2 weight decay folded in (PyTorch's `grad.add(param, alpha=wd)`). */
const decayed = (g: number, p: number, weightDecay: number): number => (weightDecay !== 0 ? g + weightDecay * p : g);

export function sgdStep(param: FloatArray, grad: FloatArray, momentumBuffer: FloatArray | null, c: SgdConfig): void {
  // The options read once: c is often a spread of a parameter group (a slow dictionary object).
  const { lr, momentum, dampening, weightDecay, nesterov, firstStep } = c;
  for (let i = 0; i < param.length; i++) {
    let d = decayed(grad[i], param[i], weightDecay);
    if (momentum !== 0) {
      const buf = firstStep ? d : momentum * momentumBuffer![i] + (1 - dampening) * d;
      momentumBuffer![i] = buf;
      d = nesterov ? d + momentum * buf : buf;
    }
    param[i] -= lr * d;
  }
}

export function adagradStep(param: FloatArray, grad: FloatArray, sum: FloatArray, c: AdagradConfig): void {
  const clr = c.lr / (1 + (c.step - 1) * c.lrDecay);
  for (let i = 0; i < param.length; i++) {
    const g = decayed(grad[i], param[i], c.weightDecay);
    sum[i] += g * g;
    param[i] -= (clr * g) / (Math.sqrt(sum[i]) + c.eps);
  }
}

export function rmspropStep(
  param: FloatArray,
  grad: FloatArray,
  squareAvg: FloatArray,
  gradAvg: FloatArray | null,
  momentumBuffer: FloatArray | null,
  c: RmspropConfig,
): void {
  for (let i = 0; i < param.length; i++) {
    const g = decayed(grad[i], param[i], c.weightDecay);
    squareAvg[i] = c.alpha * squareAvg[i] + (1 - c.alpha) * g * g;
    let avg: number;
    if (c.centered) {
      gradAvg![i] = c.alpha * gradAvg![i] + (1 - c.alpha) * g;
      avg = Math.sqrt(squareAvg[i] - gradAvg![i] * gradAvg![i]) + c.eps;
    } else {
      avg = Math.sqrt(squareAvg[i]) + c.eps;
    }
    if (c.momentum > 0) {
      momentumBuffer![i] = c.momentum * momentumBuffer![i] + g / avg;
      param[i] -= c.lr * momentumBuffer![i];
    } else {
      param[i] -= (c.lr * g) / avg;
    }
  }
}

export function adadeltaStep(param: FloatArray, grad: FloatArray, squareAvg: FloatArray, accDelta: FloatArray, c: AdadeltaConfig): void {
  for (let i = 0; i < param.length; i++) {
    const g = decayed(grad[i], param[i], c.weightDecay);
    squareAvg[i] = c.rho * squareAvg[i] + (1 - c.rho) * g * g;
    const delta = (Math.sqrt(accDelta[i] + c.eps) / Math.sqrt(squareAvg[i] + c.eps)) * g;
    accDelta[i] = c.rho * accDelta[i] + (1 - c.rho) * delta * delta;
    param[i] -= c.lr * delta;
  }
}

export function adamStep(
  param: FloatArray,
  grad: FloatArray,
  expAvg: FloatArray,
  expAvgSq: FloatArray,
  maxExpAvgSq: FloatArray | null,
  c: AdamConfig,
): void {
  const stepSize = c.lr / (1 - c.beta1 ** c.step);
  const biasCorrection2Sqrt = Math.sqrt(1 - c.beta2 ** c.step);
  const shrink = c.decoupled ? 1 - c.lr * c.weightDecay : 1;
  const l2 = c.decoupled ? 0 : c.weightDecay;
  const { beta1, beta2, amsgrad, eps } = c; // read once (c may be a slow dictionary object)
  for (let i = 0; i < param.length; i++) {
    const g = decayed(grad[i], param[i], l2);
    expAvg[i] = beta1 * expAvg[i] + (1 - beta1) * g;
    expAvgSq[i] = beta2 * expAvgSq[i] + (1 - beta2) * g * g;
    let v = expAvgSq[i];
    if (amsgrad) {
      v = maxWithNaN(maxExpAvgSq![i], v);
      maxExpAvgSq![i] = v;
    }
    param[i] = param[i] * shrink - (stepSize * expAvg[i]) / (Math.sqrt(v) / biasCorrection2Sqrt + eps);
  }
}

export function nadamStep(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expAvgSq: FloatArray, c: NadamConfig): void {
  const biasCorrection2 = 1 - c.beta2 ** c.step;
  const gradCoef = (c.lr * (1 - c.mu)) / (1 - c.muProduct);
  const avgCoef = (c.lr * c.muNext) / (1 - c.muProduct * c.muNext);
  for (let i = 0; i < param.length; i++) {
    const g = decayed(grad[i], param[i], c.weightDecay);
    expAvg[i] = c.beta1 * expAvg[i] + (1 - c.beta1) * g;
    expAvgSq[i] = c.beta2 * expAvgSq[i] + (1 - c.beta2) * g * g;
    const denom = Math.sqrt(expAvgSq[i] / biasCorrection2) + c.eps;
    param[i] -= (gradCoef * g) / denom + (avgCoef * expAvg[i]) / denom;
  }
}

export function adamaxStep(param: FloatArray, grad: FloatArray, expAvg: FloatArray, expInf: FloatArray, c: AdamaxConfig): void {
  const clr = c.lr / (1 - c.beta1 ** c.step);
  for (let i = 0; i < param.length; i++) {
    const g = decayed(grad[i], param[i], c.weightDecay);
    expAvg[i] = c.beta1 * expAvg[i] + (1 - c.beta1) * g;
    expInf[i] = maxWithNaN(c.beta2 * expInf[i], Math.abs(g) + c.eps);
    param[i] -= (clr * expAvg[i]) / expInf[i];
  }
}
