"""The classifier: pipeline factory, grouped repeated cross-validation, threshold, training.

The estimator is one scikit-learn object::

    CalibratedClassifierCV(                       # sigmoid, grouped folds, one final model
        Pipeline([
            ("features", ColumnTransformer([
                ("words", TfidfVectorizer(word 1–2-grams), "text"),
                ("chars", TfidfVectorizer(char_wb n-grams), "text"),   # optional
                ("redflags", RedFlagFeatures(), "text"),
                ("meta", MetaFeatures(), [metadata columns]),
            ])),
            ("clf", LogisticRegression(class_weight="balanced")),
        ]))

Why these choices (measured on EMSCAD and the seed corpus with grouped, repeated CV; see
``benchmarks/emscad_quality.py``):

- a linear model keeps every explanation exact (contribution = weight × value), trains in
  seconds and scores fast; calibrated with a sigmoid on grouped out-of-fold decisions;
- TF-IDF with a vocabulary, not hashing, so that the terms in an explanation have names;
  word 1–2-grams with sublinear tf and ``max_df=0.5`` (no stop-word lists to maintain in two
  languages: terms in more than half of the ads are dropped);
- character n-grams are off by default: they made transformation ~5× slower and did not
  improve PR-AUC on EMSCAD (0.935 ± 0.037 with them, 0.950 ± 0.022 for words alone);
- red-flag and metadata features are scaled down (``dense_weight``) to the size of a TF-IDF
  entry; unscaled they overfit and cost 2–3 points of PR-AUC.
"""

from __future__ import annotations

import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import Pipeline

from pipeline import WaspadaError
from pipeline.datasets import LabelledData
from pipeline.evaluate import choose_threshold, evaluate_predictions, summarise
from pipeline.features import (
    MetaFeatures,
    RedFlagFeatures,
    WordAnalyzer,
    ads_to_frame,
    prime_redflag_cache,
    redflag_matrix,
    token_cache,
)
from pipeline.featurize import META_COLUMNS, META_GROUPS, normalise_text
from pipeline.flat_model import FlatModel, Rows, explain

RANDOM_STATE = 20261128
DEFAULT_PARAMS: dict[str, Any] = {
    "word_max_features": 60_000,
    "word_min_df": 2,
    "chars": False,
    "char_max_features": 40_000,
    "redflags": True,
    "meta": True,
    "C": 4.0,
    # Red-flag and metadata values (0..1) are multiplied by this, the size of a typical entry
    # of an L2-normalised TF-IDF row (~1/sqrt(100 terms)), so that one rare rule cannot take
    # a weight no single term could: all features share one L2 penalty. At 1.0 the dense
    # features overfit (worse than text alone on EMSCAD and the seed corpus); at 0.1 they add.
    "dense_weight": 0.1,
    "calibration_folds": 3,
}


class TrainingError(WaspadaError):
    exit_code = 2


def build_features(params: dict[str, Any]) -> ColumnTransformer:
    """The feature union of a model with ``params`` (see :data:`DEFAULT_PARAMS`)."""
    branches: list[tuple[str, Any, Any]] = [
        (
            "words",
            TfidfVectorizer(
                analyzer=WordAnalyzer(),  # normalise_text + word 1–2-grams, cached in training
                min_df=params["word_min_df"],
                max_df=0.5,
                max_features=params["word_max_features"],
                sublinear_tf=True,
                dtype=np.float32,
            ),
            "text",
        )
    ]
    if params.get("chars"):
        branches.append(
            (
                "chars",
                TfidfVectorizer(
                    preprocessor=normalise_text,
                    analyzer="char_wb",
                    ngram_range=(3, 5),
                    min_df=2,
                    max_features=params["char_max_features"],
                    sublinear_tf=True,
                    dtype=np.float32,
                ),
                "text",
            )
        )
    if params.get("redflags"):
        branches.append(("redflags", RedFlagFeatures(), "text"))
    if params.get("meta"):
        groups = META_GROUPS if params["meta"] is True else tuple(params["meta"])
        branches.append(("meta", MetaFeatures(include=groups), META_COLUMNS))
    weights = {
        name: params["dense_weight"] for name, _, _ in branches if name in ("redflags", "meta")
    }
    return ColumnTransformer(
        branches, sparse_threshold=1.0, transformer_weights=weights or None, n_jobs=None
    )


