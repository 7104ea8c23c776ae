/**
 * A worker thread of serve.predictor: builds the model from its module, loads the weights,
 * and answers each batch with the model's output (eval mode, no autograd, the step's storage
 * reused through tidy()).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { noGrad } from '../autograd/grad-mode.js';
import { setNumThreads } from '../backend/index.js';
import { deserialize } from '../io/safetensors.js';
import { tidy } from '../memory/tidy.js';
import { Module } from '../nn/module.js';
import { Tensor } from '../tensor.js';
import { PredictorError } from './errors.js';
import type { BatchData, PredictorCommand, PredictorReply, PredictorWorkerData } from './protocol.js';

if (parentPort === null) throw new PredictorError('predictor-worker: this module runs inside a predictor worker thread only');
const port = parentPort;
const post = (reply: PredictorReply, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);

/** The model the module's export builds, with the weights loaded, in eval mode. */
async function loadModel(data: PredictorWorkerData): Promise<Module> {
  const imported = (await import(data.moduleUrl)) as Record<string, unknown>;
  const build = imported[data.exportName];
  if (typeof build !== 'function') throw new PredictorError(`predictor: '${data.moduleUrl}' must export a function '${data.exportName}' (config) => nn.Module, got ${typeof build}`);
  const model = (await build(data.config)) as unknown;
  if (!(model instanceof Module)) throw new PredictorError(`predictor: the export '${data.exportName}' of '${data.moduleUrl}' must return an nn.Module, got ${model === null ? 'null' : typeof model}`);
  model.loadStateDict(deserialize(data.weights, 'predictor weights').tensors);
  model.eval();
  return model;
}

/**
 * The model's output on one batch, copied out of kiln's storage. The batch's buffer is handed
 * back to the predictor afterwards, so a model must not keep its input tensor past forward().
 */
function predict(model: Module, batch: BatchData): BatchData {
  return tidy(() =>
    noGrad(() => {
      const output = model.forward(new Tensor(batch.data, batch.shape, 'float32'));
      if (!(output instanceof Tensor)) throw new PredictorError(`predictor: the model's forward must return a Tensor, got ${typeof output}`);
      const values = output.dtype === 'float32' ? (output.data as Float32Array) : Float32Array.from(output.data as ArrayLike<number>);
      return { shape: [...output.shape], data: values.slice() };
    }),
  );
}

function reportError(id: number | null, error: unknown): void {
  const e = error instanceof Error ? error : new Error(String(error));
  post({ type: 'error', id, name: e.name, message: e.message, stack: e.stack ?? `${e.name}: ${e.message}` });
}

async function serve(data: PredictorWorkerData): Promise<void> {
  if (data.numThreads !== null) setNumThreads(data.numThreads);
  const model = await loadModel(data);
  port.on('message', (command: PredictorCommand) => {
    try {
      if (command.type === 'weights') {
        model.loadStateDict(deserialize(command.weights, 'predictor weights').tensors);
        post({ type: 'weights-loaded', id: command.id });
      } else {
        const output = predict(model, command.batch);
        const input = command.batch.data; // the forward pass is over: the buffer goes back for the next batch
        post({ type: 'output', id: command.id, output, input }, [output.data.buffer as ArrayBuffer, input.buffer as ArrayBuffer]);
      }
    } catch (error) {
      reportError(command.id, error);
    }
  });
  post({ type: 'ready' });
}

serve(workerData as PredictorWorkerData).catch((error: unknown) => reportError(null, error));
