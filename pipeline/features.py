"""Features of an ad for the classifier: the frame, text normalisation, red flags, metadata.

The model's input is a ``pandas.DataFrame`` built by :func:`ads_to_frame` (one row per ad,
the columns in :data:`FRAME_COLUMNS`). The transformers here follow the scikit-learn estimator
contract and live at module level, so a fitted pipeline pickles with joblib and loads again
wherever ``pipeline`` is importable (no lambdas, no notebook functions).
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from pipeline.ad import Ad

#: Text-valued columns of the model frame ("" when the source does not have the field).
TEXT_COLUMNS = (
    "text",
    "title",
    "company",
    "salary",
    "location",
    "contact",
    "company_profile",
    "requirements",
    "benefits",
)
#: EMSCAD's 0/1 metadata; NaN when the source does not say.
FLAG_COLUMNS = ("has_company_logo", "has_questions", "telecommuting")
FRAME_COLUMNS = TEXT_COLUMNS + FLAG_COLUMNS

# EMSCAD anonymised contacts as "#URL_<hash>#"; each hash would be its own useless token.
_ANON = re.compile(r"#(URL|EMAIL|PHONE)_[0-9a-f]+#", re.IGNORECASE)
# EMSCAD lost the spaces between sentences ("our teamWe are"): split at lower→Upper seams.
# The match starts at the capital, so the engine skips ahead to capitals instead of trying
# a lookbehind at every position (twice as fast; a space is put back before the capital).
_RUN_ON = re.compile(r"[A-Z](?<=[a-z][A-Z])(?=[a-z])")


def _repair(text: str) -> str:
    """HTML entities decoded, EMSCAD's anonymised contacts made one token each."""
    if "&" in text:
        text = html.unescape(text)
    if "#" in text:
        text = _ANON.sub(lambda m: f" {m.group(1).lower()}token ", text)
    return text


def normalise_text(text: str) -> str:
    """Lower-cased text with HTML entities decoded and EMSCAD's artefacts repaired.

    Used as the vectorisers' ``preprocessor`` (a module-level function, so it pickles).

    >>> normalise_text("Call #PHONE_ab12#now&amp;teamWe pay")
    'call  phonetoken now&team we pay'
    """
    return _RUN_ON.sub(r" \g<0>", _repair(text)).lower()


# scikit-learn's default token pattern: words of two or more letters or digits.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
# For ``word_runs``: the ASCII bytes (deleted to see the other characters); ASCII word
# characters lower-cased and every other byte a space; and the bytes as "a" (small letter),
# "A" (capital) or " ", to look for run-on seams cheaply.
_ASCII = bytes(range(128))
_ASCII_WORD_BYTES = bytes(
    ord(chr(c).lower()) if c < 128 and (chr(c).isalnum() or c == 95) else 32 for c in range(256)
)
_LETTER_CASE = bytes(97 if 97 <= c <= 122 else 65 if 65 <= c <= 90 else 32 for c in range(256))
# Tokenised texts, kept only while training (see ``token_cache``): cross-validation fits the
# vectoriser dozens of times on the same texts, and tokenising is most of its cost.
_TOKENS: dict[str, list[str]] = {}
_TOKENS_LIMIT = [0]


def word_runs(text: str) -> list[str]:
    """The tokens of ``normalise_text(text)`` (what :data:`_TOKEN` finds there) in order,
    possibly with single ASCII word characters between them, which are not tokens: callers
    drop them (cheaper there than here).

    When all word characters of the text are ASCII (nearly always), this works on its UTF-8
    bytes (translations, an ASCII lower-casing and a split), several times faster than
    normalising and tokenising the string.

    >>> word_runs("Gaji 15JT/bln – a_b c teamWe")
    ['gaji', '15jt', 'bln', 'a_b', 'c', 'team', 'we']
    >>> word_runs("𝐁𝐄𝐊𝐀𝐒𝐈 x Café")
    ['𝐁𝐄𝐊𝐀𝐒𝐈', 'café']
    """
    text = _repair(text)
    raw = text.encode("utf-8", "surrogatepass")
    if not text.isascii():
        others = raw.translate(None, _ASCII).decode("utf-8", "surrogatepass")
        if any(map(str.isalnum, set(others))):
            return _TOKEN.findall(_RUN_ON.sub(r" \g<0>", text).lower())
    # No non-ASCII character is a word character, and none lower-cases to one or to ASCII
    # (true of every code point), so each one (all its UTF-8 bytes, or a lone surrogate's)
    # separates words just as ASCII punctuation does, before and after lower-casing.
    # The run-on seams (see _RUN_ON), found by bytes.find: much faster than the regex here.
    cased = raw.translate(_LETTER_CASE)
    raw = raw.translate(_ASCII_WORD_BYTES)
    seam = cased.find(b"aAa")
    if seam >= 0:
        parts, start = [], 0
        while seam >= 0:
            parts.append(raw[start : seam + 1])
            start = seam + 1
            seam = cased.find(b"aAa", start)
        parts.append(raw[start:])
        raw = b" ".join(parts)
    return raw.decode("ascii").split()


