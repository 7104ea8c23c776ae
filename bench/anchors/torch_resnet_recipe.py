"""PyTorch twin of examples/resnet-fashion-mnist.ts (issue 14's ResNet recipe), for bench suite
zoo's 'time to N%' row: torchvision 0.14's resnet18 with the small-input stem (3×3 stride-1
conv1 on one channel, no max-pool) and WIDTH planes in the stem and layer1 (doubled per stage,
as kiln's baseWidth; torchvision's own is 64), Fashion-MNIST normalised with the training pixels' mean
and std, random crops of the image padded by 2 black pixels and random horizontal flips, label
smoothing 0.1, SGD with Nesterov momentum 0.9 and weight decay 5e-4, OneCycleLR (max_lr 0.1,
PyTorch's defaults otherwise, stepped per batch), batch 128. The test set is scored after
every epoch; training stops after the first epoch whose test accuracy reaches TARGET %.
The recipe's constants are examples/fashion-recipes.ts's RESNET_RECIPE: keep them in step.

Usage: torch_resnet_recipe.py THREADS EPOCHS TARGET WIDTH [SEED] [LIMIT] [TEST_LIMIT]
(LIMIT / TEST_LIMIT: the first N training / test images; 0 or absent: all). Progress goes to
stderr; stdout gets one JSON row in kiln's bench format: median_ms is the wall-clock time
from the start of training (data loaded) to the end of the epoch that reached TARGET (null,
with 'skipped', when no epoch did), test_acc_pct the last epoch's, peak_rss_mb the process's.
Needs /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist)."""
import gzip
import json
import resource
import sys
import time

import numpy as np
import torch
import torchvision

threads, epochs, target, width = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 0
limit = int(sys.argv[6]) if len(sys.argv) > 6 else 0
test_limit = int(sys.argv[7]) if len(sys.argv) > 7 else 0
BATCH, MAX_LR, WEIGHT_DECAY, LABEL_SMOOTHING, PADDING = 128, 0.1, 5e-4, 0.1, 2
torch.manual_seed(seed)
torch.set_num_threads(threads)
root = "/usr/share/datasets/fashion-mnist/"


def images(name, n):
    raw = gzip.open(root + name).read()
    x = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    return torch.from_numpy(x[:n] if n > 0 else x)


def labels(name, n):
    y = np.frombuffer(gzip.open(root + name).read(), np.uint8, offset=8).astype(np.int64)
    return torch.from_numpy(y[:n] if n > 0 else y)


xtr, ytr = images("train-images-idx3-ubyte.gz", limit), labels("train-labels-idx1-ubyte.gz", limit)
xte, yte = images("t10k-images-idx3-ubyte.gz", test_limit), labels("t10k-labels-idx1-ubyte.gz", test_limit)
mean, std = xtr.mean(), xtr.std()
xtr, xte = (xtr - mean) / std, (xte - mean) / std
black = float((0 - mean) / std)


def augment(x):
    """Random crop of the black-padded batch (one offset per image), then random horizontal flips. x: (B, 1, 28, 28)."""
    padded = torch.nn.functional.pad(x, (PADDING,) * 4, value=black)
    offsets = torch.randint(0, 2 * PADDING + 1, (x.shape[0], 2))
    crops = torch.stack([padded[i, :, dy:dy + 28, dx:dx + 28] for i, (dy, dx) in enumerate(offsets.tolist())])
    flip = torch.rand(x.shape[0]) < 0.5
    return torch.where(flip[:, None, None, None], crops.flip(3), crops)


def small_input_resnet18(width):
    """torchvision's resnet18 rebuilt with the small-input stem and `width` base planes (its own init)."""
    net = torchvision.models.resnet18(num_classes=10)
    block = torchvision.models.resnet.BasicBlock
    net.inplanes = width
    net.conv1 = torch.nn.Conv2d(1, width, 3, stride=1, padding=1, bias=False)
    net.bn1 = torch.nn.BatchNorm2d(width)
    net.maxpool = torch.nn.Identity()
    net.layer1 = net._make_layer(block, width, 2)
    net.layer2 = net._make_layer(block, 2 * width, 2, stride=2)
    net.layer3 = net._make_layer(block, 4 * width, 2, stride=2)
    net.layer4 = net._make_layer(block, 8 * width, 2, stride=2)
    net.fc = torch.nn.Linear(8 * width, 10)
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return net


net = small_input_resnet18(width)
opt = torch.optim.SGD(net.parameters(), lr=MAX_LR, momentum=0.9, nesterov=True, weight_decay=WEIGHT_DECAY)
n = xtr.shape[0]
steps = (n + BATCH - 1) // BATCH
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=MAX_LR, epochs=epochs, steps_per_epoch=steps)
loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)


def test_accuracy():
    net.eval()
    with torch.no_grad():
        correct = sum((net(xte[i:i + 250]).argmax(1) == yte[i:i + 250]).sum().item() for i in range(0, xte.shape[0], 250))
    net.train()
    return 100.0 * correct / xte.shape[0]


start = time.perf_counter()
reached, accuracy, done = None, float("nan"), 0
for epoch in range(1, epochs + 1):
    perm = torch.randperm(n)
    for i in range(0, n, BATCH):
        idx = perm[i:i + BATCH]
        opt.zero_grad()
        loss_fn(net(augment(xtr[idx])), ytr[idx]).backward()
        opt.step()
        sched.step()
    accuracy, done = test_accuracy(), epoch
    seconds = time.perf_counter() - start
    print(f"epoch {epoch}: test accuracy {accuracy:.2f}%, {seconds:.1f} s", file=sys.stderr)
    if accuracy >= target:
        reached = seconds
        break

row = {"suite": "zoo", "case": f"ResNet-18 (width {width}) recipe, time to {target:g}%", "impl": "pytorch", "threads": threads,
       "median_ms": None if reached is None else reached * 1e3, "test_acc_pct": accuracy,
       "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "seed": seed, "epochs": done}
if reached is None:
    row["skipped"] = f"test accuracy {accuracy:.2f}% after {done} epoch(s), below {target:g}%"
print(json.dumps([row]))
