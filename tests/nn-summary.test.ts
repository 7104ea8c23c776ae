/**
 * nn.summary: output shapes, parameter counts and MACs per layer. MACs are checked against
 * hand counts for each counted layer type and against the published totals of ResNet-18
 * (1.81 GMACs at 224×224, torchinfo's "mult-adds") and MobileNetV2 (0.30 G), which
 * torchvision 0.14 reproduces with a forward hook counting out.numel · weight.numel / C_out
 * per Conv2d and out.numel · in_features per Linear (1,814,073,344 and 300,774,272).
 */
import { describe, expect, it } from 'vitest';
import * as k from '../lib/index.js';
import type { Tensor } from '../lib/index.js';

const { nn } = k;

/** The MACs summary() finds for a single layer fed x. */
function layerMacs(layer: k.nn.Module, x: Tensor): number {
  const s = nn.summary(new nn.Sequential(layer), x);
  expect(s.layers[1].macs).toBe(s.totalMacs);
  return s.totalMacs;
}

describe('nn.summary MACs by hand', () => {
  it('Conv2d: out.numel · C_in/groups · kH · kW, with stride, padding and groups', () => {
    expect(layerMacs(new nn.Conv2d(3, 8, 3, { padding: 1 }), k.zeros([2, 3, 10, 10]))).toBe(2 * 8 * 10 * 10 * (3 * 3 * 3));
    expect(layerMacs(new nn.Conv2d(8, 16, 3, { groups: 4, stride: 2 }), k.zeros([1, 8, 9, 9]))).toBe(16 * 4 * 4 * (2 * 3 * 3));
    expect(layerMacs(new nn.Conv2d(8, 8, 3, { groups: 8, padding: 1 }), k.zeros([1, 8, 6, 6]))).toBe(8 * 6 * 6 * 9); // depthwise
  });

  it('Conv1d, ConvTranspose2d (in.numel · C_out/groups · kH · kW) and Linear (out.numel · in)', () => {
    expect(layerMacs(new nn.Conv1d(2, 3, 5), k.zeros([1, 2, 20]))).toBe(3 * 16 * (2 * 5));
    expect(layerMacs(new nn.ConvTranspose2d(4, 6, 2, { stride: 2 }), k.zeros([1, 4, 5, 5]))).toBe(4 * 5 * 5 * (6 * 2 * 2));
    expect(layerMacs(new nn.Linear(10, 5), k.zeros([3, 7, 10]))).toBe(3 * 7 * 5 * 10);
  });

  it('normalisation, activations and pooling count 0; a module called twice counts twice; a custom layer overrides macs()', () => {
    const shared = new nn.Linear(4, 4);
    class Twice extends nn.Module {
      shared = shared;
      override forward(x: Tensor): Tensor {
        return this.shared.forward(this.shared.forward(x));
      }
    }
    expect(nn.summary(new Twice(), [2, 4]).totalMacs).toBe(2 * (2 * 4 * 4));
    expect(nn.summary(new nn.Sequential(new nn.BatchNorm2d(3), new nn.ReLU(), new nn.MaxPool2d(2)), [1, 3, 4, 4]).totalMacs).toBe(0);
    class Scale extends nn.Module {
      override forward(x: Tensor): Tensor {
        return k.mul(x, 2);
      }
      override macs(inputs: readonly unknown[]): number {
        return (inputs[0] as Tensor).numel;
      }
    }
    const s = nn.summary(new nn.Sequential(new Scale(), new nn.Linear(3, 1)), [5, 3]);
    expect(s.layers.map((l) => l.macs)).toEqual([0, 15, 15]);
  });

  it('rows carry names, types, depth, output shapes (several for an object output) and own parameters', () => {
    const net = k.models.googlenet({ numClasses: 4 });
    net.train();
    const s = nn.summary(net, [1, 3, 32, 32]);
    expect(net.training).toBe(true); // restored
    const row = s.layers.find((l) => l.name === 'inception3a.branch2.1.conv')!;
    expect(row).toMatchObject({ type: 'Conv2d', depth: 4, outputShapes: [[1, 128, 4, 4]], params: 96 * 128 * 9, macs: 128 * 4 * 4 * 96 * 9 });
    expect(s.layers[0].outputShapes).toEqual([[1, 4]]); // eval mode: logits only
    expect(s.layers.find((l) => l.name === 'aux1')!.outputShapes).toEqual([]); // not called in eval
    expect(s.totalParams).toBe(net.parameters().reduce((n, p) => n + p.numel, 0));
  });

  it('names what it expected for a bad input', () => {
    expect(() => nn.summary(new nn.Linear(2, 2), [2, 1.5])).toThrow(/summary: input must be a shape \(non-negative integers\), a Tensor or an array of Tensors, got \[2, 1.5\]/);
  });
});

describe('nn.summary totals of known architectures', () => {
  it('ResNet-18 at 224×224: 1,814,073,344 MACs (1.81 G), conv1 and fc by hand, 11,689,512 parameters', { timeout: 120_000 }, () => {
    const s = nn.summary(k.models.resnet18(), [1, 3, 224, 224]);
    expect(s.totalMacs).toBe(1_814_073_344);
    expect(s.layers.find((l) => l.name === 'conv1')!.macs).toBe(64 * 112 * 112 * (3 * 7 * 7));
    expect(s.layers.find((l) => l.name === 'layer2.0.downsample.0')!.macs).toBe(128 * 28 * 28 * 64);
    expect(s.layers.find((l) => l.name === 'fc')!.macs).toBe(512 * 1000);
    expect(s.totalParams).toBe(11_689_512);
    const text = String(s);
    expect(text.split('\n')[0]).toMatch(/^Layer \(type\)\s+Output shape\s+Param #\s+MACs$/);
    expect(text).toContain('Total MACs: 1814073344 (1.81 G)');
    expect(text).toMatch(/\n {2}conv1 \(Conv2d\)\s+\[1, 64, 112, 112\]\s+9408\s+118013952\n/);
  });

  it('MobileNetV2 at 224×224: 300,774,272 MACs (depthwise convolutions counted per group)', { timeout: 120_000 }, () => {
    expect(nn.summary(k.models.mobilenetV2(), [1, 3, 224, 224]).totalMacs).toBe(300_774_272);
  });
});
