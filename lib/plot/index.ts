/**
 * kiln.plot: charts drawn as SVG text and rendered to PNG with resvg. lineChartSvg draws
 * named series over nice axes (learning curves, ROC curves); arrangeSvgs puts several charts
 * side by side; writePlot writes `<base>.svg` and `<base>.png` atomically; modelGraph draws
 * an architecture diagram of any Module from the dataflow of one traced forward pass.
 *
 * Example:
 * ```ts
 * import { plot } from 'kiln';
 * const svg = plot.lineChartSvg({ series: [{ name: 'loss', x: [1, 2, 3], y: [0.9, 0.5, 0.3] }], xLabel: 'epoch' });
 * plot.writePlot('out/loss', svg);
 * ```
 */
export { lineChartSvg, PALETTE, type LineSeries, type LineChartOptions, type LegendPosition } from './line-chart.js';
export { niceTicks, formatTick, type Ticks } from './ticks.js';
export { arrangeSvgs, escapeXml, svgDocument } from './svg.js';
export { svgToPng, writePlot } from './render.js';
export { modelGraph, modelGraphSvg, type ModelGraphOptions } from './model-graph.js';
export { traceModelGraph, type ModelGraph, type GraphNode } from './dataflow.js';
export { layeredLayout, type Layout, type LayoutInput } from './layered-layout.js';
