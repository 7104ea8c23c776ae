/**
 * plot.modelGraph: an architecture diagram of any kiln Module, drawn from the dataflow of one
 * traced forward pass (dataflow.ts) with a layered top-to-bottom layout (layered-layout.ts):
 * a box per leaf-module call (type, key hyper-parameters, output shape), a pill per op between
 * modules (residual adds, concatenations, functional activations), arrows along the data.
 */
import type { Module } from '../nn/module.js';
import type { Tensor } from '../tensor.js';
import { traceModelGraph, type GraphNode, type ModelGraph } from './dataflow.js';
import { layeredLayout } from './layered-layout.js';
import { writePlot } from './render.js';
import { escapeXml, svgDocument } from './svg.js';

/** Options of modelGraph and modelGraphSvg. */
export interface ModelGraphOptions {
  /** Write `<path>.svg` and `<path>.png` (a trailing '.svg' or '.png' is dropped). Default: write nothing. */
  path?: string;
  /** Title above the diagram. Default: the model's class name. */
  title?: string;
  /** Pixels per SVG unit of the PNG. Default 1, or less to keep the PNG within 40 megapixels (DenseNet-121's diagram is ~4000 × 27000 units). */
  scale?: number;
}

const NODE_HEIGHT = 40;
const CHAR_WIDTH = 6.4;
const MARGIN = 16;
const TITLE_HEIGHT = 30;
/** The default PNG scale keeps the picture within this many pixels. */
const MAX_PNG_PIXELS = 40e6;

type Described = Record<string, unknown>;
const pairText = (v: unknown): string => (Array.isArray(v) ? (v[0] === v[1] ? String(v[0]) : v.join('×')) : String(v));
/** A kernel size as 'k×k' ('k' for 1-d layers, whose size is one number). */
const kernelText = (m: Module, v: unknown): string => (Array.isArray(v) ? v.join('×') : m.constructor.name.includes('1d') ? String(v) : `${v}×${v}`);

/** The key hyper-parameters of common layers, in a few characters (e.g. Conv2d '64→128 3×3 /2'). */
function hyperParameters(m: Module): string {
  const d = m as unknown as Described;
  const options = (d.options ?? {}) as Described;
  const stride = options.stride !== undefined && pairText(options.stride) !== '1' ? ` /${pairText(options.stride)}` : '';
  if ('inChannels' in d && 'outChannels' in d) {
    const groups = d.groups !== undefined && d.groups !== 1 ? ` g${String(d.groups)}` : '';
    return `${String(d.inChannels)}→${String(d.outChannels)} ${kernelText(m, d.kernelSize)}${stride}${groups}`;
  }
  if ('inFeatures' in d && 'outFeatures' in d) return `${String(d.inFeatures)}→${String(d.outFeatures)}`;
  if ('numFeatures' in d) return String(d.numFeatures);
  if ('kernelSize' in d) return `${kernelText(m, d.kernelSize)}${stride}`;
  if ('outputSize' in d) return `→${pairText(d.outputSize)}`;
  if (typeof d.p === 'number') return `p=${d.p}`;
  return '';
}

const shapeText = (shapes: number[][]): string => shapes.map((s) => s.join('×')).join(', ');

/** The two lines of a node's box: its title and its output shape. */
function nodeLines(node: GraphNode): [string, string] {
  const title = node.kind === 'module' ? `${node.type} ${hyperParameters(node.module!)}`.trim() : node.type;
  return [title, shapeText(node.shapes)];
}

/** Fill colours by kind of layer (matched on the class name), so convolutions, norms and activations read at a glance. */
function fillOf(node: GraphNode): string {
  if (node.kind === 'input' || node.kind === 'output') return '#ffffff';
  if (node.kind === 'op') return '#eeeeee';
  const rules: [RegExp, string][] = [
    [/Conv/, '#cfe2f3'],
    [/Norm/, '#d9ead3'],
    [/Pool/, '#fce5cd'],
    [/Linear|Bilinear|Embedding/, '#e4d7f5'],
    [/ReLU|GELU|SiLU|Sigmoid|Tanh|Softmax|Hardswish|Mish|ELU|Activation/i, '#fff2cc'],
  ];
  return rules.find(([re]) => re.test(node.type))?.[1] ?? '#f4f4f4';
}

function boxWidth(node: GraphNode): number {
  const [title, shape] = nodeLines(node);
  return Math.max(64, Math.ceil(Math.max(title.length, shape.length) * CHAR_WIDTH) + 16);
}