def build_model(params: dict[str, Any] | None = None, cv: Any = 3) -> CalibratedClassifierCV:
    """The calibrated pipeline, unfitted."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    base = Pipeline(
        [
            ("features", build_features(params)),
            (
                "clf",
                LogisticRegression(
                    C=params["C"],
                    class_weight="balanced",
                    solver="liblinear",
                    max_iter=1000,
                    random_state=RANDOM_STATE,
                ),
            ),
        ]
    )
    # ensemble=False: one base model fitted on all data, a sigmoid fitted on out-of-fold
    # decision values. One model means one set of weights to explain.
    return CalibratedClassifierCV(base, method="sigmoid", cv=cv, ensemble=False)


def build_baseline() -> Pipeline:
    """The plain baseline the benchmarks compare against: word 1–2-gram TF-IDF + LR."""
    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2))),
            ("clf", LogisticRegression(max_iter=1000, random_state=RANDOM_STATE)),
        ]
    )


def group_splits(
    y: np.ndarray, groups: list[str], n_splits: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds that keep each group (duplicate ads) on one side."""
    n_groups_per_class = min(
        len({g for g, label in zip(groups, y, strict=True) if label == c}) for c in (0, 1)
    )
    n_splits = max(2, min(n_splits, n_groups_per_class))
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, groups))


def _check_two_classes(y: np.ndarray) -> None:
    counts = np.bincount(y, minlength=2)
    if counts.min() < 2:
        raise TrainingError(
            f"need at least 2 ads of each class to train (have {counts[1]} positive, "
            f"{counts[0]} negative); add labelled ads of the missing class"
        )


def fit_model(
    frame: Any,
    y: np.ndarray,
    groups: list[str],
    params: dict[str, Any] | None = None,
    seed: int = RANDOM_STATE,
) -> CalibratedClassifierCV:
    """Fit the calibrated pipeline; calibration folds are grouped too."""
    params = {**DEFAULT_PARAMS, **(params or {})}
    _check_two_classes(y)
    splits = group_splits(y, groups, params["calibration_folds"], seed)
    model = build_model(params, cv=splits)
    with token_cache(len(frame) + 1):
        model.fit(frame, y)
    # The fold index arrays are only needed during fit; keep the artifact small and tidy.
    model.cv = len(splits)
    return model


def _fit_predict(frame, y, groups, train, test, params, seed, baseline, primed=None):
    if primed is not None:  # in a worker process: red-flag vectors computed once, upfront
        prime_redflag_cache(frame["text"].tolist(), primed)
    with token_cache(len(frame) + 1):
        return _fit_predict_cached(frame, y, groups, train, test, params, seed, baseline)


def _fit_predict_cached(frame, y, groups, train, test, params, seed, baseline):
    if baseline:
        model = build_baseline().fit(frame["text"].iloc[train], y[train])
        return model.predict_proba(frame["text"].iloc[test])[:, 1]
    train_groups = [groups[i] for i in train]
    model = fit_model(frame.iloc[train], y[train], train_groups, params, seed)
    return model.predict_proba(frame.iloc[test])[:, 1]


def _redflag_vectors_parallel(texts: list[str], n_jobs: int) -> np.ndarray:
    """Every text's red-flag vector, computed once on all cores and cached here too.

    Without this each worker process would run the rules on every text itself (the rules are
    the slowest part of training)."""
    chunks = [c for c in np.array_split(np.arange(len(texts)), max(1, 4 * abs(n_jobs))) if len(c)]
    parts = Parallel(n_jobs=n_jobs)(delayed(redflag_matrix)([texts[i] for i in c]) for c in chunks)
    matrix = np.vstack(parts)
    prime_redflag_cache(texts, matrix)
    return matrix


@dataclass
class CVResult:
    folds: int
    repeats: int
    oof: list[np.ndarray]  # one array of out-of-fold probabilities per repeat
    splits: list[list[tuple[np.ndarray, np.ndarray]]]
    per_fold: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    threshold: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def report(self) -> dict[str, Any]:
        return {
            "folds": self.folds,
            "repeats": self.repeats,
            "summary": self.summary,
            "per_fold": self.per_fold,
            "seconds": round(self.seconds, 1),
        }


