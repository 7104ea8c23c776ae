"""PyTorch anchor for the sorting cases of bench suite `views` (bench/views-sorting.ts):
torch.topk(x, 5) over (1024, 32000) and torch.sort(x) over (4096, 1024), both along the last
dim of float32 N(0, 1) data, at each thread count given on the command line (default 1 2).
Prints a JSON array of rows in kiln's bench format; same timing scheme as bench/harness.ts."""
import json
import sys

import torch

from timing import time_it

CASES = {
    "topk k=5 (1024, 32000)": ((1024, 32000), lambda x: torch.topk(x, 5)),
    "sort (4096, 1024)": ((4096, 1024), lambda x: torch.sort(x, -1)),
}

rows = []
for threads in [int(t) for t in (sys.argv[1:] or ["1", "2"])]:
    torch.set_num_threads(threads)
    for case, (shape, run) in CASES.items():
        x = torch.randn(*shape)
        rows.append({"suite": "views", "case": case, "impl": "pytorch", "threads": threads, "median_ms": time_it(lambda: run(x))})
print(json.dumps(rows))