def word_ngrams(text: str) -> list[str]:
    """Word 1- and 2-grams of the normalised text (what ``ngram_range=(1, 2)`` gives)."""
    tokens = [w for w in word_runs(text) if len(w) > 1]
    return tokens + list(map(" ".join, zip(tokens, tokens[1:], strict=False)))


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


def _field(ad: Ad, name: str) -> Any:
    value = getattr(ad, name, None) if name in Ad.__dataclass_fields__ else None
    if value is None:
        value = ad.extra.get(name)
    return value


def _flag(value: Any) -> float:
    """EMSCAD 0/1 flags arrive as ints, strings or bools; anything else means unknown."""
    if value is None or value == "":
        return math.nan
    if isinstance(value, bool):
        return float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        text = str(value).strip().lower()
        return (
            1.0
            if text in ("true", "yes", "t", "y")
            else 0.0
            if text in ("false", "no")
            else math.nan
        )
    return 1.0 if number > 0 else 0.0 if number == 0 else math.nan


def ads_to_frame(ads: Sequence[Ad]) -> pd.DataFrame:
    """The model's input: one row per ad, columns :data:`FRAME_COLUMNS`.

    Text fields the source does not have are "" (but an EMSCAD field that exists and is empty
    stays distinguishable from an absent one through ``None`` → NaN for the 0/1 flags).
    """
    columns: dict[str, Any] = {"text": [ad.text for ad in ads]}
    for name in TEXT_COLUMNS[1:]:
        columns[name] = [None if (v := _field(ad, name)) is None else str(v) for ad in ads]
    for name in FLAG_COLUMNS:
        columns[name] = np.array([_flag(_field(ad, name)) for ad in ads], dtype=float)
    return pd.DataFrame(columns, columns=list(FRAME_COLUMNS))


def _column(X: Any, name: str = "text") -> list[str]:
    """The text column of a frame, or the values of a 1-D array / list, as strings."""
    if isinstance(X, pd.DataFrame):
        values = X[name].tolist() if name in X.columns else X.iloc[:, 0].tolist()
    elif isinstance(X, pd.Series):
        values = X.tolist()
    else:
        array = np.asarray(X, dtype=object)
        values = (array[:, 0] if array.ndim == 2 else array).tolist()
    return [
        "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values
    ]


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


@lru_cache(maxsize=2048)
def assess_cached(text: str):
    """``redflags.assess`` memoised: scoring needs the assessment for both the features and
    the evidence shown to reviewers (scoring works in chunks smaller than the cache)."""
    from pipeline import redflags

    return redflags.assess(text)


# Red-flag vectors by text. Repeated cross-validation transforms the same texts many times,
# and training primes this cache once (in parallel) for every worker; bounded for memory.
_VECTORS: dict[str, np.ndarray] = {}
_VECTORS_MAX = 20_000


def _redflag_vector(text: str) -> np.ndarray:
    vector = _VECTORS.get(text)
    if vector is None:
        from pipeline import redflags

        vector = np.asarray(redflags.feature_vector(assess_cached(text)), dtype=float)
        if len(_VECTORS) >= _VECTORS_MAX:
            _VECTORS.clear()
        _VECTORS[text] = vector
    return vector


