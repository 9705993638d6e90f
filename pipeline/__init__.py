"""Waspada: find trafficking bait, non-procedural placements and fee fraud in job ads.

The library does the work; ``pipeline.cli`` and ``pipeline.web`` are thin skins over it.
"""

__version__ = "0.1.0"


class WaspadaError(Exception):
    """An error a user can hit and fix; the CLI prints it as one line, without a traceback."""

    exit_code = 1


class ConfigError(WaspadaError):
    """The configuration is wrong; nothing was done (exit code 2 in the CLI contract)."""

    exit_code = 2
