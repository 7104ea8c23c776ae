/**
 * The report's pictures: the first conv layer's filters, a gallery of explanations (saliency,
 * Grad-CAM, guided backprop, Guided Grad-CAM) of a few test images, and misclassified
 * examples with their confidence. Each picture is a PNG inlined in the page.
 */
import { noGrad } from '../../autograd/grad-mode.js';
import { Conv2d } from '../../nn/conv.js';
import type { Module } from '../../nn/module.js';
import { cat } from '../../ops/shape.js';
import type { Tensor } from '../../tensor.js';
import { filterGrid } from '../../viz/filters.js';
import { gradCam } from '../../viz/gradcam.js';
import { saliency } from '../../viz/gradients.js';
import { overlay } from '../../viz/overlay.js';
import { guidedBackprop } from '../../viz/relu-rules.js';
import { escapeHtml, figure, imageTag, section, table } from './page.js';

/** CSS width of one example picture (28×28 images are drawn 4× with pixelated scaling). */
const PICTURE_WIDTH = 112;

/** What the picture sections share. */
export interface PictureContext {
  model: Module;
  /** Model inputs (N, C, H, W) of the examples shown. */
  images: Tensor;
  /** The same images as pictures (N, 1 or 3, H, W) in [0, 1]. */
  pictures: Tensor;
  classNames: readonly string[];
}

/** Each image of a batch (N, C, H, W) scaled to [0, 1] by its own minimum and maximum. */
export function minMaxPerImage(images: Tensor): Tensor {
  const flat = images.detach().float().flatten(1);
  const lo = flat.amin(1, true);
  const span = flat.amax(1, true).sub(lo).clamp(1e-12);
  return flat.sub(lo).div(span).reshape(images.shape);
}

/** The dotted names of the model's Conv2d layers, in forward order of registration. */
export function convLayers(model: Module): string[] {
  return model.namedModules().filter(([, m]) => m instanceof Conv2d).map(([name]) => name);
}

/** The filters of a conv layer as one picture, or a note when the model has none. */
export function filterSection(model: Module, layer: string | undefined): string {
  if (layer === undefined) return section('filters', 'First-layer filters', '<p class="note">The model has no Conv2d layer.</p>');
  const conv = model.namedModules().find(([name]) => name === layer)?.[1];
  if (!(conv instanceof Conv2d)) return section('filters', 'First-layer filters', `<p class="note">Layer '${escapeHtml(layer)}' is not a Conv2d.</p>`);
  const [o, c, kh] = conv.weight.shape;
  const scale = Math.max(1, Math.round(24 / kh));
  const grid = filterGrid(conv.weight.detach(), { scale, padding: 2 });
  const caption = `layer '${layer}': ${o} filters × ${c} input channel(s), ${kh}×${conv.weight.shape[3]}, each scaled to its own range`;
  return section('filters', 'First-layer filters', figure(imageTag(grid, `filters of layer ${layer}`, grid.shape[2] * 2), caption));
}

/** A (N, H, W) map per image as gray pictures (N, 1, H, W), each min-max scaled. */
function grayMaps(maps: Tensor): Tensor {
  return minMaxPerImage(maps.unsqueeze(1));
}

/** One explanation method's pictures for every image, or the reason it could not run. */
type Column = { name: string; pictures: Tensor | null; error?: string };

function attempt(name: string, compute: () => Tensor): Column {
  try {
    return { name, pictures: compute() };
  } catch (err) {
    return { name, pictures: null, error: (err as Error).message };
  }
}

