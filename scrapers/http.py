"""The polite HTTP client: robots.txt, one request at a time per host, retries, size caps.

Every host gets one worker thread and a queue, so requests to one host are strictly
sequential with a (jittered) delay between the end of one response and the start of the next,
while different hosts are crawled concurrently. Callers ``submit`` a URL and get a
``Future[Page]``; a failed fetch is a ``Page`` with ``error_class`` set, never an exception, so
one bad page cannot stop a source.

Policy, following Scrapy's defaults and RFC 9309 where Scrapy is laxer:

- robots.txt is fetched once per host per run and read with protego. 2xx: obeyed, including
  ``Crawl-delay``; 4xx: everything allowed; 5xx or a network error: everything disallowed for
  this run.
- Retries (connection errors, timeouts, 408, 429, 5xx) back off exponentially with jitter and
  honour ``Retry-After``. After an error page the host's delay only grows for the rest of the
  run: error pages are fast, and speeding up on them would hammer a struggling site.
- Redirects are followed one hop at a time through the target host's own queue, limited in
  number, checked against robots.txt and refused when they leave the allowed hosts.
- Bodies are streamed and cut off at ``max_bytes`` and at a whole-response deadline, so a
  2 GB page or a one-byte-a-second drip costs nothing.
"""

from __future__ import annotations

import email.utils
import logging
import queue
import random
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from protego import Protego

from pipeline.config import DEFAULT_USER_AGENT

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 522, 524})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 512_000  # RFC 9309 asks crawlers to read at least 500 KiB
CHUNK = 65_536


@dataclass(frozen=True)
class FetchPolicy:
    """How politely to fetch; one per source, built from its TOML options."""

    user_agent: str = DEFAULT_USER_AGENT
    delay: float = 2.0
    randomize_delay: bool = True
    respect_robots: bool = True
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    deadline: float = 60.0
    max_bytes: int = 5_000_000
    retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 120.0
    max_redirects: int = 5
    max_crawl_delay: float = 60.0
    #: Hosts (netloc, lower case) this source may reach; empty means "any".
    allowed_hosts: frozenset[str] = frozenset()
    #: Consecutive network failures after which a host is given up for the run.
    host_failure_limit: int = 3

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any], delay: float, user_agent: str, hosts: Iterable[str] = ()
    ) -> FetchPolicy:
        """Build a policy from a source's TOML options (unknown keys are ignored)."""
        allowed = {h.lower() for h in hosts} | {
            str(h).lower() for h in options.get("allowed_hosts", [])
        }
        timeout = float(options.get("timeout_seconds", cls.read_timeout))
        return cls(
            user_agent=str(options.get("user_agent", user_agent)),
            delay=float(delay),
            randomize_delay=bool(options.get("randomize_delay", True)),
            respect_robots=bool(options.get("respect_robots", True)),
            connect_timeout=float(options.get("connect_timeout_seconds", min(timeout, 10.0))),
            read_timeout=timeout,
            deadline=float(options.get("deadline_seconds", max(timeout * 3, 1.0))),
            max_bytes=int(options.get("max_bytes", cls.max_bytes)),
            retries=int(options.get("retries", cls.retries)),
            backoff=float(options.get("backoff_seconds", cls.backoff)),
            max_backoff=float(options.get("max_backoff_seconds", cls.max_backoff)),
            max_retry_after=float(options.get("max_retry_after_seconds", cls.max_retry_after)),
            max_redirects=int(options.get("max_redirects", cls.max_redirects)),
            max_crawl_delay=float(options.get("max_crawl_delay_seconds", cls.max_crawl_delay)),
            allowed_hosts=frozenset(allowed),
            host_failure_limit=int(options.get("host_failure_limit", cls.host_failure_limit)),
        )


