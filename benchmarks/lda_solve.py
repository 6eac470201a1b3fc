"""The ``lda`` probe's fit: scikit-learn's ``LinearDiscriminantAnalysis(solver="lsqr",
shrinkage="auto")`` against ``tenshot.evaluation.lda.ShrinkageLDA`` (the same estimate,
solved by Cholesky instead of ``scipy.linalg.lstsq``), on the same rows, alternating A/B
in one process. Also checks that both give the same coefficients.

    python benchmarks/lda_solve.py [--rows 100] [--dims 1024,2048,4608] [--threads 1]

Rows are 10 classes of Gaussian features (the fit's cost depends on the shape, not the
values). Prints a Markdown table, writes JSON.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from threadpoolctl import threadpool_limits

from _common import save
from tenshot.evaluation.lda import ShrinkageLDA


def seconds(make, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    clf = make().fit(x, y)
    return time.perf_counter() - start, clf.coef_


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100, help="labeled rows (10 per class at the default)")
    ap.add_argument("--dims", default="1024,2048,4608", help="feature widths, comma list")
    ap.add_argument("--repeats", type=int, default=2, help="A/B pairs per width")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the library's)")
    ap.add_argument("--out", default="benchmarks/lda_solve.json")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    y = np.arange(args.rows) % 10
    makers = {"scikit-learn lstsq": lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
              "tenshot Cholesky": ShrinkageLDA}
    rows = []
    with threadpool_limits(args.threads):
        for d in (int(v) for v in args.dims.split(",")):
            x = rng.normal(size=(args.rows, d)) + y[:, None] * 0.1
            times: dict[str, list[float]] = {k: [] for k in makers}
            coefs = {}
            for _ in range(args.repeats):
                for name, make in makers.items():
                    t, coefs[name] = seconds(make, x, y)
                    times[name].append(t)
            median = {k: statistics.median(v) for k, v in times.items()}
            gap = float(np.abs(coefs["scikit-learn lstsq"] - coefs["tenshot Cholesky"]).max())
            rows.append({"dims": d, "seconds": times, "median_seconds": median,
                         "speedup": median["scikit-learn lstsq"] / median["tenshot Cholesky"], "max_coef_gap": gap})

    print(f"\nshrinkage LDA fit, {args.rows} rows x 10 classes, threads {args.threads or 'default'}, "
          f"median of {args.repeats}\n")
    print("| features | scikit-learn lstsq, s | tenshot Cholesky, s | speed-up | max coef gap |\n|---|---|---|---|---|")
    for r in rows:
        m = r["median_seconds"]
        print(f"| {r['dims']} | {m['scikit-learn lstsq']:.2f} | {m['tenshot Cholesky']:.2f} | {r['speedup']:.1f}x | "
              f"{r['max_coef_gap']:.1e} |")
    save(args.out, {"rows": args.rows, "repeats": args.repeats, "threads": args.threads, "results": rows})


if __name__ == "__main__":
    main()
