"""The ad record and the JSON Lines interchange format (a contract: see ARCHITECTURE.md).

One JSON object per line. ``text`` is required, or ``title`` and ``description``, which are
joined. Unknown fields are kept and passed through. An ``id`` given in the input is kept;
without one the id is a stable hash of source and URL, or of the text.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipeline import WaspadaError

#: Fields the record knows by name; everything else in an input object goes to ``extra``.
KNOWN_FIELDS = (
    "id",
    "text",
    "url",
    "source",
    "title",
    "company",
    "location",
    "salary",
    "posted_at",
    "language",
    "contact",
)
# For ``Ad.from_record``: membership tests, and the fields read besides the text.
_KNOWN = frozenset(KNOWN_FIELDS)
_NAMED_FIELDS = tuple(k for k in KNOWN_FIELDS if k != "text")
#: Guard against hostile input: one ad's text is cut at this many characters.
MAX_TEXT_CHARS = 200_000


class AdFormatError(WaspadaError):
    """An input record cannot be read as an ad (names the file and line)."""


@dataclass
class Ad:
    """One job ad, as collected or as read from an interchange file."""

    text: str
    id: str = ""
    url: str | None = None
    source: str | None = None
    title: str | None = None
    company: str | None = None
    location: str | None = None
    salary: str | None = None
    posted_at: str | None = None
    language: str | None = None
    contact: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    snapshot_sha256: str | None = None

    def __post_init__(self) -> None:
        self.text = clean_text(self.text)
        if not self.id:
            self.id = stable_id(self.source, self.url, self.text)

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(normalise_for_hash(self.text).encode()).hexdigest()

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Ad:
        """Build an ad from an interchange object; raise AdFormatError if it has no text."""
        if not isinstance(record, dict):
            raise AdFormatError("expected a JSON object")
        text = _as_str(record.get("text"))
        if not text:
            parts = [_as_str(record.get("title")), _as_str(record.get("description"))]
            text = "\n\n".join(p for p in parts if p)
        if not text.strip():
            raise AdFormatError("no 'text' (or 'title'/'description') in the record")
        # Only the fields the record has: the others keep their default, None.
        known = {k: _as_str(record[k]) or None for k in _NAMED_FIELDS if k in record}
        ad_id = known.pop("id", None) or ""
        extra = {k: v for k, v in record.items() if k not in _KNOWN}
        return cls(text=text, id=ad_id, extra=extra, **known)

    def to_record(self) -> dict[str, Any]:
        """The interchange object: known fields that are set, then the passed-through ones."""
        out: dict[str, Any] = {"id": self.id}
        for name in KNOWN_FIELDS[1:]:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out


def _as_str(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def clean_text(text: str) -> str:
    """Make hostile text safe to store: no NULs or lone surrogates, bounded length."""
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS]
    text = text.replace("\x00", "")
    # Lone surrogates (from bad JSON escapes) cannot be encoded; replace them.
    return text.encode("utf-8", "replace").decode("utf-8")


def normalise_for_hash(text: str) -> str:
    """Case-, width- and whitespace-insensitive form used for content hashes and grouping."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def stable_id(source: str | None, url: str | None, text: str) -> str:
    """A stable id: hash of source and URL when there is a URL, else of the normalised text."""
    key = f"{source or ''}\n{url}" if url else normalise_for_hash(text)
    return "ad-" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:16]


# --- JSON Lines -----------------------------------------------------------------------------


def open_input(path: str | Path) -> IO[str]:
    """Open ``path`` for reading as UTF-8 text; ``-`` means standard input."""
    if str(path) == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    try:
        return open(path, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise WaspadaError(f"cannot read {path}: {exc.strerror}") from exc


def open_output(path: str | Path) -> IO[str]:
    """Open ``path`` for writing as UTF-8 text; ``-`` means standard output."""
    if str(path) == "-":
        return io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", write_through=True)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return open(path, "w", encoding="utf-8")


def iter_jsonl(stream: IO[str], name: str = "<input>") -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)``; blank lines are skipped, bad lines raise with location."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AdFormatError(f"{name}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise AdFormatError(f"{name}:{number}: expected a JSON object")
        yield number, obj


def read_ads(path: str | Path) -> Iterator[tuple[dict[str, Any], Ad]]:
    """Read an interchange file; yield ``(original_object, ad)``; errors name file and line."""
    with open_input(path) as stream:
        for number, obj in iter_jsonl(stream, str(path)):
            try:
                yield obj, Ad.from_record(obj)
            except AdFormatError as exc:
                raise AdFormatError(f"{path}:{number}: {exc}") from None


def write_jsonl(records: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """Write objects one per line; return how many were written."""
    count = 0
    for record in records:
        stream.write(json.dumps(record, ensure_ascii=False, default=str))
        stream.write("\n")
        count += 1
    return count
