/**
 * The main job (`npm start`): LeNet-5 learns Fashion-MNIST. It finds the data (a folder you
 * name, else Debian's full set in /usr/share/datasets/fashion-mnist, else the 10k/2k subset
 * embedded in the repo), holds out a validation split, trains with a progress bar, early
 * stopping and a resumable checkpoint per epoch, then prints the test accuracy, per-class
 * figures and the confusion matrix, and writes the model (safetensors), the learning curve
 * and the confusion matrix (PNG and SVG), the history (JSONL) and a training report
 * (report.html: one self-contained page) to the output folder; with `--explain N`, also
 * Grad-CAM, guided-backprop and occlusion pictures of the first N test images.
 *
 * Run: `npm start`, or `npm start -- --help` for the flags.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  backendInfo,
  data,
  F,
  Generator,
  getNumThreads,
  io,
  manualSeed,
  metrics,
  models,
  noGrad,
  optim,
  serve,
  setBackend,
  setNumThreads,
  train,
  type BackendName,
  viz,
  cat,
  type nn,
  type Tensor,
} from '../lib/index.js';
import { runResnetRecipe } from './resnet-fashion-mnist.js';
import { augmented, LENET_RECIPE, fashionAugmentation, oneCycle, nesterovSgd, type Augmentation } from './fashion-recipes.js';

/** The test images attacked by --robustness (PGD-10 on all 10,000 of the full set would take minutes). */
const ROBUSTNESS_SAMPLES = 1000;

const HELP = `Usage: npm start -- [options]

Trains LeNet-5 on Fashion-MNIST and evaluates it on the test set. The default recipe: SGD
with Nesterov momentum and weight decay under a one-cycle schedule (about 91.8% test
accuracy on the full set in 12 epochs).

Options:
  --model NAME        lenet5 (default), or resnet18 / resnet34: the small-input ResNet recipe of
                      examples/resnet-fashion-mnist.ts, which takes the remaining flags
                      (npm start -- --model resnet18 --help lists them)
  --epochs N          epochs to train (default ${LENET_RECIPE.epochs})
  --batch-size N      samples per batch (default ${LENET_RECIPE.batchSize})
  --lr X              learning rate; the peak of the one-cycle schedule (default ${LENET_RECIPE.maxLr})
  --optimizer NAME    sgd (Nesterov momentum 0.9), adam, adamw, rmsprop or adagrad (default sgd)
  --weight-decay X    SGD's weight decay (default ${LENET_RECIPE.weightDecay})
  --schedule NAME     learning-rate schedule: onecycle (per batch), cosine, step or none
                      (default onecycle)
  --augment NAME      training-image augmentation: crop-flip (random shifts of up to
                      ${LENET_RECIPE.padding} pixels, then left-right flips), crop, flip or none
                      (default ${LENET_RECIPE.augment})
  --patience N        early stopping: epochs without a better val loss (default 3)
  --threads N         native threads (default: all cores, ${getNumThreads()} here)
  --backend NAME      native or reference (default: native when it loads)
  --data-dir DIR      a folder with the four Fashion-MNIST IDX files
  --subset            use the embedded 10k/2k subset even when the full set is present
  --limit N           train on the first N training samples only (quick runs)
  --val-fraction X    share of the training data held out for validation (default 0.1)
  --out-dir DIR       where the model, plots and history go (default out)
  --resume            continue from <out-dir>/checkpoint.safetensors
  --diagnose          run the before-training checks (gradient check, initial loss, overfit) first
  --explain N         write Grad-CAM, guided backprop and occlusion PNGs of the first N test
                      images to <out-dir>/explain (default 0)
  --adversarial EPS   adversarial training: learn from PGD-7 examples within an L∞ ball of
                      EPS (in pixel units, 0 to 1) around each training image
  --robustness EPS    after training, print the accuracy on the first ${ROBUSTNESS_SAMPLES} test images
                      under FGSM and PGD-10 attacks of L∞ size EPS (pixel units)
  --seed N            seed of every random choice (default 0)
  --dashboard [PORT]  serve a live dashboard (learning curves, throughput, confusion matrix,
                      Pause and Stop) on http://127.0.0.1:PORT/ (default 8080; 0: any free
                      port) while training runs (fitAsync); Stop writes the checkpoint
  -h, --help          show this help
`;

