"""Training speed: `waspada train` on 10,000 ads of about 1.3 KB (target: under 2 minutes).

The ads are generated as in ``score_bench.py`` (mixes of seed ads of one label). The whole
command is timed, as a user runs it: loading, repeated grouped cross-validation, threshold
choice, the final calibrated fit and writing the model. Prints one JSON object last.

    python benchmarks/train_bench.py [--ads 10000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from score_bench import generate_ads  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "train.jsonl"
        with open(source, "w", encoding="utf-8") as handle:
            for ad in generate_ads(args.ads, seed=11):
                handle.write(json.dumps(ad, ensure_ascii=False) + "\n")
        command = [
            sys.executable,
            "-m",
            "pipeline.cli",
            "train",
            "--data",
            str(source),
            "--model-dir",
            str(Path(tmp) / "model"),
            "--output-format",
            "json",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"training failed: {done.stderr[-2000:]}")
        report = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
        size = (Path(tmp) / "model" / "model.joblib").stat().st_size
    print(
        json.dumps(
            {
                "benchmark": "train",
                "ads": args.ads,
                "seconds": round(seconds, 1),
                "target_seconds": 120,
                "cv": f"{report['cv']['repeats']}x{report['cv']['folds']}",
                "artifact_mb": round(size / 2**20, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
