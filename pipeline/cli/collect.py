"""Collection commands: ``scrape``, ``export-evidence`` and ``verify-evidence``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipeline.cli.options import config_option, db_option


@click.command()
@config_option
@db_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    metavar="FILE",
    help="Also write the new or changed ads of this run as JSON Lines (- for stdout).",
)
def scrape(config_path: str, db_url: str | None, output: str | None) -> None:
    """Collect ads from the configured sources into the store.

    Polite by default: robots.txt, one request at a time per host, retries with back-off.
    A rerun fetches only what is new or changed. Exit code 3 when some sources failed.

    \b
    Example:
        waspada scrape --config config/demo.toml
        waspada scrape --config sources.toml --db sqlite:///nightly.db --output ads.jsonl
    """
    from pipeline.ad import open_output, write_jsonl
    from pipeline.config import load_config
    from pipeline.store import Store
    from scrapers.collect import collect, validate_sources

    config = load_config(config_path, db_url)
    validate_sources(config)
    with Store(config.database_url) as store:
        run_id = store.start_run("scrape", config_path)
        try:
            report = collect(config, store, run_id, progress=sys.stderr.isatty())
        except BaseException:
            store.finish_run(run_id, "crashed", {})
            raise
        status = "partial" if report.failed_sources else "completed"
        stats = {
            "per_source": report.per_source,
            "failed_sources": report.failed_sources,
            "errors": len(report.errors),
            "ad_ids": len(report.ad_ids),
        }
        store.finish_run(run_id, status, stats)
        if output:
            with open_output(output) as stream:
                write_jsonl((ad.to_record() for ad in store.iter_ads(report.ad_ids)), stream)
    totals = report.totals
    click.echo(
        f"run {run_id}: {totals.get('fetched', 0)} pages fetched, "
        f"{totals.get('new', 0)} new ads, {totals.get('changed', 0)} changed, "
        f"{totals.get('errors', 0)} errors",
        err=True,
    )
    for name in report.failed_sources:
        click.echo(f"source failed: {name}", err=True)
    if report.failed_sources:
        sys.exit(3)


@click.command("export-evidence")
@click.argument("ad_id")
@click.option(
    "--output",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False),
    required=True,
    metavar="DIR",
    help="Folder to write ad.json, the raw snapshot and manifest.json into.",
)
@db_option
def export_evidence_command(ad_id: str, out_dir: str, db_url: str | None) -> None:
    """Export an ad with the exact page bytes it came from and their SHA-256.

    \b
    Example:
        waspada export-evidence ad-3f2a9c0d1e2b4a5c --output evidence/ad-3f2a
        waspada verify-evidence evidence/ad-3f2a
    """
    from pipeline.store import Store
    from scrapers.archive import export_evidence

    with Store(db_url) as store:
        manifest = export_evidence(store, ad_id, Path(out_dir))
    data = json.loads(manifest.read_text(encoding="utf-8"))
    click.echo(f"exported {ad_id} to {out_dir} (snapshot sha256 {data['snapshot_sha256']})")


@click.command("verify-evidence")
@click.argument("folder", type=click.Path(file_okay=False))
def verify_evidence_command(folder: str) -> None:
    """Check that an exported evidence folder is intact (exit code 1 if not).

    \b
    Example:
        waspada verify-evidence evidence/ad-3f2a
    """
    from scrapers.archive import verify_evidence

    problems = verify_evidence(Path(folder))
    if problems:
        for problem in problems:
            click.echo(f"NOT OK: {problem}", err=True)
        sys.exit(1)
    click.echo(f"OK: {folder} is intact")


COMMANDS = [scrape, export_evidence_command, verify_evidence_command]
