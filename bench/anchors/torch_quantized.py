"""PyTorch anchor for bench suite `quantized`: an nn.Linear after
torch.ao.quantization.quantize_dynamic (qint8; Debian's build has no FBGEMM, so its x86 engine
oneDNN runs it: the input quantized per call, as kiln does) and the float nn.Linear.
Usage: torch_quantized.py THREADS CASES_JSON; prints a JSON array of rows."""
import json
import os
import sys

os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[1]
os.environ["OMP_NUM_THREADS"] = sys.argv[1]

import torch  # noqa: E402
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic  # noqa: E402

from timing import time_it  # noqa: E402

threads, cases = int(sys.argv[1]), json.loads(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
rows = []


def row(case, impl, ms):
    macs = case["m"] * case["k"] * case["n"]
    return {"suite": "quantized", "case": case["name"], "impl": impl, "threads": threads, "median_ms": ms,
            "gflops": 2 * macs / ms / 1e6}


with torch.no_grad():
    for case in cases:
        model = torch.nn.Sequential(torch.nn.Linear(case["k"], case["n"])).eval()
        qmodel = quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
        x = torch.randn(case["m"], case["k"])
        rows.append(row(case, "pytorch-int8", time_it(lambda: qmodel(x), rounds=5, min_round_s=0.1)))
        rows.append(row(case, "pytorch-fp32", time_it(lambda: model(x), rounds=5, min_round_s=0.1)))
print(json.dumps(rows))