def cross_validate(
    data: LabelledData,
    *,
    params: dict[str, Any] | None = None,
    folds: int = 5,
    repeats: int = 2,
    min_recall: float = 0.90,
    prevalence: float | None = None,
    n_jobs: int = 1,
    baseline: bool = False,
    splits: list[list[tuple[np.ndarray, np.ndarray]]] | None = None,
    seed: int = RANDOM_STATE,
) -> CVResult:
    """Repeated, stratified, grouped CV; per-fold metrics at an honest threshold.

    Each fold's threshold is chosen on the *other* folds' out-of-fold predictions of the same
    repeat, so no fold is scored at a threshold tuned on itself; the model's own threshold is
    chosen on all out-of-fold predictions pooled.
    """
    started = time.perf_counter()
    frame = ads_to_frame(data.ads)
    y = np.asarray(data.y, dtype=int)
    _check_two_classes(y)
    if splits is None:
        splits = [group_splits(y, data.groups, folds, seed + r) for r in range(repeats)]
    tasks = [(r, k) for r in range(len(splits)) for k in range(len(splits[r]))]
    primed = None
    if n_jobs != 1 and not baseline and {**DEFAULT_PARAMS, **(params or {})}.get("redflags"):
        primed = _redflag_vectors_parallel(frame["text"].tolist(), n_jobs)
    predictions = Parallel(n_jobs=n_jobs)(
        delayed(_fit_predict)(frame, y, data.groups, *splits[r][k], params, seed, baseline, primed)
        for r, k in tasks
    )
    oof = [np.full(len(y), np.nan) for _ in splits]
    for (r, k), p in zip(tasks, predictions, strict=True):
        oof[r][splits[r][k][1]] = p
    per_fold = []
    for r, k in tasks:
        test = splits[r][k][1]
        others = np.setdiff1d(np.arange(len(y)), test)
        t = choose_threshold(y[others], oof[r][others], min_recall)["threshold"]
        metrics = evaluate_predictions(y[test], oof[r][test], t, prevalence, reliability=False)
        per_fold.append({"repeat": r, "fold": k, **metrics})
    pooled_y = np.concatenate([y] * len(oof))
    pooled_p = np.concatenate(oof)
    result = CVResult(
        folds=len(splits[0]),
        repeats=len(splits),
        oof=oof,
        splits=splits,
        per_fold=per_fold,
        summary=summarise(per_fold),
        threshold=choose_threshold(pooled_y, pooled_p, min_recall),
    )
    result.seconds = time.perf_counter() - started
    return result


@dataclass
class TrainResult:
    model: CalibratedClassifierCV
    threshold: float
    params: dict[str, Any]
    report: dict[str, Any]
    cv: CVResult | None


