"""schema.org ``JobPosting`` from JSON-LD and microdata, plus a generic page fallback.

Most job boards embed a JobPosting for search engines, so this is the default extraction for
every HTML page; site-specific CSS selectors (``listing.py``) only override what it misses.

Example::

    records = parse_jobpostings(html_bytes, "https://example.org/jobs/42/")
"""

from __future__ import annotations

import json
from typing import Any

from lxml import etree

from scrapers.parse import compact, join_text
from scrapers.text import element_text, html_to_text, parse_html, tidy


def parse_jobpostings(markup: str | bytes | etree._Element, url: str) -> list[dict[str, Any]]:
    """Every JobPosting on the page (JSON-LD first, else microdata) as ad records."""
    tree = markup if isinstance(markup, etree._Element) else parse_html(markup)
    postings = list(_jsonld_postings(tree))
    records = [posting_record(p, url) for p in postings]
    if not records:
        records = [r for r in (_microdata_record(el, url) for el in _microdata_items(tree)) if r]
    return [r for r in records if r.get("text")]


def generic_record(markup: str | bytes | etree._Element, url: str) -> dict[str, Any] | None:
    """An ad from any page without structured data: title and the main text block."""
    tree = markup if isinstance(markup, etree._Element) else parse_html(markup)
    title = _meta(tree, "og:title") or _first_text(tree, "//h1") or _first_text(tree, "//title")
    main = None
    for path in ("//article", "//main", "//*[@role='main']", "//body"):
        found = tree.xpath(path)
        if found:
            main = found[0]
            break
    body = element_text(main) if main is not None else ""
    if not body.strip():
        return None
    posted = _meta(tree, "article:published_time") or _first_attr(tree, "//time/@datetime")
    return compact(
        {"url": url, "title": title, "text": join_text(title, body), "posted_at": posted}
    )


# --- JSON-LD ---------------------------------------------------------------------------------


def _jsonld_postings(tree: etree._Element) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for script in tree.xpath("//script[@type]"):
        if script.get("type", "").split(";")[0].strip().lower() != "application/ld+json":
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw, strict=False)  # strict=False: raw newlines in strings
        except (json.JSONDecodeError, RecursionError):
            continue  # a broken block must not hide the others
        _walk(data, found, depth=0)
    return found


def _walk(node: Any, found: list[dict[str, Any]], depth: int) -> None:
    if depth > 8:
        return
    if isinstance(node, list):
        for item in node:
            _walk(item, found, depth + 1)
    elif isinstance(node, dict):
        if _is_jobposting(node.get("@type")):
            found.append(node)
            return
        for key in ("@graph", "itemListElement", "item", "mainEntity"):
            if key in node:
                _walk(node[key], found, depth + 1)


def _is_jobposting(kind: Any) -> bool:
    kinds = kind if isinstance(kind, list) else [kind]
    return any(
        isinstance(k, str) and k.rsplit("/", 1)[-1].rsplit(":", 1)[-1] == "JobPosting"
        for k in kinds
    )


def posting_record(p: dict[str, Any], url: str) -> dict[str, Any]:
    """Map a JobPosting object to an ad record."""
    title = _text(p.get("title") or p.get("name"))
    description = html_to_text(_text(p.get("description")))
    extras = [
        ("Qualifications", p.get("qualifications")),
        ("Responsibilities", p.get("responsibilities")),
        ("Benefits", p.get("jobBenefits")),
    ]
    extra_text = [f"{label}: {html_to_text(_text(v))}" for label, v in extras if _text(v)]
    record = {
        "url": url,
        "title": title,
        "company": _name(p.get("hiringOrganization")),
        "location": _location(p),
        "salary": _salary(p.get("baseSalary") or p.get("estimatedSalary")),
        "posted_at": _text(p.get("datePosted")),
        "contact": _contact(p.get("applicationContact")),
        "text": join_text(title, description, *extra_text),
        "employment_type": _text(p.get("employmentType")),
        "valid_through": _text(p.get("validThrough")),
        "country": _country(p),
    }
    return compact(record)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(t for t in (_text(v) for v in value) if t)
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("value") or value.get("@value"))
    return tidy(str(value))


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return _text(value.get("name") or value.get("legalName"))
    return _text(value)


