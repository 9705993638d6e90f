"""Parse-only adapters: each turns ``(bytes_or_text, url)`` into ad records and never fetches.

A record is a plain dict in the interchange shape (``text``, ``url``, ``title``, ``company``,
``location``, ``salary``, ``posted_at``, ``contact`` plus kind-specific extras); the collector
adds the source name and the snapshot hash. Stored pages beside expected JSON test every
adapter (``tests/scraper_pages/<kind>/``).
"""

from __future__ import annotations

from typing import Any


def compact(record: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values so records compare cleanly and stay small."""
    return {k: v for k, v in record.items() if v not in (None, "", [], {})}


def join_text(*parts: str | None) -> str:
    """The ad text: its non-empty parts separated by blank lines, without repeats."""
    out: list[str] = []
    for part in parts:
        part = (part or "").strip()
        if not part or part in out:
            continue
        if out and part.startswith(out[-1]):
            out[-1] = part  # the body already opens with the title: keep it once
        else:
            out.append(part)
    return "\n\n".join(out)
