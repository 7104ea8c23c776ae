"""PyTorch anchor for bench suite `overhead`: per-op cost on 16-element tensors, 1 thread.
Prints a JSON array of rows in kiln's bench format. Same timing scheme as bench/harness.ts."""
import json

import torch

from timing import time_it


torch.set_num_threads(1)
a = torch.randn(16)
b = torch.randn(16)
w = torch.randn(16, requires_grad=True)
rows = [
    {"suite": "overhead", "case": "add [16]", "impl": "pytorch", "threads": 1, "median_ms": time_it(lambda: a + b)},
    {"suite": "overhead", "case": "mul+sum+backward [16]", "impl": "pytorch", "threads": 1,
     "median_ms": time_it(lambda: (w * b).sum().backward())},
]
print(json.dumps(rows))