def _places(p: dict[str, Any]) -> list[dict[str, Any]]:
    places = p.get("jobLocation") or []
    return [x for x in (places if isinstance(places, list) else [places]) if isinstance(x, dict)]


def _address(place: dict[str, Any]) -> dict[str, Any]:
    address = place.get("address")
    return address if isinstance(address, dict) else {"streetAddress": _text(address)}


def _location(p: dict[str, Any]) -> str:
    out = []
    for place in _places(p):
        address = _address(place)
        keys = ("addressLocality", "addressRegion", "addressCountry")
        parts = [_text(address.get(k)) for k in keys] or [_text(place.get("name"))]
        text = ", ".join(x for x in parts if x) or _text(address.get("streetAddress"))
        if text and text not in out:
            out.append(text)
    if not out and _text(p.get("jobLocationType")).upper() == "TELECOMMUTE":
        out.append("Remote")
    return "; ".join(out)


def _country(p: dict[str, Any]) -> str:
    for place in _places(p):
        country = _text(_address(place).get("addressCountry"))
        if country:
            return country
    return _text(p.get("applicantLocationRequirements"))


def _salary(value: Any) -> str:
    if not isinstance(value, dict):
        return _text(value)
    currency = _text(value.get("currency"))
    amount = value.get("value")
    unit = ""
    if isinstance(amount, dict):
        unit = _text(amount.get("unitText"))
        low, high = amount.get("minValue"), amount.get("maxValue")
        exact = amount.get("value")
        if low is not None and high is not None and low != high:
            figure = f"{_num(low)}-{_num(high)}"
        else:
            figure = _num(exact if exact is not None else low if low is not None else high)
    else:
        figure = _num(amount)
    text = " ".join(x for x in (currency, figure) if x)
    return f"{text} / {unit}" if text and unit else text


def _num(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _text(value)


def _contact(value: Any) -> str:
    if not isinstance(value, dict):
        return _text(value)
    keys = ("telephone", "email", "url", "name")
    return ", ".join(t for t in (_text(value.get(k)) for k in keys) if t)


# --- microdata -------------------------------------------------------------------------------


def _microdata_items(tree: etree._Element) -> list[etree._Element]:
    return [
        el
        for el in tree.xpath("//*[@itemscope][@itemtype]")
        if _is_jobposting(el.get("itemtype", "").split())
    ]


def _microdata_record(item: etree._Element, url: str) -> dict[str, Any] | None:
    props: dict[str, Any] = {}
    for el in item.xpath(".//*[@itemprop]"):
        # Only direct properties of this item (nested scopes hold their own).
        owner = el.getparent()
        while owner is not None and owner.get("itemscope") is None:
            owner = owner.getparent()
        name = el.get("itemprop", "").split()[0] if el.get("itemprop") else ""
        if not name:
            continue
        if owner is item:
            if el.get("itemscope") is not None:
                props.setdefault(name, _microdata_nested(el))
            else:
                props.setdefault(name, _microdata_value(el))
    if not props:
        return None
    return posting_record(props, url)


def _microdata_nested(el: etree._Element) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for child in el.xpath(".//*[@itemprop]"):
        name = child.get("itemprop", "").split()[0]
        if child.get("itemscope") is not None:
            nested.setdefault(name, _microdata_nested(child))
        else:
            nested.setdefault(name, _microdata_value(child))
    return nested


def _microdata_value(el: etree._Element) -> str:
    for attr in ("content", "datetime"):
        if el.get(attr):
            return el.get(attr)
    if el.tag in ("a", "link") and el.get("href"):
        return el.get("href")
    return element_text(el)


# --- small lxml helpers ----------------------------------------------------------------------


def _meta(tree: etree._Element, prop: str) -> str:
    found = tree.xpath("//meta[@property=$p or @name=$p]/@content", p=prop)
    return tidy(found[0]) if found else ""


def _first_text(tree: etree._Element, path: str) -> str:
    found = tree.xpath(path)
    return element_text(found[0]) if found else ""


def _first_attr(tree: etree._Element, path: str) -> str:
    found = tree.xpath(path)
    return str(found[0]).strip() if found else ""
