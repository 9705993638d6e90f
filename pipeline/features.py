"""The classifier's input frame and its scikit-learn transformers.

The model's input is a ``pandas.DataFrame`` built by :func:`ads_to_frame` (one row per ad,
the columns in :data:`FRAME_COLUMNS`). The transformers here follow the scikit-learn estimator
contract and live at module level, so a fitted pipeline pickles with joblib and loads again
wherever ``pipeline`` is importable (no lambdas, no notebook functions). What they compute is
in ``pipeline.featurize`` (plain functions, no scikit-learn), which scoring uses directly.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.ad import Ad
from pipeline.featurize import (
    FRAME_COLUMNS,
    META_GROUPS,
    ads_to_columns,
    align_columns,
    as_texts,
    meta_matrix,
    meta_names,
    normalise_text,  # noqa: F401 - models pickled before featurize existed name it here
    redflag_names,
    redflag_values,
    word_ngrams,
)

# Tokenised texts, kept only while training (see ``token_cache``): cross-validation fits the
# vectoriser dozens of times on the same texts, and tokenising is most of its cost.
_TOKENS: dict[str, list[str]] = {}
_TOKENS_LIMIT = [0]


class WordAnalyzer:
    """The word vectoriser's analyzer: :func:`word_ngrams`, memoised while training.

    A module-level class, so a fitted vectoriser pickles with a reference to it.
    """

    def __call__(self, text: str) -> list[str]:
        if not _TOKENS_LIMIT[0]:
            return word_ngrams(text)
        tokens = _TOKENS.get(text)
        if tokens is None:
            tokens = word_ngrams(text)
            if len(_TOKENS) >= _TOKENS_LIMIT[0]:
                _TOKENS.clear()
            _TOKENS[text] = tokens
        return tokens

    def __repr__(self) -> str:
        return "WordAnalyzer()"


@contextmanager
def token_cache(limit: int = 20_000) -> Iterator[None]:
    """Memoise tokenised texts inside the block (training); memory is freed on exit."""
    previous = _TOKENS_LIMIT[0]
    _TOKENS_LIMIT[0] = limit
    try:
        yield
    finally:
        _TOKENS_LIMIT[0] = previous
        if not previous:
            _TOKENS.clear()


# --- the model frame --------------------------------------------------------------------


def ads_to_frame(ads: Sequence[Ad]) -> pd.DataFrame:
    """The model's input as a frame: :func:`~pipeline.featurize.ads_to_columns`."""
    return pd.DataFrame(ads_to_columns(ads), columns=list(FRAME_COLUMNS))


def _column(X: Any, name: str = "text") -> list[str]:
    """The text column of a frame, or the values of a 1-D array / list, as strings."""
    if isinstance(X, pd.DataFrame):
        values = X[name].tolist() if name in X.columns else X.iloc[:, 0].tolist()
    elif isinstance(X, pd.Series):
        values = X.tolist()
    else:
        array = np.asarray(X, dtype=object)
        values = (array[:, 0] if array.ndim == 2 else array).tolist()
    return as_texts(values)


def _n_columns(X: Any) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[1]) if shape is not None and len(shape) == 2 else 1


def _check_input(estimator: Any, X: Any, *, fitting: bool) -> None:
    """The estimator-contract checks that make sense for text input (sparse, complex, empty,
    column count). One-dimensional input (a list or Series of texts) is accepted on purpose."""
    import scipy.sparse

    name = type(estimator).__name__
    if scipy.sparse.issparse(X):
        raise TypeError(
            f"{name} does not support sparse input; pass texts or a frame with a 'text' column"
        )
    shape = getattr(X, "shape", None)
    if shape is None:
        shape = np.asarray(X, dtype=object).shape
    if isinstance(X, np.ndarray) and np.iscomplexobj(X):
        raise ValueError(f"Complex data not supported by {name}")
    if len(shape) == 2 and shape[1] == 0:
        raise ValueError(
            f"0 feature(s) (shape={shape}) while a minimum of 1 is required by {name}."
        )
    if fitting and (not shape or shape[0] == 0):
        raise ValueError(
            f"Found array with 0 sample(s) (shape={getattr(X, 'shape', (0,))}) while a minimum of 1 is required by {name}."
        )
    if (
        not fitting
        and _n_columns(X) != estimator.n_features_in_
        and not isinstance(X, pd.DataFrame)
    ):
        raise ValueError(
            f"X has {_n_columns(X)} features, but {name} is expecting {estimator.n_features_in_} features as input."
        )


