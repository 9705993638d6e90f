"""End to end: the bundled demo site scraped through ``waspada scrape``, and evidence export."""

from __future__ import annotations

import json
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_scrape_support import Reply, Site, job_page

from pipeline.cli import cli
from pipeline.demo_site import DEFAULT_ADS_PATH, TELEGRAM_CHANNEL, serve_in_thread, shutdown_server
from pipeline.store import Store


def _demo_ads(tmp_path: Path) -> Path:
    """The shipped demo ads when present, else a small file in the same format."""
    if DEFAULT_ADS_PATH.exists():
        return DEFAULT_ADS_PATH
    path = tmp_path / "demo_ads.jsonl"
    rows = []
    for i in range(23):
        rows.append(
            {
                "id": f"jb{i}",
                "channel": "jobboard",
                "slug": f"operator-{i}",
                "title": f"Operator pabrik {i} di Malaysia",
                "posted_at": "2026-11-01T10:00:00",
                "body": f"Dibutuhkan operator.\nGaji RM {1500 + i}.",
                "company": "PT Maju",
                "country": "MY",
                "salary": {"currency": "MYR", "min": 1500, "max": 2000, "unit": "MONTH"},
            }
        )
    for i in range(12):
        rows.append(
            {
                "id": f"bl{i}",
                "channel": "blog",
                "slug": f"loker-taiwan-{i}",
                "title": f"Loker Taiwan {i}",
                "posted_at": "2026-11-02",
                "body": f"Pabrik Taiwan.\nBiaya proses Rp {i}.000.000",
            }
        )
    for i in range(25):
        rows.append(
            {
                "id": f"tg{i}",
                "channel": "telegram",
                "slug": str(100 + i),
                "title": f"msg {i}",
                "posted_at": "2026-11-03T08:00:00",
                "body": f"LOKER KAMBOJA {i}\nGaji $1000\nhttps://wa.me/62812{i}",
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Counter]]:
    ads_path = _demo_ads(tmp_path)
    channels = Counter(
        json.loads(line)["channel"] for line in ads_path.read_text().splitlines() if line.strip()
    )
    server, base = serve_in_thread(port=0, ads_path=ads_path)
    yield base, channels
    shutdown_server(server)


def _config(tmp_path: Path, base: str, extra: str = "") -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(
        f"""
[[sources]]
name = "demo-board"
kind = "listing"
urls = ["{base}/jobs/"]
delay_seconds = 0
max_pages = 50
detail_link = "a.job-link"
next_page = "a[rel=next]"

[[sources]]
name = "demo-blog"
kind = "rss"
urls = ["{base}/blog/feed/"]
delay_seconds = 0
max_pages = 5

[[sources]]
name = "demo-telegram"
kind = "telegram"
urls = ["{base}/s/{TELEGRAM_CHANNEL}"]
delay_seconds = 0
max_pages = 50
{extra}
""",
        encoding="utf-8",
    )
    return path


