"""Throughput of extraction plus every red-flag rule (``redflags.assess``) on 1.3 KB ads.

Two corpora of 1,300-character ads are built in memory:

* ``typical``: one ad (from data/seed when present, else the annotated snippets) followed by
  neutral job-description text, the usual shape of a 1.3 KB post;
* ``dense``: several ads run together, so every ad carries many phones, amounts and places
  (a worst case for the extractors).

Single process, single thread. Both wall-clock and CPU-time rates are reported (CPU time is
steadier on a busy machine). The last line is one JSON object.

Run: ``.venv/bin/python benchmarks/extract_bench.py [--n 3000]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.redflags import RULES, RULES_VERSION, assess  # noqa: E402

AD_BYTES = 1300
FILLER_ID = (
    "Kami adalah perusahaan yang bergerak di bidang pelayanan pelanggan dan penjualan daring "
    "dengan kantor yang nyaman dan lingkungan kerja yang profesional. Tugas utama meliputi "
    "menjawab pertanyaan pelanggan, mencatat pesanan, membuat laporan harian dan berkoordinasi "
    "dengan tim pemasaran. Jam kerja mengikuti jadwal shift yang ditentukan oleh atasan. "
    "Kandidat diharapkan jujur, disiplin, mampu bekerja dalam tim, dan mau belajar hal baru. "
)
FILLER_EN = (
    "We are a growing company serving customers across the region with a friendly and "
    "professional team. Responsibilities include answering customer questions, recording orders, "
    "preparing daily reports and coordinating with the marketing team. Working hours follow the "
    "shift schedule set by the supervisor. Candidates should be honest, disciplined, able to work "
    "in a team and willing to learn. "
)


def seed_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((ROOT / "data" / "seed").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    t = json.loads(line).get("text")
                except (json.JSONDecodeError, AttributeError):
                    continue
                if isinstance(t, str) and t.strip():
                    texts.append(t)
    if texts:
        return texts
    snippets = ROOT / "tests" / "data" / "extraction" / "snippets.jsonl"
    with snippets.open(encoding="utf-8") as fh:
        return [json.loads(line)["text"] for line in fh if line.strip()]


def build(texts: list[str], n: int, dense: bool, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    ads = []
    for i in range(n):
        ad = texts[i % len(texts)]
        while len(ad) < AD_BYTES:
            if dense:
                ad += "\n\n" + texts[rng.randrange(len(texts))]
            else:
                ad += "\n\n" + (FILLER_EN if rng.random() < 0.3 else FILLER_ID)
        ads.append(ad[:AD_BYTES])
    return ads


def measure(ads: list[str], repeat: int) -> dict:
    for ad in ads[:100]:  # warm-up: the phrase matcher is built on first use
        assess(ad)
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        for ad in ads:
            assess(ad)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return {
        "ads_per_s_wall": round(len(ads) / best_wall, 1),
        "ads_per_s_cpu": round(len(ads) / best_cpu, 1),
        "us_per_ad_cpu": round(best_cpu / len(ads) * 1e6, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="ads per corpus (default 3000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes, best is kept")
    args = ap.parse_args()
    texts = seed_texts()
    typical = measure(build(texts, args.n, dense=False), args.repeat)
    dense = measure(build(texts, args.n, dense=True), args.repeat)
    print(f"typical 1.3 KB ads: {typical['ads_per_s_cpu']:.0f} ads/s (cpu), "
          f"{typical['ads_per_s_wall']:.0f} ads/s (wall)")  # fmt: skip
    print(f"dense   1.3 KB ads: {dense['ads_per_s_cpu']:.0f} ads/s (cpu), "
          f"{dense['ads_per_s_wall']:.0f} ads/s (wall)")  # fmt: skip
    result = {
        "ad_bytes": AD_BYTES,
        "n_ads": args.n,
        "n_rules": len(RULES),
        "rules_version": RULES_VERSION,
        "typical": typical,
        "dense": dense,
        "ads_per_s": typical["ads_per_s_cpu"],
        "target_ads_per_s": 3000,
    }
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
