"""OpenBLAS anchor for bench suite `gemm`: numpy's float32 matmul (Debian's python3-numpy on
libopenblas). Usage: openblas_gemm.py THREADS CASES_JSON; prints a JSON array of rows.
Run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (bench/harness.ts does that)."""
import json
import os
import sys

threads = sys.argv[1]
os.environ["OPENBLAS_NUM_THREADS"] = threads  # read when numpy loads OpenBLAS
os.environ["OMP_NUM_THREADS"] = threads

import numpy as np  # noqa: E402

from gemm_cases import args, row, time_ms  # noqa: E402

threads, cases = args()
rng = np.random.default_rng(0)
rows = []
for case in cases:
    m, k, n = case["m"], case["k"], case["n"]
    # A transposed operand is a transposed view of the stored array: numpy hands the
    # transpose flag to sgemm, as kiln's binding does, without copying.
    a = rng.standard_normal((k, m), dtype=np.float32).T if case["transA"] else rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((n, k), dtype=np.float32).T if case["transB"] else rng.standard_normal((k, n), dtype=np.float32)
    out = np.empty((m, n), dtype=np.float32)
    rows.append(row(case, "openblas", threads, time_ms(lambda: np.matmul(a, b, out=out))))
print(json.dumps(rows))