def test_scrape_the_demo_site_end_to_end(demo, tmp_path: Path) -> None:
    base, channels = demo
    db = f"sqlite:///{tmp_path}/w.db"
    config = _config(tmp_path, base)
    out = tmp_path / "ads.jsonl"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["scrape", "--config", str(config), "--db", db, "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    by_source = Counter(r["source"] for r in records)
    assert by_source == {
        "demo-board": channels["jobboard"],
        "demo-blog": channels["blog"],
        "demo-telegram": channels["telegram"],
    }
    board = next(r for r in records if r["source"] == "demo-board")
    assert board["title"] and board["url"].startswith(base + "/jobs/")
    assert all(
        r["url"].startswith("https://t.me/") for r in records if r["source"] == "demo-telegram"
    )
    with Store(db) as store:
        run = store.recent_runs(1)[0]
        assert run["status"] == "completed"
        stats = json.loads(run["stats_json"])
        assert stats["per_source"]["demo-board"]["new"] == channels["jobboard"]

    # A rerun fetches no detail page again and stores nothing new.
    again = runner.invoke(
        cli, ["scrape", "--config", str(config), "--db", db, "--output", str(out)]
    )
    assert again.exit_code == 0, again.output
    assert out.read_text() == ""
    with Store(db) as store:
        assert store.count("ads") == sum(channels.values())


def test_scrape_exits_3_when_a_source_fails(demo, tmp_path: Path) -> None:
    base, _ = demo
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = f"""
[[sources]]
name = "dead"
kind = "jsonld"
urls = ["http://127.0.0.1:{port}/job"]
delay_seconds = 0
max_pages = 1
retries = 0
"""
    config = _config(tmp_path, base, dead)
    result = CliRunner().invoke(
        cli, ["scrape", "--config", str(config), "--db", f"sqlite:///{tmp_path}/w.db"]
    )
    assert result.exit_code == 3
    assert "source failed: dead" in result.output


def test_scrape_config_error_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\nname = "x"\nkind = "listing"\nurls = ["http://127.0.0.1:9/"]\n')
    result = CliRunner().invoke(
        cli, ["scrape", "--config", str(bad), "--db", f"sqlite:///{tmp_path}/w.db"]
    )
    assert result.exit_code == 2
    assert "detail_link" in result.output and "Traceback" not in result.output


@pytest.fixture
def collected(tmp_path: Path) -> Iterator[tuple[str, str, bytes]]:
    site = Site(
        {
            "/robots.txt": Reply(404, b""),
            "/list": Reply(200, b'<a class="j" href="/job/1">x</a>'),
            "/job/1": Reply(200, job_page("Loker Kamboja", "Gaji $2000, paspor ditahan agen")),
        }
    )
    config = tmp_path / "c.toml"
    config.write_text(
        f'[[sources]]\nname = "s"\nkind = "listing"\nurls = ["{site.url}/list"]\n'
        'delay_seconds = 0\nmax_pages = 2\ndetail_link = "a.j"\n'
    )
    db = f"sqlite:///{tmp_path}/w.db"
    out = tmp_path / "ads.jsonl"
    result = CliRunner().invoke(
        cli, ["scrape", "--config", str(config), "--db", db, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    ad_id = json.loads(out.read_text().splitlines()[0])["id"]
    yield db, ad_id, site.routes["/job/1"].body
    site.close()


def test_export_and_verify_evidence(collected, tmp_path: Path) -> None:
    db, ad_id, page = collected
    folder = tmp_path / "evidence"
    runner = CliRunner()
    result = runner.invoke(cli, ["export-evidence", ad_id, "--output", str(folder), "--db", db])
    assert result.exit_code == 0, result.output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (folder / manifest["snapshot_file"]).read_bytes() == page
    ad = json.loads((folder / "ad.json").read_text())
    assert ad["id"] == ad_id and ad["fetch"]["status"] == 200
    assert ad["snapshot_sha256"] == manifest["snapshot_sha256"]
    ok = runner.invoke(cli, ["verify-evidence", str(folder)])
    assert ok.exit_code == 0 and "OK" in ok.output

    # Change one byte of the page: verification names the altered file.
    snapshot = folder / manifest["snapshot_file"]
    snapshot.write_bytes(page.replace(b"$2000", b"$9000"))
    bad = runner.invoke(cli, ["verify-evidence", str(folder)])
    assert bad.exit_code == 1 and manifest["snapshot_file"] in bad.output


def test_export_unknown_ad_is_a_clear_error(collected, tmp_path: Path) -> None:
    db, _, _ = collected
    result = CliRunner().invoke(
        cli, ["export-evidence", "ad-nope", "-o", str(tmp_path / "e"), "--db", db]
    )
    assert result.exit_code == 1 and "no ad with id" in result.output


@pytest.mark.parametrize("command", ["scrape", "export-evidence", "verify-evidence"])
def test_collection_commands_have_examples(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Example:" in result.output
