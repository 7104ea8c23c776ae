"""Shared by the gemm anchors: bench/gemm.ts's cases from the command line, its timing
(5 rounds of at least 100 ms, bench/gemm.ts's TIMING) and its row format."""
import json
import sys

from timing import time_it


def args():
    """(threads, cases) from the command line: THREADS and the JSON list of GemmCase."""
    return int(sys.argv[1]), json.loads(sys.argv[2])


def time_ms(fn):
    """Median milliseconds of one call of fn, timed like kiln's side of the suite."""
    return time_it(fn, rounds=5, min_round_s=0.1)


def row(case, impl, threads, ms):
    flops = 2 * case["m"] * case["k"] * case["n"]
    return {"suite": "gemm", "case": case["name"], "impl": impl, "threads": threads,
            "median_ms": ms, "gflops": flops / ms / 1e6}
