/**
 * A small-input ResNet learns Fashion-MNIST (issue 14's training recipe): ResNet-18 with the
 * 3×3 stride-1 stem and no max-pool (models.resnet18({ smallInput: true })) on the full
 * training set, with random crops (shifts of up to two pixels) and horizontal flips, label
 * smoothing 0.1, SGD with Nesterov momentum and weight decay, and a one-cycle (or cosine)
 * schedule stepped per batch. The test set is scored after every epoch, as DAWNBench does, to
 * print the time to each accuracy milestone (90%, 93%, 94% by default); `--stop-at PCT` ends
 * training once the test accuracy reaches PCT (time-to-accuracy runs, bench/zoo) and `--json`
 * prints the run as a bench row.
 *
 * Run: `node dist/examples/resnet-fashion-mnist.js [options]`, or `npm start -- --model resnet18 [options]`;
 * `--help` lists the options.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { backendInfo, data, F, Generator, manualSeed, models, optim, setNumThreads, train, type Tensor } from '../lib/index.js';
import { augmented, fashionAugmentation, nesterovSgd, oneCycle, RESNET_RECIPE, type Augmentation } from './fashion-recipes.js';

const HELP = `Usage: node dist/examples/resnet-fashion-mnist.js [options]  (or npm start -- --model resnet18 [options])

Trains a small-input ResNet on Fashion-MNIST, scoring the test set after every epoch, and
prints the time to each test-accuracy milestone.

Options:
  --model NAME        resnet18 or resnet34 (default resnet18)
  --width N           planes of the stem and layer1, doubled per stage (default ${RESNET_RECIPE.baseWidth}; 64 is torchvision's)
  --epochs N          epochs (default ${RESNET_RECIPE.epochs})
  --batch-size N      samples per batch (default ${RESNET_RECIPE.batchSize})
  --lr X              peak learning rate (default ${RESNET_RECIPE.maxLr})
  --weight-decay X    SGD weight decay (default ${RESNET_RECIPE.weightDecay})
  --label-smoothing X label smoothing of the cross-entropy (default ${RESNET_RECIPE.labelSmoothing})
  --schedule NAME     onecycle or cosine, stepped per batch (default onecycle)
  --augment NAME      crop-flip, crop, flip or none (default crop-flip)
  --milestones LIST   test accuracies (%) to time, comma-separated (default 90,93,94)
  --stop-at PCT       stop after the first epoch whose test accuracy reaches PCT
  --limit N           train on the first N training images only (quick runs)
  --test-limit N      score the first N test images only
  --subset            use the embedded 10k/2k subset even when the full set is present
  --data-dir DIR      a folder with the four Fashion-MNIST IDX files
  --threads N         native threads (default: all cores)
  --autocast          run the products in bfloat16 with FP32 accumulation (autocast('bfloat16'))
  --seed N            seed of the weights, shuffling and augmentation (default 0)
  --json              print the run as one bench row (JSON) on the last line; progress goes to stderr
  -h, --help          show this help
`;

/** The parsed command line. */
interface Options {
  model: 'resnet18' | 'resnet34';
  width: number;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  labelSmoothing: number;
  schedule: 'onecycle' | 'cosine';
  augment: Augmentation;
  milestones: number[];
  stopAt: number | undefined;
  limit: number | undefined;
  testLimit: number | undefined;
  subset: boolean;
  dataDir: string | undefined;
  threads: number | undefined;
  autocast: boolean;
  seed: number;
  json: boolean;
}

function number(flag: string, text: string, check: (v: number) => boolean, expected: string): number {
  const value = Number(text);
  if (!(Number.isFinite(value) && check(value))) throw new Error(`${flag} must be ${expected}, got '${text}'`);
  return value;
}

const count = (flag: string, text: string, min = 1): number => number(flag, text, (v) => Number.isInteger(v) && v >= min, `an integer ≥ ${min}`);
const percent = (flag: string, text: string): number => number(flag, text, (v) => v > 0 && v <= 100, 'a percentage in (0, 100]');

function oneOf<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new Error(`${flag} must be one of ${choices.join(', ')}, got '${text}'`);
  return text as T;
}

