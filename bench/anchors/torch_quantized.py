"""PyTorch anchor for bench suite `quantized`: an nn.Linear (per-channel weights) or a one-layer
nn.LSTM (the default qconfig: per-tensor weights) after torch.ao.quantization.quantize_dynamic
(qint8; Debian's build has no FBGEMM, so its x86 engine oneDNN runs it: the inputs quantized
per call, as kiln does) and the float layer. Cases: {"kind": "linear", m, k, n} or
{"kind": "lstm", steps, batch, input, hidden}.
Usage: torch_quantized.py THREADS CASES_JSON; prints a JSON array of rows."""
import json
import os
import sys

os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[1]
os.environ["OMP_NUM_THREADS"] = sys.argv[1]

import torch  # noqa: E402
from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic  # noqa: E402

from timing import time_it  # noqa: E402

threads, cases = int(sys.argv[1]), json.loads(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
rows = []


def macs_of(case):
    if case["kind"] == "linear":
        return case["m"] * case["k"] * case["n"]
    return case["steps"] * case["batch"] * 4 * case["hidden"] * (case["input"] + case["hidden"])


def layer_and_input(case):
    """The float layer (in a Sequential), its quantized copy and an input."""
    if case["kind"] == "linear":
        model = torch.nn.Sequential(torch.nn.Linear(case["k"], case["n"])).eval()
        qconfig = {torch.nn.Linear: per_channel_dynamic_qconfig}
        x = torch.randn(case["m"], case["k"])
    else:
        model = torch.nn.Sequential(torch.nn.LSTM(case["input"], case["hidden"])).eval()
        qconfig = {torch.nn.LSTM: default_dynamic_qconfig}
        x = torch.randn(case["steps"], case["batch"], case["input"])
    return model, quantize_dynamic(model, qconfig, dtype=torch.qint8), x


def row(case, impl, ms):
    macs = macs_of(case)
    return {"suite": "quantized", "case": case["name"], "impl": impl, "threads": threads, "median_ms": ms,
            "gflops": 2 * macs / ms / 1e6}


with torch.no_grad():
    for case in cases:
        model, qmodel, x = layer_and_input(case)
        rows.append(row(case, "pytorch-int8", time_it(lambda: qmodel(x), rounds=5, min_round_s=0.1)))
        rows.append(row(case, "pytorch-fp32", time_it(lambda: model(x), rounds=5, min_round_s=0.1)))
print(json.dumps(rows))
