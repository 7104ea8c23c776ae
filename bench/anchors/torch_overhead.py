"""PyTorch anchor for bench suite `overhead`: the cases of bench/overhead.ts on tiny tensors,
1 thread. Prints a JSON array of rows in kiln's bench format. Same timing scheme as
bench/harness.ts."""
import json

import torch

from timing import time_it


def xor_step():
    """One step of the examples/xor.ts model (2-4-1, tanh/sigmoid, MSE, SGD lr 0.5)."""
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1), torch.nn.Sigmoid())
    loss_fn = torch.nn.MSELoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def lstm_step():
    cell = torch.nn.LSTMCell(32, 32)
    x = torch.randn(1, 32)
    state = (torch.randn(1, 32), torch.randn(1, 32))

    def step():
        with torch.no_grad():
            cell(x, state)

    return step


torch.set_num_threads(1)
a = torch.randn(16)
b = torch.randn(16)
w = torch.randn(16, requires_grad=True)
linear = torch.nn.Linear(16, 16)
x16 = torch.randn(1, 16)
v10 = torch.randn(10)
numbers = [i * 0.25 - 2 for i in range(16)]
cases = {
    "add [16]": lambda: a + b,
    "mul+sum+backward [16]": lambda: (w * b).sum().backward(),
    "linear 1×16→16 fwd+bwd": lambda: linear(x16).sum().backward(),
    "MLP 2-4-1 XOR train step": xor_step(),
    "LSTMCell B1 H32 step": lstm_step(),
    "softmax [10]": lambda: torch.softmax(v10, 0),
    "argmax [10]": lambda: torch.argmax(v10),
    "tensor([…]) of 16 numbers": lambda: torch.tensor(numbers),
    ".toArray() of 16 numbers": lambda: a.tolist(),
}
rows = [{"suite": "overhead", "case": name, "impl": "pytorch", "threads": 1, "median_ms": time_it(fn, rounds=5, min_round_s=0.06)}
        for name, fn in cases.items()]
print(json.dumps(rows))
