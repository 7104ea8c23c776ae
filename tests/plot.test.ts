/**
 * plot: nice axis ticks (values worked out by hand from Heckbert's rule), tick labels, the
 * line chart's SVG (series, breaks at NaN, escaping, fixed domains, errors) and arranging
 * charts side by side.
 */
import { describe, expect, it } from 'vitest';

import { plot } from '../lib/index.js';

describe('niceTicks', () => {
  it('uses steps of 1, 2 or 5 × 10^k and widens the range to whole steps', () => {
    // range 0.927 → nice 1; step 1/4 = 0.25 → rounds to 0.2; 0.013 → 0, 0.94 → 1
    expect(plot.niceTicks(0.013, 0.94)).toEqual({ min: 0, max: 1, step: 0.2, values: [0, 0.2, 0.4, 0.6, 0.8, 1] });
    // range 0.89 → nice 1; step 0.2; −0.37 → −0.4, 0.52 → 0.6
    const around0 = plot.niceTicks(-0.37, 0.52);
    expect(around0.values).toEqual([-0.4, -0.2, 0, 0.2, 0.4, 0.6]);
    expect(Object.is(around0.values[2], 0)).toBe(true); // not −0
    // range 180 → nice 200; step 50
    expect(plot.niceTicks(20, 200).values).toEqual([0, 50, 100, 150, 200]);
  });

  it('integer ticks step by whole numbers; an empty range is widened around its value', () => {
    expect(plot.niceTicks(1, 6, 5, true).values).toEqual([1, 2, 3, 4, 5, 6]);
    expect(plot.niceTicks(1, 2, 5, true).values).toEqual([1, 2]); // the 0.2 step becomes 1
    // 3 ± 10% → [2.7, 3.3]: range 0.6 → nice 1, step 0.2
    expect(plot.niceTicks(3, 3).values).toEqual([2.6, 2.8, 3, 3.2, 3.4]);
    expect(plot.niceTicks(0, 0).values).toEqual([-1, -0.5, 0, 0.5, 1]);
  });

  it('rejects a bad range', () => {
    expect(() => plot.niceTicks(2, 1)).toThrow(/need finite min ≤ max, got min 2 and max 1/);
    expect(() => plot.niceTicks(0, Number.NaN)).toThrow(/max NaN/);
    expect(() => plot.niceTicks(0, 1, 1)).toThrow(/count must be an integer ≥ 2, got 1/);
  });

  it('formats labels with the decimals of the step, or as exponents', () => {
    expect(plot.formatTick(0.4, 0.2)).toBe('0.4');
    expect(plot.formatTick(1, 0.2)).toBe('1.0');
    expect(plot.formatTick(150, 50)).toBe('150');
    expect(plot.formatTick(2e-7, 1e-7)).toBe('2e-7');
    expect(plot.formatTick(2.5e6, 5e5)).toBe('2.5e6');
  });
});