/** The explanation columns for images explained at their predicted classes. */
function explanationColumns(ctx: PictureContext, predicted: readonly number[], camLayer: string | undefined): Column[] {
  const { model, images, pictures } = ctx;
  const blend = (maps: Tensor): Tensor => cat(Array.from({ length: maps.shape[0] }, (_, i) => overlay(pictures.select(0, i), maps.select(0, i)).unsqueeze(0)), 0);
  const columns = [attempt('saliency', () => grayMaps(saliency(model, images, { target: predicted }).amax(1)))];
  const cam = camLayer === undefined ? null : attempt(`Grad-CAM (${camLayer})`, () => gradCam(model, images, camLayer, { target: predicted }));
  if (cam === null) columns.push({ name: 'Grad-CAM', pictures: null, error: 'the model has no Conv2d layer' });
  else columns.push({ ...cam, pictures: cam.pictures === null ? null : blend(cam.pictures) });
  const guided = attempt('guided backprop', () => guidedBackprop(model, images, { target: predicted }).abs().amax(1));
  columns.push({ ...guided, pictures: guided.pictures === null ? null : grayMaps(guided.pictures) });
  if (cam?.pictures && guided.pictures) columns.push({ name: 'Guided Grad-CAM', pictures: grayMaps(guided.pictures.mul(cam.pictures)) });
  return columns;
}

/**
 * A table of the first images: the input, then saliency, Grad-CAM over the input, guided
 * backprop and Guided Grad-CAM, each for the predicted class.
 */
export function explanationSection(ctx: PictureContext, predicted: readonly number[], targets: readonly number[], camLayer: string | undefined): string {
  const wasTraining = ctx.model.training;
  ctx.model.eval();
  let columns: Column[];
  try {
    columns = explanationColumns(ctx, predicted, camLayer);
  } finally {
    ctx.model.train(wasTraining);
  }
  const name = (k: number): string => ctx.classNames[k] ?? String(k);
  const rows = predicted.map((p, i) => [
    `${escapeHtml(`true: ${name(targets[i])}`)}<br>${escapeHtml(`predicted: ${name(p)}`)}`,
    imageTag(ctx.pictures.select(0, i), `test image ${i}`, PICTURE_WIDTH),
    ...columns.map((c) => (c.pictures === null ? '' : imageTag(c.pictures.select(0, i), `${c.name} of test image ${i}`, PICTURE_WIDTH))),
  ]);
  const notes = columns.filter((c) => c.error !== undefined).map((c) => `<p class="note">${escapeHtml(`${c.name} not shown: ${c.error}`)}</p>`);
  const body = table('explanations', ['labels', 'input', ...columns.map((c) => c.name)], rows);
  return section('explanations', 'Saliency and Grad-CAM gallery', [body, ...notes].join('\n'));
}

/** One misclassified test image. */
export interface Mistake {
  /** Index in the test set. */
  index: number;
  target: number;
  predicted: number;
  /** Softmax probability of the predicted class. */
  confidence: number;
}

/**
 * The misclassified examples, most confident mistakes first, each with its labels and
 * confidence; ctx holds their pictures (null when none is shown).
 */
export function misclassifiedSection(ctx: PictureContext | null, mistakes: readonly Mistake[], total: number): string {
  const heading = 'Misclassified examples';
  if (total === 0) return section('misclassified', heading, '<p>No test image was misclassified.</p>');
  if (ctx === null || mistakes.length === 0) return section('misclassified', heading, `<p>${total} of the test images were misclassified (none shown).</p>`);
  const name = (k: number): string => ctx.classNames[k] ?? String(k);
  const figures = mistakes.map((m, i) =>
    figure(imageTag(ctx.pictures.select(0, i), `test image ${m.index}`, PICTURE_WIDTH), `#${m.index}: ${name(m.target)} → ${name(m.predicted)} (${(100 * m.confidence).toFixed(1)}%)`),
  );
  const intro = `<p>${total} of the test images were misclassified; the ${mistakes.length} most confident mistakes (true → predicted, confidence):</p>`;
  return section('misclassified', heading, `${intro}\n<div class="gallery">${figures.join('\n')}</div>`);
}

/** Softmax probabilities (N, K) of the model on inputs, in eval mode without autograd. */
export function probabilities(model: Module, inputs: Tensor, batchSize: number): Tensor {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      const parts: Tensor[] = [];
      for (let at = 0; at < inputs.shape[0]; at += batchSize) {
        parts.push((model.forward(inputs.narrow(0, at, Math.min(batchSize, inputs.shape[0] - at))) as Tensor).softmax(1));
      }
      return cat(parts, 0);
    });
  } finally {
    model.train(wasTraining);
  }
}
