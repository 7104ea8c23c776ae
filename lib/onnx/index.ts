/**
 * kiln's `onnx`: export models to ONNX files that onnxruntime runs, and load ONNX files
 * (kiln's or PyTorch's `torch.onnx.export`) as kiln Modules for inference and fine-tuning.
 *
 * Example:
 * ```ts
 * import { onnx, models, randn } from 'kiln';
 * const net = models.lenet5().eval();
 * onnx.export(net, randn([1, 1, 28, 28]), 'lenet.onnx', { dynamicAxes: { input: { 0: 'batch' }, output: { 0: 'batch' } } });
 * const loaded = onnx.load('lenet.onnx');
 * loaded.forward(randn([64, 1, 28, 28]));   // (64, 10), the same as net's
 * ```
 */
export { exportModel as export, exportToBytes, type ExportOptions } from './export.js';
export { registerExporter, type ExportContext, type ModuleExporter } from './exporters.js';
export { GraphBuilder, int, float, ints, floats, str, strs, type Attribute } from './graph-builder.js';
export { OnnxError } from './proto.js';
export { load, OnnxModule, type OnnxInput } from './import.js';
