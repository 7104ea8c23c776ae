/**
 * PyTorch-exported ONNX files (torch.onnx.export, PyTorch 1.13; tests/fixtures/onnx/
 * gen_torch_onnx.py) loaded with onnx.load and compared with PyTorch's outputs: a small CNN
 * (opsets 13 and 17), a ResNet-18-style net (basic blocks, projection shortcut), a
 * MobileNet-v2-style net (inverted residuals, depthwise conv, ReLU6 as Clip), an embedding +
 * 2-layer LSTM classifier and a bidirectional GRU.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import { expectClose } from './helpers.js';

interface Entry {
  shape: number[];
  data: number[];
}
interface FixtureCase {
  file: string;
  input: Entry;
  output: Entry;
}

const root = new URL('./fixtures/onnx/', import.meta.url);
const fixture = JSON.parse(readFileSync(new URL('torch_onnx.json', root), 'utf8')) as { torch: string; cases: Record<string, FixtureCase> };

/** The fixture input as a kiln tensor (token ids as int32), optionally repeated along the batch axis. */
function inputOf(name: string, c: FixtureCase, repeat = 1, batchAxis = 0): k.Tensor {
  const tokens = name.startsWith('lstm');
  const x = tokens ? k.tensor(Int32Array.from(c.input.data), { shape: c.input.shape }) : k.tensor(Float32Array.from(c.input.data), { shape: c.input.shape });
  return repeat === 1 ? x : k.cat(Array(repeat).fill(x), batchAxis);
}

describe(`onnx.load of torch.onnx.export files (PyTorch ${fixture.torch})`, () => {
  for (const [name, c] of Object.entries(fixture.cases)) {
    const batchAxis = name.startsWith('gru') ? 1 : 0;
    it(`${name}: kiln's output matches PyTorch's, also at another batch size`, () => {
      const net = k.onnx.load(new URL(c.file, root).pathname);
      const y = k.noGrad(() => net.forward(inputOf(name, c)) as k.Tensor);
      expect(y.shape).toEqual(c.output.shape);
      expectClose(y.data, c.output.data, 1e-5, 1e-4, name);
      // the batch axis is dynamic in the file: two copies of the batch give two copies of the output
      const y2 = k.noGrad(() => net.forward(inputOf(name, c, 2, batchAxis)) as k.Tensor);
      expectClose(y2.data, [...c.output.data, ...c.output.data], 1e-5, 1e-4, `${name} ×2`);
    });
  }

  it('the loaded LSTM classifier fine-tunes: gradients reach every parameter (embedding, LSTM W/R/B, linear) and a step lowers the loss', () => {
    const c = fixture.cases.lstm_classifier;
    const net = k.onnx.load(new URL(c.file, root).pathname);
    const params = net.namedParameters();
    expect(params.length).toBeGreaterThanOrEqual(9); // embedding, 2 × (W, R, B), fc weight and bias
    const x = inputOf('lstm_classifier', c);
    const labels = k.tensor(Int32Array.of(0, 1, 2), { shape: [3] });
    const opt = new k.optim.Adam(net.parameters(), { lr: 0.01 });
    const before = k.F.crossEntropy(net.forward(x) as k.Tensor, labels);
    before.backward();
    for (const [name, p] of params) expect(p.grad, name).not.toBeNull();
    opt.step();
    const after = k.noGrad(() => k.F.crossEntropy(net.forward(x) as k.Tensor, labels));
    expect(after.item()).toBeLessThan(before.item());
  });
});