/** The parsed command line. */
interface Options {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: string;
  weightDecay: number;
  schedule: string;
  augment: Augmentation;
  patience: number;
  threads: number | undefined;
  backend: string | undefined;
  dataDir: string | undefined;
  subset: boolean;
  limit: number | undefined;
  valFraction: number;
  outDir: string;
  resume: boolean;
  diagnose: boolean;
  explain: number;
  adversarial: number | undefined;
  robustness: number | undefined;
  seed: number;
  /** The dashboard's port, or undefined without --dashboard. */
  dashboard: number | undefined;
}

/** The port `--dashboard` serves on when none is given. */
const DEFAULT_DASHBOARD_PORT = 8080;

/** Takes `--dashboard [PORT]` out of argv (its port is optional, which parseArgs cannot express). */
function takeDashboardFlag(argv: string[]): { rest: string[]; dashboard: number | undefined } {
  const at = argv.findIndex((arg) => arg === '--dashboard' || arg.startsWith('--dashboard='));
  if (at < 0) return { rest: argv, dashboard: undefined };
  const inline = argv[at].startsWith('--dashboard=') ? argv[at].slice('--dashboard='.length) : undefined;
  const next = argv[at + 1];
  const separate = inline === undefined && next !== undefined && !next.startsWith('-') ? next : undefined;
  const text = inline ?? separate;
  const dashboard = text === undefined ? DEFAULT_DASHBOARD_PORT : integer('--dashboard', text, 0);
  if (dashboard > 65535) throw new Error(`--dashboard must be a port in [0, 65535], got '${text}'`);
  return { rest: [...argv.slice(0, at), ...argv.slice(at + (separate === undefined ? 1 : 2))], dashboard };
}

