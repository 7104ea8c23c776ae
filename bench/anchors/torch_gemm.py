"""PyTorch anchor for bench suite `gemm`: torch.mm on float32 CPU tensors, or torch.matmul on
bfloat16 ones (row impl `pytorch-bf16`) when DTYPE is bfloat16.
Usage: torch_gemm.py THREADS CASES_JSON [DTYPE]; prints a JSON array of rows."""
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
bf16 = len(sys.argv) > 3 and sys.argv[3] == "bfloat16"
dtype, impl = (torch.bfloat16, "pytorch-bf16") if bf16 else (torch.float32, "pytorch")
torch.set_num_threads(threads)
torch.manual_seed(0)
rows = []
with torch.no_grad():
    for case in cases:
        m, k, n = case["m"], case["k"], case["n"]
        a = (torch.randn(k, m).t() if case["transA"] else torch.randn(m, k)).to(dtype)
        b = (torch.randn(n, k).t() if case["transB"] else torch.randn(k, n)).to(dtype)
        out = torch.empty(m, n, dtype=dtype)
        rows.append(row(case, impl, threads, time_ms(lambda: torch.matmul(a, b, out=out))))
print(json.dumps(rows))
