/**
 * The cases of bench suite `attention`, shared by the suite (bench/attention.ts), kiln's child
 * runner (bench/attention-run.ts) and the PyTorch anchor (bench/anchors/torch_attention.py,
 * which receives a case as JSON). Add `mha` and `encoder` cases here with a runner of their
 * kind in attention-run.ts and torch_attention.py.
 */

/** One benchmark case: its name (contains the kind and `fwd` or `fwd+bwd`), kind and sizes. */
export interface AttentionCase {
  name: string;
  kind: 'sdpa' | 'mha' | 'encoder';
  /** Also time the backward pass. */
  backward: boolean;
  batch: number;
  heads: number;
  L: number;
  headDim: number;
  causal: boolean;
  /** encoder: the feed-forward block's hidden size. */
  ff?: number;
}

export const ATTENTION_CASES: AttentionCase[] = [
  { name: 'sdpa causal B4 H8 L2048 D64 fwd', kind: 'sdpa', backward: false, batch: 4, heads: 8, L: 2048, headDim: 64, causal: true },
  { name: 'sdpa causal B4 H8 L2048 D64 fwd+bwd', kind: 'sdpa', backward: true, batch: 4, heads: 8, L: 2048, headDim: 64, causal: true },
  // MultiheadAttention self-attention (batchFirst, E = heads·headDim = 256, needWeights false: the fused path).
  { name: 'mha self B32 L128 E256 H8 fwd', kind: 'mha', backward: false, batch: 32, heads: 8, L: 128, headDim: 32, causal: false },
  { name: 'mha self B32 L128 E256 H8 fwd+bwd', kind: 'mha', backward: true, batch: 32, heads: 8, L: 128, headDim: 32, causal: false },
  // TransformerEncoderLayer(256, 8, dimFeedforward 1024, batchFirst), training mode with PyTorch's default dropout 0.1.
  { name: 'encoder layer B32 L128 E256 H8 FF1024 fwd+bwd', kind: 'encoder', backward: true, batch: 32, heads: 8, L: 128, headDim: 32, causal: false, ff: 1024 },
];

/**
 * The cases to run: all, or those whose name contains one of the comma-separated words of
 * `wanted` (default: the environment variable KILN_BENCH_CASES); a word that matches no case
 * is an error naming the cases.
 * Example: `KILN_BENCH_CASES='mha self B32 L128 E256 H8 fwd+bwd,encoder' npm run bench -- attention`.
 */
export function selectedAttentionCases(wanted = process.env.KILN_BENCH_CASES): AttentionCase[] {
  const words = (wanted ?? '').split(',').map((word) => word.trim()).filter((word) => word !== '');
  if (words.length === 0) return ATTENTION_CASES;
  const unknown = words.filter((word) => !ATTENTION_CASES.some((c) => c.name.includes(word)));
  if (unknown.length > 0) throw new Error(`KILN_BENCH_CASES: no attention case contains ${unknown.join(', ')}; cases are ${ATTENTION_CASES.map((c) => c.name).join('; ')}`);
  return ATTENTION_CASES.filter((c) => words.some((word) => c.name.includes(word)));
}