/** One node: a box (modules), a pill (ops) or a bold-outlined box (input/output), with its two lines and a tooltip. */
function nodeSvg(node: GraphNode, cx: number, cy: number, width: number): string {
  const [title, shape] = nodeLines(node);
  const x = cx - width / 2;
  const y = cy - NODE_HEIGHT / 2;
  const kind = node.kind === 'input' || node.kind === 'output' ? 'io' : node.kind;
  const rx = node.kind === 'op' ? NODE_HEIGHT / 2 : 4;
  const stroke = kind === 'io' ? ' stroke="#222" stroke-width="2"' : ' stroke="#666"';
  const tooltip = node.path === '' ? node.type : `${node.path} (${node.type})`;
  return [
    `<g><title>${escapeXml(tooltip)}</title>`,
    `<rect class="${kind}" x="${r1(x)}" y="${r1(y)}" width="${r1(width)}" height="${NODE_HEIGHT}" rx="${rx}" fill="${fillOf(node)}"${stroke}/>`,
    `<text x="${r1(cx)}" y="${r1(cy - 3)}" font-size="11" text-anchor="middle" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${r1(cx)}" y="${r1(cy + 12)}" font-size="10" text-anchor="middle" fill="#555">${escapeXml(shape)}</text></g>`,
  ].join('');
}

const r1 = (v: number): number => Math.round(v * 10) / 10;

/** An edge from the bottom of one box to the top of another through its route, as smooth vertical curves. */
function edgePath(points: { x: number; y: number }[]): string {
  let d = `M${r1(points[0].x)},${r1(points[0].y)}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const mid = (a.y + b.y) / 2;
    d += ` C${r1(a.x)},${r1(mid)} ${r1(b.x)},${r1(mid)} ${r1(b.x)},${r1(b.y)}`;
  }
  return `<path class="edge" d="${d}" fill="none" stroke="#777" stroke-width="1.2" marker-end="url(#kiln-arrow)"/>`;
}

/**
 * The SVG document of a traced graph (plot.traceModelGraph): layered top to bottom, one box
 * per leaf-module call (`<rect class="module">`), one pill per op (`class="op"`), the model's
 * inputs and output outlined (`class="io"`), edges as arrows (`class="edge"`).
 *
 * Example: `writeFileSync('net.svg', plot.modelGraphSvg(plot.traceModelGraph(net, [1, 1, 28, 28])))`.
 */
export function modelGraphSvg(graph: ModelGraph, options: { title?: string } = {}): string {
  const widths = graph.nodes.map(boxWidth);
  const layout = layeredLayout({ widths, edges: graph.edges, nodeHeight: NODE_HEIGHT, layerGap: 22, nodeGap: 14 });
  const top = MARGIN + (options.title === undefined ? 0 : TITLE_HEIGHT);
  const at = (p: { x: number; y: number }): { x: number; y: number } => ({ x: p.x + MARGIN, y: p.y + top });
  const edges = graph.edges.map(([from, to], i) => {
    const start = at({ x: layout.x[from], y: layout.y[from] + NODE_HEIGHT / 2 });
    const end = at({ x: layout.x[to], y: layout.y[to] - NODE_HEIGHT / 2 - 1 });
    return edgePath([start, ...layout.routes[i].map(at), end]);
  });
  const nodes = graph.nodes.map((node, i) => {
    const c = at({ x: layout.x[i], y: layout.y[i] });
    return nodeSvg(node, c.x, c.y, widths[i]);
  });
  const width = Math.ceil(layout.width + 2 * MARGIN);
  const height = Math.ceil(layout.height + top + MARGIN);
  const marker =
    '<defs><marker id="kiln-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto">' +
    '<path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>';
  const title = options.title === undefined ? '' : `<text x="${MARGIN}" y="${MARGIN + 16}" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`;
  return svgDocument(Math.max(width, 200), height, [marker, title, ...edges, ...nodes].join('\n'));
}

/**
 * An architecture diagram of any Module: traces one forward pass on the example input (eval
 * mode, no autograd), so residual adds, Inception branches and DenseNet concatenations
 * appear as they run, and lays it out top to bottom (longest-path layers, crossing reduction).
 * Nodes: each leaf-module call (type, key hyper-parameters, output shape) and each op run
 * between modules; edges: the data flow. Shape-only ops (reshape, permute, …) are folded into
 * the edges. Returns the graph and the SVG; with `path`, also writes `<path>.svg` and `<path>.png`.
 *
 * Args: model; input: a shape (zeros are fed), a tensor or an array of tensors; options (path, title, scale).
 *
 * Example:
 * ```ts
 * const { graph } = plot.modelGraph(models.resnet18({ numClasses: 10 }), [1, 3, 64, 64], { path: 'out/resnet18' });
 * graph.nodes.filter((n) => n.type === 'add').length; // 8 residual additions
 * ```
 */
export function modelGraph(
  model: Module,
  input: readonly number[] | Tensor | readonly Tensor[],
  options: ModelGraphOptions = {},
): { graph: ModelGraph; svg: string; files: { svg: string; png: string } | null } {
  const graph = traceModelGraph(model, input);
  const svg = modelGraphSvg(graph, { title: options.title ?? model.constructor.name });
  const [, width, height] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
  const scale = options.scale ?? Math.min(1, Math.sqrt(MAX_PNG_PIXELS / (width * height)));
  const files = options.path === undefined ? null : writePlot(options.path.replace(/\.(svg|png)$/i, ''), svg, scale);
  return { graph, svg, files };
}
