/**
 * A Node HTTP server that trains LeNet-5 on Fashion-MNIST in the background and answers
 * requests while it does:
 *
 *   GET  /health   → 200 {"status":"ok","training":{…},"predictor":{…}}
 *   POST /predict  → {"class":7,"label":"Sneaker","probabilities":[…]} for a 28×28 image, sent
 *                    as JSON {"pixels":[784 numbers in 0..1]} (or 28 rows of 28), as a PNG
 *                    (Content-Type: image/png; converted to gray), or as 784 little-endian
 *                    float32 values in 0..1, row-major (Content-Type: application/octet-stream;
 *                    3,136 bytes: the cheapest to send and to decode)
 *
 * Training runs in a train.Trainer worker thread (`--training worker`, the default), or on the
 * server's own thread with train.fitAsync (`--training async`), or with the blocking
 * train.fit (`--training sync`, the baseline that freezes the server), or not at all
 * (`--training none`). After every epoch the predictor (serve.predictor: worker threads with
 * dynamic batching) switches to the new weights.
 *
 * Run: `node dist/examples/serve.js --port 3000`, then
 *   curl localhost:3000/health
 *   curl -X POST -H 'content-type: image/png' --data-binary @shoe.png localhost:3000/predict
 *   curl -X POST -H 'content-type: application/octet-stream' --data-binary @shoe.f32 localhost:3000/predict
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { data, serve, setNumThreads, Tensor, train } from '../lib/index.js';
import setup, { createModel, PIXEL_MEAN, PIXEL_STD, type LeNetJobConfig } from './lenet-job.js';

const HELP = `Usage: node dist/examples/serve.js [options]

Options:
  --port N             port to listen on, 0 for any free one (default 3000); the chosen port is printed
  --host H             address to listen on (default 127.0.0.1)
  --training MODE      worker (train.Trainer), async (train.fitAsync), sync (train.fit, blocks), none (default worker)
  --epochs N           epochs to train (default 5)
  --batch-size N       training batch size (default 64)
  --limit N            train on the first N images only
  --subset             use the embedded 10k subset even when the full set is installed
  --threads N          kernel threads for training (default: kiln's default)
  --workers N          predictor worker threads (default 1)
  --max-batch N        predictor batch limit (default 64; 1 disables batching)
  --max-delay-ms X     while a worker is busy, how long a request may wait for others (default 2)
  --no-model           answer /predict without running the model (every class 0.1) after
                       reading and checking the body as usual: what the HTTP layer alone
                       serves, the ceiling of /predict's throughput (bench serve reports it)
  --trainer-priority P the Trainer's priority: idle (Linux SCHED_IDLE, the default: a request
                       preempts training at once) or a nice value -20 … 19 as os.setPriority takes it
  -h, --help           show this help
`;

interface Options {
  port: number;
  host: string;
  training: 'worker' | 'async' | 'sync' | 'none';
  job: LeNetJobConfig;
  threads: number | undefined;
  workers: number;
  maxBatch: number;
  maxDelayMs: number;
  noModel: boolean;
  trainerPriority: number | 'idle';
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '3000' },
      host: { type: 'string', default: '127.0.0.1' },
      training: { type: 'string', default: 'worker' },
      epochs: { type: 'string', default: '5' },
      'batch-size': { type: 'string', default: '64' },
      limit: { type: 'string' },
      subset: { type: 'boolean', default: false },
      threads: { type: 'string' },
      workers: { type: 'string', default: '1' },
      'max-batch': { type: 'string', default: '64' },
      'max-delay-ms': { type: 'string', default: '2' },
      'no-model': { type: 'boolean', default: false },
      'trainer-priority': { type: 'string', default: 'idle' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const training = values.training as Options['training'];
  if (!['worker', 'async', 'sync', 'none'].includes(training)) throw new Error(`--training must be worker, async, sync or none, got '${training}'`);
  return {
    port: Number(values.port),
    host: values.host,
    training,
    job: {
      epochs: Number(values.epochs),
      batchSize: Number(values['batch-size']),
      limit: values.limit === undefined ? null : Number(values.limit),
      subset: values.subset,
      checkpointDir: mkdtempSync(join(tmpdir(), 'kiln-serve-')),
      seed: 0,
    },
    threads: values.threads === undefined ? undefined : Number(values.threads),
    workers: Number(values.workers),
    maxBatch: Number(values['max-batch']),
    maxDelayMs: Number(values['max-delay-ms']),
    noModel: values['no-model'],
    trainerPriority: values['trainer-priority'] === 'idle' ? 'idle' : Number(values['trainer-priority']),
  };
}

/** What /health reports about training. */
interface TrainingStatus {
  mode: Options['training'];
  state: 'starting' | 'running' | 'done' | 'failed' | 'off';
  epoch: number;
  batch: number;
  lastEpoch: train.EpochRecord | null;
  error: string | null;
}

