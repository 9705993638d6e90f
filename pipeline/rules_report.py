"""Rule analysis against labelled ads, the Snorkel ``LFAnalysis`` idea in numpy/pandas.

Each rule is a labelling function: a positive red flag votes 1 (risky) when it fires, a family
L mitigator votes 0, and both abstain otherwise. Patterns P1-P7 and the "priority ≥ 45" band
cut are reported the same way, as positive voters. Against gold labels (``label`` 0/1) the
report gives, per function:

* ``coverage``: share of ads where it fires;
* ``overlap``: share of ads where it fires together with at least one other function;
* ``conflict``: share where it fires and another function votes the other way;
* ``precision``: share of its firings whose gold label equals its vote;
* ``recall``: share of the ads with that gold label on which it fires.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline import WaspadaError
from pipeline.redflags import PATTERNS, RULES, RULES_VERSION, Assessment, assess

ABSTAIN = -1
BAND_CUT = "priority_ge_45"


def read_labelled(path: str | Path) -> list[dict[str, Any]]:
    """Read JSONL with ``text`` and ``label`` (0/1); ``category`` is optional."""
    p = Path(path)
    if not p.is_file():
        raise WaspadaError(f"no such file: {p} (give a JSONL file with 'text' and 'label')")
    rows: list[dict[str, Any]] = []
    with p.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise WaspadaError(f"{p}:{n}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise WaspadaError(f"{p}:{n}: each line needs a string 'text'")
            if obj.get("label") not in (0, 1, True, False):
                raise WaspadaError(f"{p}:{n}: 'label' must be 0 or 1")
            rows.append(
                {"text": obj["text"], "label": int(obj["label"]), "category": obj.get("category")}
            )
    if not rows:
        raise WaspadaError(f"{p}: no labelled ads found")
    return rows


def function_names() -> tuple[list[str], np.ndarray]:
    """Names of the labelling functions and their vote when they fire (1 risky, 0 benign)."""
    names = [r.id for r in RULES] + list(PATTERNS) + [BAND_CUT]
    votes = np.array([0 if r.mitigating else 1 for r in RULES] + [1] * (len(PATTERNS) + 1))
    return names, votes


def label_matrix(assessments: Sequence[Assessment]) -> np.ndarray:
    """``L[i, j]`` is function j's vote on ad i, or -1 (abstain)."""
    names, votes = function_names()
    col = {n: j for j, n in enumerate(names)}
    L = np.full((len(assessments), len(names)), ABSTAIN, dtype=np.int8)
    for i, a in enumerate(assessments):
        for f in a.flags:
            j = col[f.id]
            L[i, j] = votes[j]
        for p in a.patterns:
            L[i, col[p]] = 1
        if a.priority >= 45:
            L[i, col[BAND_CUT]] = 1
    return L


def lf_summary(L: np.ndarray, y: np.ndarray, names: list[str], votes: np.ndarray) -> pd.DataFrame:
    """Coverage, overlap, conflict, precision and recall per labelling function."""
    fired = L != ABSTAIN
    n = max(1, L.shape[0])
    n_fired = fired.sum(axis=0)
    n_any_other = fired.sum(axis=1, keepdims=True) - fired  # other functions firing on the ad
    overlap = (fired & (n_any_other > 0)).sum(axis=0)
    pos_votes = (L == 1).sum(axis=1, keepdims=True)
    neg_votes = (L == 0).sum(axis=1, keepdims=True)
    other_disagree = np.where(votes[None, :] == 1, neg_votes > 0, pos_votes > 0)
    conflict = (fired & other_disagree).sum(axis=0)
    correct = (fired & (y[:, None] == votes[None, :])).sum(axis=0)
    n_with_label = np.array([(y == v).sum() for v in votes])
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_fired > 0, correct / np.maximum(n_fired, 1), np.nan)
        recall = np.where(n_with_label > 0, correct / np.maximum(n_with_label, 1), np.nan)
    return pd.DataFrame(
        {
            "function": names,
            "vote": votes,
            "n_fired": n_fired,
            "coverage": n_fired / n,
            "overlap": overlap / n,
            "conflict": conflict / n,
            "precision": precision,
            "recall": recall,
        }
    )


def report(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Assess every row and summarise each rule, pattern and the band cut against the labels."""
    rows = list(rows)
    assessments = [assess(r["text"]) for r in rows]
    y = np.array([r["label"] for r in rows], dtype=np.int8)
    names, votes = function_names()
    L = label_matrix(assessments)
    df = lf_summary(L, y, names, votes)
    cats = sorted({str(r.get("category")) for r in rows if r.get("category") is not None})
    if cats:
        cat_arr = np.array([str(r.get("category")) for r in rows])
        fired = L != ABSTAIN
        for c in cats:
            mask = cat_arr == c
            df[f"fired_in:{c}"] = fired[mask].sum(axis=0)
    any_pos = (L[:, : len(RULES)] == 1).any(axis=1)
    return {
        "rules_version": RULES_VERSION,
        "n_ads": len(rows),
        "n_positive": int(y.sum()),
        "coverage_any_positive_rule": float(any_pos.mean()) if len(rows) else 0.0,
        "functions": json.loads(df.to_json(orient="records")),
    }


def format_table(rep: dict[str, Any]) -> str:
    """A plain-text table for the terminal (functions that never fired are listed last)."""
    df = pd.DataFrame(rep["functions"])
    cols = [
        "function",
        "vote",
        "n_fired",
        "coverage",
        "overlap",
        "conflict",
        "precision",
        "recall",
    ]
    df = df[cols].sort_values(["n_fired", "function"], ascending=[False, True])
    head = (
        f"rules {rep['rules_version']}: {rep['n_ads']} ads, {rep['n_positive']} labelled 1; "
        f"{rep['coverage_any_positive_rule']:.0%} have at least one positive flag"
    )
    body = df.to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="-")
    return head + "\n" + body
