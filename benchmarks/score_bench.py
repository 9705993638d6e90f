"""Scoring speed: `waspada score` versus the plain baseline scoring script, same file, same run.

Generates N ads of about 1.3 KB each (default 50,000) by joining hand-written seed ads of the
same label (so the red-flag rules have real work to do), trains the plain baseline (word
1–2-gram TF-IDF + logistic regression) and a Waspada model on the seed corpus, then times

- the baseline: one Python process that reads the JSONL, vectorises, predicts, writes JSONL;
- ``waspada score`` (extraction, rules, model, explanations, JSONL out) with all cores,

and records each process tree's CPU seconds (so ``cores_used`` = CPU / wall shows whether both
cores worked) and its sampled peak resident memory. The two are run ``--repeat`` times, taking
turns (baseline, waspada, baseline, ...), so that a slow spell of the machine falls on both; the
ratio is taken of the medians, and of the best runs. Prints one JSON object last.

    python benchmarks/score_bench.py [--ads 50000] [--model DIR] [--shape dense|typical] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.extract_bench import FILLER_EN, FILLER_ID  # noqa: E402
from pipeline.datasets import load_labelled  # noqa: E402
from pipeline.paths import SEED_DIR  # noqa: E402

BASELINE_SCRIPT = r"""
import json, sys, joblib
model = joblib.load(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as f:
    records = [json.loads(line) for line in f if line.strip()]
texts = [r.get("text") or "" for r in records]
scores = model.predict_proba(texts)[:, 1]
with open(sys.argv[3], "w", encoding="utf-8") as out:
    for r, s in zip(records, scores):
        r["score"] = float(s)
        out.write(json.dumps(r, ensure_ascii=False) + "\n")
"""


# Phone numbers as the seed ads write them ("0812-3456-7890", "+855 77 410 228", "62812...").
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{2,3}[ -]?|0|62)\d[\d -]{6,14}\d(?!\d)")


def _own_phones(text: str, rng: random.Random) -> str:
    """``text`` with every phone number's digits after its first four redrawn, so that each
    generated ad has numbers of its own, as a night of real ads mostly does; otherwise the
    few hundred numbers of the seed corpus would flatter anything cached by number."""

    def redraw(match: re.Match) -> str:
        number, kept = list(match.group()), 0
        for k, char in enumerate(number):
            if char.isdigit():
                kept += 1
                if kept > 4:
                    number[k] = str(rng.randrange(10))
        return "".join(number)

    return _PHONE.sub(redraw, text)


def generate_ads(n: int, size: int = 1300, seed: int = 7, shape: str = "dense") -> list[dict]:
    """``n`` labelled ads of about ``size`` characters with phone numbers of their own.

    ``dense`` (the default, a worst case for the rules): each a different mix of seed ads of
    one label, positives with positives, legit with legit, so an ad carries several ads' worth
    of phones, amounts and flags. ``typical``: one seed ad followed by neutral job-description
    text (extract_bench's filler), the usual shape of a 1.3 KB post."""
    data = load_labelled(SEED_DIR)
    pools = {
        label: [ad.text for ad, y in zip(data.ads, data.y, strict=True) if y == label]
        for label in (0, 1)
    }
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = 1 if rng.random() < 0.5 else 0
        parts, length = [], 0
        while length < size:
            if shape == "typical" and parts:
                text = FILLER_EN if rng.random() < 0.3 else FILLER_ID
            else:
                text = rng.choice(pools[label])
            parts.append(text)
            length += len(text) + 2
        text = "\n\n".join(parts)[: size + 200]
        cut = text.rfind(" ", 0, size)
        out.append(
            {
                "id": f"bench-{i:06d}",
                "text": _own_phones(text[: cut if cut > size // 2 else size], rng),
                "label": label,
            }
        )
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command: list[str], label: str) -> dict:
    """Run a command; return wall seconds, CPU seconds (its whole process tree: waited-for
    descendants are counted into their parent's children usage) and sampled peak RSS."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if process.returncode != 0:
        raise SystemExit(f"{label} failed: {process.stderr.read().decode()[-2000:]}")
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "cores_used": round(cpu / seconds, 2),
        "peak_rss_mb": round(peak / 2**20, 1),
    }


def _summary(runs: list[dict], ads: int) -> dict:
    """The median run (by wall time; its own CPU, cores and memory), the best time, every time."""
    median = statistics.median_high(run["seconds"] for run in runs)
    summary = next(run for run in runs if run["seconds"] == median)
    return {
        **summary,
        "ads_per_s": round(ads / median),
        "best_seconds": min(run["seconds"] for run in runs),
        "all_seconds": [run["seconds"] for run in runs],
        "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=50_000)
    parser.add_argument(
        "--model",
        default=None,
        help="Waspada model (alias, version or dir); default: train one on the seed corpus",
    )
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each, taking turns (default 3; this machine's speed drifts by 20-40 %%)",
    )
    parser.add_argument(
        "--shape",
        choices=("dense", "typical"),
        default="dense",
        help="dense: seed ads run together (default, worst case); typical: one ad + filler",
    )
    args = parser.parse_args()

    import joblib

    from pipeline.model import build_baseline, train_and_register

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ads = generate_ads(args.ads, shape=args.shape)
        source = tmp_path / "ads.jsonl"
        with open(source, "w", encoding="utf-8") as handle:
            for ad in ads:
                handle.write(
                    json.dumps({"id": ad["id"], "text": ad["text"]}, ensure_ascii=False) + "\n"
                )
        mean_bytes = source.stat().st_size / len(ads)

        seed = load_labelled(SEED_DIR)
        baseline = build_baseline().fit([ad.text for ad in seed.ads], seed.y)
        joblib.dump(baseline, tmp_path / "baseline.joblib")
        (tmp_path / "baseline_score.py").write_text(BASELINE_SCRIPT)
        model = args.model
        if model is None:
            model = str(tmp_path / "model")
            train_and_register(seed, folds=3, repeats=1, model_dir=model)

        python = sys.executable
        baseline_command = [
            python,
            str(tmp_path / "baseline_score.py"),
            str(tmp_path / "baseline.joblib"),
            str(source),
            str(tmp_path / "base.jsonl"),
        ]
        command = [
            python,
            "-m",
            "pipeline.cli",
            "score",
            "-i",
            str(source),
            "-o",
            str(tmp_path / "ours.jsonl"),
            "--model",
            model,
        ]
        if args.jobs:
            command += ["--jobs", str(args.jobs)]
        base_runs, our_runs = [], []
        for _ in range(max(1, args.repeat)):
            base_runs.append(run(baseline_command, "baseline"))
            our_runs.append(run(command, "waspada score"))
        with open(tmp_path / "ours.jsonl", encoding="utf-8") as handle:
            lines = sum(1 for _ in handle)

    base, ours = _summary(base_runs, len(ads)), _summary(our_runs, len(ads))
    result = {
        "benchmark": "score",
        "ads": len(ads),
        "shape": args.shape,
        "mean_ad_bytes": round(mean_bytes),
        "cores": psutil.cpu_count(),
        "repeat": len(base_runs),
        "baseline": base,
        "waspada": {**ours, "lines_out": lines},
        "ratio": round(ours["seconds"] / base["seconds"], 2),
        "ratio_best": round(ours["best_seconds"] / base["best_seconds"], 2),
        "target_ratio": 1.5,
        "target_rss_mb": 1536,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