def redflag_matrix(texts: Sequence[str]) -> np.ndarray:
    """The raw red-flag vectors of ``texts`` (rows in order), through the cache."""
    from pipeline import redflags

    if not texts:
        return np.zeros((0, len(redflags.feature_names())))
    return np.vstack([_redflag_vector(t) for t in texts])


def prime_redflag_cache(texts: Sequence[str], matrix: np.ndarray) -> None:
    """Fill the cache with vectors computed elsewhere (e.g. once, before cross-validation)."""
    if len(texts) > _VECTORS_MAX:
        return
    if len(_VECTORS) + len(texts) > _VECTORS_MAX:
        _VECTORS.clear()
    _VECTORS.update(zip(texts, matrix, strict=True))


def redflag_block(transformer: RedFlagFeatures, texts: list[str]) -> np.ndarray:
    """``transformer.transform(texts)``; for the scoring fast path, without the cache of
    vectors (scoring sees each text once) unless the rules changed since training."""
    from pipeline import redflags

    if transformer.feature_names_ != [f"rf_{name}" for name in redflags.feature_names()]:
        return transformer.transform(texts)
    vectors = [redflags.feature_vector(assess_cached(text)) for text in texts]
    return np.array(vectors, dtype=float) / transformer.scale_


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
        self.feature_names_ = [f"rf_{name}" for name in redflags.feature_names()]
        self.rules_version_ = str(redflags.RULES_VERSION)
        self.n_features_in_ = _n_columns(X)
        return self

    def transform(self, X: Any) -> np.ndarray:
        from pipeline import redflags

        check_is_fitted(self, "scale_")
        _check_input(self, X, fitting=False)
        matrix = self._vectors(X)
        now = [f"rf_{name}" for name in redflags.feature_names()]
        if now != self.feature_names_:
            # The rules changed since training: keep the trained columns by name; a rule the
            # model never saw is ignored, a rule that no longer exists reads as "did not fire".
            index = {name: i for i, name in enumerate(now)}
            aligned = np.zeros((matrix.shape[0], len(self.feature_names_)))
            for j, name in enumerate(self.feature_names_):
                if name in index:
                    aligned[:, j] = matrix[:, index[name]]
            matrix = aligned
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


# --- metadata -----------------------------------------------------------------------------

_CONTACTS = {
    "whatsapp": re.compile(r"wa\.me|whats\s?app|\bwa\b|\bw\.a\b"),
    "telegram": re.compile(r"t\.me/|telegram|\btele\b|^@\w"),
    "email": re.compile(r"\w@[\w-]+\.\w|#email_|\be-?mail\b"),
    "phone": re.compile(r"\d{3}[\s.-]?\d{3,4}[\s.-]?\d{3,4}|#phone_"),
    "url": re.compile(r"https?://|www\.|#url_|\b[\w-]+\.(com|id|net|org|co)\b"),
}
#: Which cues to compute; all on by default (``MetaFeatures(include=...)`` to ablate).
META_GROUPS = ("flags", "missing", "contact", "shape")
_GROUP_NAMES = {
    "flags": [f"meta_{name}" for name in FLAG_COLUMNS]
    + [f"meta_{name}_unknown" for name in FLAG_COLUMNS],
    "missing": [
        "meta_no_company",
        "meta_no_company_profile",
        "meta_no_requirements",
        "meta_no_benefits",
        "meta_no_title",
        "meta_salary_field",
    ],
    "contact": [f"meta_contact_{kind}" for kind in _CONTACTS],
    "shape": ["meta_log_length", "meta_upper_share", "meta_exclamations", "meta_emoji"],
}
# Letters are counted in bytes translated to 1 for a capital, 2 for a small letter, not with
# per-character Python loops: scoring speed depends on it. Non-ASCII letters are not
# counted; this is a cue, not a measurement.
_LETTER_CLASS = bytes(1 if 65 <= c <= 90 else 2 if 97 <= c <= 122 else 0 for c in range(256))
_EMOJI = re.compile("[\U0001f000-\U0010ffff\u2600-\u27bf]")


