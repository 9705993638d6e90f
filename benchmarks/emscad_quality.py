"""Quality on real data: Waspada's model versus the plain baseline on EMSCAD, same folds.

Repeated, stratified cross-validation grouped by normalised description (duplicate ads never
straddle folds) on ``../shared/data/emscad-partial/train.csv.gz``. Both models see the same
folds; each fold is scored at a threshold chosen on the other folds' out-of-fold predictions
(goal: recall ≥ 0.90 at the best precision). Reports mean ± sd per model, the paired
per-fold differences (ours − baseline) and whether each lead is larger than its fold-to-fold
noise (mean paired difference > its standard deviation), plus precision and F1 recomputed at
EMSCAD's real prevalence (4.84 %). Prints one JSON object last.

    python benchmarks/emscad_quality.py [--folds 5] [--repeats 3] [--data PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.datasets import load_labelled  # noqa: E402
from pipeline.evaluate import format_summary  # noqa: E402
from pipeline.model import DEFAULT_PARAMS, cross_validate, group_splits  # noqa: E402
from pipeline.paths import EMSCAD_CSV  # noqa: E402

COMPARED = ("pr_auc", "roc_auc", "f1", "precision", "recall", "brier", "f1_at_prevalence")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(EMSCAD_CSV))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--prevalence", type=float, default=0.0484)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if not Path(args.data).exists():
        print(json.dumps({"benchmark": "emscad_quality", "skipped": f"no data at {args.data}"}))
        return

    data = load_labelled(args.data)
    y = np.asarray(data.y)
    splits = [group_splits(y, data.groups, args.folds, 1000 + r) for r in range(args.repeats)]
    results = {}
    for name, baseline in (("waspada", False), ("baseline", True)):
        started = time.perf_counter()
        cv = cross_validate(
            data, splits=splits, prevalence=args.prevalence, n_jobs=args.jobs, baseline=baseline
        )
        results[name] = {"cv": cv, "seconds": round(time.perf_counter() - started, 1)}

    ours, base = results["waspada"]["cv"], results["baseline"]["cv"]
    paired = {}
    for metric in COMPARED:
        diff = np.array(
            [
                a[metric] - b[metric]
                for a, b in zip(ours.per_fold, base.per_fold, strict=True)
                if a.get(metric) is not None and b.get(metric) is not None
            ]
        )
        better = -diff if metric == "brier" else diff  # lower Brier is better
        paired[metric] = {
            "mean_diff": round(float(diff.mean()), 4),
            "sd_diff": round(float(diff.std(ddof=1)), 4),
            "folds_ahead": int((better > 0).sum()),
            "folds": len(diff),
            "ahead_beyond_noise": bool(better.mean() > diff.std(ddof=1)),
        }
    print(
        format_summary(
            {"waspada": ours.summary, "baseline": base.summary},
            f"EMSCAD-partial, {len(data)} ads, {args.repeats}×{len(splits[0])} grouped folds (mean ± sd)",
        )
    )
    for metric, entry in paired.items():
        print(
            f"  paired {metric:<18} {entry['mean_diff']:+.4f} ± {entry['sd_diff']:.4f}  "
            f"ahead in {entry['folds_ahead']}/{entry['folds']} folds  beyond noise: {entry['ahead_beyond_noise']}"
        )
    print(
        json.dumps(
            {
                "benchmark": "emscad_quality",
                "data": {**data.counts(), "groups": len(set(data.groups)), "path": str(args.data)},
                "folds": len(splits[0]),
                "repeats": args.repeats,
                "prevalence": args.prevalence,
                "params": DEFAULT_PARAMS,
                "waspada": {
                    "summary": ours.summary,
                    "threshold": ours.threshold,
                    "seconds": results["waspada"]["seconds"],
                },
                "baseline": {
                    "summary": base.summary,
                    "threshold": base.threshold,
                    "seconds": results["baseline"]["seconds"],
                },
                "paired": paired,
                "target_met": all(
                    paired[m]["ahead_beyond_noise"] for m in ("pr_auc", "roc_auc", "f1")
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
