"""Evaluation figures: threshold choice, metrics, prevalence adjustment, readable tables."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.evaluate import (
    at_prevalence,
    choose_threshold,
    evaluate_predictions,
    format_metrics,
    format_summary,
    precision_at_k,
    reliability_table,
    summarise,
)

Y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
P = np.array([0.95, 0.9, 0.6, 0.3, 0.7, 0.2, 0.1, 0.1, 0.05, 0.0])


def test_threshold_reaches_the_recall_goal_at_best_precision():
    # recall ≥ 0.75: cutting at 0.6 gives precision 3/4, at 0.3 gives 4/5 (and recall 1).
    chosen = choose_threshold(Y, P, min_recall=0.75)
    assert chosen["threshold"] == 0.3 and chosen["recall"] == 1.0 and chosen["precision"] == 0.8
    # recall ≥ 0.5: 0.9 keeps two positives and no negative.
    half = choose_threshold(Y, P, min_recall=0.5)
    assert half["threshold"] == 0.9 and half["precision"] == 1.0


def test_equally_precise_thresholds_prefer_more_recall():
    chosen = choose_threshold([1, 1, 0], [0.9, 0.8, 0.1], min_recall=0.5)
    assert chosen["threshold"] == 0.8 and chosen["recall"] == 1.0


def test_metrics_at_the_threshold():
    m = evaluate_predictions(Y, P, 0.6)
    assert m["confusion"] == {"tp": 3, "fp": 1, "fn": 1, "tn": 5}
    assert m["precision"] == 0.75 and m["recall"] == 0.75 and m["f1"] == 0.75
    assert m["roc_auc"] == pytest.approx(22 / 24, abs=1e-4)
    assert 0 < m["pr_auc"] <= 1 and 0 < m["brier"] < 0.25
    assert m["precision_at_50"] == 0.4  # fewer than 50 ads: all of them
    assert sum(row["n"] for row in m["reliability"]) == len(Y)


def test_prevalence_adjustment_uses_true_and_false_positive_rates():
    precision, f1 = at_prevalence(tpr=0.9, fpr=0.1, prevalence=0.05)
    assert precision == pytest.approx(0.045 / (0.045 + 0.095), abs=1e-4)
    assert f1 == pytest.approx(2 * precision * 0.9 / (precision + 0.9), abs=1e-4)
    m = evaluate_predictions(Y, P, 0.6, prevalence=0.0484)
    # At 4.84 % positives the same classifier is much less precise than at 40 %.
    assert m["precision_at_prevalence"] < m["precision"]


def test_precision_at_k_and_reliability():
    assert precision_at_k(Y, P, 2) == 1.0
    assert precision_at_k(Y, P, 5) == 0.8
    table = reliability_table([0, 1, 1], [0.05, 0.95, 0.91], bins=10)
    assert table[0] == {"bin": "0.0-0.1", "n": 1, "mean_score": 0.05, "observed": 0.0}
    assert table[9]["n"] == 2 and table[9]["observed"] == 1.0


def test_one_class_data_gives_no_auc_instead_of_crashing():
    m = evaluate_predictions([0, 0, 0], [0.1, 0.2, 0.9], 0.5)
    assert m["roc_auc"] is None and m["pr_auc"] is None and m["confusion"]["fp"] == 1


def test_summary_and_tables_are_readable():
    folds = [
        evaluate_predictions(Y, P, 0.6, reliability=False),
        evaluate_predictions(Y, P * 0.9, 0.5, reliability=False),
    ]
    summary = summarise(folds)
    assert summary["precision"]["n"] == 2 and summary["roc_auc"]["sd"] == 0.0
    table = format_summary({"ours": summary, "baseline": summary})
    assert "ours" in table and "±" in table and "pr_auc" in table
    text = format_metrics(evaluate_predictions(Y, P, 0.6), "holdout:")
    assert "confusion matrix" in text and "reliability" in text
