"""The model registry: versions with cards, alias history, integrity checks, safe fallback."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import sklearn
from click.testing import CliRunner

from pipeline.ad import Ad
from pipeline.cli import cli
from pipeline.datasets import load_labelled
from pipeline.model import train_and_register
from pipeline.paths import SEED_DIR
from pipeline.registry import (
    HISTORY,
    ModelError,
    aliases,
    history,
    list_versions,
    load,
    read_card,
    rollback,
    set_alias,
)
from pipeline.scoring import Scorer, load_scorer


def small_seed(n: int = 120):
    if not any(SEED_DIR.glob("*.jsonl")):
        pytest.skip("seed corpus (data/seed) not present")
    data = load_labelled(SEED_DIR)
    return data.subset(range(0, len(data), max(1, len(data) // n)))


@pytest.fixture(scope="module")
def registry_dir(tmp_path_factory):
    """A registry with two versions: the first promoted (no champion yet), the second forced."""
    root = tmp_path_factory.mktemp("models")
    data = small_seed()
    first = train_and_register(data, folds=2, repeats=1, models_dir=root, note="first")
    second = train_and_register(
        data, folds=2, repeats=1, models_dir=root, promote="force", note="second"
    )
    return root, first, second


@pytest.fixture
def models(registry_dir, tmp_path):
    """A private copy, so a test can tamper with it."""
    root = tmp_path / "models"
    shutil.copytree(registry_dir[0], root)
    return root, registry_dir[1]["model"]["version"], registry_dir[2]["model"]["version"]


def test_versions_have_artifact_and_cards(models):
    root, first, second = models
    for version in (first, second):
        assert {p.name for p in (root / version).iterdir()} == {
            "model.joblib",
            "flat.json",
            "card.json",
            "card.md",
        }
        card = read_card(root / version)
        for key in (
            "artifact",
            "flat",
            "libraries",
            "code",
            "data",
            "params",
            "threshold",
            "metrics",
            "train_seconds",
        ):
            assert key in card
        assert card["libraries"]["scikit-learn"] == sklearn.__version__
        assert card["data"]["files"] and all(len(f["sha256"]) == 64 for f in card["data"]["files"])
        assert "## Data" in (root / version / "card.md").read_text()


def test_aliases_have_an_append_only_history(models):
    root, first, second = models
    assert aliases(root) == {"champion": second, "challenger": second}
    entries = history(root)
    assert [(e["alias"], e["version"]) for e in entries] == [
        ("challenger", first),
        ("champion", first),
        ("challenger", second),
        ("champion", second),
    ]
    assert entries[1]["reason"].startswith("auto: no champion yet")
    assert all(e["at"] and e["by"] for e in entries)
    before = (root / HISTORY).read_text()
    rollback("champion", reason="too many false positives", models_dir=root)
    assert aliases(root)["champion"] == first
    assert (root / HISTORY).read_text().startswith(before)  # appended, never rewritten
    assert history(root)[-1]["action"] == "rollback"


def test_tampered_artifact_is_refused_with_one_line_naming_the_fix(models):
    root, _, second = models
    with open(root / second / "model.joblib", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ModelError) as error:
        load("champion", root)
    message = str(error.value)
    assert "integrity check" in message and "make model" in message and "\n" not in message


def test_tampered_flat_form_is_refused_too(models):
    root, _, second = models
    flat = root / second / "flat.json"
    flat.write_bytes(flat.read_bytes().replace(b'"coef":[', b'"coef":[9,', 1)[:-1] + b"]}")
    for loader in (lambda: load("champion", root), lambda: Scorer.load("champion", root)):
        with pytest.raises(ModelError, match=r"integrity check \(SHA-256 of flat.json"):
            loader()


@pytest.mark.parametrize("broken", ["not a model", "idf of another length"])
def test_a_flat_form_that_cannot_be_read_is_refused(models, broken):
    """Broken in a way its card agrees with (written so, not tampered with afterwards)."""
    root, _, second = models
    flat, card_path = root / second / "flat.json", root / second / "card.json"
    data = json.loads(flat.read_text(encoding="utf-8"))
    if broken == "not a model":
        data = {"format": 1, "branches": []}
    else:
        data["idf"] = data["idf"][:-1]
    flat.write_text(json.dumps(data), encoding="utf-8")
    card = json.loads(card_path.read_text())
    card["flat"]["sha256"] = hashlib.sha256(flat.read_bytes()).hexdigest()
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"flat.json cannot be read \((KeyError|ValueError)\)"):
        Scorer.load(second, root)
    scorer, warning = load_scorer("champion", root)  # nightly falls back to the last good one
    assert scorer.version != second and "refused" in warning


def test_a_model_without_flat_form_scores_the_same_with_scikit_learn(models):
    root, _, second = models
    flat_scorer = Scorer.load(second, root)
    card_path = root / second / "card.json"
    card = json.loads(card_path.read_text())
    del card["flat"]  # as a model written before flat forms existed
    card_path.write_text(json.dumps(card))
    (root / second / "flat.json").unlink()
    plain = Scorer.load(second, root)
    assert plain.flat is None and flat_scorer.flat is not None
    ads = [Ad(text=ad.text) for ad in small_seed(60).ads]
    assert plain.score_ads(ads) == flat_scorer.score_ads(ads)


def test_other_sklearn_version_is_refused(models):
    root, _, second = models
    card_path = root / second / "card.json"
    card = json.loads(card_path.read_text())
    card["libraries"]["scikit-learn"] = "0.24.2"
    card_path.write_text(json.dumps(card))
    with pytest.raises(
        ModelError, match=r"trained with scikit-learn 0.24.2.*make model.*scikit-learn==0.24.2"
    ):
        Scorer.load(second, root)


def test_fallback_to_the_last_good_champion(models):
    root, first, second = models
    (root / second / "model.joblib").write_bytes(b"not a model")
    scorer, warning = load_scorer("champion", root)
    assert scorer.version == first
    assert warning and "refused" in warning and first in warning and "\n" not in warning
    good, none = load_scorer(first, root)
    assert good.version == first and none is None


def test_missing_models_say_what_to_do(tmp_path):
    with pytest.raises(ModelError, match="make model"):
        Scorer.load("champion", tmp_path)
    with pytest.raises(ModelError, match="waspada models list"):
        Scorer.load("no-such-version", tmp_path)
    with pytest.raises(ModelError, match="unknown alias"):
        set_alias("production", "x", reason="?", models_dir=tmp_path)


def test_models_cli(models):
    root, first, second = models
    runner = CliRunner()
    listed = runner.invoke(cli, ["models", "list", "--models-dir", str(root)])
    assert listed.exit_code == 0 and first in listed.output and "champion" in listed.output
    assert {row["version"] for row in list_versions(root)} == {first, second}
    shown = runner.invoke(cli, ["models", "show", "champion", "--models-dir", str(root)])
    assert shown.exit_code == 0 and json.loads(shown.output)["version"] == second
    promoted = runner.invoke(
        cli,
        ["models", "promote", first, "--reason", "better on review", "--models-dir", str(root)],
    )
    assert promoted.exit_code == 0, promoted.output
    assert aliases(root)["champion"] == first and history(root)[-1]["reason"] == "better on review"
    rolled = runner.invoke(cli, ["models", "rollback", "--models-dir", str(root)])
    assert rolled.exit_code == 0 and aliases(root)["champion"] == second
    bad = runner.invoke(
        cli, ["models", "promote", "nope", "--reason", "x", "--models-dir", str(root)]
    )
    assert bad.exit_code != 0 and "waspada models list" in bad.output
