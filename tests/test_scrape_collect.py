"""Collecting sources into the store: incremental reruns, evidence, failures, encodings."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_scrape_support import Reply, Site, fast, html_page, job_page, make_config, open_store

from pipeline import ConfigError
from pipeline.store import fetches, snapshots
from scrapers.collect import collect


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site({"/robots.txt": Reply(200, b"User-agent: *\nDisallow: /admin/\n")})
    yield s
    s.close()


def board(site: Site, jobs: int = 6, per_page: int = 3) -> None:
    """A listing with pages of ``per_page`` links each and JobPosting detail pages."""
    pages = (jobs + per_page - 1) // per_page
    for p in range(1, pages + 1):
        links = "".join(
            f'<li><a class="job-link" href="/job/{i}">Job {i}</a></li>'
            for i in range((p - 1) * per_page, min(p * per_page, jobs))
        )
        nav = f'<a rel="next" href="/list?page={p + 1}">next</a>' if p < pages else ""
        site.routes[f"/list?page={p}" if p > 1 else "/list"] = Reply(
            200, html_page(f"page {p}", f"<ul>{links}</ul>{nav}")
        )
    for i in range(jobs):
        site.routes[f"/job/{i}"] = Reply(
            200, job_page(f"Operator {i} di Malaysia", f"Gaji RM {1500 + i}.<br>Hubungi WA.")
        )


def listing_source(site: Site, **extra) -> dict:
    return {
        "name": "board",
        "kind": "listing",
        "urls": [f"{site.url}/list"],
        "max_pages": 10,
        "detail_link": "a.job-link",
        **fast(**extra),
    }


def test_listing_collects_every_detail_with_evidence(site: Site, tmp_path: Path) -> None:
    board(site)
    config = make_config(tmp_path, listing_source(site))
    with open_store(config) as store:
        run = store.start_run("scrape")
        report = collect(config, store, run)
        counters = report.per_source["board"]
        assert counters["new"] == 6 and counters["ads"] == 6 and counters["errors"] == 0
        assert counters["pages"] == 2 and counters["fetched"] == 8
        assert len(report.ad_ids) == 6 and report.failed_sources == []
        ads = list(store.iter_ads(report.ad_ids))
        ad = next(a for a in ads if a.url.endswith("/job/1"))
        assert ad.source == "board" and ad.title == "Operator 1 di Malaysia"
        assert ad.company == "PT Contoh"
        assert "Gaji RM 1501.\nHubungi WA." in ad.text  # line breaks kept
        body = store.get_snapshot(ad.snapshot_sha256)
        assert body == site.routes["/job/1"].body
        assert hashlib.sha256(body).hexdigest() == ad.snapshot_sha256


def test_rerun_fetches_nothing_new(site: Site, tmp_path: Path) -> None:
    board(site)
    config = make_config(tmp_path, listing_source(site))
    with open_store(config) as store:
        collect(config, store, store.start_run("scrape"))
        before = len(site.log)
        report = collect(config, store, store.start_run("scrape"))
        counters = report.per_source["board"]
        assert counters["new"] == 0 and counters["skipped_seen"] == 6
        assert report.ad_ids == []
        fetched_again = site.paths()[before:]
        assert not any(p.startswith("/job/") for p in fetched_again)
        assert store.count("ads") == 6


def test_rerun_picks_up_only_the_new_ad(site: Site, tmp_path: Path) -> None:
    board(site, jobs=3)
    config = make_config(tmp_path, listing_source(site))
    with open_store(config) as store:
        collect(config, store, store.start_run("scrape"))
        board(site, jobs=4)
        before = len(site.log)
        report = collect(config, store, store.start_run("scrape"))
        details = [p for p in site.paths()[before:] if p.startswith("/job/")]
        assert details == ["/job/3"] and len(report.ad_ids) == 1


def test_conditional_get_uses_etag(site: Site, tmp_path: Path) -> None:
    feed = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Loker Jepang</title><link>http://x.example/1</link>"
        b"<description>Kerja di Jepang, gaji besar</description></item></channel></rss>"
    )

    def serve(request):
        if request.headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"", headers={"ETag": '"v1"'})
        return Reply(200, feed, headers={"ETag": '"v1"'}, content_type="application/rss+xml")

    site.routes["/feed"] = serve
    source = {"name": "blog", "kind": "rss", "urls": [f"{site.url}/feed"], **fast()}
    config = make_config(tmp_path, source)
    with open_store(config) as store:
        first = collect(config, store, store.start_run("scrape"))
        second = collect(config, store, store.start_run("scrape"))
    assert first.per_source["blog"]["new"] == 1
    assert second.per_source["blog"]["not_modified"] == 1
    assert second.per_source["blog"]["new"] == 0 and second.failed_sources == []


def test_duplicate_links_across_pages_are_fetched_once(site: Site, tmp_path: Path) -> None:
    board(site, jobs=2, per_page=2)
    site.routes["/list"] = Reply(
        200,
        html_page(
            "p1",
            '<a class="job-link" href="/job/0">a</a><a class="job-link" href="/job/0#top">a</a>'
            '<a rel="next" href="/list?page=2">n</a>',
        ),
    )
    site.routes["/list?page=2"] = Reply(
        200,
        html_page(
            "p2", '<a class="job-link" href="/job/0">a</a><a class="job-link" href="/job/1">b</a>'
        ),
    )
    config = make_config(tmp_path, listing_source(site))
    with open_store(config) as store:
        report = collect(config, store, store.start_run("scrape"))
        assert site.paths().count("/job/0") == 1
        assert report.per_source["board"]["new"] == 2 and store.count("ads") == 2


def test_robots_disallowed_details_are_counted_not_fetched(site: Site, tmp_path: Path) -> None:
    site.routes["/list"] = Reply(
        200,
        html_page(
            "l", '<a class="job-link" href="/admin/9">x</a><a class="job-link" href="/job/0">y</a>'
        ),
    )
    site.routes["/job/0"] = Reply(200, job_page("Sopir", "Sopir di Dubai"))
    config = make_config(tmp_path, listing_source(site))
    with open_store(config) as store:
        report = collect(config, store, store.start_run("scrape"))
    assert report.per_source["board"]["skipped_robots"] == 1
    assert "/admin/9" not in site.paths()


def test_a_dead_source_fails_alone(site: Site, tmp_path: Path) -> None:
    board(site, jobs=2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    dead = {
        "name": "dead",
        "kind": "jsonld",
        "urls": [f"http://127.0.0.1:{dead_port}/x"],
        **fast(),
    }
    config = make_config(tmp_path, dead, listing_source(site))
    with open_store(config) as store:
        run = store.start_run("scrape")
        report = collect(config, store, run)
        assert report.failed_sources == ["dead"]
        assert report.per_source["board"]["new"] == 2
        assert report.per_source["dead"]["errors_RobotsUnreachable"] == 1
        error = report.errors[0]
        assert error["source"] == "dead" and error["error_class"] == "RobotsUnreachable"
        assert store.fetch_errors(run)[0]["source_name"] == "dead"


def test_bad_pages_are_recorded_and_the_run_goes_on(site: Site, tmp_path: Path) -> None:
    board(site, jobs=4)
    site.routes["/job/1"] = Reply(404, b"gone")
    site.routes["/job/2"] = Reply(200, b"")  # empty page
    site.routes["/job/3"] = Reply(200, b"<html><body><div><p>Kerja <b>di Taiwan<div></i></html")
    config = make_config(tmp_path, listing_source(site))
    with open_store(config) as store:
        run = store.start_run("scrape")
        report = collect(config, store, run)
        counters = report.per_source["board"]
        assert counters["errors_HTTP404"] == 1 and counters["errors"] == 1
        assert counters["new"] == 2  # job 0, and the malformed job 3 (generic extraction)
        malformed = next(a for a in store.iter_ads() if a.url.endswith("/job/3"))
        assert "Kerja di Taiwan" in malformed.text
        assert report.failed_sources == []
        errors = store.fetch_errors(run)
        assert [e["error_class"] for e in errors] == ["HTTP404"]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        # Declared correctly as windows-1252.
        ("text/html; charset=windows-1252", "Gaji €500 — “bebas biaya”".encode("cp1252")),
        # Declared UTF-8, but the bytes are windows-1252: the wrong header must not win.
        ("text/html; charset=utf-8", "Gaji €500 — “bebas biaya”".encode("cp1252")),
        # No charset at all; Indonesian text in latin-1 with a meta tag.
        (
            "text/html",
            b'<meta charset="iso-8859-1">'
            + "Lowongan kerja café Jepang, gaji ¥200.000, naïve".encode("latin-1"),
        ),
        # No charset, no meta: detection.
        (
            "text/html",
            "Pekerjaan di Malaysia untuk lulusan SMA, gaji RM 2.000 “bersih” — tanpa potongan, tiket pesawat ditanggung, mess gratis, makan 3× sehari.".encode(
                "cp1252"
            ),
        ),
    ],
)
def test_wrong_and_missing_charsets_decode(site: Site, tmp_path: Path, content_type, body) -> None:
    site.routes["/page"] = Reply(
        200,
        b"<html><body><article>" + body + b"</article></body></html>",
        content_type=content_type,
    )
    source = {
        "name": "one",
        "kind": "listing",
        "urls": [f"{site.url}/list"],
        "detail_link": "a",
        **fast(),
    }
    site.routes["/list"] = Reply(200, html_page("l", '<a href="/page">p</a>'))
    config = make_config(tmp_path, source)
    with open_store(config) as store:
        collect(config, store, store.start_run("scrape"))
        (ad,) = list(store.iter_ads())
    assert "\ufffd" not in ad.text
    assert any(word in ad.text for word in ("€500", "café", "“bersih”"))


def test_undecodable_bytes_never_crash(site: Site, tmp_path: Path) -> None:
    site.routes["/list"] = Reply(200, html_page("l", '<a href="/x">p</a>'))
    site.routes["/x"] = Reply(200, b"<html><body><p>Gaji \xff\xfe\x00\x81 besar</p></body></html>")
    source = {
        "name": "one",
        "kind": "listing",
        "urls": [f"{site.url}/list"],
        "detail_link": "a",
        **fast(),
    }
    config = make_config(tmp_path, source)
    with open_store(config) as store:
        report = collect(config, store, store.start_run("scrape"))
        assert report.per_source["one"]["new"] == 1


def test_killed_run_rerun_gives_no_duplicates(site: Site, tmp_path: Path) -> None:
    board(site, jobs=6)
    config = make_config(tmp_path, listing_source(site))
    with open_store(config) as store:
        collect(config, store, store.start_run("scrape"))
        # Simulate a kill after the ads were stored but before their fetches were recorded.
        with store.begin() as conn:
            conn.execute(
                sa.text("DELETE FROM url_state WHERE url LIKE '%/job/4' OR url LIKE '%/job/5'")
            )
        report = collect(config, store, store.start_run("scrape"))
        assert store.count("ads") == 6
        assert report.per_source["board"]["unchanged"] == 2 and report.ad_ids == []


def test_changed_page_is_noticed_on_recheck(site: Site, tmp_path: Path) -> None:
    board(site, jobs=2)
    config = make_config(tmp_path, listing_source(site, recheck_details=True))
    with open_store(config) as store:
        collect(config, store, store.start_run("scrape"))
        site.routes["/job/1"] = Reply(
            200, job_page("Operator 1 di Malaysia", "Gaji naik, biaya Rp 20 juta")
        )
        report = collect(config, store, store.start_run("scrape"))
        assert report.per_source["board"]["changed"] == 1 and len(report.ad_ids) == 1
        # The old snapshot is still there, untouched: raw evidence is immutable.
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(snapshots)).scalar() >= 4


def test_telegram_channel_pages_backwards(site: Site, tmp_path: Path) -> None:
    def message(n: int) -> str:
        return (
            f'<div class="tgme_widget_message js-widget_message" data-post="lokerku/{n}">'
            f'<div class="tgme_widget_message_text">Loker {n}<br>Gaji besar</div>'
            f'<a class="tgme_widget_message_date" href="https://t.me/lokerku/{n}">'
            f'<time datetime="2026-11-0{n % 9 + 1}T10:00:00+00:00">x</time></a></div>'
        )

    site.routes["/s/lokerku"] = Reply(
        200,
        html_page(
            "c", '<link rel="prev" href="/s/lokerku?before=3">' + message(3) + message(4), head=""
        ),
    )
    site.routes["/s/lokerku?before=3"] = Reply(200, html_page("c", message(1) + message(2)))
    source = {"name": "tg", "kind": "telegram", "urls": [f"{site.url}/s/lokerku"], **fast()}
    config = make_config(tmp_path, source)
    with open_store(config) as store:
        report = collect(config, store, store.start_run("scrape"))
        urls = sorted(a.url for a in store.iter_ads())
    assert report.per_source["tg"]["new"] == 4
    assert urls == [f"https://t.me/lokerku/{n}" for n in (1, 2, 3, 4)]


def test_files_source_reads_saved_pages_csv_jsonl_and_emscad(tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "a.html").write_bytes(job_page("TKW Hongkong", "Tanpa biaya, potong gaji 7 bulan"))
    (folder / "ads.jsonl").write_text(
        json.dumps({"id": "given-1", "text": "Kerja di Kamboja", "extra_field": 1}) + "\n"
    )
    (folder / "ads.csv").write_text(
        "title,description,url\nSopir,Sopir di Qatar,http://x.example/1\n"
    )
    emscad = 'job_id,title,location,department,salary_range,company_profile,description,requirements,benefits,telecommuting,has_company_logo,has_questions,employment_type,required_experience,required_education,industry,function,fraudulent\n7,Data entry,"US, CA",,,,Work from home,,,1,0,0,,,,,,1\n'
    (folder / "emscad.csv.gz").write_bytes(gzip.compress(emscad.encode()))
    source = {"name": "saved", "kind": "files", "urls": [str(folder)]}
    config = make_config(tmp_path, source)
    with open_store(config) as store:
        report = collect(config, store, store.start_run("scrape"))
        ads = {a.id: a for a in store.iter_ads()}
        assert report.per_source["saved"]["new"] == 4, report.errors
        assert ads["given-1"].extra["extra_field"] == 1
        assert any(a.extra.get("fraudulent") == "1" for a in ads.values())
        assert all(a.snapshot_sha256 for a in ads.values())
        again = collect(config, store, store.start_run("scrape"))
        assert again.per_source["saved"]["skipped_seen"] == 4 and again.ad_ids == []


def test_missing_files_fail_the_source(tmp_path: Path) -> None:
    config = make_config(
        tmp_path, {"name": "gone", "kind": "files", "urls": [str(tmp_path / "nope")]}
    )
    with open_store(config) as store:
        report = collect(config, store)
    assert report.failed_sources == ["gone"]


def test_listing_without_selectors_is_a_config_error(tmp_path: Path) -> None:
    config = make_config(
        tmp_path, {"name": "x", "kind": "listing", "urls": ["http://127.0.0.1:9/"]}
    )
    with open_store(config) as store, pytest.raises(ConfigError):
        collect(config, store)


def test_fetch_records_keep_status_headers_and_hash(site: Site, tmp_path: Path) -> None:
    board(site, jobs=1)
    config = make_config(tmp_path, listing_source(site))
    with open_store(config) as store:
        run = store.start_run("scrape")
        collect(config, store, run)
        with store.engine.connect() as conn:
            rows = conn.execute(sa.select(fetches).where(fetches.c.run_id == run)).mappings().all()
    job = next(r for r in rows if r["url"].endswith("/job/0"))
    assert (
        job["status"] == 200
        and job["sha256"]
        and "content-type" in json.loads(job["headers_json"])
    )


def test_jsonld_source_reads_its_pages_and_skips_unchanged_ones(
    site: Site, tmp_path: Path
) -> None:
    for i in range(3):
        site.routes[f"/j{i}"] = Reply(200, job_page(f"Cleaning service {i}", "Di Singapura"))
    source = {
        "name": "pages",
        "kind": "jsonld",
        "urls": [f"{site.url}/j{i}" for i in range(3)],
        **fast(),
    }
    config = make_config(tmp_path, source)
    with open_store(config) as store:
        first = collect(config, store, store.start_run("scrape"))
        site.routes["/j2"] = Reply(
            200, job_page("Cleaning service 2", "Di Singapura, biaya Rp 30 juta")
        )
        second = collect(config, store, store.start_run("scrape"))
    assert first.per_source["pages"]["new"] == 3
    assert second.per_source["pages"]["changed"] == 1 and len(second.ad_ids) == 1


def test_redirected_detail_is_remembered_under_its_link(site: Site, tmp_path: Path) -> None:
    site.routes["/list"] = Reply(200, html_page("l", '<a class="job-link" href="/old">x</a>'))
    site.routes["/old"] = Reply(301, b"", headers={"Location": "/new"})
    site.routes["/new"] = Reply(200, job_page("Tukang las", "Di Qatar"))
    config = make_config(tmp_path, listing_source(site))
    with open_store(config) as store:
        first = collect(config, store, store.start_run("scrape"))
        (ad,) = list(store.iter_ads())
        before = len(site.log)
        collect(config, store, store.start_run("scrape"))
    assert first.per_source["board"]["new"] == 1 and ad.url.endswith("/old")
    assert "/old" not in site.paths()[before:]


def test_oversized_local_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text(json.dumps({"text": "x" * 5000}) + "\n")
    source = {"name": "f", "kind": "files", "urls": [str(big)], "max_bytes": 1000}
    config = make_config(tmp_path, source)
    with open_store(config) as store:
        report = collect(config, store)
    assert report.per_source["f"]["errors_TooLarge"] == 1


@pytest.mark.emscad
def test_real_emscad_rows_are_read(tmp_path: Path) -> None:
    from pipeline.paths import EMSCAD_CSV

    if not EMSCAD_CSV.exists():
        pytest.skip(f"EMSCAD data not found at {EMSCAD_CSV}")
    with gzip.open(EMSCAD_CSV, "rt", encoding="utf-8", newline="") as stream:
        head = "".join(line for _, line in zip(range(400), stream, strict=False))
    sample = tmp_path / "emscad_head.csv"
    sample.write_text(head.rsplit("\n", 1)[0] + "\n", encoding="utf-8")
    config = make_config(tmp_path, {"name": "emscad", "kind": "files", "urls": [str(sample)]})
    with open_store(config) as store:
        report = collect(config, store)
        ads = list(store.iter_ads())
    assert report.per_source["emscad"]["new"] > 10
    assert all("job_id" in a.extra and "fraudulent" in a.extra for a in ads)


def test_two_sources_sharing_a_listing_each_get_their_ads(site: Site, tmp_path: Path) -> None:
    board(site, jobs=2)
    first = listing_source(site)
    second = {**listing_source(site), "name": "board-copy"}
    with open_store(make_config(tmp_path, first)) as store:
        collect(make_config(tmp_path, first), store)
        report = collect(make_config(tmp_path, first, second), store)
    assert report.per_source["board-copy"]["new"] == 2
