"""Evidence export: an ad, the exact bytes of the page it came from, and a hash manifest.

A partner agency receiving the folder can check, without Waspada's database, that the page
bytes hash to the SHA-256 the ad names and that no file was altered after export::

    export_evidence(store, "ad-3f2a...", Path("evidence/ad-3f2a"))
    problems = verify_evidence(Path("evidence/ad-3f2a"))   # [] when intact

Snapshots in the store are immutable and content-addressed, so the same ad exported twice
gives the same page bytes and the same hash.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pipeline import WaspadaError, __version__
from pipeline.store import Store, fetches

MANIFEST = "manifest.json"
AD_FILE = "ad.json"
_EXTENSIONS = {"html": ".html", "xml": ".xml", "rss": ".xml", "atom": ".xml", "json": ".json"}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def first_fetch(store: Store, sha256: str) -> dict[str, Any] | None:
    """The earliest successful fetch that returned these bytes (URL, status, headers, time)."""
    with store.engine.connect() as conn:
        row = (
            conn.execute(
                sa.select(fetches)
                .where(fetches.c.sha256 == sha256, fetches.c.error_class.is_(None))
                .order_by(fetches.c.fetched_at, fetches.c.id)
                .limit(1)
            )
            .mappings()
            .first()
        )
    if row is None:
        return None
    fetched_at = row["fetched_at"]
    if isinstance(fetched_at, datetime) and fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    return {
        "url": row["url"],
        "final_url": row["final_url"],
        "status": row["status"],
        "headers": json.loads(row["headers_json"] or "{}"),
        "fetched_at": fetched_at.isoformat() if isinstance(fetched_at, datetime) else fetched_at,
        "source": row["source_name"],
    }


def _snapshot_name(fetch: dict[str, Any] | None) -> str:
    content_type = ((fetch or {}).get("headers") or {}).get("content-type", "")
    for key, ext in _EXTENSIONS.items():
        if key in content_type.lower():
            return "snapshot" + ext
    url = (fetch or {}).get("url") or ""
    for ext in (".html", ".htm", ".xml", ".csv", ".jsonl", ".json"):
        if url.lower().split("?")[0].endswith(ext):
            return "snapshot" + ext
    return "snapshot.bin"


def export_evidence(store: Store, ad_id: str, out_dir: Path) -> Path:
    """Write ad.json, the raw snapshot and manifest.json into ``out_dir``; return the manifest."""
    ad = store.get_ad(ad_id)
    if ad is None:
        raise WaspadaError(f"no ad with id {ad_id!r} in {store.url}")
    if not ad.snapshot_sha256:
        raise WaspadaError(f"ad {ad_id} has no page snapshot (it was not collected from a page)")
    body = store.get_snapshot(ad.snapshot_sha256)  # verifies the stored bytes against the hash
    if body is None:
        raise WaspadaError(f"snapshot {ad.snapshot_sha256} of ad {ad_id} is missing")
    fetch = first_fetch(store, ad.snapshot_sha256)
    out_dir.mkdir(parents=True, exist_ok=True)
    snapshot_name = _snapshot_name(fetch)
    record = {**ad.to_record(), "snapshot_sha256": ad.snapshot_sha256, "fetch": fetch}
    ad_bytes = (json.dumps(record, ensure_ascii=False, indent=2, default=str) + "\n").encode()
    (out_dir / AD_FILE).write_bytes(ad_bytes)
    (out_dir / snapshot_name).write_bytes(body)
    manifest = {
        "ad_id": ad.id,
        "snapshot_sha256": ad.snapshot_sha256,
        "snapshot_file": snapshot_name,
        "files": {AD_FILE: _sha256(ad_bytes), snapshot_name: _sha256(body)},
        "exported_at": datetime.now(UTC).isoformat(),
        "exported_by": f"waspada {__version__}",
        "algorithm": "sha256",
    }
    path = out_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def verify_evidence(folder: Path) -> list[str]:
    """Check an exported folder; return the problems found (an empty list means intact)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"{folder / MANIFEST} not found"]
    except (json.JSONDecodeError, UnicodeDecodeError):
        return [f"{MANIFEST} is not valid JSON"]
    problems: list[str] = []
    files = manifest.get("files") or {}
    for name, expected in files.items():
        path = folder / name
        if Path(name).name != name:
            problems.append(f"{name}: not a plain file name")
            continue
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif _sha256(path.read_bytes()) != expected:
            problems.append(f"{name}: SHA-256 differs from the manifest (altered)")
    snapshot = manifest.get("snapshot_file")
    if snapshot not in files:
        problems.append("manifest names no snapshot file")
    elif files[snapshot] != manifest.get("snapshot_sha256"):
        problems.append("manifest's snapshot hash differs from the hash the ad names")
    try:
        record = json.loads((folder / AD_FILE).read_text(encoding="utf-8"))
        if record.get("snapshot_sha256") != manifest.get("snapshot_sha256"):
            problems.append("ad.json names a different snapshot than the manifest")
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        problems.append(f"{AD_FILE} unreadable")
    return problems
