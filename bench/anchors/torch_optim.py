"""PyTorch anchor for bench suite `optim`: one optimizer step over 10 million float32
parameters, at each thread count given on the command line (default 1 2).

PyTorch 1.13 is used with its defaults: foreach=None, which on CPU means the single-tensor
for-loop implementation (torch/optim/adam.py `_single_tensor_adam`, sgd.py `_single_tensor_sgd`);
1.13 has no fused CPU optimizer. Prints a JSON array of rows in kiln's bench format; same
timing scheme as bench/harness.ts."""
import json
import sys

import torch

from timing import time_it

N = 10_000_000


def step_time(make_optimizer):
    p = torch.randn(N, requires_grad=True)
    p.grad = torch.randn(N)
    opt = make_optimizer([p])
    opt.step()  # creates the state buffers
    return time_it(opt.step)


CASES = {
    "adam 10M": lambda ps: torch.optim.Adam(ps, lr=1e-3),
    "sgd-momentum 10M": lambda ps: torch.optim.SGD(ps, lr=1e-2, momentum=0.9),
}

rows = []
for threads in [int(t) for t in (sys.argv[1:] or ["1", "2"])]:
    torch.set_num_threads(threads)
    for case, make in CASES.items():
        rows.append({"suite": "optim", "case": case, "impl": "pytorch", "threads": threads, "median_ms": step_time(make)})
print(json.dumps(rows))
