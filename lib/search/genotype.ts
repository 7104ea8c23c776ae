/**
 * The cell space of search.architecture: a genotype is a plain JSON object (a list of blocks,
 * each with its width, kernel size, bottleneck and skip choices, and the pooling used to
 * downsample between blocks), so results can be saved, compared and rebuilt. Sampling and
 * mutation draw from a seeded Generator, so a search is reproducible.
 */
import { KilnError } from '../errors.js';
import type { Generator } from '../random.js';

/**
 * Bad search options, a genotype outside its space, or a budget nothing fits in. The message
 * names the option, what was given and what was expected.
 *
 * Example: `search.architecture: space.widths must be a non-empty list of positive integers, got [0, 8]`.
 */
export class SearchError extends KilnError {
  override name = 'SearchError';
}

/** How a genotype downsamples between blocks: 2×2 max or average pooling. */
export type PoolingChoice = 'max' | 'avg';

/**
 * One block of a genotype: k×k convolution, BatchNorm, ReLU, twice (or, with bottleneck,
 * 1×1 → k×k → 1×1 at a quarter of the width inside), with an optional residual connection.
 */
export interface BlockGene {
  /** Output channels. */
  width: number;
  /** Kernel size of the spatial convolutions (odd, "same" padding). */
  kernelSize: number;
  /** 1×1 → k×k → 1×1 with width/4 channels inside (ResNet's bottleneck) instead of two k×k convolutions. */
  bottleneck: boolean;
  /** Add the block's input (through a 1×1 projection when the width changes) to its output. */
  skip: boolean;
}

/**
 * A candidate architecture: its blocks in order (depth = blocks.length) and the pooling that
 * halves the resolution after every block but the last (a global average pool and a linear
 * classifier follow the last block). Plain JSON: `JSON.parse(JSON.stringify(g))` is the same genotype.
 *
 * Example: `{ blocks: [{ width: 16, kernelSize: 3, bottleneck: false, skip: true }], pooling: 'max' }`.
 */
export interface Genotype {
  blocks: BlockGene[];
  pooling: PoolingChoice;
}

/**
 * The choices of the cell space; every field is a non-empty list of allowed values.
 *
 * Example: `{ depths: [1, 2, 3], widths: [8, 16, 32], kernelSizes: [3, 5], bottleneck: [false, true], skip: [false, true], pooling: ['max', 'avg'] }` (the default).
 */
export interface SearchSpace {
  /** Allowed numbers of blocks. */
  depths: readonly number[];
  /** Allowed block widths (output channels). */
  widths: readonly number[];
  /** Allowed kernel sizes (odd: 1, 3, 5, 7, …). */
  kernelSizes: readonly number[];
  /** Allowed bottleneck settings. */
  bottleneck: readonly boolean[];
  /** Allowed skip-connection settings. */
  skip: readonly boolean[];
  /** Allowed downsampling poolings. */
  pooling: readonly PoolingChoice[];
}

/**
 * The default space: 1–3 blocks of 8, 16 or 32 channels, 3×3 or 5×5 kernels, bottleneck and
 * skip on or off, max or average pooling (3 · (3·2·2·2)^d · 2 genotypes ≈ 3.7 million for d ≤ 3).
 *
 * Example: `search.architecture({ ..., space: { ...search.DEFAULT_SPACE, widths: [4, 8] } })`.
 */
export const DEFAULT_SPACE: SearchSpace = Object.freeze({
  depths: [1, 2, 3],
  widths: [8, 16, 32],
  kernelSizes: [3, 5],
  bottleneck: [false, true],
  skip: [false, true],
  pooling: ['max', 'avg'] as PoolingChoice[],
});

const list = (values: readonly unknown[]): string => `[${values.map(String).join(', ')}]`;

function checkChoices<T>(name: string, values: unknown, valid: (v: unknown) => v is T, expected: string): void {
  if (!Array.isArray(values) || values.length === 0 || !values.every(valid)) {
    throw new SearchError(`search.architecture: space.${name} must be a non-empty list of ${expected}, got ${Array.isArray(values) ? list(values) : String(values)}`);
  }
}

