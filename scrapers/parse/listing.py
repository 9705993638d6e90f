"""Listing → detail HTML sites driven by CSS selectors from the source's TOML options.

Options (all optional except one of ``detail_link`` / ``item``)::

    detail_link = "a.job-link"          # links from a listing page to ad pages
    next_page = "a[rel=next]"           # the next listing page (default: rel=next links)
    page_param = "page"                 # or: pages by query parameter, page 2..max_pages
    item = "li.job"                     # ads shown on the listing itself (no detail page)
    fields = {title = "h1", text = ".description", posted_at = "time@datetime"}

A detail page is read from its schema.org JobPosting first; ``fields`` override only the
fields they name (``selector@attribute`` reads an attribute). A page with neither gives a
generic ad (title plus main text).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag

from scrapers.http import normalise_url
from scrapers.parse import compact, join_text
from scrapers.parse.jsonld import generic_record, parse_jobpostings
from scrapers.text import decode, element_text, parse_html, tidy

DEFAULT_NEXT = "a[rel~=next], link[rel~=next]"
_TEXT_FIELDS = ("text", "description")


@dataclass
class ListingPage:
    """What a listing page offers: detail links, the next page, and ads shown inline."""

    detail_urls: list[str] = field(default_factory=list)
    next_url: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)


def _soup(markup: str | bytes) -> BeautifulSoup:
    if isinstance(markup, bytes):
        markup, _ = decode(markup)
    return BeautifulSoup(markup, "lxml")


def _base(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    return normalise_url(str(base["href"]), url) if isinstance(base, Tag) else url


def _http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https", "file")


def parse_listing(markup: str | bytes, url: str, options: Mapping[str, Any]) -> ListingPage:
    """Detail links (in page order, without repeats), the next page and any inline items."""
    soup = _soup(markup)
    base = _base(soup, url)
    page = ListingPage()
    selector = options.get("detail_link")
    if selector:
        seen: set[str] = set()
        for link in soup.select(str(selector)):
            href = link.get("href") if isinstance(link, Tag) else None
            if not href:
                continue
            target = normalise_url(str(href), base)
            if _http(target) and target not in seen:
                seen.add(target)
                page.detail_urls.append(target)
    if options.get("item"):
        fields = dict(options.get("fields") or {})
        for element in soup.select(str(options["item"])):
            record = _fields_record(element, fields, base)
            link = record.pop("link", None)
            record["url"] = record.get("url") or (normalise_url(link, base) if link else url)
            if record.get("text"):
                page.items.append(record)
    if not options.get("page_param"):
        for link in soup.select(str(options.get("next_page") or DEFAULT_NEXT)):
            href = link.get("href") if isinstance(link, Tag) else None
            if href:
                target = normalise_url(str(href), base)
                if _http(target) and target != normalise_url(url):
                    page.next_url = target
                    break
    return page


def page_url(start_url: str, param: str, number: int) -> str:
    """``start_url`` with the query parameter ``param`` set to ``number``."""
    parts = urlsplit(start_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != param]
    query.append((param, str(number)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def parse_detail(
    markup: str | bytes, url: str, options: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Ads on a detail page: JobPosting data, with configured ``fields`` overriding it."""
    text, _ = decode(markup) if isinstance(markup, bytes) else (markup, None)
    tree = parse_html(text)
    records = parse_jobpostings(tree, url)
    fields = dict(options.get("fields") or {})
    if fields:
        soup = _soup(text)
        override = _fields_record(soup, fields, _base(soup, url))
        override.pop("link", None)
        override.pop("url", None)
        if not records:
            records = [compact({"url": url})]
        for record in records:
            record.update(override)
            if override.get("title") or override.get("text"):
                record["text"] = join_text(
                    record.get("title"), override.get("text") or record.get("text")
                )
    if not records:
        generic = generic_record(tree, url)
        records = [generic] if generic else []
    return [compact(r) for r in records if r.get("text")]


def _fields_record(root: Tag, fields: Mapping[str, str], base: str) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, spec in fields.items():
        selector, _, attr = str(spec).partition("@")
        found = root.select_one(selector) if selector else root
        if found is None:
            continue
        if attr:
            value = found.get(attr)
            value = " ".join(value) if isinstance(value, list) else (value or "")
            if attr in ("href", "src") and value:
                value = normalise_url(value, base)
        elif name in _TEXT_FIELDS:
            tree = parse_html(str(found))
            body = tree.find("body")
            value = element_text(body if body is not None else tree)
        else:
            value = tidy(found.get_text(" "))
        if value:
            record["text" if name == "description" else name] = value
    if record.get("text") or record.get("title"):
        record["text"] = join_text(record.get("title"), record.get("text"))
    return compact(record)
