/**
 * Transfer-learning helpers for the zoo: replacing a model's classification head.
 */
import { KilnError } from '../errors.js';
import type { Generator } from '../random.js';
import { Linear } from '../nn/layers/linear.js';
import type { Module } from '../nn/module.js';

/**
 * The dotted name of the model's head: its last Linear in registration order (ResNet's `fc`,
 * VGG's `classifier.6`, LeNet's `11`). Throws when the model has no Linear layer.
 *
 * Example: `headName(models.resnet18())` is `'fc'`.
 */
export function headName(model: Module): string {
  const linears = model.namedModules().filter(([, m]) => m instanceof Linear);
  if (linears.length === 0) throw new KilnError(`replaceHead: ${model.constructor.name} has no Linear layer to replace`);
  return linears[linears.length - 1][0];
}

/**
 * Replaces the model's head (its last Linear, see headName) by a freshly initialised Linear
 * with the same input features and `numClasses` outputs, under the same name, so the new
 * stateDict differs only in `<head>.weight`/`<head>.bias`. The new head trains (requiresGrad on)
 * even when the model was frozen. Returns the new layer.
 *
 * Args: model, numClasses, options.generator (the new weights; the global generator otherwise).
 * Shape: the model's output becomes (N, numClasses).
 *
 * Example:
 * ```ts
 * const net = models.resnet18();
 * net.loadStateDict(pretrained);
 * net.freeze();
 * models.replaceHead(net, 5);   // net.fc: Linear(512 → 5), trainable
 * ```
 */
export function replaceHead(model: Module, numClasses: number, options: { generator?: Generator } = {}): Linear {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new KilnError(`replaceHead: numClasses must be a positive integer, got ${numClasses}`);
  const name = headName(model);
  const dot = name.lastIndexOf('.');
  const parentName = dot < 0 ? '' : name.slice(0, dot);
  const attribute = name.slice(dot + 1);
  const parent = model.namedModules().find(([n]) => n === parentName)?.[1] as Module;
  const old = parent.namedChildren().find(([n]) => n === attribute)?.[1] as Linear;
  const head = new Linear(old.inFeatures, numClasses, { bias: old.bias !== null, generator: options.generator });
  if (Object.prototype.hasOwnProperty.call(parent, attribute)) (parent as unknown as Record<string, Module>)[attribute] = head;
  else parent.registerModule(attribute, head);
  return head;
}