const isPositiveInteger = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;
const isOddKernel = (v: unknown): v is number => isPositiveInteger(v) && (v as number) % 2 === 1;
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isPooling = (v: unknown): v is PoolingChoice => v === 'max' || v === 'avg';

/**
 * The space with defaults for missing fields, checked: every bad field is a SearchError
 * naming it. Widths of bottleneck blocks must be divisible by 4.
 *
 * Example: `search.resolveSpace({ widths: [8, 16] }).depths` → [1, 2, 3].
 */
export function resolveSpace(space: Partial<SearchSpace> = {}): SearchSpace {
  const full = { ...DEFAULT_SPACE, ...space };
  checkChoices('depths', full.depths, isPositiveInteger, 'positive integers');
  checkChoices('widths', full.widths, isPositiveInteger, 'positive integers');
  checkChoices('kernelSizes', full.kernelSizes, isOddKernel, 'odd positive integers (1, 3, 5, …)');
  checkChoices('bottleneck', full.bottleneck, isBoolean, 'booleans');
  checkChoices('skip', full.skip, isBoolean, 'booleans');
  checkChoices('pooling', full.pooling, isPooling, "'max' / 'avg'");
  if (full.bottleneck.includes(true) && full.widths.some((w) => w % 4 !== 0)) {
    throw new SearchError(`search.architecture: bottleneck blocks need widths divisible by 4 (width/4 channels inside), got space.widths ${list(full.widths)}`);
  }
  return full;
}

/**
 * Throws a SearchError naming the first field of `genotype` outside `space` (or malformed).
 *
 * Example: `search.checkGenotype({ blocks: [], pooling: 'max' }, search.DEFAULT_SPACE)` throws (depth 0 not in [1, 2, 3]).
 */
export function checkGenotype(genotype: Genotype, space: SearchSpace): void {
  const bad = (what: string): never => {
    throw new SearchError(`search: genotype ${JSON.stringify(genotype)} is outside the space: ${what}`);
  };
  if (genotype === null || typeof genotype !== 'object' || !Array.isArray(genotype.blocks)) bad('expected { blocks: BlockGene[], pooling }');
  if (!space.depths.includes(genotype.blocks.length)) bad(`depth ${genotype.blocks.length} not in ${list(space.depths)}`);
  if (!space.pooling.includes(genotype.pooling)) bad(`pooling '${String(genotype.pooling)}' not in ${list(space.pooling)}`);
  genotype.blocks.forEach((b, i) => {
    if (b === null || typeof b !== 'object') bad(`block ${i} is not a { width, kernelSize, bottleneck, skip } object`);
    if (!space.widths.includes(b.width)) bad(`block ${i} width ${b?.width} not in ${list(space.widths)}`);
    if (!space.kernelSizes.includes(b.kernelSize)) bad(`block ${i} kernelSize ${b.kernelSize} not in ${list(space.kernelSizes)}`);
    if (!space.bottleneck.includes(b.bottleneck)) bad(`block ${i} bottleneck ${b.bottleneck} not in ${list(space.bottleneck)}`);
    if (!space.skip.includes(b.skip)) bad(`block ${i} skip ${b.skip} not in ${list(space.skip)}`);
  });
}

/** A uniformly drawn element of a non-empty list. */
function pick<T>(values: readonly T[], generator: Generator): T {
  return values[generator.integer(0, values.length)];
}

function sampleBlock(space: SearchSpace, generator: Generator): BlockGene {
  return {
    width: pick(space.widths, generator),
    kernelSize: pick(space.kernelSizes, generator),
    bottleneck: pick(space.bottleneck, generator),
    skip: pick(space.skip, generator),
  };
}

/**
 * A genotype drawn uniformly: depth, then each block's choices, then the pooling.
 *
 * Example: `search.sampleGenotype(search.DEFAULT_SPACE, new Generator(0))`.
 */
