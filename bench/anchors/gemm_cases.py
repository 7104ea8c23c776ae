"""Shared by the gemm anchors: reading bench/gemm.ts's cases and timing like bench/harness.ts
(with bench/gemm.ts's TIMING: 5 rounds of at least 100 ms)."""
import json
import sys
import time


def args():
    """(threads, cases) from the command line: THREADS and the JSON list of GemmCase."""
    return int(sys.argv[1]), json.loads(sys.argv[2])


def time_it(fn, rounds=5, min_round_s=0.1):
    """Median seconds per call over `rounds` rounds of at least min_round_s, after a warm-up."""
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
    return per_call[rounds // 2]


def row(case, impl, threads, seconds):
    flops = 2 * case["m"] * case["k"] * case["n"]
    return {"suite": "gemm", "case": case["name"], "impl": impl, "threads": threads,
            "median_ms": seconds * 1e3, "gflops": flops / seconds / 1e9}
