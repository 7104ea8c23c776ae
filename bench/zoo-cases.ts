/**
 * The cases of bench suite `zoo` (issue 14's targets), shared by the suite (bench/zoo.ts), the
 * kiln runner (bench/zoo-run.ts) and, by key, the PyTorch anchor (bench/anchors/torch_zoo.py).
 */

/** One zoo benchmark: a model, a batch, and a training step or an inference pass. */
export interface ZooCase {
  /** Short name passed to the runners. */
  key: string;
  /** The row's case name. */
  name: string;
  /** The model's constructor in kiln.models with its options (torchvision's equivalent in the anchor). */
  model: 'resnet18' | 'mobilenetV2' | 'densenet121';
  options: Record<string, number | boolean>;
  /** Input (N, C, H, W). */
  input: [number, number, number, number];
  /** 'train': forward, cross-entropy, backward and an SGD (momentum 0.9) step; 'infer': eval-mode forward without autograd. */
  mode: 'train' | 'infer';
  /** Issue 14's target: kiln at least this many times faster than PyTorch's best thread count. */
  target: number;
}

export const ZOO_CASES: readonly ZooCase[] = [
  {
    key: 'resnet18-train',
    name: 'ResNet-18 (smallInput, 10 classes) train step, batch 64, 32×32',
    model: 'resnet18',
    options: { numClasses: 10, smallInput: true },
    input: [64, 3, 32, 32],
    mode: 'train',
    target: 1.5,
  },
  {
    key: 'mobilenetv2-infer',
    name: 'MobileNet-v2 inference, batch 1, 224×224',
    model: 'mobilenetV2',
    options: {},
    input: [1, 3, 224, 224],
    mode: 'infer',
    target: 1.5,
  },
  {
    key: 'densenet121-infer',
    name: 'DenseNet-121 inference, batch 8, 224×224',
    model: 'densenet121',
    options: {},
    input: [8, 3, 224, 224],
    mode: 'infer',
    target: 1.2,
  },
];

/**
 * The cases whose key or name contains one of the comma-separated words of `wanted` (default
 * KILN_BENCH_CASES; all when unset). Throws naming a word that matches nothing.
 */
export function selectedZooCases(wanted = process.env.KILN_BENCH_CASES): ZooCase[] {
  if (wanted === undefined || wanted.trim() === '') return [...ZOO_CASES];
  const words = wanted.split(',').map((w) => w.trim()).filter((w) => w !== '');
  const matches = (c: ZooCase, w: string): boolean => c.key.includes(w) || c.name.includes(w);
  const unknown = words.filter((w) => !ZOO_CASES.some((c) => matches(c, w)));
  if (unknown.length > 0) throw new Error(`KILN_BENCH_CASES: no zoo case contains ${unknown.join(', ')}; cases are ${ZOO_CASES.map((c) => c.key).join(', ')}`);
  return ZOO_CASES.filter((c) => words.some((w) => matches(c, w)));
}
