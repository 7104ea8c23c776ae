"""PyTorch anchor for bench suite `overhead`: per-op cost on 16-element tensors, 1 thread.
Prints a JSON array of rows in kiln's bench format. Same timing scheme as bench/harness.ts."""
import json

import torch

from timing import time_it


class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy):
        (y,) = ctx.saved_tensors
        return gy * y


torch.set_num_threads(1)
a = torch.randn(16)
b = torch.randn(16)
w = torch.randn(16, requires_grad=True)
linear = torch.nn.Linear(16, 16)
linear.register_forward_hook(lambda m, i, o: None)
linear.register_full_backward_hook(lambda m, gi, go: None)
x = torch.randn(4, 16, requires_grad=True)
rows = [
    {"suite": "overhead", "case": "add [16]", "impl": "pytorch", "threads": 1, "median_ms": time_it(lambda: a + b)},
    {"suite": "overhead", "case": "mul+sum+backward [16]", "impl": "pytorch", "threads": 1,
     "median_ms": time_it(lambda: (w * b).sum().backward())},
    {"suite": "overhead", "case": "Function exp+sum+backward [16]", "impl": "pytorch", "threads": 1,
     "median_ms": time_it(lambda: Exp.apply(w).sum().backward())},
    {"suite": "overhead", "case": "Linear+hooks fwd+bwd [4, 16]", "impl": "pytorch", "threads": 1,
     "median_ms": time_it(lambda: linear(x).sum().backward())},
]
print(json.dumps(rows))
