"""Every path the project uses, derived from the project root in one place."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = PROJECT_ROOT / "data"
SEED_DIR = DATA_DIR / "seed"
DEMO_SITE_DIR = DATA_DIR / "demo_site"
REFERENCE_DIR = DATA_DIR / "reference"
RAW_DIR = DATA_DIR / "raw"
REPORTS_DIR = DATA_DIR / "reports"
MODELS_DIR = PROJECT_ROOT / "models"
CONFIG_DIR = PROJECT_ROOT / "config"
DEFAULT_DB_URL = "sqlite:///data/waspada.db"

# The shared folder sits beside the checkout (../shared) in development and in CI.
SHARED_DIR = Path(os.environ.get("WASPADA_SHARED", PROJECT_ROOT.parent / "shared"))
EMSCAD_CSV = SHARED_DIR / "data" / "emscad-partial" / "train.csv.gz"


def default_db_url() -> str:
    """The database URL from ``WASPADA_DB``, else the SQLite file ``data/waspada.db``."""
    return os.environ.get("WASPADA_DB") or DEFAULT_DB_URL
