"""The shipped default model is what `make model` builds from data/seed today.

Not compared byte for byte: the same training on another CPU sums floating point in another
order (BLAS picks its kernels by processor), so the joblib file differs in the last bits of
its weights (seen: 1.7e-14 on weights up to 6.5 between two x86-64 machines). What must hold
is what a stale model would break: the same data files, rules, features and parameters, the
same threshold, and the same scores on every seed ad to within rounding noise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from pipeline.datasets import load_labelled
from pipeline.features import ads_to_frame
from pipeline.paths import PROJECT_ROOT, SEED_DIR
from pipeline.registry import load, read_card, resolve

STALE = "models/ is stale: the code or data/seed changed since it was trained; run `make model`"
# Rounding noise between machines is ~1e-14; any change to rules, data or features moves
# some seed ad's probability by far more than this.
TOLERANCE = 1e-9


def test_the_shipped_champion_is_what_make_model_builds_from_the_seed_corpus(tmp_path):
    shipped_dir = resolve("champion")
    shipped = read_card(shipped_dir)
    # The same training `make model` runs, written aside instead of into the registry.
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "-q", "train", "--data", str(SEED_DIR),
         "--model-dir", str(tmp_path / "m"), "--output-format", "json"],
        capture_output=True, text=True, cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rebuilt = json.loads((tmp_path / "m" / "card.json").read_text(encoding="utf-8"))
    for key in ("data", "params", "redflag_features", "n_features", "threshold_goal"):
        assert rebuilt[key] == shipped[key], f"{STALE} ({key} differs)"
    assert rebuilt["code"]["rules"] == shipped["code"]["rules"], STALE
    assert abs(rebuilt["threshold"] - shipped["threshold"]) <= TOLERANCE, STALE

    frame = ads_to_frame(load_labelled(SEED_DIR).ads)
    ours = load(str(tmp_path / "m"))[0].predict_proba(frame)[:, 1]
    theirs = load(str(shipped_dir))[0].predict_proba(frame)[:, 1]
    assert np.abs(ours - theirs).max() <= TOLERANCE, STALE


def test_the_shipped_flat_form_is_the_flat_form_of_the_shipped_model():
    """flat.json is derived from model.joblib; a change to how models are flattened (or a
    stale file) shows here as a difference, not as silently different scores."""
    from pipeline.model import flat_model

    directory = resolve("champion")
    card = read_card(directory)
    estimator = load(str(directory))[0]
    assert card.get("flat"), "the shipped model has no flat form: run `make model`"
    shipped = (directory / card["flat"]["file"]).read_text(encoding="utf-8")
    assert flat_model(estimator).to_json() == shipped, STALE
