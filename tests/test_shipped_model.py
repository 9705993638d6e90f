"""The shipped default model is exactly what `make model` builds from data/seed today."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pipeline.paths import PROJECT_ROOT, SEED_DIR
from pipeline.registry import read_card, resolve


def test_the_shipped_champion_is_rebuilt_bit_for_bit_from_the_seed_corpus(tmp_path):
    shipped = read_card(resolve("champion"))
    # The same training `make model` runs, written aside instead of into the registry.
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "-q", "train", "--data", str(SEED_DIR),
         "--model-dir", str(tmp_path / "m"), "--output-format", "json"],
        capture_output=True, text=True, cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rebuilt = json.loads((tmp_path / "m" / "card.json").read_text(encoding="utf-8"))
    assert rebuilt["artifact"]["sha256"] == shipped["artifact"]["sha256"], (
        "models/ is stale: the code or data/seed changed since the shipped model was trained; "
        "run `make model` and commit models/"
    )
