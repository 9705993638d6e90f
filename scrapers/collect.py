"""Drive the configured sources into the store: fetch politely, parse, archive, remember.

Each source runs in its own thread and submits URLs to the shared :class:`scrapers.http.Client`
(one queue per host), so sources on different hosts proceed together while any one host only
ever sees one request at a time.

Writes go in batches and in an order that makes a killed run safe to rerun: snapshots first,
then the ads (``Store.add_ads``), and only then the fetch records that update ``url_state``. A
URL is therefore remembered as "seen" only once its ads are stored, and a rerun skips exactly
the detail pages whose ads it already has.

Example::

    report = collect(load_config("config/demo.toml"), Store(), run_id)
    report.per_source["demo-board"]["new"]
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from pipeline import ConfigError
from pipeline.ad import Ad
from pipeline.config import Config, SourceConfig
from pipeline.store import Store, ads
from scrapers.http import Client, FetchPolicy, Page, host_of, normalise_url
from scrapers.parse.files import FORMATS, guess_format, list_files, parse_file
from scrapers.parse.jsonld import parse_jobpostings
from scrapers.parse.listing import page_url, parse_detail, parse_listing
from scrapers.parse.rss import parse_feed
from scrapers.parse.telegram import parse_channel
from scrapers.text import decode

log = logging.getLogger(__name__)

BATCH_PAGES = 50
#: Local files are trusted a little more than web pages, but not for size.
MAX_FILE_BYTES = 200_000_000
#: Headers kept with a fetch record (the rest is noise and may carry cookies).
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "content-encoding",
    "etag",
    "last-modified",
    "date",
    "server",
    "location",
    "retry-after",
    "cache-control",
)


@dataclass
class CollectReport:
    """What a collection did, per source, and what went wrong."""

    per_source: dict[str, dict[str, int]] = field(default_factory=dict)
    failed_sources: list[str] = field(default_factory=list)
    ad_ids: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for counters in self.per_source.values():
            total.update(counters)
        return dict(total)


def validate_sources(config: Config) -> None:
    """Refuse configurations a collector cannot run, before anything is fetched."""
    for source in config.sources:
        opts = source.options
        if source.kind == "listing" and not (opts.get("detail_link") or opts.get("item")):
            raise ConfigError(f"source {source.name!r}: a listing needs 'detail_link' or 'item'")
        if source.kind == "files" and opts.get("format") not in (None, *FORMATS):
            raise ConfigError(
                f"source {source.name!r}: format must be one of {', '.join(FORMATS)}"
            )
        if source.kind != "files":
            for url in source.urls:
                if not url.startswith(("http://", "https://")):
                    raise ConfigError(f"source {source.name!r}: {url!r} is not an http(s) URL")
        fields = opts.get("fields", {})
        if not isinstance(fields, dict):
            raise ConfigError(f"source {source.name!r}: 'fields' must be a table")


def collect(
    config: Config, store: Store, run_id: int | None = None, *, progress: bool = False
) -> CollectReport:
    """Collect every enabled source of ``config`` into ``store``; never raises for one source.

    Returns per-source counters (fetched, new, changed, unchanged, not_modified,
    skipped_robots, skipped_seen, errors, errors_<Kind>, bytes, ads, pages), the sources
    that failed as a whole, the ids of new or changed ads and every recorded error.
    """
    validate_sources(config)
    sources = [s for s in config.sources if s.enabled]
    report = CollectReport()
    bar = _progress_bar(progress)
    lock = threading.Lock()
    with Client() as client:
        runners = [_SourceRun(s, config, store, client, run_id, bar, lock) for s in sources]
        for runner in runners:
            store.upsert_source(
                runner.source.name, runner.source.kind, _source_config(runner.source)
            )
        if runners:
            with ThreadPoolExecutor(max_workers=min(16, len(runners))) as pool:
                list(pool.map(_SourceRun.run, runners))
    if bar is not None:
        bar.close()
    for runner in runners:
        report.per_source[runner.source.name] = dict(runner.counters)
        report.errors.extend(runner.errors)
        report.ad_ids.extend(runner.ad_ids)
        if runner.failed:
            report.failed_sources.append(runner.source.name)
    return report


def _source_config(source: SourceConfig) -> dict[str, Any]:
    return {
        "urls": source.urls,
        "delay_seconds": source.delay_seconds,
        "max_pages": source.max_pages,
        **source.options,
    }


def _progress_bar(enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(desc="pages", unit="page", leave=False)


class _SourceRun:
    """One source in one run: its counters, pending writes and kind-specific walk."""

    def __init__(
        self,
        source: SourceConfig,
        config: Config,
        store: Store,
        client: Client,
        run_id: int | None,
        bar: Any,
        bar_lock: threading.Lock,
    ) -> None:
        self.source = source
        self.options = source.options
        self.store = store
        self.client = client
        self.run_id = run_id
        self.bar = bar
        self.bar_lock = bar_lock
        hosts = {host_of(u) for u in source.urls if "://" in u}
        self.policy = FetchPolicy.from_options(
            source.options, source.delay_seconds, config.user_agent, hosts
        )
        self.counters: Counter[str] = Counter()
        self.errors: list[dict[str, Any]] = []
        self.ad_ids: list[str] = []
        self.successes = 0
        self.crashed = False
        self._pending: list[tuple[Page, str | None, list[dict[str, Any]]]] = []
        self._pending_pages = 0
        self.recheck = bool(source.options.get("recheck_details", False))

    @property
    def failed(self) -> bool:
        """Failed as a whole: it crashed, or nothing it asked for was ever answered."""
        return self.crashed or (self.successes == 0 and bool(self.errors))

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> None:
        walk = {
            "jsonld": self._walk_jsonld,
            "listing": self._walk_listing,
            "rss": self._walk_pages,
            "telegram": self._walk_pages,
            "files": self._walk_files,
        }[self.source.kind]
        try:
            walk()
        except Exception as exc:  # one broken source must not stop the others
            log.exception("source %s crashed", self.source.name)
            self.crashed = True
            self._error(
                self.source.urls[0] if self.source.urls else "", type(exc).__name__, str(exc)
            )
        finally:
            try:
                self._flush()
            except Exception as exc:
                log.exception("source %s: could not store its last batch", self.source.name)
                self.crashed = True
                self._error("", type(exc).__name__, str(exc))
        for key in ("fetched", "new", "changed", "unchanged", "errors", "ads", "bytes"):
            self.counters.setdefault(key, 0)

    # -- fetching ----------------------------------------------------------------------------

    def _submit(self, url: str, conditional: bool = True) -> Future:
        etag = last_modified = None
        if conditional:
            state = self._states([url]).get(url) or {}
            if state.get("sha256"):  # a 304 is only useful if we kept the body
                etag, last_modified = state.get("etag"), state.get("last_modified")
        return self.client.submit(url, self.policy, etag=etag, last_modified=last_modified)

    def _states(self, urls: list[str]) -> dict[str, dict[str, Any]]:
        """What this source remembers about these URLs (another source's visit does not count)."""
        return self.store.url_states(urls, self.source.name)

    def _settle(self, page: Page) -> bytes | None:
        """Count a finished fetch; return the body to parse (a 304 gives the stored one)."""
        if self.bar is not None:
            with self.bar_lock:
                self.bar.update(1)
        if page.skipped_by_robots:
            self.counters["skipped_robots"] += 1
            log.info("%s: robots.txt disallows %s", self.source.name, page.url)
            return None
        if page.status is not None:
            self.counters["fetched"] += 1
            self.counters["bytes"] += len(page.body)
        if page.error_class is None and page.status is not None and page.status >= 400:
            page.error_class = f"HTTP{page.status}"
            page.error_message = f"HTTP {page.status}"
        if page.error_class is not None:
            self._error(page.url, page.error_class, page.error_message or "", page)
            return None
        self.successes += 1
        if page.not_modified:
            self.counters["not_modified"] += 1
            state = self._states([page.url]).get(page.url) or {}
            body = self.store.get_snapshot(state["sha256"]) if state.get("sha256") else None
            return body
        return page.body

    def _error(self, url: str, error_class: str, message: str, page: Page | None = None) -> None:
        self.counters["errors"] += 1
        self.counters[f"errors_{error_class}"] += 1
        self.errors.append(
            {
                "source": self.source.name,
                "url": url,
                "error_class": error_class,
                "message": message,
            }
        )
        log.warning("%s: %s %s: %s", self.source.name, error_class, url, message)
        if page is not None:
            self._queue_write(page, None, [])

    # -- storing -----------------------------------------------------------------------------

    def _unchanged_body(self, page: Page) -> bool:
        """True when a 200 page has the same bytes as last time (its ads are stored)."""
        if page.not_modified:
            return True
        state = self._states([page.url]).get(page.url) or {}
        return bool(state.get("sha256")) and state["sha256"] == _sha(page.body)

    def _queue_write(self, page: Page, body: bytes | None, records: list[dict[str, Any]]) -> None:
        self._pending.append((page, body, records))
        self._pending_pages += 1
        if self._pending_pages >= BATCH_PAGES:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending, self._pending_pages = self._pending, [], 0
        if not pending:
            return
        store = self.store
        hashes: dict[int, str] = {}
        batch: list[Ad] = []
        with store.begin() as conn:
            for i, (page, _, _) in enumerate(pending):
                if page.ok and not page.not_modified:
                    hashes[i] = store.put_snapshot(page.body, conn)
        for i, (page, _, records) in enumerate(pending):
            for record in records:
                batch.append(self._ad(record, hashes.get(i), page))
        if batch:
            self._store_ads(batch)
        with store.begin() as conn:
            for i, (page, _, _) in enumerate(pending):
                store.record_fetch(conn, **self._fetch_row(page, hashes.get(i)))

    def _ad(self, record: dict[str, Any], sha: str | None, page: Page) -> Ad:
        record = dict(record)
        record.setdefault("url", page.url if page.url.startswith("http") else None)
        record["source"] = self.source.name
        ad = Ad.from_record(record)
        ad.snapshot_sha256 = sha
        return ad

    def _store_ads(self, batch: list[Ad]) -> None:
        unique = {ad.id: ad for ad in batch}
        known = _known_hashes(self.store, unique)
        counts = self.store.add_ads(list(unique.values()), self.run_id)
        for key, value in counts.items():
            self.counters[key] += value
        self.ad_ids.extend(i for i, ad in unique.items() if known.get(i) != ad.text_hash)

    def _fetch_row(self, page: Page, sha: str | None) -> dict[str, Any]:
        headers = {k: page.headers[k] for k in KEPT_HEADERS if k in page.headers}
        return {
            "run_id": self.run_id,
            "source_name": self.source.name,
            "url": page.url,
            "final_url": page.final_url,
            "status": page.status,
            "headers": headers,
            "sha256": sha,
            "etag": page.header("etag"),
            "last_modified": page.header("last-modified"),
            "error_class": page.error_class,
            "error_message": (page.error_message or "")[:1000] or None,
            "fetched_at": page.fetched_at,
        }

    def _keep(self, page: Page, body: bytes | None, records: list[dict[str, Any]]) -> None:
        self.counters["ads"] += len(records)
        self._queue_write(page, body, records)

    # -- kinds -------------------------------------------------------------------------------

    def _walk_jsonld(self) -> None:
        """Explicit job pages: all queued at once, each read for its JobPostings."""
        urls = list(dict.fromkeys(normalise_url(u) for u in self.source.urls))
        self.counters["pages"] += len(urls)
        for future in _as_done([self._submit(u) for u in urls]):
            page = future.result()
            body = self._settle(page)
            if body is None:
                continue
            if self._unchanged_body(page):
                self._keep(page, body, [])
                continue
            records = parse_jobpostings(_html(page, body), page.url)
            for i, record in enumerate(records):
                # The page, not a URL the page claims; several postings get fragments.
                record["url"] = page.url if len(records) == 1 else f"{page.url}#job-{i + 1}"
            self._keep(page, body, records)

    def _walk_pages(self) -> None:
        """rss and telegram: each page carries its ads; feeds and channels page on."""
        kind = self.source.kind
        param = self.options.get("page_param")
        for start in self.source.urls:
            url: str | None = normalise_url(start)
            visited: set[str] = set()
            number = 1
            while url and url not in visited and number <= self.source.max_pages:
                visited.add(url)
                self.counters["pages"] += 1
                page = self._submit(url).result()
                body = self._settle(page)
                if body is None:
                    break
                unchanged = self._unchanged_body(page)
                older = None
                if kind == "telegram":
                    channel = parse_channel(_html(page, body), page.final_url or url)
                    records, older = channel.ads, channel.older_url
                else:
                    records = parse_feed(body, page.final_url or url)

                # Ads of an unchanged page are stored already; only the fetch is recorded.
                self._keep(page, body, [] if unchanged else records)
                if unchanged or not records:
                    break
                if kind == "telegram" and self._all_known(records):
                    break  # paging back further only finds what we have
                number += 1
                url = page_url(start, param, number) if param else older

    def _walk_files(self) -> None:
        fmt = self.options.get("format")
        for location in self.source.urls:
            try:
                paths = list(list_files(location, fmt, self.options.get("pattern")))
            except FileNotFoundError as exc:
                self._error(location, "FileNotFound", str(exc))
                continue
            for path in paths[: max(self.source.max_pages, 1) * 1000]:
                self._read_file(path, fmt)

    def _read_file(self, path: Path, fmt: str | None) -> None:
        uri = path.resolve().as_uri()
        page = Page(uri, final_url=uri)
        limit = int(self.options.get("max_bytes", MAX_FILE_BYTES))
        try:
            if path.stat().st_size > limit:
                self._error(uri, "TooLarge", f"file larger than {limit} bytes (max_bytes)")
                return
            data = path.read_bytes()
        except OSError as exc:
            self._error(uri, "OSError", exc.strerror or str(exc))
            return
        page.status, page.body = 200, data
        page.headers = {"content-length": str(len(data))}
        self.successes += 1
        self.counters["fetched"] += 1
        self.counters["bytes"] += len(data)
        if self._unchanged_body(page):
            self.counters["skipped_seen"] += 1
            return
        try:
            records = parse_file(
                data, uri, fmt or guess_format(path, data), self.source.name, self.options
            )
        except Exception as exc:  # one unreadable file must not stop the others
            self._error(uri, "ParseError", f"{type(exc).__name__}: {exc}")
            return
        self._keep(page, data, records)

    def _walk_listing(self) -> None:
        recheck = self.recheck
        param = self.options.get("page_param")
        seen: set[str] = set()
        details: set[Future] = set()
        for start in self.source.urls:
            url: str | None = normalise_url(start)
            visited: set[str] = set()
            number = 1
            while url and url not in visited and number <= self.source.max_pages:
                visited.add(url)
                self.counters["pages"] += 1
                listing = self._submit(url)
                # While the listing page waits in its host's queue, store finished details.
                while not listing.done():
                    done, _ = wait({listing, *details}, return_when=FIRST_COMPLETED)
                    for future in done - {listing}:
                        details.discard(future)
                        self._detail(future.result())
                page = listing.result()
                body = self._settle(page)
                if body is None:
                    break
                parsed = parse_listing(_html(page, body), page.final_url or url, self.options)
                self._keep(page, body, [] if self._unchanged_body(page) else parsed.items)
                fresh = [u for u in parsed.detail_urls if u not in seen]
                seen.update(fresh)
                states = self._states(fresh)
                for detail in fresh:
                    state = states.get(detail) or {}
                    if state.get("sha256") and not recheck:
                        self.counters["skipped_seen"] += 1
                        continue
                    details.add(self._submit(detail, conditional=recheck))
                number += 1
                if param:
                    url = (
                        page_url(start, param, number)
                        if parsed.detail_urls or parsed.items
                        else None
                    )
                else:
                    url = parsed.next_url
        for future in _as_done(details):
            self._detail(future.result())

    def _detail(self, page: Page) -> None:
        body = self._settle(page)
        if body is None:
            return
        # Only rechecked pages can be unchanged: unseen ones were fetched because they are new.
        if page.not_modified or (self.recheck and self._unchanged_body(page)):
            self._keep(page, body, [])
            return
        records = parse_detail(_html(page, body), page.url, self.options)
        for record in records:
            record["url"] = page.url
        if not records:
            self.counters["pages_without_ads"] += 1
        self._keep(page, body, records[:1] if len(records) > 1 else records)

    def _all_known(self, records: list[dict[str, Any]]) -> bool:
        ids = [Ad.from_record({**r, "source": self.source.name}).id for r in records]
        return len(_known_hashes(self.store, ids)) == len(set(ids))


def _as_done(futures: Iterable[Future]) -> Iterable[Future]:
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        yield from done


def _html(page: Page, body: bytes) -> str:
    """Page text decoded with the response's charset first (a stored 304 body has none)."""
    return decode(body, None if page.not_modified else page.headers)[0]


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _known_hashes(store: Store, ids: Iterable[str]) -> dict[str, str]:
    """``{ad id: text hash}`` of the ads among ``ids`` that the store already holds."""
    wanted = list(ids)
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for i in range(0, len(wanted), 500):
            rows = conn.execute(
                sa.select(ads.c.id, ads.c.text_hash).where(ads.c.id.in_(wanted[i : i + 500]))
            )
            out.update({r[0]: r[1] for r in rows})
    return out
