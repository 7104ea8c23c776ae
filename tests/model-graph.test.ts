/**
 * plot.modelGraph: the traced dataflow of a small model with a skip and a branch (exact nodes
 * and edges), residual adds in ResNet-18, Inception and DenseNet concatenations, the layered
 * layout (layers, no overlaps), a well-formed SVG with one box per leaf-module call, the PNG.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';

const { nn, plot, models } = k;

/** conv → (1×1 conv + skip) → relu, and a 3×3 branch beside it, concatenated, then a linear head. */
class SkipAndBranch extends nn.Module {
  stem = new nn.Conv2d(1, 4, 3, { padding: 1 });
  inner = new nn.Conv2d(4, 4, 1);
  relu = new nn.ReLU();
  branch = new nn.Conv2d(4, 4, 3, { padding: 1 });
  head = new nn.Linear(8 * 6 * 6, 3);
  override forward(x: Tensor): Tensor {
    const h = this.stem.forward(x); // (N, 4, 6, 6)
    const y = this.relu.forward(this.inner.forward(h).add(h));
    const z = k.cat([y, this.branch.forward(h)], 1); // (N, 8, 6, 6)
    return this.head.forward(z.flatten(1));
  }
}

/**
 * A strict-enough XML well-formedness check: every tag closed in order, attributes quoted and
 * unique, only the five predefined entities or character references, nothing but whitespace
 * outside the root.
 */
function expectWellFormedXml(xml: string): void {
  const stack: string[] = [];
  const tokens = xml.split(/(<[^>]*>)/);
  let roots = 0;
  for (const token of tokens) {
    if (!token.startsWith('<')) {
      expect(token.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, '')).not.toMatch(/[&<>]/);
      if (stack.length === 0) expect(token.trim()).toBe('');
      continue;
    }
    const m = /^<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>$/.exec(token);
    expect(m, `malformed tag ${token}`).not.toBeNull();
    const [, closing, name, attributes, selfClosing] = m!;
    const names = [...attributes.matchAll(/([\w:-]+)=/g)].map((a) => a[1]);
    expect(new Set(names).size, `duplicate attribute in ${token}`).toBe(names.length);
    if (closing) expect(stack.pop()).toBe(name);
    else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
}

describe('plot.traceModelGraph', () => {
  it('a model with a skip and a branch: a node per leaf call and per merge op, edges along the data', () => {
    const g = plot.traceModelGraph(new SkipAndBranch(), [2, 1, 6, 6]);
    expect(g.nodes.map((n) => `${n.kind}:${n.path || n.type}`)).toEqual([
      'input:input',
      'module:stem',
      'module:inner',
      'op:add',
      'module:relu',
      'module:branch',
      'op:cat',
      'module:head', // flatten folds into the edge cat → head
      'output:output',
    ]);
    expect(g.edges).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
      [1, 3],
      [3, 4],
      [1, 5],
      [4, 6],
      [5, 6],
      [6, 7],
      [7, 8],
    ]);
    expect(g.nodes[6].shapes).toEqual([[2, 8, 6, 6]]);
    expect(g.nodes[8].shapes).toEqual([[2, 3]]);
  });

  it('restores training mode and leaves no hooks behind', () => {
    const net = new SkipAndBranch();
    net.train();
    plot.traceModelGraph(net, [1, 1, 6, 6]);
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(net.modules().every((m) => !Object.prototype.hasOwnProperty.call(m, 'forward'))).toBe(true);
  });

  it('ResNet-18 has 8 residual adds, GoogLeNet 9 Inception concatenations, DenseNet-121 a concatenation per dense layer and block', () => {
    const count = (g: k.plot.ModelGraph, type: string): number => g.nodes.filter((n) => n.type === type).length;
    const resnet = plot.traceModelGraph(models.resnet18({ numClasses: 10 }), [1, 3, 32, 32]);
    expect(count(resnet, 'add')).toBe(8);
    expect(resnet.nodes.filter((n) => n.kind === 'module' && n.type === 'Conv2d')).toHaveLength(20); // 17 + 3 projections
    const googlenet = plot.traceModelGraph(models.googlenet({ numClasses: 10 }), [1, 3, 64, 64]);
    expect(count(googlenet, 'cat')).toBe(9);
    const densenet = plot.traceModelGraph(models.densenet121({ numClasses: 10 }), [1, 3, 32, 32]);
    expect(count(densenet, 'cat')).toBe(6 + 12 + 24 + 16 + 4);
  });

  it('names a bad input', () => {
    expect(() => plot.traceModelGraph(new SkipAndBranch(), [1, 0, 6] as number[])).toThrow(/modelGraph: input must be a shape \(positive integers/);
    expect(() => plot.traceModelGraph({} as k.nn.Module, [1, 1, 6, 6])).toThrow(/modelGraph: model must be an nn.Module, got object/);
    expect(() => plot.traceModelGraph(new SkipAndBranch(), [1, 2, 6, 6])).toThrow(/conv2d/i); // the op names the mismatch
  });
});

