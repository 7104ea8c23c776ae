/**
 * Where a predictor's batches run: a worker thread each (WorkerExecutor), or the calling
 * thread between turns of its event loop (InlineExecutor, `workers: 0`). Both take one batch
 * at a time.
 */
import { Worker } from 'node:worker_threads';
import { noGrad } from '../autograd/grad-mode.js';
import { deserialize, serialize } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import { Tensor } from '../tensor.js';
import { PredictorError } from './errors.js';
import type { BatchData, PredictorCommand, PredictorReply, PredictorWorkerData } from './protocol.js';

/** A batch's output (shape (batch, ...)) and the batch's input array, handed back for reuse. */
export interface BatchResult {
  output: BatchData;
  input: Float32Array;
}

/** Runs one batch at a time. */
export interface Executor {
  /** The model's output on the batch; the batch's data is the executor's until the promise settles. */
  run(batch: BatchData): Promise<BatchResult>;
  /** Replaces the model's weights (after the batch in progress). */
  loadWeights(weights: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** An error posted by a worker, with its stack. */
function workerError(reply: Extract<PredictorReply, { type: 'error' }>, context: string): PredictorError {
  const error = new PredictorError(`${context}: ${reply.name}: ${reply.message}`);
  error.stack = `${error.name}: ${error.message}\n${reply.stack.split('\n').filter((line) => /^\s+at /.test(line)).join('\n')}`;
  return error;
}

/** A worker thread that builds the model from its module and answers batches. */
export class WorkerExecutor implements Executor {
  /** Resolves once the model is built and its weights loaded; rejects if that fails. */
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (reply: PredictorReply) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private closing = false;
  private loaded = false;

  constructor(workerUrl: URL, data: PredictorWorkerData, onExit: (executor: WorkerExecutor, error: Error) => void) {
    this.worker = new Worker(workerUrl, { workerData: data });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (reply: PredictorReply) => {
        if (reply.type === 'ready') {
          this.loaded = true;
          resolve();
        }
        else if (reply.type === 'error' && reply.id === null) reject(workerError(reply, 'predictor: a worker could not load the model'));
        else this.settle(reply);
      });
      this.worker.on('exit', (code) => {
        const error = new PredictorError(`predictor: a worker exited with code ${code}${this.closing ? ' (closed)' : ' unexpectedly'}`);
        reject(error);
        for (const { reject: fail } of this.pending.values()) fail(error);
        this.pending.clear();
        if (!this.closing && this.loaded) onExit(this, error); // a worker that never loaded the model is not replaced
      });
    });
    this.ready.catch(() => {});
  }

  /** Sends the batch (its buffer transferred, not copied) in one message; the reply transfers it back with the output. */
  async run(batch: BatchData): Promise<BatchResult> {
    const reply = await this.request({ type: 'batch', id: this.nextId++, batch }, [batch.data.buffer as ArrayBuffer]);
    if (reply.type === 'error') throw workerError(reply, `predictor: the model failed on a batch of ${batch.shape[0]} inputs of shape [${batch.shape.slice(1).join(', ')}]`);
    if (reply.type !== 'output') throw new PredictorError(`predictor: unexpected reply '${reply.type}' to a batch`);
    return { output: reply.output, input: reply.input };
  }

  async loadWeights(weights: Uint8Array): Promise<void> {
    const reply = await this.request({ type: 'weights', id: this.nextId++, weights }, []);
    if (reply.type === 'error') throw workerError(reply, 'predictor: a worker could not load the new weights');
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  private request(command: PredictorCommand, transfer: ArrayBuffer[]): Promise<PredictorReply> {
    return new Promise((resolve, reject) => {
      this.pending.set(command.id, { resolve, reject });
      this.worker.postMessage(command, transfer);
    });
  }

  private settle(reply: PredictorReply): void {
    if (reply.type === 'ready' || reply.id === null) return;
    const waiter = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    waiter?.resolve(reply);
  }
}

/** Runs batches on the calling thread, each after a turn of the event loop (`workers: 0`). */
export class InlineExecutor implements Executor {
  constructor(private readonly model: Module) {}

  async run(batch: BatchData): Promise<BatchResult> {
    await new Promise((resolve) => setImmediate(resolve));
    const wasTraining = this.model.training;
    this.model.eval();
    try {
      return noGrad(() => {
        const output = this.model.forward(new Tensor(batch.data, batch.shape, 'float32'));
        if (!(output instanceof Tensor)) throw new PredictorError(`predictor: the model's forward must return a Tensor, got ${typeof output}`);
        return { output: { shape: [...output.shape], data: Float32Array.from(output.data as ArrayLike<number>) }, input: batch.data };
      });
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      throw new PredictorError(`predictor: the model failed on a batch of ${batch.shape[0]} inputs of shape [${batch.shape.slice(1).join(', ')}]: ${e.name}: ${e.message}`, { cause: e });
    } finally {
      this.model.train(wasTraining);
    }
  }

  /** Loads the weights into the caller's model, which the inline predictor runs itself. */
  async loadWeights(weights: Uint8Array): Promise<void> {
    this.model.loadStateDict(deserialize(weights, 'predictor weights').tensors);
  }

  async close(): Promise<void> {}
}

/** A model's weights as safetensors bytes, for the workers. */
export const weightsOf = (model: Module): Uint8Array => serialize(model.stateDict());
