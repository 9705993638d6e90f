"""The reviewer web app: log in, triage the queue one ad at a time, see an ad's history.

Server-rendered pages (Jinja2, autoescape on) with one small static script for the keyboard
shortcuts. Every POST carries a per-session CSRF token. Scraped text is never marked safe:
templates escape every piece of it, and the Content-Security-Policy forbids inline script,
so even a bug that let markup through could not run it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.security import check_password_hash, generate_password_hash

from pipeline import WaspadaError
from pipeline.labels import LABELS
from pipeline.store import ClaimLostError, Store
from pipeline.web import queries, view

log = logging.getLogger(__name__)

#: Decision buttons in keyboard order: (key, label stored, text shown).
DECISION_KEYS = (
    ("1", "tppo", "TPPO"),
    ("2", "nonprocedural", "Non-procedural"),
    ("3", "fee_fraud", "Fee fraud"),
    ("4", "legit", "Legit"),
    ("5", "unsure", "Unsure"),
)
LABEL_NAMES = {label: text for _, label, text in DECISION_KEYS}
ROLES = ("reviewer", "admin")
#: How many skipped ad ids a session remembers (they live in the signed cookie).
MAX_SKIPPED = 50
MAX_NOTE_CHARS = 2000

# Checked against when a login names an unknown user, so that both paths take as long.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(
    db_url: str | None = None, *, secret_key: str | None = None, testing: bool = False
) -> Flask:
    """Build the reviewer app over the store at ``db_url`` (default: WASPADA_DB or the file).

    ``secret_key`` signs the session cookie; without one, WASPADA_SECRET_KEY is used, else a
    random key (sessions then end when the process does).
    """
    app = Flask(__name__)
    key = secret_key or os.environ.get("WASPADA_SECRET_KEY")
    if not key:
        log.warning("no WASPADA_SECRET_KEY set; using a random key (logins end on restart)")
        key = secrets.token_hex(32)
    app.config.update(
        SECRET_KEY=key,
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WASPADA_CLAIM_TTL_MINUTES=15,
        MAX_CONTENT_LENGTH=64 * 1024,  # forms carry a label and a note, nothing more
    )
    app.jinja_env.autoescape = True  # every template, whatever its file name
    store = Store(db_url)
    app.extensions["waspada_store"] = store

    app.jinja_env.globals.update(
        csrf_token=_csrf_token, band_class=view.band_class, label_name=_label_name
    )

    @app.before_request
    def load_user() -> Any:
        g.user = None
        name = session.get("user")
        if name:
            user = store.get_user(name)
            # A changed password (or role) ends existing sessions.
            if user and session.get("pw") == _fingerprint(user["password_hash"]):
                g.user = user
            else:
                session.clear()
        if request.method == "POST" and not _csrf_ok():
            return render_template(
                "error.html", message="Form expired; reload the page and try again."
            ), 400
        return None

    @app.after_request
    def headers(response: Any) -> Any:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(WaspadaError)
    def waspada_error(exc: WaspadaError) -> Any:
        return render_template("error.html", message=str(exc)), 400

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Any:
        return render_template("error.html", message="Not found."), 404

    # -- login -------------------------------------------------------------------------

    @app.get("/login")
    def login() -> Any:
        return render_template("login.html", next=_safe_next(request.args.get("next")))

    @app.post("/login")
    def login_post() -> Any:
        name = request.form.get("name", "").strip()
        password = request.form.get("password", "")
        user = store.get_user(name) if name else None
        ok = check_password_hash(user["password_hash"] if user else _DUMMY_HASH, password)
        if not (user and ok and user["role"] in ROLES):
            flash("Wrong name or password.", "error")
            return render_template("login.html", next=_safe_next(request.form.get("next"))), 401
        session.clear()  # a fresh session (and CSRF token) on every login
        session["user"] = user["name"]
        session["pw"] = _fingerprint(user["password_hash"])
        session.permanent = False
        return redirect(_safe_next(request.form.get("next")) or url_for("overview"))

    @app.post("/logout")
    def logout() -> Any:
        user = g.user
        if user:
            store.release(None, user["name"])  # nobody waits on a claim of a gone user
        session.clear()
        return redirect(url_for("login"))

    # -- pages -------------------------------------------------------------------------

    @app.get("/")
    @login_required
    def overview() -> Any:
        counts = store.queue_counts()
        return render_template(
            "overview.html",
            counts={
                "open": counts.get("open", 0),
                "done": counts.get("done", 0),
                "claimed": queries.claimed_count(store),
            },
            items=store.queue(limit=50),
            mine=queries.recent_decisions(store, limit=10, reviewer=g.user["name"]),
        )

    @app.get("/review")
    @login_required
    def review() -> Any:
        name = g.user["name"]
        skipped = list(session.get("skipped", []))
        if request.args.get("again") == "skipped":
            session.pop("skipped", None)
            return redirect(url_for("review"))
        ttl = int(app.config["WASPADA_CLAIM_TTL_MINUTES"])
        entry = store.claim_next(name, ttl, exclude=skipped)
        if entry is None:
            return render_template("empty.html", skipped=len(skipped), counts=store.queue_counts())
        return render_template("review.html", **_entry_context(entry), keys=DECISION_KEYS)

    @app.post("/review/decide")
    @login_required
    def decide() -> Any:
        name = g.user["name"]
        ad_id = request.form.get("ad_id", "")
        label = request.form.get("label", "")
        note = request.form.get("note", "").strip()[:MAX_NOTE_CHARS] or None
        if label not in LABELS:
            abort(400)
        if store.queue_entry(ad_id) is None:
            abort(404)
        # Only the holder of the claim may decide; an expired claim nobody took is still fine.
        # The store checks this in the same transaction as the write.
        try:
            store.decide(ad_id, name, label, note, require_claim=True)
        except ClaimLostError:
            flash(f"Not saved: ad {ad_id} was decided or is with another reviewer now.", "error")
            return redirect(url_for("review"))
        flash(f"Saved {LABEL_NAMES[label]} for ad {ad_id}.", "ok")
        return redirect(url_for("review"))

    @app.post("/review/skip")
    @login_required
    def skip() -> Any:
        ad_id = request.form.get("ad_id", "")
        store.release(ad_id, g.user["name"])
        skipped = [a for a in session.get("skipped", []) if a != ad_id] + [ad_id]
        session["skipped"] = skipped[-MAX_SKIPPED:]
        flash(f"Skipped ad {ad_id}; it is back in the queue for others.", "ok")
        return redirect(url_for("review"))

    @app.post("/review/undo")
    @login_required
    def undo() -> Any:
        name = g.user["name"]
        last = queries.undoable_decision(store, name)
        if last is None:
            flash("Nothing to undo.", "error")
            return redirect(url_for("review"))
        # Hand back what is on screen, then put the decided item back in front of this
        # reviewer. The decision itself stays: the next one is appended after it.
        store.release(None, name)
        ttl = int(app.config["WASPADA_CLAIM_TTL_MINUTES"])
        store.reopen(last["ad_id"], claim_for=name, ttl_minutes=ttl)
        flash(
            f"Undid {LABEL_NAMES.get(last['label'], last['label'])} on ad {last['ad_id']}; "
            "decide again (the earlier decision stays in the history).",
            "ok",
        )
        session["skipped"] = [a for a in session.get("skipped", []) if a != last["ad_id"]]
        return redirect(url_for("review"))

    @app.get("/ads/<path:ad_id>")
    @login_required
    def ad_page(ad_id: str) -> Any:
        ad = store.get_ad(ad_id)
        if ad is None:
            abort(404)
        entry = store.queue_entry(ad_id)
        context = _entry_context(entry) if entry else {"shown": view.highlight(ad.text, [])}
        return render_template(
            "ad.html",
            ad=ad,
            entry=entry,
            history=store.decision_history(ad_id),
            **{k: v for k, v in context.items() if k != "entry"},
        )

    @app.get("/admin")
    @login_required
    def admin() -> Any:
        if g.user["role"] != "admin":
            abort(403)
        return render_template(
            "admin.html",
            users=queries.list_users(store),
            counts=queries.decision_counts(store),
            recent=queries.recent_decisions(store, limit=50),
        )

    @app.errorhandler(403)
    def forbidden(_exc: Exception) -> Any:
        return render_template("error.html", message="Only admins can see this page."), 403

    @app.errorhandler(400)
    def bad_request(_exc: Exception) -> Any:
        return render_template("error.html", message="Bad request."), 400

    return app


def login_required(func: Any) -> Any:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if request.method == "GET":
                return redirect(url_for("login", next=request.full_path.rstrip("?")))
            return redirect(url_for("login"))
        return func(*args, **kwargs)

    return wrapper


def _entry_context(entry: Any) -> dict[str, Any]:
    return {
        "entry": entry,
        "shown": view.highlight(entry.text, entry.flags),
        "flags": view.flags_view(entry.flags),
        "patterns": view.patterns_view(entry.explanation),
        "scores": view.scores_view(entry.scores),
        "score_pct": view.percent(entry.score),
        "score_width": view.width_class(entry.score),
        "terms": view.terms_view(entry.explanation),
        "features": view.features_view(entry.explanation),
    }


def _label_name(label: str) -> str:
    return LABEL_NAMES.get(label, label)


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _csrf_token() -> str:
    """This session's CSRF token (created on first use; forms send it back)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _csrf_ok() -> bool:
    expected = session.get("csrf")
    sent = request.form.get("csrf_token", "")
    return bool(expected) and hmac.compare_digest(str(expected), str(sent))


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target
