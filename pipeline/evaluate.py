"""Metrics a reviewer and a maintainer can trust, and a readable table of them.

All functions take 0/1 labels and calibrated probabilities. Precision and F1 depend on the
share of positives in the evaluation data; EMSCAD-partial has 37 % where the world has about
4.84 %, so :func:`at_prevalence` recomputes them for a stated prevalence from the true- and
false-positive rates, which do not depend on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    precision_recall_curve,
    roc_auc_score,
)

#: Metrics summarised as mean ± sd over folds, in table order.
SUMMARY_METRICS = (
    "precision",
    "recall",
    "f1",
    "pr_auc",
    "roc_auc",
    "brier",
    "precision_at_50",
    "precision_at_100",
    "precision_at_prevalence",
    "f1_at_prevalence",
)


def _safe(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def choose_threshold(
    y: Sequence[int], p: Sequence[float], min_recall: float = 0.90
) -> dict[str, Any]:
    """The operating threshold: the highest-precision point whose recall is ≥ ``min_recall``.

    Chosen on out-of-fold predictions, never on test data. Among equally precise points the
    one with the highest recall (lowest threshold) wins: same precision, fewer missed ads, and
    more room when new data scores a little lower. Hand-written because scikit-learn's
    ``TunedThresholdClassifierCV`` maximises a score and cannot express "recall ≥ r".
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    if len(np.unique(y)) < 2:
        return {
            "threshold": 0.5,
            "goal": f"recall>={min_recall}",
            "precision": None,
            "recall": None,
            "note": "one class: default 0.5",
        }
    precision, recall, thresholds = precision_recall_curve(y, p)
    # precision/recall have one more entry than thresholds (the final recall = 0 point).
    precision, recall = precision[:-1], recall[:-1]
    ok = recall >= min_recall
    best = int(np.flatnonzero(ok)[np.lexsort((thresholds[ok], -precision[ok]))[0]])
    return {
        "threshold": round(float(thresholds[best]), 6),
        "goal": f"recall>={min_recall} at best precision",
        "precision": _safe(precision[best]),
        "recall": _safe(recall[best]),
    }


def at_prevalence(tpr: float, fpr: float, prevalence: float) -> tuple[float | None, float | None]:
    """Precision and F1 if positives made up ``prevalence`` of the data (same TPR and FPR)."""
    denominator = tpr * prevalence + fpr * (1 - prevalence)
    if denominator <= 0:
        return None, None
    precision = tpr * prevalence / denominator
    f1 = 2 * precision * tpr / (precision + tpr) if precision + tpr > 0 else 0.0
    return _safe(precision), _safe(f1)


