"""The Indonesian phone fast path returns exactly what the full phonenumbers path returns."""

from __future__ import annotations

import json
import random
from pathlib import Path

from pipeline import extract as X

DATA = Path(__file__).parents[1] / "data"
PREFIXES = ("0", "62", "+62", "0062", "+855", "+60")


def _sample() -> list[str]:
    """Digit strings for every prefix, 7 to 16 digits in all (and a few beyond), each digit
    after the prefix (an "8" or a "0" there changes the rules) followed by random digits."""
    rng = random.Random(20261128)
    out = []
    for prefix in PREFIXES:
        n_prefix = len(prefix.lstrip("+"))
        for total in range(5, 19):
            for first in "0123456789":
                for _ in range(50):
                    rest = "".join(rng.choices("0123456789", k=max(0, total - n_prefix - 1)))
                    out.append(prefix + first + rest)
    # digits other than ASCII ones (what \d also matches) take the full path
    out += ["０８１２３４５６７８９０", "٠٨١٢٣٤٥٦٧٨٩٠", "+٦٢٨١٢٣٤٥٦٧٨٩", "+62٨١٢٣٤٥٦٧٨٩"]
    out += ["+", "+6", "+62", "+620", "0", "00", "0062", "62", "628", "+6281"]
    return out


def _candidates_in_data() -> list[str]:
    """Every string the extractor hands to _parse_phone on the seed ads and the demo site."""
    texts = []
    for path in sorted((DATA / "seed").glob("*.jsonl")) + [DATA / "demo_site" / "ads.jsonl"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts.append("\n".join(v for v in record.values() if isinstance(v, str)))
    seen: list[str] = []
    real = X._parse_phone

    def recording(digits: str):
        seen.append(digits)
        return real(digits)

    X._parse_phone = recording
    try:
        for text in texts:
            X.extract(text)
    finally:
        X._parse_phone = real
    return seen


def _differences(candidates: list[str]) -> tuple[list[tuple[str, object, object]], int]:
    bad, handled = [], 0
    for digits in candidates:
        full = X._parse_phone_full(digits)
        fast = X._parse_id_phone(digits)
        if fast is not X._UNHANDLED:
            handled += 1
            if fast != full:
                bad.append((digits, fast, full))
        if X._parse_phone.__wrapped__(digits) != full:
            bad.append((digits, "_parse_phone", full))
    return bad, handled


def test_fast_path_equals_full_path_on_random_numbers():
    sample = _sample()
    bad, handled = _differences(sample)
    assert bad == []
    assert len(sample) > 40_000 and handled > len(sample) // 3


def test_fast_path_equals_full_path_on_numbers_in_the_data():
    candidates = _candidates_in_data()
    bad, handled = _differences(candidates)
    assert bad == []
    # the point of the fast path: nearly every number in an Indonesian ad takes it
    assert len(candidates) > 100 and handled > 0.8 * len(candidates)


def test_phone_matches_equal_the_combined_pattern():
    """_phone_matches (one pattern per prefix) finds what _PHONE_RE.finditer finds, also where
    the prefixes overlap ("+62 0812", "+60 12-345 6789") or a number runs into another."""
    rng = random.Random(20260509)
    pieces = ["+", "+62", "62", "0", "08", "0812", "6", "345", "6789", " ", "   ", ".", "-", "("]
    pieces += [")", "a", "\n", "٣", "00", "+60", "+ 62", "1234567890123"]
    texts = ["".join(rng.choices(pieces, k=rng.randint(1, 25))) for _ in range(20_000)]
    texts += ["+62 0812 3456 7890", "10 0812 3456 789", "+60 12-345 6789 / 0812-3456-7890"]
    for text in texts:
        want = [m.span() for m in X._PHONE_RE.finditer(text)]
        assert [m.span() for m in X._phone_matches(text)] == want, text
