"""PyTorch anchor for bench suite `views`: ops on strided views (transposed / permuted matmul
operands, elementwise on a transposed view), float32 CPU, no autograd.
Usage: torch_views.py THREADS CASES_JSON (bench/views.ts's cases: key, name, shapes); prints
JSON rows. Each key maps to the same op as its kiln case."""
import json
import os
import sys

os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[1]
os.environ["OMP_NUM_THREADS"] = sys.argv[1]

import torch  # noqa: E402

from timing import time_it  # noqa: E402

OPS = {
    "matmul_tA": lambda a, b: a.transpose(-1, -2).matmul(b),
    "attention_scores": lambda q, k: q.permute(0, 2, 1, 3).matmul(k.permute(0, 2, 3, 1)),
    "add_transposed": lambda x, y: x.transpose(0, 1).add(y),
}

threads = int(sys.argv[1])
cases = json.loads(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
rows = []
with torch.no_grad():
    for case in cases:
        inputs = [torch.randn(*shape) for shape in case["shapes"]]
        op = OPS[case["key"]]
        rows.append({"suite": "views", "case": case["name"], "impl": "pytorch", "threads": threads,
                     "median_ms": time_it(lambda: op(*inputs), rounds=5, min_round_s=0.1)})
print(json.dumps(rows))
