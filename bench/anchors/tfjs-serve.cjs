// The tfjs anchor of bench serve: a node:http server answering GET /health while
// @tensorflow/tfjs (pure-JS cpu backend; tfjs-node cannot be installed here) trains LeNet-5 with
// model.fit on Fashion-MNIST-shaped data (random pixels and labels: the latency and samples/s
// do not depend on the values), batch 64, SGD momentum, yielding every batch as tfjs does.
// Prints "listening on http://127.0.0.1:PORT" and, after every batch, "N samples/s".
// Usage: node tfjs-serve.cjs PORT  (with @tensorflow/tfjs resolvable, e.g. through NODE_PATH;
// it is a scratch dependency of the bench, never of kiln).
const http = require('node:http');
const tf = require('@tensorflow/tfjs');

async function main() {
  await tf.setBackend('cpu');
  const server = http.createServer((req, res) => {
    if (req.url === '/health') res.end('{"status":"ok"}');
    else res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', resolve));
  console.log(`listening on http://127.0.0.1:${server.address().port} (training: tfjs model.fit, backend ${tf.getBackend()})`);

  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 120, activation: 'relu' }),
      tf.layers.dense({ units: 84, activation: 'relu' }),
      tf.layers.dense({ units: 10 }),
    ],
  });
  model.compile({ optimizer: tf.train.momentum(0.05, 0.9), loss: (y, p) => tf.losses.softmaxCrossEntropy(y, p) });
  const n = 1024;
  const x = tf.randomUniform([n, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([n], 0, 10, 'int32'), 10);
  let since = performance.now();
  await model.fit(x, y, {
    batchSize: 64,
    epochs: 1000,
    shuffle: true,
    verbose: 0,
    yieldEvery: 'batch',
    callbacks: {
      onBatchEnd: () => {
        const now = performance.now();
        console.log(`${(64 / ((now - since) / 1000)).toFixed(1)} samples/s`);
        since = now;
      },
    },
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
