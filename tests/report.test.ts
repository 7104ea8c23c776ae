/**
 * The training report (train.report / train.ReportCallback): a small CNN trained with fit on
 * synthetic images; the page's numbers equal the run's, it is self-contained, and, in headless
 * Chromium (tests/browser.ts), it opens with no console errors or failed requests, every
 * section and image renders, and the learning curves have one point per epoch.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { data, F, Generator, manualSeed, metrics, nn, optim, randn, tensor, train, type Tensor } from '../lib/index.js';
import { chromiumUnavailable, openPage, type OpenPage } from './browser.js';

const CLASSES = ['top-left', 'centre', 'bottom-right'];
const EPOCHS = 3;
const unavailable = await chromiumUnavailable();
const SECTIONS = ['overview', 'learning-curves', 'confusion-matrix', 'per-class', 'model-summary', 'filters', 'explanations', 'misclassified'];

/** n images (n, 1, 12, 12): a bright 4×4 block at the class's place, plus noise; labels cycle. */
function blocks(n: number, generator: Generator): { images: Tensor; labels: number[] } {
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  const pixels = new Float32Array(n * 144);
  labels.forEach((c, i) => {
    const at = [1, 4, 7][c];
    for (let y = at; y < at + 4; y++) for (let x = at; x < at + 4; x++) pixels[i * 144 + y * 12 + x] = 2;
  });
  const images = tensor(pixels).reshape([n, 1, 12, 12]).add(randn([n, 1, 12, 12], { generator }).mul(0.5));
  return { images, labels };
}

const smallCnn = (): nn.Sequential =>
  new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Conv2d(4, 6, 3, { padding: 1 }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(216, 3));

