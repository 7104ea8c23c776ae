/**
 * The main job for now: a 2-4-1 MLP learns XOR with plain SGD, the lecture's example of why
 * a hidden layer is needed (no single perceptron separates XOR). Prints the loss per epoch
 * (every `--every` epochs) and the final truth table.
 *
 * Run: `npm start` (native backend) or `KILN_BACKEND=reference npm start`.
 */
import { parseArgs } from 'node:util';
import { getBackend, manualSeed, mean, noGrad, randn, sigmoid, square, tanh, tensor, zeros, type Tensor } from '../lib/index.js';

const HELP = `Usage: node dist/examples/xor.js [options]

A 2-4-1 MLP (tanh, sigmoid, MSE) learns XOR with plain SGD and prints its truth table.

Options:
  --epochs N   training epochs (default 1000)
  --lr X       learning rate (default 0.5)
  --every N    print the loss every N epochs (default 50)
  --seed N     random seed for the initial weights (default 0)
  -h, --help   show this text
`;

/** The flags, or an exit: --help prints HELP, an unknown or malformed flag prints why and the usage. */
function readFlags(): { epochs: string; lr: string; every: string; seed: string } {
  try {
    const { values } = parseArgs({
      options: {
        epochs: { type: 'string', default: '1000' },
        lr: { type: 'string', default: '0.5' },
        every: { type: 'string', default: '50' },
        seed: { type: 'string', default: '0' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      process.stdout.write(HELP);
      process.exit(0);
    }
    return values;
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
}

const values = readFlags();
const epochs = Number(values.epochs);
const learningRate = Number(values.lr);
const every = Number(values.every);
manualSeed(Number(values.seed));

// The four XOR patterns (4, 2) and their labels (4, 1).
const inputs = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
const targets = tensor([[0], [1], [1], [0]]);

// Parameters: hidden layer (2 → 4, tanh) and output layer (4 → 1, sigmoid).
const w1 = randn([2, 4]).requiresGrad_();
const b1 = zeros([4]).requiresGrad_();
const w2 = randn([4, 1]).requiresGrad_();
const b2 = zeros([1]).requiresGrad_();
const parameters = [w1, b1, w2, b2];

function forward(x: Tensor): Tensor {
  const hidden = tanh(x.matmul(w1).add(b1)); // (batch, 4)
  return sigmoid(hidden.matmul(w2).add(b2)); // (batch, 1)
}

console.log(`kiln XOR MLP (2-4-1, tanh/sigmoid, MSE, SGD lr=${learningRate}) on the ${getBackend().name} backend`);
let loss = Number.NaN;
for (let epoch = 1; epoch <= epochs; epoch++) {
  const lossTensor = mean(square(forward(inputs).sub(targets)));
  for (const p of parameters) p.zeroGrad();
  lossTensor.backward();
  noGrad(() => {
    for (const p of parameters) p.copy_(p.sub(p.grad!.mul(learningRate)));
  });
  loss = lossTensor.item();
  if (epoch % every === 0 || epoch === 1 || epoch === epochs) console.log(`epoch ${String(epoch).padStart(5)}  loss ${loss.toFixed(6)}`);
}

console.log('\n x1  x2 | target  output');
const outputs = noGrad(() => forward(inputs)).data as Float32Array;
let correct = 0;
for (let i = 0; i < 4; i++) {
  const [a, b] = [Number(inputs.data[2 * i]), Number(inputs.data[2 * i + 1])];
  const target = Number(targets.data[i]);
  correct += Number(Math.round(outputs[i]) === target);
  console.log(`  ${a}   ${b} |   ${target}     ${outputs[i].toFixed(4)}`);
}
console.log(`\n${correct}/4 patterns correct, final loss ${loss.toFixed(6)}`);
if (correct !== 4) process.exitCode = 1;
