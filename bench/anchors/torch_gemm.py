"""PyTorch anchor for bench suite `gemm`: torch.mm on float32 CPU tensors.
Usage: torch_gemm.py THREADS CASES_JSON; prints a JSON array of rows."""
import json
import os
import sys

# Debian's PyTorch calls OpenBLAS, whose own thread pool ignores torch.set_num_threads: cap
# both before they load.
os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[1]
os.environ["OMP_NUM_THREADS"] = sys.argv[1]

import torch  # noqa: E402

from gemm_cases import args, row, time_ms  # noqa: E402

threads, cases = args()
torch.set_num_threads(threads)
torch.manual_seed(0)
rows = []
with torch.no_grad():
    for case in cases:
        m, k, n = case["m"], case["k"], case["n"]
        a = torch.randn(k, m).t() if case["transA"] else torch.randn(m, k)
        b = torch.randn(n, k).t() if case["transB"] else torch.randn(k, n)
        out = torch.empty(m, n)
        rows.append(row(case, "pytorch", threads, time_ms(lambda: torch.mm(a, b, out=out))))
print(json.dumps(rows))
