/**
 * Where the ResNet recipe's memory goes (issue 14): ResNet-18 smallInput on Fashion-MNIST-sized
 * batches (1×28×28, batch 128 by default), SGD with Nesterov momentum and weight decay, label
 * smoothing, each step in tidy() as train.fit runs it. Prints, for each of the first STEPS
 * steps, the RSS and memoryStats() after the forward pass, after backward and after the step,
 * then the peak RSS. Random images stand in for the data set (the recipe's 188 MB of training
 * images come on top; bench/anchors/torch_resnet_recipe.py's peak_rss_mb includes them too).
 *
 * Usage: node dist/bench/zoo-memory.js [STEPS=20] [BATCH=128] [THREADS]
 */
import { F, memoryStats, models, optim, randint, randn, setBackend, setNumThreads, tidy, type MemoryStats } from '../lib/index.js';

const [stepsArg, batchArg, threadsArg] = process.argv.slice(2);
const steps = Number(stepsArg ?? 20);
const batch = Number(batchArg ?? 128);
setBackend('native');
if (threadsArg !== undefined) setNumThreads(Number(threadsArg));

const model = models.resnet18({ numClasses: 10, inChannels: 1, smallInput: true });
model.train();
const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
const x = randn([batch, 1, 28, 28]);
const y = randint(0, 10, [batch]);

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(0).padStart(6);
const line = (label: string, s: MemoryStats): string =>
  `${label}rss ${mb(s.rssBytes)} | arrayBuffers ${mb(s.arrayBuffersBytes)} heap ${mb(s.heapUsedBytes)} | step holds ${mb(s.scopeBytes)} (${String(s.scopeArrays).padStart(4)} arrays) | pool ${mb(s.poolBytes)} (${String(s.poolArrays).padStart(4)})`;

console.log(`ResNet-18 smallInput, batch ${batch}×1×28×28, MB (2^20 bytes)`);
for (let step = 1; step <= steps; step++) {
  const start = performance.now();
  const [forward, backward] = tidy(() => {
    optimizer.zeroGrad();
    const loss = F.crossEntropy(model.forward(x), y, { labelSmoothing: 0.1 });
    const afterForward = memoryStats();
    loss.backward();
    const afterBackward = memoryStats();
    optimizer.step();
    return [afterForward, afterBackward];
  });
  const ms = performance.now() - start;
  console.log(`step ${String(step).padStart(2)} ${ms.toFixed(0).padStart(5)} ms`);
  console.log(`  forward  ${line('', forward)}`);
  console.log(`  backward ${line('', backward)}`);
  console.log(`  end      ${line('', memoryStats())}`);
}
console.log(`peak RSS ${(memoryStats().peakRssBytes / 2 ** 20).toFixed(0)} MB`);
