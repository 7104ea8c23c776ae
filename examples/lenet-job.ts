/**
 * The training module of examples/serve.ts: LeNet-5 on Fashion-MNIST, built where it runs (a
 * train.Trainer worker, or the server's own thread). `createModel` builds the bare
 * architecture for serve.predictor's workers.
 */
import { data, F, Generator, manualSeed, models, train, type Tensor } from '../lib/index.js';
import { augmented, LENET_RECIPE, fashionAugmentation, oneCycle, nesterovSgd } from './fashion-recipes.js';

/** Fashion-MNIST's training-set pixel mean and std; the server normalises requests with them too. */
export const PIXEL_MEAN = 0.286;
export const PIXEL_STD = 0.353;

/** What the server passes in. */
export interface LeNetJobConfig {
  epochs: number;
  batchSize: number;
  /** Train on the first N images only (quick runs), or all. */
  limit: number | null;
  /** Use the embedded 10k subset even when Debian's full set is installed. */
  subset: boolean;
  /** Where a checkpoint is written after every epoch (the server loads it into its predictor). */
  checkpointDir: string;
  seed: number;
}

/** Images (N, 1, 28, 28) in [0, 1] → normalised. */
export const normalise = (images: Tensor): Tensor => images.sub(PIXEL_MEAN).div(PIXEL_STD);

/** LeNet-5 with fresh weights. */
export const createModel = (): ReturnType<typeof models.lenet5> => models.lenet5();

/**
 * The Trainer's job: LeNet-5 trained by the main job's recipe (examples/fashion-recipes.ts:
 * SGD with Nesterov momentum and weight decay, one-cycle schedule, its augmentation setting),
 * checkpoints after every epoch.
 */
export default function setup(config: LeNetJobConfig): train.FitOptions & { model: ReturnType<typeof models.lenet5> } {
  manualSeed(config.seed);
  const loaded = data.loadFashionMnist({ split: 'train', full: config.subset ? false : undefined });
  const n = Math.min(config.limit ?? loaded.images.shape[0], loaded.images.shape[0]);
  const images = normalise(n === loaded.images.shape[0] ? loaded.images : loaded.images.narrow(0, 0, n));
  const labels = n === loaded.labels.shape[0] ? loaded.labels : loaded.labels.narrow(0, 0, n);
  const model = createModel();
  const optimizer = nesterovSgd(model.parameters(), LENET_RECIPE.maxLr, LENET_RECIPE.weightDecay);
  const shuffle = new Generator(config.seed + 1);
  const augment = new Generator(config.seed + 2);
  const transform = fashionAugmentation(LENET_RECIPE.augment, { mean: PIXEL_MEAN, std: PIXEL_STD }, augment, LENET_RECIPE.padding);
  return {
    model,
    loss: F.crossEntropy,
    optimizer,
    scheduler: oneCycle(optimizer, LENET_RECIPE.maxLr, config.epochs, Math.ceil(n / config.batchSize)),
    schedulerInterval: 'batch',
    trainLoader: new data.DataLoader(augmented(new data.TensorDataset(images, labels), transform), { batchSize: config.batchSize, shuffle: true, generator: shuffle }),
    epochs: config.epochs,
    metrics: { accuracy: train.accuracy },
    callbacks: [new train.ModelCheckpoint({ path: `${config.checkpointDir}/latest.safetensors`, generators: { shuffle, augment } })],
    progress: false,
  };
}
