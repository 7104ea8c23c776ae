"""PyTorch anchor for bench suite `lenet`: LeNet-5 on the full Fashion-MNIST, batch 64, SGD
with momentum 0.9, lr 0.05 — the recipe of shared/anchors/torch_lenet.py — in one process per
call, so that its peak RSS is this run's alone.

Usage: torch_lenet.py CASE THREADS EPOCHS [SEED]. Prints one JSON row in kiln's bench format:
samples_per_s over the training epochs (test-set evaluation excluded), median_ms per batch,
peak_rss_mb of the process, test_acc_pct after the last epoch, seed (torch.manual_seed, 0 by
default: initial weights and shuffling)."""
import gzip
import json
import resource
import sys
import time

import numpy as np
import torch

case, threads, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
torch.manual_seed(seed)
torch.set_num_threads(threads)
root = "/usr/share/datasets/fashion-mnist/"


def images(name):
    raw = gzip.open(root + name).read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0


def labels(name):
    return np.frombuffer(gzip.open(root + name).read(), np.uint8, offset=8).astype(np.int64)


xtr, ytr, xte, yte = map(torch.from_numpy, (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
                                            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz")))
mean, std = xtr.mean(), xtr.std()
xtr, xte = (xtr - mean) / std, (xte - mean) / std
nn = torch.nn
net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                    nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
n = xtr.shape[0]
train_seconds = 0.0
for epoch in range(epochs):
    perm = torch.randperm(n)
    start = time.perf_counter()
    for i in range(0, n, 64):
        idx = perm[i:i + 64]
        opt.zero_grad()
        loss_fn(net(xtr[idx]), ytr[idx]).backward()
        opt.step()
    train_seconds += time.perf_counter() - start
with torch.no_grad():
    acc = (net(xte).argmax(1) == yte).float().mean().item()
samples_per_s = epochs * n / train_seconds
print(json.dumps([{"suite": "lenet", "case": case, "impl": "pytorch", "threads": threads,
                  "median_ms": 64e3 / samples_per_s, "samples_per_s": samples_per_s,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "test_acc_pct": acc * 100, "seed": seed}]))
