"""PyTorch anchor for bench suite `rnn`: nn.LSTM / nn.GRU forward and forward+backward at
1 and 2 threads (one row per thread count). Prints a JSON array of rows in kiln's bench
format. Same timing scheme as bench/harness.ts; the cases are those of bench/rnn.ts."""
import json

import torch

from timing import time_it

# (name, cell, T, B, I, H, with_backward): keep in sync with CASES in bench/rnn.ts.
CASES = [
    ("LSTM T50 B32 I128 H256", "lstm", 50, 32, 128, 256, True),
    ("LSTM T100 B64 I64 H128", "lstm", 100, 64, 64, 128, True),
    ("GRU T50 B32 I128 H256", "gru", 50, 32, 128, 256, True),
    ("LSTM T200 B1 I64 H512", "lstm", 200, 1, 64, 512, False),
]


def rows_for(threads):
    torch.set_num_threads(threads)
    rows = []
    for name, cell, T, B, I, H, with_backward in CASES:
        layer = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(I, H)
        x = torch.randn(T, B, I, requires_grad=True)
        row = {"suite": "rnn", "impl": "pytorch", "threads": threads}
        with torch.no_grad():
            rows.append({**row, "case": f"{name} fwd", "median_ms": time_it(lambda: layer(x))})
        if with_backward:
            g = torch.randn(T, B, H)

            def step():
                y, _ = layer(x)
                y.backward(g)

            rows.append({**row, "case": f"{name} fwd+bwd", "median_ms": time_it(step)})
    return rows


torch.manual_seed(0)
print(json.dumps(rows_for(1) + rows_for(2)))
