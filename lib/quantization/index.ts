/**
 * int8 quantization for inference (PyTorch's torch.ao.quantization, dynamic mode on x86):
 * `quantizeDynamic(model)` and the DynamicQuantizedLinear layer it installs. See
 * docs/ARCHITECTURE.md, "int8 dynamic quantization".
 *
 * Example:
 * ```ts
 * import { noGrad, quantization } from 'kiln';
 * const qmodel = quantization.quantizeDynamic(model);          // nn.Linear layers → int8
 * const logits = noGrad(() => qmodel.forward(images));
 * ```
 */
export { quantizeDynamic, type QuantizeDynamicOptions, type QuantizableSpec } from './quantize-dynamic.js';
export { DynamicQuantizedLinear } from './dynamic-linear.js';
export type { WeightQScheme } from './weights.js';
