/**
 * fit: the training loop of kiln, as Keras' Model.fit and Lightning's Trainer.fit. It trains
 * any nn.Module with any loss and optimizer over a loader of [input, target] batches, one
 * epoch at a time: training pass, validation pass, scheduler step, epoch record, callbacks.
 */
import type { Module } from '../nn/module.js';
import { TrainingContext, type Callback } from './callback.js';
import { runEpochSteps } from './epoch.js';
import { planFit, type FitOptions } from './fit-options.js';
import { History } from './history.js';
import { batchesPerEpoch } from './batches.js';
import { createProgress } from './progress/index.js';
import { emptyStoragePool } from '../memory/storage-pool.js';
import { drain, StopTraining, type Steps } from './steps.js';
import type { StepPlacement } from './step-placement.js';

/**
 * Trains `model` for epochs startEpoch + 1 … `options.epochs` and returns the History (one
 * record per epoch: epoch, train_loss, val_loss, train_/val_ metrics, lr, seconds,
 * samples_per_s). Each epoch runs the model in training mode over `trainLoader` (forward,
 * loss, backward, step), then in eval mode under noGrad over `valLoader`, then steps the
 * scheduler. A callback may stop training after any epoch. A NaN or infinite training loss
 * throws a TrainingError naming the epoch and batch, before the weights are touched. The model
 * is left in the mode (train / eval) it had before.
 *
 * Args: model, any nn.Module whose forward takes a batch's input and returns a Tensor; options
 * (see FitOptions).
 *
 * Example:
 * ```ts
 * import { data, nn, optim, train, F, Generator } from 'kiln';
 * const model = new nn.Sequential(new nn.Linear(4, 16), new nn.ReLU(), new nn.Linear(16, 3));
 * const optimizer = new optim.Adam(model.parameters(), { lr: 1e-2 });
 * const history = train.fit(model, {
 *   loss: F.crossEntropy,
 *   optimizer,
 *   trainLoader: new data.DataLoader(trainSet, { batchSize: 32, shuffle: true, generator: new Generator(0) }),
 *   valLoader: new data.DataLoader(valSet, { batchSize: 256 }),
 *   epochs: 20,
 *   metrics: { accuracy: train.accuracy },
 *   scheduler: new optim.CosineAnnealingLR(optimizer, { TMax: 20 }),
 *   callbacks: [new train.EarlyStopping({ patience: 3, restoreBestWeights: true })],
 * });
 * console.log(history.last?.val_accuracy);
 * ```
 */
export function fit(model: Module, options: FitOptions): History {
  return drain(fitSteps(model, options));
}

/**
 * fit as a generator that yields after each training step and validation batch (see
 * steps.ts). Thrown a StopTraining at a yield, it ends training there: the epoch in progress
 * is not recorded, onTrainEnd runs, and the history's stopReason is the StopTraining's reason.
 * With a placement, the steps it places off the JS thread run their kernels with kiln.async
 * and the loop also yields each phase's promise.
 */
export function* fitSteps(model: Module, options: FitOptions, placement?: StepPlacement): Steps<History> {
  const plan = planFit(model, options);
  plan.step.placement = placement;
  const history = new History(options.resumeFrom?.history ?? []);
  const context = new TrainingContext(model, options.optimizer, plan.scheduler, history, plan.epochs, batchesPerEpoch(plan.trainLoader));
  const progress = createProgress(options.progress ?? 'auto', options.progressStream ?? process.stdout);
  const callbacks: Callback[] = progress === null ? [...plan.callbacks] : [progress, ...plan.callbacks];
  const wasTraining = model.training;
  try {
    for (const c of callbacks) c.onTrainBegin?.(context);
    try {
      for (let epoch = plan.startEpoch + 1; epoch <= plan.epochs && !context.stopRequested; epoch++) {
        for (const c of callbacks) c.onEpochBegin?.(context, epoch);
        const record = yield* runEpochSteps(plan, epoch, (info) => callbacks.forEach((c) => c.onBatchEnd?.(context, info)));
        history.push(record);
        for (const c of callbacks) c.onEpochEnd?.(context, record);
      }
    } catch (error) {
      if (!(error instanceof StopTraining)) throw error;
      context.requestStop(error.reason);
    }
    for (const c of callbacks) c.onTrainEnd?.(context);
  } finally {
    emptyStoragePool();
    progress?.close();
    model.train(wasTraining);
  }
  history.stopReason = context.stopReason;
  return history;
}