/** The request body, up to `limit` bytes (stream events: cheaper per request than an async iterator). */
function readBody(request: IncomingMessage, limit = 1 << 20): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    request.on('end', () => (size > limit ? reject(new HttpError(413, `the body exceeds ${limit} bytes`)) : resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))));
    request.on('error', reject);
  });
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Pixels per image: 28 × 28. */
const PIXELS = 28 * 28;

/**
 * The model input of the request being handled, (1, 28, 28): one buffer for every request,
 * since predictor.predict copies its sample before it returns.
 */
const input = new Float32Array(PIXELS);
const inputImage = new Tensor(input, [1, 28, 28], 'float32');

/** Writes a /predict body's 28×28 gray image (pixels in [0, 1], row-major), normalised as lenet-job's normalise, into `input`. */
function readImage(contentType: string, body: Buffer): void {
  if (contentType.startsWith('application/octet-stream')) return readFloatPixels(body);
  const pixels = contentType.startsWith('image/png') ? pngPixels(body) : jsonPixels(body);
  for (let i = 0; i < PIXELS; i++) input[i] = (pixels[i] - PIXEL_MEAN) / PIXEL_STD;
}

/** The 784 gray pixels of a 28×28 PNG body. */
function pngPixels(body: Buffer): Float32Array {
  const image = data.decodePng(body, 'the request body', { mode: 'gray' });
  if (image.shape[1] !== 28 || image.shape[2] !== 28) throw new HttpError(422, `expected a 28×28 image, got ${image.shape[2]}×${image.shape[1]}`);
  return image.data as Float32Array;
}

/** The 784 pixels of a JSON body {"pixels": [...]} (flat, or 28 rows of 28). */
function jsonPixels(body: Buffer): number[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body must be JSON {"pixels": [...]}, a PNG image (Content-Type: image/png) or 784 float32 values (Content-Type: application/octet-stream)');
  }
  const pixels = (parsed as { pixels?: unknown } | null)?.pixels;
  const flat = Array.isArray(pixels) ? pixels.flat() : null;
  if (flat === null || flat.length !== PIXELS || !flat.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new HttpError(422, 'pixels must be 784 finite numbers (or 28 rows of 28) in [0, 1]');
  }
  return flat as number[];
}

/**
 * An application/octet-stream body, 784 little-endian float32 values (3,136 bytes, row-major),
 * normalised into `input` in one pass: the cheapest format to decode, on the server's main
 * thread for every request.
 */
function readFloatPixels(body: Buffer): void {
  if (body.length !== PIXELS * 4) throw new HttpError(422, `an application/octet-stream body must be 784 little-endian float32 values (3136 bytes), got ${body.length} bytes`);
  const bytes = new DataView(body.buffer, body.byteOffset, body.length); // any alignment, little-endian on any host
  for (let i = 0; i < PIXELS; i++) {
    const value = bytes.getFloat32(4 * i, true);
    if (!Number.isFinite(value)) throw new HttpError(422, 'the float32 pixels must be finite (no NaN or infinity)');
    input[i] = (value - PIXEL_MEAN) / PIXEL_STD;
  }
}

/**
 * The probabilities of one answer's 10 logits, in plain TypeScript: on 10 values a kiln op
 * costs more in dispatch than in arithmetic (~25 µs against ~10 µs per request, measured), and
 * this runs on the server's main thread for every request.
 */
