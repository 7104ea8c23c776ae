/**
 * The loss and metrics fit and evaluate apply to a batch, single-head or multi-task. A
 * multi-task model (hard parameter sharing) returns several heads, an array or a record of
 * tensors; the batch's target has the same form; each head has its own loss and metrics, and
 * the training loss is the heads' losses weighted by fixed numbers or by learned uncertainty.
 */
import { Module } from '../nn/module.js';
import { Tensor } from '../tensor.js';
import { formatShape } from '../shape.js';
import { lossFunction, type Loss } from './batches.js';
import { TrainingError } from './errors.js';
import type { Metric } from './metrics.js';
import { UncertaintyWeighting } from './uncertainty-weighting.js';

/** A multi-task model's output, or a batch's targets: one tensor per head, as an array or a record. */
export type Heads = readonly Tensor[] | Readonly<Record<string, Tensor>>;

/** A model's output or a batch's target: one tensor, or one per head. */
export type ModelOutput = Tensor | Heads;

/** One loss per head: an array (heads of an array output) or a record (heads of a record output). */
export type HeadLosses = readonly Loss[] | Readonly<Record<string, Loss>>;

/** Metrics by name, per head: an array of records (array heads) or a record of records keyed by head. */
export type HeadMetrics = readonly Readonly<Record<string, Metric>>[] | Readonly<Record<string, Readonly<Record<string, Metric>>>>;

/** The heads' loss weights: fixed numbers (an array, or a record keyed by head) or learned (UncertaintyWeighting). */
export type LossWeights = readonly number[] | Readonly<Record<string, number>> | UncertaintyWeighting;

/** What fit and evaluate are told about the loss. */
export interface LossOptions {
  /** One loss, or one per head (an array or a record shaped like the model's output). */
  loss: Loss | HeadLosses;
  /** Metrics by name; for a multi-task model, per head. */
  metrics?: Readonly<Record<string, Metric>> | HeadMetrics;
  /** Multi-task only: the heads' weights. Default 1 for every head. */
  lossWeights?: LossWeights;
}

/** A metric of one batch's (possibly multi-head) output and target. */
export type BatchMetric = (output: ModelOutput, target: ModelOutput) => number;

/** The loss and metrics of a batch, checked and composed. */
export interface LossPlan {
  /** The scalar training loss of a batch. */
  loss: (output: ModelOutput, target: ModelOutput) => Tensor;
  /** Metrics by record name: the user's, and for multi-task `<head>_loss` and `<head>_<metric>`. */
  metrics: Readonly<Record<string, BatchMetric>>;
  /** True when the model returns several heads. */
  multiTask: boolean;
  /** The learned weighting, when lossWeights is one. */
  weighting?: UncertaintyWeighting;
}

/** One head: where it sits in the output and what is computed on it. */
interface Head {
  /** The name used in records and messages: a record's key, or `head<i>` for array heads. */
  name: string;
  /** Its key in the output and target. */
  key: string | number;
  loss: (output: Tensor, target: Tensor) => Tensor;
  metrics: Readonly<Record<string, Metric>>;
}

const isLossModuleOrFunction = (loss: unknown): boolean => typeof loss === 'function' || loss instanceof Module;

/** True when `loss` gives one loss per head (an array, or a record that is not a loss Module or an object with a forward method). */
export function isHeadLosses(loss: unknown): loss is HeadLosses {
  if (Array.isArray(loss)) return true;
  return loss !== null && typeof loss === 'object' && !(loss instanceof Module) && typeof (loss as { forward?: unknown }).forward !== 'function';
}

const describe = (value: unknown): string =>
  value instanceof Tensor ? `a tensor of shape ${formatShape(value.shape)}` : Array.isArray(value) ? `an array of ${value.length}` : value === null ? 'null' : typeof value;

/** Checks every metric is a function; `head` names the head in the message. */
function checkMetrics(op: string, metrics: unknown, head?: string): Readonly<Record<string, Metric>> {
  const where = head === undefined ? '' : ` of head '${head}'`;
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) throw new TrainingError(`${op}: the metrics${where} must be a record of functions (output, target) => number, got ${describe(metrics)}`);
  for (const [name, metric] of Object.entries(metrics)) {
    if (typeof metric !== 'function') throw new TrainingError(`${op}: metric '${name}'${where} must be a function (output, target) => number, got ${describe(metric)}`);
  }
  return metrics as Readonly<Record<string, Metric>>;
}