# --- red flags ----------------------------------------------------------------------------


# Red-flag vectors by text. Repeated cross-validation transforms the same texts many times,
# and training primes this cache once (in parallel) for every worker; bounded for memory.
_VECTORS: dict[str, np.ndarray] = {}
_VECTORS_MAX = 20_000


def _redflag_vector(text: str) -> np.ndarray:
    vector = _VECTORS.get(text)
    if vector is None:
        vector = redflag_values([text])[0]
        if len(_VECTORS) >= _VECTORS_MAX:
            _VECTORS.clear()
        _VECTORS[text] = vector
    return vector


def redflag_matrix(texts: Sequence[str]) -> np.ndarray:
    """The raw red-flag vectors of ``texts`` (rows in order), through the cache."""
    if not texts:
        return redflag_values([])
    return np.vstack([_redflag_vector(t) for t in texts])


def prime_redflag_cache(texts: Sequence[str], matrix: np.ndarray) -> None:
    """Fill the cache with vectors computed elsewhere (e.g. once, before cross-validation)."""
    if len(texts) > _VECTORS_MAX:
        return
    if len(_VECTORS) + len(texts) > _VECTORS_MAX:
        _VECTORS.clear()
    _VECTORS.update(zip(texts, matrix, strict=True))


class RedFlagFeatures(TransformerMixin, BaseEstimator):
    """The red-flag rules (``pipeline.redflags``) as a dense feature block.

    Input: a frame with a ``text`` column (or a 1-D sequence of texts). Output: one row of
    ``redflags.feature_vector`` per ad, each column divided by its largest absolute value seen
    in training so that 0–100 scores and 0/1 flags share one scale (weights stay readable).
    """

    def __init__(self, column: str = "text") -> None:
        self.column = column

    def fit(self, X: Any, y: Any = None) -> RedFlagFeatures:
        from pipeline import redflags

        _check_input(self, X, fitting=True)
        matrix = self._vectors(X)
        scale = np.abs(matrix).max(axis=0) if len(matrix) else np.ones(matrix.shape[1])
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.feature_names_ = redflag_names()
        self.rules_version_ = str(redflags.RULES_VERSION)
        self.n_features_in_ = _n_columns(X)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "scale_")
        _check_input(self, X, fitting=False)
        matrix = align_columns(self._vectors(X), redflag_names(), self.feature_names_)
        return matrix / self.scale_

    def _vectors(self, X: Any) -> np.ndarray:
        return redflag_matrix(_column(X, self.column))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        return np.asarray(self.feature_names_, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True  # a missing text is read as ""
        return tags


class MetaFeatures(TransformerMixin, BaseEstimator):
    """Metadata a source may have, plus cheap shape-of-text cues, as a dense block in [0, 1].

    - ``flags``: EMSCAD's logo / questions / telecommuting, with an "unknown" indicator for
      sources that do not say;
    - ``missing``: fields that are missing (an absent company counts; the EMSCAD-only fields
      count only when the source has them and they are empty) and whether a salary field is set;
    - ``contact``: the kinds of channel in the source's ``contact`` field (channels written in
      the text itself are the red-flag rules' business);
    - ``shape``: length, share of capitals, exclamation marks, emoji.
    """

    def __init__(self, include: tuple[str, ...] = META_GROUPS) -> None:
        self.include = include

    def fit(self, X: Any, y: Any = None) -> MetaFeatures:
        unknown = set(self.include) - set(META_GROUPS)
        if unknown:
            raise ValueError(f"unknown MetaFeatures groups {sorted(unknown)}; use {META_GROUPS}")
        _check_input(self, X, fitting=True)
        self.n_features_in_ = _n_columns(X)
        self.feature_names_ = meta_names(self.include)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        _check_input(self, X, fitting=False)
        columns = X if isinstance(X, pd.DataFrame) else {"text": _column(X)}
        return meta_matrix(columns, self.include)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        return np.asarray(self.feature_names_, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True  # missing metadata is information, not an error
        return tags
