"""The reviewer web app: login, triage (claim, decide, skip, undo), safety, CSRF, accounts."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from werkzeug.security import check_password_hash, generate_password_hash

from pipeline.ad import Ad
from pipeline.store import Store
from pipeline.web import create_app
from pipeline.web.view import MAX_SHOWN_CHARS, highlight

HOSTILE = '<script>alert(1)</script> Kerja di <img src=x onerror="alert(2)"> Kamboja, gaji 25 juta'
PASSWORD = "correct horse battery"
# Fast hashing for tests; the CLI uses werkzeug's default (scrypt).
FAST = "pbkdf2:sha256:1000"


def make_ad(ad_id: str, text: str, title: str | None = None) -> Ad:
    return Ad(
        text=text,
        id=ad_id,
        title=title or f"Lowongan {ad_id}",
        url=f"https://jobs.example/{ad_id}",
    )


def add_scored(store: Store, ad: Ad, score: float, flags: list[dict] | None = None) -> None:
    store.add_ads([ad])
    store.save_scores(
        [
            {
                "ad_id": ad.id,
                "model_version": "test-1",
                "text_hash": ad.text_hash,
                "score": score,
                "flagged": score >= 0.5,
                "scores": {"tppo": score, "nonprocedural": score / 2, "fee_fraud": 0.1},
                "band": "Prioritas tinggi" if score >= 0.7 else "Tinjau",
                "flags": flags or [],
                "explanation": {"terms": [["kamboja", 1.7], ["gaji", 0.4], ["resmi", -0.6]]},
            }
        ]
    )
    store.enqueue([{"ad_id": ad.id, "priority": score, "reason": "score"}])


@pytest.fixture
def web_db(db_url) -> str:
    """A store with three queued ads and three accounts (SQLite, and PostgreSQL in CI)."""
    url = db_url
    with Store(url) as store:
        hostile = make_ad("ad-hostile", HOSTILE, title='<b onmouseover="alert(3)">Admin</b>')
        kerja = "Dicari operator online di Kamboja, tiket ditanggung, tanpa pengalaman."
        add_scored(
            store,
            hostile,
            0.95,
            flags=[
                {
                    "id": "A1",
                    "family": "A",
                    "severity": "H",
                    "evidence": "Kamboja",
                    "spans": [[HOSTILE.index("Kamboja"), HOSTILE.index("Kamboja") + 7]],
                    "description": "Scam-hub destination",
                },
                {
                    "id": "L1",
                    "family": "L",
                    "severity": "-",
                    "evidence": "<script>",
                    "spans": [[0, 8], [-5, 3], [10**9, 10**9 + 5], ["x", None]],
                    "description": "Licensed agency claimed",
                    "mitigating": True,
                },
            ],
        )
        add_scored(store, make_ad("ad-2", kerja), 0.80)
        add_scored(store, make_ad("ad-3", "Lowongan resmi P3MI terdaftar, tanpa biaya."), 0.60)
        for name, role in (("alice", "reviewer"), ("bob", "reviewer"), ("root", "admin")):
            store.add_user(name, role, generate_password_hash(PASSWORD, method=FAST))
    return url


@pytest.fixture
def app(web_db):
    app = create_app(web_db, secret_key="test-secret", testing=True)
    yield app
    app.extensions["waspada_store"].close()


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def shown_ad(html: str) -> str:
    match = re.search(r'name="ad_id" value="([^"]+)"', html)
    assert match, "no ad on the triage page"
    return match.group(1)


def login(client, name: str, password: str = PASSWORD):
    token = csrf(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def review(client) -> tuple[str, str]:
    """Open the triage page; return (ad id shown, CSRF token)."""
    page = client.get("/review")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return shown_ad(html), csrf(html)


def test_pages_need_login(app):
    client = app.test_client()
    for path in ("/", "/review", "/ads/ad-2", "/admin"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert login(client, "alice", "wrong password").status_code == 401
    assert login(client, "nobody").status_code == 401
    assert login(client, "alice").status_code == 302
    assert client.get("/").status_code == 200


def test_security_headers(app):
    response = app.test_client().get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_triage_claims_decides_and_advances(app):
    client = app.test_client()
    login(client, "alice")
    first, token = review(client)
    assert first == "ad-hostile"  # highest priority first
    # Reloading shows the same claimed item, not the next one.
    assert review(client)[0] == first
    response = client.post(
        "/review/decide",
        data={"ad_id": first, "label": "tppo", "note": "Kamboja + tiket", "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/review"
    assert review(client)[0] == "ad-2"
    store = app.extensions["waspada_store"]
    [decision] = store.decision_history(first)
    assert (decision["reviewer"], decision["label"], decision["note"]) == (
        "alice",
        "tppo",
        "Kamboja + tiket",
    )
    assert store.queue_entry(first).status == "done"
    overview = client.get("/").get_data(as_text=True)
    assert "Prioritas tinggi" in overview and "alice" in overview


def test_two_reviewers_never_get_the_same_item(app):
    alice, bob = app.test_client(), app.test_client()
    login(alice, "alice")
    login(bob, "bob")
    seen_by_alice, _ = review(alice)
    seen_by_bob, _ = review(bob)
    assert seen_by_alice != seen_by_bob
    store = app.extensions["waspada_store"]
    assert store.queue_entry(seen_by_alice).claimed_by == "alice"
    assert store.queue_entry(seen_by_bob).claimed_by == "bob"


def test_bob_cannot_decide_an_item_alice_holds(app):
    alice, bob = app.test_client(), app.test_client()
    login(alice, "alice")
    login(bob, "bob")
    held, _ = review(alice)
    _, token = review(bob)
    bob.post("/review/decide", data={"ad_id": held, "label": "legit", "csrf_token": token})
    assert app.extensions["waspada_store"].decision_history(held) == []


def test_expired_claim_goes_to_the_next_reviewer(app):
    alice, bob = app.test_client(), app.test_client()
    login(alice, "alice")
    login(bob, "bob")
    app.config["WASPADA_CLAIM_TTL_MINUTES"] = -1  # alice's claim is expired at once
    held, _ = review(alice)
    app.config["WASPADA_CLAIM_TTL_MINUTES"] = 15
    assert review(bob)[0] == held


def test_skip_returns_the_item_to_the_queue(app):
    alice, bob = app.test_client(), app.test_client()
    login(alice, "alice")
    login(bob, "bob")
    first, token = review(alice)
    alice.post("/review/skip", data={"ad_id": first, "csrf_token": token})
    # Alice moves on; the skipped item is free again and goes to the next reviewer.
    assert review(alice)[0] != first
    assert review(bob)[0] == first
    assert app.extensions["waspada_store"].decision_history(first) == []


def test_skipped_items_come_back_when_nothing_else_is_left(app):
    client = app.test_client()
    login(client, "alice")
    for _ in range(3):
        ad_id, token = review(client)
        client.post("/review/skip", data={"ad_id": ad_id, "csrf_token": token})
    page = client.get("/review").get_data(as_text=True)
    assert "Show my 3 skipped ads again" in page
    client.get("/review?again=skipped")
    assert review(client)[0] == "ad-hostile"


def test_undo_reopens_and_keeps_both_decisions(app):
    client = app.test_client()
    login(client, "alice")
    first, token = review(client)
    client.post("/review/decide", data={"ad_id": first, "label": "legit", "csrf_token": token})
    second, token = review(client)
    assert second != first
    client.post("/review/undo", data={"csrf_token": token})
    store = app.extensions["waspada_store"]
    # The undone item is back in front of alice; what she had on screen is free again.
    assert review(client)[0] == first
    assert store.queue_entry(first).claimed_by == "alice"
    assert store.queue_entry(second).claimed_by is None
    client.post("/review/decide", data={"ad_id": first, "label": "tppo", "csrf_token": token})
    labels = [d["label"] for d in store.decision_history(first)]
    assert labels == ["legit", "tppo"]
    assert store.latest_decisions()[first]["label"] == "tppo"
    history = client.get(f"/ads/{first}").get_data(as_text=True)
    assert "Legit" in history and "TPPO" in history and "(current)" in history


def test_undo_with_nothing_to_undo(app):
    client = app.test_client()
    login(client, "alice")
    _, token = review(client)
    response = client.post("/review/undo", data={"csrf_token": token}, follow_redirects=True)
    assert "Nothing to undo" in response.get_data(as_text=True)


def test_hostile_text_is_escaped_never_markup(app):
    client = app.test_client()
    login(client, "alice")
    for path in ("/review", "/ads/ad-hostile", "/"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html
        assert "<img src=x" not in html
        assert "<b onmouseover" not in html
        assert "onerror=" not in html.replace("onerror=&#34;", "")
    html = client.get("/review").get_data(as_text=True)
    text = re.sub(r"</?mark[^>]*>", "", html)  # highlights may split the hostile string
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in text
    # The evidence span is highlighted, the mitigating flag is marked as a claim.
    assert '<mark data-flags="A1"' in html and ">Kamboja</mark>" in html
    assert "claimed, unverified" in html
    # The source URL is text, not a link.
    assert "https://jobs.example/ad-hostile" in html
    assert 'href="https://jobs.example' not in html


def test_highlight_clamps_spans_and_truncates():
    text = "x" * (MAX_SHOWN_CHARS + 500)
    shown = highlight(text, [{"id": "A1", "spans": [[-10, 5], [MAX_SHOWN_CHARS - 2, 10**12]]}])
    assert shown.truncated and shown.shown_chars == MAX_SHOWN_CHARS
    assert "".join(s.text for s in shown.segments) == text[:MAX_SHOWN_CHARS]
    assert [(len(s.text), s.flags) for s in shown.segments] == [
        (5, ("A1",)),
        (MAX_SHOWN_CHARS - 7, ()),
        (2, ("A1",)),
    ]


def test_long_ad_is_truncated_on_the_page(app, web_db):
    with Store(web_db) as store:
        add_scored(store, make_ad("ad-long", "panjang " * 5000), 0.99)
    client = app.test_client()
    login(client, "alice")
    html = client.get("/review").get_data(as_text=True)
    assert "Truncated: showing the first 20,000 of 40,000 characters" in html


def test_post_without_csrf_token_is_refused(app):
    client = app.test_client()
    login(client, "alice")
    first, _ = review(client)
    for data in (
        {"ad_id": first, "label": "tppo"},
        {"ad_id": first, "label": "tppo", "csrf_token": "forged"},
    ):
        assert client.post("/review/decide", data=data).status_code == 400
    assert app.extensions["waspada_store"].decision_history(first) == []
    # The login form is protected too (login CSRF).
    fresh = app.test_client()
    assert fresh.post("/login", data={"name": "alice", "password": PASSWORD}).status_code == 400


def test_admin_page_is_for_admins(app):
    reviewer, admin = app.test_client(), app.test_client()
    login(reviewer, "alice")
    login(admin, "root")
    assert reviewer.get("/admin").status_code == 403
    page = admin.get("/admin")
    assert page.status_code == 200 and "alice" in page.get_data(as_text=True)


def test_login_does_not_redirect_off_site(app):
    client = app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={
            "name": "alice",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert response.headers["Location"] == "/"


def test_users_cli_reads_password_from_stdin(web_db):
    db_url = web_db
    from pipeline.cli import cli

    runner = CliRunner()
    result = runner.invoke(
        cli, ["users", "add", "citra", "--role", "admin", "--db", db_url], input="s3cret-pass\n"
    )
    assert result.exit_code == 0, result.output
    with Store(db_url) as store:
        user = store.get_user("citra")
    assert user["role"] == "admin"
    assert check_password_hash(user["password_hash"], "s3cret-pass")
    # Adding again without --replace is refused in one line; --replace changes it.
    again = runner.invoke(cli, ["users", "add", "citra", "--db", db_url], input="other-pass\n")
    assert again.exit_code == 1 and "--replace" in again.output
    replaced = runner.invoke(
        cli, ["users", "add", "citra", "--replace", "--db", db_url], input="other-pass\n"
    )
    assert replaced.exit_code == 0, replaced.output
    short = runner.invoke(cli, ["users", "add", "dewi", "--db", db_url], input="abc\n")
    assert short.exit_code == 1 and "too short" in short.output
    listed = runner.invoke(cli, ["users", "list", "--db", db_url])
    assert "citra\treviewer" in listed.output and "alice\treviewer" in listed.output
    # The new account can log in to the web app.
    app = create_app(db_url, secret_key="k", testing=True)
    try:
        assert login(app.test_client(), "citra", "other-pass").status_code == 302
    finally:
        app.extensions["waspada_store"].close()


def test_serve_refuses_a_public_host_without_flag(sqlite_url):
    from pipeline.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--db", sqlite_url, "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "--public" in result.output


def test_ad_page_for_an_unqueued_ad_with_a_slash_in_its_id(app, web_db):
    with Store(web_db) as store:
        store.add_ads([make_ad("emscad/17", "Data entry from home, no fee.")])
    client = app.test_client()
    login(client, "alice")
    page = client.get("/ads/emscad/17")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "not in the review queue" in html and "No decision yet" in html
    assert client.get("/ads/nope").status_code == 404


def test_concurrent_claims_never_share_an_item(app):
    import threading

    store = app.extensions["waspada_store"]
    got: dict[str, str | None] = {}
    barrier = threading.Barrier(6)

    def claim(name: str) -> None:
        barrier.wait()
        entry = store.claim_next(name, ttl_minutes=15)
        got[name] = entry.ad_id if entry else None

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [ad for ad in got.values() if ad is not None]
    assert sorted(claimed) == ["ad-2", "ad-3", "ad-hostile"]  # three items, three reviewers


def test_patterns_show_their_meaning_and_legal_anchor(app):
    store = app.extensions["waspada_store"]
    ad = make_ad("ad-pattern", "CS online Kamboja, visa turis, tiket potong gaji.")
    store.add_ads([ad])
    store.save_scores(
        [
            {
                "ad_id": ad.id,
                "model_version": "test-1",
                "text_hash": ad.text_hash,
                "score": 0.99,
                "flagged": True,
                "patterns": ["P1_scam_compound", "P3_debt_bondage", "<script>x</script>"],
            }
        ]
    )
    store.enqueue([{"ad_id": ad.id, "priority": 2.0, "reason": "score"}])
    client = app.test_client()
    login(client, "alice")
    html = client.get("/review").get_data(as_text=True)
    assert "ad-pattern" in html
    assert "Scam-compound recruitment" in html and "UU 21/2007 (TPPO)" in html
    assert "penjeratan utang" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>x" not in html
    assert "Registry check: not done yet" in html
