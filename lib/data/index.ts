/**
 * kiln.data: datasets, the DataLoader, samplers, seeded image transforms, readers for
 * IDX, CSV and PNG files, ImageFolder and Fashion-MNIST — the input side of a training loop,
 * like `torch.utils.data` plus a few torchvision transforms and datasets.
 *
 * Example:
 * ```ts
 * import { data, Generator } from 'kiln';
 * const images = data.readIdx('train-images-idx3-ubyte.gz', { dtype: 'float32' });
 * const labels = data.readIdx('train-labels-idx1-ubyte.gz');
 * const ds = new data.TensorDataset(images.div(255).reshape([-1, 1, 28, 28]), labels);
 * const [train, val] = data.randomSplit(ds, [0.9, 0.1], { generator: new Generator(0) });
 * const loader = new data.DataLoader(train, { batchSize: 64, shuffle: true, generator: new Generator(1) });
 * for (const [x, y] of loader) { … }
 * ```
 */
export { DataError } from './errors.js';
export { Dataset, IterableDataset, TensorDataset, Subset, randomSplit, kFold, randperm, type Fold, type SplitOptions, type KFoldOptions } from './dataset.js';
export { defaultCollate } from './collate.js';
export { DataLoader, type DataLoaderOptions } from './loader.js';
export {
  SequentialSampler,
  RandomSampler,
  WeightedRandomSampler,
  balancedSampler,
  type Sampler,
  type RandomSamplerOptions,
  type WeightedRandomSamplerOptions,
  type BalancedSamplerOptions,
} from './sampler.js';
export * from './transforms.js';
export * from './readers.js';
export {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEBIAN_ROOT,
  FASHION_MNIST_EMBEDDED_ROOT,
  FashionMNIST,
  loadFashionMnist,
  locateFashionMnist,
  readUbyteIdx,
  type FashionMnistData,
  type FashionMnistFiles,
  type FashionMnistOptions,
  type FashionMnistPlaces,
  type FashionMnistSource,
  type FashionMnistSplit,
  type UbyteIdx,
} from './fashion-mnist.js';
export { readPng, decodePng, writePng, encodePng, type PngReadMode, type ReadPngOptions, type WritePngOptions } from './png.js';
export { ImageFolder, type ImageFolderOptions } from './image-folder.js';
export { TransformDataset, type TransformDatasetOptions } from './transform-dataset.js';
