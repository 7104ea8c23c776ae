/**
 * kiln.models: ready-made architectures from the lecture, built from kiln.nn modules with
 * PyTorch-compatible parameter names.
 *
 * Example: `const net = models.lenet5({ numClasses: 10 });`
 */
export { lenet5, type LeNet5Options } from './lenet.js';
