/**
 * Writes the README's viz pictures, docs/images/viz-*.png: LeNet-5 trained with the main job's
 * recipe (examples/lenet-job.ts: SGD lr 0.05, momentum 0.9, batch 64, inputs normalised with
 * the training pixels' mean and std; 3 epochs on the embedded 10k subset, seed 0) and every viz
 * method on four test images of the subset (an ankle boot, a trouser, a shirt, a bag, each the
 * first of its class the model classifies correctly). Each picture is a grid of 28×28 tiles
 * shown at 3× (filterGrid lays them out), a few KB per file. Prints what the pictures cannot
 * show (the classes predicted for the adversarial examples).
 *
 * Run: `npx tsc -p tsconfig.json && node dist/scripts/readme-images.js [outDir]` (default
 * docs/images; ~1 minute on 2 cores).
 */
import { mkdtempSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data, Generator, indexSelect, noGrad, randn, stack, tensor, train, viz, type nn, type Tensor } from '../lib/index.js';
import setup, { PIXEL_MEAN, PIXEL_STD, normalise } from '../examples/lenet-job.js';

/** Screen pixels per image pixel. */
const SCALE = 3;
/** The classes of the four explained test images (the first test image of each that the model gets right). */
const SHOWN_CLASSES = [9, 1, 6, 8];
/** L∞ attack budget in pixel units, and the normalised inputs' valid range. */
const EPS = 0.1;
const CLAMP: [number, number] = [(0 - PIXEL_MEAN) / PIXEL_STD, (1 - PIXEL_MEAN) / PIXEL_STD];

/** Normalised images back to pixels in [0, 1]. */
const pixels = (x: Tensor): Tensor => x.mul(PIXEL_STD).add(PIXEL_MEAN).clamp(0, 1);

/** LeNet-5 after 3 epochs of the main job's recipe on the embedded subset, in eval mode. */
function trainedLeNet(): nn.Sequential {
  const checkpointDir = mkdtempSync(join(tmpdir(), 'kiln-readme-'));
  try {
    const job = setup({ epochs: 3, batchSize: 64, limit: null, subset: true, checkpointDir, seed: 0 });
    train.fit(job.model, job);
    return job.model.eval();
  } finally {
    rmSync(checkpointDir, { recursive: true, force: true });
  }
}

/** Tiles (C, H, W) in [0, 1] (1 or 3 channels, all alike) as one PNG grid of `nrow` tiles per row; returns its path. */
function writeGrid(path: string, tiles: readonly Tensor[], nrow = tiles.length): string {
  viz.filterGrid(stack(tiles.map((t) => t.float())), { nrow, scale: SCALE, normalize: 'all', padding: 1, path });
  return path;
}

/** One jet overlay per image (pixels (N, 1, H, W)) of maps (N, h, w) or (N, 1, h, w). */
function overlays(images: Tensor, maps: Tensor, options: viz.OverlayOptions = {}): Tensor[] {
  return Array.from({ length: images.shape[0] }, (_, i) => viz.overlay(images.select(0, i), maps.select(0, i), options));
}

/** A gray image (1, H, W) as RGB with a red frame around box [top, left, height, width]. */
function framed(image: Tensor, [top, left, height, width]: readonly number[]): Tensor {
  const rgb = image.expand([3, image.shape[1], image.shape[2]]).contiguous().clone();
  const [h, w] = [image.shape[1], image.shape[2]];
  const px = rgb.data as Float32Array;
  const paint = (y: number, x: number) => [1, 0, 0].forEach((v, ch) => (px[ch * h * w + y * w + x] = v));
  for (let x = left; x < left + width; x++) [top, top + height - 1].forEach((y) => paint(y, x));
  for (let y = top; y < top + height; y++) [left, left + width - 1].forEach((x) => paint(y, x));
  return rgb;
}

const names = (indices: Tensor): string => [...(indices.data as Int32Array)].map((c) => data.FASHION_MNIST_CLASSES[c]).join(', ');