/** Reads the flags; throws an Error naming the flag and value that are wrong. */
function parseOptions(argv: string[]): Options | null {
  const { rest, dashboard } = takeDashboardFlag(argv);
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      epochs: { type: 'string', default: String(LENET_RECIPE.epochs) },
      'batch-size': { type: 'string', default: String(LENET_RECIPE.batchSize) },
      lr: { type: 'string', default: String(LENET_RECIPE.maxLr) },
      optimizer: { type: 'string', default: 'sgd' },
      'weight-decay': { type: 'string', default: String(LENET_RECIPE.weightDecay) },
      schedule: { type: 'string', default: 'onecycle' },
      augment: { type: 'string', default: LENET_RECIPE.augment },
      patience: { type: 'string', default: '3' },
      threads: { type: 'string' },
      backend: { type: 'string' },
      'data-dir': { type: 'string' },
      subset: { type: 'boolean', default: false },
      limit: { type: 'string' },
      'val-fraction': { type: 'string', default: '0.1' },
      'out-dir': { type: 'string', default: 'out' },
      resume: { type: 'boolean', default: false },
      diagnose: { type: 'boolean', default: false },
      explain: { type: 'string', default: '0' },
      adversarial: { type: 'string' },
      robustness: { type: 'string' },
      seed: { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return null;
  const optional = (flag: string, text: string | undefined, min: number) => (text === undefined ? undefined : integer(flag, text, min));
  return {
    epochs: integer('--epochs', values.epochs, 1),
    batchSize: integer('--batch-size', values['batch-size'], 1),
    lr: positive('--lr', values.lr),
    optimizer: oneOf('--optimizer', values.optimizer, ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad']),
    weightDecay: nonNegative('--weight-decay', values['weight-decay']),
    schedule: oneOf('--schedule', values.schedule, ['onecycle', 'cosine', 'step', 'none']),
    augment: oneOf('--augment', values.augment, ['crop-flip', 'crop', 'flip', 'none']) as Augmentation,
    patience: integer('--patience', values.patience, 1),
    threads: optional('--threads', values.threads, 1),
    backend: values.backend === undefined ? undefined : oneOf('--backend', values.backend, ['native', 'reference']),
    dataDir: values['data-dir'],
    subset: values.subset,
    limit: optional('--limit', values.limit, 1),
    valFraction: fraction('--val-fraction', values['val-fraction']),
    outDir: values['out-dir'],
    resume: values.resume,
    diagnose: values.diagnose,
    explain: integer('--explain', values.explain, 0),
    adversarial: values.adversarial === undefined ? undefined : fraction('--adversarial', values.adversarial),
    robustness: values.robustness === undefined ? undefined : fraction('--robustness', values.robustness),
    seed: integer('--seed', values.seed, 0),
    dashboard,
  };
}

function integer(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`${flag} must be an integer ≥ ${min}, got '${text}'`);
  return value;
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (!(value > 0 && Number.isFinite(value))) throw new Error(`${flag} must be a positive number, got '${text}'`);
  return value;
}

function nonNegative(flag: string, text: string): number {
  const value = Number(text);
  if (!(value >= 0 && Number.isFinite(value))) throw new Error(`${flag} must be a number ≥ 0, got '${text}'`);
  return value;
}

function fraction(flag: string, text: string): number {
  const value = Number(text);
  if (!(value > 0 && value < 1)) throw new Error(`${flag} must be a number between 0 and 1, got '${text}'`);
  return value;
}

function oneOf(flag: string, text: string, choices: string[]): string {
  if (!choices.includes(text)) throw new Error(`${flag} must be one of ${choices.join(', ')}, got '${text}'`);
  return text;
}

/** The train, validation and test sets, normalised with the training part's mean and std. */
interface Splits {
  train: data.Dataset<Tensor[]>;
  val: data.Dataset<Tensor[]>;
  test: data.TensorDataset;
  source: string;
  /** The training pixels' mean and std the splits were normalised with. */
  pixels: { mean: number; std: number };
}

function loadSplits(options: Options): Splits {
  const where = { root: options.dataDir, full: options.subset ? false : undefined };
  const trainData = data.loadFashionMnist({ ...where, split: 'train' });
  const testData = data.loadFashionMnist({ ...where, split: 'test' });
  const count = Math.min(options.limit ?? Infinity, trainData.images.shape[0]);
  const valCount = Math.max(1, Math.round(count * options.valFraction));
  const [trainPart, valPart] = data.randomSplit(new data.TensorDataset(trainData.images, trainData.labels), [count - valCount, valCount, trainData.images.shape[0] - count], {
    generator: new Generator(options.seed),
  });
  const { mean, std } = pixelStats(trainPart);
  const normalised = new data.TensorDataset(trainData.images.sub(mean).div(std), trainData.labels);
  return {
    train: new data.Subset(normalised, trainPart.indices),
    val: new data.Subset(normalised, valPart.indices),
    test: new data.TensorDataset(testData.images.sub(mean).div(std), testData.labels),
    source: `${trainData.source} (${trainData.root})`,
    pixels: { mean, std },
  };
}

/** Mean and standard deviation of every pixel of a split (training statistics only). */
function pixelStats(split: data.Subset<Tensor[]>): { mean: number; std: number } {
  const [images] = split.getBatch!([...Array(split.length).keys()]) as Tensor[];
  return { mean: images.mean().item(), std: images.std().item() };
}

function makeOptimizer(options: Options, params: Tensor[]): optim.Optimizer<{ lr: number }> {
  switch (options.optimizer) {
    case 'adam':
      return new optim.Adam(params, { lr: options.lr });
    case 'adamw':
      return new optim.AdamW(params, { lr: options.lr });
    case 'rmsprop':
      return new optim.RMSprop(params, { lr: options.lr });
    case 'adagrad':
      return new optim.Adagrad(params, { lr: options.lr });
    default:
      return nesterovSgd(params, options.lr, options.weightDecay);
  }
}

function makeScheduler(options: Options, optimizer: optim.Optimizer<{ lr: number }>, stepsPerEpoch: number): train.Scheduler | undefined {
  if (options.schedule === 'onecycle') return oneCycle(optimizer, options.lr, options.epochs, stepsPerEpoch);
  if (options.schedule === 'cosine') return new optim.CosineAnnealingLR(optimizer, { TMax: options.epochs });
  if (options.schedule === 'step') return new optim.StepLR(optimizer, { stepSize: Math.max(1, Math.floor(options.epochs / 3)), gamma: 0.1 });
  return undefined;
}

/** The model's scores (N, 10) on the whole test set, in batches of 1000. */
function predict(model: nn.Module, test: data.TensorDataset): Tensor {
  model.eval();
  return noGrad(() => {
    const parts: Tensor[] = [];
    for (let at = 0; at < test.length; at += 1000) {
      const rows = [...Array(Math.min(1000, test.length - at)).keys()].map((i) => at + i);
      const [x] = test.getBatch(rows);
      parts.push(model.forward(x) as Tensor);
    }
    return cat(parts, 0);
  });
}

/** Prints test accuracy, per-class precision/recall/F1 and the confusion matrix; writes its plot. Returns the accuracy. */
function printTestResults(scores: Tensor, test: data.TensorDataset, outDir: string): number {
  const predicted = scores.argmax(1);
  const targets = test.tensors[1];
  const matrix = metrics.confusionMatrix(predicted, targets, 10);
  const accuracy = metrics.accuracy(predicted, targets);
  const names = data.FASHION_MNIST_CLASSES;
  const [p, r, f] = [metrics.precision(matrix, { average: 'none' }), metrics.recall(matrix, { average: 'none' }), metrics.f1Score(matrix, { average: 'none' })];
  console.log(`\ntest accuracy ${(100 * accuracy).toFixed(2)}% on ${test.length} images (macro F1 ${metrics.f1Score(matrix).toFixed(3)})\n`);
  console.log(`${'class'.padEnd(12)} precision  recall  F1`);
  names.forEach((name, k) => console.log(`${name.padEnd(12)} ${p[k].toFixed(3).padStart(9)}  ${r[k].toFixed(3).padStart(6)}  ${f[k].toFixed(3)}`));
  console.log(`\nconfusion matrix (rows: true class, columns: predicted)\n${metrics.formatConfusionMatrix(matrix, names)}`);
  metrics.plotConfusionMatrix(join(outDir, 'confusion-matrix'), matrix, { classNames: names, title: `LeNet-5 on Fashion-MNIST: test accuracy ${(100 * accuracy).toFixed(2)}%` });
  return accuracy;
}

/** An L∞ attack budget of eps pixel units, in the normalised inputs' units, with their valid range. */
function budget(splits: Splits, eps: number): { eps: number; clamp: [number, number] } {
  const { mean, std } = splits.pixels;
  return { eps: eps / std, clamp: [(0 - mean) / std, (1 - mean) / std] };
}

/** PGD-7 adversarial training at eps (pixel units). */
function adversarialTraining(splits: Splits, eps: number): train.AdversarialTraining {
  return { attack: (m, x, y) => viz.pgd(m, x, y, { ...budget(splits, eps), steps: 7 }) };
}

/** Prints the accuracy on the first ROBUSTNESS_SAMPLES test images under FGSM and PGD-10 at eps (pixel units). */
function printRobustness(model: nn.Module, splits: Splits, eps: number): void {
  model.eval();
  const count = Math.min(ROBUSTNESS_SAMPLES, splits.test.length);
  const [x, y] = splits.test.tensors.map((t) => t.narrow(0, 0, count));
  const batches = [...Array(Math.ceil(x.shape[0] / 500)).keys()].map((b) => [x.narrow(0, 500 * b, Math.min(500, x.shape[0] - 500 * b)), y.narrow(0, 500 * b, Math.min(500, x.shape[0] - 500 * b))]);
  const fgsm = viz.robustAccuracy(model, batches, (m, xb, yb) => viz.fgsm(m, xb, yb, budget(splits, eps)));
  const pgd = viz.robustAccuracy(model, batches, (m, xb, yb) => viz.pgd(m, xb, yb, { ...budget(splits, eps), steps: 10, generator: new Generator(0) }));
  console.log(`\non the first ${count} test images under attack at L∞ ε = ${eps} (pixel units): FGSM accuracy ${(100 * fgsm.robust).toFixed(2)}%, PGD-10 accuracy ${(100 * pgd.robust).toFixed(2)}% (clean ${(100 * fgsm.clean).toFixed(2)}%)`);
}

/** Normalised images back to pixels in [0, 1], for pictures. */
const pixelsOf = (splits: Splits) => (x: Tensor): Tensor => x.mul(splits.pixels.std).add(splits.pixels.mean);

/** Writes <outDir>/report.html and checks it shows the accuracy just printed. Returns its path. */
function writeReport(model: nn.Module, history: train.History, splits: Splits, scores: Tensor, outDir: string, accuracy: number): string[] {
  const [inputs, targets] = splits.test.tensors;
  const result = train.report({
    path: join(outDir, 'report.html'),
    model,
    history,
    test: { inputs, targets },
    classNames: data.FASHION_MNIST_CLASSES,
    title: 'LeNet-5 on Fashion-MNIST',
    display: pixelsOf(splits),
    scores, // the test-set outputs printTestResults used: no second pass
  });
  if (result.accuracy !== accuracy) throw new Error(`the report's test accuracy ${result.accuracy} differs from the evaluation's ${accuracy}`);
  return [result.path];
}

/**
 * Grad-CAM (at the second conv layer), guided backprop and occlusion (6×6 patches of black,
 * stride 2) of the first n test images for their predicted classes, as PNGs in dir.
 */
function explain(model: nn.Module, splits: Splits, n: number, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  model.eval();
  const count = Math.min(n, splits.test.length);
  const [x] = splits.test.getBatch([...Array(count).keys()]);
  const predicted = noGrad(() => (model.forward(x) as Tensor).argmax(1));
  const target = [...(predicted.data as Int32Array)];
  const both = viz.gradCamAndGuidedBackprop(model, x, '3', { target }); // one forward for the two
  const cam = both.cam;
  const guided = both.guided.abs().amax(1);
  const black = (0 - splits.pixels.mean) / splits.pixels.std;
  const unoccluded = noGrad(() => (model.forward(x) as Tensor).softmax(1).gather(1, predicted.unsqueeze(1)));
  const drop = unoccluded.unsqueeze(2).sub(viz.occlusion(model, x, { target, size: 6, stride: 2, fill: black })); // (N, 12, 12)
  const pictures = pixelsOf(splits)(x).clamp(0, 1);
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const base = join(dir, `${i}-${data.FASHION_MNIST_CLASSES[target[i]].replace(/\W+/g, '-').toLowerCase()}`);
    const image = pictures.select(0, i);
    viz.overlayPng(image, cam.select(0, i), `${base}-gradcam.png`);
    viz.overlayPng(image, drop.select(0, i), `${base}-occlusion.png`);
    viz.overlayPng(image, guided.select(0, i), `${base}-guided-backprop.png`, { alpha: 0.8 });
    paths.push(`${base}-{gradcam,occlusion,guided-backprop}.png`);
  }
  return paths;
}