/** Throws unless `keys` are among the heads; `what` names the option. */
function checkHeadKeys(op: string, what: string, keys: readonly string[], names: readonly string[]): void {
  const unknown = keys.find((k) => !names.includes(k));
  if (unknown !== undefined) throw new TrainingError(`${op}: ${what} names head '${unknown}', but the heads (from loss) are ${names.join(', ')}`);
}

/** The heads the loss option describes, with their metrics. */
function headsOf(op: string, losses: HeadLosses, metrics: unknown): Head[] {
  const array = Array.isArray(losses);
  const entries: [string | number, unknown][] = array ? losses.map((l, i) => [i, l]) : Object.entries(losses);
  if (entries.length === 0) throw new TrainingError(`${op}: loss has no heads; give one loss per head of the model's output`);
  const names = entries.map(([key]) => (array ? `head${String(key)}` : String(key)));
  const perHead = metrics ?? (array ? [] : {});
  if (array !== Array.isArray(perHead) || typeof perHead !== 'object') {
    throw new TrainingError(`${op}: metrics must be per head and shaped like loss (${array ? 'an array of records' : 'a record of records keyed by head'}), got ${describe(perHead)}`);
  }
  if (array && (perHead as unknown[]).length > entries.length) throw new TrainingError(`${op}: metrics has ${(perHead as unknown[]).length} entries, but loss has ${entries.length} heads (${names.join(', ')})`);
  if (!array) checkHeadKeys(op, 'metrics', Object.keys(perHead), names);
  return entries.map(([key, loss], i) => {
    if (!isLossModuleOrFunction(loss)) throw new TrainingError(`${op}: the loss of head '${names[i]}' must be a function (output, target) => Tensor or a loss Module, got ${describe(loss)}`);
    const headMetrics = (perHead as Record<string | number, unknown>)[key] ?? {};
    return { name: names[i], key, loss: lossFunction(loss as Loss), metrics: checkMetrics(op, headMetrics, names[i]) };
  });
}

/** The fixed weight of each head (1 when lossWeights is omitted); throws naming a missing or unknown head. */
function fixedWeights(op: string, weights: Exclude<LossWeights, UncertaintyWeighting> | undefined, heads: readonly Head[]): number[] {
  const names = heads.map((h) => h.name);
  if (weights === undefined) return heads.map(() => 1);
  if (weights === null || typeof weights !== 'object') throw new TrainingError(`${op}: lossWeights must be an array, a record keyed by head, or an UncertaintyWeighting, got ${describe(weights)}`);
  if (Array.isArray(weights) !== (typeof heads[0].key === 'number')) {
    throw new TrainingError(`${op}: lossWeights must be shaped like loss (${Array.isArray(weights) ? 'a record keyed by head' : 'an array'}), got ${describe(weights)}`);
  }
  if (Array.isArray(weights) && weights.length !== heads.length) throw new TrainingError(`${op}: lossWeights has ${weights.length} entries, but there are ${heads.length} heads (${names.join(', ')})`);
  if (!Array.isArray(weights)) checkHeadKeys(op, 'lossWeights', Object.keys(weights), names);
  return heads.map((h, i) => {
    const w = Array.isArray(weights) ? weights[i] : (weights as Record<string, number>)[h.name];
    if (w === undefined) throw new TrainingError(`${op}: lossWeights has no weight for head '${h.name}' (heads ${names.join(', ')})`);
    if (!(typeof w === 'number' && Number.isFinite(w) && w >= 0)) throw new TrainingError(`${op}: the loss weight of head '${h.name}' must be a finite number ≥ 0, got ${String(w)}`);
    return w;
  });
}

/** Throws unless the weighting's heads are the loss's heads, in order. */
function checkWeighting(op: string, weighting: UncertaintyWeighting, heads: readonly Head[]): void {
  const names = heads.map((h) => h.name);
  if (weighting.heads.join('\u0000') !== names.join('\u0000')) {
    throw new TrainingError(`${op}: the UncertaintyWeighting's heads (${weighting.heads.join(', ')}) must be the loss's heads in order (${names.join(', ')})`);
  }
}

