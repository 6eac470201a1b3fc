"""The ``lda`` probe's fit: scikit-learn's ``LinearDiscriminantAnalysis(solver="lsqr",
shrinkage="auto")`` against ``tenshot.evaluation.lda.ShrinkageLDA`` (the same estimate,
solved in n x n by the Woodbury identity when there are fewer rows than features, by
Cholesky otherwise, instead of ``scipy.linalg.lstsq`` on d x d), on the same rows,
alternating A/B in one process. Also checks that both give the same coefficients.

    python benchmarks/lda_solve.py [--rows 100,4100] [--dims 1024,2048,4608] [--threads 1]

100 rows is 10 labels per class; 4100 is ``self-train``'s last round (10 labeled +
4 x 100 pseudo-labeled rows per class). Rows are 10 classes of Gaussian features (the
fit's cost depends on the shape, not the values). Prints a Markdown table, writes JSON.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from threadpoolctl import threadpool_limits

from _common import beside, save
from tenshot.evaluation.lda import ShrinkageLDA


def seconds(make, x: np.ndarray, y: np.ndarray) -> tuple[float, LinearDiscriminantAnalysis]:
    start = time.perf_counter()
    clf = make().fit(x, y)
    return time.perf_counter() - start, clf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="100,4100", help="labeled rows, comma list (10 classes)")
    ap.add_argument("--dims", default="1024,2048,4608", help="feature widths, comma list")
    ap.add_argument("--repeats", type=int, default=2, help="A/B pairs per shape")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: the library's)")
    ap.add_argument("--out", default=beside("lda_solve.json"))
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    makers = {"scikit-learn lstsq": lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
              "tenshot": ShrinkageLDA}
    rows = []
    with threadpool_limits(args.threads):
        for n in (int(v) for v in args.rows.split(",")):
            y = np.arange(n) % 10
            for d in (int(v) for v in args.dims.split(",")):
                x = rng.normal(size=(n, d)) + y[:, None] * 0.1
                times: dict[str, list[float]] = {k: [] for k in makers}
                fits = {}
                for _ in range(args.repeats):
                    for name, make in makers.items():
                        t, fits[name] = seconds(make, x, y)
                        times[name].append(t)
                median = {k: statistics.median(v) for k, v in times.items()}
                ref, ours = fits["scikit-learn lstsq"].coef_, fits["tenshot"].coef_
                rows.append({"rows": n, "dims": d, "solve": fits["tenshot"].solve_, "seconds": times,
                             "median_seconds": median, "speedup": median["scikit-learn lstsq"] / median["tenshot"],
                             "max_rel_coef_gap": float(np.abs(ref - ours).max() / np.abs(ref).max())})
                print(f"{n} x {d}: {median}", flush=True)

    print(f"\nshrinkage LDA fit, 10 classes, threads {args.threads or 'default'}, median of {args.repeats}\n")
    print("| rows | features | scikit-learn lstsq, s | tenshot, s | tenshot solve | speed-up | max coef gap (relative) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        m = r["median_seconds"]
        print(f"| {r['rows']} | {r['dims']} | {m['scikit-learn lstsq']:.2f} | {m['tenshot']:.2f} | {r['solve']} | "
              f"{r['speedup']:.1f}x | {r['max_rel_coef_gap']:.1e} |")
    save(args.out, {"repeats": args.repeats, "threads": args.threads, "results": rows})


if __name__ == "__main__":
    main()