/** Reads the flags (null for --help); throws an Error naming a bad flag and its value. */
function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      model: { type: 'string', default: 'resnet18' },
      width: { type: 'string', default: String(RESNET_RECIPE.baseWidth) },
      epochs: { type: 'string', default: String(RESNET_RECIPE.epochs) },
      'batch-size': { type: 'string', default: String(RESNET_RECIPE.batchSize) },
      lr: { type: 'string', default: String(RESNET_RECIPE.maxLr) },
      'weight-decay': { type: 'string', default: String(RESNET_RECIPE.weightDecay) },
      'label-smoothing': { type: 'string', default: String(RESNET_RECIPE.labelSmoothing) },
      schedule: { type: 'string', default: 'onecycle' },
      augment: { type: 'string', default: RESNET_RECIPE.augment },
      milestones: { type: 'string', default: '90,93,94' },
      'stop-at': { type: 'string' },
      limit: { type: 'string' },
      'test-limit': { type: 'string' },
      subset: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      threads: { type: 'string' },
      autocast: { type: 'boolean', default: false },
      seed: { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return null;
  const optional = (flag: string, text: string | undefined): number | undefined => (text === undefined ? undefined : count(flag, text));
  return {
    model: oneOf('--model', values.model, ['resnet18', 'resnet34'] as const),
    width: count('--width', values.width),
    epochs: count('--epochs', values.epochs),
    batchSize: count('--batch-size', values['batch-size']),
    lr: number('--lr', values.lr, (v) => v > 0, 'a positive number'),
    weightDecay: number('--weight-decay', values['weight-decay'], (v) => v >= 0, 'a number ≥ 0'),
    labelSmoothing: number('--label-smoothing', values['label-smoothing'], (v) => v >= 0 && v < 1, 'a number in [0, 1)'),
    schedule: oneOf('--schedule', values.schedule, ['onecycle', 'cosine'] as const),
    augment: oneOf('--augment', values.augment, ['crop-flip', 'crop', 'flip', 'none'] as const),
    milestones: values.milestones.split(',').map((m) => percent('--milestones', m.trim())).sort((a, b) => a - b),
    stopAt: values['stop-at'] === undefined ? undefined : percent('--stop-at', values['stop-at']),
    limit: optional('--limit', values.limit),
    testLimit: optional('--test-limit', values['test-limit']),
    subset: values.subset,
    dataDir: values['data-dir'],
    threads: optional('--threads', values.threads),
    autocast: values.autocast,
    seed: count('--seed', values.seed, 0),
    json: values.json,
  };
}

/** The first `limit` images and labels of a split (all without a limit). */
function firstOf(split: data.FashionMnistData, limit: number | undefined): { images: Tensor; labels: Tensor } {
  const n = Math.min(limit ?? Infinity, split.images.shape[0]);
  return { images: split.images.narrow(0, 0, n), labels: split.labels.narrow(0, 0, n) };
}

/** Training and test sets, normalised with the training images' pixel mean and std. */
function loadSets(options: Options): { train: data.TensorDataset; test: data.TensorDataset; pixels: { mean: number; std: number }; source: string } {
  const where = { root: options.dataDir, full: options.subset ? false : undefined };
  const trainData = data.loadFashionMnist({ ...where, split: 'train' });
  const trainPart = firstOf(trainData, options.limit);
  const testPart = firstOf(data.loadFashionMnist({ ...where, split: 'test' }), options.testLimit);
  const pixels = { mean: trainPart.images.mean().item(), std: trainPart.images.std().item() };
  const normalise = (images: Tensor): Tensor => images.sub(pixels.mean).div(pixels.std);
  return {
    train: new data.TensorDataset(normalise(trainPart.images), trainPart.labels),
    test: new data.TensorDataset(normalise(testPart.images), testPart.labels),
    pixels,
    source: `${trainData.source} (${trainData.root})`,
  };
}

/** When a test-accuracy milestone was first reached. */
interface Milestone {
  pct: number;
  epoch: number;
  /** Wall-clock seconds from the start of training to the end of that epoch's test pass. */
  seconds: number;
}

/**
 * Times the milestones: after each epoch, the first epoch whose test accuracy (val_accuracy)
 * reaches each one; stops training once `stopAt` is reached.
 */
class MilestoneTimer implements train.Callback {
  readonly reached: Milestone[] = [];
  private start = 0;

  constructor(private readonly milestones: readonly number[], private readonly stopAt: number | undefined, private readonly log: (line: string) => void) {}

  onTrainBegin(): void {
    this.start = performance.now();
  }

  onEpochEnd(context: train.TrainingContext, record: train.EpochRecord): void {
    const accuracy = 100 * (record.val_accuracy as number);
    const seconds = (performance.now() - this.start) / 1000;
    for (const pct of this.milestones) {
      if (accuracy >= pct && !this.reached.some((m) => m.pct === pct)) {
        this.reached.push({ pct, epoch: record.epoch, seconds });
        this.log(`reached ${pct}% test accuracy at epoch ${record.epoch}, ${seconds.toFixed(1)} s after the start`);
      }
    }
    if (this.stopAt !== undefined && accuracy >= this.stopAt) context.requestStop(`test accuracy ${accuracy.toFixed(2)}% ≥ ${this.stopAt}%`);
  }
}

