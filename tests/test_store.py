"""The store, against a real SQLite file and (with WASPADA_TEST_PG) a real PostgreSQL server."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from pipeline import WaspadaError
from pipeline.ad import Ad
from pipeline.store import MIGRATIONS, SCHEMA_VERSION, Store, decisions, queue_items, snapshots


@pytest.fixture
def store(db_url):
    with Store(db_url) as s:
        yield s


def make_ads(n: int, source: str = "src") -> list[Ad]:
    return [
        Ad(text=f"Lowongan nomor {i}: admin gudang", source=source, url=f"http://x/{i}")
        for i in range(n)
    ]


def test_new_database_gets_the_current_schema_version(store):
    assert store.schema_version() == SCHEMA_VERSION
    # Opening it again applies nothing and keeps the version.
    assert Store(store.url).schema_version() == SCHEMA_VERSION


def test_reinserting_the_same_ads_changes_nothing(store):
    run = store.start_run("scrape")
    assert store.add_ads(make_ads(5), run) == {"new": 5, "changed": 0, "unchanged": 0}
    assert store.add_ads(make_ads(5), run) == {"new": 0, "changed": 0, "unchanged": 5}
    assert store.count("ads") == 5


def test_changed_text_updates_the_ad_and_drops_its_derived_rows(store):
    ad = make_ads(1)[0]
    store.add_ads([ad])
    store.save_scores(
        [
            {
                "ad_id": ad.id,
                "model_version": "m1",
                "text_hash": ad.text_hash,
                "score": 0.9,
                "flagged": True,
            }
        ]
    )
    changed = Ad(text="Lowongan baru, teks berubah", source=ad.source, url=ad.url)
    assert changed.id == ad.id
    assert store.add_ads([changed]) == {"new": 0, "changed": 1, "unchanged": 0}
    assert store.get_ad(ad.id).text == "Lowongan baru, teks berubah"
    assert store.ads_without_score("m1") == [ad.id]


def test_given_ids_and_unknown_fields_survive_a_round_trip(store):
    ad = Ad.from_record(
        {"id": "partner-42", "text": "Dicari CS", "has_company_logo": 0, "x": [1, 2]}
    )
    store.add_ads([ad])
    back = store.get_ad("partner-42")
    assert back.id == "partner-42"
    assert back.extra == {"has_company_logo": 0, "x": [1, 2]}


def test_snapshots_are_content_addressed_and_verified(store):
    body = "<html>Gaji 15 jt</html>".encode("latin-1", "replace") + b"\xff\xfe"
    first = store.put_snapshot(body)
    second = store.put_snapshot(body)
    assert first == second
    assert store.count("snapshots") == 1
    assert store.get_snapshot(first) == body
    # Tampering with the stored bytes is detected on read.
    import gzip

    with store.begin() as conn:
        conn.execute(snapshots.update().values(body_gz=gzip.compress(b"altered")))
    with pytest.raises(WaspadaError, match="corrupt"):
        store.get_snapshot(first)


def test_fetches_update_the_url_state_used_by_reruns(store):
    run = store.start_run("scrape")
    sha = store.put_snapshot(b"page")
    store.record_fetch(
        run_id=run,
        source_name="s",
        url="http://x/1",
        status=200,
        sha256=sha,
        etag='"abc"',
        headers={"ETag": '"abc"'},
    )
    store.record_fetch(
        run_id=run,
        source_name="s",
        url="http://x/2",
        error_class="ConnectTimeout",
        error_message="timed out",
    )
    states = store.url_states(["http://x/1", "http://x/2"], "s")
    assert store.url_states(["http://x/1"], "other-source") == {}
    assert states["http://x/1"]["etag"] == '"abc"' and states["http://x/1"]["sha256"] == sha
    assert "http://x/2" not in states  # a failed fetch leaves nothing to skip next time
    assert [e["error_class"] for e in store.fetch_errors(run)] == ["ConnectTimeout"]


def test_enqueue_is_idempotent_and_orders_by_priority(store):
    ads = make_ads(3)
    store.add_ads(ads)
    items = [{"ad_id": a.id, "priority": p} for a, p in zip(ads, [0.2, 0.9, 0.5], strict=True)]
    assert sorted(store.enqueue(items)) == sorted(i["ad_id"] for i in items)
    assert store.enqueue(items) == []
    assert [e.priority for e in store.queue()] == [0.9, 0.5, 0.2]


def test_two_reviewers_never_hold_the_same_item(store):
    ads = make_ads(2)
    store.add_ads(ads)
    store.enqueue([{"ad_id": a.id, "priority": 1.0} for a in ads])
    first = store.claim_next("ani")
    second = store.claim_next("budi")
    assert {first.ad_id, second.ad_id} == {a.id for a in ads}
    assert store.claim_next("citra") is None
    # A reload gives ani her own item back, not a new one.
    assert store.claim_next("ani").ad_id == first.ad_id


def test_expired_and_released_claims_come_back(store):
    ad = make_ads(1)[0]
    store.add_ads([ad])
    store.enqueue([{"ad_id": ad.id, "priority": 1.0}])
    store.claim_next("ani")
    store.release(ad.id, "ani")
    assert store.claim_next("budi").ad_id == ad.id
    with store.begin() as conn:
        past = sa.func.now() - timedelta(hours=1) if conn.dialect.name == "postgresql" else None
        conn.execute(
            queue_items.update().values(
                claim_expires_at=past
                if past is not None
                else sa.text("datetime('now', '-1 hour')")
            )
        )
    assert store.claim_next("citra").ad_id == ad.id


def test_concurrent_claims_from_separate_connections_do_not_collide(db_url):
    with Store(db_url) as setup:
        ads = make_ads(20)
        setup.add_ads(ads)
        setup.enqueue([{"ad_id": a.id, "priority": i} for i, a in enumerate(ads)])
    claimed: dict[str, list[str]] = {"r0": [], "r1": [], "r2": [], "r3": []}

    def work(name: str) -> None:
        with Store(db_url) as s:
            while (entry := s.claim_next(name)) is not None:
                claimed[name].append(entry.ad_id)
                s.decide(entry.ad_id, name, "legit")

    threads = [threading.Thread(target=work, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [ad for ids in claimed.values() for ad in ids]
    assert sorted(everything) == sorted(a.id for a in ads)  # each exactly once


def test_decisions_are_append_only_and_the_latest_counts(store):
    ad = make_ads(1)[0]
    store.add_ads([ad])
    store.enqueue([{"ad_id": ad.id, "priority": 1.0}])
    store.decide(ad.id, "ani", "tppo", "Kamboja, CS online")
    store.reopen(ad.id)
    store.decide(ad.id, "ani", "legit", "salah klik")
    history = store.decision_history(ad.id)
    assert [d["label"] for d in history] == ["tppo", "legit"]
    assert store.latest_decisions()[ad.id]["label"] == "legit"
    assert store.queue(status="done")[0].ad_id == ad.id
    with pytest.raises(WaspadaError, match="unknown label"):
        store.decide(ad.id, "ani", "maybe")
    with pytest.raises(WaspadaError, match="no ad"):
        store.decide("ad-missing", "ani", "legit")


def test_sqlite_refuses_to_edit_or_delete_decisions(sqlite_url):
    with Store(sqlite_url) as store:
        ad = make_ads(1)[0]
        store.add_ads([ad])
        store.decide(ad.id, "ani", "tppo")
        for statement in (decisions.update().values(label="legit"), decisions.delete()):
            with pytest.raises(sa.exc.DBAPIError), store.begin() as conn:
                conn.execute(statement)
        assert store.decision_history(ad.id)[0]["label"] == "tppo"


def test_an_upgrade_keeps_reviewer_decisions(db_url):
    with Store(db_url) as store:
        ad = make_ads(1)[0]
        store.add_ads([ad])
        store.decide(ad.id, "ani", "nonprocedural", "Batam jalur belakang")

    def add_reviewer_team(conn):
        conn.exec_driver_sql("ALTER TABLE decisions ADD COLUMN team VARCHAR(50)")

    with Store(db_url, create=False) as store:
        assert store.migrate([*MIGRATIONS, add_reviewer_team]) == SCHEMA_VERSION + 1
        assert store.schema_version() == SCHEMA_VERSION + 1
        history = store.decision_history(ad.id)
        assert [(d["label"], d["note"]) for d in history] == [
            ("nonprocedural", "Batam jalur belakang")
        ]
        assert "team" in {c["name"] for c in sa.inspect(store.engine).get_columns("decisions")}


def test_a_database_newer_than_the_code_is_refused(db_url):
    with Store(db_url) as store:
        store.migrate([*MIGRATIONS, lambda conn: None])
    with pytest.raises(WaspadaError, match="newer than this release"):
        Store(db_url)


def test_a_bad_database_url_is_a_one_line_error():
    with pytest.raises(WaspadaError, match="not a database URL"):
        Store("no-such-scheme")


def test_nightly_counts_only_the_uncertain_items_really_queued(store):
    """A new model scores every ad again: ads already in the queue are planned but kept as
    they were, and the run says how many items it really added, of each kind."""
    from types import SimpleNamespace

    from pipeline.nightly import enqueue_pending

    ads = make_ads(4)
    store.add_ads(ads)
    scored = [0.95, 0.40, 0.30, 0.10]  # one flagged; the 0.40 ad is the most uncertain
    store.save_scores(
        [
            {"ad_id": a.id, "model_version": "m2", "text_hash": a.text_hash, "score": s,
             "flagged": s >= 0.5}
            for a, s in zip(ads, scored, strict=True)
        ]
    )  # fmt: skip
    store.enqueue([{"ad_id": ads[1].id, "priority": 0.4, "reason": "uncertainty"}])  # model m1
    model = SimpleNamespace(version="m2", threshold=0.5)
    assert enqueue_pending(store, model, None, share=0.5) == {
        "enqueued": 1,
        "enqueued_uncertain": 0,
    }
    assert {e.ad_id for e in store.queue()} == {ads[0].id, ads[1].id}


def test_changing_an_account_keeps_the_date_it_was_created(store):
    store.add_user("rina", "reviewer", "hash-1")
    created = store.get_user("rina")["created_at"]
    store.add_user("rina", "admin", "hash-2")
    user = store.get_user("rina")
    assert (user["role"], user["password_hash"]) == ("admin", "hash-2")
    assert user["created_at"] == created
