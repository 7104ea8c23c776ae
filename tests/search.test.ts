/**
 * search.architecture on a tiny setting (Fashion-MNIST subset at 14×14, a few steps per
 * candidate): the Pareto front is exact, evolution's children are single mutations of a
 * member of the population they were drawn from, results reproduce under a seed, the MACs
 * budget rejects before training, bad options are named; the genotype builder's MACs are
 * checked by hand; the plot draws every candidate and renders.
 */
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';

const { search, data, plot } = k;
type Candidate = k.search.Candidate;
type Genotype = k.search.Genotype;

/** 256 training and 128 validation images of the embedded subset, average-pooled to 14×14. */
function tinySplit(): { train: { x: Tensor; y: Tensor }; val: { x: Tensor; y: Tensor } } {
  const { images, labels } = data.loadFashionMnist({ split: 'train', full: false });
  const pick = (start: number, count: number) => {
    const index = k.arange(start, start + count * 37, 37, { dtype: 'int32' }); // spread over the classes
    return { x: k.avgPool2d(k.indexSelect(images, 0, index), 2), y: k.indexSelect(labels, 0, index) };
  };
  return { train: pick(0, 256), val: pick(5, 128) };
}

const split = tinySplit();
const SPACE = { depths: [1, 2], widths: [4, 8], kernelSizes: [1, 3], bottleneck: [false, true], skip: [false, true], pooling: ['max', 'avg'] as const };
const tiny = (extra: Partial<k.search.ArchitectureSearchOptions> = {}): k.search.ArchitectureSearchOptions => ({
  strategy: 'evolution',
  candidates: 8,
  population: 4,
  sampleSize: 2,
  steps: 3,
  batchSize: 32,
  space: { ...SPACE, pooling: [...SPACE.pooling] },
  seed: 7,
  ...split,
  ...extra,
});

/** a dominates b: no worse in both, better in one. */
const dominates = (a: Candidate, b: Candidate): boolean => a.macs <= b.macs && a.accuracy >= b.accuracy && (a.macs < b.macs || a.accuracy > b.accuracy);

/** The single change between two genotypes (independent of search.mutate), or null if they differ in more or nothing. */
function singleChange(parent: Genotype, child: Genotype): string | null {
  const a = parent.blocks;
  const b = child.blocks;
  if (a.length === b.length) {
    const changes: string[] = parent.pooling !== child.pooling ? ['pooling'] : [];
    a.forEach((block, i) => {
      for (const key of ['width', 'kernelSize', 'bottleneck', 'skip'] as const) if (block[key] !== b[i][key]) changes.push(`${i}.${key}`);
    });
    return changes.length === 1 ? changes[0] : null;
  }
  if (parent.pooling !== child.pooling || Math.abs(a.length - b.length) !== 1) return null;
  const [long, short] = a.length > b.length ? [a, b] : [b, a];
  for (let skip = 0; skip < long.length; skip++) {
    const rest = long.filter((_, i) => i !== skip);
    if (JSON.stringify(rest) === JSON.stringify(short)) return a.length > b.length ? 'removed' : 'inserted';
  }
  return null;
}

const withoutTimes = (r: k.search.ArchitectureSearchResult) => JSON.stringify(r.candidates.map(({ trainSeconds: _, ...c }) => c));

describe('search.paretoFront', () => {
  it('keeps exactly the non-dominated points, by increasing cost, ties included', () => {
    const points = [
      { cost: 3, score: 0.9 }, // 0 front
      { cost: 1, score: 0.5 }, // 1 front
      { cost: 2, score: 0.4 }, // 2 dominated by 1
      { cost: 1, score: 0.3 }, // 3 dominated by 1 (same cost)
      { cost: 4, score: 0.9 }, // 4 dominated by 0 (same score)
      { cost: 3, score: 0.9 }, // 5 equal to 0: kept
      { cost: 2, score: 0.7 }, // 6 front
    ];
    expect(search.paretoFront(points)).toEqual([1, 6, 0, 5]);
    expect(search.paretoFront([])).toEqual([]);
    expect(() => search.paretoFront([{ cost: Number.NaN, score: 1 }])).toThrow(/point 0 has cost NaN/);
  });
});