const dir = mkdtempSync(join(tmpdir(), 'kiln-report-'));
const out = join(dir, 'out');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One training run and its report (the test set's labels are partly wrong, so there are mistakes to show). */
function trainAndReport(): { result: train.ReportResult; history: train.History; model: nn.Sequential; test: { inputs: Tensor; targets: number[] } } {
  manualSeed(3);
  const generator = new Generator(5);
  const model = smallCnn();
  const trainSet = blocks(240, generator);
  const valSet = blocks(60, generator);
  const testSet = blocks(60, generator);
  const targets = testSet.labels.map((c, i) => (i % 10 === 0 ? (c + 1) % 3 : c)); // 6 labels wrong
  const loader = (s: { images: Tensor; labels: number[] }, shuffle: boolean) =>
    new data.DataLoader(new data.TensorDataset(s.images, tensor(s.labels, { dtype: 'int32' })), { batchSize: 20, shuffle, generator: new Generator(7) });
  const history = train.fit(model, {
    loss: F.crossEntropy,
    optimizer: new optim.Adam(model.parameters(), { lr: 0.01 }),
    trainLoader: loader(trainSet, true),
    valLoader: loader(valSet, false),
    epochs: EPOCHS,
    metrics: { accuracy: train.accuracy },
    progress: false,
  });
  const test = { inputs: testSet.images, targets };
  const result = train.report({ path: join(out, 'report.html'), model, history, test, classNames: CLASSES, title: 'Blocks report', gallery: 4, misclassified: 5 });
  return { result, history, model, test };
}

describe('train.report', () => {
  const run = trainAndReport();
  const html = readFileSync(run.result.path, 'utf8');
  const embedded = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]) as Omit<train.ReportResult, 'path'>;

  it('shows the run: figures equal to the metrics computed independently', () => {
    const predicted = (run.model.eval().forward(run.test.inputs) as Tensor).argmax(1);
    const matrix = metrics.confusionMatrix(predicted, run.test.targets, 3);
    expect(run.result.accuracy).toBeCloseTo(metrics.accuracy(predicted, run.test.targets), 12);
    expect(run.result.confusion).toEqual(matrix.toArray());
    expect(run.result.f1).toEqual(metrics.f1Score(matrix, { average: 'none' }));
    expect(run.result.misclassified).toBeGreaterThanOrEqual(6);
    expect(run.result.support).toEqual([20, 20, 20]);
    expect(run.result.history.map((r) => r.epoch)).toEqual([1, 2, 3]);
    const { path: _path, ...shown } = run.result;
    expect(embedded).toEqual(shown);
    expect(shown.history).toEqual(run.history.records);
    expect(html).toContain(`<td>${(100 * run.result.accuracy).toFixed(2)}%</td>`);
    CLASSES.forEach((name, k) => expect(html).toContain(`<td>${name}</td><td>${run.result.precision[k].toFixed(3)}</td><td>${run.result.recall[k].toFixed(3)}</td><td>${run.result.f1[k].toFixed(3)}</td>`));
  });

  it('is one self-contained file, written atomically', () => {
    for (const id of SECTIONS) expect(html).toContain(`<section id="${id}">`);
    expect(html).not.toMatch(/(src|href)="(?!data:)/);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(readdirSync(out)).toEqual(['report.html']); // no temporary file left behind
  });

  it('ReportCallback writes the report when fit ends; bad options name what is wrong', () => {
    const model = smallCnn();
    const set = blocks(30, new Generator(1));
    const labels = tensor(set.labels, { dtype: 'int32' });
    const callback = new train.ReportCallback({ path: join(dir, 'cb', 'report.html'), test: { inputs: set.images, targets: labels } });
    train.fit(model, { loss: F.crossEntropy, optimizer: new optim.SGD(model.parameters(), { lr: 0.01 }), trainLoader: [[set.images, labels]], epochs: 2, progress: false, callbacks: [callback] });
    expect(callback.result?.history.length).toBe(2);
    expect(existsSync(join(dir, 'cb', 'report.html'))).toBe(true);
    expect(() => train.report({ path: join(dir, 'x.html'), model, test: { inputs: set.images, targets: [0, 1] } })).toThrow(/report: test.targets must hold one class per input \(30\), got 2 values/);
    expect(() => train.report({ path: join(dir, 'x.html'), model, test: { inputs: set.images, targets: labels }, classNames: ['a'] })).toThrow(/got 1 class names for a model with 3 outputs/);
    expect(() => new train.ReportCallback({ path: '', test: { inputs: set.images, targets: labels } })).toThrow(/ReportCallback: path must be a non-empty string/);
  });

  if (unavailable !== null) it.skip(`in headless Chromium: skipped (${unavailable})`, () => {});

  describe.skipIf(unavailable !== null)('in headless Chromium', () => {
    let opened: OpenPage;
    beforeAll(async () => {
      opened = await openPage(run.result.path);
    }, 60_000);
    afterAll(async () => opened?.close());

    it('opens with no console errors, page errors, failed or external requests', () => {
      expect(opened.problems).toEqual({ consoleErrors: [], pageErrors: [], failedRequests: [], externalRequests: [] });
    });

    it('renders every section and decodes every image', async () => {
      const sizes = await opened.page.evaluate((ids: string[]) => ids.map((id) => document.getElementById(id)?.getBoundingClientRect().height ?? 0), SECTIONS);
      SECTIONS.forEach((id, i) => expect(sizes[i], id).toBeGreaterThan(0));
      const images = await opened.page.evaluate(() => [...document.images].map((img) => ({ alt: img.alt, ok: img.complete && img.naturalWidth > 0 && img.getBoundingClientRect().width > 0 })));
      expect(images.length).toBe(1 + 4 * 5 + 5); // filters, 4 gallery rows × (input + 4 methods), 5 mistakes
      for (const img of images) expect(img.ok, img.alt).toBe(true);
    });

    it('draws the learning curves with one point per epoch and shows the run\'s numbers', async () => {
      const counts = await opened.page.evaluate(() =>
        [...document.querySelectorAll('#learning-curves polyline')].map((p) => (p.getAttribute('points') ?? '').trim().split(/\s+/).length),
      );
      expect(counts).toEqual([EPOCHS, EPOCHS, EPOCHS, EPOCHS]); // train/val loss, train/val accuracy
      const cells = await opened.page.evaluate(() => [...document.querySelectorAll('#per-class tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      expect(cells).toEqual(CLASSES.map((name, k) => [name, run.result.precision[k].toFixed(3), run.result.recall[k].toFixed(3), run.result.f1[k].toFixed(3), String(run.result.support[k])]));
      const accuracy = await opened.page.evaluate(() => document.querySelector('#overview td:nth-child(2)')?.textContent);
      expect(accuracy).toBe(`${(100 * run.result.accuracy).toFixed(2)}%`);
    });

    it('writes a screenshot of the whole page', async () => {
      const shot = join(out, 'report-screenshot.png');
      await opened.page.screenshot({ path: shot, fullPage: true });
      const picture = data.readPng(shot);
      expect(picture.shape[1]).toBeGreaterThan(900);
      expect(picture.shape[2]).toBe(1280);
    });
  });
});
