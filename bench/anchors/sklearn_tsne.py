"""scikit-learn anchor for bench suite `viz`: Barnes-Hut t-SNE (TSNE(method='barnes_hut',
angle=0.5, perplexity 30, init='pca', learning_rate='auto', Debian's python3-sklearn) of the
codes bench/tsne.ts wrote, at the same iteration count as kiln, timed once (one fit is
seconds long). Usage: sklearn_tsne.py THREADS CODES_PATH N D ITERATIONS CASE_NAME; prints
JSON rows with the final KL divergence and the iterations sklearn ran."""
import json
import os
import sys

os.environ["OMP_NUM_THREADS"] = sys.argv[1]
os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[1]

import time  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402

threads, path, n, d, iterations, name = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
codes = np.fromfile(path, dtype=np.float32).reshape(n, d)
tsne = TSNE(n_components=2, perplexity=30.0, n_iter=iterations, init="pca", learning_rate="auto", method="barnes_hut", angle=0.5, random_state=0)
start = time.perf_counter()
tsne.fit(codes)
ms = (time.perf_counter() - start) * 1e3
print(json.dumps([{"suite": "viz", "case": name, "impl": "sklearn", "threads": threads, "median_ms": ms,
                   "kl_divergence": float(tsne.kl_divergence_), "iterations": int(tsne.n_iter_)}]))