@dataclass
class Page:
    """The outcome of one fetch: a response (any status) or an error, never an exception."""

    url: str
    final_url: str | None = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    error_class: str | None = None
    error_message: str | None = None
    attempts: int = 0
    redirects: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_class is None and self.status is not None and 200 <= self.status < 300

    @property
    def not_modified(self) -> bool:
        return self.error_class is None and self.status == 304

    @property
    def skipped_by_robots(self) -> bool:
        return self.error_class == "RobotsDisallowed"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class _Failure(Exception):
    def __init__(self, error_class: str, message: str, retry: bool = False) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.retry = retry


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def normalise_url(url: str, base: str | None = None) -> str:
    """Absolute URL without fragment, scheme and host lower-cased."""
    if base:
        url = urljoin(base, url.strip())
    parts = urlsplit(url.strip())
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass
class _Job:
    url: str
    policy: FetchPolicy
    future: Future
    headers: dict[str, str]
    redirects: list[str]


class _Host:
    """One host: its queue, its worker thread, its robots.txt and its pacing state."""

    def __init__(self, client: Client, netloc: str) -> None:
        self.client = client
        self.netloc = netloc
        self.jobs: queue.Queue[_Job | None] = queue.Queue()
        self.session = requests.Session()
        self.robots: Protego | None = None
        self.robots_state: str | None = None  # None (not fetched) | parsed | allow | unreachable
        self.crawl_delay = 0.0
        self.min_gap = 0.0  # grows after error pages, never shrinks within a run
        self.last_end = 0.0
        self.schedule = 0.0  # earliest start of the next request by the rate budget
        self.failures = 0
        self.dead: str | None = None
        self.request_starts: list[float] = []
        self.thread = threading.Thread(target=self._run, name=f"host-{netloc}", daemon=True)
        self.thread.start()

    # -- the worker ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                self.session.close()
                return
            try:
                page = self._handle(job)
            except Exception as exc:  # a bug must not kill the host's worker
                log.exception("unexpected error fetching %s", job.url)
                page = Page(job.url, error_class=type(exc).__name__, error_message=str(exc))
            if page is not None:
                if job.redirects:
                    # Report the URL that was asked for: it is what the caller remembers.
                    page.final_url = page.final_url or job.url
                    page.url = job.redirects[0]
                page.redirects = job.redirects
                job.future.set_result(page)

    def _handle(self, job: _Job) -> Page | None:
        policy = job.policy
        if self.dead:
            return Page(job.url, error_class="HostDown", error_message=self.dead)
        if policy.respect_robots:
            refusal = self._robots_refusal(job)
            if refusal is not None:
                return refusal
        page = self._fetch_with_retries(job.url, policy, job.headers)
        if page.error_class is None and page.status in REDIRECT_STATUSES:
            return self._redirect(job, page)
        return page

    def _redirect(self, job: _Job, page: Page) -> Page | None:
        location = page.header("location")
        if not location:
            return page
        target = normalise_url(location, job.url)
        chain = [*job.redirects, job.url]
        fail = None
        if target in chain:
            fail = ("RedirectLoop", f"redirect loop back to {target}")
        elif len(chain) > job.policy.max_redirects:
            fail = ("TooManyRedirects", f"more than {job.policy.max_redirects} redirects")
        elif urlsplit(target).scheme not in ("http", "https"):
            fail = ("BadRedirect", f"redirect to a non-HTTP URL {target[:200]}")
        elif (
            host_of(target) != host_of(job.url)  # staying on the host is always fine
            and job.policy.allowed_hosts
            and host_of(target) not in job.policy.allowed_hosts
        ):
            fail = ("OffHostRedirect", f"redirect to {host_of(target)}, outside the allowed hosts")
        if fail:
            page.error_class, page.error_message = fail
            return page
        # The next hop goes through its own host's queue, so that host's pacing applies.
        headers = {k: v for k, v in job.headers.items() if k.lower() not in _CONDITIONAL}
        self.client._enqueue(_Job(target, job.policy, job.future, headers, chain))
        return None

    # -- robots.txt ------------------------------------------------------------------------

    def _robots_refusal(self, job: _Job) -> Page | None:
        if self.robots_state is None:
            self._load_robots(job.url, job.policy)
        if self.robots_state == "unreachable":
            return Page(
                job.url,
                error_class="RobotsUnreachable",
                error_message=f"robots.txt of {self.netloc} unreachable: not crawling it this run",
            )
        if self.crawl_delay > job.policy.max_crawl_delay:
            return Page(
                job.url,
                error_class="CrawlDelayTooLong",
                error_message=f"{self.netloc} asks for Crawl-delay {self.crawl_delay:g}s",
            )
        if self.robots is not None and not self.robots.can_fetch(job.url, job.policy.user_agent):
            return Page(job.url, error_class="RobotsDisallowed", error_message="robots.txt")
        return None

    def _load_robots(self, url: str, policy: FetchPolicy) -> None:
        parts = urlsplit(url)
        robots_url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
        # robots.txt may redirect (RFC 9309: follow at least five hops); keep it simple here.
        robots_policy = replace(policy, max_bytes=ROBOTS_MAX_BYTES, retries=min(policy.retries, 2))
        page = self._fetch_with_retries(robots_url, robots_policy, {}, allow_redirects=True)
        if page.error_class is not None or page.status is None or page.status >= 500:
            self.robots_state = "unreachable"
            log.warning("robots.txt of %s unreachable (%s)", self.netloc, page.error_message)
        elif page.status >= 400:
            self.robots_state = "allow"
        elif 200 <= page.status < 300:
            self.robots = Protego.parse(page.body.decode("utf-8", "replace"))
            self.robots_state = "parsed"
            self.crawl_delay = float(self.robots.crawl_delay(policy.user_agent) or 0.0)
        else:  # 3xx left over: treat as unavailable, which RFC 9309 allows
            self.robots_state = "allow"

    # -- one request with retries -------------------------------------------------------

    def _wait_turn(self, policy: FetchPolicy) -> None:
        base = max(policy.delay, self.crawl_delay)
        jitter = random.uniform(0.5, 1.5) if policy.randomize_delay else 1.0
        gap = max(policy.delay * jitter, self.crawl_delay, self.min_gap)
        # The jitter makes single gaps shorter than the delay (as Scrapy does), but the
        # schedule keeps the host's rate since its first request at or below 1/delay:
        # request n never starts before first_start + sum of the delays before it.
        target = max(self.last_end + gap, self.schedule)
        wait = target - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        now = time.monotonic()
        self.schedule = (self.schedule or now) + base

    def _fetch_with_retries(
        self, url: str, policy: FetchPolicy, headers: dict[str, str], allow_redirects: bool = False
    ) -> Page:
        attempt = 0
        while True:
            attempt += 1
            self._wait_turn(policy)
            self.request_starts.append(time.monotonic())
            page = Page(url, attempts=attempt)
            pause: float | None = None
            try:
                self._request(page, policy, headers, allow_redirects)
                self.failures = 0
                if page.status in RETRY_STATUSES:
                    retry_after = parse_retry_after(page.header("retry-after"))
                    if retry_after is not None and retry_after > policy.max_retry_after:
                        page.error_class = f"HTTP{page.status}"
                        page.error_message = f"Retry-After {retry_after:g}s is too long"
                        return page
                    pause = max(retry_after or 0.0, self._backoff(policy, attempt))
                    self.min_gap = max(self.min_gap, min(pause, policy.max_backoff))
                    if attempt > policy.retries:
                        page.error_class = f"HTTP{page.status}"
                        page.error_message = f"HTTP {page.status} after {attempt} attempts"
                        return page
                else:
                    return page
            except _Failure as failure:
                page.error_class, page.error_message = failure.error_class, str(failure)
                if not failure.retry:
                    return page
                self.failures += 1
                if self.failures >= policy.host_failure_limit:
                    self.dead = f"{self.netloc} failed {self.failures} times in a row: {failure}"
                    return page
                if attempt > policy.retries:
                    return page
                pause = self._backoff(policy, attempt)
            finally:
                self.last_end = time.monotonic()
            log.debug("retrying %s in %.2fs (attempt %d)", url, pause, attempt)
            time.sleep(pause)

    @staticmethod
    def _backoff(policy: FetchPolicy, attempt: int) -> float:
        base = policy.backoff * (2 ** (attempt - 1))
        return min(policy.max_backoff, base * random.uniform(0.5, 1.5))

    def _request(
        self, page: Page, policy: FetchPolicy, headers: dict[str, str], allow_redirects: bool
    ) -> None:
        request_headers = {"User-Agent": policy.user_agent, **headers}
        try:
            # requests raises TooManyRedirects at 0 even when not following; keep it >= 1.
            self.session.max_redirects = max(policy.max_redirects, 1)
            response = self.session.get(
                page.url,
                headers=request_headers,
                timeout=(policy.connect_timeout, policy.read_timeout),
                stream=True,
                allow_redirects=allow_redirects,
            )
        except requests.exceptions.Timeout as exc:
            raise _Failure("Timeout", _short(exc), retry=True) from None
        except requests.exceptions.TooManyRedirects as exc:
            raise _Failure("TooManyRedirects", _short(exc)) from None
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            raise _Failure("ConnectionError", _short(exc), retry=True) from None
        except requests.exceptions.RequestException as exc:
            raise _Failure(type(exc).__name__, _short(exc)) from None
        with response:
            page.status = response.status_code
            page.final_url = response.url
            page.headers = {k.lower(): v for k, v in response.headers.items()}
            page.fetched_at = datetime.now(UTC)
            if page.status in REDIRECT_STATUSES or page.status == 304:
                return
            page.body = _read_capped(response, policy)


