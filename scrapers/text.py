"""Bytes to text, safely: charset detection for scraped pages and a small HTML-to-text.

Scraped bytes are hostile: the declared charset may be wrong or missing, and nothing here may
raise on undecodable input. The order follows browsers: the HTTP header, then the ``<meta>``
tag, then detection (charset-normalizer, which ships with requests), then UTF-8 with
replacement characters.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

import lxml.html
from charset_normalizer import from_bytes
from lxml import etree

from pipeline.text import html_to_text as _pipeline_html_to_text

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
# Browsers read these labels as windows-1252 (WHATWG Encoding Standard); pages rely on it.
_DETECTION_TRUSTED = (
    "utf_16", "utf_32", "gb", "big5", "shift_jis", "cp932", "euc", "iso2022", "cp949", "johab",
    "koi8", "cp1251", "iso8859_5", "tis_620", "cp874", "iso8859_11", "cp1256", "iso8859_6",
    "cp1253", "iso8859_7", "cp1255", "iso8859_8", "hz", "cp1258",
)  # fmt: skip
_WHATWG_ALIASES = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "ascii": "cp1252"}


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    return _WHATWG_ALIASES.get(name, name)


def header_charset(headers: Mapping[str, str] | None) -> str | None:
    """The charset named in a Content-Type header, as a Python codec name (or None)."""
    content_type = (headers or {}).get("content-type") or (headers or {}).get("Content-Type")
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return _codec(match.group(1)) if match else None


def meta_charset(body: bytes) -> str | None:
    """The charset of a ``<meta charset>`` or ``http-equiv`` tag in the first 4 KiB."""
    match = _META_CHARSET.search(body[:4096])
    return _codec(match.group(1).decode("ascii", "replace")) if match else None


def decode(body: bytes, headers: Mapping[str, str] | None = None) -> tuple[str, str]:
    """Decode scraped bytes; return ``(text, encoding_used)``. Never raises.

    A declared charset that does not fit the bytes (a page saying UTF-8 while sending
    windows-1252) is skipped in favour of the next clue, so the text stays readable.
    """
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", "replace"), "utf-8"
    candidates = [header_charset(headers), meta_charset(body)]
    for name in candidates:
        if name:
            try:
                return body.decode(name), name
            except (UnicodeDecodeError, LookupError):
                continue
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Detection is trusted for scripts windows-1252 cannot hold (CJK, Cyrillic, Thai, Arabic,
    # UTF-16 ...). Between Latin single-byte code pages it guesses badly on short pages
    # (mac-iceland for a windows-1252 page), and browsers fall back to windows-1252 there.
    best = from_bytes(body[:200_000]).best()
    name = _codec(best.encoding) if best is not None else None
    if name and name.startswith(_DETECTION_TRUSTED):
        return body.decode(name, "replace"), name
    try:
        return body.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        name = name or "cp1252"
        return body.decode(name, "replace"), name


# --- HTML to text ----------------------------------------------------------------------------

# Block elements end a paragraph (blank line); these only end a line, as a browser shows them.
_LINE_TAGS = frozenset(
    ["br", "div", "li", "tr", "dt", "dd", "nav", "figcaption", "legend", "option", "label"]
)
_PARAGRAPH_TAGS = frozenset(
    ["p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl",
     "section", "article", "header", "footer", "main", "aside", "hr", "figure", "form",
     "address", "fieldset", "details", "summary"]
)  # fmt: skip
_SKIP_TAGS = frozenset(["script", "style", "noscript", "template", "head", "svg", "iframe"])
# Private-use markers (removed from scraped text first): paragraph end, line end, <br>.
_PARA, _LINE, _BR = "\ue000", "\ue001", "\ue002"
_MARKERS = re.compile(f"[{_PARA}{_LINE}{_BR}]")
_GAP = f" \\t\\r\\n\\f\\v\\u00a0{_PARA}{_LINE}{_BR}"
_BREAKS = re.compile(f"[{_GAP}]*[{_PARA}{_LINE}{_BR}][{_GAP}]*")
_WHITESPACE = re.compile(r"\s+")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


def parse_html(markup: str | bytes) -> etree._Element:
    """An lxml tree for any markup, even empty or broken; never raises."""
    if isinstance(markup, bytes):
        markup, _ = decode(markup)
    # lxml refuses str input that carries an XML encoding declaration.
    markup = re.sub(r"^\s*<\?xml[^>]*>", "", markup)
    if not markup.strip():
        markup = "<html></html>"
    try:
        return lxml.html.document_fromstring(markup)
    except (etree.ParserError, ValueError):
        return lxml.html.document_fromstring("<html></html>")


def element_text(element: etree._Element) -> str:
    """Visible text of an element, laid out as a browser would: whitespace in the source
    collapses, ``<br>``, list items and divs end a line, paragraphs and headings a block."""
    parts: list[str] = []

    def add(text: str | None, pre: bool) -> None:
        if text:
            text = _MARKERS.sub("", text)
            parts.append(text.replace("\n", _LINE) if pre else _WHITESPACE.sub(" ", text))

    def walk(node: etree._Element, pre: bool) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in _SKIP_TAGS or not tag:
            return
        mark = _PARA if tag in _PARAGRAPH_TAGS else _LINE if tag in _LINE_TAGS else ""
        if tag == "br":
            parts.append(_BR)
            return
        if tag in ("td", "th"):
            parts.append(" ")
        parts.append(mark)
        pre = pre or tag == "pre"
        add(node.text, pre)
        for child in node:
            walk(child, pre)
            add(child.tail, pre)
        parts.append(mark)

    walk(element, False)
    joined = _BREAKS.sub(_break, "".join(parts))
    return tidy(joined)


def _break(match: re.Match[str]) -> str:
    # Two <br> in a row are a blank line, as are paragraph ends; anything else one line.
    run = match.group()
    return "\n\n" if _PARA in run or run.count(_BR) > 1 else "\n"


def tidy(text: str) -> str:
    """Collapse runs of spaces, keep single and double line breaks, strip the ends."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(markup: str | bytes) -> str:
    """Readable text of an HTML fragment or page (line breaks kept).

    One implementation for the whole project: ``pipeline.text.html_to_text`` is linear in the
    input and keeps text at any nesting depth (libxml2 drops what lies deeper than 255).
    """
    if isinstance(markup, bytes):
        markup, _ = decode(markup)
    return _pipeline_html_to_text(markup)