function main(outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  const net = trainedLeNet();
  const test = data.loadFashionMnist({ split: 'test', full: false });
  const testImages = normalise(test.images);
  const labelList = (test.labels.toArray() as number[]).map(Number);
  const predictedList = noGrad(() => (net.forward(testImages) as Tensor).argmax(1).toArray() as number[]);
  const rows = tensor(SHOWN_CLASSES.map((c) => labelList.findIndex((label, i) => label === c && predictedList[i] === c)), { dtype: 'int32' });
  const x = indexSelect(testImages, 0, rows); // (4, 1, 28, 28), normalised
  const labels = indexSelect(test.labels, 0, rows).to('int32');
  const shown = pixels(x);
  const at = (name: string) => join(outDir, `viz-${name}.png`);
  const written: string[] = [];
  const grid = (name: string, tiles: readonly Tensor[], nrow?: number) => written.push(writeGrid(at(name), tiles, nrow));

  const predicted = noGrad(() => (net.forward(x) as Tensor).argmax(1));
  console.log(`the four test images (rows ${(rows.toArray() as number[]).join(', ')}): ${names(labels)}`);
  grid('inputs', [...Array(4).keys()].map((i) => shown.select(0, i)));

  written.push(at('filters'));
  viz.filterGrid((net.at(0) as nn.Conv2d).weight, { scale: 8, path: at('filters') });
  const maps = viz.activations(net, x.narrow(0, 0, 1), ['1']).activations.get('1')!; // (1, 6, 28, 28)
  written.push(at('activations'));
  viz.filterGrid(maps.transpose(0, 1), { scale: SCALE, path: at('activations') });

  const gradientMethods: [string, Tensor][] = [
    ['saliency', viz.saliency(net, x).amax(1)],
    ['guided-backprop', viz.guidedBackprop(net, x).abs()],
    ['deconvnet', viz.deconvnet(net, x).abs()],
    ['integrated-gradients', viz.integratedGradients(net, x, { baseline: tensor(CLAMP[0]), steps: 64 }).abs()],
    ['smoothgrad', viz.smoothGrad(net, x, { samples: 25, noiseLevel: 0.15, generator: new Generator(1) }).abs()],
    ['gradcam', viz.gradCam(net, x, '3')],
    ['guided-gradcam', viz.guidedGradCam(net, x, '3').abs()],
  ];
  for (const [name, map] of gradientMethods) grid(name, overlays(shown, map, { alpha: name === 'gradcam' ? 0.5 : 0.8 }));

  const clean = noGrad(() => (net.forward(x) as Tensor).softmax(1).gather(1, predicted.unsqueeze(1))); // (4, 1)
  const occluded = viz.occlusion(net, x, { size: 6, stride: 2, fill: CLAMP[0] }); // (4, 12, 12)
  grid('occlusion', overlays(shown, clean.unsqueeze(2).sub(occluded)));

  const classModels = [...Array(10).keys()].map((unit) =>
    viz.maximizeActivation(net, { unit, start: randn([1, 1, 28, 28], { generator: new Generator(unit) }), l2: 0.05, tv: 0.5, jitter: 2, generator: new Generator(unit) }),
  );
  written.push(at('class-models'));
  viz.filterGrid(stack(classModels.map((m) => m.select(0, 0))), { nrow: 10, scale: SCALE, path: at('class-models') }); // each tile scaled to [0, 1]

  const dreams = viz.deepDream(net, x, { layer: '4', octaves: 2, steps: 20, lr: 0.05, clamp: CLAMP, generator: new Generator(2) });
  grid('deepdream', [...Array(4).keys()].flatMap((i) => [shown.select(0, i), pixels(dreams).select(0, i)]), 8);

  const start = randn(x.shape, { generator: new Generator(3) }); // noise at the data's scale: near 0 every first-layer ReLU of this net is off
  const inverted = ['4', '10'].map((layer) => pixels(viz.invertFeatures(net, x, { layer, tv: 1e-4, steps: 300, start })));
  grid('inversion', [shown, ...inverted].flatMap((batch) => [...Array(4).keys()].map((i) => batch.select(0, i))), 4);

  const top = viz.topActivations(net, testImages, '3', 5, { k: 8 });
  grid('top-activations', top.map((t) => framed(pixels(testImages.select(0, t.index)), t.box)));

  const fgsm = viz.fgsm(net, x, labels, { eps: EPS / PIXEL_STD, clamp: CLAMP });
  const pgd = viz.pgd(net, x, labels, { eps: EPS / PIXEL_STD, clamp: CLAMP, steps: 10, generator: new Generator(4) });
  for (const [name, adv] of [['FGSM', fgsm], ['PGD-10', pgd]] as const) console.log(`${name} at ε = ${EPS}: predicted ${names(noGrad(() => (net.forward(adv) as Tensor).argmax(1)))}`);
  grid('adversarial', [shown, pixels(fgsm), pixels(pgd)].flatMap((batch) => [...Array(4).keys()].map((i) => batch.select(0, i))), 4);

  const total = written.reduce((sum, path) => sum + statSync(path).size, 0);
  console.log(`wrote ${written.length} pictures, ${(total / 1024).toFixed(1)} KB: ${written.join(', ')}`);
}

main(process.argv[2] ?? join('docs', 'images'));
