"""CLI commands of the model stage: train, evaluate, models (list/show/promote/rollback), score.

Thin skins over ``pipeline.model``, ``pipeline.evaluate``, ``pipeline.registry`` and
``pipeline.scoring``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from pipeline.cli.options import db_option

models_dir_option = click.option(
    "--models-dir",
    envvar="WASPADA_MODELS_DIR",
    default=None,
    metavar="DIR",
    help="Registry folder (env WASPADA_MODELS_DIR; default models/).",
)
data_options = [
    click.option(
        "--data",
        "data_paths",
        multiple=True,
        metavar="FILE",
        help="Labelled file or folder (JSONL, CSV, EMSCAD CSV, the seed folder); repeatable.",
    ),
    click.option(
        "--format",
        "fmt",
        type=click.Choice(["jsonl", "csv", "emscad", "seed"]),
        default=None,
        help="Format of --data (default: from the name and header).",
    ),
    click.option(
        "--label-column", default=None, metavar="C", help="Label column (default: label)."
    ),
    click.option(
        "--skip-bad", is_flag=True, help="Skip bad rows and count them instead of stopping."
    ),
    click.option(
        "--prevalence",
        type=click.FloatRange(0, 1, min_open=True, max_open=True),
        default=None,
        help="Also report precision and F1 at this share of positives (e.g. 0.0484).",
    ),
]


def _apply(options: list) -> Any:
    def decorator(func: Any) -> Any:
        for option in reversed(options):
            func = option(func)
        return func

    return decorator


def _emit(report: dict[str, Any], output_format: str, report_path: str | None) -> None:
    from pipeline.evaluate import format_report

    if report_path:
        with open(report_path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, default=str)
    if output_format in ("json", "both"):
        click.echo(json.dumps(report, indent=2, default=str))
    if output_format in ("table", "both"):
        stream_err = output_format == "both"
        click.echo(format_report(report), err=stream_err)


@click.command("train")
@_apply(data_options)
@click.option(
    "--from-store",
    is_flag=True,
    help="Add reviewer decisions from the store (latest per ad; unsure left out).",
)
@db_option
@click.option(
    "--model-dir",
    default=None,
    metavar="DIR",
    help="Write the model to DIR; do not touch the registry.",
)
@models_dir_option
@click.option(
    "--promote",
    type=click.Choice(["auto", "force", "never"]),
    default="auto",
    show_default=True,
    help="auto: only if not worse than the champion on the frozen holdout.",
)
@click.option(
    "--note", default="", help="Why this model was trained (kept in the card and history)."
)
@click.option("--folds", default=5, show_default=True, type=click.IntRange(2, 20))
@click.option("--repeats", default=2, show_default=True, type=click.IntRange(1, 20))
@click.option(
    "--min-recall",
    default=0.90,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Threshold goal.",
)
@click.option(
    "--holdout",
    default=0.2,
    show_default=True,
    type=click.FloatRange(0, 0.9),
    help="Frozen holdout share (by ad group hash).",
)
@click.option("--chars/--no-chars", default=None, help="Add character n-grams (slower to score).")
@click.option(
    "--jobs",
    default=None,
    type=click.IntRange(1),
    help="Processes for cross-validation (default: all cores).",
)
@click.option(
    "--output-format",
    type=click.Choice(["table", "json", "both"]),
    default="table",
    show_default=True,
)
@click.option(
    "--report",
    "report_path",
    default=None,
    metavar="FILE",
    help="Also write the JSON report to FILE.",
)
def train_command(
    data_paths: tuple[str, ...],
    fmt: str | None,
    label_column: str | None,
    skip_bad: bool,
    prevalence: float | None,
    from_store: bool,
    db_url: str | None,
    model_dir: str | None,
    models_dir: str | None,
    promote: str,
    note: str,
    folds: int,
    repeats: int,
    min_recall: float,
    holdout: float,
    chars: bool | None,
    jobs: int | None,
    output_format: str,
    report_path: str | None,
) -> None:
    """Train a model from labelled data, evaluate it honestly and register it.

    Cross-validation is repeated, stratified and grouped by normalised text; the operating
    threshold is chosen on out-of-fold predictions. The new model becomes the challenger and
    is promoted to champion only if it is not worse on the frozen holdout (--promote auto).

    \b
    Example:
        waspada train --data data/seed --promote force --note "shipped default"
        waspada train --data data/seed --from-store
        waspada train --data ../shared/data/emscad-partial/train.csv.gz --model-dir /tmp/m
    """
    from pipeline.datasets import load_many
    from pipeline.model import train_and_register

    if not data_paths and not from_store:
        raise click.UsageError("give --data FILE (repeatable) and/or --from-store")
    data = load_many(
        data_paths, fmt, label_column, skip_bad=skip_bad, db_url=db_url, from_store=from_store
    )
    if data.skipped:
        click.echo(
            "skipped: " + ", ".join(f"{n} {reason}" for reason, n in sorted(data.skipped.items())),
            err=True,
        )
    params = {} if chars is None else {"chars": chars}
    report = train_and_register(
        data,
        params=params,
        folds=folds,
        repeats=repeats,
        min_recall=min_recall,
        prevalence=prevalence,
        holdout=holdout,
        n_jobs=jobs or os.cpu_count() or 1,
        model_dir=model_dir,
        models_dir=models_dir,
        promote=promote,
        note=note,
    )
    _emit(report, output_format, report_path)
    where = report["model"]["directory"]
    line = f"model {report['model']['version']} written to {where}"
    if report.get("comparison"):
        line += f"; {report['comparison']['decision']}: {report['comparison']['reason']}"
    click.echo(line, err=True)


@click.command("evaluate")
@_apply(data_options)
@click.option(
    "--model", default="champion", show_default=True, help="Alias, version id or model directory."
)
@models_dir_option
@click.option(
    "--output-format",
    type=click.Choice(["json", "table", "both"]),
    default="json",
    show_default=True,
)
@click.option(
    "--report",
    "report_path",
    default=None,
    metavar="FILE",
    help="Also write the JSON report to FILE.",
)
def evaluate_command(
    data_paths: tuple[str, ...],
    fmt: str | None,
    label_column: str | None,
    skip_bad: bool,
    prevalence: float | None,
    model: str,
    models_dir: str | None,
    output_format: str,
    report_path: str | None,
) -> None:
    """Evaluate a model on a labelled file at its operating threshold; print JSON metrics.

    Precision, recall and F1 at the threshold, PR-AUC, ROC-AUC, Brier score, reliability
    table, confusion matrix, precision at the top 50 and 100, and with --prevalence the
    precision and F1 at that share of positives.

    \b
    Example:
        waspada evaluate --data data/seed --model champion
        waspada evaluate --data ../shared/data/emscad-partial/train.csv.gz --prevalence 0.0484
    """
    from pipeline.datasets import load_many
    from pipeline.evaluate import evaluate_predictions
    from pipeline.model import predict
    from pipeline.scoring import Scorer

    if not data_paths:
        raise click.UsageError("give --data FILE")
    scorer = Scorer.load(model, models_dir)
    data = load_many(data_paths, fmt, label_column, skip_bad=skip_bad)
    metrics = evaluate_predictions(
        data.y, predict(scorer.model, data), scorer.threshold, prevalence
    )
    report = {
        "model": {"version": scorer.version, "directory": str(scorer.directory)},
        "data": {
            **data.counts(),
            "hash": data.data_hash(),
            "files": data.files,
            "skipped": dict(data.skipped),
        },
        "evaluation": metrics,
    }
    _emit(report, output_format, report_path)


@click.group("models")
def models_group() -> None:
    """The model registry: versions, the champion and challenger aliases, their history.

    \b
    Example:
        waspada models list
        waspada models show champion
        waspada models promote 20261128-041200-ab12cd --reason "better on holdout"
        waspada models rollback --reason "too many false positives"
    """


@models_group.command("list")
@models_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def models_list(models_dir: str | None, as_json: bool) -> None:
    """List model versions with their aliases, threshold and CV PR-AUC.

    \b
    Example:
        waspada models list
    """
    from pipeline.registry import list_versions

    rows = list_versions(models_dir)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no models yet; train one: make model")
        return
    for row in rows:
        tags = ",".join(row["aliases"]) or "-"
        click.echo(
            f"{row['version']:<28} {tags:<22} threshold {row['threshold'] or 0:.3f}  "
            f"PR-AUC {row['pr_auc'] if row['pr_auc'] is not None else '-'}  rows {row['rows']}  {row['note'] or ''}"
        )


@models_group.command("show")
@click.argument("model", default="champion")
@models_dir_option
def models_show(model: str, models_dir: str | None) -> None:
    """Show a model's card (an alias, version id or directory) and its alias history.

    \b
    Example:
        waspada models show champion
    """
    from pipeline.registry import history, read_card, resolve

    directory = resolve(model, models_dir)
    card = read_card(directory)
    card["alias_history"] = [
        e
        for e in history(models_dir)
        if e.get("version") == card["version"] or e.get("alias") == model
    ]
    click.echo(json.dumps(card, indent=2, default=str))


@models_group.command("promote")
@click.argument("version")
@click.option(
    "--alias", type=click.Choice(["champion", "challenger"]), default="champion", show_default=True
)
@click.option("--reason", required=True, help="Why (kept in the history).")
@models_dir_option
def models_promote(version: str, alias: str, reason: str, models_dir: str | None) -> None:
    """Point an alias (default champion) at a version; the change is appended to the history.

    \b
    Example:
        waspada models promote challenger --reason "reviewed the holdout errors"
    """
    from pipeline.registry import aliases, resolve, set_alias, verify

    if version in ("champion", "challenger"):
        version = aliases(models_dir).get(version) or version
    verify(resolve(version, models_dir))
    entry = set_alias(alias, version, reason=reason, models_dir=models_dir)
    click.echo(f"{alias} → {version} (was {entry['previous'] or 'none'})")


@models_group.command("rollback")
@click.option(
    "--alias", type=click.Choice(["champion", "challenger"]), default="champion", show_default=True
)
@click.option("--reason", default="rollback", show_default=True, help="Why (kept in the history).")
@models_dir_option
def models_rollback(alias: str, reason: str, models_dir: str | None) -> None:
    """Point an alias back at the version it had before the current one.

    \b
    Example:
        waspada models rollback --reason "new model floods the queue"
    """
    from pipeline.registry import rollback

    entry = rollback(alias, reason=reason, models_dir=models_dir)
    click.echo(f"{alias} → {entry['version']} (was {entry['previous']})")


@click.command("score")
@click.option(
    "-i",
    "--input",
    "input_path",
    required=True,
    metavar="FILE",
    help="Ads as JSON Lines ('-' for stdin), or an EMSCAD CSV (.csv, .csv.gz).",
)
@click.option(
    "-o",
    "--output",
    "output_path",
    default="-",
    show_default=True,
    metavar="FILE",
    help="Scored JSON Lines ('-' for stdout).",
)
@click.option(
    "--model", default="champion", show_default=True, help="Alias, version id or model directory."
)
@models_dir_option
@click.option(
    "--jobs", default=None, type=click.IntRange(1), help="Processes (default: all cores)."
)
@click.option(
    "--skip-bad", is_flag=True, help="Skip bad lines and count them on stderr instead of stopping."
)
@click.option("--chunk-size", default=500, show_default=True, type=click.IntRange(1), hidden=True)
def score_command(
    input_path: str,
    output_path: str,
    model: str,
    models_dir: str | None,
    jobs: int | None,
    skip_bad: bool,
    chunk_size: int,
) -> None:
    """Score ads: each input object comes back with score, flagged, scores, flags,
    model_version and explanation (top terms and features with their weights).

    \b
    Example:
        waspada score -i ads.jsonl -o scored.jsonl
        waspada score -i ../shared/data/emscad-partial/train.csv.gz -o emscad.jsonl
        cat ads.jsonl | waspada score -i - --model /tmp/m > scored.jsonl
    """
    from pipeline.scoring import score_file

    stats = score_file(
        input_path,
        output_path,
        model=model,
        models_dir=models_dir,
        jobs=jobs,
        skip_bad=skip_bad,
        chunk_size=chunk_size,
        on_skip=lambda message: click.echo(f"skipped {message}", err=True),
    )
    line = f"scored {stats.scored} ads with model {stats.model_version}: {stats.flagged} flagged"
    if stats.skipped:
        line += f"; {stats.skipped} bad lines skipped"
    click.echo(line, err=True)
    sys.stderr.flush()


COMMANDS = [train_command, evaluate_command, models_group, score_command]