describe('lineChartSvg', () => {
  const polylines = (svg: string): string[] => [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]);

  it('draws each series as a polyline with its name in the legend, broken where y is NaN', () => {
    const svg = plot.lineChartSvg({
      series: [
        { name: 'train', x: [1, 2, 3, 4, 5], y: [1, 0.8, Number.NaN, 0.5, 0.4] },
        { name: 'val', x: [1, 2, 3, 4, 5], y: [1.1, 0.9, 0.8, 0.7, 0.7] },
      ],
      title: 'a < b & c',
      xLabel: 'epoch',
      yLabel: 'loss',
      xInteger: true,
    });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="640" height="400"/);
    const lines = polylines(svg);
    expect(lines.map((points) => points.split(' ').length)).toEqual([2, 2, 5]); // train: 2 + 2 points, val: 5
    for (const text of ['>train</text>', '>val</text>', '>epoch</text>', '>loss</text>', '>a &lt; b &amp; c</text>']) expect(svg).toContain(text);
    expect(svg.match(/<circle /g)).toHaveLength(9); // markers on the 9 finite points
    for (const label of ['>1</text>', '>5</text>']) expect(svg).toContain(label);
    expect(svg).not.toContain('>1.5</text>');
  });

  it('keeps fixed domains exactly: the first and last points land on the frame', () => {
    const svg = plot.lineChartSvg({ series: [{ name: 'roc', x: [0, 1], y: [0, 1] }], xDomain: [0, 1], yDomain: [0, 1], markers: false });
    const frame = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none"/.exec(svg)!.slice(1).map(Number);
    const [start, end] = polylines(svg)[0].split(' ').map((p) => p.split(',').map(Number));
    expect(start[0]).toBeCloseTo(frame[0], 1);
    expect(start[1]).toBeCloseTo(frame[1] + frame[3], 1);
    expect(end[0]).toBeCloseTo(frame[0] + frame[2], 1);
    expect(end[1]).toBeCloseTo(frame[1], 1);
    expect(svg).not.toContain('<circle');
  });

  it('rejects mismatched series and tiny sizes', () => {
    expect(() => plot.lineChartSvg({ series: [{ name: 's', x: [1, 2], y: [1] }] })).toThrow(/series 's' has 2 x values but 1 y values/);
    expect(() => plot.lineChartSvg({ series: [] })).toThrow(/needs at least one series/);
    expect(() => plot.lineChartSvg({ series: [{ name: 's', x: [1], y: [1] }], width: 50 })).toThrow(/at least 200 × 150, got 50 × 400/);
    expect(() => plot.lineChartSvg({ series: [{ name: 's', x: [1], y: [1] }], xDomain: [1, 1] })).toThrow(/finite lo < hi, got \[1, 1\]/);
  });
});

describe('arrangeSvgs', () => {
  it('stacks documents in a grid and sizes the whole to fit', () => {
    const a = plot.lineChartSvg({ series: [{ name: 'a', x: [0, 1], y: [0, 1] }], width: 300, height: 200 });
    const b = plot.lineChartSvg({ series: [{ name: 'b', x: [0, 1], y: [1, 0] }], width: 250, height: 220 });
    const column = plot.arrangeSvgs([a, b], { columns: 1 });
    expect(column).toMatch(/^<svg [^>]*width="300" height="420"/);
    expect(column).toContain('<svg x="0" y="0" xmlns');
    expect(column).toContain('<svg x="0" y="200" xmlns');
    expect(plot.arrangeSvgs([a, b])).toMatch(/^<svg [^>]*width="550" height="220"/);
    expect(() => plot.arrangeSvgs(['<svg>'])).toThrow(/needs a numeric width and height/);
  });
});

describe('lineChartSvg: scatter series and a logarithmic x axis', () => {
  it('ticks 1, 2, 5 × 10^k over few decades, places x by its log, draws line: false series as dots only', () => {
    const svg = plot.lineChartSvg({ series: [{ name: 'pts', x: [0.3, 1, 30], y: [1, 2, 3], line: false }], xLog: true, width: 640, height: 400 });
    const labels = [...svg.matchAll(/text-anchor="middle" fill="#333">([^<]*)</g)].map((m) => m[1]);
    expect(labels).toEqual(['0.2', '0.5', '1', '2', '5', '10', '20', '50']); // 0.3 → 0.2, 30 → 50
    const powers = plot.lineChartSvg({ series: [{ name: 'wide', x: [0.07, 30], y: [1, 2] }], xLog: true });
    expect([...powers.matchAll(/text-anchor="middle" fill="#333">([^<]*)</g)].map((m) => m[1])).toEqual(['0.01', '0.1', '1', '10', '100']); // > 3 decades
    expect(svg).not.toContain('<polyline');
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1])).slice(0, 3);
    const ticks = [...svg.matchAll(/<line x1="([\d.]+)" y1="[\d.]+" x2="[\d.]+" y2="[\d.]+" stroke="#e5e5e5"/g)].map((m) => Number(m[1]));
    expect(xs[1]).toBeCloseTo(ticks[2], 1); // x = 1 sits on the '1' tick
    // equal ratios, equal distances: 0.2 → 2 spans as much as 5 → 50
    expect(ticks[3] - ticks[0]).toBeCloseTo(ticks[7] - ticks[4], 1);
    expect(() => plot.lineChartSvg({ series: [{ name: 'bad', x: [0, 1], y: [1, 2] }], xLog: true })).toThrow(/logarithmic x axis needs x > 0, got 0/);
  });
});
