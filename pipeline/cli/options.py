"""Option bundles shared by several commands, as decorators."""

from __future__ import annotations

import click

from pipeline.paths import DEFAULT_DB_URL

db_option = click.option(
    "--db",
    "db_url",
    envvar="WASPADA_DB",
    default=None,
    metavar="URL",
    help=f"SQLAlchemy database URL (env WASPADA_DB; default from the config, else {DEFAULT_DB_URL}).",
)
config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    required=True,
    metavar="FILE",
    help="TOML configuration file (see config/example.toml).",
)
