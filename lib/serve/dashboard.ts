/**
 * A live training dashboard: one HTTP server (Node's `http`, no dependency) that serves a
 * self-contained page (dashboard-page.ts) and streams the run to it as server-sent events:
 * the running loss per batch, each epoch's record, throughput, the validation confusion
 * matrix, and the run's state. The page's Stop and Pause buttons POST back; the dashboard
 * turns them into fitAsync's `signal` and `pause`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { argmax } from '../ops/reduce.js';
import type { Tensor } from '../tensor.js';
import type { BatchEnd, Callback } from '../train/callback.js';
import type { EpochRecord } from '../train/history.js';
import type { Metric } from '../train/metrics.js';
import { dashboardPage } from './dashboard-page.js';

/** Options of {@link dashboard}. Example: `{ port: 8080, classNames: data.FASHION_MNIST_CLASSES }`. */
export interface DashboardOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on (default '127.0.0.1': the dashboard has no authentication). */
  host?: string;
  /** Class names, for the confusion matrix (their count is the number of classes). */
  classNames: readonly string[];
  /** Title shown on the page. */
  title?: string;
  /** Least milliseconds between two batch events sent to the page (default 100). */
  batchIntervalMs?: number;
}

/** Where training stands, as the page shows it. Example: `board.state === 'paused'`. */
export type DashboardState = 'running' | 'paused' | 'stopping' | 'stopped' | 'finished' | 'failed';

/** A point of the running-loss curve: progress in epochs (epoch − 1 + batch/batches) and the loss. */
interface LossPoint {
  x: number;
  loss: number;
}

/** Everything a page needs to draw the run so far: sent whole to a page that connects. */
interface Snapshot {
  title: string;
  classNames: readonly string[];
  state: DashboardState;
  points: LossPoint[];
  epochs: EpochRecord[];
  samplesPerSecond: number | null;
  confusion: number[][] | null;
  message: string | null;
}

/**
 * A running dashboard: pass `callback` and `accuracy` to fitAsync, with `signal` and `pause`,
 * so the page's buttons reach the loop. Made by {@link dashboard}.
 *
 * Example: `const board = await serve.dashboard({ classNames: ['cat', 'dog'] }); console.log(board.url, board.state);`
 */
export class Dashboard {
  /** The page's address, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  /** Aborted when the page's Stop button is pressed: fitAsync's `signal`. */
  readonly signal: AbortSignal;
  /** The fit callback that feeds the page. */
  readonly callback: Callback;
  /**
   * A fit metric equal to train.accuracy that also counts the validation confusion matrix
   * (batches seen after an epoch's last training step).
   */
  readonly accuracy: Metric;

  private readonly controller = new AbortController();
  private readonly clients = new Set<ServerResponse>();
  private readonly snapshot: Snapshot;
  private readonly counts: number[][];
  private resumeWaiters: (() => void)[] = [];
  private lastBatchSent = 0;
  private pendingPoint: LossPoint | null = null;

  /** kiln-internal: use {@link dashboard}. */
  constructor(
    private readonly server: Server,
    private readonly options: Required<Omit<DashboardOptions, 'port' | 'host'>>,
  ) {
    const { port } = server.address() as AddressInfo;
    const host = (server.address() as AddressInfo).address;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
    this.signal = this.controller.signal;
    const n = options.classNames.length;
    this.counts = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    this.snapshot = { title: options.title, classNames: options.classNames, state: 'running', points: [], epochs: [], samplesPerSecond: null, confusion: null, message: null };
    this.callback = {
      onBatchEnd: (_context, info) => this.batchEnded(info),
      onEpochEnd: (_context, record) => this.epochEnded(record),
    };
    this.accuracy = (output, target) => this.countBatch(output, target);
    server.on('request', (request, response) => this.handle(request, response));
  }

  /** Awaited by fitAsync after each step (its `pause` option): resolves at once unless the page paused training. */
  readonly pause = (): Promise<void> => {
    if (this.snapshot.state !== 'paused') return Promise.resolve();
    return new Promise((resolve) => this.resumeWaiters.push(resolve));
  };

  /** The run's state as the page shows it. */
  get state(): DashboardState {
    return this.snapshot.state;
  }

  /**
   * Marks the run finished ('finished', or 'stopped' after Stop, or 'failed' with the error's
   * message) and tells the page.
   */
  finish(error?: unknown): void {
    this.flushPoint();
    if (error !== undefined) this.setState('failed', error instanceof Error ? error.message : String(error));
    else this.setState(this.signal.aborted ? 'stopped' : 'finished', null);
  }

