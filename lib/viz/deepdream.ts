/**
 * DeepDream (Mordvintsev et al. 2015): gradient ascent on an image to amplify what a layer
 * already sees, over a pyramid of octaves, with jitter and normalised gradient steps.
 */
import { grad } from '../autograd/grad.js';
import { noGrad } from '../autograd/grad-mode.js';
import { writePng } from '../data/png.js';
import type { Module } from '../nn/module.js';
import { randint } from '../ops/creation.js';
import type { Generator } from '../random.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { withOutputHooks } from './activations.js';
import { VizError } from './errors.js';
import { resizeBilinear } from './resize.js';

/** Options of deepDream. */
export interface DeepDreamOptions {
  /** The layer to amplify (a name from namedModules()). Required. */
  layer: string;
  /** Pyramid levels (1 = the input size only). Default 3. */
  octaves?: number;
  /** Size ratio between successive octaves. Default 1.4. */
  octaveScale?: number;
  /** Ascent steps per octave. Default 10. */
  steps?: number;
  /** Step size of the normalised gradient (g / mean|g|). Default 0.01. */
  lr?: number;
  /** Random shift of up to ±jitter pixels (wrapping) at each step. Default 2. */
  jitter?: number;
  /** Valid pixel range; the dream is clamped to it after each step. Default [0, 1]; null for none. */
  clamp?: readonly [number, number] | null;
  /** Random stream of the jitter. Default: the global generator. */
  generator?: Generator;
  /** When given, the dream (first image) is also written there as a PNG (values clamped to [0, 1]). */
  path?: string;
}

/**
 * Amplifies a layer's response: at each octave (smallest first) the image plus the detail
 * found so far takes `steps` ascent steps on mean(A²)/2 of the layer's output A, each step
 * x ← x + lr · g / mean|g| on a jittered copy; the detail is carried up to the next octave.
 * The forward pass stops at the layer, so only the layers up to it must accept every octave's size.
 *
 * Args: model, image (N, C, H, W) float, options (layer, octaves, octaveScale, steps, lr,
 * jitter, clamp, generator, path).
 * Shape: image's shape.
 *
 * Example: `viz.deepDream(net, x.narrow(0, 0, 1), { layer: '4', octaves: 2, path: 'out/dream.png' })`
 */
export function deepDream(model: Module, image: Tensor, options: DeepDreamOptions): Tensor {
  const op = 'deepDream';
  if (!(image instanceof Tensor) || image.ndim !== 4 || (image.dtype !== 'float32' && image.dtype !== 'float64')) {
    const got = image instanceof Tensor ? `${image.dtype} of shape ${formatShape(image.shape)}` : typeof image;
    throw new VizError(`${op}: expects a float image batch (N, C, H, W), got ${got}`);
  }
  if (typeof options?.layer !== 'string') throw new VizError(`${op}: options.layer (a name from model.namedModules()) is required`);
  const octaves = options.octaves ?? 3;
  const scale = options.octaveScale ?? 1.4;
  if (!Number.isInteger(octaves) || octaves < 1) throw new VizError(`${op}: octaves must be an integer ≥ 1, got ${octaves}`);
  if (!(scale > 1)) throw new VizError(`${op}: octaveScale must be > 1, got ${scale}`);
  const [h, w] = [image.shape[2], image.shape[3]];
  const sizes = Array.from({ length: octaves }, (_, i) => [Math.max(1, Math.round(h / scale ** (octaves - 1 - i))), Math.max(1, Math.round(w / scale ** (octaves - 1 - i)))]);
  const base = image.detach();
  let detail: Tensor | null = null;
  let dream = base;
  for (const [oh, ow] of sizes) {
    const octaveBase = oh === h && ow === w ? base : resizeBilinear(base, oh, ow);
    const start = detail === null ? octaveBase : octaveBase.add(resizeBilinear(detail, oh, ow));
    dream = ascend(model, start, options, op);
    detail = dream.sub(octaveBase);
  }
  if (options.path !== undefined) writePng(options.path, dream.select(0, 0));
  return dream;
}

/** Thrown by the layer's hook to end the forward pass once the layer has run. */
class LayerReached {
  constructor(readonly output: Tensor) {}
}

/**
 * The layer's output for input x; the forward stops at the layer, so the layers after it (a
 * Linear head sized for the full image) never see the smaller octaves.
 */
function layerOutput(model: Module, x: Tensor, layer: string, op: string): Tensor {
  try {
    withOutputHooks(model, [layer], op, (_n, out) => {
      throw new LayerReached(out);
    }, () => model.forward(x));
  } catch (reached) {
    if (reached instanceof LayerReached) return reached.output;
    throw reached;
  }
  throw new VizError(`${op}: layer '${layer}' did not run in the model's forward`);
}

/** `steps` normalised, jittered ascent steps on mean(A²)/2 of the layer from x. */
function ascend(model: Module, x: Tensor, options: DeepDreamOptions, op: string): Tensor {
  const steps = options.steps ?? 10;
  const lr = options.lr ?? 0.01;
  const jitter = options.jitter ?? 2;
  const range = options.clamp === undefined ? [0, 1] : options.clamp;
  let current = x;
  for (let s = 0; s < steps; s++) {
    const leaf = current.detach().requiresGrad_();
    const shift = jitter > 0 ? (randint(-jitter, jitter + 1, [2], { generator: options.generator }).toArray() as number[]) : [0, 0];
    const seen = jitter > 0 ? leaf.roll(shift, [2, 3]) : leaf;
    const a = layerOutput(model, seen, options.layer, op);
    const [g] = grad(a.square().mean().mul(0.5), leaf);
    current = noGrad(() => {
      const moved = leaf.detach().add(g.div(g.abs().mean().clamp(1e-12)).mul(lr));
      return range === null ? moved : moved.clamp(range[0], range[1]);
    });
  }
  return current;
}
