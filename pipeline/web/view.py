"""Presentation helpers: turn store rows into plain values the templates can show safely.

Scraped text is hostile. Nothing here produces markup: the highlighted ad text is a list of
``Segment`` values, and the template escapes every one of them (autoescape is on). Offsets
that come with the flags are clamped to the text, so a wrong or hostile span cannot break the
page or reach past the end of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

#: How much of an ad the triage page shows; the rest is cut with a visible note.
MAX_SHOWN_CHARS = 20_000
#: How many model terms the triage page lists.
TOP_TERMS = 10

# Score bands from redflags.md §8.3 (Indonesian labels) plus English spellings.
_BANDS = (
    ("high", ("prioritas", "tinggi", "high", "critical", "urgent")),
    ("review", ("tinjau", "review", "medium")),
    ("watch", ("pantau", "watch", "monitor")),
    ("low", ("rendah", "low")),
)
# Weight tiers from redflags.md §6: C critical, H high, M medium, L low, X context.
_SEVERITIES = {
    "c": "critical",
    "critical": "critical",
    "h": "high",
    "high": "high",
    "m": "medium",
    "medium": "medium",
    "l": "low",
    "low": "low",
    "x": "context",
    "context": "context",
}


@dataclass(frozen=True)
class Segment:
    """A piece of the ad text; ``flags`` names the flags whose evidence covers it."""

    text: str
    flags: tuple[str, ...] = ()

    @property
    def highlighted(self) -> bool:
        return bool(self.flags)


@dataclass(frozen=True)
class ShownText:
    segments: list[Segment]
    truncated: bool
    total_chars: int
    shown_chars: int


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def flag_spans(flag: dict[str, Any], text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of a flag's evidence in ``text``, clamped and validated.

    Spans come from the rules; when a flag has none (or only broken ones) its evidence string
    is looked up in the text instead, so the reviewer still sees where it is.
    """
    out: list[tuple[int, int]] = []
    raw = flag.get("spans") or []
    if isinstance(raw, list):
        for span in raw[:200]:  # a hostile or buggy flag cannot make us loop for long
            if not isinstance(span, list | tuple) or len(span) != 2:
                continue
            start, end = _as_int(span[0]), _as_int(span[1])
            if start is None or end is None:
                continue
            start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
            if end > start:
                out.append((start, end))
    evidence = flag.get("evidence")
    if not out and isinstance(evidence, str) and evidence.strip():
        match = re.search(re.escape(evidence.strip()[:500]), text, flags=re.IGNORECASE)
        if match:
            out.append(match.span())
    return out


def highlight(text: str, flags: list[dict[str, Any]], limit: int = MAX_SHOWN_CHARS) -> ShownText:
    """Split ``text`` (cut at ``limit`` characters) into segments marked by flag evidence."""
    text = text or ""
    shown = text[:limit]
    covers: list[tuple[int, int, str]] = []
    for flag in flags:
        if not isinstance(flag, dict):
            continue
        name = str(flag.get("id") or "?")
        for start, end in flag_spans(flag, text):
            start, end = min(start, len(shown)), min(end, len(shown))
            if end > start:
                covers.append((start, end, name))
    # Cut the text at every span edge; each piece is covered by a fixed set of flags.
    edges = sorted({0, len(shown), *(s for s, _, _ in covers), *(e for _, e, _ in covers)})
    segments: list[Segment] = []
    for start, end in zip(edges, edges[1:], strict=False):
        names = tuple(sorted({n for s, e, n in covers if s <= start and end <= e}))
        piece = shown[start:end]
        if segments and segments[-1].flags == names:
            segments[-1] = Segment(segments[-1].text + piece, names)
        else:
            segments.append(Segment(piece, names))
    return ShownText(segments, len(text) > limit, len(text), len(shown))


def band_class(band: str | None) -> str:
    """A CSS class for a score band ("Prioritas tinggi" -> "high")."""
    value = (band or "").lower()
    for name, words in _BANDS:
        if any(w in value for w in words):
            return name
    return "none"


def severity_class(severity: Any) -> str:
    return _SEVERITIES.get(str(severity or "").strip().lower(), "other")