describe('search genotypes', () => {
  it('buildModel: the MACs of a one-block genotype match a hand count', () => {
    const g: Genotype = { blocks: [{ width: 4, kernelSize: 3, bottleneck: false, skip: false }], pooling: 'max' };
    const net = search.buildModel(g, { inChannels: 1, numClasses: 10 });
    // conv 1→4 3×3 on 8×8: 64·4·9 = 2304; conv 4→4: 64·4·36 = 9216; head 4→10: 40
    expect(k.nn.summary(net, [1, 1, 8, 8]).totalMacs).toBe(2304 + 9216 + 40);
    expect(net.forward(k.randn([2, 1, 8, 8])).shape).toEqual([2, 10]);
  });

  it('buildModel: skip connections project when the width changes, bottlenecks use width / 4 inside', () => {
    const g: Genotype = {
      blocks: [
        { width: 8, kernelSize: 3, bottleneck: true, skip: true },
        { width: 8, kernelSize: 5, bottleneck: false, skip: true },
      ],
      pooling: 'avg',
    };
    const net = search.buildModel(g, { inChannels: 1, numClasses: 3 });
    const shapes = Object.fromEntries(net.namedParameters().map(([n, p]) => [n, p.shape]));
    expect(shapes['blocks.0.body.0.weight']).toEqual([2, 1, 1, 1]);
    expect(shapes['blocks.0.body.3.weight']).toEqual([2, 2, 3, 3]);
    expect(shapes['blocks.0.body.6.weight']).toEqual([8, 2, 1, 1]);
    expect(shapes['blocks.0.shortcut.0.weight']).toEqual([8, 1, 1, 1]);
    expect(shapes['blocks.2.body.0.weight']).toEqual([8, 8, 5, 5]); // blocks.1 is the pooling
    expect(Object.keys(shapes).some((n) => n.startsWith('blocks.2.shortcut'))).toBe(false); // identity skip
    expect(net.forward(k.randn([2, 1, 8, 8])).shape).toEqual([2, 3]);
    expect(JSON.parse(JSON.stringify(g))).toEqual(g);
  });

  it('mutate changes exactly one choice, always to another allowed value', () => {
    const space = search.resolveSpace({ ...SPACE, pooling: ['max', 'avg'], depths: [1, 2, 3] });
    const generator = new k.Generator(3);
    for (let i = 0; i < 200; i++) {
      const parent = search.sampleGenotype(space, generator);
      const { genotype, description } = search.mutate(parent, space, generator);
      search.checkGenotype(genotype, space);
      expect(singleChange(parent, genotype), description).not.toBeNull();
    }
  });

  it('names bad spaces and genotypes', () => {
    expect(() => search.resolveSpace({ widths: [0, 8] })).toThrow(/space.widths must be a non-empty list of positive integers, got \[0, 8\]/);
    expect(() => search.resolveSpace({ kernelSizes: [2] })).toThrow(/space.kernelSizes must be a non-empty list of odd positive integers/);
    expect(() => search.resolveSpace({ widths: [6] })).toThrow(/bottleneck blocks need widths divisible by 4/);
    expect(() => search.resolveSpace({ pooling: [] })).toThrow(/space.pooling must be a non-empty list/);
    expect(() => search.checkGenotype({ blocks: [], pooling: 'max' }, search.DEFAULT_SPACE)).toThrow(/depth 0 not in \[1, 2, 3\]/);
    const one = search.resolveSpace({ depths: [1], widths: [8], kernelSizes: [3], bottleneck: [false], skip: [false], pooling: ['max'] });
    expect(() => search.mutate(search.sampleGenotype(one, new k.Generator(0)), one, new k.Generator(0))).toThrow(/nothing to mutate/);
  });
});

