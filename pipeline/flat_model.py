"""The fitted classifier flattened into arrays, for scoring without scikit-learn.

Once fitted, a model that ``pipeline.model.build_features`` made without character n-grams is
a handful of numbers: the word vocabulary and its idf weights, the red-flag columns and their
scales, the metadata groups, the branch weights, the logistic regression's coefficients and
the sigmoid calibration's two parameters. :class:`FlatModel` holds exactly those and computes
from them the same feature matrix, probabilities and explanations as the scikit-learn objects
(to the bit: tests/test_flat_model.py). It is saved beside the joblib artifact as
``flat.json`` (plain JSON, in the model card's manifest with its SHA-256), and scoring loads
that instead of unpickling the estimator: ``waspada score`` then neither imports scikit-learn
(over a second of start-up, most of a small night's run) nor runs code from a file.

A feature matrix here is a :class:`Rows`: the CSR arrays of ``scipy.sparse``, kept as plain
numpy arrays (importing ``scipy.sparse`` alone costs a fifth of a second).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, NamedTuple

import numpy as np

from pipeline.featurize import (
    META_COLUMNS,
    align_columns,
    as_texts,
    meta_matrix,
    redflag_names,
    redflag_values,
    word_runs,
)

#: Contributions (log-odds) smaller than this explain nothing a reviewer could use.
MIN_CONTRIBUTION = 0.01
#: Version of the ``flat.json`` layout; a file of another version is not used.
FORMAT = 1


class Rows(NamedTuple):
    """A CSR matrix as arrays: row ``i`` holds ``data[indptr[i]:indptr[i + 1]]`` in the
    columns ``indices[...]`` (sorted)."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    n_columns: int

    @classmethod
    def of(cls, matrix: Any) -> Rows:
        """The arrays of a ``scipy.sparse`` CSR matrix or array."""
        return cls(matrix.data, matrix.indices, matrix.indptr, matrix.shape[1])


