"""PyTorch anchor for bench suite `viz`: Grad-CAM at a named layer (a forward hook keeps its
output; autograd.grad of the top score gives its gradient; bilinear upsampling to the input's
size) plus guided backprop (full backward hooks on each nn.ReLU clamping grad_input at 0), the
top class of each sample, float32 CPU, eval mode. Models: LeNet-5 (kiln's models.lenet5 as an
nn.Sequential, Grad-CAM at "3") and torchvision 0.14's resnet18 (1000 classes, Grad-CAM at
"layer4"; its ReLUs made out-of-place, since full backward hooks refuse in-place modules).
Usage: torch_viz.py THREADS CASES_JSON (bench/viz.ts's cases: model, batch, size, channels,
layer, name); prints JSON rows."""
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
                         nn.Linear(84, 10))


def resnet18():
    import torchvision.models as tvm
    net = tvm.resnet18()
    for m in net.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    return net


def top_score(out):
    return out.gather(1, out.argmax(1, keepdim=True)).sum()


def grad_cam(net, layer, x):
    seen = {}
    handle = layer.register_forward_hook(lambda m, i, o: seen.__setitem__("a", o))
    out = net(x.clone().requires_grad_())
    handle.remove()
    (ga,) = torch.autograd.grad(top_score(out), seen["a"])
    cam = F.relu((ga.mean((2, 3), keepdim=True) * seen["a"]).sum(1)).detach()
    return F.interpolate(cam.unsqueeze(1), size=x.shape[2:], mode="bilinear", align_corners=False)


def guided_backprop(net, x):
    handles = [m.register_full_backward_hook(lambda m, gi, go: (gi[0].clamp(min=0),)) for m in net.modules() if isinstance(m, nn.ReLU)]
    x = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(top_score(net(x)), x)
    for h in handles:
        h.remove()
    return g


threads = int(sys.argv[1])
cases = json.loads(sys.argv[2])
torch.set_num_threads(threads)
rows = []
for case in cases:
    torch.manual_seed(0)
    net = (lenet5() if case["model"] == "lenet5" else resnet18()).eval()
    layer = dict(net.named_modules())[case["layer"]]
    x = torch.randn(case["batch"], case["channels"], case["size"], case["size"])
    ms = time_it(lambda: (grad_cam(net, layer, x), guided_backprop(net, x)), rounds=5, min_round_s=0.1)
    rows.append({"suite": "viz", "case": case["name"], "impl": "pytorch", "threads": threads, "median_ms": ms})
print(json.dumps(rows))