def _absent(value: Any) -> bool:
    """The source does not have the field (pandas may hold None as NaN)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _is_empty(value: Any) -> bool:
    return (
        value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()
    )


def _shape(text: str) -> list[float]:
    classes = text.encode("utf-8", "ignore").translate(_LETTER_CLASS)
    upper = classes.count(1)
    letters = upper + classes.count(2)
    return [
        min(math.log1p(len(text)) / 10.0, 1.5),
        upper / letters if letters else 0.0,
        min(text.count("!") / 10.0, 1.0),
        min(len(_EMOJI.findall(text)) / 10.0, 1.0),
    ]


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
        self.feature_names_ = [
            n for g in META_GROUPS if g in self.include for n in _GROUP_NAMES[g]
        ]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        _check_input(self, X, fitting=False)
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame({"text": _column(X)})
        return meta_matrix(frame, self.include)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_")
        return np.asarray(self.feature_names_, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True  # missing metadata is information, not an error
        return tags


def meta_matrix(frame: pd.DataFrame, include: tuple[str, ...] = META_GROUPS) -> np.ndarray:
    """The metadata block of :class:`MetaFeatures` for ``frame`` (a column the frame lacks
    counts as absent), without the estimator checks: ``transform`` and the scoring fast path
    both use it. The shape cues are counted over all texts at once."""
    n = len(frame)

    def get(name: str) -> list[Any]:
        return frame[name].tolist() if name in frame.columns else [None] * n

    blocks: list[np.ndarray] = []
    if "flags" in include:
        flags = np.column_stack([np.asarray(get(c), dtype=float) for c in FLAG_COLUMNS])
        blocks += [np.nan_to_num(flags, nan=0.0), np.isnan(flags).astype(float)]
    if "missing" in include:
        missing = [
            list(map(_is_empty, get("company"))),
            *(
                [not _absent(v) and _is_empty(v) for v in get(c)]
                for c in ("company_profile", "requirements", "benefits")
            ),
            list(map(_is_empty, get("title"))),
            [not _is_empty(v) for v in get("salary")],
        ]
        blocks.append(np.array(missing, dtype=float).T.reshape(n, -1))
    if "contact" in include:
        kinds = np.zeros((n, len(_CONTACTS)))
        for i, value in enumerate(get("contact")):
            if not _is_empty(value):
                contact = str(value).lower()
                kinds[i] = [bool(p.search(contact)) for p in _CONTACTS.values()]
        blocks.append(kinds)
    if "shape" in include:
        blocks.append(_shape_matrix(_column(frame, "text")))
    return np.hstack(blocks) if blocks else np.zeros((n, 0))


def _shape_matrix(texts: list[str]) -> np.ndarray:
    """``[_shape(text) for text in texts]`` as an array, the letters and emoji counted in the
    UTF-8 bytes of all texts at once."""
    encoded = [text.encode("utf-8", "ignore") for text in texts]
    sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    starts = np.cumsum(sizes) - sizes
    raw = b"".join(encoded)
    classes = np.frombuffer(raw.translate(_LETTER_CLASS), dtype=np.uint8)
    data = np.frombuffer(raw, dtype=np.uint8)
    following = np.zeros_like(data)
    following[:-1] = data[1:]
    # The first byte of an emoji (_EMOJI): U+1F000.. is F0 9F..BF or F1..F4, U+2600..U+27BF
    # is E2 98..9E (never the last byte of a text: a UTF-8 sequence is complete).
    emoji = (
        ((data == 0xF0) & (following >= 0x9F))
        | ((data >= 0xF1) & (data <= 0xF4))
        | ((data == 0xE2) & (following >= 0x98) & (following <= 0x9E))
    )
    nonempty = sizes > 0  # np.add.reduceat would count an empty text's next byte

    def per_text(mask: np.ndarray) -> np.ndarray:
        counts = np.zeros(len(texts), dtype=np.int64)
        counts[nonempty] = np.add.reduceat(mask.view(np.uint8), starts[nonempty], dtype=np.int64)
        return counts

    upper = per_text(classes == 1)
    letters = upper + per_text(classes == 2)
    exclamations = np.fromiter(map(str.count, texts, repeat("!")), dtype=float, count=len(texts))
    return np.column_stack(
        [
            [min(math.log1p(size) / 10.0, 1.5) for size in map(len, texts)],
            np.divide(upper, letters, out=np.zeros(len(texts)), where=letters > 0),
            np.minimum(exclamations / 10.0, 1.0),
            np.minimum(per_text(emoji) / 10.0, 1.0),
        ]
    )
