"""``waspada rules``: inspect the red-flag rules and measure them against labelled ads."""

from __future__ import annotations

import json
import sys

import click

from pipeline import WaspadaError


@click.group("rules")
def rules() -> None:
    """Red-flag rules: list them, explain one ad, report their quality on labelled data.

    \b
    Example:
        waspada rules list
        waspada rules explain "Loker CS online Kamboja gaji 15jt, WA 0812-3456-7890"
        waspada rules report --data data/seed/part_a_1.jsonl
    """


@rules.command("report")
@click.option(
    "--data",
    "data_path",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="JSONL with 'text' and 'label' (0/1), optional 'category'.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def report_command(data_path: str, as_json: bool) -> None:
    """Per rule: coverage, overlap, conflicts, precision and recall against the labels.

    Positive flags vote "risky" (1), mitigating family-L flags vote "benign" (0); patterns
    P1-P7 and the "priority >= 45" cut are listed too.

    \b
    Example:
        waspada rules report --data labelled.jsonl
        waspada rules report --data labelled.jsonl --json > rules_report.json
    """
    from pipeline.rules_report import format_table, read_labelled, report

    rep = report(read_labelled(data_path))
    if as_json:
        click.echo(json.dumps(rep, ensure_ascii=False, indent=1))
    else:
        click.echo(format_table(rep))


@rules.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(as_json: bool) -> None:
    """List every rule: id, family, severity, scores it feeds, description.

    \b
    Example:
        waspada rules list
        waspada rules list --json
    """
    from pipeline.redflags import RULES, RULES_VERSION

    rows = [
        {
            "id": r.id,
            "family": r.family,
            "severity": r.severity,
            "feeds": list(r.feeds),
            "description": r.description,
        }
        for r in RULES
    ]
    if as_json:
        click.echo(json.dumps({"rules_version": RULES_VERSION, "rules": rows}, indent=1))
        return
    click.echo(f"rules {RULES_VERSION}")
    for r in rows:
        feeds = ",".join(r["feeds"]) or "-"
        click.echo(f"{r['id']:<36} {r['severity']:<2} {feeds:<32} {r['description']}")


@rules.command("explain")
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the full assessment as JSON.")
def explain_command(text: str | None, as_json: bool) -> None:
    """Assess one ad (argument, or stdin) and show scores, band and flags with evidence.

    \b
    Example:
        waspada rules explain "Dicari ART ke Riyadh pakai visa ziarah, WA 0812 3456 7890"
        cat ad.txt | waspada rules explain --json
    """
    from pipeline.redflags import assess

    if text is None:
        if sys.stdin.isatty():
            raise WaspadaError("give the ad text as an argument or on stdin")
        text = sys.stdin.read()
    a = assess(text)
    if as_json:
        click.echo(json.dumps(a.to_dict(), ensure_ascii=False, indent=1))
        return
    s = a.scores
    click.echo(
        f"{a.band} (priority {a.priority}) tppo={s['tppo']} nonprocedural={s['nonprocedural']}"
        f" fee_fraud={s['fee_fraud']} language={a.language}"
    )
    if a.patterns:
        click.echo("patterns: " + ", ".join(a.patterns))
    for f in a.flags:
        status = " [claimed, unverified]" if f.mitigating else ""
        quotes = " | ".join(repr(e.text) for e in f.evidence)
        click.echo(f"  {f.id} ({f.severity}){status}: {quotes}")


COMMANDS = [rules]
