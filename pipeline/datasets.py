"""Labelled data for training and evaluation, from every place labels live.

- interchange JSON Lines with a ``label`` (0/1, true/false) or a ``category`` (tppo,
  nonprocedural, fee_fraud → 1; legit → 0; unsure → left out);
- CSV with ``--label-column`` (default ``label``) and a ``text`` column (or title/description);
- EMSCAD CSV (``fraudulent`` label; title, company profile, description, requirements and
  benefits joined as the text; the metadata kept for the features), plain or gzip;
- the seed corpus folder (``data/seed/*.jsonl``);
- reviewer decisions in the store (latest decision per ad; "unsure" left out).

A bad row is an error naming the file and line, or, with ``skip_bad``, skipped and counted.
Every example carries a *group* (its normalised text, or EMSCAD's normalised description) so
that duplicate ads never straddle a train/test split, and a deterministic *holdout* bucket so
that the frozen holdout is the same ads in every run.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import WaspadaError
from pipeline.ad import Ad, AdFormatError
from pipeline.labels import LABELS, POSITIVE_LABELS

FORMATS = ("jsonl", "csv", "emscad", "seed")
EMSCAD_TEXT_FIELDS = ("title", "company_profile", "description", "requirements", "benefits")
_TRUE = {"1", "true", "yes", "y", "t", "fraud", "fraudulent", "scam", "positive"}
_FALSE = {"0", "false", "no", "n", "f", "legit", "legitimate", "negative", "benign"}


class DataError(WaspadaError):
    """A labelled file cannot be used as it is (the message names the file and line)."""

    exit_code = 2


@dataclass
class LabelledData:
    """Ads with 0/1 labels, the group each belongs to, and where each came from."""

    ads: list[Ad] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)  # "seed" | "file" | "store"
    categories: list[str | None] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)  # path, sha256, rows, format
    skipped: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.ads)

    def add(self, ad: Ad, label: int, group: str, origin: str, category: str | None) -> None:
        self.ads.append(ad)
        self.y.append(int(label))
        self.groups.append(group)
        self.origins.append(origin)
        self.categories.append(category)

    def extend(self, other: LabelledData) -> None:
        """Append ``other``; an ad id seen before is replaced (later sources win)."""
        index = {ad.id: i for i, ad in enumerate(self.ads)}
        for i, ad in enumerate(other.ads):
            row = (ad, other.y[i], other.groups[i], other.origins[i], other.categories[i])
            if ad.id in index:
                j = index[ad.id]
                self.ads[j], self.y[j], self.groups[j], self.origins[j], self.categories[j] = row
                self.skipped["replaced by a later source"] += 1
            else:
                index[ad.id] = len(self.ads)
                self.add(*row)
        self.files.extend(other.files)
        self.skipped.update(other.skipped)

    def subset(self, indices: Iterable[int]) -> LabelledData:
        keep = list(indices)
        return LabelledData(
            ads=[self.ads[i] for i in keep],
            y=[self.y[i] for i in keep],
            groups=[self.groups[i] for i in keep],
            origins=[self.origins[i] for i in keep],
            categories=[self.categories[i] for i in keep],
            files=list(self.files),
        )

    def counts(self) -> dict[str, int]:
        positives = sum(self.y)
        return {"rows": len(self.y), "positive": positives, "negative": len(self.y) - positives}

    def data_hash(self) -> str:
        """SHA-256 over the files' hashes and the examples (ids + labels), order-independent."""
        digest = hashlib.sha256()
        for entry in sorted(self.files, key=lambda f: f["path"]):
            digest.update(f"{entry['path']}:{entry['sha256']}\n".encode())
        for key in sorted(f"{ad.id}\t{label}" for ad, label in zip(self.ads, self.y, strict=True)):
            digest.update(key.encode("utf-8", "replace") + b"\n")
        return digest.hexdigest()

    def holdout_mask(self, share: float) -> list[bool]:
        """True for examples in the frozen holdout: a fixed hash bucket of their group."""
        return [in_holdout(g, share) for g in self.groups]


# --- helpers ------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[\W\d_]+")


