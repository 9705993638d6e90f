"""The nightly batch end to end: the demo job board over real HTTP into a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.nightly import run_nightly
from pipeline.paths import DEMO_SITE_DIR, PROJECT_ROOT
from pipeline.store import Store

DEMO_CONFIG = PROJECT_ROOT / "config" / "demo.toml"


@pytest.fixture(scope="module")
def demo_site():
    from pipeline.demo_site import serve_in_thread

    server, base_url = serve_in_thread(port=0)
    yield base_url.rstrip("/")
    server.shutdown()


def write_config(tmp_path: Path, base_url: str, delay: float = 0.0) -> Path:
    """The bundled demo configuration, pointed at the test's server and database."""
    text = DEMO_CONFIG.read_text(encoding="utf-8").replace("http://127.0.0.1:8765", base_url)
    text = text.replace("delay_seconds = 0.02", f"delay_seconds = {delay}")
    text = text.replace('url = "sqlite:///data/waspada.db"', f'url = "sqlite:///{tmp_path}/w.db"')
    text = text.replace('reports_dir = "data/reports"', f'reports_dir = "{tmp_path}/reports"')
    path = tmp_path / "demo.toml"
    path.write_text(text, encoding="utf-8")
    return path


def demo_labels() -> dict[str, int]:
    """Ground truth of the demo ads (never served by the site), keyed by normalised body."""
    labels = {}
    for line in (DEMO_SITE_DIR / "ads.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            ad = json.loads(line)
            labels[" ".join(ad["body"].split())[:200]] = ad["label"]
    return labels


def label_of(text: str, labels: dict[str, int]) -> int | None:
    flat = " ".join(text.split())
    for key, label in labels.items():
        if key[:120] in flat:
            return label
    return None


def test_nightly_collects_scores_queues_and_reports(tmp_path, demo_site):
    config = load_config(write_config(tmp_path, demo_site))
    result = run_nightly(config)
    assert result.status == "completed", result.stats
    assert result.exit_code == 0
    stats = result.stats
    assert stats["new_ads"] >= 80
    assert stats["scored"] == stats["new_ads"]
    assert stats["enqueued"] > 0 and stats["enqueued_uncertain"] >= 1
    report = result.report_path.read_text(encoding="utf-8")
    assert "Top of the review queue" in report and "data:image/png;base64," in report

    with Store(config.database_url) as store:
        queue = store.queue(limit=20)
        # Every ad links to the exact page it came from.
        ad = store.get_ad(queue[0].ad_id)
        assert ad.snapshot_sha256 and store.get_snapshot(ad.snapshot_sha256)
    # The demo's scam ads are mostly on top (labels are the demo's ground truth).
    labels = demo_labels()
    top = [label_of(e.text, labels) for e in queue[:15] if e.reason == "score"]
    known = [x for x in top if x is not None]
    assert len(known) >= 8
    assert sum(known) / len(known) >= 0.7, top


def test_a_second_run_adds_nothing(tmp_path, demo_site):
    config = load_config(write_config(tmp_path, demo_site))
    run_nightly(config)
    with Store(config.database_url) as store:
        before = {t: store.count(t) for t in ("ads", "snapshots", "scores", "queue_items")}
    second = run_nightly(config)
    assert second.stats["new_ads"] == 0 and second.stats["enqueued"] == 0
    with Store(config.database_url) as store:
        assert {t: store.count(t) for t in before} == before


def test_a_killed_run_can_simply_be_run_again(tmp_path, demo_site):
    clean_dir = tmp_path / "clean"
    clean_dir.mkdir()
    clean = load_config(write_config(clean_dir, demo_site))
    run_nightly(clean)
    with Store(clean.database_url) as store:
        expected = {t: store.count(t) for t in ("ads", "scores", "queue_items")}

    killed_dir = tmp_path / "killed"
    killed_dir.mkdir()
    path = write_config(killed_dir, demo_site, delay=0.03)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "-q", "nightly", "--config", str(path)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = killed_dir / "w.db"
    # Kill it hard once it has stored some ads but (most likely) before it finished.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
        if db.exists():
            try:
                with Store(f"sqlite:///{db}", create=False) as store:
                    if store.schema_version() and store.count("ads") >= 10:
                        break
            except Exception:  # the database is being created right now
                continue
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(10)

    result = run_nightly(load_config(path))
    assert result.status == "completed"
    with Store(f"sqlite:///{db}") as store:
        assert {t: store.count(t) for t in expected} == expected
        runs = store.recent_runs()
    assert runs[0]["status"] == "completed"


def test_nightly_cli_exit_codes(tmp_path, demo_site):
    runner = CliRunner()
    bad = tmp_path / "bad.toml"
    bad.write_text("[[sources]]\nname = 'x'\nkind = 'ftp'\nurls = ['a']\n", encoding="utf-8")
    result = runner.invoke(cli, ["nightly", "--config", str(bad)])
    assert result.exit_code == 2 and "kind 'ftp'" in result.output

    # A dead source: the run completes with the others and exits 3.
    path = write_config(tmp_path, demo_site)
    text = path.read_text(encoding="utf-8") + (
        '\n[[sources]]\nname = "dead"\nkind = "rss"\nurls = ["http://127.0.0.1:9/feed/"]\n'
        "delay_seconds = 0\nmax_pages = 1\nretries = 0\ntimeout_seconds = 2\n"
    )
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(cli, ["nightly", "--config", str(path)])
    assert result.exit_code == 3, result.output
    assert "nightly run" in result.output and "report:" in result.output
