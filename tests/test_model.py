"""The classifier: calibrated pipeline, grouped repeated CV, threshold, explanations, reproducibility."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.ad import Ad
from pipeline.datasets import LabelledData, group_key, load_labelled
from pipeline.features import ads_to_frame
from pipeline.model import (
    TrainingError,
    compare,
    cross_validate,
    explain_rows,
    fit_model,
    group_splits,
    train,
    train_and_register,
    transform_and_score,
)
from pipeline.paths import SEED_DIR
from pipeline.registry import dump_artifact


def small_seed(n: int = 150) -> LabelledData:
    """Every k-th seed ad: both classes, every category, fast to train on."""
    if not any(SEED_DIR.glob("*.jsonl")):
        pytest.skip("seed corpus (data/seed) not present")
    data = load_labelled(SEED_DIR)
    step = max(1, len(data) // n)
    return data.subset(range(0, len(data), step))


@pytest.fixture(scope="module")
def seed() -> LabelledData:
    return small_seed()


@pytest.fixture(scope="module")
def trained(seed):
    return train(seed, folds=3, repeats=1)


def test_calibrated_probabilities_and_one_pass_scoring_agree(trained, seed):
    frame = ads_to_frame(seed.ads[:20])
    expected = trained.model.predict_proba(frame)[:, 1]
    _, _, probabilities = transform_and_score(trained.model, frame)
    np.testing.assert_allclose(probabilities, expected, atol=1e-9)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()


def test_threshold_is_chosen_out_of_fold_for_the_recall_goal(trained):
    threshold = trained.report["threshold"]
    assert threshold["goal"].startswith("recall>=0.9")
    assert threshold["recall"] >= 0.9
    assert trained.threshold == threshold["threshold"]
    summary = trained.report["cv"]["summary"]
    for name in ("precision", "recall", "f1", "pr_auc", "roc_auc", "brier", "precision_at_50"):
        assert set(summary[name]) == {"mean", "sd", "n"}


def test_the_model_learns_something(trained):
    assert trained.report["cv"]["summary"]["roc_auc"]["mean"] > 0.75


def test_duplicates_never_straddle_folds():
    texts = [f"lowongan kerja nomor {'x' * i}" for i in range(30)]
    dup = texts + [t.upper() + "!!" for t in texts]  # same ads, shouted
    y = np.array([i % 2 for i in range(30)] * 2)
    groups = [group_key(t) for t in dup]
    for train_idx, test_idx in group_splits(y, groups, 5, seed=1):
        assert not {groups[i] for i in train_idx} & {groups[i] for i in test_idx}


def test_cross_validation_is_repeated_and_reports_mean_and_sd(seed):
    cv = cross_validate(seed, folds=3, repeats=2, prevalence=0.0484)
    assert cv.repeats == 2 and cv.folds == 3 and len(cv.per_fold) == 6
    assert all(not np.isnan(o).any() for o in cv.oof)
    assert "precision_at_prevalence" in cv.summary


def test_explanations_name_terms_and_features(trained, seed):
    frame = ads_to_frame(seed.ads[:5])
    X, _, _ = transform_and_score(trained.model, frame)
    explanations = explain_rows(trained.model, X)
    assert len(explanations) == 5
    assert any(e["terms"] for e in explanations)
    for e in explanations:
        weights = [abs(w) for _, w in e["terms"]]
        assert weights == sorted(weights, reverse=True) and all(w >= 0.01 for w in weights)
        for term, _weight in e["terms"]:
            assert isinstance(term, str)
        for name, _weight in e["features"]:
            assert name.startswith(("rf_", "meta_"))


def test_one_class_refuses_to_train():
    data = LabelledData()
    for i in range(10):
        data.add(Ad(text=f"lowongan {i} " + "a" * i), 1, str(i), "file", None)
    with pytest.raises(TrainingError, match="need at least 2 ads of each class"):
        train(data, folds=3, repeats=1)


def test_training_is_reproducible_bit_for_bit(seed, tmp_path):
    y = np.asarray(seed.y)
    first = fit_model(ads_to_frame(seed.ads), y, seed.groups)
    second = fit_model(ads_to_frame(seed.ads), y, seed.groups)
    second.predict_proba(ads_to_frame(seed.ads[:3]))  # using a model must not change its bytes
    assert dump_artifact(first, tmp_path / "a.joblib") == dump_artifact(
        second, tmp_path / "b.joblib"
    )


def test_report_is_json_serialisable(trained):
    json.dumps(trained.report)


def test_promotion_rule_needs_not_worse_pr_auc_and_recall():
    promote, reason = compare({"pr_auc": 0.91, "recall": 0.92}, {"pr_auc": 0.9104, "recall": 0.90})
    assert promote and "not worse" in reason
    promote, reason = compare({"pr_auc": 0.95, "recall": 0.85}, {"pr_auc": 0.93, "recall": 0.90})
    assert not promote and reason == "challenger is worse: recall 0.850 < champion's 0.900"


def test_without_a_holdout_auto_keeps_the_challenger(seed, tmp_path):
    first = train_and_register(seed, folds=2, repeats=1, holdout=0.0, models_dir=tmp_path)
    assert first["comparison"]["decision"] == "promoted"  # no champion yet
    second = train_and_register(seed, folds=2, repeats=1, holdout=0.0, models_dir=tmp_path)
    assert second["comparison"]["decision"] == "kept as challenger"
    assert "no frozen holdout" in second["comparison"]["reason"]