  /** Ends the event streams and closes the server. */
  close(): Promise<void> {
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.releasePause();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const route = `${request.method} ${(request.url ?? '/').split('?')[0]}`;
    switch (route) {
      case 'GET /':
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(dashboardPage());
        return;
      case 'GET /events':
        this.openStream(response);
        return;
      case 'POST /stop':
        this.stop();
        break;
      case 'POST /pause':
        if (this.snapshot.state === 'running') this.setState('paused', null);
        break;
      case 'POST /resume':
        if (this.snapshot.state === 'paused') this.setState('running', null);
        this.releasePause();
        break;
      default:
        response.writeHead(404, { 'content-type': 'text/plain' }).end(`no route ${route}; the dashboard serves GET /, GET /events, POST /stop, /pause, /resume\n`);
        return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ state: this.snapshot.state }));
  }

  private openStream(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    this.clients.add(response);
    response.on('close', () => this.clients.delete(response));
    send(response, 'snapshot', this.snapshot);
  }

  private broadcast(event: string, payload: unknown): void {
    for (const client of this.clients) send(client, event, payload);
  }

  private setState(state: DashboardState, message: string | null): void {
    this.snapshot.state = state;
    this.snapshot.message = message;
    this.broadcast('state', { state, message });
  }

  private stop(): void {
    if (this.signal.aborted || !['running', 'paused'].includes(this.snapshot.state)) return;
    this.setState('stopping', null);
    this.controller.abort(new Error('stopped from the dashboard'));
    this.releasePause();
  }

  private releasePause(): void {
    const waiters = this.resumeWaiters;
    this.resumeWaiters = [];
    waiters.forEach((resume) => resume());
  }

  private batchEnded(info: BatchEnd): void {
    this.clearCounts(); // what the metric counts from now until the epoch ends is validation
    const progress = info.batches === undefined ? info.epoch - 1 : info.epoch - 1 + info.batch / info.batches;
    this.pendingPoint = { x: progress, loss: info.runningLoss };
    this.snapshot.samplesPerSecond = info.seconds > 0 ? info.samples / info.seconds : null;
    const now = performance.now();
    if (now - this.lastBatchSent >= this.options.batchIntervalMs) this.flushPoint();
  }

  private flushPoint(): void {
    if (this.pendingPoint === null) return;
    this.lastBatchSent = performance.now();
    this.snapshot.points.push(this.pendingPoint);
    this.broadcast('batch', { point: this.pendingPoint, samplesPerSecond: this.snapshot.samplesPerSecond });
    this.pendingPoint = null;
  }

  private epochEnded(record: EpochRecord): void {
    this.flushPoint();
    this.snapshot.epochs.push(record);
    if (this.counts.some((row) => row.some((c) => c > 0))) this.snapshot.confusion = this.counts.map((row) => [...row]);
    this.broadcast('epoch', { record, confusion: this.snapshot.confusion });
  }

  private clearCounts(): void {
    for (const row of this.counts) row.fill(0);
  }

  /** Accuracy of one batch; counts its (target, prediction) pairs into the confusion matrix. */
  private countBatch(output: Tensor, target: Tensor): number {
    const predicted = argmax(output, 1).toArray() as number[];
    const truth = target.toArray() as number[];
    let correct = 0;
    const n = this.counts.length;
    predicted.forEach((p, i) => {
      const t = truth[i];
      if (p === t) correct++;
      if (t >= 0 && t < n && p >= 0 && p < n) this.counts[t][p]++;
    });
    return predicted.length === 0 ? 0 : correct / predicted.length;
  }
}

function send(client: ServerResponse, event: string, payload: unknown): void {
  client.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`);
}

/**
 * Starts a live training dashboard and resolves once it listens. Pass its `callback` and
 * `accuracy` metric, `signal` and `pause` to fitAsync; call `finish()` when training ends and
 * `close()` to shut it down.
 *
 * Args: options — classNames (required), port (0: any free one), host ('127.0.0.1'), title,
 * batchIntervalMs (least time between two curve points sent, default 100).
 * Returns: a promise of the running Dashboard.
 *
 * Example:
 * ```ts
 * const board = await serve.dashboard({ port: 8080, classNames: data.FASHION_MNIST_CLASSES });
 * console.log(`dashboard: ${board.url}`);
 * try {
 *   await train.fitAsync(model, { ...options, metrics: { accuracy: board.accuracy }, callbacks: [board.callback],
 *     signal: board.signal, pause: board.pause, abortCheckpoint: { path: 'out/stopped.safetensors' } });
 *   board.finish();
 * } catch (error) {
 *   board.finish(error);
 * }
 * await board.close();
 * ```
 */
export async function dashboard(options: DashboardOptions): Promise<Dashboard> {
  const names = options?.classNames;
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string')) {
    throw new TypeError(`dashboard: classNames must be a non-empty array of strings, got ${JSON.stringify(names)}`);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`dashboard: port must be an integer in [0, 65535], got ${port}`);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return new Dashboard(server, { classNames: [...names], title: options.title ?? 'kiln training', batchIntervalMs: options.batchIntervalMs ?? 100 });
}
