"""PyTorch anchor for bench suite `views-interp`: F.interpolate and F.pad on float32 CPU
tensors, forward alone and forward+backward (the input's gradient).
Usage: torch_interp.py THREADS CASES_JSON (bench/views-interp.ts's InterpCase list); prints JSON rows."""
import json
import os
import sys

os.environ["OMP_NUM_THREADS"] = sys.argv[1]

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from timing import time_it  # noqa: E402


def make_forward(case):
    """The case's forward as a closure over a fresh random input that requires grad."""
    x = torch.randn(*case["shape"], requires_grad=True)
    if case["op"] == "pad":
        return lambda: F.pad(x, tuple(case["pad"]), mode=case["padMode"])
    align = None if case["mode"] == "nearest" else case["alignCorners"]
    return lambda: F.interpolate(x, size=tuple(case["size"]), mode=case["mode"], align_corners=align)


def forward_backward(forward):
    g = torch.randn_like(forward())

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
    rows.append({"suite": "views-interp", "case": case["name"], "impl": "pytorch", "threads": threads,
                 "median_ms": time_it(fn)})
print(json.dumps(rows))