/** One line saying what --resume picked up and what is left to do. */
function describeResume(path: string, state: train.TrainingState, epochs: number): string {
  const last = state.history.at(-1);
  const lastText = last === undefined ? '' : `, last val_loss ${last.val_loss?.toFixed(4) ?? 'n/a'}`;
  const left = epochs > state.epoch ? `continuing with epochs ${state.epoch + 1}–${epochs}` : `nothing left to train (--epochs ${epochs})`;
  return `resumed from ${path}: ${state.epoch} epoch(s) done${lastText}; ${left}`;
}

function runDiagnose(model: nn.Module, splits: Splits): void {
  const [inputs, targets] = splits.train.getBatch!([...Array(32).keys()]) as Tensor[];
  console.log('before-training checks:');
  train.diagnose(model, { inputs, targets, loss: F.crossEntropy, numClasses: 10 });
}

/** "native backend (avx512 kernels, local build), 2 threads" or "reference backend (single-threaded TypeScript)". */
function describeCompute(): string {
  const info = backendInfo();
  if (info.backend !== 'native') return `${info.backend} backend (single-threaded TypeScript)`;
  return `native backend (${info.isa} kernels, ${info.addonSource}), ${info.threads} thread${info.threads === 1 ? '' : 's'}`;
}

/**
 * Trains with fitAsync while a dashboard (serve.dashboard) shows the run; its Stop button ends
 * training after the step in progress and writes `checkpoint` (resumable with --resume).
 */