class WordCounts:
    """Term counts for a vocabulary of word 1- and 2-grams (``pipeline.features.WordAnalyzer``).

    Each word of a vocabulary term has an id; a bigram term is the code ``first * n + second``
    of its words' ids, and the codes are kept sorted for ``np.searchsorted``. Counting is one
    C-level dict lookup per word, then the bigrams and the counting in numpy, instead of
    scikit-learn's per-document loop that makes every n-gram a new string.
    """

    def __init__(self, terms: list[str]) -> None:
        parts = [term.split(" ") for term in terms]
        words = sorted({word for split in parts for word in split})
        n = len(words)
        self.n_words, self.n_features = n, len(terms)
        # Special ids past the words: a word in no term, a one-character run (not a token, so
        # no bigram's neighbour either: it is dropped), the end of a document.
        self.unknown, self.skip, self.end = n, n + 1, n + 2
        self.ids = {word: i for i, word in enumerate(words)}
        self.ids.update((c, self.skip) for c in map(chr, range(128)) if c.isalnum() or c == "_")
        self.unigram_column = np.full(n + 3, -1, dtype=np.int64)
        self.starts_bigram = np.zeros(n + 3, dtype=bool)
        self.ends_bigram = np.zeros(n + 3, dtype=bool)
        codes, columns = [], []
        for column, split in enumerate(parts):
            ids = [self.ids[word] for word in split]
            if len(ids) == 1:
                self.unigram_column[ids[0]] = column
            else:
                self.starts_bigram[ids[0]] = self.ends_bigram[ids[1]] = True
                codes.append(ids[0] * n + ids[1])
                columns.append(column)
        order = np.argsort(codes)
        self.bigram_codes = np.asarray(codes, dtype=np.int64)[order]
        self.bigram_columns = np.asarray(columns, dtype=np.int64)[order]

    def counts(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The document-term counts as CSR arrays ``(indptr, indices, counts)``, the same
        entries in the same order as ``CountVectorizer.transform`` gives."""
        ids: list[int] = []
        get, unknown = self.ids.get, repeat(self.unknown)
        for text in texts:
            ids += map(get, word_runs(text), unknown)
            ids.append(self.end)
        words = np.fromiter(ids, dtype=np.int64, count=len(ids))
        words = words[words != self.skip]
        rows = np.cumsum(words == self.end)  # each word's document (an end counts for the next)
        n_docs, n_features = len(texts), self.n_features
        columns = self.unigram_column[words]
        unigrams = columns >= 0
        keys = [rows[unigrams] * n_features + columns[unigrams]]
        first, second = words[:-1], words[1:]
        pairs = self.starts_bigram[first] & self.ends_bigram[second]
        # Sorted queries make the binary searches several times faster; the row rides along.
        codes = np.sort((first[pairs] * self.n_words + second[pairs]) * n_docs + rows[:-1][pairs])
        codes, code_rows = np.divmod(codes, n_docs)
        at = np.searchsorted(self.bigram_codes, codes)
        np.minimum(at, len(self.bigram_codes) - 1, out=at)
        bigrams = self.bigram_codes[at] == codes
        keys.append(code_rows[bigrams] * n_features + self.bigram_columns[at[bigrams]])
        keys = np.concatenate(keys)
        if n_docs * n_features < 2**31:  # the usual chunk: int32 sorts twice as fast
            keys = keys.astype(np.int32)
        keys, counts = np.unique(keys, return_counts=True)
        indptr = np.searchsorted(keys, np.arange(n_docs + 1) * n_features)
        return indptr.astype(np.int32), (keys % n_features).astype(np.int32), counts


@dataclass
class FlatModel:
    """A calibrated linear model over word TF-IDF, red-flag and metadata blocks, as arrays."""

    branches: list[tuple[str, float | None]]  # (words | redflags | meta, weight), in order
    terms: list[str]  # the word vocabulary, by column
    idf: np.ndarray
    sublinear_tf: bool
    norm: str | None
    tf_dtype: str
    redflag_names: list[str]
    redflag_scale: np.ndarray
    meta_include: list[str]
    meta_names: list[str]
    coef: np.ndarray
    intercept: float
    calibration: tuple[float, float]  # the sigmoid's a and b: p = 1 / (1 + exp(a·d + b))

    def __post_init__(self) -> None:
        self.words = WordCounts(self.terms)
        columns = {"words": self.terms, "redflags": self.redflag_names, "meta": self.meta_names}
        self.offsets: dict[str, int] = {}  # each branch's first column
        self.names: list[str] = []  # every column's name, as explanations show it
        for branch, _ in self.branches:
            self.offsets[branch] = len(self.names)
            self.names += columns[branch]
        self.is_term = np.zeros(len(self.names), dtype=bool)
        if "words" in self.offsets:
            self.is_term[self.offsets["words"] : self.offsets["words"] + len(self.terms)] = True
        if len(self.names) != len(self.coef):
            raise ValueError(f"{len(self.names)} features but {len(self.coef)} coefficients")
        if len(self.idf) != len(self.terms) or len(self.redflag_scale) != len(self.redflag_names):
            raise ValueError("idf or red-flag scales do not match their columns")

    # --- from scikit-learn ----------------------------------------------------------------

    @classmethod
    def from_estimator(cls, model: Any) -> FlatModel | None:
        """The flat form of a fitted ``pipeline.model.build_model``, or None for a model it
        cannot express (character n-grams, another vectoriser or calibration, ...)."""
        from pipeline.features import MetaFeatures, RedFlagFeatures, WordAnalyzer

        calibrated = getattr(model, "calibrated_classifiers_", None)
        if (
            getattr(model, "method", None) != "sigmoid"
            or not calibrated
            or len(calibrated) != 1
            or len(calibrated[0].calibrators) != 1
            or list(getattr(model, "classes_", [])) != [0, 1]
        ):
            return None
        base = calibrated[0].estimator
        steps = getattr(base, "named_steps", {})
        features, clf = steps.get("features"), steps.get("clf")
        if (
            list(steps) != ["features", "clf"]
            or type(clf).__name__ != "LogisticRegression"
            or getattr(clf, "coef_", np.zeros((2, 0))).shape[0] != 1
            or not getattr(features, "sparse_output_", False)
        ):
            return None
        weights = features.transformer_weights or {}
        branches, fields = [], {}
        for name, transformer, columns in features.transformers_:
            if transformer == "drop":
                continue
            if name == "words" and columns == "text":
                vocabulary = getattr(transformer, "vocabulary_", None)
                tfidf = getattr(transformer, "_tfidf", None)
                if (
                    type(transformer).__name__ != "TfidfVectorizer"
                    or type(transformer.analyzer) is not WordAnalyzer
                    or transformer.input != "content"
                    or transformer.binary
                    or not vocabulary
                    or tfidf is None
                    or not hasattr(tfidf, "idf_")
                    or tfidf.norm not in ("l2", None)
                    or any(term.count(" ") > 1 for term in vocabulary)
                ):
                    return None
                terms = [""] * len(vocabulary)
                for term, column in vocabulary.items():
                    terms[column] = term
                fields.update(
                    terms=terms,
                    idf=np.asarray(tfidf.idf_),
                    sublinear_tf=bool(tfidf.sublinear_tf),
                    norm=tfidf.norm,
                    tf_dtype=np.dtype(transformer.dtype).name,
                )
            elif name == "redflags" and type(transformer) is RedFlagFeatures:
                if transformer.column != "text":
                    return None
                fields.update(
                    redflag_names=list(transformer.feature_names_),
                    redflag_scale=np.asarray(transformer.scale_, dtype=float),
                )
            elif name == "meta" and type(transformer) is MetaFeatures and columns == META_COLUMNS:
                fields.update(
                    meta_include=list(transformer.include),
                    meta_names=list(transformer.feature_names_),
                )
            else:
                return None
            weight = weights.get(name)
            branches.append((name, None if weight is None else float(weight)))
        if not any(name == "words" for name, _ in branches):
            return None
        fields = {
            "terms": [],
            "idf": np.zeros(0),
            "sublinear_tf": False,
            "norm": None,
            "tf_dtype": "float64",
            "redflag_names": [],
            "redflag_scale": np.zeros(0),
            "meta_include": [],
            "meta_names": [],
            **fields,
        }
        calibrator = calibrated[0].calibrators[0]
        return cls(
            branches=branches,
            coef=np.asarray(clf.coef_, dtype=float).ravel(),
            intercept=float(clf.intercept_[0]),
            calibration=(float(calibrator.a_), float(calibrator.b_)),
            **fields,
        )

    # --- saving -----------------------------------------------------------------------------

    def to_json(self) -> str:
        """Deterministic JSON (floats written exactly: they read back to the same bits)."""
        return json.dumps(
            {
                "format": FORMAT,
                "branches": self.branches,
                "terms": self.terms,
                "idf": self.idf.tolist(),
                "idf_dtype": self.idf.dtype.name,
                "sublinear_tf": self.sublinear_tf,
                "norm": self.norm,
                "tf_dtype": self.tf_dtype,
                "redflag_names": self.redflag_names,
                "redflag_scale": self.redflag_scale.tolist(),
                "meta_include": self.meta_include,
                "meta_names": self.meta_names,
                "coef": self.coef.tolist(),
                "intercept": self.intercept,
                "calibration": list(self.calibration),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> FlatModel:
        """Read :meth:`to_json`; raises ``ValueError`` (or ``KeyError``, ``TypeError``) for a
        file of another format or a broken one."""
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"flat model format {data.get('format')!r}, expected {FORMAT}")
        return cls(
            branches=[
                (str(name), None if w is None else float(w)) for name, w in data["branches"]
            ],
            terms=list(data["terms"]),
            idf=np.asarray(data["idf"], dtype=data["idf_dtype"]),
            sublinear_tf=bool(data["sublinear_tf"]),
            norm=data["norm"],
            tf_dtype=str(np.dtype(data["tf_dtype"])),
            redflag_names=list(data["redflag_names"]),
            redflag_scale=np.asarray(data["redflag_scale"], dtype=float),
            meta_include=list(data["meta_include"]),
            meta_names=list(data["meta_names"]),
            coef=np.asarray(data["coef"], dtype=float),
            intercept=float(data["intercept"]),
            calibration=(float(data["calibration"][0]), float(data["calibration"][1])),
        )

    # --- scoring ----------------------------------------------------------------------------

    def transform(self, columns: Any, assessments: Sequence[Any] | None = None) -> Rows:
        """The feature matrix of the model's input ``columns`` (``featurize.ads_to_columns``
        or a frame): the same entries, in the same order and dtype, as the fitted
        ``ColumnTransformer`` makes. ``assessments`` are the texts' ``redflags.assess``
        results, if the caller has them already."""
        texts = as_texts(columns["text"])
        n = len(texts)
        rows, cols, values = [], [], []
        for name, weight in self.branches:
            offset = self.offsets[name]
            if name == "words":
                indptr, indices, data = self._tfidf(texts)
                rows.append(np.repeat(np.arange(n), np.diff(indptr)))
                cols.append(indices + offset)
                values.append(data.astype(float) if weight is None else data * weight)
                continue
            if name == "redflags":
                values_now = redflag_values(texts, assessments)
                block = align_columns(values_now, redflag_names(), self.redflag_names)
                block = block / self.redflag_scale
            else:
                block = meta_matrix(columns, self.meta_include)
            if weight is not None:
                block = block * weight
            row, col = np.nonzero(block)  # row by row, as scipy.sparse stores a dense block
            rows.append(row)
            cols.append(col + offset)
            values.append(block[row, col])
        row = np.concatenate(rows)
        order = np.argsort(row, kind="stable")  # each row: the branches' entries in order
        indptr = np.searchsorted(row[order], np.arange(n + 1)).astype(np.int32)
        return Rows(
            np.concatenate(values)[order],
            np.concatenate(cols)[order].astype(np.int32),
            indptr,
            len(self.names),
        )

    def _tfidf(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``TfidfTransformer.transform`` of the word counts, the same operations in the same
        order and precision (l2 norm: squares in the data's precision summed in double, row by
        row, as scikit-learn's ``inplace_csr_row_normalize_l2`` does)."""
        indptr, indices, counts = self.words.counts(texts)
        data = counts.astype(self.tf_dtype)
        if self.sublinear_tf:
            np.log(data, data)
            data += 1.0
        data *= self.idf[indices]
        if self.norm == "l2" and len(data):
            rows = np.repeat(np.arange(len(texts)), np.diff(indptr))
            norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=len(texts)))
            norms[norms == 0.0] = 1.0
            data = (data / norms[rows]).astype(data.dtype)
        return indptr, indices, data

    def decision(self, X: Rows) -> np.ndarray:
        """The logistic regression's decision values (log-odds before calibration)."""
        n = len(X.indptr) - 1
        rows = np.repeat(np.arange(n), np.diff(X.indptr))
        # Summed in order, row by row, in double: what scipy's sparse matrix-vector product does.
        return (
            np.bincount(rows, weights=X.data * self.coef[X.indices], minlength=n) + self.intercept
        )

    def probabilities(self, decision: np.ndarray) -> np.ndarray:
        """The calibrated probabilities of ``decision`` values."""
        a, b = self.calibration
        # exp from the C library (math.exp), as scipy's expit uses: numpy's own vectorised
        # exp can differ in the last bit, and then so would the probabilities.
        # (Capped where exp overflows: the probability there is 0 to double precision.)
        z = np.minimum(a * decision + b, 709.0).tolist()
        exp = np.fromiter(map(math.exp, z), float, len(z))
        return np.clip(1.0 / (1.0 + exp), 0.0, 1.0)

    def explain(
        self, X: Rows, top_terms: int = 8, top_features: int = 6
    ) -> list[dict[str, list[list[Any]]]]:
        """:func:`explain` for a matrix :meth:`transform` made."""
        contributions = X._replace(data=X.data * self.coef[X.indices])
        return explain(contributions, self.names, self.is_term, top_terms, top_features)