describe('plot.layeredLayout', () => {
  it('puts each node one layer below its lowest predecessor, routes long edges through the layers between, never overlaps', () => {
    const edges: [number, number][] = [
      [0, 1],
      [1, 2],
      [0, 3],
      [2, 3],
      [0, 4],
    ];
    const layout = plot.layeredLayout({ widths: [60, 60, 60, 60, 60], edges, nodeHeight: 20, layerGap: 10 });
    expect(layout.layer).toEqual([0, 1, 2, 3, 1]);
    expect(layout.routes.map((r) => r.length)).toEqual([0, 0, 2, 0, 0]);
    for (let a = 0; a < 5; a++) {
      for (let b = a + 1; b < 5; b++) if (layout.layer[a] === layout.layer[b]) expect(Math.abs(layout.x[a] - layout.x[b])).toBeGreaterThanOrEqual(60);
    }
    expect(layout.y).toEqual([10, 40, 70, 100, 40]);
    expect(() => plot.layeredLayout({ widths: [1, 1], edges: [[1, 0]], nodeHeight: 1 })).toThrow(/edge 1 → 0 goes backwards/);
  });
});

describe('plot.modelGraph', () => {
  it('draws a well-formed SVG with one box per leaf module and one arrow per edge, and a PNG that decodes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-graph-'));
    const net = new SkipAndBranch();
    const { graph, svg, files } = plot.modelGraph(net, [1, 1, 6, 6], { path: join(dir, 'net.svg') });
    expectWellFormedXml(svg);
    const leaves = net.modules().filter((m) => m.children().length === 0);
    expect(svg.match(/<rect class="module"/g)).toHaveLength(leaves.length);
    expect(svg.match(/<rect class="op"/g)).toHaveLength(2);
    expect(svg.match(/<path class="edge"/g)).toHaveLength(graph.edges.length);
    expect(svg).toContain('Conv2d 4→4 3×3');
    expect(svg).toContain('Linear 288→3');
    expect(files).toEqual({ svg: join(dir, 'net.svg'), png: join(dir, 'net.png') });
    expect(readFileSync(files!.svg, 'utf8')).toBe(svg);
    const png = PNG.sync.read(readFileSync(files!.png));
    const [, width, height] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
    expect([png.width, png.height]).toEqual([width, height]);
  });

  it('lays out ResNet-18 and DenseNet-121 as well-formed SVGs with a box per leaf call', () => {
    for (const net of [models.resnet18({ numClasses: 10 }), models.densenet121({ numClasses: 10 })]) {
      const { graph, svg } = plot.modelGraph(net, [1, 3, 32, 32]);
      expectWellFormedXml(svg);
      expect(svg.match(/<rect class="module"/g)).toHaveLength(graph.nodes.filter((n) => n.kind === 'module').length);
    }
  });
});
