/**
 * ReLU's backward pass as one kernel (kiln-internal, not exported from the package): used by
 * relu's own backward and by the viz ReLU rules (guided backprop, deconvnet's ordinary twin).
 */
import { getBackend } from '../backend/index.js';
import { allocateOutput, type FloatArray } from '../dtype.js';
import { record } from '../autograd/engine.js';
import { Tensor } from '../tensor.js';

/**
 * g where input > 0, else 0 (also where g is NaN or ±Infinity, as PyTorch's
 * threshold_backward), in one pass. Linear in g, so its own gradient is the same mask applied
 * to the incoming gradient (double backward works).
 *
 * Args: g and input, float tensors of one shape and dtype (made contiguous here).
 * Shape: (*) and (*) → (*).
 *
 * Example: `reluGrad(tensor([1, 2, NaN]), tensor([-1, 3, 0]))` → [0, 2, 0].
 */
export function reluGrad(g: Tensor, input: Tensor): Tensor {
  const [gc, xc] = [g.contiguous(), input.contiguous()];
  const out = allocateOutput(gc.dtype, gc.numel) as FloatArray;
  getBackend().reluBackward(gc.data as FloatArray, xc.data as FloatArray, out);
  return record(new Tensor(out, gc.shape, gc.dtype), 'reluBackward', [gc], (gg) => [reluGrad(gg, xc)]);
}
