"""Every command has --help with an example, and the README mentions every command."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.paths import PROJECT_ROOT

REQUIRED = {
    "nightly",
    "scrape",
    "score",
    "train",
    "evaluate",
    "models",
    "queue",
    "review",
    "serve",
    "demo-site",
}


def walk(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


COMMANDS = [path for path, _ in walk(cli) if path]


def test_the_required_commands_exist():
    assert set(cli.commands) >= REQUIRED


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_command_has_help_with_an_example(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"waspada {' '.join(path)} --help has no Example block"


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_the_readme_mentions_every_command(name):
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"waspada {name}" in readme


def test_the_readme_opens_with_the_two_commands():
    head = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")[:1500]
    assert "make demo" in head and "make test" in head
