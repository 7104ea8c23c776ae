"""PyTorch anchor for bench suite `overhead`: per-op cost on 16-element tensors, 1 thread.
Prints a JSON array of rows in kiln's bench format. Same timing scheme as bench/harness.ts."""
import json
import time

import torch


def time_it(fn, rounds=7, min_round_s=0.15):
    calls = 1
    start = time.perf_counter()
    while time.perf_counter() - start < min_round_s:
        fn()
        calls += 1
    per_call = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        per_call.append((time.perf_counter() - t0) / calls)
    per_call.sort()
    return per_call[rounds // 2] * 1e3


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