def explain(
    contributions: Rows,
    names: list[str],
    is_term: np.ndarray,
    top_terms: int = 8,
    top_features: int = 6,
) -> list[dict[str, list[list[Any]]]]:
    """Per row: the terms and the red-flag/metadata features that moved its score most.

    ``contributions`` holds weight × feature value for every entry of a feature matrix, in
    log-odds before calibration (exact for a linear model), each row's columns sorted and
    distinct. Both lists are ordered by magnitude and keep the sign: positive pushes towards
    review, negative away; ties keep column order. Contributions under
    :data:`MIN_CONTRIBUTION` are left out.
    """
    n = len(contributions.indptr) - 1
    values, columns = contributions.data, contributions.indices
    rows = np.repeat(np.arange(n), np.diff(contributions.indptr))
    keep = np.abs(values) >= MIN_CONTRIBUTION
    values, columns, rows = values[keep], columns[keep], rows[keep]
    # All rows at once: group 2i holds row i's terms, 2i + 1 its other features; one sort
    # puts the groups in order, each by magnitude, and the first few of each are kept.
    group = 2 * rows + ~is_term[columns]
    order = _lexsort(-np.abs(values), group)
    values, columns, group = values[order], columns[order], group[order]
    rank = np.arange(len(group)) - np.searchsorted(group, group)
    chosen = rank < np.where(group % 2, top_features, top_terms)
    chosen_names = map(names.__getitem__, columns[chosen].tolist())
    weights = round_4(values[chosen])
    entries = [[name, weight] for name, weight in zip(chosen_names, weights, strict=True)]
    bounds = np.searchsorted(group[chosen], np.arange(2 * n + 1)).tolist()
    return [
        {
            "terms": entries[bounds[2 * i] : bounds[2 * i + 1]],
            "features": entries[bounds[2 * i + 1] : bounds[2 * i + 2]],
        }
        for i in range(n)
    ]