def group_key(text: str) -> str:
    """Duplicate-insensitive key: case, accents, digits, punctuation and spacing ignored."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return hashlib.sha1(_NON_WORD.sub(" ", folded).strip().encode("utf-8", "replace")).hexdigest()


def in_holdout(group: str, share: float) -> bool:
    if share <= 0:
        return False
    bucket = int(hashlib.sha256(f"holdout:{group}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < share


def parse_label(value: Any) -> int | None:
    """0/1 for a label or category value; None for "unsure"; ValueError when unknown."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    text = str(value).strip().lower() if value is not None else ""
    if text in POSITIVE_LABELS or text in _TRUE:
        return 1
    if text in _FALSE:
        return 0
    if text == "unsure":
        return None
    raise ValueError(
        f"unknown label {value!r} (use 0/1, true/false or one of: {', '.join(LABELS)})"
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rel(path: Path) -> str:
    from pipeline.paths import PROJECT_ROOT

    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _open_bytes(path: Path) -> io.BufferedIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def detect_format(path: Path) -> str:
    if path.is_dir():
        return "seed"
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if name.endswith(".csv"):
        with _open_bytes(path) as handle:
            header = handle.readline().decode("utf-8", "replace")
        columns = {c.strip().strip('"') for c in header.split(",")}
        return "emscad" if {"fraudulent", "job_id"} <= columns else "csv"
    raise DataError(
        f"{path}: cannot tell the format from the name; pass --format jsonl|csv|emscad"
    )


# --- loaders ------------------------------------------------------------------------------


def load_labelled(
    path: str | Path,
    fmt: str | None = None,
    label_column: str | None = None,
    *,
    skip_bad: bool = False,
) -> LabelledData:
    """Load one labelled file or the seed folder. Raises DataError naming file and line."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if fmt == "seed" or path.is_dir():
        return load_seed(path, skip_bad=skip_bad)
    if fmt == "jsonl":
        return load_jsonl(path, label_column or "label", skip_bad=skip_bad)
    if fmt == "emscad":
        return load_emscad(path, skip_bad=skip_bad)
    return load_csv(path, label_column or "label", skip_bad=skip_bad)


def load_seed(folder: str | Path, *, skip_bad: bool = False) -> LabelledData:
    """Every ``*.jsonl`` in the seed folder, in name order."""
    folder = Path(folder)
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise DataError(f"{folder}: no *.jsonl files in the folder")
    data = LabelledData()
    for file in files:
        data.extend(load_jsonl(file, "label", skip_bad=skip_bad, origin="seed"))
    return data


def _lines(path: Path, skip_bad: bool, skipped: Counter) -> Iterator[tuple[int, str]]:
    """Decoded lines; a line that is not UTF-8 is an error (or skipped and counted)."""
    with _open_bytes(path) as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError:
                if not skip_bad:
                    raise DataError(
                        f"{path}:{number}: not valid UTF-8; re-save the file as UTF-8"
                    ) from None
                skipped["bad encoding"] += 1


class _Collector:
    """Shared row checks: empty text, duplicate ids, label parsing, skip-or-raise."""

    def __init__(self, path: Path, fmt: str, origin: str, skip_bad: bool) -> None:
        self.path, self.origin, self.skip_bad = path, origin, skip_bad
        self.data = LabelledData(
            files=[{"path": _rel(path), "sha256": file_sha256(path), "format": fmt}]
        )
        self.seen: dict[str, int] = {}

    def bad(self, line: int, message: str, reason: str) -> None:
        if not self.skip_bad:
            raise DataError(f"{self.path}:{line}: {message}")
        self.data.skipped[reason] += 1

    def add(
        self, line: int, record: dict[str, Any], label_value: Any, group_text: str | None = None
    ) -> None:
        try:
            label = parse_label(label_value)
        except ValueError as exc:
            return self.bad(line, str(exc), "unknown label")
        if label is None:
            self.data.skipped["unsure"] += 1
            return None
        try:
            ad = Ad.from_record(record)
        except AdFormatError:
            return self.bad(line, "empty text", "empty text")
        if ad.id in self.seen:
            return self.bad(
                line, f"duplicate id {ad.id!r} (first at line {self.seen[ad.id]})", "duplicate id"
            )
        self.seen[ad.id] = line
        category = record.get("category")
        self.data.add(ad, label, group_key(group_text or ad.text), self.origin, category)
        return None

    def finish(self) -> LabelledData:
        self.data.files[0]["rows"] = len(self.data)
        return self.data


def load_jsonl(
    path: str | Path, label_column: str = "label", *, skip_bad: bool = False, origin: str = "file"
) -> LabelledData:
    """Interchange JSON Lines with a label (or a category) per object."""
    path = Path(path)
    rows = _Collector(path, "jsonl", origin, skip_bad)
    for number, line in _lines(path, skip_bad, rows.data.skipped):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.bad(number, f"not valid JSON ({exc.msg})", "bad JSON")
            continue
        if not isinstance(record, dict):
            rows.bad(number, "expected a JSON object", "bad JSON")
            continue
        if label_column in record:
            value = record[label_column]
        elif "category" in record:
            value = record["category"]
        else:
            rows.bad(
                number, f"no {label_column!r} or 'category' field; pass --label-column", "no label"
            )
            continue
        rows.add(number, record, value)
    return rows.finish()


def _csv_rows(
    path: Path, skip_bad: bool, skipped: Counter
) -> Iterator[tuple[int, dict[str, str], list[str]]]:
    with _open_bytes(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="")
        reader = csv.DictReader(text)
        try:
            columns = list(reader.fieldnames or [])
            for row in reader:
                yield reader.line_num, row, columns
        except UnicodeDecodeError:
            raise DataError(
                f"{path}:{reader.line_num + 1}: not valid UTF-8; re-save the file as UTF-8"
            ) from None
        except csv.Error as exc:
            raise DataError(f"{path}:{reader.line_num}: bad CSV ({exc})") from None


def load_csv(
    path: str | Path, label_column: str = "label", *, skip_bad: bool = False
) -> LabelledData:
    """A CSV with a label column and a ``text`` column (or ``title`` and ``description``)."""
    path = Path(path)
    rows = _Collector(path, "csv", "file", skip_bad)
    checked = False
    for number, row, columns in _csv_rows(path, skip_bad, rows.data.skipped):
        if not checked:
            if label_column not in columns:
                raise DataError(
                    f"{path}:1: no label column {label_column!r} (columns: "
                    f"{', '.join(columns[:12])}); pass --label-column"
                )
            if not {"text", "description", "title"} & set(columns):
                raise DataError(f"{path}:1: no 'text' (or 'title'/'description') column")
            checked = True
        record = {k: v for k, v in row.items() if k is not None and k != label_column}
        rows.add(number, record, row.get(label_column))
    return rows.finish()


def emscad_record(row: dict[str, str]) -> dict[str, Any]:
    """An interchange record for one EMSCAD row: text = the five text fields joined."""
    text = "\n\n".join(row.get(k, "") for k in EMSCAD_TEXT_FIELDS if row.get(k, "").strip())
    record: dict[str, Any] = {k: v for k, v in row.items() if k is not None and k != "fraudulent"}
    record["id"] = f"emscad-{row.get('job_id', '')}" if row.get("job_id") else ""
    record["text"] = text
    record["source"] = "emscad"
    record["salary"] = row.get("salary_range", "")
    return record


def load_emscad(path: str | Path, *, skip_bad: bool = False) -> LabelledData:
    """The EMSCAD CSV (``fake_job_postings.csv`` or the partial ``train.csv.gz``)."""
    path = Path(path)
    rows = _Collector(path, "emscad", "file", skip_bad)
    for number, row, columns in _csv_rows(path, skip_bad, rows.data.skipped):
        if "fraudulent" not in columns:
            raise DataError(f"{path}:1: no 'fraudulent' column; is this EMSCAD? try --format csv")
        record = emscad_record(row)
        group = (row.get("description") or "").strip() or record["text"]
        rows.add(number, record, row.get("fraudulent"), group_text=group)
    return rows.finish()


def load_store(db_url: str | None = None) -> LabelledData:
    """Reviewer decisions: the latest per ad; "unsure" left out."""
    from pipeline.store import Store

    data = LabelledData()
    with Store(db_url) as store:
        latest = store.latest_decisions()
        labels = {ad_id: d["label"] for ad_id, d in latest.items() if d["label"] != "unsure"}
        data.skipped["unsure"] += len(latest) - len(labels)
        for ad in store.iter_ads(sorted(labels)):
            label = labels[ad.id]
            data.add(ad, int(label in POSITIVE_LABELS), group_key(ad.text), "store", label)
        data.files.append(
            {
                "path": f"store:{store.url}",
                "sha256": hashlib.sha256(
                    "\n".join(f"{k}\t{v}" for k, v in sorted(labels.items())).encode()
                ).hexdigest(),
                "format": "store",
                "rows": len(data),
            }
        )
    return data


def load_many(
    paths: Iterable[str | Path],
    fmt: str | None = None,
    label_column: str | None = None,
    *,
    skip_bad: bool = False,
    db_url: str | None = None,
    from_store: bool = False,
) -> LabelledData:
    """Join several labelled sources (and, optionally, the store's decisions)."""
    data = LabelledData()
    for path in paths:
        data.extend(load_labelled(path, fmt, label_column, skip_bad=skip_bad))
    if from_store:
        data.extend(load_store(db_url))
    if not len(data):
        raise DataError("no labelled examples (give --data FILE, or --from-store with decisions)")
    return data