_CONDITIONAL = frozenset({"if-none-match", "if-modified-since"})


def _short(exc: BaseException) -> str:
    return str(exc)[:300]


def _read_capped(response: requests.Response, policy: FetchPolicy) -> bytes:
    """Read a streamed body, refusing it past ``max_bytes`` or the whole-response deadline."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise _Failure("TooLarge", f"Content-Length {declared} exceeds {policy.max_bytes} bytes")
    deadline = time.monotonic() + policy.deadline
    chunks: list[bytes] = []
    size = 0
    raw = response.raw
    try:
        while True:
            # read1 returns what has arrived instead of waiting for a full chunk, so the
            # deadline is checked even when a server drips one byte at a time.
            chunk = raw.read1(CHUNK, decode_content=True)
            if not chunk:  # urllib3 returns b"" only at the end of the body
                break
            size += len(chunk)
            if size > policy.max_bytes:
                raise _Failure("TooLarge", f"response larger than {policy.max_bytes} bytes")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _Failure(
                    "Deadline", f"response not complete after {policy.deadline:g}s", retry=False
                )
    except _Failure:
        raise
    except requests.exceptions.RequestException as exc:
        raise _Failure("ConnectionError", _short(exc), retry=True) from None
    except Exception as exc:  # urllib3 read/protocol/decode errors
        name = type(exc).__name__
        kind = "Timeout" if "Timeout" in name else "ConnectionError"
        raise _Failure(kind, f"{name}: {_short(exc)}", retry=True) from None
    return b"".join(chunks)


class Client:
    """Per-host queues and workers; create one per run and ``close()`` it at the end."""

    def __init__(self) -> None:
        self._hosts: dict[str, _Host] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(
        self,
        url: str,
        policy: FetchPolicy,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Future:
        """Queue a GET of ``url`` on its host; the future resolves to a :class:`Page`."""
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        future: Future = Future()
        if urlsplit(url).scheme not in ("http", "https"):
            future.set_result(Page(url, error_class="BadURL", error_message=f"not HTTP: {url}"))
            return future
        self._enqueue(_Job(url, policy, future, headers, []))
        return future

    def fetch(self, url: str, policy: FetchPolicy, **conditional: str | None) -> Page:
        """Blocking form of :meth:`submit`."""
        return self.submit(url, policy, **conditional).result()

    def _enqueue(self, job: _Job) -> None:
        netloc = host_of(job.url)
        with self._lock:
            if self._closed:
                job.future.set_result(Page(job.url, error_class="Closed", error_message="closed"))
                return
            host = self._hosts.get(netloc)
            if host is None:
                host = self._hosts[netloc] = _Host(self, netloc)
        host.jobs.put(job)

    def request_starts(self) -> dict[str, list[float]]:
        """Monotonic start time of every request per host (for checks and benchmarks)."""
        with self._lock:
            return {n: list(h.request_starts) for n, h in self._hosts.items()}

    def close(self) -> None:
        with self._lock:
            self._closed = True
            hosts = list(self._hosts.values())
        for host in hosts:
            host.jobs.put(None)
        for host in hosts:
            host.thread.join(timeout=5)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