async function trainWithDashboard(model: nn.Module, fitOptions: train.FitOptions, port: number, checkpoint: train.AbortCheckpoint): Promise<train.History> {
  const board = await serve.dashboard({ port, classNames: data.FASHION_MNIST_CLASSES, title: 'LeNet-5 on Fashion-MNIST' });
  console.log(`dashboard: ${board.url}`);
  try {
    const history = await train.fitAsync(model, {
      ...fitOptions,
      metrics: { accuracy: board.accuracy },
      callbacks: [...(fitOptions.callbacks ?? []), board.callback],
      signal: board.signal,
      pause: board.pause,
      abortCheckpoint: checkpoint,
    });
    board.finish();
    if (history.stopReason?.startsWith('aborted') === true) console.log(`\nstopped from the dashboard after ${history.length} epoch(s); checkpoint written to ${checkpoint.path}`);
    return history;
  } catch (error) {
    board.finish(error);
    throw error;
  } finally {
    await board.close();
  }
}

/** The value of `--model NAME` / `--model=NAME` in argv (lenet5 when absent), and argv without it. */
function takeModelFlag(argv: string[]): { model: string; rest: string[] } {
  const at = argv.findIndex((arg) => arg === '--model' || arg.startsWith('--model='));
  if (at < 0) return { model: 'lenet5', rest: argv };
  const inline = argv[at].startsWith('--model=') ? argv[at].slice('--model='.length) : undefined;
  const model = inline ?? argv[at + 1] ?? '';
  return { model, rest: [...argv.slice(0, at), ...argv.slice(at + (inline === undefined ? 2 : 1))] };
}

