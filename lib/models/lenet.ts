/**
 * LeNet-5 (LeCun et al., 1998) in the form the lecture and most tutorials train today: ReLU
 * instead of the scaled tanh, max pooling instead of trainable subsampling, and a plain
 * linear output layer instead of the RBF units.
 */
import { Conv2d } from '../nn/conv.js';
import { Sequential } from '../nn/containers.js';
import { Flatten, Linear } from '../nn/layers/linear.js';
import { ReLU } from '../nn/layers/activation.js';
import { MaxPool2d } from '../nn/pooling.js';

/** Options of lenet5. */
export interface LeNet5Options {
  /** Channels of the input images. Default 1 (grayscale). */
  inChannels?: number;
  /** Number of classes (outputs). Default 10. */
  numClasses?: number;
}

/**
 * LeNet-5 for 28×28 images: conv 6@5×5 (padding 2), ReLU, max-pool 2, conv 16@5×5, ReLU,
 * max-pool 2, flatten, 400 → 120 → 84 → numClasses with ReLU between. A Sequential, so its
 * stateDict keys (`0.weight`, `3.weight`, `7.weight`, `9.weight`, `11.weight` and biases)
 * match the same `torch.nn.Sequential` in PyTorch; 61,706 parameters for 10 classes.
 *
 * Args: options (inChannels, numClasses).
 * Shape: (N, inChannels, 28, 28) → logits (N, numClasses).
 *
 * Example:
 * ```ts
 * const net = models.lenet5();
 * net.forward(randn([64, 1, 28, 28]));   // (64, 10)
 * ```
 */
export function lenet5(options: LeNet5Options = {}): Sequential {
  const inChannels = options.inChannels ?? 1;
  const numClasses = options.numClasses ?? 10;
  return new Sequential(
    new Conv2d(inChannels, 6, 5, { padding: 2 }), // (N, 6, 28, 28)
    new ReLU(),
    new MaxPool2d(2), // (N, 6, 14, 14)
    new Conv2d(6, 16, 5), // (N, 16, 10, 10)
    new ReLU(),
    new MaxPool2d(2), // (N, 16, 5, 5)
    new Flatten(), // (N, 400)
    new Linear(400, 120),
    new ReLU(),
    new Linear(120, 84),
    new ReLU(),
    new Linear(84, numClasses),
  );
}
