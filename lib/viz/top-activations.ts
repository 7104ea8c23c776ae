/**
 * Maximally activating inputs of one unit over a dataset (Zeiler & Fergus 2014, Girshick et
 * al. 2014): the k samples on which a channel of a conv layer (its strongest position) or a
 * feature of a flat layer fires hardest, with the input patch that produced each activation.
 */
import { grad } from '../autograd/grad.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { Module } from '../nn/module.js';
import { cat } from '../ops/shape.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { withOutputHooks } from './activations.js';
import { VizError } from './errors.js';

/** Options of topActivations. */
export interface TopActivationsOptions {
  /** How many samples. Default 9. */
  k?: number;
  /** Samples per forward pass when `data` is one tensor. Default 64. */
  batchSize?: number;
}

/** One of the k strongest activations. */
export interface TopActivation {
  /** The sample's index in the dataset (batches counted one after another). */
  index: number;
  /** The activation: the channel's largest value over positions (conv layer) or the feature's value. */
  value: number;
  /** [row, column] of that position in the layer's output; null for a flat (N, K) layer. */
  position: [number, number] | null;
  /** [top, left, height, width] of the input region with a non-zero gradient of the activation (the whole input for a flat layer or a zero gradient). */
  box: [number, number, number, number];
  /** The input inside box, (C, height, width). */
  patch: Tensor;
}

/** The batches of `data`: slices of one tensor, or the first element of each loader batch. */
function* inputBatches(data: Tensor | Iterable<unknown>, batchSize: number): Generator<Tensor> {
  if (data instanceof Tensor) {
    for (let at = 0; at < data.shape[0]; at += batchSize) yield data.narrow(0, at, Math.min(batchSize, data.shape[0] - at));
    return;
  }
  for (const batch of data) {
    const x = Array.isArray(batch) ? batch[0] : batch;
    if (!(x instanceof Tensor)) throw new VizError(`topActivations: each batch must be an input tensor or [input, …], got ${typeof x}`);
    yield x;
  }
}

/** Per sample of a layer output (n, K, h, w) or (n, K): the unit's largest value and where. */
function unitMaxima(output: Tensor, unit: number, layer: string): { value: number; position: [number, number] | null }[] {
  if ((output.ndim !== 4 && output.ndim !== 2) || unit < 0 || unit >= output.shape[1]) {
    throw new VizError(`topActivations: layer '${layer}' gives shape ${formatShape(output.shape)}; unit ${unit} must index dim 1 of an (N, K, h, w) or (N, K) output`);
  }
  const values = output.detach().select(1, unit).contiguous().data as ArrayLike<number>; // (n, h, w) or (n)
  const [n, width] = [output.shape[0], output.ndim === 4 ? output.shape[3] : 1];
  const plane = output.ndim === 4 ? output.shape[2] * width : 1;
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let p = 1; p < plane; p++) if (values[i * plane + p] > values[i * plane + best]) best = p;
    return { value: Number(values[i * plane + best]), position: output.ndim === 4 ? [Math.floor(best / width), best % width] : null };
  });
}

/** The bounding box of the non-zero entries of a (C, H, W) gradient, or the whole image. */
function supportBox(g: Tensor): [number, number, number, number] {
  const [, h, w] = g.shape;
  const mass = g.abs().sum(0).contiguous().data as ArrayLike<number>; // (H, W)
  let [top, left, bottom, right] = [h, w, -1, -1];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (Number(mass[y * w + x]) === 0) continue;
      [top, left, bottom, right] = [Math.min(top, y), Math.min(left, x), Math.max(bottom, y), Math.max(right, x)];
    }
  }
  return bottom < 0 ? [0, 0, h, w] : [top, left, bottom - top + 1, right - left + 1];
}

