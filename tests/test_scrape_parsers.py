"""Parser tests in the recipe-scrapers style: stored pages beside their expected JSON.

Every ``tests/scraper_pages/<kind>/<case>.json`` names the page URL (or file URI), the source
options and the expected records; the page is the sibling file with the same stem. One test
is generated per pair, so adding a case is adding two files.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from scrapers.parse.files import parse_file
from scrapers.parse.jsonld import parse_jobpostings
from scrapers.parse.listing import parse_detail, parse_listing
from scrapers.parse.rss import parse_feed
from scrapers.parse.telegram import parse_channel

PAGES = Path(__file__).parent / "scraper_pages"
CASES = sorted(PAGES.glob("*/*.json"))


def _page_of(case: Path) -> Path:
    (page,) = [p for p in case.parent.glob(case.stem + ".*") if p.suffix != ".json"]
    return page


def _parse(kind: str, data: bytes, spec: dict[str, Any]) -> Any:
    options = spec.get("options", {})
    if kind == "jsonld":
        return parse_jobpostings(data, spec["url"])
    if kind == "listing":
        if spec.get("mode") == "listing":
            return dataclasses.asdict(parse_listing(data, spec["url"], options))
        return parse_detail(data, spec["url"], options)
    if kind == "rss":
        return parse_feed(data, spec["url"])
    if kind == "telegram":
        return dataclasses.asdict(parse_channel(data, spec["url"]))
    if kind == "files":
        return parse_file(data, spec["uri"], spec["format"], "pages", options)
    raise AssertionError(f"no parser for kind {kind}")


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.stem}" for c in CASES])
def test_stored_page_parses_to_expected_json(case: Path) -> None:
    spec = json.loads(case.read_text(encoding="utf-8"))
    got = _parse(case.parent.name, _page_of(case).read_bytes(), spec)
    assert got == spec["expected"]


def test_every_source_kind_has_stored_pages() -> None:
    assert {c.parent.name for c in CASES} >= {"jsonld", "listing", "rss", "telegram", "files"}


def test_parsers_never_raise_on_garbage() -> None:
    garbage = [b"", b"\x00\xff\xfe" * 100, b"<" * 5000, b"<html><body>" + b"<div>" * 3000]
    for data in garbage:
        parse_jobpostings(data, "http://x.example/")
        parse_detail(data, "http://x.example/", {"fields": {"title": "h1"}})
        parse_listing(data, "http://x.example/", {"detail_link": "a"})
        parse_feed(data, "http://x.example/")
        parse_channel(data, "http://x.example/")