def _lexsort(minor: np.ndarray, major: np.ndarray) -> np.ndarray:
    """``np.lexsort((minor, major))`` for a non-negative integer ``major``: the order by major,
    then minor, ties kept in place. Two stable sorts, by minor and then by major, the second a
    radix sort when major fits in 16 bits (as a chunk's row groups do): several times faster."""
    order = np.argsort(minor, kind="stable")
    major = major[order]
    if len(major) and int(major.max()) < 2**16:
        major = major.astype(np.uint16)
    return order[np.argsort(major, kind="stable")]


def round_4(values: np.ndarray) -> list[float]:
    """``[round(v, 4) for v in values]``, the same floats, computed for all values at once.

    ``rint(v * 1e4) / 1e4`` is what ``round`` gives (the double nearest to the decimal rounded
    half to even) unless ``v * 1e4`` lies within its rounding error of a half, where the
    product may have crossed it: those few values, and any too large for the check, are
    rounded by ``round`` itself. ``round`` with digits is slow (a decimal conversion each).
    """
    scaled = values * 1e4
    nearest = np.rint(scaled)
    out = (nearest / 1e4).tolist()
    with np.errstate(invalid="ignore"):  # inf - inf: not finite, so doubtful anyway
        doubtful = (np.abs(np.abs(scaled - nearest) - 0.5) < 1e-6) | ~(np.abs(scaled) < 1e9)
    for i in np.flatnonzero(doubtful).tolist():
        out[i] = round(float(values[i]), 4)
    return out
