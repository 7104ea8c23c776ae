"""PyTorch anchor for bench suite `dtypes`: conversions and int64 arithmetic on 1M elements,
1 thread. Prints a JSON array of rows in kiln's bench format (cases as in bench/dtypes.ts)."""
import json

import torch

from timing import time_it


torch.set_num_threads(1)
n = 1 << 20
x = torch.randn(n)
h = x.half()
a = torch.randint(-1000, 1000, (n,), dtype=torch.int64)
b = torch.randint(-1000, 1000, (n,), dtype=torch.int64)
cases = [
    ("float32→float16 [1M]", lambda: x.half()),
    ("float16→float32 [1M]", lambda: h.float()),
    ("float32→bfloat16 [1M]", lambda: x.bfloat16()),
    ("int64 add [1M]", lambda: a + b),
    ("int64 sum [1M]", lambda: a.sum()),
]
print(json.dumps([{"suite": "dtypes", "case": c, "impl": "pytorch", "threads": 1, "median_ms": time_it(fn)} for c, fn in cases]))
