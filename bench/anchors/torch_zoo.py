"""PyTorch anchor for bench suite `zoo` (bench/zoo-cases.ts): torchvision 0.14 models, float32
CPU, one case per process so that peak_rss_mb is this run's alone.

Usage: torch_zoo.py CASE_KEY THREADS [ROUNDS]. Cases:
- resnet18-train: resnet18(num_classes=10) with kiln's smallInput stem (conv1 3x3 stride 1
  padding 1, no max-pool), batch 64 of 32x32x3, forward + cross-entropy + backward + SGD
  (lr 0.01, momentum 0.9) per step;
- mobilenetv2-infer: mobilenet_v2(), eval, no_grad, batch 1 of 224x224x3;
- densenet121-infer: densenet121(), eval, no_grad, batch 8 of 224x224x3.
Prints one JSON row in kiln's bench format (median_ms per step or pass, samples_per_s,
peak_rss_mb, build_ms)."""
import json
import os
import resource
import sys
import time

os.environ["OMP_NUM_THREADS"] = sys.argv[2]
os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[2]

import torch  # noqa: E402
import torchvision.models as tvm  # noqa: E402

from timing import time_it  # noqa: E402

key, threads = sys.argv[1], int(sys.argv[2])
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
torch.set_num_threads(threads)
torch.manual_seed(0)


def small_input_resnet18():
    net = tvm.resnet18(num_classes=10)
    net.conv1 = torch.nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    net.maxpool = torch.nn.Identity()
    return net


CASES = {
    "resnet18-train": (small_input_resnet18, (64, 3, 32, 32), "train"),
    "mobilenetv2-infer": (tvm.mobilenet_v2, (1, 3, 224, 224), "infer"),
    "densenet121-infer": (tvm.densenet121, (8, 3, 224, 224), "infer"),
}
build, shape, mode = CASES[key]
start = time.perf_counter()
net = build()
build_ms = (time.perf_counter() - start) * 1e3
x = torch.randn(shape)

if mode == "train":
    y = torch.randint(0, 10, (shape[0],))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    net.train()

    def step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()
else:
    net.eval()

    def step():
        with torch.no_grad():
            net(x)

ms = time_it(step, rounds=rounds, min_round_s=0.001)  # one warm-up call, then rounds of 2 calls
print(json.dumps([{"suite": "zoo", "case": key, "impl": "pytorch", "threads": threads, "median_ms": ms,
                  "samples_per_s": shape[0] * 1e3 / ms, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "build_ms": build_ms}]))
