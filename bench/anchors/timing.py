"""The timing loop every Python anchor uses, the same scheme as bench/harness.ts `timeIt`:
a warm-up that also sizes the loop, then `rounds` rounds, the median time per call."""
import time


def time_it(fn, rounds=7, min_round_s=0.15):
    """Median milliseconds of one call of fn."""
    calls = 1
    start = time.perf_counter()
    while time.perf_counter() - start < min_round_s:
        fn()
        calls += 1
    per_call = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        per_call.append((time.perf_counter() - t0) / calls)
    per_call.sort()
    return per_call[rounds // 2] * 1e3
