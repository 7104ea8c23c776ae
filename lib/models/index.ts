/**
 * kiln.models: ready-made architectures from the lecture, built from kiln.nn modules with
 * PyTorch-compatible parameter names.
 *
 * Example: `const net = models.lenet5({ numClasses: 10 });`
 */
export { lenet5, type LeNet5Options } from './lenet.js';
export {
  ResNet,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  wideResnet50_2,
  resnext50_32x4d,
  seResnet18,
  seResnet50,
  type ResNetOptions,
} from './resnet.js';
export { replaceHead, headName } from './heads.js';
export { SqueezeNet, squeezenet1_1, type SqueezeNetOptions } from './squeezenet.js';
export { MobileNetV2, mobilenetV2, type MobileNetV2Options } from './mobilenet.js';
export { LeNet5Classic, lenet5Classic, Subsampling, PartiallyConnectedC3, C3_CONNECTIONS, type LeNet5ClassicOptions } from './lenet-classic.js';
export { VGG, vgg11, vgg11Bn, vgg16, vgg16Bn, type VGGOptions } from './vgg.js';
export { AlexNet, alexnet, type AlexNetOptions } from './alexnet.js';
export { MobileNetV1, DepthwiseSeparable, mobilenetV1, type MobileNetV1Options } from './mobilenet-v1.js';
export { PreActResNet, preactResnet18, type PreActResNetOptions } from './preact-resnet.js';
export { DenseNet, densenet121, type DenseNetOptions } from './densenet.js';
export { GoogLeNet, googlenet, transformImagenetInput, type GoogLeNetOptions, type GoogLeNetOutputs } from './googlenet.js';
export { InceptionV3, inceptionV3, type InceptionV3Options, type InceptionV3Outputs } from './inception-v3.js';
export { NiN, nin, mlpconv, type NiNOptions } from './nin.js';