/** The heads' tensors of a batch's output or target, in head order; throws naming a missing head. */
function pick(op: string, value: ModelOutput, heads: readonly Head[], what: 'output' | 'target'): Tensor[] {
  const owner = what === 'output' ? "the model's output" : "the batch's target";
  const array = typeof heads[0].key === 'number';
  const names = heads.map((h) => h.name).join(', ');
  if (value instanceof Tensor || value === null || typeof value !== 'object' || Array.isArray(value) !== array) {
    throw new TrainingError(`${op}: ${owner} must be ${array ? `an array of ${heads.length} tensors` : 'a record of tensors'}, one per head (${names}), got ${describe(value)}`);
  }
  if (array && (value as readonly Tensor[]).length !== heads.length) throw new TrainingError(`${op}: ${owner} has ${(value as readonly Tensor[]).length} heads, expected ${heads.length} (${names})`);
  return heads.map((h) => {
    const t = (value as Record<string | number, unknown>)[h.key];
    if (!(t instanceof Tensor)) throw new TrainingError(`${op}: ${owner} has no tensor for head '${h.name}' (got ${describe(t)}; heads ${names})`);
    return t;
  });
}

/** Head i's loss on one batch, checked to be a scalar. */
function headLoss(op: string, head: Head, output: Tensor, target: Tensor): Tensor {
  const value = head.loss(output, target);
  if (!(value instanceof Tensor) || value.numel !== 1) throw new TrainingError(`${op}: the loss of head '${head.name}' must return a scalar Tensor, got ${describe(value)}`);
  return value;
}

/** `<head>_loss` and `<head>_<metric>` for every head. */
function headMetrics(op: string, heads: readonly Head[]): Record<string, BatchMetric> {
  const metrics: Record<string, BatchMetric> = {};
  heads.forEach((head, i) => {
    const at = (output: ModelOutput, target: ModelOutput): [Tensor, Tensor] => [pick(op, output, heads, 'output')[i], pick(op, target, heads, 'target')[i]];
    metrics[`${head.name}_loss`] = (output, target) => headLoss(op, head, ...at(output, target)).item();
    for (const [name, metric] of Object.entries(head.metrics)) metrics[`${head.name}_${name}`] = (output, target) => metric(...at(output, target));
  });
  return metrics;
}

/** The multi-task loss: the heads' losses weighted by fixed numbers or by the learned weighting. */
function multiTaskLoss(op: string, heads: readonly Head[], weights: LossWeights | undefined): LossPlan['loss'] {
  const weighting = weights instanceof UncertaintyWeighting ? weights : undefined;
  if (weighting !== undefined) checkWeighting(op, weighting, heads);
  const fixed = weighting === undefined ? fixedWeights(op, weights as Exclude<LossWeights, UncertaintyWeighting> | undefined, heads) : [];
  return (output, target) => {
    const outputs = pick(op, output, heads, 'output');
    const targets = pick(op, target, heads, 'target');
    const losses = heads.map((h, i) => headLoss(op, h, outputs[i], targets[i]));
    if (weighting !== undefined) return weighting.forward(losses);
    return losses.map((l, i) => l.mul(fixed[i])).reduce((total, l) => total.add(l));
  };
}

/**
 * Checks the loss, metrics and lossWeights options and composes them; `op` ('fit',
 * 'evaluate') starts every error message. A single loss gives the single-head plan, which
 * passes the user's loss and metrics through unchanged.
 */
export function planLoss(op: string, options: LossOptions): LossPlan {
  if (!isHeadLosses(options.loss)) {
    if (options.lossWeights !== undefined) throw new TrainingError(`${op}: lossWeights needs one loss per head (loss as an array or a record), got a single loss`);
    const metrics = checkMetrics(op, options.metrics ?? {});
    // Single head: the output and target are Tensors (forwardLoss and unpackBatch check), so the user's functions apply as they are.
    return { loss: lossFunction(options.loss) as LossPlan['loss'], metrics: metrics as Readonly<Record<string, BatchMetric>>, multiTask: false };
  }
  const heads = headsOf(op, options.loss, options.metrics);
  return {
    loss: multiTaskLoss(op, heads, options.lossWeights),
    metrics: headMetrics(op, heads),
    multiTask: true,
    weighting: options.lossWeights instanceof UncertaintyWeighting ? options.lossWeights : undefined,
  };
}

/** The output detached from the graph, head by head. */
export function detachOutput(output: ModelOutput): ModelOutput {
  if (output instanceof Tensor) return output.detach();
  if (Array.isArray(output)) return output.map((t: Tensor) => t.detach());
  return Object.fromEntries(Object.entries(output).map(([k, t]) => [k, t.detach()]));
}