/**
 * The k samples of a dataset that activate one unit of a layer most, each with the input patch
 * behind the activation: for a conv layer the unit is a channel, scored by its largest value
 * over positions, and the patch is the region of the input with a non-zero gradient of that
 * one activation (its effective receptive field: with max-pooling, only the pooled switches'
 * pixels). Runs the model in eval mode (restored afterwards); one sample per image, strongest first.
 *
 * Args: model, data (an (N, C, H, W) tensor or an iterable of batches / [input, …] batches),
 * layer (a name from model.namedModules()), unit (channel or feature index), options (k, batchSize).
 * Shape: each patch (C, h, w) with h, w ≤ H, W.
 *
 * Example:
 * ```ts
 * const top = viz.topActivations(net, testImages, '3', 5, { k: 9 }); // LeNet's second conv, channel 5
 * top.map((t) => t.index); // the 9 images it likes most
 * ```
 */
export function topActivations(model: Module, data: Tensor | Iterable<unknown>, layer: string, unit: number, options: TopActivationsOptions = {}): TopActivation[] {
  const k = options.k ?? 9;
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(k) || k < 1) throw new VizError(`topActivations: k must be an integer ≥ 1, got ${k}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new VizError(`topActivations: batchSize must be an integer ≥ 1, got ${batchSize}`);
  if (!Number.isInteger(unit)) throw new VizError(`topActivations: unit must be an integer, got ${unit}`);
  const wasTraining = model.training;
  model.eval();
  try {
    const best = strongest(model, data, layer, unit, k, batchSize);
    return best.length === 0 ? [] : withPatches(model, layer, unit, best);
  } finally {
    model.train(wasTraining);
  }
}

type Candidate = { index: number; value: number; position: [number, number] | null; input: Tensor };

/** One no-grad pass over the data keeping the k strongest samples (and their inputs). */
function strongest(model: Module, data: Tensor | Iterable<unknown>, layer: string, unit: number, k: number, batchSize: number): Candidate[] {
  let kept: Candidate[] = [];
  let offset = 0;
  for (const x of inputBatches(data, batchSize)) {
    let output: Tensor | null = null;
    noGrad(() => withOutputHooks(model, [layer], 'topActivations', (_n, out) => void (output = out), () => model.forward(x)));
    if (output === null) throw new VizError(`topActivations: layer '${layer}' did not run in the model's forward`);
    const maxima = unitMaxima(output, unit, layer);
    const candidates = maxima.map((m, i) => ({ ...m, index: offset + i, i })).filter((m) => kept.length < k || m.value > kept[kept.length - 1].value);
    kept = [...kept, ...candidates.map((m) => ({ index: m.index, value: m.value, position: m.position, input: x.select(0, m.i).detach().clone() }))]
      .sort((a, b) => b.value - a.value || a.index - b.index)
      .slice(0, k);
    offset += x.shape[0];
  }
  return kept;
}

/** One backward of Σ_i (the kept activation of sample i) through the kept inputs gives every patch. */
function withPatches(model: Module, layer: string, unit: number, kept: Candidate[]): TopActivation[] {
  const x = cat(kept.map((c) => c.input.unsqueeze(0)), 0).requiresGrad_();
  let output: Tensor | null = null;
  withOutputHooks(model, [layer], 'topActivations', (_n, out) => void (output = out), () => model.forward(x));
  const out = output as unknown as Tensor;
  const picked = kept.map((c, i) => (c.position === null ? out.select(0, i).select(0, unit) : out.select(0, i).select(0, unit).select(0, c.position[0]).select(0, c.position[1])));
  const [g] = grad(picked.reduce((a, b) => a.add(b)), x);
  return kept.map((c, i) => {
    const box: [number, number, number, number] = c.input.ndim === 3 && c.position !== null ? supportBox(g.select(0, i)) : [0, 0, c.input.shape.at(-2) ?? 1, c.input.shape.at(-1) ?? 1];
    const patch = c.input.ndim === 3 ? c.input.narrow(1, box[0], box[2]).narrow(2, box[1], box[3]).contiguous() : c.input;
    return { index: c.index, value: c.value, position: c.position, box, patch };
  });
}