async function main(argv: string[]): Promise<void> {
  const { model: modelName, rest } = takeModelFlag(argv);
  if (modelName !== 'lenet5') {
    if (!['resnet18', 'resnet34'].includes(modelName)) throw new Error(`--model must be one of lenet5, resnet18, resnet34, got '${modelName}'`);
    await runResnetRecipe(['--model', modelName, ...rest]);
    return;
  }
  const options = parseOptions(rest);
  if (options === null) {
    process.stdout.write(HELP);
    return;
  }
  if (options.backend !== undefined) setBackend(options.backend as BackendName);
  if (options.threads !== undefined) setNumThreads(options.threads);
  manualSeed(options.seed);
  mkdirSync(options.outDir, { recursive: true });

  const splits = loadSplits(options);
  console.log(`Fashion-MNIST from ${splits.source}: ${splits.train.length} train, ${splits.val.length} validation, ${splits.test.length} test images`);
  console.log(`LeNet-5, ${options.optimizer} lr ${options.lr} (${options.schedule} schedule), augmentation ${options.augment}, batch ${options.batchSize}, ${options.epochs} epochs, ${describeCompute()}\n`);

  const model = models.lenet5();
  if (options.diagnose) runDiagnose(model, splits);
  const optimizer = makeOptimizer(options, model.parameters());
  const stepsPerEpoch = Math.ceil(splits.train.length / options.batchSize);
  const scheduler = makeScheduler(options, optimizer, stepsPerEpoch);
  const shuffle = new Generator(options.seed + 1);
  const augment = new Generator(options.seed + 2);
  const generators = { shuffle, augment };
  const checkpointPath = join(options.outDir, 'checkpoint.safetensors');
  const resumeFrom = options.resume ? train.loadCheckpoint(checkpointPath, { model, optimizer, scheduler, generators }) : undefined;
  if (resumeFrom !== undefined) console.log(describeResume(checkpointPath, resumeFrom, options.epochs));
  if (scheduler instanceof optim.OneCycleLR && scheduler.totalSteps !== options.epochs * stepsPerEpoch) {
    throw new Error(
      `--resume: the checkpoint's one-cycle schedule spans ${scheduler.totalSteps} steps, but --epochs ${options.epochs} at ${stepsPerEpoch} batches per epoch needs ${options.epochs * stepsPerEpoch}; ` +
        'resume with the --epochs and --batch-size of the first run (a one-cycle schedule cannot be extended), or train with --schedule cosine, step or none',
    );
  }
  const stopper = new train.EarlyStopping({ monitor: 'val_loss', patience: options.patience, restoreBestWeights: true });

  const fitOptions: train.FitOptions = {
    loss: F.crossEntropy,
    optimizer,
    scheduler,
    schedulerInterval: options.schedule === 'onecycle' ? 'batch' : 'epoch',
    trainLoader: new data.DataLoader(augmented(splits.train, fashionAugmentation(options.augment, splits.pixels, augment, LENET_RECIPE.padding)), { batchSize: options.batchSize, shuffle: true, generator: shuffle }),
    valLoader: new data.DataLoader(splits.val, { batchSize: 1000 }),
    epochs: options.epochs,
    metrics: { accuracy: train.accuracy },
    resumeFrom,
    adversarial: options.adversarial === undefined ? undefined : adversarialTraining(splits, options.adversarial),
    callbacks: [
      stopper,
      new train.ModelCheckpoint({ path: checkpointPath, generators }),
      new train.HistoryLogger({ path: join(options.outDir, 'history.jsonl') }),
      new train.LearningCurvePlot({ basePath: join(options.outDir, 'learning-curve') }),
    ],
  };
  const history =
    options.dashboard === undefined
      ? train.fit(model, fitOptions)
      : await trainWithDashboard(model, fitOptions, options.dashboard, { path: checkpointPath, generators });
  const seconds = history.records.slice(resumeFrom?.epoch ?? 0).reduce((total, r) => total + r.seconds, 0);
  console.log(`trained ${history.length - (resumeFrom?.epoch ?? 0)} epoch(s) in ${seconds.toFixed(1)} s`);
  if (stopper.restoredEpoch !== null) {
    console.log(`restored the weights of epoch ${stopper.restoredEpoch}, the best val_loss (${stopper.best.value.toFixed(4)})`);
  }

  const scores = predict(model, splits.test);
  const accuracy = printTestResults(scores, splits.test, options.outDir);
  if (options.robustness !== undefined) printRobustness(model, splits, options.robustness);
  const written = writeReport(model, history, splits, scores, options.outDir, accuracy);
  if (options.explain > 0) written.push(...explain(model, splits, options.explain, join(options.outDir, 'explain')));
  io.saveStateDict(join(options.outDir, 'lenet5.safetensors'), model);
  const files = ['lenet5.safetensors', 'checkpoint.safetensors', 'learning-curve.{png,svg}', 'confusion-matrix.{png,svg}', 'history.jsonl'].map((f) => join(options.outDir, f));
  console.log(`\nwrote ${[...files, ...written].join(', ')}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
});
