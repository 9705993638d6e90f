"""Commands of the analyst's batch and the terminal review: nightly, queue, review."""

from __future__ import annotations

import json
import logging
import sys

import click

from pipeline import WaspadaError
from pipeline.cli.options import config_option, db_option
from pipeline.config import load_config
from pipeline.labels import LABELS

log = logging.getLogger(__name__)


@click.command()
@config_option
@db_option
@click.option(
    "--progress/--no-progress", default=None, help="Progress bars (default: on a terminal)."
)
def nightly(config_path: str, db_url: str | None, progress: bool | None) -> None:
    """Run the whole nightly batch: scrape, extract, score, queue, report.

    Safe to rerun: a second run over the same pages adds nothing, and a run that was killed
    picks up where it stopped. Exit codes: 0 completed; 3 completed but some sources failed
    (listed in the report); 2 configuration error (nothing done); 1 crashed.

    \b
    Example:
        waspada nightly --config config/demo.toml
        waspada nightly --config /etc/waspada/sources.toml --db postgresql+psycopg://waspada@db/waspada
    """
    from pipeline.nightly import EXIT_CRASHED, run_nightly

    config = load_config(config_path, db_url)
    if progress is None:
        progress = sys.stderr.isatty()
    try:
        result = run_nightly(config, progress=progress)
    except WaspadaError:
        raise
    except Exception as exc:  # the contract: exit 1 with one line; the log has the traceback
        log.debug("nightly crashed", exc_info=True)
        click.echo(f"Error: nightly run crashed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_CRASHED)
    click.echo(result.summary())
    sys.exit(result.exit_code)


@click.command("queue")
@db_option
@click.option(
    "--status", type=click.Choice(["open", "done", "all"]), default="open", show_default=True
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object per line instead of a table."
)
def queue_command(db_url: str | None, status: str, limit: int, as_json: bool) -> None:
    """Show the review queue, highest priority first.

    \b
    Example:
        waspada queue --limit 10
        waspada queue --status all --json > queue.jsonl
    """
    from pipeline.store import Store

    with Store(db_url) as store:
        entries = store.queue(status=None if status == "all" else status, limit=limit)
        counts = store.queue_counts()
    if as_json:
        for e in entries:
            click.echo(
                json.dumps(
                    {
                        "ad_id": e.ad_id,
                        "priority": e.priority,
                        "reason": e.reason,
                        "status": e.status,
                        "score": e.score,
                        "band": e.band,
                        "title": e.title,
                        "flags": [f.get("id") for f in e.flags],
                    },
                    ensure_ascii=False,
                )
            )
        return
    click.echo(f"open: {counts.get('open', 0)}  done: {counts.get('done', 0)}")
    for e in entries:
        title = _one_line(e.title or e.text, 60)
        flags = ", ".join(f.get("id", "?") for f in e.flags[:3])
        click.echo(
            f"{e.priority:6.3f}  {e.band or '-':<16} {e.reason:<11} {e.ad_id:<22} {title}"
            + (f"  [{flags}]" if flags else "")
        )


@click.command()
@db_option
@click.option("--reviewer", required=True, help="Your name, as recorded with each decision.")
@click.option("--ad", "ad_id", help="Decide on this ad at once (needs --label).")
@click.option("--label", type=click.Choice(LABELS), help="The decision for --ad.")
@click.option("--note", default=None, help="A note stored with the decision.")
def review(
    db_url: str | None, reviewer: str, ad_id: str | None, label: str | None, note: str | None
) -> None:
    """Triage the queue in the terminal, or record one decision.

    Without --ad, shows the next item (locked to you) and asks for a key:
    1 tppo, 2 nonprocedural, 3 fee_fraud, 4 legit, 5 unsure, s skip, q quit.
    Decisions are appended, never overwritten; the browser page (waspada serve) does the same.

    \b
    Example:
        waspada review --reviewer ani
        waspada review --reviewer ani --ad ad-3f2a9c0d1e2b4a5c --label legit --note "resmi, SIP2MI cocok"
    """
    from pipeline.store import Store

    with Store(db_url) as store:
        if ad_id or label:
            if not (ad_id and label):
                raise WaspadaError("--ad and --label go together")
            decision = store.decide(ad_id, reviewer, label, note)
            click.echo(f"decision {decision}: {ad_id} = {label}")
            return
        keys = {"1": "tppo", "2": "nonprocedural", "3": "fee_fraud", "4": "legit", "5": "unsure"}
        skipped: list[str] = []  # back in the queue for others; not shown again this session
        while True:
            entry = store.claim_next(reviewer, exclude=skipped)
            if entry is None:
                click.echo("The queue is empty.")
                return
            _show(entry)
            choice = click.prompt(
                "1 tppo · 2 nonprocedural · 3 fee_fraud · 4 legit · 5 unsure · s skip · q quit",
                type=click.Choice([*keys, "s", "q"]),
                show_choices=False,
            )
            if choice == "q":
                store.release(entry.ad_id, reviewer)
                return
            if choice == "s":
                store.release(entry.ad_id, reviewer)
                skipped.append(entry.ad_id)
                continue
            store.decide(entry.ad_id, reviewer, keys[choice], None)


def _show(entry) -> None:
    click.echo("─" * 78)
    score = f"{entry.score:.2f}" if entry.score is not None else "?"
    click.echo(f"{entry.ad_id}  score {score}  {entry.band or ''}  ({entry.reason})")
    if entry.title:
        click.echo(click.style(_one_line(entry.title, 76), bold=True))
    text = entry.text if len(entry.text) <= 1500 else entry.text[:1500] + " …"
    # Terminal control characters in scraped text could rewrite the screen: drop them.
    click.echo("".join(ch for ch in text if ch in "\n\t" or ch.isprintable()))
    for flag in entry.flags[:6]:
        click.echo(
            f"  ⚑ {flag.get('id')} [{flag.get('severity')}]: {_one_line(str(flag.get('evidence', '')), 60)}"
        )


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    flat = "".join(ch for ch in flat if ch.isprintable())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


COMMANDS = [nightly, queue_command, review]
