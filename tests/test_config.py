"""The TOML configuration: the bundled files load, mistakes are one-line errors."""

from __future__ import annotations

import pytest

from pipeline import ConfigError
from pipeline.config import load_config
from pipeline.paths import CONFIG_DIR


@pytest.mark.parametrize("name", ["demo.toml", "example.toml"])
def test_bundled_configurations_load(name):
    config = load_config(CONFIG_DIR / name)
    assert config.sources and all(s.urls for s in config.sources)


def test_db_option_overrides_the_file(tmp_path):
    config = load_config(CONFIG_DIR / "demo.toml", db_url="sqlite:///x.db")
    assert config.database_url == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[sources]]\nname='a'\nkind='ftp'\nurls=['x']", "kind 'ftp'"),
        ("[[sources]]\nkind='rss'\nurls=['x']", "needs a 'name'"),
        ("[[sources]]\nname='a'\nkind='rss'", "needs 'urls'"),
        ("[[sources]]\nname='a'\nkind='rss'\nurls=['x']\ndelay_seconds=-1", "delay_seconds >= 0"),
        (
            "[[sources]]\nname='a'\nkind='rss'\nurls=['x']\n[[sources]]\nname='a'\nkind='rss'\nurls=['y']",
            "duplicate",
        ),
        ("[thresholds]\nuncertainty_share = 0.9", "uncertainty_share"),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_configuration_mistakes_are_named(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
