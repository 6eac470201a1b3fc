"""Training speed with the heap kept for reuse (``reuse_heap``, the default) and without.

    python benchmarks/heap.py [--n 6000] [--repeats 3] [--threads 2] [--precision bf16-mixed]

``reuse_heap`` changes glibc's malloc thresholds for the whole process and cannot be
undone in it, so each measurement is a fresh child process (this script with
``--child``) that trains one workload once through ``tenshot.training.fit``; on and off
alternate within each repeat so that machine noise hits both alike. Workloads, on the
same images, labels, seed and threads:

- "ssgan on pixels": the paper's MNIST networks on 28x28 images;
- "ssgan on 5376 features": the same MLP on vectors the size of the width-48 rotation
  net's pooled features (issue 4's route; random values in [0, 1], which do not change
  the work);
- "rotation at width 48": ``rotation --depth 2 --width 48`` on the images.

Prints a Markdown table (median seconds per epoch of 60k images, the speed-up of reuse,
and whether both settings end at the same losses bit for bit) and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

from _common import beside, fashion_or_digits, save
from tenshot.config import TrainConfig
from tenshot.methods.rotation import Rotation, RotationConfig
from tenshot.methods.ssgan import SSGAN, SSGANConfig
from tenshot.training import fit

WORKLOADS = ("ssgan on pixels", "ssgan on 5376 features", "rotation at width 48")
FEATURES = 5376


def child(args: argparse.Namespace) -> None:
    """Train ``args.child`` once with ``reuse_heap`` = ``args.reuse``; print seconds and final losses as JSON."""
    ds = fashion_or_digits(args.data)
    x, y = ds.x_train[: args.n], ds.y_train[: args.n].numpy()
    picked = np.concatenate([np.flatnonzero(y == c)[:10] for c in np.unique(y)])  # 10 labels per class
    train = TrainConfig(epochs=1, batch_size=100, accelerator="cpu", devices="1", progress=False,
                        threads=args.threads, precision=args.precision, reuse_heap=bool(args.reuse))
    torch.manual_seed(0)
    labeled = None
    if args.child == "rotation at width 48":
        model = Rotation(RotationConfig(depth=2, width=48), ds.input_shape, train)
    else:
        if args.child == "ssgan on 5376 features":
            x = torch.rand(len(x), 1, 1, FEATURES, generator=torch.Generator().manual_seed(0))
        labeled = (x[picked], torch.as_tensor(y[picked]))
        model = SSGAN(SSGANConfig(n_classes=len(np.unique(y))), tuple(x.shape[1:]), train)
    start = time.perf_counter()
    record = fit(model, x, train, labeled=labeled)
    print(json.dumps({"seconds": time.perf_counter() - start, "final": record["final"]}))


def measure(args: argparse.Namespace, workload: str, reuse: bool) -> dict:
    command = [sys.executable, __file__, "--child", workload, "--reuse", str(int(reuse)), "--n", str(args.n),
               "--threads", str(args.threads), "--precision", args.precision]
    if args.data:
        command += ["--data", args.data]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None)
    ap.add_argument("--n", type=int, default=6000, help="training images (vectors) per run")
    ap.add_argument("--repeats", type=int, default=3, help="rounds of every workload on and off")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--precision", default="bf16-mixed", help="as issue 4's route trains (32-true elsewhere)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated, from: " + ", ".join(WORKLOADS))
    ap.add_argument("--out", default=beside("heap.json"))
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--reuse", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)

    workloads = [w.strip() for w in args.workloads.split(",")]
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if unknown:
        raise SystemExit(f"error: unknown workload(s) {unknown}; choose from {list(WORKLOADS)}")
    seconds = {w: {"on": [], "off": []} for w in workloads}
    same = {w: True for w in workloads}
    for _ in range(args.repeats):
        for w in workloads:
            on, off = measure(args, w, True), measure(args, w, False)
            seconds[w]["on"].append(round(on["seconds"], 2))
            seconds[w]["off"].append(round(off["seconds"], 2))
            same[w] &= on["final"] == off["final"]

    scale = 60000 / args.n
    per_epoch = {w: {k: statistics.median(v) * scale for k, v in s.items()} for w, s in seconds.items()}
    print(f"\n{args.n} images per run, 1 epoch, batch 100, {args.threads} threads, {args.precision}, "
          f"median of {args.repeats}; each run a fresh process\n")
    print("| workload | s per 60k epoch, reuse off | reuse on | speed-up | same losses | seconds off / on |\n"
          "|---|---|---|---|---|---|")
    for w, e in per_epoch.items():
        print(f"| {w} | {e['off']:.1f} | {e['on']:.1f} | {e['off'] / e['on']:.2f}x | {'yes' if same[w] else 'NO'} | "
              f"{', '.join(map(str, seconds[w]['off']))} / {', '.join(map(str, seconds[w]['on']))} |")
    save(args.out, {"n": args.n, "threads": args.threads, "precision": args.precision, "repeats": args.repeats,
                    "seconds": seconds, "seconds_per_60k_epoch": per_epoch, "same_final_losses": same})


if __name__ == "__main__":
    main()
