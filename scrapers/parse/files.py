"""Local files: saved HTML pages, CSV, JSON Lines (the interchange format) and EMSCAD CSV.

Analysts save pages they cannot crawl; a ``files`` source points at folders or files. Each
reader takes the file's bytes and its URI and returns ad records, like every other adapter.

Options: ``format`` = ``html`` | ``csv`` | ``jsonl`` | ``emscad`` (default: from the file
suffix), ``pattern`` (glob inside folders, default by format), ``columns`` (CSV: map of
record field → column name, e.g. ``{text = "isi", title = "judul"}``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipeline.ad import KNOWN_FIELDS, stable_id
from scrapers.parse import compact, join_text
from scrapers.parse.listing import parse_detail
from scrapers.text import decode, parse_html

FORMATS = ("html", "csv", "jsonl", "emscad")
_PATTERNS = {"html": ("*.html", "*.htm"), "csv": ("*.csv", "*.csv.gz"), "jsonl": ("*.jsonl",)}
_PATTERNS["emscad"] = _PATTERNS["csv"]
MAX_UNCOMPRESSED = 500_000_000
EMSCAD_TEXT = ("title", "company_profile", "description", "requirements", "benefits")


def guess_format(path: Path, data: bytes = b"") -> str:
    """The format from the file name (and, for CSV, the EMSCAD header in ``data``)."""
    name = path.name.lower().removesuffix(".gz")
    for fmt, suffixes in (("html", (".html", ".htm")), ("jsonl", (".jsonl", ".ndjson"))):
        if name.endswith(suffixes):
            return fmt
    if name.endswith(".csv"):
        if data[:2] == b"\x1f\x8b":
            with gzip.open(io.BytesIO(data)) as stream:
                data = stream.read(64)
        return "emscad" if data.lstrip(b"\xef\xbb\xbf").startswith(b"job_id,title,") else "csv"
    return "html"


def list_files(location: str, fmt: str | None, pattern: str | None = None) -> Iterator[Path]:
    """The files of a ``files`` source entry: the file itself, or matching files in a folder."""
    path = Path(location).expanduser()
    if path.is_dir():
        patterns = [pattern] if pattern else list(_PATTERNS.get(fmt or "", ("*",)))
        if not fmt and not pattern:
            patterns = [p for ps in _PATTERNS.values() for p in ps]
        found = sorted({p for pat in patterns for p in path.rglob(pat) if p.is_file()})
        yield from found
    elif path.is_file():
        yield path
    else:
        raise FileNotFoundError(f"no such file or folder: {location}")


def parse_file(
    data: bytes, uri: str, fmt: str, source: str, options: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Ad records from one file's bytes (gzip-compressed CSV/JSONL is read transparently)."""
    options = options or {}
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, int(options.get("max_bytes", MAX_UNCOMPRESSED)))
    if fmt == "html":
        return _html(data, uri, options)
    text, _ = decode(data)
    if fmt == "jsonl":
        return _jsonl(text, uri)
    if fmt == "emscad":
        return _emscad(text, source)
    if fmt == "csv":
        return _csv(text, dict(options.get("columns") or {}))
    raise ValueError(f"unknown files format {fmt!r}; use one of {', '.join(FORMATS)}")


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress, refusing a gzip bomb that would expand past ``limit`` bytes."""
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        out = stream.read(limit + 1)
    if len(out) > limit:
        raise ValueError(f"decompressed file larger than {limit} bytes")
    return out


def _html(data: bytes, uri: str, options: Mapping[str, Any]) -> list[dict[str, Any]]:
    # A saved page usually keeps its canonical URL; that, not the local path, names the ad.
    tree = parse_html(data)
    canonical = tree.xpath("//link[@rel='canonical']/@href | //meta[@property='og:url']/@content")
    url = str(canonical[0]).strip() if canonical else uri
    records = parse_detail(data, url, options)
    for record in records:
        record["file"] = uri
    return records


def _jsonl(text: str, uri: str) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"{uri}:{number}: not valid JSON") from None
        if isinstance(obj, dict):
            if not obj.get("text"):
                obj["text"] = join_text(_str(obj.get("title")), _str(obj.get("description")))
            if obj["text"]:
                records.append(obj)
    return records


def _rows(text: str) -> Iterator[dict[str, str]]:
    # Ads can hold very long fields; the csv module's default limit (128 KiB) is too small.
    csv.field_size_limit(10_000_000)
    yield from csv.DictReader(io.StringIO(text, newline=""))


def _csv(text: str, columns: Mapping[str, str]) -> list[dict[str, Any]]:
    records = []
    for row in _rows(text):
        record: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
        for name, column in columns.items():
            record.pop(column, None)
            if row.get(column):
                record[name] = row[column]
        if not record.get("text"):
            record["text"] = join_text(record.get("title"), record.get("description"))
        if record["text"]:
            records.append(record)
    return records


def _emscad(text: str, source: str) -> list[dict[str, Any]]:
    records = []
    for row in _rows(text):
        job_id = (row.get("job_id") or "").strip()
        body = join_text(*(row.get(c) for c in EMSCAD_TEXT))
        if not body:
            continue
        meta = {k: v for k, v in row.items() if k and k not in EMSCAD_TEXT and k != "job_id"}
        record = {
            # EMSCAD rows have no URL; the job id names them within this source.
            "id": stable_id(source, f"emscad:{job_id}", body) if job_id else None,
            "title": row.get("title"),
            "location": row.get("location"),
            "salary": row.get("salary_range"),
            "text": body,
            "job_id": job_id,
            **{k: v for k, v in meta.items() if k not in KNOWN_FIELDS},
        }
        records.append(compact(record))
    return records


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)
