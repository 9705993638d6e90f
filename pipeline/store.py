"""The store: SQLAlchemy 2 Core over SQLite (default) or any SQLAlchemy URL (PostgreSQL).

Design points:
- Ad ids are stable hashes (or the id given in the input), so inserting the same ad twice
  changes nothing; every write is a batch in one transaction, so a run killed at any point can
  simply be run again.
- Raw page snapshots are content-addressed by SHA-256 and never updated.
- Reviewer decisions are append-only: the store has no method that updates or deletes one,
  and on SQLite triggers refuse it.
- The schema carries a version; ``migrate()`` brings an older database forward in place.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pipeline import WaspadaError
from pipeline.ad import Ad
from pipeline.labels import LABELS
from pipeline.paths import default_db_url

SCHEMA_VERSION = 1


class ClaimLostError(WaspadaError):
    """A decision on an item that was decided meanwhile or is held by another reviewer."""


metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
sources = sa.Table(
    "sources",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("config_json", sa.Text, nullable=False, default="{}"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),  # nightly | scrape | score
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16), nullable=False),  # running|completed|partial|crashed
    sa.Column("config_path", sa.Text),
    sa.Column("stats_json", sa.Text, nullable=False, default="{}"),
    sa.Column("report_path", sa.Text),
)
snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("length", sa.Integer, nullable=False),
    sa.Column("body_gz", sa.LargeBinary, nullable=False),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
)
fetches = sa.Table(
    "fetches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    sa.Column("source_name", sa.String(200), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("final_url", sa.Text),
    sa.Column("status", sa.Integer),
    sa.Column("headers_json", sa.Text),
    sa.Column("sha256", sa.String(64), sa.ForeignKey("snapshots.sha256")),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("error_class", sa.String(100)),
    sa.Column("error_message", sa.Text),
)
# What the scrapers remember per URL so that a rerun fetches only what is new or changed.
url_state = sa.Table(
    "url_state",
    metadata,
    # Keyed by source too: two sources may share a URL but not what they stored from it.
    sa.Column("source_name", sa.String(200), primary_key=True),
    sa.Column("url", sa.Text, primary_key=True),
    sa.Column("sha256", sa.String(64)),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_fetched_at", sa.DateTime(timezone=True)),
)
ads = sa.Table(
    "ads",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("source_name", sa.String(200)),
    sa.Column("url", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("company", sa.Text),
    sa.Column("location", sa.Text),
    sa.Column("salary", sa.Text),
    sa.Column("posted_at", sa.Text),
    sa.Column("language", sa.String(16)),
    sa.Column("contact", sa.Text),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("text_hash", sa.String(64), nullable=False),
    sa.Column("extra_json", sa.Text, nullable=False, default="{}"),
    sa.Column("snapshot_sha256", sa.String(64), sa.ForeignKey("snapshots.sha256")),
    sa.Column("first_run_id", sa.Integer, sa.ForeignKey("runs.id")),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
extractions = sa.Table(
    "extractions",
    metadata,
    sa.Column("ad_id", sa.String(200), sa.ForeignKey("ads.id"), primary_key=True),
    sa.Column("text_hash", sa.String(64), nullable=False),
    sa.Column("rules_version", sa.String(32), nullable=False),
    sa.Column("fields_json", sa.Text, nullable=False),
    sa.Column("flags_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
scores = sa.Table(
    "scores",
    metadata,
    sa.Column("ad_id", sa.String(200), sa.ForeignKey("ads.id"), primary_key=True),
    sa.Column("model_version", sa.String(100), primary_key=True),
    sa.Column("text_hash", sa.String(64), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("flagged", sa.Boolean, nullable=False),
    sa.Column("scores_json", sa.Text, nullable=False),
    sa.Column("band", sa.String(32)),
    sa.Column("explanation_json", sa.Text, nullable=False, default="{}"),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
    # Set once the queue step has looked at this score, so a rerun never enqueues twice.
    sa.Column("queue_considered", sa.Boolean, nullable=False, default=False),
)
queue_items = sa.Table(
    "queue_items",
    metadata,
    sa.Column("ad_id", sa.String(200), sa.ForeignKey("ads.id"), primary_key=True),
    sa.Column("priority", sa.Float, nullable=False),
    sa.Column("reason", sa.String(16), nullable=False),  # score | uncertainty
    sa.Column("model_version", sa.String(100)),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="open"),  # open | done
    sa.Column("claimed_by", sa.String(100)),
    sa.Column("claim_expires_at", sa.DateTime(timezone=True)),
)
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ad_id", sa.String(200), sa.ForeignKey("ads.id"), nullable=False),
    sa.Column("reviewer", sa.String(100), nullable=False),
    sa.Column("label", sa.String(32), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
)
users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
sa.Index("ix_fetches_url", fetches.c.url)
sa.Index("ix_decisions_ad", decisions.c.ad_id)
sa.Index("ix_queue_open", queue_items.c.status, queue_items.c.priority)
sa.Index("ix_ads_text_hash", ads.c.text_hash)


def now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; every time we store is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# --- schema versions ------------------------------------------------------------------------


def _create_v1(conn: Connection) -> None:
    metadata.create_all(conn)
    if conn.dialect.name == "sqlite":
        # Decisions are evidence of what a person said: refuse edits at the database level too.
        for op in ("UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS decisions_no_{op.lower()} BEFORE {op} "
                "ON decisions BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END"
            )


#: Ordered migrations: entry N brings a database from version N to N+1 (entry 0 creates it).
MIGRATIONS: list[Callable[[Connection], None]] = [_create_v1]


@dataclass
class QueueEntry:
    """One queue item joined with its ad and latest score, as a reviewer sees it."""

    ad_id: str
    priority: float
    reason: str
    status: str
    claimed_by: str | None
    title: str | None
    text: str
    url: str | None
    source_name: str | None
    score: float | None
    band: str | None
    flags: list[dict[str, Any]]
    explanation: dict[str, Any]
    scores: dict[str, Any]
    model_version: str | None


class Store:
    """All reads and writes of Waspada's database go through this object."""

    def __init__(self, url: str | None = None, *, create: bool = True) -> None:
        self.url = url or default_db_url()
        self.engine = make_engine(self.url)
        if create:
            self.migrate()

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite, so writers queue, not fail)."""
        with self.engine.connect() as conn:
            conn.info["immediate"] = True
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info.pop("immediate", None)

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("meta"):
                return 0
            value = conn.execute(
                sa.select(meta.c.value).where(meta.c.key == "schema_version")
            ).scalar()
        return int(value) if value is not None else 0

    def migrate(self, migrations: Sequence[Callable[[Connection], None]] | None = None) -> int:
        """Apply pending migrations, each in its own transaction; return the new version."""
        steps = list(migrations if migrations is not None else MIGRATIONS)
        current = self.schema_version()
        if current > len(steps):
            raise WaspadaError(
                f"database {self.url} has schema version {current}, newer than this release "
                f"({len(steps)}); upgrade waspada"
            )
        for version in range(current, len(steps)):
            with self.begin() as conn:
                steps[version](conn)
                _set_meta(conn, "schema_version", str(version + 1))
        return len(steps)

    # -- sources and runs ---------------------------------------------------------------

    def upsert_source(self, name: str, kind: str, config: dict[str, Any]) -> None:
        with self.begin() as conn:
            row = {"name": name, "kind": kind, "config_json": json.dumps(config, default=str)}
            done = conn.execute(
                sources.update().where(sources.c.name == name).values(**row)
            ).rowcount
            if not done:
                conn.execute(sources.insert().values(**row, created_at=now()))

    def start_run(self, kind: str, config_path: str | None = None) -> int:
        with self.begin() as conn:
            result = conn.execute(
                runs.insert().values(
                    kind=kind,
                    started_at=now(),
                    status="running",
                    config_path=config_path,
                    stats_json="{}",
                )
            )
            return int(result.inserted_primary_key[0])

    def finish_run(
        self, run_id: int, status: str, stats: dict[str, Any], report_path: str | None = None
    ) -> None:
        with self.begin() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(
                    finished_at=now(),
                    status=status,
                    stats_json=json.dumps(stats, default=str),
                    report_path=report_path,
                )
            )

    def get_run(self, run_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
        if row is None:
            return None
        out = dict(row)
        out["stats"] = json.loads(out.pop("stats_json") or "{}")
        return out

    def recent_runs(self, limit: int = 10) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs).order_by(runs.c.id.desc()).limit(limit))
            return [dict(r) for r in rows.mappings()]

    # -- raw pages (evidence archive) ---------------------------------------------------

    def put_snapshot(self, body: bytes, conn: Connection | None = None) -> str:
        """Store exact bytes once, gzip-compressed, keyed by their SHA-256; return the hash."""
        digest = hashlib.sha256(body).hexdigest()
        row = {
            "sha256": digest,
            "length": len(body),
            # mtime=0 so the same bytes always compress to the same blob.
            "body_gz": gzip.compress(body, mtime=0),
            "first_seen_at": now(),
        }
        if conn is None:
            with self.begin() as own:
                _insert_ignore(own, snapshots, [row])
        else:
            _insert_ignore(conn, snapshots, [row])
        return digest

    def get_snapshot(self, sha256: str) -> bytes | None:
        """The exact bytes of a snapshot, verified against its hash."""
        with self.engine.connect() as conn:
            blob = conn.execute(
                sa.select(snapshots.c.body_gz).where(snapshots.c.sha256 == sha256)
            ).scalar()
        if blob is None:
            return None
        body = gzip.decompress(blob)
        if hashlib.sha256(body).hexdigest() != sha256:
            raise WaspadaError(f"snapshot {sha256} is corrupt: its bytes no longer match the hash")
        return body

    def record_fetch(self, conn: Connection | None = None, **values: Any) -> None:
        """Log one fetch (or failed fetch) and update the per-URL state used for reruns."""
        values.setdefault("fetched_at", now())
        if "headers" in values:
            values["headers_json"] = json.dumps(dict(values.pop("headers") or {}))

        def write(c: Connection) -> None:
            c.execute(fetches.insert().values(**values))
            if values.get("error_class") is None and values.get("status") is not None:
                state = {
                    "url": values["url"],
                    "source_name": values["source_name"],
                    "last_status": values["status"],
                    "last_fetched_at": values["fetched_at"],
                }
                for key in ("sha256", "etag", "last_modified"):
                    if values.get(key) is not None:
                        state[key] = values[key]
                _upsert(c, url_state, state, ("source_name", "url"))

        if conn is None:
            with self.begin() as own:
                write(own)
        else:
            write(conn)

    def url_states(self, urls: Iterable[str], source_name: str) -> dict[str, dict[str, Any]]:
        """What ``source_name`` remembers about these URLs (sha256, etag, last_modified, ...)."""
        wanted = list(urls)
        out: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                rows = conn.execute(
                    sa.select(url_state).where(
                        url_state.c.source_name == source_name,
                        url_state.c.url.in_(wanted[i : i + 500]),
                    )
                )
                out.update({r["url"]: dict(r) for r in rows.mappings()})
        return out

    def fetch_errors(self, run_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(fetches)
                .where(fetches.c.run_id == run_id, fetches.c.error_class.is_not(None))
                .order_by(fetches.c.id)
            )
            return [dict(r) for r in rows.mappings()]

    # -- ads ----------------------------------------------------------------------------

    def add_ads(self, batch: Sequence[Ad], run_id: int | None = None) -> dict[str, int]:
        """Insert new ads, update changed ones, ignore unchanged ones; one transaction.

        Returns counts ``{"new": n, "changed": n, "unchanged": n}``. When an ad's text changed,
        its derived rows (extraction, scores) are dropped so the next stages recompute them.
        """
        counts = {"new": 0, "changed": 0, "unchanged": 0}
        if not batch:
            return counts
        unique = {ad.id: ad for ad in batch}  # last one wins inside a batch
        with self.begin() as conn:
            known = dict(
                conn.execute(
                    sa.select(ads.c.id, ads.c.text_hash).where(ads.c.id.in_(list(unique)))
                ).all()
            )
            stamp = now()
            for ad in unique.values():
                row = _ad_row(ad)
                if ad.id not in known:
                    conn.execute(
                        ads.insert().values(
                            **row, first_run_id=run_id, first_seen_at=stamp, updated_at=stamp
                        )
                    )
                    counts["new"] += 1
                elif known[ad.id] != row["text_hash"]:
                    conn.execute(
                        ads.update().where(ads.c.id == ad.id).values(**row, updated_at=stamp)
                    )
                    conn.execute(extractions.delete().where(extractions.c.ad_id == ad.id))
                    conn.execute(scores.delete().where(scores.c.ad_id == ad.id))
                    counts["changed"] += 1
                else:
                    counts["unchanged"] += 1
        return counts

    def get_ad(self, ad_id: str) -> Ad | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(ads).where(ads.c.id == ad_id)).mappings().first()
        return _row_to_ad(row) if row else None

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(metadata.tables[table])
                ).scalar()
            )

    def iter_ads(self, ids: Iterable[str] | None = None, batch_size: int = 500) -> Iterator[Ad]:
        """All ads (or the given ids), in id order, read in batches."""
        if ids is not None:
            wanted = list(ids)
            for i in range(0, len(wanted), batch_size):
                with self.engine.connect() as conn:
                    rows = conn.execute(
                        sa.select(ads).where(ads.c.id.in_(wanted[i : i + batch_size]))
                    ).mappings()
                    yield from (_row_to_ad(r) for r in rows.all())
            return
        last = ""
        while True:
            with self.engine.connect() as conn:
                rows = (
                    conn.execute(
                        sa.select(ads).where(ads.c.id > last).order_by(ads.c.id).limit(batch_size)
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                return
            yield from (_row_to_ad(r) for r in rows)
            last = rows[-1]["id"]

    def ads_without_score(self, model_version: str) -> list[str]:
        """Ids of ads that have no score from this model version (for resumable scoring)."""
        scored = sa.select(scores.c.ad_id).where(scores.c.model_version == model_version)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(ads.c.id).where(ads.c.id.not_in(scored)).order_by(ads.c.id)
            )
            return [r[0] for r in rows]

    # -- derived data -------------------------------------------------------------------

    def save_extractions(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows: ad_id, text_hash, rules_version, fields (dict), flags (list)."""
        prepared = [
            {
                "ad_id": r["ad_id"],
                "text_hash": r["text_hash"],
                "rules_version": r["rules_version"],
                "fields_json": json.dumps(r.get("fields", {}), ensure_ascii=False, default=str),
                "flags_json": json.dumps(r.get("flags", []), ensure_ascii=False, default=str),
                "created_at": now(),
            }
            for r in rows
        ]
        with self.begin() as conn:
            for row in prepared:
                _upsert(conn, extractions, row, ("ad_id",))

    def save_scores(self, rows: Sequence[dict[str, Any]], run_id: int | None = None) -> None:
        """Rows: ad_id, model_version, text_hash, score, flagged, scores, band, explanation."""
        stamp = now()
        prepared = [
            {
                "ad_id": r["ad_id"],
                "model_version": r["model_version"],
                "text_hash": r["text_hash"],
                "score": float(r["score"]),
                "flagged": bool(r["flagged"]),
                "scores_json": json.dumps(r.get("scores", {}), default=str),
                "band": r.get("band"),
                "explanation_json": json.dumps(
                    {
                        "flags": r.get("flags", []),
                        "patterns": r.get("patterns", []),
                        **(r.get("explanation") or {}),
                    },
                    ensure_ascii=False,
                    default=str,
                ),
                "run_id": run_id,
                "scored_at": stamp,
            }
            for r in rows
        ]
        with self.begin() as conn:
            for row in prepared:
                _upsert(conn, scores, row, ("ad_id", "model_version"))

    def scores_to_consider(self, model_version: str) -> list[dict[str, Any]]:
        """Scores of this model version the queue step has not looked at yet."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(scores.c.ad_id, scores.c.score, scores.c.flagged, scores.c.band)
                .where(
                    scores.c.model_version == model_version, scores.c.queue_considered.is_(False)
                )
                .order_by(scores.c.ad_id)
            )
            return [dict(r) for r in rows.mappings()]

    def scores_for(self, model_version: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(scores.c.ad_id, scores.c.score, scores.c.flagged, scores.c.band)
                .where(scores.c.model_version == model_version)
                .order_by(scores.c.ad_id)
            )
            return [dict(r) for r in rows.mappings()]

    # -- queue --------------------------------------------------------------------------

    def enqueue(
        self,
        items: Sequence[dict[str, Any]],
        run_id: int | None = None,
        considered: tuple[str, Sequence[str]] | None = None,
    ) -> list[str]:
        """Add items (ad_id, priority, reason, model_version); an ad already queued is kept
        as it is, so a rerun adds nothing. Returns the ids of the ads added.

        ``considered=(model_version, ad_ids)`` marks those scores as looked at by the queue
        step, in the same transaction, so a crash cannot leave them half-handled.
        """
        stamp = now()
        rows = [
            {
                "ad_id": i["ad_id"],
                "priority": float(i["priority"]),
                "reason": i.get("reason", "score"),
                "model_version": i.get("model_version"),
                "run_id": run_id,
                "enqueued_at": stamp,
                "status": "open",
            }
            for i in items
        ]
        with self.begin() as conn:
            added = [key[0] for key in _insert_ignore(conn, queue_items, rows)]
            if considered is not None:
                version, ids = considered
                ids = list(ids)
                for i in range(0, len(ids), 500):
                    conn.execute(
                        scores.update()
                        .where(
                            scores.c.model_version == version, scores.c.ad_id.in_(ids[i : i + 500])
                        )
                        .values(queue_considered=True)
                    )
            return added

    def queue(self, status: str | None = "open", limit: int = 50) -> list[QueueEntry]:
        """Queue entries, highest priority first, with their ad and best-known score."""
        query = _queue_select()
        if status:
            query = query.where(queue_items.c.status == status)
        query = query.order_by(queue_items.c.priority.desc(), queue_items.c.ad_id).limit(limit)
        with self.engine.connect() as conn:
            return [_queue_entry(r) for r in conn.execute(query).mappings()]

    def queue_entry(self, ad_id: str) -> QueueEntry | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(_queue_select().where(queue_items.c.ad_id == ad_id))
                .mappings()
                .first()
            )
        return _queue_entry(row) if row else None

    def queue_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(queue_items.c.status, sa.func.count()).group_by(queue_items.c.status)
            ).all()
        return {status: int(n) for status, n in rows}

    def claim_next(
        self, reviewer: str, ttl_minutes: int = 15, exclude: Collection[str] = ()
    ) -> QueueEntry | None:
        """Lock the best open item that nobody else holds to ``reviewer`` and return it.

        A claim expires after ``ttl_minutes``, so an abandoned item comes back. The reviewer's
        own unexpired claim is returned first, so a page reload does not skip an item.
        ``exclude`` passes over ad ids (the reviewer's own skips; others still get them).
        """
        stamp = now()
        with self.begin() as conn:
            query = (
                sa.select(queue_items.c.ad_id)
                .where(queue_items.c.status == "open", _claimable(reviewer, stamp))
                .order_by(
                    # Own claim first. Not `(claimed_by == reviewer).desc()`: that is NULL for
                    # unclaimed rows, and PostgreSQL sorts NULLs first when descending.
                    sa.case((queue_items.c.claimed_by == reviewer, 0), else_=1),
                    queue_items.c.priority.desc(),
                    queue_items.c.ad_id,
                )
                .limit(1)
            )
            if exclude:
                query = query.where(queue_items.c.ad_id.not_in(list(exclude)))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ad_id = conn.execute(query).scalar()
            if ad_id is None:
                return None
            _claim(conn, ad_id, reviewer, stamp, ttl_minutes)
        return self.queue_entry(ad_id)

    def release(self, ad_id: str | None, reviewer: str) -> None:
        """Give a claimed item back (skip), or all of ``reviewer``'s claims when ``ad_id`` is
        None: they return to the queue for anyone."""
        held = queue_items.c.claimed_by == reviewer
        if ad_id is not None:
            held = sa.and_(held, queue_items.c.ad_id == ad_id)
        with self.begin() as conn:
            conn.execute(
                queue_items.update()
                .where(held, queue_items.c.status == "open")
                .values(claimed_by=None, claim_expires_at=None)
            )

    # -- decisions (append-only) --------------------------------------------------------

    def decide(
        self,
        ad_id: str,
        reviewer: str,
        label: str,
        note: str | None = None,
        *,
        require_claim: bool = False,
    ) -> int:
        """Record a decision and close the queue item; return the decision id.

        A later decision on the same ad does not replace the earlier one; both are kept and
        the latest counts (``latest_decisions``). Undo is a new decision, never a delete.
        With ``require_claim`` the item must be open and not held by another reviewer, checked
        in the same transaction (``ClaimLostError`` otherwise), so two reviewers cannot both
        decide an item whose claim moved between page load and key press.
        """
        if label not in LABELS:
            raise WaspadaError(f"unknown label {label!r}; use one of: {', '.join(LABELS)}")
        stamp = now()
        with self.begin() as conn:
            if conn.execute(sa.select(ads.c.id).where(ads.c.id == ad_id)).first() is None:
                raise WaspadaError(f"no ad with id {ad_id!r}")
            if require_claim:
                ok = conn.execute(
                    sa.select(queue_items.c.ad_id).where(
                        queue_items.c.ad_id == ad_id,
                        queue_items.c.status == "open",
                        _claimable(reviewer, stamp),
                    )
                ).first()
                if ok is None:
                    raise ClaimLostError(f"ad {ad_id} was decided or is held by another reviewer")
            result = conn.execute(
                decisions.insert().values(
                    ad_id=ad_id, reviewer=reviewer, label=label, note=note, decided_at=stamp
                )
            )
            conn.execute(
                queue_items.update()
                .where(queue_items.c.ad_id == ad_id)
                .values(status="done", claimed_by=None, claim_expires_at=None)
            )
            return int(result.inserted_primary_key[0])

    def reopen(self, ad_id: str, claim_for: str | None = None, ttl_minutes: int = 15) -> None:
        """Put a decided item back in the queue (undo); its decisions stay in the history.

        With ``claim_for`` the reopened item is claimed for that reviewer in the same
        transaction, so nobody else can take it in between.
        """
        stamp = now()
        with self.begin() as conn:
            conn.execute(
                queue_items.update()
                .where(queue_items.c.ad_id == ad_id)
                .values(status="open", claimed_by=None, claim_expires_at=None)
            )
            if claim_for is not None:
                _claim(conn, ad_id, claim_for, stamp, ttl_minutes)

    def decision_history(self, ad_id: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(decisions).order_by(decisions.c.id)
        if ad_id is not None:
            query = query.where(decisions.c.ad_id == ad_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def latest_decisions(self) -> dict[str, dict[str, Any]]:
        """The latest decision per ad (by decision id), keyed by ad id."""
        latest = sa.select(sa.func.max(decisions.c.id)).group_by(decisions.c.ad_id)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(decisions).where(decisions.c.id.in_(latest)))
            return {r["ad_id"]: dict(r) for r in rows.mappings()}

    # -- users --------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password_hash: str) -> None:
        """Add an account, or change an existing one's role and password (it keeps the
        date it was created)."""
        with self.begin() as conn:
            _upsert(
                conn,
                users,
                {"name": name, "role": role, "password_hash": password_hash, "created_at": now()},
                ("name",),
                keep=("created_at",),
            )

    def get_user(self, name: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()
        return dict(row) if row else None


# --- helpers --------------------------------------------------------------------------------


def make_engine(url: str) -> Engine:
    """An engine with SQLite tuned for a batch writer plus web readers (WAL, busy timeout)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise WaspadaError(
            f"not a database URL: {url!r} (try sqlite:///data/waspada.db)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy's begin() not emit BEGIN so that Store.begin() can say IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Reads begin a deferred transaction; Store.begin() asks for IMMEDIATE so that
            # concurrent writers wait for the lock instead of failing half-way.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")

        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise WaspadaError(f"cannot open {parsed.render_as_string()}: {exc}") from None


def _claimable(reviewer: str, stamp: datetime) -> sa.ColumnElement[bool]:
    """A queue item ``reviewer`` may take: unclaimed, theirs, or with an expired claim."""
    return sa.or_(
        queue_items.c.claimed_by.is_(None),
        queue_items.c.claimed_by == reviewer,
        queue_items.c.claim_expires_at < stamp,
    )


def _claim(conn: Connection, ad_id: str, reviewer: str, stamp: datetime, ttl_minutes: int) -> None:
    conn.execute(
        queue_items.update()
        .where(queue_items.c.ad_id == ad_id)
        .values(claimed_by=reviewer, claim_expires_at=stamp + timedelta(minutes=ttl_minutes))
    )


def _set_meta(conn: Connection, key: str, value: str) -> None:
    _upsert(conn, meta, {"key": key, "value": value}, ("key",))


def _insert_ignore(
    conn: Connection, table: sa.Table, rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Insert rows whose primary key is new; return the primary keys of those inserted."""
    if not rows:
        return []
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:  # pragma: no cover - other engines: check first, then insert
        added = []
        for row in rows:
            keys = [table.c[c.name] == row[c.name] for c in table.primary_key.columns]
            if conn.execute(sa.select(*table.primary_key.columns).where(*keys)).first() is None:
                conn.execute(table.insert().values(**row))
                added.append(tuple(row[c.name] for c in table.primary_key.columns))
        return added
    # RETURNING tells what was really inserted; rowcount is unreliable for executemany.
    stmt = insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return [tuple(key) for key in conn.execute(stmt, rows).all()]


def _upsert(
    conn: Connection,
    table: sa.Table,
    row: dict[str, Any],
    keys: tuple[str, ...],
    keep: tuple[str, ...] = (),
) -> None:
    """Insert ``row``, or update the row with the same ``keys`` (its ``keep`` columns left)."""
    name = conn.dialect.name
    if name in ("sqlite", "postgresql"):
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(table).values(**row)
        updates = {k: stmt.excluded[k] for k in row if k not in keys and k not in keep}
        if updates:
            stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)
        else:
            stmt = stmt.on_conflict_do_nothing()
        conn.execute(stmt)
        return
    where = [table.c[k] == row[k] for k in keys]  # pragma: no cover - other engines
    changes = {k: v for k, v in row.items() if k not in keep}
    if not conn.execute(table.update().where(*where).values(**changes)).rowcount:
        conn.execute(table.insert().values(**row))


def _ad_row(ad: Ad) -> dict[str, Any]:
    return {
        "id": ad.id,
        "source_name": ad.source,
        "url": ad.url,
        "title": ad.title,
        "company": ad.company,
        "location": ad.location,
        "salary": ad.salary,
        "posted_at": ad.posted_at,
        "language": ad.language,
        "contact": ad.contact,
        "text": ad.text,
        "text_hash": ad.text_hash,
        "extra_json": json.dumps(ad.extra, ensure_ascii=False, default=str),
        "snapshot_sha256": ad.snapshot_sha256,
    }


def _row_to_ad(row: Any) -> Ad:
    return Ad(
        text=row["text"],
        id=row["id"],
        url=row["url"],
        source=row["source_name"],
        title=row["title"],
        company=row["company"],
        location=row["location"],
        salary=row["salary"],
        posted_at=row["posted_at"],
        language=row["language"],
        contact=row["contact"],
        extra=json.loads(row["extra_json"] or "{}"),
        snapshot_sha256=row["snapshot_sha256"],
    )


def _queue_select() -> sa.Select:
    # The newest score of each ad (any model version) explains the item.
    newest = (
        sa.select(scores.c.ad_id, sa.func.max(scores.c.scored_at).label("at"))
        .group_by(scores.c.ad_id)
        .subquery()
    )
    latest = (
        sa.select(scores)
        .join(newest, sa.and_(scores.c.ad_id == newest.c.ad_id, scores.c.scored_at == newest.c.at))
        .subquery()
    )
    return sa.select(
        queue_items.c.ad_id,
        queue_items.c.priority,
        queue_items.c.reason,
        queue_items.c.status,
        queue_items.c.claimed_by,
        queue_items.c.claim_expires_at,
        ads.c.title,
        ads.c.text,
        ads.c.url,
        ads.c.source_name,
        latest.c.score,
        latest.c.band,
        latest.c.scores_json,
        latest.c.explanation_json,
        latest.c.model_version,
    ).select_from(
        queue_items.join(ads, ads.c.id == queue_items.c.ad_id).outerjoin(
            latest, latest.c.ad_id == queue_items.c.ad_id
        )
    )


def _queue_entry(row: Any) -> QueueEntry:
    explanation = json.loads(row["explanation_json"] or "{}")
    claimed_by = row["claimed_by"]
    expires = _aware(row["claim_expires_at"])
    if claimed_by and expires is not None and expires < now():
        claimed_by = None
    return QueueEntry(
        ad_id=row["ad_id"],
        priority=row["priority"],
        reason=row["reason"],
        status=row["status"],
        claimed_by=claimed_by,
        title=row["title"],
        text=row["text"],
        url=row["url"],
        source_name=row["source_name"],
        score=row["score"],
        band=row["band"],
        flags=explanation.pop("flags", []),
        explanation=explanation,
        scores=json.loads(row["scores_json"] or "{}"),
        model_version=row["model_version"],
    )
