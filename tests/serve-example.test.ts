/**
 * examples/serve.ts as a compiled script in a child process: a server on 127.0.0.1 that trains
 * LeNet-5 in a Trainer worker (a 256-image slice of the embedded subset, one epoch) while it
 * answers /health and /predict (JSON, PNG and float32 bodies), then shuts down cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { data, zeros } from '../lib/index.js';

const script = fileURLToPath(new URL('../dist/examples/serve.js', import.meta.url));

/** Starts the server and resolves with its base URL once it listens. */
function start(args: string[]): Promise<{ child: ChildProcess; base: string; output: () => string }> {
  const child = spawn(process.execPath, [script, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${text}`)), 60_000);
    child.stdout?.on('data', () => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ child, base: match[1], output: () => text });
      }
    });
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}:\n${text}`)));
  });
}

const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

describe('examples/serve', () => {
  it('answers /health and /predict while a Trainer worker trains, serves the trained weights, and exits on SIGTERM', async () => {
    const { child, base, output } = await start(['--subset', '--limit', '256', '--epochs', '1', '--batch-size', '32']);
    children.push(child);
    const health = (await (await fetch(`${base}/health`)).json()) as { status: string; training: { mode: string; state: string } };
    expect(health.status).toBe('ok');
    expect(health.training.mode).toBe('worker');

    const json = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels: new Array(784).fill(0.5) }) });
    expect(json.status).toBe(200);
    const prediction = (await json.json()) as { class: number; label: string; probabilities: number[] };
    expect(prediction.probabilities).toHaveLength(10);
    expect(prediction.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(prediction.label).toBe(data.FASHION_MNIST_CLASSES[prediction.class]);

    const png = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: data.encodePng(zeros([1, 28, 28])) });
    expect(png.status).toBe(200);
    expect(((await png.json()) as { probabilities: number[] }).probabilities).toHaveLength(10);

    const octets = { 'content-type': 'application/octet-stream' };
    const short = await fetch(`${base}/predict`, { method: 'POST', headers: octets, body: Buffer.alloc(100) });
    expect(short.status).toBe(422);
    expect(await short.json()).toEqual({ error: 'an application/octet-stream body must be 784 little-endian float32 values (3136 bytes), got 100 bytes' });
    const notFinite = await fetch(`${base}/predict`, { method: 'POST', headers: octets, body: Buffer.from(new Float32Array(784).fill(Number.NaN).buffer) });
    expect(notFinite.status).toBe(422);
    expect(await notFinite.json()).toEqual({ error: 'the float32 pixels must be finite (no NaN or infinity)' });

    const wrongSize = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: data.encodePng(zeros([1, 8, 8])) });
    expect(wrongSize.status).toBe(422);
    expect(await wrongSize.json()).toEqual({ error: 'expected a 28×28 image, got 8×8' });
    const badJson = await fetch(`${base}/predict`, { method: 'POST', body: '{"pixels": [1, 2]}' });
    expect(badJson.status).toBe(422);
    expect((await fetch(`${base}/nowhere`)).status).toBe(404);
    expect((await fetch(`${base}/health?verbose=1`)).status).toBe(200); // the query is not part of the route
    const huge = await fetch(`${base}/predict`, { method: 'POST', headers: octets, body: Buffer.alloc((1 << 20) + 1) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ error: `the body exceeds ${1 << 20} bytes` });

    // training ends (one short epoch); its weights replace the initial ones in the predictor
    let state = '';
    for (let i = 0; i < 600 && state !== 'done'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      state = ((await (await fetch(`${base}/health`)).json()) as { training: { state: string } }).training.state;
    }
    expect(state, output()).toBe('done');
    const after = (await (await fetch(`${base}/predict`, { method: 'POST', body: JSON.stringify({ pixels: new Array(784).fill(0.5) }) })).json()) as { probabilities: number[] };
    expect(after.probabilities).not.toEqual(prediction.probabilities);
    // the same image as 784 little-endian float32 values gets the JSON body's answer (the weights no longer change)
    const binary = await fetch(`${base}/predict`, { method: 'POST', headers: octets, body: Buffer.from(new Float32Array(784).fill(0.5).buffer) });
    expect(binary.status).toBe(200);
    const fromBinary = (await binary.json()) as { probabilities: number[] };
    fromBinary.probabilities.forEach((p, i) => expect(p).toBeCloseTo(after.probabilities[i], 6));
    // the server decodes every request into one buffer: distinct images sent at once still get their own answers
    const images = Array.from({ length: 8 }, (_, k) => Float32Array.from({ length: 784 }, (_, i) => ((i * (k + 3)) % 29) / 28));
    const answer = async (init: RequestInit): Promise<number[]> => ((await (await fetch(`${base}/predict`, { method: 'POST', ...init })).json()) as { probabilities: number[] }).probabilities;
    const concurrent = await Promise.all(images.map((image) => answer({ headers: octets, body: Buffer.from(image.buffer) })));
    for (const [k, image] of images.entries()) {
      const alone = await answer({ body: JSON.stringify({ pixels: Array.from(image) }) });
      alone.forEach((p, i) => expect(concurrent[k][i]).toBeCloseTo(p, 6));
    }
    expect(concurrent[0]).not.toEqual(concurrent[1]);

    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited, output()).toBe(0);
    expect(output()).toContain('epoch 1: train_loss');
    expect(output()).toContain('shutting down');
  }, 120_000);

  it('--no-model answers /predict with every class at 0.1 after checking the body as usual, and the predictor runs no batch', async () => {
    const { child, base, output } = await start(['--training', 'none', '--no-model']);
    children.push(child);
    const octets = { 'content-type': 'application/octet-stream' };
    const answer = await fetch(`${base}/predict`, { method: 'POST', headers: octets, body: Buffer.from(new Float32Array(784).fill(0.5).buffer) });
    expect(answer.status).toBe(200);
    const { probabilities } = (await answer.json()) as { probabilities: number[] };
    expect(probabilities).toHaveLength(10);
    probabilities.forEach((p) => expect(p).toBeCloseTo(0.1, 12));
    const notFinite = await fetch(`${base}/predict`, { method: 'POST', headers: octets, body: Buffer.from(new Float32Array(784).fill(Number.POSITIVE_INFINITY).buffer) });
    expect(notFinite.status).toBe(422);
    const health = (await (await fetch(`${base}/health`)).json()) as { predictor: { requests: number; batches: number } };
    expect(health.predictor).toMatchObject({ requests: 0, batches: 0 });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited, output()).toBe(0);
  }, 60_000);
});
