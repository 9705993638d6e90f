"""RSS 2.0, RSS 1.0 and Atom feeds (lowongan blogs on WordPress and the like).

Each item is an ad: its link is the ad URL, ``content:encoded`` (or the description / Atom
content) is the ad text, kept with its line breaks. The XML parser never resolves entities or
touches the network (a feed is hostile input: no XXE, no billion laughs).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from scrapers.http import normalise_url
from scrapers.parse import compact, join_text
from scrapers.text import html_to_text, tidy

_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "recover": True,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def parse_feed(body: bytes | str, url: str) -> list[dict[str, Any]]:
    """Every item/entry of a feed as an ad record; an unreadable feed gives ``[]``."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    body = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body:
        return []
    try:
        root = etree.fromstring(body, etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    records = []
    for element in root.iter():
        if _local(element.tag) in ("item", "entry"):
            record = _item(element, url)
            if record.get("text"):
                records.append(record)
    return records


def _item(item: etree._Element, feed_url: str) -> dict[str, Any]:
    fields: dict[str, str] = {}
    categories: list[str] = []
    link = ""
    for child in item:
        name = _local(child.tag)
        # itertext keeps the text after an (unresolved) entity reference.
        value = "".join(t for t in child.itertext() if isinstance(t, str)).strip()
        if name == "link":
            href = child.get("href")
            if href and child.get("rel", "alternate") == "alternate" and not link:
                link = href
            elif value and not link:
                link = value
        elif name == "category":
            term = child.get("term") or value
            if term:
                categories.append(tidy(term))
        elif name == "author":
            names = [(c.text or "").strip() for c in child if _local(c.tag) == "name"]
            fields.setdefault("author", names[0] if names else value)
        elif name == "content" and child.get("type") == "xhtml":
            fields.setdefault("content", etree.tostring(child, encoding="unicode"))
        elif value:
            fields.setdefault(name, value)
    guid = fields.get("guid") or fields.get("id") or ""
    if not link and guid.startswith(("http://", "https://")):
        link = guid
    title = html_to_text(fields.get("title", ""))
    body = fields.get("encoded") or fields.get("content") or fields.get("description")
    body = body or fields.get("summary") or ""
    record = {
        "url": normalise_url(link, feed_url) if link else None,
        "title": title,
        "text": join_text(title, html_to_text(body)),
        "posted_at": fields.get("pubdate")
        or fields.get("published")
        or fields.get("date")
        or fields.get("updated"),
        "author": tidy(fields.get("creator") or fields.get("author") or ""),
        "categories": categories,
        "guid": guid if guid and guid != link else None,
    }
    return compact(record)