/** The schedule, stepped per batch. */
function makeScheduler(options: Options, optimizer: optim.SGD, stepsPerEpoch: number): train.Scheduler {
  if (options.schedule === 'cosine') return new optim.CosineAnnealingLR(optimizer, { TMax: options.epochs * stepsPerEpoch });
  return oneCycle(optimizer, options.lr, options.epochs, stepsPerEpoch);
}

/** The bench row of a run (bench/zoo's 'time to N%' case): the time to stopAt, or skipped when it was not reached. */
function benchRow(options: Options, timer: MilestoneTimer, history: train.History): Record<string, unknown> {
  const target = options.stopAt ?? options.milestones[options.milestones.length - 1];
  const hit = timer.reached.find((m) => m.pct === target);
  const accuracy = 100 * (history.last?.val_accuracy ?? Number.NaN);
  return {
    suite: 'zoo',
    case: `${options.model === 'resnet18' ? 'ResNet-18' : 'ResNet-34'} (width ${options.width}) recipe${options.autocast ? ' with autocast' : ''}, time to ${target}%`,
    impl: 'kiln-native',
    threads: backendInfo().threads,
    median_ms: hit === undefined ? null : hit.seconds * 1000,
    test_acc_pct: accuracy,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    seed: options.seed,
    epochs: history.length,
    ...(hit === undefined && { skipped: `test accuracy ${accuracy.toFixed(2)}% after ${history.length} epoch(s), below ${target}%` }),
  };
}

/**
 * Runs the recipe with the given command-line flags (the flags of `--help`).
 *
 * Example: `await runResnetRecipe(['--epochs', '1', '--limit', '1000'])`.
 */
export async function runResnetRecipe(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  if (options === null) {
    process.stdout.write(HELP);
    return;
  }
  if (options.threads !== undefined) setNumThreads(options.threads);
  const log = options.json ? (line: string) => process.stderr.write(`${line}\n`) : (line: string) => console.log(line);
  manualSeed(options.seed);
  const sets = loadSets(options);
  log(`Fashion-MNIST from ${sets.source}: ${sets.train.length} training images (augmentation ${options.augment}), ${sets.test.length} test images`);
  log(`${options.model} (smallInput, width ${options.width}), SGD Nesterov lr ${options.lr} (${options.schedule}), weight decay ${options.weightDecay}, label smoothing ${options.labelSmoothing}, batch ${options.batchSize}, ${options.epochs} epochs${options.autocast ? ', autocast bfloat16' : ''}, ${backendInfo().isa ?? backendInfo().backend}, ${backendInfo().threads} threads`);

  const model = models[options.model]({ numClasses: 10, inChannels: 1, smallInput: true, baseWidth: options.width });
  const optimizer = nesterovSgd(model.parameters(), options.lr, options.weightDecay);
  const stepsPerEpoch = Math.ceil(sets.train.length / options.batchSize);
  const timer = new MilestoneTimer(options.milestones, options.stopAt, log);
  const augment = fashionAugmentation(options.augment, sets.pixels, new Generator(options.seed + 2), RESNET_RECIPE.padding);
  const history = train.fit(model, {
    loss: (output, target) => F.crossEntropy(output, target, { labelSmoothing: options.labelSmoothing }),
    optimizer,
    scheduler: makeScheduler(options, optimizer, stepsPerEpoch),
    schedulerInterval: 'batch',
    trainLoader: new data.DataLoader(augmented(sets.train, augment), { batchSize: options.batchSize, shuffle: true, generator: new Generator(options.seed + 1) }),
    valLoader: new data.DataLoader(sets.test, { batchSize: 250 }),
    epochs: options.epochs,
    ...(options.autocast && { autocast: 'bfloat16' as const }),
    metrics: { accuracy: train.accuracy },
    callbacks: [timer],
    progressStream: options.json ? process.stderr : process.stdout,
  });

  log(`\nepoch  test acc  seconds`);
  for (const r of history.records) log(`${String(r.epoch).padStart(5)}  ${(100 * (r.val_accuracy as number)).toFixed(2).padStart(7)}%  ${r.seconds.toFixed(1).padStart(7)}`);
  for (const pct of options.milestones) {
    const m = timer.reached.find((x) => x.pct === pct);
    log(m === undefined ? `${pct}%: not reached` : `${pct}%: epoch ${m.epoch}, ${m.seconds.toFixed(1)} s`);
  }
  log(`final test accuracy ${(100 * (history.last?.val_accuracy as number)).toFixed(2)}% after ${history.length} epoch(s)`);
  if (options.json) console.log(JSON.stringify([benchRow(options, timer, history)]));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runResnetRecipe(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`error: ${(err as Error).message}`);
    process.exitCode = 1;
  });
}
