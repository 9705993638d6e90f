"""The TOML configuration: sources, database, model, thresholds and output folders.

``config/example.toml`` documents every key. Relative paths are relative to the current
directory, as for any command-line tool.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import ConfigError
from pipeline.paths import REPORTS_DIR, default_db_url

SOURCE_KINDS = ("jsonld", "listing", "rss", "telegram", "files")
DEFAULT_USER_AGENT = "WaspadaBot/0.1 (+https://github.com/waspada/waspada; job-ad safety research)"


@dataclass
class SourceConfig:
    """One ``[[sources]]`` table. Keys beyond the common ones stay in ``options``."""

    name: str
    kind: str
    urls: list[str]
    delay_seconds: float = 2.0
    max_pages: int = 50
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


@dataclass
class Config:
    path: Path | None
    database_url: str
    model: str = "champion"
    models_dir: str | None = None
    uncertainty_share: float = 0.10
    queue_threshold: float | None = None  # None: the model's own operating threshold
    reports_dir: Path = REPORTS_DIR
    user_agent: str = DEFAULT_USER_AGENT
    scrape: dict[str, Any] = field(default_factory=dict)
    sources: list[SourceConfig] = field(default_factory=list)


def load_config(path: str | Path, db_url: str | None = None) -> Config:
    """Read and validate a configuration file; raise ConfigError with a one-line reason."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_config(raw, path, db_url)


def parse_config(
    raw: dict[str, Any], path: Path | None = None, db_url: str | None = None
) -> Config:
    where = str(path) if path else "configuration"
    database = _table(raw, "database", where)
    model = _table(raw, "model", where)
    thresholds = _table(raw, "thresholds", where)
    output = _table(raw, "output", where)
    scrape = _table(raw, "scrape", where)
    share = float(thresholds.get("uncertainty_share", 0.10))
    if not 0 <= share <= 0.5:
        raise ConfigError(f"{where}: thresholds.uncertainty_share must be between 0 and 0.5")
    queue_threshold = thresholds.get("queue_threshold")
    sources = [_source(s, i, where) for i, s in enumerate(raw.get("sources", []))]
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where}: duplicate source names: {', '.join(duplicates)}")
    return Config(
        path=path,
        database_url=db_url or database.get("url") or default_db_url(),
        model=str(model.get("name", "champion")),
        models_dir=model.get("dir"),
        uncertainty_share=share,
        queue_threshold=float(queue_threshold) if queue_threshold is not None else None,
        reports_dir=Path(output.get("reports_dir", REPORTS_DIR)),
        user_agent=str(scrape.get("user_agent", DEFAULT_USER_AGENT)),
        scrape=scrape,
        sources=sources,
    )


def _table(raw: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _source(raw: Any, index: int, where: str) -> SourceConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: sources[{index}] must be a table")
    name = raw.get("name")
    if not name or not isinstance(name, str):
        raise ConfigError(f"{where}: sources[{index}] needs a 'name'")
    kind = raw.get("kind")
    if kind not in SOURCE_KINDS:
        raise ConfigError(
            f"{where}: source {name!r} has kind {kind!r}; use one of {', '.join(SOURCE_KINDS)}"
        )
    urls = raw.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    if not urls or not all(isinstance(u, str) for u in urls):
        raise ConfigError(f"{where}: source {name!r} needs 'urls' (a list of URLs or paths)")
    try:
        delay = float(raw.get("delay_seconds", 2.0))
        max_pages = int(raw.get("max_pages", 50))
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: source {name!r}: delay_seconds/max_pages must be numbers"
        ) from None
    if delay < 0 or max_pages < 1:
        raise ConfigError(f"{where}: source {name!r}: delay_seconds >= 0 and max_pages >= 1")
    common = {"name", "kind", "urls", "delay_seconds", "max_pages", "enabled"}
    return SourceConfig(
        name=name,
        kind=kind,
        urls=list(urls),
        delay_seconds=delay,
        max_pages=max_pages,
        enabled=bool(raw.get("enabled", True)),
        options={k: v for k, v in raw.items() if k not in common},
    )
