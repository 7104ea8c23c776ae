/**
 * int8 quantization for inference (PyTorch's torch.ao.quantization, dynamic mode on x86):
 * `quantizeDynamic(model)` and the DynamicQuantizedLinear layer it installs. See
 * docs/ARCHITECTURE.md, "int8 dynamic quantization".
 */
export { quantizeDynamic, type QuantizeDynamicOptions, type QuantizableSpec } from './quantize-dynamic.js';
export { DynamicQuantizedLinear } from './dynamic-linear.js';
export type { WeightQScheme } from './weights.js';
