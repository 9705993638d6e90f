"""The features of an ad as plain values: no scikit-learn, no pandas.

What the classifier sees of an ad, computed here so that scoring with a flattened model
(``pipeline.flat_model``) needs neither library: the columns of the model's input
(:func:`ads_to_columns`), the word tokens (:func:`word_runs`), the red-flag values
(:func:`redflag_values`) and the metadata block (:func:`meta_matrix`). The scikit-learn
transformers in ``pipeline.features`` are thin estimator wrappers around the same functions.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import repeat
from typing import Any

import numpy as np

from pipeline import redflags
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
#: The columns the metadata transformer reads (all of them).
META_COLUMNS = list(FRAME_COLUMNS)

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


# --- the model's input ---------------------------------------------------------------


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


def ads_to_columns(ads: Sequence[Ad]) -> dict[str, Any]:
    """The model's input as columns (name → one value per ad), :data:`FRAME_COLUMNS` in order.

    Text fields the source does not have are None (but an EMSCAD field that exists and is
    empty stays distinguishable from an absent one); the 0/1 flags are floats, NaN when the
    source does not say.
    """
    columns: dict[str, Any] = {"text": [ad.text for ad in ads]}
    for name in TEXT_COLUMNS[1:]:
        columns[name] = [None if (v := _field(ad, name)) is None else str(v) for ad in ads]
    for name in FLAG_COLUMNS:
        columns[name] = np.array([_flag(_field(ad, name)) for ad in ads], dtype=float)
    return columns


def as_texts(values: Sequence[Any]) -> list[str]:
    """Values as strings, a missing one (None, or NaN as pandas holds it) as ""."""
    return ["" if _absent(v) else str(v) for v in values]


# --- red flags ----------------------------------------------------------------------------


@lru_cache(maxsize=2048)
def assess_cached(text: str):
    """``redflags.assess`` memoised: scoring needs the assessment for both the features and
    the evidence shown to reviewers (scoring works in chunks smaller than the cache)."""
    return redflags.assess(text)


def redflag_names() -> list[str]:
    """The red-flag feature names of the rules as they are now (``rf_<rule id>``)."""
    return [f"rf_{name}" for name in redflags.feature_names()]


def redflag_values(
    texts: Sequence[str], assessments: Sequence[redflags.Assessment] | None = None
) -> np.ndarray:
    """The raw red-flag vectors of ``texts`` (rows in order; columns :func:`redflag_names`),
    from their ``assessments`` when the caller has them."""
    if not texts:
        return np.zeros((0, len(redflags.feature_names())))
    if assessments is None:
        assessments = list(map(assess_cached, texts))
    return np.array(list(map(redflags.feature_vector, assessments)), dtype=float)


def align_columns(matrix: np.ndarray, names: list[str], trained: list[str]) -> np.ndarray:
    """``matrix`` (columns ``names``) with the columns a model was ``trained`` on, by name.

    The rules may change after training: a rule the model never saw is ignored, a rule that no
    longer exists reads as "did not fire"."""
    if names == trained:
        return matrix
    index = {name: i for i, name in enumerate(names)}
    aligned = np.zeros((matrix.shape[0], len(trained)))
    for j, name in enumerate(trained):
        if name in index:
            aligned[:, j] = matrix[:, index[name]]
    return aligned


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


def meta_names(include: Sequence[str] = META_GROUPS) -> list[str]:
    """The names of the metadata columns of the groups ``include``, in :func:`meta_matrix`'s
    order."""
    return [name for group in META_GROUPS if group in include for name in _GROUP_NAMES[group]]


def meta_matrix(columns: Mapping[str, Any], include: Sequence[str] = META_GROUPS) -> np.ndarray:
    """The metadata block for the model's input ``columns`` (a mapping of names to values, or
    a ``pandas.DataFrame``; a column it lacks counts as absent): ``MetaFeatures.transform`` and
    scoring both use it. The shape cues are counted over all texts at once."""
    n = len(columns["text"])

    def get(name: str) -> list[Any]:
        if name not in columns:
            return [None] * n
        values = columns[name]
        return values.tolist() if hasattr(values, "tolist") else list(values)

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
        blocks.append(_shape_matrix(as_texts(get("text"))))
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
