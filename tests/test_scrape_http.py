"""Politeness and robustness of the HTTP client, against real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from test_scrape_support import Reply, Site, html_page

from scrapers.http import Client, FetchPolicy, Page, parse_retry_after

UA = "WaspadaTest/1.0 (+https://example.org/contact)"


def policy(**overrides) -> FetchPolicy:
    values = {
        "user_agent": UA,
        "delay": 0.0,
        "randomize_delay": False,
        "retries": 2,
        "backoff": 0.01,
        "read_timeout": 2.0,
        "connect_timeout": 1.0,
        "deadline": 5.0,
    }
    values.update(overrides)
    return FetchPolicy(**values)


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site({"/robots.txt": Reply(200, b"User-agent: *\nAllow: /\n", content_type="text/plain")})
    yield s
    s.close()


@pytest.fixture
def client() -> Iterator[Client]:
    c = Client()
    yield c
    c.close()


def gaps(site: Site, prefix: str) -> list[float]:
    times = [r.at for r in site.log if r.path.startswith(prefix)]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def test_user_agent_identifies_the_crawler(site: Site, client: Client) -> None:
    site.routes["/a"] = Reply(200, html_page("a", "hello"))
    page = client.fetch(f"{site.url}/a", policy())
    assert page.ok and page.body.endswith(b"</html>")
    assert site.hits("/a")[0].headers["User-Agent"] == UA


def test_robots_disallow_is_obeyed(site: Site, client: Client) -> None:
    site.routes["/robots.txt"] = Reply(
        200, b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    site.routes["/private/x"] = Reply(200, b"secret")
    site.routes["/public"] = Reply(200, b"ok")
    blocked = client.fetch(f"{site.url}/private/x", policy())
    allowed = client.fetch(f"{site.url}/public", policy())
    assert blocked.skipped_by_robots and allowed.ok
    assert site.hits("/private/x") == []
    assert len(site.hits("/robots.txt")) == 1  # cached for the run


def test_robots_can_be_switched_off_per_source(site: Site, client: Client) -> None:
    site.routes["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /\n")
    site.routes["/x"] = Reply(200, b"ok")
    assert client.fetch(f"{site.url}/x", policy(respect_robots=False)).ok
    assert site.hits("/robots.txt") == []


def test_crawl_delay_from_robots_is_honoured(site: Site, client: Client) -> None:
    site.routes["/robots.txt"] = Reply(200, b"User-agent: *\nCrawl-delay: 0.3\n")
    for i in range(3):
        site.routes[f"/p{i}"] = Reply(200, b"ok")
    futures = [client.submit(f"{site.url}/p{i}", policy()) for i in range(3)]
    assert all(f.result().ok for f in futures)
    assert min(gaps(site, "/p")) >= 0.28


def test_configured_delay_is_observed_between_requests(site: Site, client: Client) -> None:
    for i in range(4):
        site.routes[f"/d{i}"] = Reply(200, b"ok")
    futures = [client.submit(f"{site.url}/d{i}", policy(delay=0.2)) for i in range(4)]
    assert all(f.result().ok for f in futures)
    assert min(gaps(site, "/d")) >= 0.19


def test_randomised_delay_stays_within_half_and_one_and_a_half(site: Site, client: Client) -> None:
    for i in range(5):
        site.routes[f"/r{i}"] = Reply(200, b"ok")
    futures = [
        client.submit(f"{site.url}/r{i}", policy(delay=0.1, randomize_delay=True))
        for i in range(5)
    ]
    assert all(f.result().ok for f in futures)
    assert min(gaps(site, "/r")) >= 0.049


def test_one_request_at_a_time_per_host_but_hosts_in_parallel(client: Client) -> None:
    slow = Reply(200, b"ok")
    sites = [Site({"/robots.txt": Reply(404, b"")}) for _ in range(2)]
    try:
        for s in sites:
            s.routes["/slow"] = lambda r: (time.sleep(0.5), slow)[1]
        futures = [client.submit(f"{s.url}/slow?{i}", policy()) for s in sites for i in range(2)]
        assert all(f.result().ok for f in futures)
        for s in sites:
            first, second = (r.at for r in s.log if r.path.startswith("/slow"))
            assert second - first >= 0.49  # the second waited for the first to finish
        starts = sorted(r.at for s in sites for r in s.log if r.path == "/slow?0")
        assert starts[1] - starts[0] < 0.45  # the two hosts did not wait for each other
    finally:
        for s in sites:
            s.close()


def test_429_with_retry_after_is_waited_out(site: Site, client: Client) -> None:
    calls = []

    def limited(request):
        calls.append(request.at)
        if len(calls) == 1:
            return Reply(429, b"slow down", headers={"Retry-After": "1"})
        return Reply(200, b"ok")

    site.routes["/limited"] = limited
    page = client.fetch(f"{site.url}/limited", policy())
    assert page.ok and page.attempts == 2
    assert calls[1] - calls[0] >= 0.95


def test_retry_after_too_long_gives_up_instead_of_sleeping(site: Site, client: Client) -> None:
    site.routes["/busy"] = Reply(503, b"", headers={"Retry-After": "3600"})
    page = client.fetch(f"{site.url}/busy", policy())
    assert page.error_class == "HTTP503" and len(site.hits("/busy")) == 1


def test_500_then_success_is_retried(site: Site, client: Client) -> None:
    answers = iter([Reply(500, b"oops"), Reply(200, b"fine")])
    site.routes["/flaky"] = lambda r: next(answers)
    page = client.fetch(f"{site.url}/flaky", policy())
    assert page.ok and page.body == b"fine" and page.attempts == 2


def test_persistent_5xx_gives_up_after_the_retries(site: Site, client: Client) -> None:
    site.routes["/down"] = Reply(502, b"bad gateway")
    page = client.fetch(f"{site.url}/down", policy(retries=2))
    assert page.error_class == "HTTP502" and len(site.hits("/down")) == 3


def test_error_pages_never_speed_the_crawl_up(site: Site, client: Client) -> None:
    answers = iter([Reply(503, b"", headers={"Retry-After": "0.3"})] + [Reply(200, b"ok")] * 5)
    site.routes["/s"] = lambda r: next(answers)
    site.routes["/t"] = Reply(200, b"ok")
    assert client.fetch(f"{site.url}/s", policy(backoff=0.3)).ok
    assert client.fetch(f"{site.url}/t", policy()).ok
    # After the 503 the host keeps at least the back-off as its gap, though delay is 0.
    assert site.hits("/t")[0].at - site.hits("/s")[-1].at >= 0.14


def test_read_timeout_is_an_error_not_a_hang(site: Site, client: Client) -> None:
    site.routes["/hang"] = lambda r: (time.sleep(1.5), Reply(200, b"late"))[1]
    started = time.monotonic()
    page = client.fetch(f"{site.url}/hang", policy(read_timeout=0.3, retries=0))
    assert page.error_class == "Timeout"
    assert time.monotonic() - started < 1.4


def test_slow_drip_is_cut_off_by_the_deadline(site: Site, client: Client) -> None:
    def drip():
        for _ in range(100):
            yield b"x"
            time.sleep(0.05)

    site.routes["/drip"] = lambda r: Reply(200, drip())
    page = client.fetch(f"{site.url}/drip", policy(deadline=0.4, retries=0))
    assert page.error_class == "Deadline" and page.body == b""


def test_huge_response_is_cut_off_without_reading_it_all(site: Site, client: Client) -> None:
    sent = []

    def fifty_mb():
        chunk = b"a" * 1_000_000
        for _ in range(50):
            sent.append(1)
            yield chunk

    site.routes["/huge"] = lambda r: Reply(200, fifty_mb())
    page = client.fetch(f"{site.url}/huge", policy(max_bytes=2_000_000, retries=0))
    assert page.error_class == "TooLarge" and page.body == b""
    assert len(sent) < 50


def test_declared_oversize_is_refused_from_the_header(site: Site, client: Client) -> None:
    site.routes["/big"] = Reply(200, b"a" * 3000)
    page = client.fetch(f"{site.url}/big", policy(max_bytes=1000))
    assert page.error_class == "TooLarge"


def test_redirect_loop_is_detected(site: Site, client: Client) -> None:
    site.routes["/a"] = Reply(302, b"", headers={"Location": "/b"})
    site.routes["/b"] = Reply(302, b"", headers={"Location": "/a"})
    page = client.fetch(f"{site.url}/a", policy(allowed_hosts=frozenset({site.host})))
    assert page.error_class == "RedirectLoop"
    assert len(site.log) <= 4


def test_redirect_within_host_is_followed(site: Site, client: Client) -> None:
    site.routes["/old"] = Reply(301, b"", headers={"Location": "/new"})
    site.routes["/new"] = Reply(200, b"moved here")
    page = client.fetch(f"{site.url}/old", policy(allowed_hosts=frozenset({site.host})))
    assert page.ok and page.body == b"moved here" and page.final_url.endswith("/new")
    assert page.redirects == [f"{site.url}/old"]


def test_off_host_redirect_is_refused(site: Site, client: Client) -> None:
    other = Site({"/robots.txt": Reply(404, b""), "/elsewhere": Reply(200, b"x")})
    try:
        site.routes["/go"] = Reply(302, b"", headers={"Location": f"{other.url}/elsewhere"})
        page = client.fetch(f"{site.url}/go", policy(allowed_hosts=frozenset({site.host})))
        assert page.error_class == "OffHostRedirect"
        assert other.log == []
    finally:
        other.close()


def test_robots_5xx_means_disallow_for_the_run(site: Site, client: Client) -> None:
    site.routes["/robots.txt"] = Reply(500, b"")
    site.routes["/x"] = Reply(200, b"ok")
    page = client.fetch(f"{site.url}/x", policy(retries=0))
    assert page.error_class == "RobotsUnreachable" and site.hits("/x") == []


def test_robots_4xx_means_allowed(site: Site, client: Client) -> None:
    site.routes["/robots.txt"] = Reply(404, b"")
    site.routes["/x"] = Reply(200, b"ok")
    assert client.fetch(f"{site.url}/x", policy()).ok


def test_dead_host_fails_fast_and_cleanly(client: Client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pages: list[Page] = [
        client.fetch(f"http://127.0.0.1:{port}/p{i}", policy(respect_robots=False))
        for i in range(5)
    ]
    assert all(p.error_class in ("ConnectionError", "HostDown") for p in pages)
    assert pages[-1].error_class == "HostDown"


def test_conditional_headers_are_sent(site: Site, client: Client) -> None:
    site.routes["/c"] = lambda r: Reply(304 if r.headers.get("If-None-Match") == '"v1"' else 200)
    page = client.fetch(f"{site.url}/c", policy(), etag='"v1"', last_modified="x")
    assert page.not_modified
    assert site.hits("/c")[0].headers["If-Modified-Since"] == "x"


def test_retry_after_parses_seconds_and_dates() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("soon") is None
