"""The ``waspada`` command: a thin skin over the library, one module per stage.

Each submodule defines the click commands of one stage; this module gathers them. Errors a
user can hit (``WaspadaError``) are printed as one line with the exit code the error names.
"""

from __future__ import annotations

import logging

import click

from pipeline import WaspadaError, __version__


class WaspadaGroup(click.Group):
    """A click group that turns WaspadaError into a one-line message and its exit code."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except WaspadaError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None


@click.group(cls=WaspadaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="waspada")
@click.option("-v", "--verbose", is_flag=True, help="Log more (debug level).")
@click.option("-q", "--quiet", is_flag=True, help="Log only warnings and errors.")
def cli(verbose: bool, quiet: bool) -> None:
    """Waspada: find trafficking bait, non-procedural placements and fee fraud in job ads.

    \b
    Example:
        waspada nightly --config config/demo.toml
        waspada score -i ads.jsonl -o scored.jsonl
    """
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    cli(prog_name="waspada")


# Commands, one module per stage (imported last: they import ``cli`` helpers from here).
from pipeline.cli import batch, collect, demo, modelling, rules, web  # noqa: E402

for _module in (batch, collect, demo, modelling, rules, web):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
