/**
 * int8 quantization for inference (PyTorch's torch.ao.quantization, dynamic mode on x86):
 * `quantizeDynamic(model)` and the DynamicQuantizedLinear and DynamicQuantizedLSTM layers it installs. See
 * docs/ARCHITECTURE.md, "int8 dynamic quantization".
 *
 * Example:
 * ```ts
 * import { noGrad, quantization } from 'kiln';
 * const qmodel = quantization.quantizeDynamic(model);          // nn.Linear and nn.LSTM layers → int8
 * const logits = noGrad(() => qmodel.forward(images));
 * ```
 */
export { quantizeDynamic, type QuantizeDynamicOptions, type QuantizableSpec } from './quantize-dynamic.js';
export { DynamicQuantizedLinear } from './dynamic-linear.js';
export { DynamicQuantizedLSTM, type DynamicQuantizedLstmOptions, type QuantizedLstmWeights } from './dynamic-lstm.js';
export type { QuantizedBuffers } from './int8-gemm.js';
export type { WeightQScheme } from './weights.js';
