/**
 * kiln's `nn`: modules (layers with registered parameters, buffers and submodules), containers,
 * initializers (`nn.init`) and losses, with PyTorch's names, defaults and stateDict layouts.
 *
 * Example:
 * ```ts
 * import { nn, randn } from 'kiln';
 * const model = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2));
 * const y = model.forward(randn([3, 4]));   // (3, 2)
 * ```
 */
export { type NamePattern, nameMatcher } from './freeze.js';
export { Module, Parameter, StateDictError, type LoadStateDictResult, type BufferEntry } from './module.js';
export type { ForwardPreHook, ForwardHook, FullBackwardHook, ModuleHooks } from './hooks.js';
export { Sequential, ModuleList, ModuleDict } from './containers.js';
export { deepCopy } from './copy.js';
export { Identity, Linear, Bilinear, Flatten, Unflatten, Embedding, type LinearOptions, type EmbeddingOptions } from './layers/linear.js';
export {
  Sigmoid,
  Tanh,
  ReLU,
  ReLU6,
  LeakyReLU,
  PReLU,
  ELU,
  SELU,
  GELU,
  SiLU,
  Swish,
  Softplus,
  Softsign,
  Hardtanh,
  Maxout,
  Softmax,
  LogSoftmax,
} from './layers/activation.js';
export { Dropout, Dropout2d, AlphaDropout, DropConnect, type DropoutOptions, type DropConnectOptions } from './layers/dropout.js';
export {
  BatchNorm1d,
  BatchNorm2d,
  InstanceNorm2d,
  LayerNorm,
  GroupNorm,
  type BatchNormOptions,
  type LayerNormOptions,
  type GroupNormOptions,
} from './layers/normalization.js';
export {
  ConstantPad1d,
  ConstantPad2d,
  ZeroPad1d,
  ZeroPad2d,
  ReflectionPad1d,
  ReflectionPad2d,
  ReplicationPad1d,
  ReplicationPad2d,
  Upsample,
  Unfold,
  Fold,
  CosineSimilarity,
  PairwiseDistance,
  type PaddingSize,
  type UpsampleOptions,
} from './layers/resize.js';
export {
  RNN,
  LSTM,
  GRU,
  RNNCell,
  LSTMCell,
  GRUCell,
  RNNBase,
  RNNCellBase,
  type RnnOptions,
  type ElmanRnnOptions,
  type RnnCellOptions,
  type RecurrentState,
  type RecurrentOutput,
} from './rnn.js';
export {
  greedySearch,
  beamSearch,
  sample,
  type NextToken,
  type SequenceStart,
  type GenerateOptions,
  type SampleOptions,
  type BeamSearchOptions,
  type Hypothesis,
} from './sampling.js';
export * as init from './init.js';
export * from './attention/index.js';
export {
  Conv1d,
  Conv2d,
  ConvTranspose2d,
  type ConvLayerOptions,
  type Conv1dLayerOptions,
  type Conv2dLayerOptions,
  type ConvTranspose2dLayerOptions,
} from './conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './pooling.js';
export {
  CrossEntropyLoss,
  NLLLoss,
  BCELoss,
  BCEWithLogitsLoss,
  MSELoss,
  L1Loss,
  SmoothL1Loss,
  HuberLoss,
  HingeLoss,
  SquaredHingeLoss,
  MultiMarginLoss,
  MultiClassHingeLoss,
  KLDivLoss,
  CosineEmbeddingLoss,
  DiceLoss,
  type Reduction,
} from './losses.js';
export { BasicBlock, Bottleneck, projectionShortcut, type ResidualBlockOptions } from './blocks/residual.js';
export { SqueezeExcitation } from './blocks/squeeze-excitation.js';
export { StochasticDepth, linearDropProbability, type StochasticDepthMode } from './blocks/stochastic-depth.js';
export { Fire } from './blocks/fire.js';
export { InvertedResidual, convBnReLU6 } from './blocks/inverted-residual.js';
export { PreActBlock } from './blocks/preact.js';
export { summary, ModelSummary, type LayerSummary } from './summary.js';
export { DenseLayer, DenseBlock, Transition } from './blocks/dense.js';
export { BasicConv2d, InceptionModule, InceptionAux } from './blocks/inception.js';
