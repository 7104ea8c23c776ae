/**
 * Attention modules: score functions (additive, dot/scaled/general with local attention,
 * cosine), multi-head attention, the Transformer, positional encodings and 2-D self-attention.
 */
export {
  AttentionScore,
  AdditiveAttention,
  DotAttention,
  CosineAttention,
  type AttentionOutput,
  type AttentionCallOptions,
  type AdditiveAttentionOptions,
  type DotAttentionOptions,
  type LocalAttentionOptions,
  type CosineAttentionOptions,
} from './scores.js';
export { MultiheadAttention, type MultiheadAttentionOptions, type MultiheadAttentionCallOptions } from './multihead.js';
export {
  TransformerEncoderLayer,
  TransformerDecoderLayer,
  TransformerEncoder,
  TransformerDecoder,
  Transformer,
  type TransformerActivation,
  type TransformerLayerOptions,
  type TransformerOptions,
  type EncoderCallOptions,
  type DecoderCallOptions,
  type TransformerCallOptions,
} from './transformer.js';
export { PositionalEncoding, LearnedPositionalEmbedding, type PositionalOptions } from './positional.js';
export { SelfAttention2d, type SelfAttention2dOptions } from './self-attention-2d.js';