def percent(value: Any) -> int | None:
    """A probability (0..1) or points score (0..100) as a whole percentage, else None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number:  # NaN
        return None
    if number <= 1.0:
        number *= 100
    return int(round(max(0.0, min(number, 100.0))))


def width_class(value: Any) -> str:
    """A CSS width class in steps of 5 % (inline styles are blocked by our CSP)."""
    pct = percent(value) or 0
    return f"w{5 * round(pct / 5)}"


def flag_view(flag: dict[str, Any]) -> dict[str, Any]:
    """One fired flag as the template shows it (all values plain strings, escaped later)."""
    mitigating = bool(flag.get("mitigating"))
    status = str(flag.get("status") or "")
    if mitigating and status.lower() != "verified":
        status = "claimed, unverified"
    evidence = flag.get("evidence")
    if isinstance(evidence, list):
        evidence = " … ".join(str(e) for e in evidence[:5])
    return {
        "id": str(flag.get("id") or "?"),
        "family": str(flag.get("family") or ""),
        "severity": str(flag.get("severity") or ""),
        "severity_class": "mitigating" if mitigating else severity_class(flag.get("severity")),
        "description": str(flag.get("description") or ""),
        "evidence": str(evidence or "")[:500],
        "mitigating": mitigating,
        "status": status,
    }


def flags_view(flags: Any) -> list[dict[str, Any]]:
    """Fired flags, risk flags first (most severe first), mitigating ones last."""
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "context": 4, "other": 5}
    views = [flag_view(f) for f in (flags or []) if isinstance(f, dict)]
    return sorted(views, key=lambda v: (v["mitigating"], order.get(v["severity_class"], 9)))


def terms_view(explanation: dict[str, Any], limit: int = TOP_TERMS) -> list[dict[str, Any]]:
    """The model's top terms as (term, weight, direction); malformed entries are dropped."""
    out = []
    for item in (explanation or {}).get("terms") or []:
        if not isinstance(item, list | tuple) or len(item) != 2:
            continue
        try:
            weight = float(item[1])
        except (TypeError, ValueError):
            continue
        out.append({"term": str(item[0])[:80], "weight": weight, "up": weight >= 0})
    out.sort(key=lambda t: -abs(t["weight"]))
    return out[:limit]


def features_view(explanation: dict[str, Any], limit: int = TOP_TERMS) -> list[str]:
    """Other model features, each as one short line of text."""
    lines = []
    for item in (explanation or {}).get("features") or []:
        if isinstance(item, list | tuple) and len(item) == 2:
            try:
                lines.append(f"{item[0]} ({float(item[1]):+.2f})")
                continue
            except (TypeError, ValueError):
                pass
        if isinstance(item, dict):
            lines.append(", ".join(f"{k}: {v}" for k, v in list(item.items())[:4]))
        else:
            lines.append(str(item))
    return [line[:120] for line in lines[:limit]]


#: Combination patterns (redflags.md §8.2): what each means and the law it points to, so a
#: reviewer sees the legal anchor next to the evidence (§12 "Reviewer UX").
PATTERNS = {
    "P1_scam_compound": ("Scam-compound recruitment", "UU 21/2007 (TPPO)"),
    "P2_nonprocedural_placement": (
        "Placement outside the licensed channel",
        "UU 18/2017 Pasal 69 and 81",
    ),
    "P3_debt_bondage": ("Debt bondage", "UU 21/2007 Pasal 1 (penjeratan utang)"),
    "P4_middle_east_domestic": (
        "Household work in a moratorium country",
        "Kepmenaker 260/2015; UU 18/2017 Pasal 13",
    ),
    "P5_malaysia_backdoor": ("Irregular route to Malaysia", "UU 18/2017; UU 6/2011 Pasal 113"),
    "P6_underage": ("Recruits under-18s", "UU 18/2017 Pasal 5 and 80"),
    "P7_fee_fraud": ("Fee fraud, no real departure", "fraud; report via IASC / cekrekening.id"),
}


def patterns_view(explanation: dict[str, Any]) -> list[dict[str, str]]:
    """Fired combination patterns with their meaning and legal anchor (unknown ids kept)."""
    out = []
    for pattern in (explanation or {}).get("patterns") or []:
        title, law = PATTERNS.get(str(pattern), (str(pattern), ""))
        out.append({"id": str(pattern), "title": title, "law": law})
    return out


#: The three per-category scores, in the order the page shows them.
SCORE_NAMES = (("tppo", "TPPO"), ("nonprocedural", "Non-procedural"), ("fee_fraud", "Fee fraud"))


def scores_view(scores: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, label in SCORE_NAMES:
        value = (scores or {}).get(key)
        out.append(
            {"key": key, "label": label, "percent": percent(value), "width": width_class(value)}
        )
    return out