export function sampleGenotype(space: SearchSpace, generator: Generator): Genotype {
  const depth = pick(space.depths, generator);
  const blocks = Array.from({ length: depth }, () => sampleBlock(space, generator));
  return { blocks, pooling: pick(space.pooling, generator) };
}

/** A mutated genotype and what was changed, e.g. 'block 1 width 16 → 32'. */
export interface Mutation {
  genotype: Genotype;
  description: string;
}

type BlockField = 'width' | 'kernelSize' | 'bottleneck' | 'skip';
const BLOCK_FIELDS: Record<BlockField, (space: SearchSpace) => readonly (number | boolean)[]> = {
  width: (s) => s.widths,
  kernelSize: (s) => s.kernelSizes,
  bottleneck: (s) => s.bottleneck,
  skip: (s) => s.skip,
};

/** The mutations open to a genotype: each changes exactly one choice to another allowed value. */
function mutationsOf(g: Genotype, space: SearchSpace, generator: Generator): (() => Mutation)[] {
  const copy = (): Genotype => structuredClone(g);
  const options: (() => Mutation)[] = [];
  g.blocks.forEach((block, i) => {
    for (const [field, choices] of Object.entries(BLOCK_FIELDS) as [BlockField, (s: SearchSpace) => readonly (number | boolean)[]][]) {
      const others = choices(space).filter((v) => v !== block[field]);
      if (others.length === 0) continue;
      options.push(() => {
        const next = copy();
        const value = pick(others, generator);
        (next.blocks[i] as unknown as Record<BlockField, number | boolean>)[field] = value;
        return { genotype: next, description: `block ${i} ${field} ${String(block[field])} → ${String(value)}` };
      });
    }
  });
  if (space.depths.includes(g.blocks.length + 1)) {
    options.push(() => {
      const next = copy();
      const at = generator.integer(0, g.blocks.length + 1);
      next.blocks.splice(at, 0, sampleBlock(space, generator));
      return { genotype: next, description: `block inserted at ${at}` };
    });
  }
  if (space.depths.includes(g.blocks.length - 1)) {
    options.push(() => {
      const next = copy();
      const at = generator.integer(0, g.blocks.length);
      next.blocks.splice(at, 1);
      return { genotype: next, description: `block ${at} removed` };
    });
  }
  const otherPooling = space.pooling.filter((p) => p !== g.pooling);
  if (otherPooling.length > 0) {
    options.push(() => {
      const next = copy();
      next.pooling = pick(otherPooling, generator);
      return { genotype: next, description: `pooling ${g.pooling} → ${next.pooling}` };
    });
  }
  return options;
}

/**
 * Regularized evolution's mutation: one choice, drawn uniformly among all the genotype's
 * possible single changes (a block's width, kernel size, bottleneck or skip; a block inserted
 * or removed; the pooling), set to another allowed value. The result always differs from the
 * parent in exactly that choice. Throws when the space leaves nothing to change.
 *
 * Example: `search.mutate(parent, search.DEFAULT_SPACE, new Generator(1)).description` → e.g. 'block 0 kernelSize 3 → 5'.
 */
export function mutate(genotype: Genotype, space: SearchSpace, generator: Generator): Mutation {
  const options = mutationsOf(genotype, space, generator);
  if (options.length === 0) throw new SearchError(`search: the space allows only one genotype (${JSON.stringify(genotype)}): nothing to mutate`);
  return pick(options, generator)();
}

/**
 * A one-line description of a genotype: each block as width·k·(b)(s), then the pooling.
 *
 * Example: `search.describeGenotype(g)` → '16k3s 32k5bs | max' (b: bottleneck, s: skip).
 */
export function describeGenotype(genotype: Genotype): string {
  const blocks = genotype.blocks.map((b) => `${b.width}k${b.kernelSize}${b.bottleneck ? 'b' : ''}${b.skip ? 's' : ''}`);
  return `${blocks.join(' ')} | ${genotype.pooling}`;
}