function softmaxOf(logits: Float32Array): number[] {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const probabilities = new Array<number>(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += probabilities[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < logits.length; i++) probabilities[i] /= sum;
  return probabilities;
}

/** The logits `--no-model` answers with: every class equally likely. */
const NO_MODEL_LOGITS = new Float32Array(data.FASHION_MNIST_CLASSES.length);

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

async function main(): Promise<void> {
  const options = parseOptions();
  if (options.threads !== undefined) setNumThreads(options.threads);
  const servingModel = createModel();
  const predictor = serve.predictor(servingModel, {
    module: new URL('./lenet-job.js', import.meta.url),
    workers: options.workers,
    maxBatch: options.maxBatch,
    maxDelayMs: options.maxDelayMs,
    inputShape: [1, 28, 28],
  });
  const status: TrainingStatus = { mode: options.training, state: options.training === 'none' ? 'off' : 'starting', epoch: 0, batch: 0, lastEpoch: null, error: null };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const e = error as Error;
      send(response, error instanceof HttpError ? error.status : 500, { error: e.message });
    });
  });
  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path === '/health' && request.method === 'GET') return send(response, 200, { status: 'ok', training: status, predictor: predictor.stats });
    if (path === '/predict' && request.method === 'POST') {
      readImage(request.headers['content-type'] ?? '', await readBody(request));
      const logits = options.noModel ? NO_MODEL_LOGITS : ((await predictor.predict(inputImage)).data as Float32Array);
      const probabilities = softmaxOf(logits);
      const best = probabilities.indexOf(Math.max(...probabilities));
      return send(response, 200, { class: best, label: data.FASHION_MNIST_CLASSES[best], probabilities });
    }
    throw new HttpError(404, `no route ${request.method} ${path}; try GET /health or POST /predict`);
  }
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  console.log(`listening on http://${options.host}:${port} (training: ${options.training})`);

  /** After each epoch, the predictor serves the new weights. */
  const publish = async (stateDict: Record<string, Tensor>): Promise<void> => predictor.loadStateDict(stateDict);
  const onEpoch = (record: train.EpochRecord): void => {
    status.lastEpoch = record;
    status.epoch = record.epoch;
    console.log(`epoch ${record.epoch}: train_loss ${record.train_loss.toFixed(4)}, accuracy ${(record.train_accuracy ?? NaN).toFixed(4)}, ${record.samples_per_s.toFixed(0)} samples/s`);
  };
  let stop: () => Promise<unknown> = async () => {};
  const training = (async () => {
    if (options.training === 'none') return;
    status.state = 'running';
    if (options.training === 'worker') {
      // In the background by default: when a request arrives while training fills every core, the main thread gets one at once.
      const trainer = new train.Trainer({ module: new URL('./lenet-job.js', import.meta.url), config: options.job, numThreads: options.threads, priority: options.trainerPriority });
      stop = () => trainer.stop().catch(() => {});
      trainer.on('batch', (b: train.BatchEnd) => void (status.batch = b.batch));
      trainer.on('epoch', onEpoch);
      trainer.on('checkpoint', ({ path }: { path: string }) => {
        train.loadCheckpoint(path, { model: servingModel, restoreDefaultGenerator: false });
        void publish(servingModel.stateDict());
      });
      const { stateDict } = await trainer.result;
      await publish(stateDict);
      return;
    }
    const { model, ...fitOptions } = setup(options.job);
    const follow: train.Callback = {
      onBatchEnd: (_c, b) => void (status.batch = b.batch),
      onEpochEnd: (_c, record) => {
        onEpoch(record);
        void publish(model.stateDict());
      },
    };
    const controller = new AbortController();
    stop = async () => controller.abort();
    const all = { ...fitOptions, callbacks: [...(fitOptions.callbacks ?? []), follow] };
    if (options.training === 'async') await train.fitAsync(model, { ...all, signal: controller.signal });
    else train.fit(model, all);
  })().then(
    () => {
      if (status.state === 'running') status.state = 'done';
      console.log(`training ${status.state}`);
    },
    (error: unknown) => {
      status.state = 'failed';
      status.error = (error as Error).message;
      console.error(error);
    },
  );

  const shutdown = async (): Promise<void> => {
    console.log('shutting down');
    await stop();
    await training;
    server.close();
    server.closeAllConnections();
    await predictor.close();
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
}

await main();
