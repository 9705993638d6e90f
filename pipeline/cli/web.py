"""CLI commands of the review stage: serve the reviewer web app and manage its accounts."""

from __future__ import annotations

import ipaddress
import os
import re
import sys

import click

from pipeline.cli.options import db_option

ROLES = ("reviewer", "admin")
MIN_PASSWORD_CHARS = 8
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name could resolve anywhere: treat it as public


@click.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--public",
    is_flag=True,
    help="Allow listening on a non-loopback address (put TLS and a proxy in front).",
)
def serve(db_url: str | None, host: str, port: int, public: bool) -> None:
    """Serve the reviewer web app (triage the queue in a browser).

    Listens on loopback only unless --public is given. Sessions are signed with
    WASPADA_SECRET_KEY; without it a random key is used and logins end on restart.

    \b
    Example:
        waspada users add ana --role reviewer
        WASPADA_SECRET_KEY=$(openssl rand -hex 32) waspada serve --port 8000
        # then open http://127.0.0.1:8000/
    """
    from werkzeug.serving import run_simple

    from pipeline.web import create_app
    from pipeline.web.queries import list_users

    if not _is_loopback(host) and not public:
        raise click.UsageError(
            f"refusing to listen on {host}: not a loopback address; add --public if you mean it"
        )
    secret = os.environ.get("WASPADA_SECRET_KEY")
    if not secret:
        click.echo(
            "warning: WASPADA_SECRET_KEY is not set; using a random key (logins end on restart)",
            err=True,
        )
        secret = os.urandom(32).hex()
    app = create_app(db_url, secret_key=secret)
    store = app.extensions["waspada_store"]
    if not list_users(store):
        click.echo(
            "warning: no accounts yet; create one with: waspada users add NAME --role reviewer",
            err=True,
        )
    click.echo(f"Waspada review on http://{host}:{port}/ (database {store.url}); Ctrl-C stops")
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)


@click.group()
def users() -> None:
    """Manage reviewer accounts of the web app.

    \b
    Example:
        waspada users add ana --role reviewer
        echo "$PASSWORD" | waspada users add admin1 --role admin
        waspada users list
    """


def _read_password() -> str:
    if sys.stdin is not None and not sys.stdin.isatty():
        # Piped: the first line is the password (a trailing newline is not part of it).
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="reviewer", show_default=True)
@click.option("--replace", is_flag=True, help="Change the password/role of an existing account.")
@db_option
def users_add(name: str, role: str, replace: bool, db_url: str | None) -> None:
    """Create an account; the password is read from stdin when it is piped, else prompted.

    \b
    Example:
        waspada users add ana --role reviewer
        printf '%s\\n' "$PASSWORD" | waspada users add ana --role admin --replace
    """
    from werkzeug.security import generate_password_hash

    from pipeline.store import Store

    if not _NAME.match(name):
        raise click.UsageError("a name is 1-100 letters, digits or . _ @ -")
    store = Store(db_url)
    try:
        exists = store.get_user(name) is not None
        if exists and not replace:
            raise click.ClickException(
                f"account {name!r} exists; add --replace to change its password or role"
            )
        password = _read_password()
        if len(password) < MIN_PASSWORD_CHARS:
            raise click.ClickException(
                f"password too short: use at least {MIN_PASSWORD_CHARS} characters"
            )
        store.add_user(name, role, generate_password_hash(password))
    finally:
        store.close()
    click.echo(f"{'updated' if exists else 'added'} {role} {name}")


@users.command("list")
@db_option
def users_list(db_url: str | None) -> None:
    """List the accounts (name, role, created).

    \b
    Example:
        waspada users list --db sqlite:///data/waspada.db
    """
    from pipeline.store import Store
    from pipeline.web.queries import list_users

    store = Store(db_url)
    try:
        rows = list_users(store)
    finally:
        store.close()
    if not rows:
        click.echo("no accounts; create one with: waspada users add NAME --role reviewer")
        return
    for row in rows:
        created = row["created_at"].strftime("%Y-%m-%d %H:%M") if row["created_at"] else ""
        click.echo(f"{row['name']}\t{row['role']}\t{created}")


COMMANDS = [serve, users]
