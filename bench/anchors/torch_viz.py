"""PyTorch anchor for bench suite `viz`: Grad-CAM at LeNet-5's second conv (a forward hook keeps
its output; autograd.grad of the top score gives its gradient; bilinear upsampling to 28x28) plus
guided backprop (full backward hooks on each nn.ReLU clamping grad_input at 0), float32 CPU.
Usage: torch_viz.py THREADS CASES_JSON (bench/viz.ts's cases: batch, name); prints JSON rows."""
import json
import os
import sys

os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[1]
os.environ["OMP_NUM_THREADS"] = sys.argv[1]

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from timing import time_it  # noqa: E402


def lenet5():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10)).eval()


def top_score(out):
    return out.gather(1, out.argmax(1, keepdim=True)).sum()


def grad_cam(net, x):
    seen = {}
    handle = net[3].register_forward_hook(lambda m, i, o: seen.__setitem__("a", o))
    out = net(x.clone().requires_grad_())
    handle.remove()
    (ga,) = torch.autograd.grad(top_score(out), seen["a"])
    cam = F.relu((ga.mean((2, 3), keepdim=True) * seen["a"]).sum(1)).detach()
    return F.interpolate(cam.unsqueeze(1), size=x.shape[2:], mode="bilinear", align_corners=False)


def guided_backprop(net, x):
    handles = [m.register_full_backward_hook(lambda m, gi, go: (gi[0].clamp(min=0),)) for m in net if isinstance(m, nn.ReLU)]
    x = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(top_score(net(x)), x)
    for h in handles:
        h.remove()
    return g


threads = int(sys.argv[1])
cases = json.loads(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
net = lenet5()
rows = []
for case in cases:
    x = torch.randn(case["batch"], 1, 28, 28)
    ms = time_it(lambda: (grad_cam(net, x), guided_backprop(net, x)), rounds=5, min_round_s=0.1)
    rows.append({"suite": "viz", "case": case["name"], "impl": "pytorch", "threads": threads, "median_ms": ms})
print(json.dumps(rows))
