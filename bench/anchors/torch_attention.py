"""PyTorch anchor for bench suite `attention`, one case per process so that its peak RSS is
this run's alone. PyTorch 1.13 has no fused scaled_dot_product_attention: `sdpa` cases run the
unfused path softmax(q·kᵀ/√d + causal mask)·v (the L×L scores and weights are materialised);
`mha` and `encoder` cases run nn.MultiheadAttention and nn.TransformerEncoderLayer (training mode,
batch_first; fwd rows under no_grad).

Usage: torch_attention.py CASE_JSON THREADS (a case of bench/attention-cases.ts as JSON).
Prints one JSON row in kiln's bench format: median_ms per call and peak_rss_mb."""
import json
import math
import os
import resource
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import time_it  # noqa: E402

case, threads = json.loads(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)


def sdpa_step(c):
    shape = (c["batch"], c["heads"], c["L"], c["headDim"])
    q, k, v = (torch.randn(*shape, requires_grad=c["backward"]) for _ in range(3))
    L = c["L"]
    excluded = torch.ones(L, L, dtype=torch.bool).triu(1) if c["causal"] else None

    def step():
        scores = q @ k.transpose(-2, -1) / math.sqrt(c["headDim"])
        if excluded is not None:
            scores = scores.masked_fill(excluded, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v
        if c["backward"]:
            out.sum().backward()
            for t in (q, k, v):
                t.grad = None

    return step


def module_step(c):
    """nn.MultiheadAttention self-attention (need_weights=False) or nn.TransformerEncoderLayer, batch_first."""
    E = c["heads"] * c["headDim"]
    x = torch.randn(c["batch"], c["L"], E, requires_grad=c["backward"])
    if c["kind"] == "mha":
        m = torch.nn.MultiheadAttention(E, c["heads"], batch_first=True)
        forward = lambda: m(x, x, x, need_weights=False)[0]  # noqa: E731
    else:
        m = torch.nn.TransformerEncoderLayer(E, c["heads"], dim_feedforward=c["ff"], batch_first=True)
        forward = lambda: m(x)  # noqa: E731

    def step():
        if not c["backward"]:
            with torch.no_grad():  # inference, as kiln's fwd rows
                forward()
            return
        forward().sum().backward()
        x.grad = None
        m.zero_grad(set_to_none=True)

    return step


step = {"sdpa": sdpa_step, "mha": module_step, "encoder": module_step}[case["kind"]](case)
step()  # warm-up
print(json.dumps([{"suite": "attention", "case": case["name"], "impl": "pytorch", "threads": threads,
                   "median_ms": time_it(step, rounds=3, min_round_s=0),
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}]))
