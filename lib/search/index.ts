/**
 * kiln.search: architecture search over a small cell space of image classifiers (depth, width,
 * kernel size, bottleneck, skip connections, pooling) with random search and regularized
 * evolution, each candidate trained briefly and scored by validation accuracy, reported with
 * its MACs and the Pareto front of accuracy against MACs.
 *
 * Example:
 * ```ts
 * import { search } from 'kiln';
 * const result = search.architecture({ strategy: 'random', candidates: 10, train, val, steps: 50 });
 * console.log(String(result));
 * search.writeSearchPlot('out/search', [result]);
 * ```
 */
export {
  DEFAULT_SPACE,
  SearchError,
  resolveSpace,
  checkGenotype,
  sampleGenotype,
  mutate,
  describeGenotype,
  type Genotype,
  type BlockGene,
  type PoolingChoice,
  type SearchSpace,
  type Mutation,
} from './genotype.js';
export { buildModel, SearchBlock, type BuildOptions } from './build.js';
export { paretoFront } from './pareto.js';
export { architecture, ArchitectureSearchResult, type ArchitectureSearchOptions, type Candidate, type Rejection, type LabelledImages } from './architecture.js';
export { searchPlotSvg, writeSearchPlot, type SearchPlotOptions } from './plot.js';