def reliability_table(
    y: Sequence[int], p: Sequence[float], bins: int = 10
) -> list[dict[str, Any]]:
    """Per probability bin: how many ads, their mean predicted score, the observed rate."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    table = []
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        table.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "n": n,
                "mean_score": _safe(p[mask].mean()) if n else None,
                "observed": _safe(y[mask].mean()) if n else None,
            }
        )
    return table


def precision_at_k(y: Sequence[int], p: Sequence[float], k: int) -> float | None:
    """Share of positives among the ``k`` highest scores (what a reviewer sees first)."""
    y = np.asarray(y)
    if len(y) == 0:
        return None
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")[:k]
    return _safe(y[order].mean())


def evaluate_predictions(
    y: Sequence[int],
    p: Sequence[float],
    threshold: float,
    prevalence: float | None = None,
    *,
    reliability: bool = True,
) -> dict[str, Any]:
    """Every figure of the report for one set of predictions."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    predicted = p >= threshold
    tp = int((predicted & (y == 1)).sum())
    fp = int((predicted & (y == 0)).sum())
    fn = int((~predicted & (y == 1)).sum())
    tn = int((~predicted & (y == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    two_classes = len(np.unique(y)) == 2
    out: dict[str, Any] = {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "threshold": round(float(threshold), 6),
        "precision": _safe(precision),
        "recall": _safe(recall),
        "f1": _safe(f1),
        "pr_auc": _safe(average_precision_score(y, p)) if two_classes else None,
        "roc_auc": _safe(roc_auc_score(y, p)) if two_classes else None,
        "brier": _safe(brier_score_loss(y, p, pos_label=1)) if len(y) else None,
        "precision_at_50": precision_at_k(y, p, 50),
        "precision_at_100": precision_at_k(y, p, 100),
        "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": tn},
    }
    if prevalence is not None:
        tpr = recall
        fpr = fp / (fp + tn) if fp + tn else 0.0
        out["prevalence"] = prevalence
        out["precision_at_prevalence"], out["f1_at_prevalence"] = at_prevalence(
            tpr, fpr, prevalence
        )
    if reliability:
        out["reliability"] = reliability_table(y, p)
    return out


def summarise(folds: Sequence[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Mean and sample standard deviation of each metric over folds."""
    summary: dict[str, dict[str, float | None]] = {}
    for name in SUMMARY_METRICS:
        values = [f[name] for f in folds if f.get(name) is not None]
        if not values:
            continue
        summary[name] = {
            "mean": _safe(float(np.mean(values))),
            "sd": _safe(float(np.std(values, ddof=1))) if len(values) > 1 else 0.0,
            "n": len(values),
        }
    return summary


# --- readable output ---------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def format_metrics(metrics: dict[str, Any], title: str = "") -> str:
    """One evaluation as an aligned table (with confusion matrix and reliability table)."""
    lines = [title] if title else []
    for name in ("n", "positives", "threshold", *SUMMARY_METRICS):
        if name in metrics:
            lines.append(f"  {name:<26} {_fmt(metrics[name])}")
    confusion = metrics.get("confusion")
    if confusion:
        lines += [
            "  confusion matrix            predicted 1   predicted 0",
            f"    actual 1                  {confusion['tp']:>11}   {confusion['fn']:>11}",
            f"    actual 0                  {confusion['fp']:>11}   {confusion['tn']:>11}",
        ]
    if metrics.get("reliability"):
        lines.append("  reliability   bin        n   mean score   observed")
        for row in metrics["reliability"]:
            if row["n"]:
                lines.append(
                    f"                {row['bin']:<8} {row['n']:>4}   {_fmt(row['mean_score']):>10}   "
                    f"{_fmt(row['observed']):>8}"
                )
    return "\n".join(lines)


def format_summary(summaries: dict[str, dict[str, dict[str, Any]]], title: str = "") -> str:
    """Several models' cross-validation summaries side by side: ``mean ± sd`` per metric."""
    names = list(summaries)
    lines = [title] if title else []
    lines.append(f"  {'metric':<26}" + "".join(f"{n:>22}" for n in names))
    for metric in SUMMARY_METRICS:
        if not any(metric in s for s in summaries.values()):
            continue
        cells = []
        for name in names:
            entry = summaries[name].get(metric)
            cells.append(f"{entry['mean']:.3f} ± {entry['sd']:.3f}" if entry else "-")
        lines.append(f"  {metric:<26}" + "".join(f"{c:>22}" for c in cells))
    return "\n".join(lines)


def format_report(report: dict[str, Any]) -> str:
    """The readable form of a training or evaluation report (the JSON holds the same)."""
    parts = []
    if report.get("data"):
        d = report["data"]
        parts.append(
            f"data: {d.get('rows')} ads ({d.get('positive')} positive), hash {str(d.get('hash', ''))[:12]}"
        )
    if report.get("threshold"):
        t = report["threshold"]
        parts.append(f"operating threshold {t['threshold']} ({t.get('goal', '')}, out-of-fold)")
    if report.get("cv"):
        cv = report["cv"]
        parts.append(
            format_summary(
                {"model": cv["summary"]},
                f"cross-validation: {cv['repeats']}×{cv['folds']} grouped stratified folds (mean ± sd)",
            )
        )
    for key, title in (("holdout", "frozen holdout"), ("evaluation", "evaluation")):
        if report.get(key):
            parts.append(format_metrics(report[key], f"{title}:"))
    if report.get("comparison"):
        c = report["comparison"]
        parts.append(f"promotion: {c.get('decision')} — {c.get('reason')}")
    return "\n\n".join(parts)