def train(
    data: LabelledData,
    *,
    params: dict[str, Any] | None = None,
    folds: int = 5,
    repeats: int = 2,
    min_recall: float = 0.90,
    prevalence: float | None = None,
    n_jobs: int = 1,
    seed: int = RANDOM_STATE,
) -> TrainResult:
    """Cross-validate (for the report and the threshold), then fit on all of ``data``."""
    started = time.perf_counter()
    params = {**DEFAULT_PARAMS, **(params or {})}
    y = np.asarray(data.y, dtype=int)
    _check_two_classes(y)
    cv = cross_validate(
        data,
        params=params,
        folds=folds,
        repeats=repeats,
        min_recall=min_recall,
        prevalence=prevalence,
        n_jobs=n_jobs,
        seed=seed,
    )
    model = fit_model(ads_to_frame(data.ads), y, data.groups, params, seed)
    pooled_y = np.concatenate([y] * len(cv.oof))
    oof_metrics = evaluate_predictions(
        pooled_y, np.concatenate(cv.oof), cv.threshold["threshold"], prevalence
    )
    report = {
        "threshold": cv.threshold,
        "cv": cv.report(),
        "out_of_fold": oof_metrics,
        "params": params,
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return TrainResult(model, float(cv.threshold["threshold"]), params, report, cv)


# --- explanations ---------------------------------------------------------------------------


def base_pipeline(model: CalibratedClassifierCV) -> Pipeline:
    """The single fitted pipeline inside the calibrated model."""
    return model.calibrated_classifiers_[0].estimator


def strip_volatile_state(model: Any) -> Any:
    """Remove caches that hold memory addresses, so the same fit pickles to the same bytes.

    scikit-learn's vectorisers remember ``id(stop_words)`` in ``_stop_words_id`` (a check
    cache, recomputed when absent); an object id differs between runs.
    """
    for calibrated in getattr(model, "calibrated_classifiers_", []):
        features = calibrated.estimator.named_steps.get("features")
        for _, transformer, _ in getattr(features, "transformers_", []):
            if hasattr(transformer, "_stop_words_id"):
                del transformer._stop_words_id
    return model


def feature_names(model: CalibratedClassifierCV) -> np.ndarray:
    return base_pipeline(model).named_steps["features"].get_feature_names_out()


def flat_model(model: Any) -> FlatModel | None:
    """The model as a :class:`~pipeline.flat_model.FlatModel` (made once per fitted model),
    or None if it cannot be flattened (character n-grams, for one)."""
    if model not in _FLAT:
        _FLAT[model] = FlatModel.from_estimator(model)
    return _FLAT[model]


_FLAT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def transform_and_score(model: Any, frame: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """Features, raw decision values and calibrated probabilities in one pass.

    Same numbers as ``model.predict_proba(frame)[:, 1]`` (a test checks it), but the feature
    matrix is kept for the explanations instead of being computed twice. A model that can be
    flattened is computed by its :class:`~pipeline.flat_model.FlatModel` (the same matrix,
    several times faster; ``X`` is then its ``Rows``); any other by scikit-learn.
    """
    flat = flat_model(model)
    if flat is not None:
        X = flat.transform(frame)
        decision = flat.decision(X)
        return X, decision, flat.probabilities(decision)
    base = base_pipeline(model)
    X = base.named_steps["features"].transform(frame)
    decision = base.named_steps["clf"].decision_function(X)
    calibrator = model.calibrated_classifiers_[0].calibrators[0]
    return X, decision, np.clip(calibrator.predict(decision), 0.0, 1.0)


def explain_rows(
    model: Any, X: Any, top_terms: int = 8, top_features: int = 6
) -> list[dict[str, list[list[Any]]]]:
    """Per row of ``X`` (from :func:`transform_and_score`): the terms and the red-flag and
    metadata features that moved its score most (see :func:`pipeline.flat_model.explain`)."""
    import scipy.sparse

    flat = flat_model(model)
    if flat is not None and isinstance(X, Rows):
        return flat.explain(X, top_terms, top_features)
    names = feature_names(model)
    short_names = [str(n).split("__", 1)[-1] for n in names]
    is_term = np.array([str(n).startswith(("words__", "chars__")) for n in names])
    coef = base_pipeline(model).named_steps["clf"].coef_.ravel()
    X = scipy.sparse.csr_matrix(X)
    contributions = scipy.sparse.csr_matrix(
        (X.data * coef[X.indices], X.indices.copy(), X.indptr.copy()), X.shape
    )
    contributions.sum_duplicates()  # sorted, distinct columns in each row
    return explain(Rows.of(contributions), short_names, is_term, top_terms, top_features)


# --- the retraining loop ------------------------------------------------------------------

PROMOTE_MODES = ("auto", "force", "never")


def predict(model: CalibratedClassifierCV, data: LabelledData) -> np.ndarray:
    return model.predict_proba(ads_to_frame(data.ads))[:, 1]


def compare(challenger: dict[str, Any], champion: dict[str, Any]) -> tuple[bool, str]:
    """Promote only if the challenger is not worse on PR-AUC and on recall at its threshold.

    Compared at 3 decimals: differences below that are noise on any holdout we will have.
    """
    worse = []
    for name in ("pr_auc", "recall"):
        new, old = challenger.get(name), champion.get(name)
        if new is None or old is None:
            continue
        if round(new, 3) < round(old, 3):
            worse.append(f"{name} {new:.3f} < champion's {old:.3f}")
    if worse:
        return False, "challenger is worse: " + "; ".join(worse)
    return True, (
        f"challenger not worse on the frozen holdout (PR-AUC {challenger.get('pr_auc')} vs "
        f"{champion.get('pr_auc')}, recall {challenger.get('recall')} vs {champion.get('recall')})"
    )


def train_and_register(
    data: LabelledData,
    *,
    params: dict[str, Any] | None = None,
    folds: int = 5,
    repeats: int = 2,
    min_recall: float = 0.90,
    prevalence: float | None = None,
    holdout: float = 0.2,
    n_jobs: int = 1,
    model_dir: str | None = None,
    models_dir: str | None = None,
    promote: str = "auto",
    note: str = "",
    by: str | None = None,
) -> dict[str, Any]:
    """Train a challenger, evaluate it (and the champion) on the frozen holdout, register it,
    and promote it by the rule of ``promote``. Returns the report (also in the model card).

    With ``model_dir`` the model is written there and the registry is not touched.
    """
    from pipeline import registry

    if promote not in PROMOTE_MODES:
        raise TrainingError(f"--promote must be one of {', '.join(PROMOTE_MODES)}")
    mask = data.holdout_mask(holdout)
    train_part = data.subset(i for i, m in enumerate(mask) if not m)
    held = data.subset(i for i, m in enumerate(mask) if m)
    result = train(
        train_part,
        params=params,
        folds=folds,
        repeats=repeats,
        min_recall=min_recall,
        prevalence=prevalence,
        n_jobs=n_jobs,
    )
    holdout_metrics = None
    if len(held) and len(set(held.y)) == 2:
        holdout_metrics = evaluate_predictions(
            held.y, predict(result.model, held), result.threshold, prevalence
        )
    metrics = {
        "cv": result.report["cv"],
        "out_of_fold": result.report["out_of_fold"],
        "holdout": holdout_metrics,
    }
    counts = data.counts()
    card = {
        "note": note,
        "threshold_goal": result.report["threshold"]["goal"],
        "threshold_oof": result.report["threshold"],
        "params": result.params,
        "data": {
            **counts,
            "train_rows": len(train_part),
            "holdout_rows": len(held),
            "holdout_share": holdout,
            "hash": data.data_hash(),
            "files": data.files,
            "skipped": dict(data.skipped),
            "origins": dict(sorted(Counter(data.origins).items())),
        },
        "metrics": metrics,
        "train_seconds": result.report["train_seconds"],
    }
    report: dict[str, Any] = {
        "data": card["data"],
        "threshold": result.report["threshold"],
        "cv": result.report["cv"],
        "holdout": holdout_metrics,
    }
    if model_dir:
        full = registry.write_model(
            Path(model_dir), result.model, threshold=result.threshold, card=card
        )
        report["model"] = {"version": full["version"], "directory": str(model_dir)}
        return report
    full = registry.register(
        result.model, threshold=result.threshold, card=card, models_dir=models_dir
    )
    version = full["version"]
    registry.set_alias(
        "challenger",
        version,
        reason=note or "trained",
        by=by,
        action="train",
        models_dir=models_dir,
    )
    report["model"] = {
        "version": version,
        "directory": str(registry.models_root(models_dir) / version),
    }
    decision, reason = _decide(promote, held, holdout_metrics, prevalence, models_dir)
    if decision:
        registry.set_alias(
            "champion", version, reason=f"{promote}: {reason}", by=by, models_dir=models_dir
        )
    report["comparison"] = {
        "decision": "promoted" if decision else "kept as challenger",
        "reason": reason,
    }
    return report


def _decide(
    promote: str,
    held: LabelledData,
    challenger: dict[str, Any] | None,
    prevalence: float | None,
    models_dir: str | None,
) -> tuple[bool, str]:
    from pipeline import registry
    from pipeline.scoring import Scorer

    if promote == "never":
        return False, "--promote never"
    if promote == "force":
        return True, "forced"
    if registry.aliases(models_dir).get("champion") is None:
        return True, "no champion yet"
    try:
        champion = Scorer.load("champion", models_dir)
    except WaspadaError as exc:
        return True, f"the champion cannot be loaded ({exc})"
    if challenger is None:
        return (
            False,
            "no frozen holdout with both classes to compare on; promote by hand after inspection",
        )
    champion_metrics = evaluate_predictions(
        held.y, predict(champion.model, held), champion.threshold, prevalence
    )
    challenger["champion"] = {
        k: champion_metrics[k] for k in ("precision", "recall", "f1", "pr_auc", "roc_auc", "brier")
    }
    challenger["champion"]["version"] = champion.version
    return compare(challenger, champion_metrics)