describe('search.architecture', () => {
  const evolution = search.architecture(tiny());

  it('the Pareto front is non-dominated, dominates the rest and holds the most accurate and the cheapest candidates', () => {
    const { candidates, paretoFront } = evolution;
    expect(candidates).toHaveLength(8);
    for (const f of paretoFront) expect(candidates.some((c) => dominates(c, f))).toBe(false);
    for (const c of candidates.filter((c) => !paretoFront.includes(c))) expect(paretoFront.some((f) => dominates(f, c))).toBe(true);
    const bestAccuracy = Math.max(...candidates.map((c) => c.accuracy));
    const fewestMacs = Math.min(...candidates.map((c) => c.macs));
    expect(paretoFront.some((f) => f.accuracy === bestAccuracy)).toBe(true);
    expect(paretoFront.some((f) => f.macs === fewestMacs)).toBe(true);
    expect(evolution.best.accuracy).toBe(bestAccuracy);
    expect(paretoFront.map((f) => f.macs)).toEqual([...paretoFront.map((f) => f.macs)].sort((a, b) => a - b));
  });

  it('evolution: P random candidates, then each child a single mutation of a member of the current population', () => {
    const { candidates } = evolution;
    candidates.slice(0, 4).forEach((c) => expect([c.origin, c.parent]).toEqual(['random', null]));
    for (const child of candidates.slice(4)) {
      expect(child.origin).toBe('mutation');
      const parent = child.parent!;
      expect(parent).toBeGreaterThanOrEqual(child.index - 4); // the population holds the 4 newest
      expect(parent).toBeLessThan(child.index);
      expect(singleChange(candidates[parent].genotype, child.genotype), child.mutation!).not.toBeNull();
    }
    for (const c of candidates) {
      expect(c.accuracy).toBeGreaterThanOrEqual(0);
      expect(c.accuracy).toBeLessThanOrEqual(1);
      expect(c.macs).toBe(k.nn.summary(search.buildModel(c.genotype, { inChannels: 1, numClasses: 10 }), [1, 1, 14, 14]).totalMacs);
    }
  });

  it('reproduces under a seed; another seed searches differently', () => {
    expect(withoutTimes(search.architecture(tiny()))).toBe(withoutTimes(evolution));
    const other = search.architecture(tiny({ seed: 8 }));
    expect(JSON.stringify(other.candidates.map((c) => c.genotype))).not.toBe(JSON.stringify(evolution.candidates.map((c) => c.genotype)));
  });

  it('random search draws every candidate; maxMacs rejects before training', () => {
    const cheap = evolution.candidates.map((c) => c.macs).sort((a, b) => a - b)[3];
    const random = search.architecture(tiny({ strategy: 'random', candidates: 5, maxMacs: cheap }));
    expect(random.candidates.every((c) => c.origin === 'random' && c.parent === null && c.macs <= cheap)).toBe(true);
    expect(random.rejected.length).toBeGreaterThan(0);
    expect(random.rejected.every((r) => r.macs > cheap)).toBe(true);
    expect(String(random)).toMatch(/random: 5 trained, \d+ rejected over maxMacs/);
  });

  it('the plot shows every candidate and each front, and renders to PNG', () => {
    const random = search.architecture(tiny({ strategy: 'random', candidates: 4, seed: 1 }));
    const svg = search.searchPlotSvg([random, evolution]);
    const dots = svg.match(/<circle /g)?.length ?? 0;
    expect(dots).toBe(random.candidates.length + evolution.candidates.length + 2); // + two legend dots
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    const png = PNG.sync.read(Buffer.from(plot.svgToPng(svg)));
    expect([png.width, png.height]).toEqual([720, 440]);
  });

  it('a candidate whose loss turns non-finite scores 0 and the search goes on', () => {
    const result = search.architecture(tiny({ strategy: 'random', candidates: 2, lr: 1e30 }));
    expect(result.candidates).toHaveLength(2);
    for (const c of result.candidates) {
      expect(c.diverged).toMatch(/the training loss is (NaN|-?Infinity)/);
      expect([c.accuracy, c.valLoss]).toEqual([0, Number.NaN]);
    }
    expect(String(result)).toContain('(diverged: loss not finite)');
    expect(evolution.candidates.every((c) => c.diverged === null)).toBe(true);
  });

  it('names bad options', () => {
    expect(() => search.architecture(tiny({ strategy: 'grid' as 'random' }))).toThrow(/strategy must be 'random' or 'evolution', got grid/);
    expect(() => search.architecture(tiny({ candidates: 0 }))).toThrow(/candidates must be an integer ≥ 1, got 0/);
    expect(() => search.architecture(tiny({ population: 9 }))).toThrow(/population \(9\) must not exceed candidates \(8\)/);
    expect(() => search.architecture(tiny({ sampleSize: 5 }))).toThrow(/sampleSize \(5\) must not exceed population \(4\)/);
    expect(() => search.architecture(tiny({ epochs: 1 }))).toThrow(/either epochs or steps/);
    expect(() => search.architecture(tiny({ maxMacs: 1 }))).toThrow(/1000 genotypes in a row exceeded maxMacs 1/);
    expect(() => search.architecture(tiny({ train: { x: k.zeros([4, 14, 14]), y: split.train.y } }))).toThrow(/train.x must be float images \(N, C, H, W\), got float32 \[4, 14, 14\]/);
    expect(() => search.architecture(tiny({ space: { depths: [5] } }))).toThrow(/images of 14×14 are too small for 5 blocks/);
  });
});
