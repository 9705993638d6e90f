"""The terminal side of review: `waspada queue` and `waspada review`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.ad import Ad
from pipeline.cli import cli
from pipeline.store import Store


@pytest.fixture
def db(sqlite_url):
    with Store(sqlite_url) as store:
        ads = [
            Ad(text="Dicari CS online Kamboja, gaji 15 jt, tiket potong gaji", id="hi"),
            Ad(text="Lowongan kasir Pangkalpinang\x1b[2J", id="mid"),
            Ad(text="Admin gudang Cikarang", id="lo"),
        ]
        store.add_ads(ads)
        store.enqueue(
            [{"ad_id": a.id, "priority": p} for a, p in zip(ads, [0.9, 0.5, 0.2], strict=True)]
        )
    return sqlite_url


def run(db, *args, input=None):
    return CliRunner().invoke(cli, [*args, "--db", db], input=input)


def test_queue_lists_items_by_priority_as_table_and_json(db):
    table = run(db, "queue")
    assert table.exit_code == 0 and "open: 3" in table.output
    assert table.output.index("hi") < table.output.index("mid") < table.output.index("lo")
    lines = run(db, "queue", "--json").output.splitlines()
    assert [json.loads(line)["ad_id"] for line in lines] == ["hi", "mid", "lo"]


def test_review_records_one_decision(db):
    result = run(
        db, "review", "--reviewer", "ani", "--ad", "mid", "--label", "legit", "--note", "ok"
    )
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        assert store.latest_decisions()["mid"]["note"] == "ok"
    bad = run(db, "review", "--reviewer", "ani", "--ad", "nope", "--label", "legit")
    assert bad.exit_code == 1 and "no ad with id" in bad.output


def test_interactive_review_labels_skips_and_quits(db):
    # 1 = tppo for the top item, s skips the next, q quits on the third.
    result = run(db, "review", "--reviewer", "ani", input="1\ns\nq\n")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output  # control characters of scraped text are not echoed
    assert "Admin gudang" in result.output  # after the skip, the next item, not the same one
    with Store(db) as store:
        assert {k: v["label"] for k, v in store.latest_decisions().items()} == {"hi": "tppo"}
        assert {e.ad_id for e in store.queue()} == {"mid", "lo"}
        assert all(e.claimed_by is None for e in store.queue())
