"""PyTorch anchor for bench suite `conv`: nn.functional conv2d / max_pool2d / avg_pool2d on
float32 CPU tensors, forward alone and forward+backward (input, weight and bias gradients).
Usage: torch_conv.py THREADS CASES_JSON (bench/conv.ts's ConvCase list); prints JSON rows."""
import json
import os
import sys

os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[1]
os.environ["OMP_NUM_THREADS"] = sys.argv[1]

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from timing import time_it  # noqa: E402


def make_forward(case):
    """The case's forward as a closure over fresh random inputs that require grad."""
    x = torch.randn(case["n"], case["c"], case["h"], case["w"], requires_grad=True)
    r, s, p = case["kernel"], case["stride"], case["padding"]
    if case["op"] == "conv":
        w = torch.randn(case["k"], case["c"] // case["groups"], r, r, requires_grad=True)
        b = torch.randn(case["k"], requires_grad=True)
        return lambda: F.conv2d(x, w, b, stride=s, padding=p, groups=case["groups"])
    if case["op"] == "maxpool":
        return lambda: F.max_pool2d(x, r, s, p)
    return lambda: F.avg_pool2d(x, r, s, p)


def forward_backward(forward):
    y = forward()
    g = torch.randn_like(y)

    def run():
        forward().backward(g)

    return run


threads = int(sys.argv[1])
cases = json.loads(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
rows = []
for case in cases:
    forward = make_forward(case)
    fn = forward_backward(forward) if case["backward"] else forward
    rows.append({"suite": "conv", "case": case["name"], "impl": "pytorch", "threads": threads,
                 "median_ms": time_it(fn)})
print(json.dumps(rows))
